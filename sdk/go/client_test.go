package marketplace

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSpecExampleSendsFiltersAndCredentials(t *testing.T) {
	client, mux, _ := setup(t)
	mux.HandleFunc("/api/marketplace/v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Encode(); got != "category=monitoring&verified=true" {
			t.Errorf("query = %q", got)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer mkp_test" {
			t.Errorf("Authorization = %q", got)
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "backstage-marketplace-go/") {
			t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
		}
		w.Header().Set("X-RateLimit-Limit", "1000")
		w.Header().Set("X-RateLimit-Remaining", "998")
		w.Header().Set("X-RateLimit-Reset", "2026-12-01T23:00:00Z")
		w.Header().Set("X-Request-Id", "req_1")
		writeJSON(w, 200, map[string]interface{}{
			"data":       []map[string]interface{}{{"id": "plugin_1", "name": "a", "category": "monitoring", "verified": true}},
			"pagination": map[string]interface{}{"page": 1, "limit": 20, "total": 1, "totalPages": 1, "hasNextPage": false},
		})
	})
	plugins, err := client.Plugins.List(&ListOptions{Category: "monitoring", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plugins.Data) != 1 || plugins.Data[0].ID != "plugin_1" || !plugins.Data[0].Verified {
		t.Fatalf("data = %+v", plugins.Data)
	}
	if plugins.Pagination.Total != 1 || plugins.RequestID != "req_1" || plugins.StatusCode() != 200 {
		t.Fatalf("pagination %+v, request id %q", plugins.Pagination, plugins.RequestID)
	}
	want := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC)
	if plugins.Rate.Limit != 1000 || plugins.Rate.Remaining != 998 || !plugins.Rate.Reset.Equal(want) {
		t.Fatalf("rate = %+v", plugins.Rate)
	}
	if client.Rate().Remaining != 998 {
		t.Fatalf("client rate = %+v", client.Rate())
	}
}

func TestRetriesOn429HonouringRetryAfter(t *testing.T) {
	client, mux, waits := setup(t)
	var calls int32
	mux.HandleFunc("/api/marketplace/v1/categories", func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) < 3 {
			w.Header().Set("Retry-After", "2")
			writeError(w, 429, "RATE_LIMITED", "slow down")
			return
		}
		writeJSON(w, 200, map[string]interface{}{"data": []map[string]interface{}{{"name": "monitoring", "count": 3}}})
	})
	list, err := client.Plugins.Categories()
	if err != nil {
		t.Fatal(err)
	}
	if atomic.LoadInt32(&calls) != 3 || len(list.Data) != 1 || list.Data[0].Count != 3 {
		t.Fatalf("calls %d, data %+v", atomic.LoadInt32(&calls), list.Data)
	}
	if len(*waits) != 2 || (*waits)[0] != 2*time.Second || (*waits)[1] != 2*time.Second {
		t.Fatalf("waits = %v, want two of 2s (Retry-After)", *waits)
	}
}

func TestRetryAfterReallySleeps(t *testing.T) {
	var calls int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeError(w, 429, "RATE_LIMITED", "slow down")
			return
		}
		writeJSON(w, 200, map[string]interface{}{"data": []interface{}{}})
	}))
	defer server.Close()
	client := NewClient(WithBaseURL(server.URL))
	started := time.Now()
	if _, err := client.Plugins.Tags(); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(started); elapsed < time.Second || atomic.LoadInt32(&calls) != 2 {
		t.Fatalf("retried after %s with %d calls, want >= 1s and 2", elapsed, atomic.LoadInt32(&calls))
	}
}

func TestRetriesOn503WithBackoffThenSucceeds(t *testing.T) {
	client, mux, waits := setup(t)
	var calls int32
	mux.HandleFunc("/api/marketplace/v1/plugins/p1", func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) <= 2 {
			writeError(w, 503, "SERVICE_UNAVAILABLE", "down")
			return
		}
		writeJSON(w, 200, map[string]interface{}{"data": map[string]interface{}{"id": "p1", "name": "one"}})
	})
	plugin, err := client.Plugins.Get("p1")
	if err != nil {
		t.Fatal(err)
	}
	if plugin.Name != "one" || atomic.LoadInt32(&calls) != 3 || len(*waits) != 2 {
		t.Fatalf("plugin %+v, calls %d, waits %v", plugin, atomic.LoadInt32(&calls), *waits)
	}
	if (*waits)[1] < (*waits)[0] {
		t.Fatalf("backoff did not grow: %v", *waits)
	}
}

func TestRetriesUsedUpReturnTheError(t *testing.T) {
	client, mux, waits := setup(t, WithRetries(2))
	var calls int32
	mux.HandleFunc("/api/marketplace/v1/plugins/p1", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&calls, 1)
		writeError(w, 503, "SERVICE_UNAVAILABLE", "down")
	})
	_, err := client.Plugins.Get("p1")
	if !IsServerError(err) || !HasCode(err, "SERVICE_UNAVAILABLE") || atomic.LoadInt32(&calls) != 3 || len(*waits) != 2 {
		t.Fatalf("err %v, calls %d, waits %v", err, atomic.LoadInt32(&calls), *waits)
	}
}

func TestRetryAfterBeyondTheBoundIsReturnedAtOnce(t *testing.T) {
	client, mux, waits := setup(t, WithMaxRetryWait(5*time.Second))
	mux.HandleFunc("/api/marketplace/v1/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("X-RateLimit-Limit", "3")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		writeError(w, 429, "RATE_LIMITED", "quota used up")
	})
	_, err := client.Me.Get()
	var limited *RateLimitError
	if !errors.As(err, &limited) {
		t.Fatalf("err = %v, want *RateLimitError", err)
	}
	if limited.RetryAfter != time.Hour || limited.Rate.Limit != 3 || limited.Rate.Remaining != 0 || limited.StatusCode != 429 {
		t.Fatalf("limited = %+v, rate %+v", limited, limited.Rate)
	}
	var envelope *ErrorResponse
	if !errors.As(err, &envelope) || envelope.Code != "RATE_LIMITED" || !IsRateLimited(err) {
		t.Fatalf("not an *ErrorResponse too: %v", err)
	}
	if len(*waits) != 0 {
		t.Fatalf("waited %v although the server asked for an hour", *waits)
	}
}

func TestPostWithoutIdempotencyKeyIsNeverResent(t *testing.T) {
	client, mux, _ := setup(t)
	var calls int32
	mux.HandleFunc("/api/marketplace/v1/plugins/p1/reviews", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&calls, 1)
		writeError(w, 503, "SERVICE_UNAVAILABLE", "down")
	})
	_, err := client.Reviews.Create("p1", &ReviewCreate{Rating: 5})
	if !IsServerError(err) || atomic.LoadInt32(&calls) != 1 {
		t.Fatalf("err %v after %d calls, want one call", err, atomic.LoadInt32(&calls))
	}
}

func TestInstallSendsAnIdempotencyKeyAndIsRetriedWithIt(t *testing.T) {
	client, mux, _ := setup(t)
	var keys []string
	mux.HandleFunc("/api/marketplace/v1/plugins/plugin_123/install", func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if len(keys) == 1 {
			writeError(w, 502, "BAD_GATEWAY", "upstream")
			return
		}
		writeJSON(w, 202, map[string]interface{}{"data": map[string]interface{}{
			"installationId": "inst_1", "pluginId": "plugin_123", "status": "pending",
			"details": map[string]interface{}{"version": "1.2.3", "environment": "production"}}})
	})
	installation, err := client.Plugins.Install("plugin_123", &InstallOptions{Version: "1.2.3", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if installation.InstallationID != "inst_1" || installation.Details.Version != "1.2.3" || installation.StatusCode() != 202 {
		t.Fatalf("installation = %+v", installation)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("idempotency keys = %q, want the same key twice", keys)
	}
}

func TestDroppedConnectionsAreRetriedForReadsOnly(t *testing.T) {
	var calls int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close() // the connection drops without an answer
			return
		}
		writeJSON(w, 200, map[string]interface{}{"data": []interface{}{}})
	}))
	defer server.Close()
	client := NewClient(WithBaseURL(server.URL), WithBackoff(time.Millisecond))
	if _, err := client.Plugins.Tags(); err != nil || atomic.LoadInt32(&calls) != 2 {
		t.Fatalf("err %v after %d calls", err, atomic.LoadInt32(&calls))
	}
	client, _, waits := setup(t, WithRetries(2))
	client.baseURL = "http://127.0.0.1:1" + APIPrefix // nothing listens there
	_, err := client.Reviews.Create("p1", &ReviewCreate{Rating: 5})
	var conn *ConnectionError
	if !errors.As(err, &conn) || AsErrorResponse(err) != nil || !dialFailed(err) {
		t.Fatalf("err = %v, want a *ConnectionError from dialling", err)
	}
	if len(*waits) != 2 { // a POST that never left is retried too
		t.Fatalf("waits = %v, want 2 retries of a refused connection", *waits)
	}
}

func TestErrorMapping(t *testing.T) {
	client, mux, _ := setup(t, WithRetries(0))
	mux.HandleFunc("/api/marketplace/v1/plugins/missing", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 404, "PLUGIN_NOT_FOUND", "Plugin 'missing' not found")
	})
	mux.HandleFunc("/api/marketplace/v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]interface{}{"error": map[string]interface{}{"code": "VALIDATION_ERROR",
			"message": "Invalid query", "details": map[string]interface{}{"fields": map[string]interface{}{"limit": []string{"Too big."}}}},
			"requestId": "req_v"})
	})
	mux.HandleFunc("/api/marketplace/v1/me", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 401, "UNAUTHORIZED", "bad key")
	})
	mux.HandleFunc("/api/marketplace/v1/admin/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 403, "FORBIDDEN", "admins only")
	})
	mux.HandleFunc("/api/marketplace/v1/installations/i1/cancel", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 409, "INSTALLATION_FINISHED", "already completed")
	})
	mux.HandleFunc("/api/marketplace/v1/tags", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	})

	_, err := client.Plugins.Get("missing")
	var e *ErrorResponse
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != "PLUGIN_NOT_FOUND" || e.RequestID != "req_PLUGIN_NOT_FOUND" ||
		!strings.Contains(e.Message, "missing") || e.Response == nil || !IsNotFound(err) {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "PLUGIN_NOT_FOUND") || !strings.Contains(err.Error(), "req_PLUGIN_NOT_FOUND") {
		t.Fatalf("message = %q", err.Error())
	}
	_, err = client.Plugins.List(&ListOptions{Limit: 1000})
	if !IsValidation(err) || AsErrorResponse(err).Fields()["limit"] == nil || AsErrorResponse(err).RequestID != "req_v" {
		t.Fatalf("validation err = %v", err)
	}
	if _, err = client.Me.Get(); !IsUnauthorized(err) || IsForbidden(err) {
		t.Fatalf("401 err = %v", err)
	}
	if _, err = client.Accounts.List(nil); !IsForbidden(err) {
		t.Fatalf("403 err = %v", err)
	}
	if _, err = client.Installations.Cancel("i1"); !IsConflict(err) || !HasCode(err, "INSTALLATION_FINISHED") {
		t.Fatalf("409 err = %v", err)
	}
	_, err = client.Plugins.Tags()
	if e := AsErrorResponse(err); e == nil || e.StatusCode != 502 || e.Code != "" || !strings.Contains(e.Message, "bad gateway") {
		t.Fatalf("502 err = %v", err)
	}
}

func TestContextCancellationStopsARequest(t *testing.T) {
	client := NewClient(WithBaseURL(hangingServer(t)))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	started := time.Now()
	_, err := client.Plugins.ListContext(ctx, nil)
	if !errors.Is(err, context.Canceled) || time.Since(started) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(started))
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := client.Plugins.GetContext(ctx, "p"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline err = %v", err)
	}
}

func TestContextCancellationStopsTheWaitBeforeARetry(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeError(w, 503, "SERVICE_UNAVAILABLE", "down")
	}))
	defer server.Close()
	client := NewClient(WithBaseURL(server.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := client.Plugins.TagsContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(started) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(started))
	}
}

func TestTimeoutBoundsEachAttempt(t *testing.T) {
	client := NewClient(WithBaseURL(hangingServer(t)), WithTimeout(50*time.Millisecond), WithRetries(0))
	_, err := client.Plugins.Tags()
	var conn *ConnectionError
	if !errors.As(err, &conn) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	for given, want := range map[string]string{
		"https://portal.example.com":                     "https://portal.example.com/api/marketplace/v1",
		"https://portal.example.com/":                    "https://portal.example.com/api/marketplace/v1",
		"https://portal.example.com/api/marketplace/v1/": "https://portal.example.com/api/marketplace/v1",
	} {
		if got := NewClient(WithBaseURL(given)).BaseURL(); got != want {
			t.Errorf("%q -> %q, want %q", given, got, want)
		}
	}
	_, err := NewClient(WithBaseURL("portal.example.com")).Plugins.Tags()
	if err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseResetAndRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := parseReset("30", now); !got.Equal(now.Add(30 * time.Second)) {
		t.Errorf("delta reset = %v", got)
	}
	if got := parseReset("1767225600", now); !got.Equal(time.Unix(1767225600, 0)) {
		t.Errorf("epoch reset = %v", got)
	}
	if got, ok := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); !ok || got != 90*time.Second {
		t.Errorf("HTTP-date Retry-After = %v %v", got, ok)
	}
	if _, ok := parseRetryAfter("soon", now); ok {
		t.Errorf("unreadable Retry-After accepted")
	}
}

func TestADroppedPostIsNotResent(t *testing.T) {
	var calls int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&calls, 1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // the request arrived, the answer never left
	}))
	defer server.Close()
	client := NewClient(WithBaseURL(server.URL), WithBackoff(time.Millisecond))
	_, err := client.Webhooks.Create(&WebhookCreate{URL: "http://127.0.0.1/hook", Events: []string{"plugin.*"}})
	var conn *ConnectionError
	if !errors.As(err, &conn) || atomic.LoadInt32(&calls) != 1 {
		t.Fatalf("err %v after %d calls, want one call", err, atomic.LoadInt32(&calls))
	}
}
