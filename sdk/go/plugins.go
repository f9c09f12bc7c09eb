package marketplace

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// PluginsService discovers, downloads and installs plugins (client.Plugins).
type PluginsService struct{ client *Client }

// ListOptions are the query parameters of GET /plugins. Zero values are not sent: Verified and
// Featured filter only when true.
type ListOptions struct {
	Page          int      `url:"page"`
	Limit         int      `url:"limit"`
	Search        string   `url:"search"`
	Category      string   `url:"category"`
	Tags          []string `url:"tags"`  // every tag must match
	Sort          string   `url:"sort"`  // name, popularity, rating, updated, created
	Order         string   `url:"order"` // asc, desc
	Verified      bool     `url:"verified"`
	Featured      bool     `url:"featured"`
	MinRating     float64  `url:"minRating"`
	Compatibility string   `url:"compatibility"` // a Backstage version
}

// PageOptions are the page and page size of a list (zero: the server's defaults).
type PageOptions struct {
	Page  int `url:"page"`
	Limit int `url:"limit"`
}

func seg(s string) string { return url.PathEscape(s) }

// List is ListContext with context.Background().
func (s *PluginsService) List(opts *ListOptions) (*PluginPage, error) {
	return s.ListContext(context.Background(), opts)
}

// ListContext returns one page of plugins (GET /plugins); Pagination says how many there are.
func (s *PluginsService) ListContext(ctx context.Context, opts *ListOptions) (*PluginPage, error) {
	out := &PluginPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/plugins", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// ListPager walks every plugin matching opts, page after page (from opts.Page, 100 a page by default).
func (s *PluginsService) ListPager(ctx context.Context, opts *ListOptions) *Pager[PluginSummaryDoc] {
	return pagerOf[PluginSummaryDoc](ctx, opts, s.ListContext)
}

// ListAll calls fn with every plugin matching opts, page after page; an error from fn stops it.
func (s *PluginsService) ListAll(ctx context.Context, opts *ListOptions, fn func(PluginSummaryDoc) error) error {
	return each(s.ListPager(ctx, opts), fn)
}

// Get is GetContext with context.Background().
func (s *PluginsService) Get(pluginID string) (*Plugin, error) {
	return s.GetContext(context.Background(), pluginID)
}

// GetContext returns every detail of one plugin, by id or name (GET /plugins/{pluginId}).
func (s *PluginsService) GetContext(ctx context.Context, pluginID string) (*Plugin, error) {
	out := &Plugin{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: "/plugins/" + seg(pluginID)}, out)
	return finish(out, &out.Response, resp, err)
}

// Versions is VersionsContext with context.Background().
func (s *PluginsService) Versions(pluginID string, opts *PageOptions) (*VersionPage, error) {
	return s.VersionsContext(context.Background(), pluginID, opts)
}

// VersionsContext returns a plugin's versions, newest first (yanked ones carry their reason).
func (s *PluginsService) VersionsContext(ctx context.Context, pluginID string, opts *PageOptions) (*VersionPage, error) {
	out := &VersionPage{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/plugins/" + seg(pluginID) + "/versions", query: query(opts)}, out)
	return finish(out, &out.Response, resp, err)
}

// GetVersion is GetVersionContext with context.Background().
func (s *PluginsService) GetVersion(pluginID, version string) (*Version, error) {
	return s.GetVersionContext(context.Background(), pluginID, version)
}

// GetVersionContext returns one version with its package (GET /plugins/{pluginId}/versions/{version}).
func (s *PluginsService) GetVersionContext(ctx context.Context, pluginID, version string) (*Version, error) {
	out := &Version{}
	resp, err := s.client.getData(ctx, &request{method: "GET", path: "/plugins/" + seg(pluginID) + "/versions/" + seg(version)}, out)
	return finish(out, &out.Response, resp, err)
}

// SearchOptions are the filters, sort and page of a search.
type SearchOptions struct {
	Filters *SearchFilters
	Sort    string // relevance, name, popularity, updated, rating
	Order   string // asc, desc
	Page    int
	Limit   int
}

// Search is SearchContext with context.Background().
func (s *PluginsService) Search(query string, opts *SearchOptions) (*PluginPage, error) {
	return s.SearchContext(context.Background(), query, opts)
}

// SearchContext runs a full-text search with filters (POST /plugins/search; safe to retry).
func (s *PluginsService) SearchContext(ctx context.Context, query string, opts *SearchOptions) (*PluginPage, error) {
	body := Search{Query: query}
	if opts != nil {
		body.Filters = opts.Filters
		if opts.Sort != "" || opts.Order != "" {
			body.Sort = &SearchSort{Field: opts.Sort, Order: opts.Order}
		}
		if opts.Page != 0 || opts.Limit != 0 {
			body.Pagination = &SearchPagination{}
			if opts.Page != 0 {
				body.Pagination.Page = &opts.Page
			}
			if opts.Limit != 0 {
				body.Pagination.Limit = &opts.Limit
			}
		}
	}
	out := &PluginPage{}
	resp, err := s.client.do(ctx, &request{method: "POST", path: "/plugins/search", body: body, idempotent: true}, out)
	return finish(out, &out.Response, resp, err)
}

// Stats is StatsContext with context.Background().
func (s *PluginsService) Stats(pluginID string) (*PluginStats, error) {
	return s.StatsContext(context.Background(), pluginID)
}

// StatsContext returns a plugin's usage, performance and trends (GET /plugins/{pluginId}/stats).
func (s *PluginsService) StatsContext(ctx context.Context, pluginID string) (*PluginStats, error) {
	out := &PluginStats{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/plugins/" + seg(pluginID) + "/stats"}, out)
	return finish(out, &out.Response, resp, err)
}

// Categories is CategoriesContext with context.Background().
func (s *PluginsService) Categories() (*CountList, error) {
	return s.CategoriesContext(context.Background())
}

// CategoriesContext returns every category with its number of plugins (GET /categories).
func (s *PluginsService) CategoriesContext(ctx context.Context) (*CountList, error) {
	out := &CountList{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/categories"}, out)
	return finish(out, &out.Response, resp, err)
}

// Tags is TagsContext with context.Background().
func (s *PluginsService) Tags() (*CountList, error) { return s.TagsContext(context.Background()) }

// TagsContext returns every tag with its number of plugins (GET /tags).
func (s *PluginsService) TagsContext(ctx context.Context) (*CountList, error) {
	out := &CountList{}
	resp, err := s.client.do(ctx, &request{method: "GET", path: "/tags"}, out)
	return finish(out, &out.Response, resp, err)
}

// InstallOptions is the body of POST /plugins/{pluginId}/install (the schema Install) and its
// Idempotency-Key. Environment is required.
type InstallOptions struct {
	// Version is a version or an npm range; the latest when empty.
	Version string `json:"version,omitempty"`
	// Configuration is checked against the version's JSON Schema.
	Configuration map[string]interface{} `json:"configuration,omitempty"`
	// Environment is where to install (required).
	Environment string `json:"environment"`
	// Namespace defaults to "default".
	Namespace string `json:"namespace,omitempty"`
	// DeploymentStrategy is rolling (the default), blue-green or recreate.
	DeploymentStrategy string `json:"deploymentStrategy,omitempty"`
	// AutoStart defaults to true.
	AutoStart *bool `json:"autoStart,omitempty"`
	// IdempotencyKey makes retries safe; the SDK generates one when it is empty.
	IdempotencyKey string `json:"-"`
}

// Install is InstallContext with context.Background().
func (s *PluginsService) Install(pluginID string, opts *InstallOptions) (*InstallResult, error) {
	return s.InstallContext(context.Background(), pluginID, opts)
}

// InstallContext starts an installation (POST /plugins/{pluginId}/install) and returns it
// (pending or in_progress); follow it with Installations.Wait. It always sends an
// Idempotency-Key, so the SDK may retry it.
func (s *PluginsService) InstallContext(ctx context.Context, pluginID string, opts *InstallOptions) (*InstallResult, error) {
	body := InstallOptions{}
	if opts != nil {
		body = *opts
	}
	key := body.IdempotencyKey
	if key == "" {
		key = newIdempotencyKey()
	}
	out := &InstallResult{}
	req := &request{method: "POST", path: "/plugins/" + seg(pluginID) + "/install", body: body,
		header: http.Header{"Idempotency-Key": {key}}}
	resp, err := s.client.getData(ctx, req, out)
	return finish(out, &out.Response, resp, err)
}

// Telemetry is TelemetryContext with context.Background().
func (s *PluginsService) Telemetry(pluginID string, metrics *Telemetry) (*Response, error) {
	return s.TelemetryContext(context.Background(), pluginID, metrics)
}

// TelemetryContext reports usage figures of an installation (POST /plugins/{pluginId}/telemetry).
func (s *PluginsService) TelemetryContext(ctx context.Context, pluginID string, metrics *Telemetry) (*Response, error) {
	return s.client.do(ctx, &request{method: "POST", path: "/plugins/" + seg(pluginID) + "/telemetry", body: metrics}, nil)
}

// Download is a package received by PluginsService.Download.
type Download struct {
	PluginID string
	Version  string
	// Size is the number of bytes written.
	Size int64
	// SHA256 is the hex digest of the bytes received.
	SHA256 string
	// Integrity is the digest in subresource-integrity form (sha256-<base64>).
	Integrity   string
	ETag        string
	ContentType string
	// FileName is the name the server suggests (Content-Disposition).
	FileName  string
	*Response `json:"-"`
}

// ErrIntegrityMismatch is wrapped by the error Download returns when the bytes do not match the
// digest the server announced: discard what was written.
var ErrIntegrityMismatch = errors.New("marketplace: downloaded package does not match its integrity")

// Download is DownloadContext with context.Background().
func (s *PluginsService) Download(pluginID, version string, w io.Writer) (*Download, error) {
	return s.DownloadContext(context.Background(), pluginID, version, w)
}

// DownloadContext streams a version's package into w (the latest version when version is empty),
// computing its SHA-256 on the way and checking it against the X-Integrity header the server
// sends; a mismatch returns an error wrapping ErrIntegrityMismatch.
func (s *PluginsService) DownloadContext(ctx context.Context, pluginID, version string, w io.Writer) (*Download, error) {
	if version == "" {
		plugin, err := s.GetContext(ctx, pluginID)
		if err != nil {
			return nil, err
		}
		if plugin.Version == "" {
			return nil, errNoVersion
		}
		version = plugin.Version
	}
	req := &request{method: "GET", path: "/plugins/" + seg(pluginID) + "/versions/" + seg(version) + "/package",
		header: http.Header{"Accept": {"*/*"}}, stream: true}
	resp, err := s.client.do(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	body := resp.HTTPResponse.Body
	defer body.Close()
	digest := sha256.New()
	size, err := io.Copy(io.MultiWriter(w, digest), body)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("marketplace: downloading %s %s: %w", pluginID, version, err)
	}
	sum := digest.Sum(nil)
	h := resp.HTTPResponse.Header
	out := &Download{PluginID: pluginID, Version: version, Size: size, SHA256: hex.EncodeToString(sum),
		Integrity: "sha256-" + base64.StdEncoding.EncodeToString(sum), ETag: h.Get("ETag"),
		ContentType: h.Get("Content-Type"), FileName: dispositionName(h.Get("Content-Disposition")), Response: resp}
	if expected := h.Get("X-Integrity"); expected != "" && !integrityMatches(expected, sum) {
		return out, fmt.Errorf("%w: expected %s, got %s", ErrIntegrityMismatch, expected, out.Integrity)
	}
	return out, nil
}

func integrityMatches(expected string, sum []byte) bool {
	expected = strings.TrimSpace(expected)
	var want []byte
	var err error
	switch {
	case strings.HasPrefix(expected, "sha256-"):
		want, err = base64.StdEncoding.DecodeString(expected[len("sha256-"):])
	default:
		expected = strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(expected), "sha256:"), "sha256=")
		want, err = hex.DecodeString(expected)
	}
	return err == nil && subtle.ConstantTimeCompare(want, sum) == 1
}

func dispositionName(value string) string {
	for _, part := range strings.Split(value, ";") {
		key, name, found := strings.Cut(strings.TrimSpace(part), "=")
		if found && strings.EqualFold(key, "filename") {
			return strings.Trim(name, `"`)
		}
	}
	return ""
}
