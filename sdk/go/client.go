package marketplace

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mathrand "math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SDKVersion is the SDK's version, sent in the User-Agent.
const SDKVersion = "0.1.0"

// APIPrefix is the path of the API under the portal root.
const APIPrefix = "/api/marketplace/v1"

// DefaultBaseURL is used when neither WithBaseURL nor $MARKETPLACE_URL gives one.
const DefaultBaseURL = "http://127.0.0.1:8080"

// Client talks to the Plugin Marketplace API. It is safe for concurrent use.
type Client struct {
	httpClient   *http.Client
	baseURL      string // portal root + APIPrefix, no trailing slash
	baseErr      error
	credential   string
	userAgent    string
	timeout      time.Duration
	maxRetries   int
	backoff      time.Duration
	maxRetryWait time.Duration
	sleep        func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	rate Rate

	// Plugins discovers, downloads and installs plugins.
	Plugins *PluginsService
	// Installations follows and manages installations.
	Installations *InstallationsService
	// Reviews reads, writes and moderates reviews.
	Reviews *ReviewsService
	// Webhooks manages webhook subscriptions and their deliveries.
	Webhooks *WebhooksService
	// Publisher publishes and manages plugins (publisher or admin keys).
	Publisher *PublisherService
	// Me is the caller's account and API keys.
	Me *MeService
	// Accounts administers accounts (admin keys).
	Accounts *AccountsService
	// Environments lists and manages the environments plugins are installed into.
	Environments *EnvironmentsService
}

// Option configures a Client (see NewClient).
type Option func(*Client)

// WithAPIKey authenticates with an API key (mkp_…), sent as "Authorization: Bearer".
func WithAPIKey(key string) Option { return func(c *Client) { c.credential = key } }

// WithToken authenticates with a bearer token from your identity provider instead of an API key.
func WithToken(token string) Option { return func(c *Client) { c.credential = token } }

// WithBaseURL sets the portal root (https://your-portal.com); the client adds /api/marketplace/v1
// (a URL that already ends with it is accepted too).
func WithBaseURL(base string) Option {
	return func(c *Client) { c.baseURL, c.baseErr = normalizeBaseURL(base) }
}

// WithHTTPClient sends requests with the given client (proxies, TLS, transports). Its Timeout is
// kept unless WithTimeout is given too.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithTimeout bounds each attempt of a request (connecting, sending, reading the whole answer).
// The default is 30 seconds; 0 means no limit beyond the context's.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetries sets how many times a request is retried (default 3; 0 disables retries).
func WithRetries(n int) Option {
	return func(c *Client) {
		if n < 0 {
			n = 0
		}
		c.maxRetries = n
	}
}

// WithUserAgent replaces the User-Agent (default "backstage-marketplace-go/<SDKVersion>").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithBackoff sets the first delay of the exponential backoff (default 500 ms, doubled per
// attempt, with up to 25% jitter) used when the server sends no Retry-After.
func WithBackoff(d time.Duration) Option { return func(c *Client) { c.backoff = d } }

// WithMaxRetryWait sets the longest single wait before a retry (default 60 s). When the server
// asks for more (Retry-After), the client does not wait and returns the error at once.
func WithMaxRetryWait(d time.Duration) Option { return func(c *Client) { c.maxRetryWait = d } }

// NewClient returns a client configured by the options. Without WithBaseURL it uses
// $MARKETPLACE_URL, else DefaultBaseURL; without WithAPIKey or WithToken it is anonymous (reads only).
// A malformed base URL is reported by the first request.
func NewClient(opts ...Option) *Client {
	c := &Client{
		httpClient:   &http.Client{},
		userAgent:    "backstage-marketplace-go/" + SDKVersion,
		timeout:      30 * time.Second,
		maxRetries:   3,
		backoff:      500 * time.Millisecond,
		maxRetryWait: 60 * time.Second,
		sleep:        sleepContext,
	}
	base := os.Getenv("MARKETPLACE_URL")
	if base == "" {
		base = DefaultBaseURL
	}
	c.baseURL, c.baseErr = normalizeBaseURL(base)
	for _, opt := range opts {
		opt(c)
	}
	c.Plugins = &PluginsService{c}
	c.Installations = &InstallationsService{c}
	c.Reviews = &ReviewsService{c}
	c.Webhooks = &WebhooksService{c}
	c.Publisher = &PublisherService{c}
	c.Me = &MeService{c}
	c.Accounts = &AccountsService{c}
	c.Environments = &EnvironmentsService{c}
	return c
}

// BaseURL is the API root the client sends to (the portal root plus /api/marketplace/v1).
func (c *Client) BaseURL() string { return c.baseURL }

// Rate is the quota reported by the most recent response (zero before the first one).
func (c *Client) Rate() Rate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

func normalizeBaseURL(base string) (string, error) {
	trimmed := strings.TrimRight(strings.TrimSpace(base), "/")
	parsed, err := url.Parse(trimmed)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return "", fmt.Errorf("marketplace: base URL must be http:// or https://, not %q", base)
	}
	if !strings.HasSuffix(trimmed, APIPrefix) {
		trimmed += APIPrefix
	}
	return trimmed, nil
}

// Rate is the quota of the caller: the X-RateLimit-* headers of a response.
type Rate struct {
	// Limit is the number of requests allowed in the window.
	Limit int
	// Remaining is the number of requests left in the window.
	Remaining int
	// Reset is when the window starts again.
	Reset time.Time
}

// Response is the metadata of one API response; every value the SDK returns embeds it.
type Response struct {
	// HTTPResponse is the response (its body has been read and closed, except for Download's).
	HTTPResponse *http.Response
	// Rate is the quota the response reported.
	Rate Rate
	// RequestID is the X-Request-Id to quote when asking for support.
	RequestID string
}

// StatusCode is the HTTP status of the response.
func (r *Response) StatusCode() int {
	if r == nil || r.HTTPResponse == nil {
		return 0
	}
	return r.HTTPResponse.StatusCode
}

func newResponse(resp *http.Response) *Response {
	return &Response{HTTPResponse: resp, Rate: parseRate(resp.Header), RequestID: resp.Header.Get("X-Request-Id")}
}

func parseRate(h http.Header) Rate {
	var r Rate
	r.Limit, _ = strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit")))
	r.Remaining, _ = strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	r.Reset = parseReset(h.Get("X-RateLimit-Reset"), time.Now())
	return r
}

// parseReset reads X-RateLimit-Reset: ISO 8601 (the spec), epoch seconds, or seconds from now.
func parseReset(value string, now time.Time) time.Time {
	value = strings.TrimSpace(value)
	if value == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseFloat(value, 64); err == nil {
		if n > 1e9 {
			return time.Unix(0, int64(n*1e9)).UTC()
		}
		return now.Add(time.Duration(n * float64(time.Second))).UTC()
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", time.RFC1123} {
		if t, err := time.Parse(layout, value); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// parseRetryAfter reads Retry-After: delta seconds or an HTTP date; ok is false when absent or unreadable.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(value, 64); err == nil {
		if n < 0 || math.IsNaN(n) {
			n = 0
		}
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(value); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// request is one API call as the services describe it.
type request struct {
	method      string
	path        string // under the API prefix, already escaped
	query       url.Values
	body        interface{} // JSON-encoded when not nil
	rawBody     []byte      // sent as is (multipart), with contentType
	streamBody  func() (io.Reader, string, error)
	contentType string
	header      http.Header
	idempotent  bool // safe to re-send although the method is POST (a read such as search)
	stream      bool // keep the body open for the caller (downloads)
}

func (r *request) replaySafe() bool {
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.idempotent || r.header.Get("Idempotency-Key") != ""
}

var retryStatuses = map[int]bool{429: true, 502: true, 503: true, 504: true}

// do sends a request with retries and decodes the JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, req *request, out interface{}) (*Response, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if req.header == nil {
		req.header = http.Header{}
	}
	target := c.baseURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var payload []byte
	contentType := req.contentType
	if req.body != nil {
		encoded, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("marketplace: encoding the request body: %w", err)
		}
		payload, contentType = encoded, "application/json"
	} else if req.rawBody != nil {
		payload = req.rawBody
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, req, target, payload, contentType)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A connection that was never made sent nothing: safe to try again whatever the method.
			if attempt < c.maxRetries && (req.replaySafe() || dialFailed(err)) && req.streamBody == nil {
				if serr := c.sleep(ctx, c.backoffDelay(attempt)); serr != nil {
					return nil, serr
				}
				continue
			}
			return nil, &ConnectionError{Method: req.method, URL: target, Err: err}
		}
		meta := newResponse(resp)
		c.mu.Lock()
		if meta.Rate.Limit != 0 || !meta.Rate.Reset.IsZero() {
			c.rate = meta.Rate
		}
		c.mu.Unlock()
		if retryStatuses[resp.StatusCode] && attempt < c.maxRetries && req.replaySafe() && req.streamBody == nil {
			if delay, ok := c.retryDelay(resp, attempt); ok {
				drain(resp)
				if serr := c.sleep(ctx, delay); serr != nil {
					return nil, serr
				}
				continue
			}
		}
		if resp.StatusCode >= 400 {
			defer resp.Body.Close()
			return meta, errorFromResponse(resp, meta)
		}
		if req.stream {
			return meta, nil
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			if ctx.Err() != nil {
				return meta, ctx.Err()
			}
			return meta, &ConnectionError{Method: req.method, URL: target, Err: err}
		}
		if out != nil && len(bytes.TrimSpace(data)) > 0 && resp.StatusCode != http.StatusNoContent {
			if err := json.Unmarshal(data, out); err != nil {
				return meta, &ErrorResponse{Response: resp, StatusCode: resp.StatusCode, Code: "INVALID_RESPONSE",
					Message: fmt.Sprintf("expected JSON from %s: %v", target, err), RequestID: meta.RequestID}
			}
		}
		return meta, nil
	}
}

func (c *Client) send(ctx context.Context, req *request, target string, payload []byte, contentType string) (*http.Response, error) {
	attemptCtx, cancel := ctx, context.CancelFunc(func() {})
	if c.timeout > 0 {
		attemptCtx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	var body io.Reader
	if req.streamBody != nil {
		reader, ct, err := req.streamBody()
		if err != nil {
			cancel()
			return nil, err
		}
		body, contentType = reader, ct
	} else if payload != nil {
		body = bytes.NewReader(payload)
	}
	httpReq, err := http.NewRequestWithContext(attemptCtx, req.method, target, body)
	if err != nil {
		cancel()
		return nil, err
	}
	for key, values := range req.header {
		httpReq.Header[key] = values
	}
	if httpReq.Header.Get("Accept") == "" {
		httpReq.Header.Set("Accept", "application/json")
	}
	httpReq.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	if c.credential != "" {
		httpReq.Header.Set("Authorization", "Bearer "+c.credential)
	}
	resp, err := c.httpClient.Do(httpReq)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody releases the attempt's timeout once the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// dialFailed reports an error from connecting, before any byte of the request was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
}

func (c *Client) backoffDelay(attempt int) time.Duration {
	delay := float64(c.backoff) * math.Pow(2, float64(attempt))
	delay *= 1 + 0.25*mathrand.Float64() // jitter
	if max := float64(c.maxRetryWait); delay > max {
		delay = max
	}
	return time.Duration(delay)
}

// retryDelay is how long to wait before retrying; ok is false when the server asks for more than maxRetryWait.
func (c *Client) retryDelay(resp *http.Response, attempt int) (time.Duration, bool) {
	now := time.Now()
	asked, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	if !ok && resp.StatusCode == http.StatusTooManyRequests {
		if reset := parseReset(resp.Header.Get("X-RateLimit-Reset"), now); !reset.IsZero() {
			asked, ok = reset.Sub(now), true
			if asked < 0 {
				asked = 0
			}
		}
	}
	if !ok {
		return c.backoffDelay(attempt), true
	}
	if asked > c.maxRetryWait {
		return 0, false
	}
	return asked, true
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// newIdempotencyKey is a random key for requests that must be safe to retry.
func newIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return "go-" + hex.EncodeToString(b[:])
}

// ConnectionError is returned when the server could not be reached or did not answer (no HTTP status).
type ConnectionError struct {
	Method, URL string
	Err         error
}

// Error describes the request and the transport's error.
func (e *ConnectionError) Error() string {
	return fmt.Sprintf("marketplace: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the transport's error (a *url.Error, a timeout, …).
func (e *ConnectionError) Unwrap() error { return e.Err }

var errNoVersion = errors.New("marketplace: the plugin has no installable version")
