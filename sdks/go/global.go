package pulsekit

import (
	"context"
	"sync/atomic"
	"time"
)

// current is the client Init installed; the package-level functions use it.
var current atomic.Pointer[Client]

// Init validates the options and installs a new default client (closing the previous one, after
// flushing it). The error is a *ConfigError naming the option; nothing else in the SDK fails.
func Init(options Options) error {
	c, err := NewClient(options)
	if err != nil {
		return err
	}
	if previous := current.Swap(c); previous != nil {
		previous.Close()
	}
	return nil
}

// CurrentClient returns the client Init installed, or nil before Init and after Close.
func CurrentClient() *Client { return current.Load() }

// Capture queues a custom event with the default client; see Client.Capture.
func Capture(event Event) string { return current.Load().Capture(event) }

// CaptureContext queues a custom event with the data of ctx's scope.
func CaptureContext(ctx context.Context, event Event) string {
	return current.Load().CaptureContext(ctx, event)
}

// CaptureMessage queues a message at level ("" means Info).
func CaptureMessage(message string, level Level) string {
	return current.Load().CaptureMessage(message, level)
}

// CaptureMessageContext queues a message with the data of ctx's scope.
func CaptureMessageContext(ctx context.Context, message string, level Level) string {
	return current.Load().CaptureMessageContext(ctx, message, level)
}

// CaptureException queues err as an error event; see Client.CaptureException.
func CaptureException(err error) string { return current.Load().CaptureException(err) }

// CaptureExceptionContext queues err with the data of ctx's scope.
func CaptureExceptionContext(ctx context.Context, err error) string {
	return current.Load().CaptureExceptionContext(ctx, err)
}

// Flush waits up to timeout for the default client's queue; see Client.Flush. True before Init.
func Flush(timeout time.Duration) bool { return current.Load().Flush(timeout) }

// Close flushes (up to Options.ShutdownTimeout) and removes the default client.
func Close() {
	if c := current.Swap(nil); c != nil {
		c.Close()
	}
}

// Dropped returns the default client's drop counts by reason.
func Dropped() map[string]uint64 { return current.Load().Dropped() }

// SetTag sets a global tag on the default client; an empty value removes it.
func SetTag(key, value string) { current.Load().SetTag(key, value) }

// SetTags sets several global tags on the default client.
func SetTags(tags map[string]string) { current.Load().SetTags(tags) }

// SetUser sets the default client's global user; the zero User forgets it.
func SetUser(user User) { current.Load().SetUser(user) }

// SetExtra adds key: value to the metadata of every event of the default client; nil removes it.
func SetExtra(key string, value any) { current.Load().SetExtra(key, value) }
