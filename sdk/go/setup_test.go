package marketplace

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// setup starts an httptest server for the API and a client for it whose waits are recorded, not slept.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux, *[]time.Duration) {
	t.Helper()
	mux := http.NewServeMux()
	api := http.NewServeMux()
	api.Handle(APIPrefix+"/", mux)
	server := httptest.NewServer(api)
	t.Cleanup(server.Close)
	client := NewClient(append([]Option{WithBaseURL(server.URL), WithAPIKey("mkp_test"), WithBackoff(time.Millisecond)}, opts...)...)
	var mu sync.Mutex
	waits := &[]time.Duration{}
	client.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	return client, mux, waits
}

// hangingServer starts a server that answers no request until the request is cancelled or the test ends.
func hangingServer(t *testing.T) string {
	t.Helper()
	release := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(server.Close)
	t.Cleanup(func() { close(release) })
	return server.URL
}

func writeJSON(w http.ResponseWriter, status int, body interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("X-Request-Id", "req_"+code)
	writeJSON(w, status, map[string]interface{}{
		"error":     map[string]interface{}{"code": code, "message": message, "details": map[string]interface{}{}},
		"timestamp": "2026-01-01T00:00:00Z", "requestId": "req_" + code,
	})
}
