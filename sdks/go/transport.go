package pulsekit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	batchPath          = "/api/v1/events/batch"
	maxBodyBytes       = 4_500_000 // the server accepts 5,000,000 decompressed bytes; keep a margin
	maxRetryAfter      = 60 * time.Second
	maxErrorBodyBytes  = 64 * 1024
	transportUserAgent = "pulsekit-go/" + Version
)

// Transport delivers batches of events. Send is called from the client's worker goroutine only,
// with each event's wire JSON, and tells the worker what to do next through its error:
//   - nil: delivered;
//   - *RetryableError (or any error other than *RejectedError): send the same batch again later;
//   - *RejectedError: the batch can never be delivered; it is dropped and counted.
//
// ctx is cancelled when the client closes.
type Transport interface {
	Send(ctx context.Context, events []json.RawMessage) error
}

// RetryableError asks for the same batch (same ids) to be sent again, after RetryAfter when the
// server said how long to wait (429 and 503), else after the client's backoff.
type RetryableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *RetryableError) Error() string { return "pulsekit: retry later: " + e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// RejectedError says the server refused the batch: sending it again cannot help. A 401 or 403
// (a wrong or revoked key) also stops the client from sending anything more.
type RejectedError struct {
	StatusCode int
	Code       string // the protocol's error code, e.g. "invalid_field"
	Message    string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("pulsekit: the server refused the batch (%d %s): %s", e.StatusCode, e.Code, e.Message)
}

// HTTPTransport POSTs gzip-compressed JSON batches to {Endpoint}/api/v1/events/batch.
type HTTPTransport struct {
	Endpoint string
	APIKey   string
	Client   *http.Client
}

// NewHTTPTransport returns the default transport: keep-alive connections, proxies from the
// environment, redirects not followed, timeout per request.
func NewHTTPTransport(endpoint, apiKey string, timeout time.Duration) *HTTPTransport {
	base := http.DefaultTransport.(*http.Transport).Clone() // ProxyFromEnvironment, keep-alive
	base.MaxIdleConnsPerHost = 4
	client := &http.Client{
		Transport: base,
		Timeout:   timeout,
		// A redirect would resend the key to another place; the endpoint must be the server's.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &HTTPTransport{Endpoint: strings.TrimRight(endpoint, "/"), APIKey: apiKey, Client: client}
}

// Send posts the events in bodies of at most 4.5 MB. Retrying after a later body failed re-sends
// the earlier ones too; the server ignores ids it already stored, so that costs bandwidth only.
func (t *HTTPTransport) Send(ctx context.Context, events []json.RawMessage) error {
	for len(events) > 0 {
		n, size := 0, len(`{"events":[]}`)
		for n < len(events) && (n == 0 || size+len(events[n])+1 <= maxBodyBytes) {
			size += len(events[n]) + 1
			n++
		}
		if err := t.post(ctx, encodeBody(events[:n])); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// encodeBody returns {"events":[…]} gzip-compressed.
func encodeBody(events []json.RawMessage) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level never fails
	_, _ = zw.Write([]byte(`{"events":[`))
	for i, e := range events {
		if i > 0 {
			_, _ = zw.Write([]byte{','})
		}
		_, _ = zw.Write(e)
	}
	_, _ = zw.Write([]byte(`]}`))
	_ = zw.Close() // writing to a bytes.Buffer cannot fail
	return buf.Bytes()
}

func (t *HTTPTransport) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint+batchPath, bytes.NewReader(body))
	if err != nil {
		return &RejectedError{Code: "bad_request", Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("X-PulseKit-Key", t.APIKey)
	req.Header.Set("User-Agent", transportUserAgent)
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return &RetryableError{Err: fmt.Errorf("network error: %w", err)}
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drained, the connection is reused
	_ = resp.Body.Close()
	switch status := resp.StatusCode; {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		delay := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return &RetryableError{RetryAfter: delay, Err: fmt.Errorf("server busy (%d)", status)}
	case status >= 500:
		return &RetryableError{Err: fmt.Errorf("server error (%d)", status)}
	default:
		code, message := errorOf(answer)
		return &RejectedError{StatusCode: status, Code: code, Message: message}
	}
}

// ParseRetryAfter reads a Retry-After header (seconds or an HTTP date) as a delay from now,
// capped at 60 s; 0 when the header is absent or unreadable.
func ParseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	var delay time.Duration
	if seconds, err := strconv.ParseFloat(value, 64); err == nil {
		if seconds != seconds || seconds <= 0 { // NaN or not in the future
			return 0
		}
		delay = time.Duration(min(seconds, maxRetryAfter.Seconds()) * float64(time.Second))
	} else if when, err := http.ParseTime(value); err == nil {
		delay = when.Sub(now)
	} else {
		return 0
	}
	return min(max(delay, 0), maxRetryAfter)
}

// errorOf returns the protocol error body's code and message, or what there is of the body.
func errorOf(answer []byte) (code, message string) {
	var body struct {
		Error struct {
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Field   *string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(answer, &body); err != nil || body.Error.Code == "" {
		return "", truncate(string(answer), 500)
	}
	message = body.Error.Message
	if body.Error.Field != nil {
		message += " (field " + *body.Error.Field + ")"
	}
	return body.Error.Code, message
}

// isUnauthorized reports a refusal of the key itself: nothing this client sends can succeed.
func isUnauthorized(err error) bool {
	var rejected *RejectedError
	return errors.As(err, &rejected) && (rejected.StatusCode == 401 || rejected.StatusCode == 403)
}
