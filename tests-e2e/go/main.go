// Command marketplace-e2e drives the real system through the Go SDK, one named check after another,
// and prints {"checks": {name: "ok" | error}, "plugin": …, "userKey": …} as JSON. tests-e2e/test_sdk_go.py
// builds and runs it (MARKETPLACE_URL, ADMIN_API_KEY, STRICT_URL: a gateway with a 3 per 2 s window).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	marketplace "github.com/backstage/marketplace-sdk-go"
)

type world struct {
	url, adminKey, strictURL string
	admin, publisher, user   *marketplace.Client
	userKey                  string
	userAccount              string
	plugin                   *marketplace.Plugin
	packages                 map[string][]byte
}

func (w *world) client(key string, opts ...marketplace.Option) *marketplace.Client {
	base := []marketplace.Option{marketplace.WithBaseURL(w.url), marketplace.WithTimeout(30 * time.Second),
		marketplace.WithHTTPClient(&http.Client{Transport: &http.Transport{Proxy: nil}})}
	if key != "" {
		base = append(base, marketplace.WithAPIKey(key))
	}
	return marketplace.NewClient(append(base, opts...)...)
}

// account creates an account with a key through the admin API and returns a client for it.
func (w *world) account(role string, extra func(*marketplace.AccountCreate)) (*marketplace.Client, string, string, error) {
	name := slug(role)
	create := &marketplace.AccountCreate{Name: name, Email: name + "@example.com", Role: role}
	if extra != nil {
		extra(create)
	}
	account, err := w.admin.Accounts.Create(create)
	if err != nil {
		return nil, "", "", err
	}
	key, err := w.admin.Accounts.CreateAPIKey(account.ID, &marketplace.APIKeyCreate{Name: "go-e2e"})
	if err != nil {
		return nil, "", "", err
	}
	return w.client(key.Key), key.Key, account.ID, nil
}

// newPlugin publishes a plugin with versions through the publisher API (packages from io.Readers).
func (w *world) newPlugin(versions ...string) (*marketplace.Plugin, error) {
	name := slug("go")
	plugin, err := w.publisher.Publisher.CreatePlugin(&marketplace.PluginCreate{Name: name, DisplayName: "Go " + name,
		Category: "monitoring", Description: "The " + name + " plugin, published by the Go SDK e2e program",
		Tags: []string{"sdk", "go"}, License: "Apache-2.0"})
	if err != nil {
		return nil, err
	}
	for _, version := range versions {
		data := npmPackage(name, version)
		w.packages[plugin.ID+"@"+version] = data
		if _, err := w.publisher.Publisher.UploadVersion(plugin.ID, versionMetadata(version),
			marketplace.File{Name: name + "-" + version + ".tgz", Reader: bytes.NewReader(data)}); err != nil {
			return nil, fmt.Errorf("version %s: %w", version, err)
		}
	}
	return plugin, nil
}

// installWhenKnown retries while the install service has not yet learnt the plugin from events.
func installWhenKnown(c *marketplace.Client, pluginID string, opts *marketplace.InstallOptions) (*marketplace.InstallResult, error) {
	var result *marketplace.InstallResult
	err := eventually(30*time.Second, "the install service to know "+pluginID, func() (bool, error) {
		var err error
		result, err = c.Plugins.Install(pluginID, opts)
		if marketplace.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	return result, err
}

func waitDone(c *marketplace.Client, id string) (*marketplace.Installation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	return c.Installations.Wait(ctx, id, &marketplace.WaitOptions{PollInterval: 200 * time.Millisecond})
}

func main() {
	w := &world{url: os.Getenv("MARKETPLACE_URL"), adminKey: os.Getenv("ADMIN_API_KEY"), strictURL: os.Getenv("STRICT_URL"),
		packages: map[string][]byte{}}
	checks := []struct {
		name string
		fn   func(*world) error
	}{
		{"setup", setup},
		{"publisher", checkPublisher},
		{"plugins", checkPlugins},
		{"pagination", checkPagination},
		{"errors", checkErrors},
		{"quota_used_up", checkQuota},
		{"retried_429", checkRetried429},
		{"installations", checkInstallations},
		{"cancel", checkCancel},
		{"reviews", checkReviews},
		{"webhooks", checkWebhooks},
		{"me_and_api_keys", checkMe},
		{"environments", checkEnvironments},
		{"context", checkContext},
	}
	results := map[string]string{}
	failed := false
	for _, check := range checks {
		started := time.Now()
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return check.fn(w)
		}()
		if err != nil {
			results[check.name] = err.Error()
			failed = true
			fmt.Fprintf(os.Stderr, "FAIL %s (%s): %v\n", check.name, time.Since(started).Round(time.Millisecond), err)
			if check.name == "setup" {
				break
			}
			continue
		}
		results[check.name] = "ok"
		fmt.Fprintf(os.Stderr, "ok   %s (%s)\n", check.name, time.Since(started).Round(time.Millisecond))
	}
	out := map[string]interface{}{"checks": results, "userKey": w.userKey}
	if w.plugin != nil {
		out["plugin"] = w.plugin.ID
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	if failed {
		os.Exit(1)
	}
}

func setup(w *world) error {
	w.admin = w.client(w.adminKey)
	var err error
	if w.publisher, _, _, err = w.account("publisher", nil); err != nil {
		return err
	}
	if w.user, w.userKey, w.userAccount, err = w.account("user", nil); err != nil {
		return err
	}
	if w.plugin, err = w.newPlugin("1.0.0", "1.2.3"); err != nil {
		return err
	}
	_, err = w.admin.Publisher.UpdatePlugin(w.plugin.ID, &marketplace.PluginUpdate{Verified: marketplace.Bool(true)})
	return err
}

func checkPublisher(w *world) error {
	id := w.plugin.ID
	images, err := w.publisher.Publisher.UploadImages(id, &marketplace.File{Name: "icon.png", Reader: bytes.NewReader(pngIcon(0))},
		marketplace.File{Name: "one.png", Reader: bytes.NewReader(pngIcon(1))}, marketplace.File{Name: "two.png", Reader: bytes.NewReader(pngIcon(2))})
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	if err := expect(images.StatusCode() == 201, "images status %d", images.StatusCode()); err != nil {
		return err
	}
	details, err := w.publisher.Plugins.Get(id)
	if err != nil {
		return err
	}
	if err := expect(details.Icon != "" && len(details.Screenshots) == 2 && details.Verified && details.Version == "1.2.3",
		"details after images: icon %q screenshots %v verified %v version %q", details.Icon, details.Screenshots, details.Verified, details.Version); err != nil {
		return err
	}
	updated, err := w.publisher.Publisher.UpdatePlugin(id, &marketplace.PluginUpdate{LongDescription: "# Long\nText"})
	if err != nil || updated.LongDescription != "# Long\nText" {
		return fmt.Errorf("update: %v %+v", err, updated)
	}
	_, err = w.publisher.Publisher.UploadVersion(id, versionMetadata("1.0.0"), marketplace.File{Name: "again.tgz", Reader: bytes.NewReader(npmPackage(w.plugin.Name, "1.0.0"))})
	if !marketplace.IsConflict(err) {
		return fmt.Errorf("a duplicate version: %v, want a conflict", err)
	}
	_, err = w.user.Publisher.CreatePlugin(&marketplace.PluginCreate{Name: slug("go"), Description: "x", Category: "monitoring"})
	if !marketplace.IsForbidden(err) {
		return fmt.Errorf("a user publishing: %v, want forbidden", err)
	}

	other, err := w.newPlugin("0.1.0", "0.2.0")
	if err != nil {
		return err
	}
	yanked, err := w.publisher.Publisher.Yank(other.ID, "0.2.0", "Broken build")
	if err != nil || !yanked.Yanked || yanked.YankReason != "Broken build" {
		return fmt.Errorf("yank: %v %+v", err, yanked)
	}
	deprecated, err := w.publisher.Publisher.Deprecate(other.ID, "Superseded", w.plugin.Name)
	if err != nil || deprecated.Deprecation == nil || deprecated.Deprecation.Reason != "Superseded" {
		return fmt.Errorf("deprecate: %v %+v", err, deprecated)
	}
	if _, err := w.publisher.Publisher.Unpublish(other.ID); err != nil {
		return err
	}
	if _, err := w.user.Plugins.Get(other.ID); !marketplace.IsNotFound(err) {
		return fmt.Errorf("an unpublished plugin: %v, want not found", err)
	}
	if _, err := w.publisher.Publisher.Publish(other.ID); err != nil {
		return err
	}
	again, err := w.user.Plugins.Get(other.ID)
	return expectErr(err, again != nil && again.ID == other.ID, "published again: %+v", again)
}

func expectErr(err error, ok bool, format string, args ...interface{}) error {
	if err != nil {
		return err
	}
	return expect(ok, format, args...)
}

func checkPlugins(w *world) error {
	p := w.plugin
	page, err := w.user.Plugins.List(&marketplace.ListOptions{Category: "monitoring", Verified: true, Limit: 100})
	if err != nil {
		return err
	}
	for _, item := range page.Data {
		if item.Category != "monitoring" || !item.Verified {
			return fmt.Errorf("filter not applied: %+v", item)
		}
	}
	if page.Pagination.Limit != 100 || page.Rate.Limit == 0 || page.RequestID == "" {
		return fmt.Errorf("metadata: pagination %+v rate %+v request %q", page.Pagination, page.Rate, page.RequestID)
	}
	found := false
	err = w.user.Plugins.ListAll(context.Background(), &marketplace.ListOptions{Category: "monitoring", Verified: true}, func(s marketplace.PluginSummaryDoc) error {
		found = found || s.ID == p.ID
		return nil
	})
	if err := expectErr(err, found, "ListAll did not reach %s", p.ID); err != nil {
		return err
	}
	byID, err := w.user.Plugins.Get(p.ID)
	if err != nil {
		return err
	}
	byName, err := w.user.Plugins.Get(p.Name)
	if err := expectErr(err, byID.ID == p.ID && byName.ID == p.ID, "by id %s, by name %s", byID.ID, byName.ID); err != nil {
		return err
	}
	versions, err := w.user.Plugins.Versions(p.ID, nil)
	if err := expectErr(err, len(versions.Data) == 2 && versions.Data[0].Version == "1.2.3" && versions.Data[1].Version == "1.0.0", "versions %+v", versions); err != nil {
		return err
	}
	version, err := w.user.Plugins.GetVersion(p.ID, "1.2.3")
	if err := expectErr(err, version.Package != nil && version.Package.Integrity != "", "version %+v", version); err != nil {
		return err
	}
	results, err := w.user.Plugins.Search(p.Name, &marketplace.SearchOptions{Limit: 5})
	if err := expectErr(err, len(results.Data) > 0 && results.Data[0].ID == p.ID, "search %+v", results); err != nil {
		return err
	}
	filtered, err := w.user.Plugins.Search(p.Name, &marketplace.SearchOptions{Filters: &marketplace.SearchFilters{
		Categories: []string{"monitoring"}, Verified: marketplace.Bool(true)}})
	if err := expectErr(err, filtered.Pagination.Total >= 1, "filtered search %+v", filtered.Pagination); err != nil {
		return err
	}
	stats, err := w.user.Plugins.Stats(p.ID)
	if err := expectErr(err, stats.Data["usage"] != nil && stats.Data["performance"] != nil && stats.Data["trends"] != nil, "stats %v", stats); err != nil {
		return err
	}
	categories, err := w.user.Plugins.Categories()
	if err != nil {
		return err
	}
	monitoring := 0
	for _, c := range categories.Data {
		if c.Name == "monitoring" {
			monitoring = c.Count
		}
	}
	if monitoring < 1 {
		return fmt.Errorf("categories %+v", categories.Data)
	}
	if _, err := w.user.Plugins.Tags(); err != nil {
		return err
	}
	var buf bytes.Buffer
	download, err := w.user.Plugins.Download(p.ID, "", &buf)
	if err != nil {
		return err
	}
	return expect(download.Version == "1.2.3" && bytes.Equal(buf.Bytes(), w.packages[p.ID+"@1.2.3"]) && download.Integrity == version.Package.Integrity,
		"download %+v (integrity %s)", download, version.Package.Integrity)
}

func checkPagination(w *world) error {
	first, err := w.user.Plugins.List(&marketplace.ListOptions{Limit: 2})
	if err != nil {
		return err
	}
	for i := first.Pagination.Total; i < 5; i++ {
		if _, err := w.newPlugin("1.0.0"); err != nil {
			return err
		}
	}
	first, err = w.user.Plugins.List(&marketplace.ListOptions{Limit: 2})
	if err != nil {
		return err
	}
	if first.Pagination.Total < 5 || !first.Pagination.HasNextPage || first.Pagination.TotalPages != (first.Pagination.Total+1)/2 {
		return fmt.Errorf("first page %+v", first.Pagination)
	}
	pager := w.user.Plugins.ListPager(context.Background(), &marketplace.ListOptions{Limit: 2})
	seen := map[string]bool{}
	pages := map[int]bool{}
	for pager.Next() {
		seen[pager.Value().ID] = true
		pages[pager.Page()] = true
	}
	if pager.Err() != nil {
		return pager.Err()
	}
	return expect(len(seen) == first.Pagination.Total && len(pages) == first.Pagination.TotalPages && len(pages) >= 3,
		"walked %d distinct of %d over %d pages", len(seen), first.Pagination.Total, len(pages))
}

func checkErrors(w *world) error {
	_, err := w.user.Plugins.Get("plugin_does_not_exist")
	var e *marketplace.ErrorResponse
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != "PLUGIN_NOT_FOUND" || !marketplace.IsNotFound(err) ||
		e.RequestID == "" || e.RequestID != e.Response.Header.Get("X-Request-Id") {
		return fmt.Errorf("not found: %#v", err)
	}
	_, err = w.user.Plugins.List(&marketplace.ListOptions{Limit: 1000})
	if !marketplace.IsValidation(err) || marketplace.AsErrorResponse(err).Fields()["limit"] == nil || marketplace.AsErrorResponse(err).StatusCode != 400 {
		return fmt.Errorf("validation: %v", err)
	}
	_, err = w.client("").Plugins.Install(w.plugin.ID, &marketplace.InstallOptions{Environment: slug("env")})
	if !marketplace.IsUnauthorized(err) {
		return fmt.Errorf("anonymous install: %v", err)
	}
	if _, err = w.client("mkp_not_a_real_key").Me.Get(); !marketplace.IsUnauthorized(err) {
		return fmt.Errorf("bad key: %v", err)
	}
	if _, err = w.user.Installations.Get("install_does_not_exist"); !marketplace.IsNotFound(err) {
		return fmt.Errorf("missing installation: %v", err)
	}
	if _, err = w.user.Accounts.List(nil); !marketplace.IsForbidden(err) {
		return fmt.Errorf("user listing accounts: %v", err)
	}
	return nil
}

func checkQuota(w *world) error {
	_, key, _, err := w.account("user", func(a *marketplace.AccountCreate) {
		a.Tier = "enterprise"
		a.RateLimitPerHour = marketplace.Int(3)
	})
	if err != nil {
		return err
	}
	limited := marketplace.NewClient(marketplace.WithBaseURL(w.url), marketplace.WithAPIKey(key), marketplace.WithMaxRetryWait(5*time.Second))
	for i := 0; i < 3; i++ {
		if _, err := limited.Plugins.List(&marketplace.ListOptions{Limit: 1}); err != nil {
			return err
		}
	}
	if limited.Rate().Limit != 3 {
		return fmt.Errorf("rate %+v", limited.Rate())
	}
	started := time.Now()
	_, err = limited.Plugins.List(&marketplace.ListOptions{Limit: 1})
	var rl *marketplace.RateLimitError
	if !errors.As(err, &rl) || rl.StatusCode != 429 || rl.Code != "RATE_LIMITED" || rl.RequestID == "" {
		return fmt.Errorf("4th request: %v", err)
	}
	if rl.RetryAfter <= 5*time.Second || rl.RetryAfter > time.Hour || rl.Rate.Limit != 3 || rl.Rate.Remaining != 0 ||
		!rl.Rate.Reset.After(time.Now()) || time.Since(started) > 5*time.Second {
		return fmt.Errorf("429: retry after %s, rate %+v, took %s", rl.RetryAfter, rl.Rate, time.Since(started))
	}
	return nil
}

// recorder keeps the status of every response the client receives.
type recorder struct {
	mu       sync.Mutex
	statuses []int
	next     http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.statuses = append(r.statuses, resp.StatusCode)
		r.mu.Unlock()
	}
	return resp, err
}

func checkRetried429(w *world) error {
	rec := &recorder{next: &http.Transport{Proxy: nil}}
	client := marketplace.NewClient(marketplace.WithBaseURL(w.strictURL), marketplace.WithAPIKey(w.userKey),
		marketplace.WithHTTPClient(&http.Client{Transport: rec}), marketplace.WithRetries(3), marketplace.WithMaxRetryWait(10*time.Second))
	started := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := client.Plugins.List(&marketplace.ListOptions{Limit: 1}); err != nil {
			return fmt.Errorf("call %d: %w (statuses %v)", i, err, rec.statuses)
		}
	}
	ok, limited := 0, 0
	for _, s := range rec.statuses {
		switch s {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	return expect(limited >= 1 && ok == 5 && time.Since(started) >= time.Second,
		"statuses %v in %s: want a 429 retried after Retry-After and 5 successes", rec.statuses, time.Since(started))
}
