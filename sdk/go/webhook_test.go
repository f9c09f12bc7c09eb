package marketplace

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

type webhookVector struct {
	Name      string            `json:"name"`
	Secrets   []string          `json:"secrets"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"body"`
	Now       int64             `json:"now"`
	Tolerance int64             `json:"toleranceSeconds"`
	Valid     bool              `json:"valid"`
	Error     *string           `json:"error"`
}

func loadVectors(t *testing.T) []webhookVector {
	t.Helper()
	data, err := os.ReadFile("../testdata/webhooks.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []webhookVector `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	return file.Vectors
}

// The shared vectors, with headers given as a plain map (names as the sender wrote them).
func TestWebhookVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		v := v
		t.Run(v.Name, func(t *testing.T) {
			header := http.Header{}
			for name, value := range v.Headers {
				header[name] = []string{value} // not canonicalised: the verifier must still find it
			}
			verifier := &WebhookVerifier{Secrets: v.Secrets, Tolerance: time.Duration(v.Tolerance) * time.Second,
				Now: func() time.Time { return time.Unix(v.Now, 0) }}
			event, err := verifier.Verify(header, []byte(v.Body))
			if v.Valid {
				if err != nil {
					t.Fatalf("refused a valid request: %v", err)
				}
				var payload map[string]interface{}
				_ = json.Unmarshal([]byte(v.Body), &payload)
				if event.Event != payload["event"] || event.Data == nil || event.ID != v.Headers["webhook-id"] && event.ID != v.Headers["WEBHOOK-ID"] {
					t.Fatalf("event %+v", event)
				}
				return
			}
			var failure *WebhookVerificationError
			if !errors.As(err, &failure) || v.Error == nil || failure.Code != *v.Error {
				t.Fatalf("err = %v, want code %v", err, *v.Error)
			}
		})
	}
}

func TestWebhookMiddleware(t *testing.T) {
	var valid webhookVector
	for _, v := range loadVectors(t) {
		if v.Name == "both schemes" {
			valid = v
		}
	}
	var got *WebhookEvent
	handler := (&WebhookVerifier{Secrets: valid.Secrets, Now: func() time.Time { return time.Unix(valid.Now, 0) }}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = WebhookFromContext(r.Context())
			w.WriteHeader(http.StatusNoContent)
		}))
	send := func(headers map[string]string, body string) int {
		req := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := send(valid.Headers, valid.Body); code != 204 || got == nil || got.Event != "plugin.installed" {
		t.Fatalf("valid request: %d, event %+v", code, got)
	}
	got = nil
	if code := send(valid.Headers, valid.Body+" "); code != 401 || got != nil {
		t.Fatalf("tampered request: %d, handler reached: %v", code, got != nil)
	}
	if code := send(map[string]string{}, valid.Body); code != 401 {
		t.Fatalf("unsigned request: %d", code)
	}
}

func TestVerifyWebhookWithCurrentTime(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"event":"plugin.installed","timestamp":"x","data":{}}`)
	header := signWebhook(t, secret, "dlv_1", time.Now(), body)
	if _, err := VerifyWebhook(secret, header, body, 0); err != nil {
		t.Fatal(err)
	}
	old := signWebhook(t, secret, "dlv_1", time.Now().Add(-10*time.Minute), body)
	if _, err := VerifyWebhook(secret, old, body, 0); err == nil {
		t.Fatal("a 10-minute-old request passed the default 5-minute window")
	}
	if _, err := VerifyWebhook("whsec_not base64!", header, body, 0); err == nil {
		t.Fatal("a malformed whsec_ secret was accepted")
	}
}
