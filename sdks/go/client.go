package pulsekit

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends events to one PulseKit server. Init installs one as the default client that the
// package-level functions use; NewClient makes independent ones. Every method is safe for
// concurrent use, and a nil *Client does nothing (captures return "").
type Client struct {
	opts     Options
	worker   *worker
	global   atomic.Pointer[globalScope]
	globalMu sync.Mutex // serialises writers of global
}

// NewClient validates the options and starts a client; the error is a *ConfigError naming the option.
func NewClient(options Options) (*Client, error) {
	o, err := options.resolve()
	if err != nil {
		return nil, err
	}
	transport := o.Transport
	if transport == nil {
		t := NewHTTPTransport(o.Endpoint, o.APIKey, o.Timeout)
		if o.HTTPClient != nil {
			t.Client = o.HTTPClient
		}
		transport = t
	}
	c := &Client{opts: o, worker: newWorker(transport, o)}
	c.global.Store(&globalScope{tags: o.Tags})
	return c, nil
}

// Options returns the client's options with their defaults filled in.
func (c *Client) Options() Options { return c.opts }

// Capture queues a custom event and returns its id, or "" when it was dropped (see Dropped).
func (c *Client) Capture(event Event) string { return c.CaptureContext(context.Background(), event) }

// CaptureContext is Capture with the tags, user and extra data of ctx's scope.
func (c *Client) CaptureContext(ctx context.Context, event Event) string {
	if c == nil {
		return ""
	}
	return c.capture(ctx, &event)
}

// CaptureMessage queues a message at level ("" means Info).
func (c *Client) CaptureMessage(message string, level Level) string {
	return c.CaptureMessageContext(context.Background(), message, level)
}

// CaptureMessageContext is CaptureMessage with the data of ctx's scope.
func (c *Client) CaptureMessageContext(ctx context.Context, message string, level Level) string {
	if c == nil {
		return ""
	}
	return c.capture(ctx, &Event{Message: message, Level: level})
}

// CaptureException queues err as an error event: its Go type name, message and wrapped errors,
// and the stack where it was made (when it recorded one) or else where CaptureException was called.
func (c *Client) CaptureException(err error) string {
	return c.CaptureExceptionContext(context.Background(), err)
}

// CaptureExceptionContext is CaptureException with the data of ctx's scope.
func (c *Client) CaptureExceptionContext(ctx context.Context, err error) string {
	if c == nil || err == nil {
		return ""
	}
	return c.capture(ctx, c.errorEvent(err, Error, nil))
}

// errorEvent describes err; stack is used when err recorded none (nil: the caller's stack).
func (c *Client) errorEvent(err error, level Level, stack *Stacktrace) *Event {
	exc := exceptionFromError(err)
	if exc.Stacktrace == nil {
		exc.Stacktrace = stack
	}
	if exc.Stacktrace == nil {
		exc.Stacktrace = currentStack()
	}
	return &Event{Level: level, Message: exc.Value, Exception: exc, Stacktrace: exc.Stacktrace}
}

// capture completes the event, applies sampling and BeforeSend, encodes it and queues it.
func (c *Client) capture(ctx context.Context, e *Event) (id string) {
	defer func() {
		if v := recover(); v != nil {
			c.opts.Logger.Error("pulsekit: could not capture an event", "panic", fmt.Sprint(v))
			id = ""
		}
	}()
	if c.opts.SampleRate < 1 && rand.Float64() >= c.opts.SampleRate {
		c.worker.count(DropSampleRate, 1)
		return ""
	}
	g := c.global.Load()
	ScopeFromContext(ctx).apply(e, g.tags, g.extra, g.user)
	if e.Environment == "" {
		e.Environment = c.opts.Environment
	}
	if e.Release == "" {
		e.Release = c.opts.Release
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now()
	}
	if e.ID == "" {
		e.ID = newUUID()
	}
	if c.opts.BeforeSend != nil {
		if e = c.beforeSend(e); e == nil {
			return ""
		}
	}
	raw, err := encodeEvent(e, c.logProblem)
	if err != nil {
		c.opts.Logger.Error("pulsekit: could not encode an event; it was dropped", "error", err)
		c.worker.count(DropEncodeError, 1)
		return ""
	}
	if !c.worker.submit(raw) {
		return ""
	}
	return e.ID
}

func (c *Client) beforeSend(e *Event) (edited *Event) {
	defer func() {
		if v := recover(); v != nil {
			// Sending the event unscrubbed could leak what BeforeSend was meant to remove.
			c.opts.Logger.Error("pulsekit: BeforeSend panicked; the event was dropped", "panic", fmt.Sprint(v))
			c.worker.count(DropBeforeSendPanic, 1)
			edited = nil
		}
	}()
	if edited = c.opts.BeforeSend(e); edited == nil {
		c.worker.count(DropBeforeSend, 1)
	}
	return edited
}

func (c *Client) logProblem(msg string, args ...any) {
	c.opts.Logger.Warn("pulsekit: "+msg, args...)
}

// Flush waits up to timeout for the queued events to be sent. It returns false when the timeout
// ran out, or when an event was dropped (other than by SampleRate or BeforeSend) since the
// previous Flush. Do not call it from a Transport.
func (c *Client) Flush(timeout time.Duration) bool {
	if c == nil {
		return true
	}
	return c.worker.flush(timeout)
}

// Close flushes for up to Options.ShutdownTimeout, then stops the client; what is still queued
// is dropped and counted, and later captures are dropped. Calling it again does nothing.
func (c *Client) Close() {
	if c != nil {
		c.worker.close(c.opts.ShutdownTimeout)
	}
}

// Dropped returns how many events were dropped so far, by reason (the Drop… constants).
func (c *Client) Dropped() map[string]uint64 {
	if c == nil {
		return map[string]uint64{}
	}
	return c.worker.dropped()
}

// SetTag sets a global tag of this client; an empty value removes it.
func (c *Client) SetTag(key, value string) {
	c.SetTags(map[string]string{key: value})
}

// SetTags sets several global tags; empty values remove tags.
func (c *Client) SetTags(tags map[string]string) {
	c.updateGlobal(func(g *globalScope) {
		g.tags = maps.Clone(g.tags)
		if g.tags == nil {
			g.tags = map[string]string{}
		}
		for k, v := range tags {
			if v == "" {
				delete(g.tags, k)
			} else {
				g.tags[k] = v
			}
		}
		g.tags = cleanTags(g.tags)
	})
}

// SetUser sets the global user; the zero User forgets it.
func (c *Client) SetUser(user User) {
	c.updateGlobal(func(g *globalScope) {
		g.user = nil
		if user != (User{}) {
			g.user = &user
		}
	})
}

// SetExtra adds key: value to the metadata of every event; a nil value removes it.
func (c *Client) SetExtra(key string, value any) {
	c.updateGlobal(func(g *globalScope) {
		g.extra = maps.Clone(g.extra)
		if g.extra == nil {
			g.extra = map[string]any{}
		}
		if value == nil {
			delete(g.extra, key)
		} else {
			g.extra[key] = value
		}
	})
}

// updateGlobal publishes a changed copy: captures read the global scope without a lock and never
// see half a change.
func (c *Client) updateGlobal(change func(*globalScope)) {
	if c == nil {
		return
	}
	c.globalMu.Lock()
	defer c.globalMu.Unlock()
	updated := *c.global.Load()
	change(&updated)
	c.global.Store(&updated)
}
