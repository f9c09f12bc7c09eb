package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	marketplace "github.com/backstage/marketplace-sdk-go"
)

func checkInstallations(w *world) error {
	u, p := w.user, w.plugin
	env := slug("env")
	started, err := installWhenKnown(u, p.ID, &marketplace.InstallOptions{Version: "1.0.0", Environment: env,
		Namespace: "backstage-plugins", DeploymentStrategy: "rolling", Configuration: map[string]interface{}{}})
	if err != nil {
		return err
	}
	if started.Status != "pending" && started.Status != "in_progress" || started.Details.Version != "1.0.0" ||
		!strings.HasSuffix(started.Links.Status, started.InstallationID) {
		return fmt.Errorf("started %+v", started.Accepted)
	}
	var progress []int
	var lines []marketplace.LogLine
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	done, err := u.Installations.Wait(ctx, started.InstallationID, &marketplace.WaitOptions{PollInterval: 200 * time.Millisecond,
		OnProgress: func(i *marketplace.Installation) {
			if i.Progress != nil {
				progress = append(progress, i.Progress.Percentage)
			}
		},
		OnLog: func(l marketplace.LogLine) { lines = append(lines, l) }})
	if err != nil {
		return err
	}
	if done.Status != "completed" || len(progress) < 2 || progress[len(progress)-1] != 100 || len(lines) < 3 {
		return fmt.Errorf("wait: status %s, progress %v, %d log lines", done.Status, progress, len(lines))
	}
	batch, err := u.Installations.Logs(started.InstallationID, &marketplace.LogOptions{Limit: 2})
	if err != nil || len(batch.Data) != 2 || batch.Pagination.NextCursor == "" {
		return fmt.Errorf("logs: %v %+v", err, batch)
	}
	after, err := u.Installations.Logs(started.InstallationID, &marketplace.LogOptions{Cursor: batch.Pagination.NextCursor})
	if err := expectErr(err, len(after.Data) > 0 && after.Data[0].ID == lines[2].ID, "logs after the cursor %+v", after); err != nil {
		return err
	}
	listed, err := u.Installations.List(&marketplace.InstallationListOptions{Plugin: p.ID, Environment: env})
	if err := expectErr(err, len(listed.Data) == 1 && listed.Data[0].InstallationID == started.InstallationID, "list %+v", listed); err != nil {
		return err
	}
	all := false
	if err := u.Installations.ListAll(context.Background(), nil, func(i marketplace.InstallationData) error {
		all = all || i.InstallationID == started.InstallationID
		return nil
	}); err != nil || !all {
		return fmt.Errorf("ListAll: %v, found %v", err, all)
	}
	if _, err := u.Plugins.Install(p.ID, &marketplace.InstallOptions{Environment: env, Namespace: "backstage-plugins"}); !marketplace.IsConflict(err) {
		return fmt.Errorf("second install: %v, want a conflict", err)
	}
	if _, err := u.Installations.Cancel(started.InstallationID); !marketplace.IsConflict(err) {
		return fmt.Errorf("cancel a finished one: %v, want a conflict", err)
	}
	upgraded, err := u.Installations.Upgrade(started.InstallationID, &marketplace.Upgrade{Version: "1.2.3"})
	if err != nil || upgraded.InstallationID != started.InstallationID {
		return fmt.Errorf("upgrade: %v %+v", err, upgraded)
	}
	final, err := waitDone(u, started.InstallationID)
	if err := expectErr(err, final.Status == "completed" && final.Version == "1.2.3", "after upgrade %+v", final.InstallationData); err != nil {
		return err
	}
	if _, err := u.Installations.Uninstall(started.InstallationID); err != nil {
		return err
	}
	gone, err := waitDone(u, started.InstallationID)
	return expectErr(err, gone.Status == "uninstalled", "after uninstall %s", gone.Status)
}

func checkCancel(w *world) error {
	started, err := installWhenKnown(w.user, w.plugin.ID, &marketplace.InstallOptions{Environment: slug("env")})
	if err != nil {
		return err
	}
	cancelled, err := w.user.Installations.Cancel(started.InstallationID)
	if marketplace.IsConflict(err) { // it finished before the cancel arrived
		now, err := w.user.Installations.Get(started.InstallationID)
		return expectErr(err, now.Status == "completed", "conflict on cancel but %s", now.Status)
	}
	if err != nil || (cancelled.Status != "cancelling" && cancelled.Status != "cancelled") {
		return fmt.Errorf("cancel: %v %+v", err, cancelled)
	}
	final, err := waitDone(w.user, started.InstallationID)
	return expectErr(err, final.Status == "cancelled", "after cancel %s", final.Status)
}

func checkReviews(w *world) error {
	author, _, _, err := w.account("user", nil)
	if err != nil {
		return err
	}
	voter, _, _, err := w.account("user", nil)
	if err != nil {
		return err
	}
	id := w.plugin.ID
	var review *marketplace.Review
	err = eventually(30*time.Second, "the review service to know the plugin", func() (bool, error) {
		review, err = author.Reviews.Create(id, &marketplace.ReviewCreate{Rating: 4, Title: "Solid <b>plugin</b>", Review: "Works with our setup"})
		if marketplace.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	if review.Rating != 4 || review.Title != "Solid <b>plugin</b>" {
		return fmt.Errorf("created %+v", review.ReviewData)
	}
	if _, err := author.Reviews.Create(id, &marketplace.ReviewCreate{Rating: 5}); !marketplace.IsConflict(err) {
		return fmt.Errorf("second review: %v", err)
	}
	_, err = voter.Reviews.Create(id, &marketplace.ReviewCreate{Rating: 6})
	if !marketplace.IsValidation(err) || marketplace.AsErrorResponse(err).Fields()["rating"] == nil {
		return fmt.Errorf("rating 6: %v", err)
	}
	updated, err := author.Reviews.Update(review.ID, &marketplace.ReviewUpdate{Rating: marketplace.Int(5), Title: "Excellent"})
	if err := expectErr(err, updated.Rating == 5 && updated.Title == "Excellent", "updated %+v", updated); err != nil {
		return err
	}
	contains := func() (bool, error) {
		page, err := voter.Reviews.List(id, &marketplace.ReviewListOptions{Sort: "recent"})
		if err != nil {
			return false, err
		}
		for _, r := range page.Data {
			if r.ID == review.ID {
				return true, nil
			}
		}
		return false, nil
	}
	if in, err := contains(); err != nil || !in {
		return fmt.Errorf("list: %v, contains %v", err, in)
	}
	found := false
	if err := voter.Reviews.ListAll(context.Background(), id, &marketplace.ReviewListOptions{Rating: 5}, func(r marketplace.ReviewData) error {
		found = found || r.ID == review.ID
		return nil
	}); err != nil || !found {
		return fmt.Errorf("ListAll rating 5: %v %v", err, found)
	}
	got, err := voter.Reviews.Get(review.ID)
	if err := expectErr(err, got.Title == "Excellent", "get %+v", got); err != nil {
		return err
	}
	helpful, err := voter.Reviews.Helpful(review.ID)
	if err := expectErr(err, helpful.Helpful == 1, "helpful %+v", helpful); err != nil {
		return err
	}
	if _, err := author.Reviews.Helpful(review.ID); !marketplace.IsForbidden(err) {
		return fmt.Errorf("own vote: %v", err)
	}
	if _, err := voter.Reviews.Report(review.ID, "Looks like an advertisement"); err != nil {
		return err
	}
	if _, err := w.admin.Reviews.Hide(review.ID, "checking"); err != nil {
		return err
	}
	if in, err := contains(); err != nil || in {
		return fmt.Errorf("hidden but listed: %v %v", err, in)
	}
	if _, err := w.admin.Reviews.Restore(review.ID); err != nil {
		return err
	}
	if in, err := contains(); err != nil || !in {
		return fmt.Errorf("restored but not listed: %v %v", err, in)
	}
	if _, err := voter.Reviews.Delete(review.ID); !marketplace.IsForbidden(err) {
		return fmt.Errorf("someone else's delete: %v", err)
	}
	if _, err := author.Reviews.Delete(review.ID); err != nil {
		return err
	}
	_, err = voter.Reviews.Get(review.ID)
	return expect(marketplace.IsNotFound(err), "deleted review: %v", err)
}

// receiver is a webhook endpoint on loopback, behind the SDK's verifying middleware.
type receiver struct {
	mu       sync.Mutex
	verifier *marketplace.WebhookVerifier
	events   []received
	refused  int
	server   *http.Server
	url      string
}

type received struct {
	event  *marketplace.WebhookEvent
	header http.Header
	body   []byte
}

func newReceiver(secrets ...string) (*receiver, error) {
	r := &receiver{verifier: &marketplace.WebhookVerifier{Secrets: secrets}}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	inner := http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		event, _ := marketplace.WebhookFromContext(req.Context())
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.events = append(r.events, received{event, req.Header.Clone(), body})
		r.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
	})
	verify := r.verifier.Middleware(inner)
	r.server = &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		rec := &statusWriter{ResponseWriter: rw}
		verify.ServeHTTP(rec, req)
		if rec.status == http.StatusUnauthorized {
			r.mu.Lock()
			r.refused++
			r.mu.Unlock()
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.server.Serve(listener) }()
	r.url = "http://" + listener.Addr().String() + "/hook"
	return r, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (r *receiver) waitFor(count int, what string) ([]received, error) {
	var got []received
	err := eventually(30*time.Second, what, func() (bool, error) {
		r.mu.Lock()
		got = append([]received(nil), r.events...)
		r.mu.Unlock()
		return len(got) >= count, nil
	})
	return got, err
}

func checkWebhooks(w *world) error {
	u := w.user
	secret := slug("go-e2e-secret")
	recv, err := newReceiver(secret)
	if err != nil {
		return err
	}
	defer recv.server.Close()
	hook, err := u.Webhooks.Create(&marketplace.WebhookCreate{URL: recv.url, Events: []string{"plugin.installed", "plugin.error"},
		Secret: secret, Description: "Go SDK e2e"})
	if err != nil {
		return err
	}
	if len(hook.Events) != 2 || hook.ID == "" {
		return fmt.Errorf("created %+v", hook.WebhookWithSecretData)
	}
	listed := false
	pager := u.Webhooks.ListPager(context.Background(), nil)
	for pager.Next() {
		listed = listed || pager.Value().ID == hook.ID
	}
	if pager.Err() != nil || !listed {
		return fmt.Errorf("list: %v %v", pager.Err(), listed)
	}
	got, err := u.Webhooks.Get(hook.ID)
	if err := expectErr(err, got.Description == "Go SDK e2e", "get %+v", got); err != nil {
		return err
	}
	renamed, err := u.Webhooks.Update(hook.ID, &marketplace.WebhookUpdate{Description: "renamed"})
	if err := expectErr(err, renamed.Description == "renamed", "update %+v", renamed); err != nil {
		return err
	}

	ping, err := u.Webhooks.Ping(hook.ID)
	if err != nil {
		return err
	}
	events, err := recv.waitFor(1, "the ping, verified by the Go receiver")
	if err != nil {
		return err
	}
	if events[0].event == nil || events[0].event.ID != ping.ID || events[0].event.Event == "" {
		return fmt.Errorf("ping received %+v (delivery %s)", events[0].event, ping.ID)
	}
	var deliveries *marketplace.DeliveryPage
	if err := eventually(30*time.Second, "the delivery log", func() (bool, error) {
		deliveries, err = u.Webhooks.Deliveries(hook.ID, nil)
		return err == nil && len(deliveries.Data) > 0 && deliveries.Data[0].Status == "succeeded", err
	}); err != nil {
		return err
	}
	if deliveries.Data[0].ID != ping.ID || deliveries.Data[0].AttemptCount < 1 {
		return fmt.Errorf("deliveries %+v", deliveries.Data[0])
	}
	one, err := u.Webhooks.Delivery(hook.ID, ping.ID)
	if err := expectErr(err, len(one.Attempts) > 0 && one.Attempts[0].StatusCode != nil && *one.Attempts[0].StatusCode == 204, "delivery %+v", one); err != nil {
		return err
	}
	if _, err := u.Webhooks.Redeliver(hook.ID, ping.ID); err != nil {
		return err
	}
	events, err = recv.waitFor(2, "the redelivery")
	if err != nil {
		return err
	}
	if events[1].event.ID != ping.ID {
		return fmt.Errorf("redelivery id %s, want %s", events[1].event.ID, ping.ID)
	}

	rotated, err := u.Webhooks.RotateSecret(hook.ID, nil)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == secret {
		return fmt.Errorf("rotated secret %q", rotated.Secret)
	}
	recv.mu.Lock()
	recv.verifier.Secrets = []string{rotated.Secret}
	recv.mu.Unlock()
	if _, err := u.Webhooks.Ping(hook.ID); err != nil {
		return err
	}
	events, err = recv.waitFor(3, "a ping after the rotation, verified with the new secret only")
	if err != nil {
		return err
	}
	last := events[2]
	if _, err := marketplace.VerifyWebhook(secret, last.header, last.body, 0); err != nil {
		return fmt.Errorf("the old secret no longer verifies during the grace period: %w", err)
	}
	if _, err := marketplace.VerifyWebhook("whsec_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", last.header, last.body, 0); err == nil {
		return errors.New("a wrong secret verified")
	}

	// A real event: an installation completes, the receiver gets plugin.installed, signed.
	started, err := installWhenKnown(u, w.plugin.ID, &marketplace.InstallOptions{Environment: slug("env")})
	if err != nil {
		return err
	}
	if done, err := waitDone(u, started.InstallationID); err != nil || done.Status != "completed" {
		return fmt.Errorf("install for the event: %v %+v", err, done)
	}
	var installed *marketplace.WebhookEvent
	if err := eventually(30*time.Second, "plugin.installed at the Go receiver", func() (bool, error) {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		for _, e := range recv.events {
			if e.event.Event == "plugin.installed" && e.event.Data["installationId"] == started.InstallationID {
				installed = e.event
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	if installed.Data["pluginId"] != w.plugin.ID {
		return fmt.Errorf("plugin.installed data %v", installed.Data)
	}
	recv.mu.Lock()
	refused := recv.refused
	recv.mu.Unlock()
	if refused != 0 {
		return fmt.Errorf("the receiver refused %d genuine deliveries", refused)
	}

	recovered, err := u.Webhooks.Recover(hook.ID, &marketplace.Recover{Since: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if err := expectErr(err, recovered.Data["recovered"] == float64(0), "recover %+v", recovered); err != nil {
		return err
	}
	if _, err := u.Webhooks.Delete(hook.ID); err != nil {
		return err
	}
	_, err = u.Webhooks.Get(hook.ID)
	return expect(marketplace.IsNotFound(err), "deleted webhook: %v", err)
}

func checkMe(w *world) error {
	me, err := w.user.Me.Get()
	if err := expectErr(err, me.ID == w.userAccount && me.Role == "user", "me %+v", me); err != nil {
		return err
	}
	created, err := w.user.Me.CreateAPIKey(&marketplace.APIKeyCreate{Name: "second"})
	if err != nil || !strings.HasPrefix(created.Key, "mkp_") {
		return fmt.Errorf("create key: %v %+v", err, created)
	}
	second := w.client(created.Key)
	if me2, err := second.Me.Get(); err != nil || me2.ID != w.userAccount {
		return fmt.Errorf("the new key: %v", err)
	}
	keys, err := w.user.Me.APIKeys()
	if err != nil {
		return err
	}
	listed := false
	for _, k := range keys.Data {
		listed = listed || k.ID == created.ID
	}
	if !listed {
		return fmt.Errorf("the new key is not listed: %+v", keys.Data)
	}
	if _, err := w.user.Me.RevokeAPIKey(created.ID); err != nil {
		return err
	}
	return eventually(10*time.Second, "the revoked key to be refused", func() (bool, error) {
		_, err := second.Me.Get()
		return marketplace.IsUnauthorized(err), nil
	})
}

func checkEnvironments(w *world) error {
	name := slug("env")
	created, err := w.admin.Environments.Create(&marketplace.EnvironmentCreate{Name: name, BackstageVersion: "1.36.0", NodeVersion: "20.11.0"})
	if err := expectErr(err, created.BackstageVersion == "1.36.0", "created %+v", created); err != nil {
		return err
	}
	updated, err := w.admin.Environments.Update(name, &marketplace.EnvironmentUpdate{BackstageVersion: "1.37.0"})
	if err := expectErr(err, updated.BackstageVersion == "1.37.0", "updated %+v", updated); err != nil {
		return err
	}
	page, err := w.admin.Environments.List(&marketplace.PageOptions{Limit: 100})
	if err != nil {
		return err
	}
	found := false
	for _, e := range page.Data {
		found = found || e.Name == name
	}
	if !found {
		return fmt.Errorf("environment %s not listed", name)
	}
	_, err = w.user.Environments.List(nil)
	return expect(marketplace.IsForbidden(err), "a user listing environments: %v", err)
}

func checkContext(w *world) error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.user.Plugins.ListContext(ctx, nil); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("cancelled context: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	plugin, err := w.user.Plugins.GetContext(ctx, w.plugin.ID)
	return expectErr(err, plugin.ID == w.plugin.ID, "with a deadline: %+v", plugin)
}
