package pulsekit

import (
	"context"
	"time"
)

// SetRetryHooks replaces the client's retry wait (sleep records the delay and returns at once)
// and its jitter source, so tests see the exact delays without waiting for them.
func SetRetryHooks(c *Client, sleep func(time.Duration), jitter func() float64) {
	c.worker.mu.Lock()
	defer c.worker.mu.Unlock()
	c.worker.sleep = func(ctx context.Context, d time.Duration) bool {
		sleep(d)
		return ctx.Err() == nil
	}
	if jitter != nil {
		c.worker.jitter = jitter
	}
}
