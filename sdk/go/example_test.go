package marketplace_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	marketplace "github.com/backstage/marketplace-sdk-go"
)

// fakePortal stands in for a portal in these examples: a few plugins, an installation that completes.
func fakePortal() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/marketplace/v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page == 0 {
			page = 1
		}
		w.Header().Set("X-RateLimit-Limit", "1000")
		w.Header().Set("X-RateLimit-Remaining", "999")
		_ = json.NewEncoder(w).Encode(map[string]interface{}{
			"data":       []map[string]interface{}{{"id": fmt.Sprintf("plugin_%d", page), "name": fmt.Sprintf("monitor-%d", page), "category": "monitoring", "verified": true}},
			"pagination": map[string]interface{}{"page": page, "limit": 1, "total": 3, "totalPages": 3, "hasNextPage": page < 3},
		})
	})
	mux.HandleFunc("/api/marketplace/v1/plugins/plugin_123/install", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"data": map[string]interface{}{
			"installationId": "inst_1", "pluginId": "plugin_123", "status": "pending"}})
	})
	polls := 0
	mux.HandleFunc("/api/marketplace/v1/installations/inst_1", func(w http.ResponseWriter, r *http.Request) {
		polls++
		status := map[bool]string{true: "completed", false: "in_progress"}[polls > 1]
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"data": map[string]interface{}{
			"installationId": "inst_1", "status": status, "progress": map[string]interface{}{"percentage": 50 * polls}}})
	})
	mux.HandleFunc("/api/marketplace/v1/plugins/nope", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"error": map[string]interface{}{
			"code": "PLUGIN_NOT_FOUND", "message": "Plugin 'nope' not found"}, "requestId": "req_abc123"})
	})
	return httptest.NewServer(mux)
}

func ExampleNewClient() {
	portal := fakePortal()
	defer portal.Close()

	client := marketplace.NewClient(
		marketplace.WithAPIKey("YOUR_API_KEY"),
		marketplace.WithBaseURL(portal.URL),
	)
	plugins, err := client.Plugins.List(&marketplace.ListOptions{
		Category: "monitoring",
		Verified: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(plugins.Data[0].Name, plugins.Pagination.Total, plugins.Rate.Remaining)

	installation, err := client.Plugins.Install("plugin_123", &marketplace.InstallOptions{
		Version:     "1.2.3",
		Environment: "production",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(installation.InstallationID, installation.Status)
	// Output:
	// monitor-1 3 999
	// inst_1 pending
}

func ExamplePluginsService_ListAll() {
	portal := fakePortal()
	defer portal.Close()
	client := marketplace.NewClient(marketplace.WithBaseURL(portal.URL))

	err := client.Plugins.ListAll(context.Background(), &marketplace.ListOptions{Category: "monitoring"},
		func(p marketplace.PluginSummaryDoc) error {
			fmt.Println(p.ID)
			return nil
		})
	if err != nil {
		panic(err)
	}
	// Output:
	// plugin_1
	// plugin_2
	// plugin_3
}

func ExamplePluginsService_ListPager() {
	portal := fakePortal()
	defer portal.Close()
	client := marketplace.NewClient(marketplace.WithBaseURL(portal.URL))

	pager := client.Plugins.ListPager(context.Background(), nil)
	for pager.Next() {
		fmt.Println(pager.Page(), pager.Value().Name)
	}
	if err := pager.Err(); err != nil {
		panic(err)
	}
	// Output:
	// 1 monitor-1
	// 2 monitor-2
	// 3 monitor-3
}

func ExampleInstallationsService_Wait() {
	portal := fakePortal()
	defer portal.Close()
	client := marketplace.NewClient(marketplace.WithBaseURL(portal.URL), marketplace.WithAPIKey("mkp_…"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done, err := client.Installations.Wait(ctx, "inst_1", &marketplace.WaitOptions{
		PollInterval: 10 * time.Millisecond,
		OnProgress: func(i *marketplace.Installation) {
			fmt.Printf("%s %d%%\n", i.Status, i.Progress.Percentage)
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("final:", done.Status)
	// Output:
	// in_progress 50%
	// completed 100%
	// final: completed
}

func ExampleIsNotFound() {
	portal := fakePortal()
	defer portal.Close()
	client := marketplace.NewClient(marketplace.WithBaseURL(portal.URL))

	_, err := client.Plugins.Get("nope")
	fmt.Println(marketplace.IsNotFound(err))
	var apiErr *marketplace.ErrorResponse
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	}
	// Output:
	// true
	// 404 PLUGIN_NOT_FOUND req_abc123
}

func ExampleVerifyWebhook() {
	secret := "my-webhook-secret"
	body := []byte(`{"event":"plugin.installed","timestamp":"2026-12-01T22:00:00Z","data":{"pluginId":"plugin_123"}}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	header := http.Header{}
	header.Set("X-Marketplace-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))

	event, err := marketplace.VerifyWebhook(secret, header, body, marketplace.DefaultWebhookTolerance)
	fmt.Println(event.Event, event.Data["pluginId"], err)

	_, err = marketplace.VerifyWebhook(secret, header, append(body, ' '), 0)
	var refused *marketplace.WebhookVerificationError
	fmt.Println(errors.As(err, &refused), refused.Code)
	// Output:
	// plugin.installed plugin_123 <nil>
	// true INVALID_SIGNATURE
}

func ExampleWebhookMiddleware() {
	handler := marketplace.WebhookMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		event, _ := marketplace.WebhookFromContext(r.Context())
		fmt.Println("got", event.Event) // only verified requests get here
		w.WriteHeader(http.StatusNoContent)
	}), 5*time.Minute, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

	unsigned := httptest.NewRequest("POST", "/hook", strings.NewReader(`{"event":"plugin.installed"}`))
	answer := httptest.NewRecorder()
	handler.ServeHTTP(answer, unsigned)
	fmt.Println(answer.Code)
	// Output:
	// 401
}
