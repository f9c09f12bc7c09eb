package marketplace

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is the replay window of VerifyWebhook: webhook-timestamp must be this close to now.
const DefaultWebhookTolerance = 5 * time.Minute

// WebhookSecretPrefix starts the secrets the marketplace generates; the rest is base64.
const WebhookSecretPrefix = "whsec_"

// WebhookEvent is a verified webhook payload.
type WebhookEvent struct {
	// ID is the delivery id (webhook-id): remember it to ignore a delivery you already processed.
	ID string `json:"-"`
	// Event is the event type (plugin.installed, …).
	Event     string                 `json:"event"`
	Timestamp string                 `json:"timestamp"`
	Data      map[string]interface{} `json:"data"`
	Signature string                 `json:"signature,omitempty"`
	// Raw is the body exactly as received.
	Raw []byte `json:"-"`
}

// WebhookVerificationError is a webhook request whose signature, timestamp or headers do not
// check out: answer it with 400 or 401. Code is MISSING_SIGNATURE, INVALID_TIMESTAMP,
// TIMESTAMP_OUT_OF_WINDOW, INVALID_SIGNATURE or INVALID_BODY.
type WebhookVerificationError struct {
	Code    string
	Message string
}

// Error gives the code and what did not check out.
func (e *WebhookVerificationError) Error() string {
	return "marketplace: webhook " + e.Code + ": " + e.Message
}

// WebhookVerifier checks webhook requests; the zero Tolerance means DefaultWebhookTolerance.
type WebhookVerifier struct {
	// Secrets are the subscription's secrets (whsec_… or any string); during a rotation give
	// both, any one may match.
	Secrets []string
	// Tolerance is the replay window.
	Tolerance time.Duration
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// VerifyWebhook checks a webhook request from the marketplace with one secret and returns its
// payload; tolerance 0 means DefaultWebhookTolerance. See WebhookVerifier.Verify.
func VerifyWebhook(secret string, header http.Header, body []byte, tolerance time.Duration) (*WebhookEvent, error) {
	return (&WebhookVerifier{Secrets: []string{secret}, Tolerance: tolerance}).Verify(header, body)
}

// Verify checks both schemes the marketplace sends, each one that is present:
//
//   - Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature (v1,<base64 HMAC-SHA256
//     of "{id}.{timestamp}.{body}">, several separated by spaces), within the replay window;
//   - X-Marketplace-Signature-256: sha256=<hex HMAC-SHA256 of the body> (and
//     X-Marketplace-Signature-256-Previous, signed with the previous secret during a rotation).
//
// At least one must be present and each present must match; comparisons are constant time.
// body must be the raw body, exactly as received. Header names are matched case-insensitively.
func (v *WebhookVerifier) Verify(header http.Header, body []byte) (*WebhookEvent, error) {
	keys, err := v.keys()
	if err != nil {
		return nil, err
	}
	get := func(name string) string {
		if value := header.Get(name); value != "" {
			return value
		}
		for key, values := range header { // headers not in canonical form (a map built by hand)
			if strings.EqualFold(key, name) && len(values) > 0 {
				return values[0]
			}
		}
		return ""
	}
	id, timestamp, standard := get("webhook-id"), strings.TrimSpace(get("webhook-timestamp")), get("webhook-signature")
	var legacy []string
	for _, name := range []string{"X-Marketplace-Signature-256", "X-Marketplace-Signature-256-Previous"} {
		if value := get(name); value != "" {
			legacy = append(legacy, value)
		}
	}
	if standard == "" && len(legacy) == 0 {
		return nil, &WebhookVerificationError{"MISSING_SIGNATURE", "no webhook signature headers"}
	}
	if standard != "" || id != "" || timestamp != "" {
		if standard == "" || id == "" || timestamp == "" {
			return nil, &WebhookVerificationError{"MISSING_SIGNATURE", "webhook-id, webhook-timestamp and webhook-signature must all be present"}
		}
		sentAt, err := strconv.ParseInt(timestamp, 10, 64)
		if err != nil {
			return nil, &WebhookVerificationError{"INVALID_TIMESTAMP", "webhook-timestamp is not a number of seconds"}
		}
		now := time.Now()
		if v.Now != nil {
			now = v.Now()
		}
		tolerance := v.Tolerance
		if tolerance <= 0 {
			tolerance = DefaultWebhookTolerance
		}
		skew := now.Sub(time.Unix(sentAt, 0))
		if skew > tolerance || -skew > tolerance {
			return nil, &WebhookVerificationError{"TIMESTAMP_OUT_OF_WINDOW",
				fmt.Sprintf("webhook-timestamp is %s away from now (tolerance %s): a replay or a wrong clock", skew.Round(time.Second), tolerance)}
		}
		signed := append([]byte(id+"."+timestamp+"."), body...)
		if !anyMatch(keys, signed, v1Signatures(standard)) {
			return nil, &WebhookVerificationError{"INVALID_SIGNATURE", "webhook-signature does not match"}
		}
	}
	if len(legacy) > 0 {
		var given [][]byte
		for _, value := range legacy {
			given = append(given, hexSignatures(value)...)
		}
		if !anyMatch(keys, body, given) {
			return nil, &WebhookVerificationError{"INVALID_SIGNATURE", "X-Marketplace-Signature-256 does not match"}
		}
	}
	event := &WebhookEvent{}
	if err := json.Unmarshal(body, event); err != nil || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil, &WebhookVerificationError{"INVALID_BODY", "the body is not a JSON object"}
	}
	event.ID, event.Raw = id, body
	return event, nil
}

func (v *WebhookVerifier) keys() ([][]byte, error) {
	if len(v.Secrets) == 0 {
		return nil, fmt.Errorf("marketplace: no webhook secret given")
	}
	keys := make([][]byte, 0, len(v.Secrets))
	for _, secret := range v.Secrets {
		key, err := WebhookSecretKey(secret)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// WebhookSecretKey is the HMAC key of a secret: the base64-decoded part after whsec_, otherwise
// the secret's bytes.
func WebhookSecretKey(secret string) ([]byte, error) {
	if strings.HasPrefix(secret, WebhookSecretPrefix) {
		key, err := base64.StdEncoding.DecodeString(secret[len(WebhookSecretPrefix):])
		if err != nil {
			return nil, fmt.Errorf("marketplace: a whsec_ secret must continue with valid base64: %w", err)
		}
		return key, nil
	}
	return []byte(secret), nil
}

func anyMatch(keys [][]byte, message []byte, given [][]byte) bool {
	matched := false
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(message)
		expected := mac.Sum(nil)
		for _, signature := range given {
			// Compare every pair so that timing does not reveal which one matched.
			if hmac.Equal(expected, signature) {
				matched = true
			}
		}
	}
	return matched
}

func v1Signatures(value string) [][]byte {
	var found [][]byte
	for _, token := range strings.Fields(value) {
		version, signature, ok := strings.Cut(token, ",")
		if !ok || version != "v1" || signature == "" {
			continue
		}
		if decoded, err := base64.StdEncoding.DecodeString(signature); err == nil {
			found = append(found, decoded)
		}
	}
	return found
}

func hexSignatures(value string) [][]byte {
	var found [][]byte
	for _, token := range strings.Fields(strings.ReplaceAll(value, ",", " ")) {
		if len(token) > 7 && strings.EqualFold(token[:7], "sha256=") {
			token = token[7:]
		}
		if decoded, err := hex.DecodeString(token); err == nil {
			found = append(found, decoded)
		}
	}
	return found
}

type webhookContextKey struct{}

// WebhookFromContext returns the event WebhookMiddleware verified for this request.
func WebhookFromContext(ctx context.Context) (*WebhookEvent, bool) {
	event, ok := ctx.Value(webhookContextKey{}).(*WebhookEvent)
	return event, ok
}

// MaxWebhookBody is the largest webhook body the middleware reads (larger ones get 413).
const MaxWebhookBody = 5 << 20

// Middleware verifies each request before next sees it: a request that does not verify is
// answered 401 (400 for a body that is not JSON, 413 beyond MaxWebhookBody) and never reaches
// next. next finds the event with WebhookFromContext, and the raw body again in r.Body.
func (v *WebhookVerifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
		if err != nil {
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		if len(body) > MaxWebhookBody {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		event, err := v.Verify(r.Header, body)
		if err != nil {
			status := http.StatusUnauthorized
			if e, ok := err.(*WebhookVerificationError); ok && e.Code == "INVALID_BODY" {
				status = http.StatusBadRequest
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), webhookContextKey{}, event)))
	})
}

// WebhookMiddleware is (&WebhookVerifier{Secrets: secrets, Tolerance: tolerance}).Middleware(next).
func WebhookMiddleware(next http.Handler, tolerance time.Duration, secrets ...string) http.Handler {
	return (&WebhookVerifier{Secrets: secrets, Tolerance: tolerance}).Middleware(next)
}
