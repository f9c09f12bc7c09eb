package marketplace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrorResponse is an error answer of the API: the spec's envelope
// {"error": {"code", "message", "details"}, "timestamp", "requestId"} and its HTTP status.
// Match it with errors.As, or with IsNotFound and the other helpers.
type ErrorResponse struct {
	// Response is the HTTP response (its body has been read and closed).
	Response *http.Response
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the envelope's error code (PLUGIN_NOT_FOUND, VALIDATION_ERROR, …); empty when the
	// answer was not the envelope (a proxy's page).
	Code string
	// Message is the envelope's message, or the status text and the start of the body.
	Message string
	// Details is the envelope's details (for VALIDATION_ERROR, "fields" names each bad field).
	Details map[string]interface{}
	// RequestID is the request id to quote when asking for support.
	RequestID string
	// Timestamp is the envelope's timestamp.
	Timestamp string
}

// Error gives the code, the message, the status and the request id.
func (e *ErrorResponse) Error() string {
	code := e.Code
	if code == "" {
		code = "HTTP_" + fmt.Sprint(e.StatusCode)
	}
	text := fmt.Sprintf("marketplace: %s: %s (HTTP %d", code, e.Message, e.StatusCode)
	if e.RequestID != "" {
		text += ", request " + e.RequestID
	}
	return text + ")"
}

// Fields are the invalid fields of a validation error and their messages (empty when none are named).
func (e *ErrorResponse) Fields() map[string]interface{} {
	if fields, ok := e.Details["fields"].(map[string]interface{}); ok {
		return fields
	}
	return map[string]interface{}{}
}

// RateLimitError is a 429 RATE_LIMITED answer, returned once the retries are used up or when the
// server asks to wait longer than WithMaxRetryWait allows. errors.As also matches it as an *ErrorResponse.
type RateLimitError struct {
	*ErrorResponse
	// RetryAfter is how long the server asked to wait (Retry-After).
	RetryAfter time.Duration
	// Rate is the quota: Limit, Remaining (0) and Reset, when the window starts again.
	Rate Rate
}

// Error is the envelope's text and the wait the server asked for.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.ErrorResponse.Error(), e.RetryAfter)
}

// Unwrap gives errors.As the *ErrorResponse.
func (e *RateLimitError) Unwrap() error { return e.ErrorResponse }

func errorFromResponse(resp *http.Response, meta *Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &ErrorResponse{Response: resp, StatusCode: resp.StatusCode, RequestID: meta.RequestID, Details: map[string]interface{}{}}
	var envelope struct {
		Error *struct {
			Code    string                 `json:"code"`
			Message string                 `json:"message"`
			Details map[string]interface{} `json:"details"`
		} `json:"error"`
		Timestamp string `json:"timestamp"`
		RequestID string `json:"requestId"`
	}
	if json.Unmarshal(data, &envelope) == nil && envelope.Error != nil {
		e.Code, e.Message, e.Timestamp = envelope.Error.Code, envelope.Error.Message, envelope.Timestamp
		if envelope.Error.Details != nil {
			e.Details = envelope.Error.Details
		}
		if envelope.RequestID != "" {
			e.RequestID = envelope.RequestID
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(resp.Status)
		if text := strings.TrimSpace(string(data)); text != "" && envelope.Error == nil {
			if len(text) > 200 {
				text = text[:200]
			}
			e.Message += ": " + text
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || e.Code == "RATE_LIMITED" {
		wait, _ := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return &RateLimitError{ErrorResponse: e, RetryAfter: wait, Rate: meta.Rate}
	}
	return e
}

// AsErrorResponse returns the *ErrorResponse in err's chain, or nil.
func AsErrorResponse(err error) *ErrorResponse {
	var e *ErrorResponse
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func hasStatus(err error, status int) bool {
	e := AsErrorResponse(err)
	return e != nil && e.StatusCode == status
}

// IsNotFound reports a 404 (PLUGIN_NOT_FOUND, INSTALLATION_NOT_FOUND, NOT_FOUND, …).
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports a 401: no credentials, or a key that is unknown, revoked or expired.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports a 403: authenticated, but the role or ownership does not allow it.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsConflict reports a 409: a duplicate, already installed, already finished, …
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsValidation reports a 400/422 VALIDATION_ERROR (see ErrorResponse.Fields).
func IsValidation(err error) bool {
	e := AsErrorResponse(err)
	return e != nil && (e.Code == "VALIDATION_ERROR" || e.StatusCode == 400 || e.StatusCode == 422)
}

// IsRateLimited reports a 429 (a *RateLimitError).
func IsRateLimited(err error) bool {
	var e *RateLimitError
	return errors.As(err, &e)
}

// IsServerError reports a 5xx answer.
func IsServerError(err error) bool {
	e := AsErrorResponse(err)
	return e != nil && e.StatusCode >= 500
}

// HasCode reports an API error with the given envelope code.
func HasCode(err error, code string) bool {
	e := AsErrorResponse(err)
	return e != nil && e.Code == code
}
