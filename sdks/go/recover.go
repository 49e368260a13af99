package pulsekit

import (
	"context"
	"fmt"
	"net/http"
)

// Recover, deferred, reports a panic of its goroutine with the panicking stack, flushes, and
// then panics again with the same value unless Options.RepanicAfterRecover is Bool(false):
//
//	defer pulsekit.Recover()
//
// It must be deferred directly (not called from another deferred function), as recover requires.
// Before Init it only re-panics.
func Recover() {
	if v := recover(); v != nil {
		current.Load().handlePanic(context.Background(), v)
	}
}

// RecoverContext is Recover with the data of ctx's scope.
func RecoverContext(ctx context.Context) {
	if v := recover(); v != nil {
		current.Load().handlePanic(ctx, v)
	}
}

// Go runs fn in a new goroutine that reports a panic like Recover does.
func Go(fn func()) {
	go func() {
		defer Recover()
		fn()
	}()
}

// GoContext runs fn(ctx) in a new goroutine that reports a panic with the data of ctx's scope.
func GoContext(ctx context.Context, fn func(context.Context)) {
	go func() {
		defer RecoverContext(ctx)
		fn(ctx)
	}()
}

// Recover is the package-level Recover for this client.
func (c *Client) Recover() {
	if v := recover(); v != nil {
		c.handlePanic(context.Background(), v)
	}
}

// RecoverContext is the package-level RecoverContext for this client.
func (c *Client) RecoverContext(ctx context.Context) {
	if v := recover(); v != nil {
		c.handlePanic(ctx, v)
	}
}

// Go is the package-level Go for this client.
func (c *Client) Go(fn func()) {
	go func() {
		defer c.Recover()
		fn()
	}()
}

func (c *Client) handlePanic(ctx context.Context, v any) {
	repanic := c == nil || c.opts.RepanicAfterRecover == nil || *c.opts.RepanicAfterRecover
	if c != nil {
		level := Error
		if repanic {
			level = Fatal // the panic goes on and usually ends the program
		}
		c.capturePanic(ctx, v, level)
		c.Flush(c.opts.ShutdownTimeout)
	}
	if repanic {
		panic(v)
	}
}

// capturePanic reports a recovered value with the stack of the goroutine that panicked; it must
// run in that goroutine's deferred call, while the panicking frames are still on the stack.
func (c *Client) capturePanic(ctx context.Context, v any, level Level) string {
	if c == nil {
		return "" // Middleware before Init: it still answers 500
	}
	stack := currentStack()
	if err, ok := v.(error); ok {
		return c.capture(ctx, c.errorEvent(err, level, stack))
	}
	value := safeString(func() string { return fmt.Sprint(v) })
	exc := &Exception{Type: "panic", Value: value}
	return c.capture(ctx, &Event{Level: level, Message: value, Exception: exc, Stacktrace: stack})
}

// Middleware gives each request its own scope (in r.Context(), see ScopeFromContext), reports a
// panic of next with the request's method, URL and selected headers, and answers 500 (when
// nothing was written yet). It uses the default client of the time of each request.
func Middleware(next http.Handler) http.Handler { return middleware(CurrentClient, next) }

// Middleware is the package-level Middleware for this client.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return middleware(func() *Client { return c }, next)
}

// reportedHeaders are the request headers an event carries: useful, and never credentials.
var reportedHeaders = []string{"User-Agent", "Referer", "Content-Type", "Content-Length", "Accept", "X-Request-Id", "X-Forwarded-For"}

func middleware(client func() *Client, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := WithScope(r.Context())
		scope.request = r
		r = r.WithContext(ctx)
		rw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way to abort a response silently
			}
			client().capturePanic(ctx, v, Error)
			if !rw.wroteHeader {
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// requestMetadata is the "request" entry of an event captured during a request.
func requestMetadata(r *http.Request) map[string]any {
	headers := map[string]any{}
	for _, name := range reportedHeaders {
		if value := r.Header.Get(name); value != "" {
			headers[name] = value
		}
	}
	u := *r.URL
	u.User = nil
	if u.Host == "" {
		u.Host = r.Host
	}
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
	}
	return map[string]any{"method": r.Method, "url": u.String(), "headers": headers}
}

// trackingWriter records whether the handler started its response.
type trackingWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

func (w *trackingWriter) WriteHeader(status int) {
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming handlers working; Unwrap lets http.ResponseController reach the rest.
func (w *trackingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wroteHeader = true
		f.Flush()
	}
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
