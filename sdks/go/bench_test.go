package pulsekit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

// discard is a transport that accepts every batch at once: the benchmarks of Capture measure
// the caller's goroutine, not the network.
type discard struct{}

func (discard) Send(context.Context, []json.RawMessage) error { return nil }

func benchClient(b *testing.B, options pulsekit.Options) *pulsekit.Client {
	b.Helper()
	options.Endpoint, options.APIKey, options.Logger = "http://127.0.0.1:9", testKey, quietLogger
	if options.MaxQueueSize == 0 {
		options.MaxQueueSize = 1_000_000
		options.MaxQueueBytes = 1 << 30
	}
	c, err := pulsekit.NewClient(options)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// measure runs capture b.N times and reports, besides the wall-clock ns/op, cpu-ns/op: the
// process's CPU time per event (the caller's goroutine, the worker's batching and GC). On a
// shared machine wall-clock time also counts the moments other processes had the CPU; CPU time
// does not.
func measure(b *testing.B, c *pulsekit.Client, capture func()) {
	b.Helper()
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpuStart := processCPUTime()
	for i := 0; i < b.N; i++ {
		capture()
	}
	c.Flush(10 * time.Second) // the worker's share of the work belongs to the figure
	b.StopTimer()
	b.ReportMetric(float64(processCPUTime()-cpuStart)/float64(b.N), "cpu-ns/op")
	reportDrops(b, c)
}

func reportDrops(b *testing.B, c *pulsekit.Client) {
	b.Helper()
	c.Flush(10 * time.Second)
	var dropped uint64
	for _, n := range c.Dropped() {
		dropped += n
	}
	if dropped > 0 {
		b.Fatalf("dropped %v: the figure would measure the drop path", c.Dropped())
	}
}

func BenchmarkCapture(b *testing.B) {
	c := benchClient(b, pulsekit.Options{Transport: discard{}, Environment: "production", Release: "shop@2.4.1"})
	ctx := pulsekit.WithTags(context.Background(), map[string]string{"request_id": "r-91"})
	event := pulsekit.Event{
		Type:     "payment.success",
		Message:  "Order 1234 paid",
		Metadata: map[string]any{"amount_cents": 4999, "currency": "EUR"},
		Tags:     map[string]string{"provider": "stripe"},
	}
	measure(b, c, func() { c.CaptureContext(ctx, event) })
}

func BenchmarkCaptureMessage(b *testing.B) {
	c := benchClient(b, pulsekit.Options{Transport: discard{}})
	measure(b, c, func() { c.CaptureMessage("Inventory below 10 units", pulsekit.Warning) })
}

func BenchmarkCaptureException(b *testing.B) {
	c := benchClient(b, pulsekit.Options{Transport: discard{}})
	err := fmt.Errorf("charge order 1234: %w", errors.New("card declined"))
	measure(b, c, func() { c.CaptureException(err) })
}

// BenchmarkDeliveredToLiveServer captures b.N events as fast as it can and flushes: the figure
// is events/s stored by a real `pulsekit serve` (SQLite, rate limit off), end to end.
func BenchmarkDeliveredToLiveServer(b *testing.B) {
	server := startLiveServer(b, "PULSEKIT_RATE_LIMIT_EVENTS_PER_S=0")
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			_, dsn := server.newProject(b, fmt.Sprintf("go bench %d %d", batch, b.N))
			c, err := pulsekit.NewClient(pulsekit.Options{DSN: dsn, MaxBatchSize: batch, MaxQueueSize: 1_000_000, MaxQueueBytes: 1 << 30, Logger: quietLogger})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			event := pulsekit.Event{Type: "payment.success", Message: "Order 1234 paid", Metadata: map[string]any{"amount_cents": 4999}}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c.Capture(event)
			}
			if !c.Flush(5 * time.Minute) {
				b.Fatalf("not everything was delivered: %v", c.Dropped())
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
