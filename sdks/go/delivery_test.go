package pulsekit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	pulsekit "github.com/pulsekit/go"
)

func TestEventsLeaveInBatchesOfMaxBatchSizeInCaptureOrder(t *testing.T) {
	cases := []struct {
		events, batchSize int
		wantSizes         []int
	}{
		{events: 1, batchSize: 100, wantSizes: []int{1}},
		{events: 4, batchSize: 100, wantSizes: []int{4}},
		{events: 10, batchSize: 4, wantSizes: []int{4, 4, 2}},
		{events: 250, batchSize: 100, wantSizes: []int{100, 100, 50}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d_by_%d", tc.events, tc.batchSize), func(t *testing.T) {
			server := newCapturingServer(t)
			c := newClient(t, server, pulsekit.Options{MaxBatchSize: tc.batchSize})
			var ids []string
			for i := 0; i < tc.events; i++ {
				ids = append(ids, c.CaptureMessage(fmt.Sprintf("event %d", i), pulsekit.Info))
			}
			if !c.Flush(5 * time.Second) {
				t.Fatalf("flush failed: %v", c.Dropped())
			}
			var sizes []int
			var sent []string
			for _, r := range server.recordedRequests() {
				sizes = append(sizes, len(r.Events))
				for _, e := range r.Events {
					sent = append(sent, e["id"].(string))
				}
			}
			if !reflect.DeepEqual(sizes, tc.wantSizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tc.wantSizes)
			}
			if !reflect.DeepEqual(sent, ids) {
				t.Error("events were not sent once each in capture order")
			}
		})
	}
}

func TestAPartialBatchLeavesAfterBatchIntervalWithoutFlush(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{BatchInterval: 20 * time.Millisecond})
	c.CaptureMessage("one", pulsekit.Info)
	c.CaptureMessage("two", pulsekit.Info)
	requests := server.waitForRequests(t, 1)
	if len(requests[0].Events) != 2 {
		t.Errorf("first batch has %d events, want 2", len(requests[0].Events))
	}
}

func TestEveryRequestIsAGzipJSONPostWithTheKeyAndUserAgent(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{})
	c.CaptureMessage("hello", pulsekit.Info)
	c.Flush(5 * time.Second)
	r := server.recordedRequests()[0]
	want := map[string]string{
		"Content-Type": "application/json", "Content-Encoding": "gzip", "X-PulseKit-Key": testKey,
		"User-Agent": "pulsekit-go/" + pulsekit.Version,
	}
	for name, value := range want {
		if got := r.Header.Get(name); got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	if r.Method != http.MethodPost || r.Path != "/api/v1/events/batch" {
		t.Errorf("%s %s", r.Method, r.Path)
	}
}

// Retries resend the same batch with the same ids, after the server's Retry-After or a backoff.
func TestFailedBatchesAreRetriedWithTheSameIDs(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		headers    map[string]string
		wantDelays []time.Duration
	}{
		{"500 backs off", 500, nil, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"502 backs off", 502, nil, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"503 with Retry-After waits that long", 503, map[string]string{"Retry-After": "3"}, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"429 with Retry-After waits that long", 429, map[string]string{"Retry-After": "1.5"}, []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond}},
		{"429 without Retry-After backs off", 429, nil, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"Retry-After is capped at 60 s", 503, map[string]string{"Retry-After": "3600"}, []time.Duration{time.Minute, time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := newCapturingServer(t)
			server.respond(tc.status, tc.headers, 2)
			c := newClient(t, server, pulsekit.Options{})
			recorded := &sleeps{}
			pulsekit.SetRetryHooks(c, recorded.record, func() float64 { return 0 })
			id := c.CaptureMessage("retry me", pulsekit.Info)
			if !c.Flush(5 * time.Second) {
				t.Fatalf("flush failed: %v", c.Dropped())
			}
			requests := server.recordedRequests()
			if len(requests) != 3 {
				t.Fatalf("%d requests, want 3", len(requests))
			}
			for _, r := range requests {
				if r.Events[0]["id"] != id {
					t.Errorf("a retry sent id %v, want %v", r.Events[0]["id"], id)
				}
			}
			if got := recorded.all(); !reflect.DeepEqual(got, tc.wantDelays) {
				t.Errorf("waited %v, want %v", got, tc.wantDelays)
			}
		})
	}
}

func TestRetryAfterAsAnHTTPDateIsHonoured(t *testing.T) {
	now := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"2":                             2 * time.Second,
		"0.25":                          250 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Wed, 02 Dec 2026 07:00:10 GMT": 10 * time.Second,
		"Wed, 02 Dec 2026 06:59:00 GMT": 0,
		"Wed, 02 Dec 2026 09:00:00 GMT": time.Minute,
	}
	for header, want := range cases {
		if got := pulsekit.ParseRetryAfter(header, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestBackoffDoublesWithJitterUpToMaxBackoff(t *testing.T) {
	server := newCapturingServer(t)
	server.respond(500, nil, 6)
	c := newClient(t, server, pulsekit.Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	recorded := &sleeps{}
	pulsekit.SetRetryHooks(c, recorded.record, func() float64 { return 1 })
	c.CaptureMessage("x", pulsekit.Info)
	c.Flush(5 * time.Second)
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
	if got := recorded.all(); !reflect.DeepEqual(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestABatchIsDroppedAfterMaxRetriesAndFlushSaysSo(t *testing.T) {
	server := newCapturingServer(t)
	server.respond(500, nil, 3)
	c := newClient(t, server, pulsekit.Options{MaxRetries: 2})
	pulsekit.SetRetryHooks(c, func(time.Duration) {}, nil)
	c.CaptureMessage("doomed", pulsekit.Info)
	if c.Flush(5 * time.Second) {
		t.Error("Flush returned true although the event was dropped")
	}
	if got := len(server.recordedRequests()); got != 3 {
		t.Errorf("%d attempts, want 3", got)
	}
	if got := c.Dropped()[pulsekit.DropRetriesExhausted]; got != 1 {
		t.Errorf("dropped %v", c.Dropped())
	}
	c.CaptureMessage("fine", pulsekit.Info)
	if !c.Flush(5 * time.Second) {
		t.Error("the next Flush reports the earlier drop again")
	}
}

func TestRefusedBatchesAreNotRetried(t *testing.T) {
	cases := []struct {
		status        int
		reason        string
		stopsSending  bool
		laterRequests int
	}{
		{status: 400, reason: pulsekit.DropRejected, laterRequests: 1},
		{status: 413, reason: pulsekit.DropRejected, laterRequests: 1},
		{status: 422, reason: pulsekit.DropRejected, laterRequests: 1},
		{status: 401, reason: pulsekit.DropUnauthorized, stopsSending: true},
		{status: 403, reason: pulsekit.DropUnauthorized, stopsSending: true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			server := newCapturingServer(t)
			server.respond(tc.status, nil, 1)
			c := newClient(t, server, pulsekit.Options{})
			c.CaptureMessage("refused", pulsekit.Info)
			if c.Flush(5 * time.Second) {
				t.Error("Flush returned true although the batch was refused")
			}
			if got := len(server.recordedRequests()); got != 1 {
				t.Fatalf("%d requests, want 1 (no retry)", got)
			}
			id := c.CaptureMessage("later", pulsekit.Info)
			c.Flush(5 * time.Second)
			if got := len(server.recordedRequests()) - 1; got != tc.laterRequests {
				t.Errorf("%d later requests, want %d", got, tc.laterRequests)
			}
			if tc.stopsSending && (id != "" || c.Dropped()[tc.reason] != 2) {
				t.Errorf("after %d: id %q, dropped %v", tc.status, id, c.Dropped())
			}
			if !tc.stopsSending && c.Dropped()[tc.reason] != 1 {
				t.Errorf("dropped %v", c.Dropped())
			}
		})
	}
}

// A full queue drops the newest events and counts them; capturing never waits for the network.
func TestAFullQueueDropsNewEventsByCountAndByBytes(t *testing.T) {
	cases := []struct {
		name     string
		options  pulsekit.Options
		message  string
		captures int
		wantKept int
		reason   string
	}{
		{"events", pulsekit.Options{MaxQueueSize: 3, BatchInterval: time.Millisecond}, "small", 5, 3, pulsekit.DropQueueFull},
		{"bytes", pulsekit.Options{MaxQueueBytes: 2500, BatchInterval: time.Millisecond}, strings.Repeat("x", 1000), 5, 2, pulsekit.DropQueueBytes},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			blocked := &blockingTransport{release: release}
			tc.options.Transport = blocked
			c := newClient(t, newCapturingServer(t), tc.options)
			kept := 0
			// The first event is taken by the worker and held in Send; the others wait in the queue.
			c.CaptureMessage(tc.message, pulsekit.Info)
			blocked.waitForSend(t)
			for i := 0; i < tc.captures; i++ {
				if c.CaptureMessage(tc.message, pulsekit.Info) != "" {
					kept++
				}
			}
			if kept != tc.wantKept {
				t.Errorf("kept %d, want %d", kept, tc.wantKept)
			}
			if got := c.Dropped()[tc.reason]; got != uint64(tc.captures-tc.wantKept) {
				t.Errorf("dropped %v", c.Dropped())
			}
			close(release)
			if c.Flush(5 * time.Second) {
				t.Error("Flush returned true although events were dropped")
			}
			if got := blocked.delivered(); got != tc.wantKept+1 {
				t.Errorf("delivered %d, want %d", got, tc.wantKept+1)
			}
		})
	}
}

func TestCloseGivesUpOnAStuckServerAndDropsWhatIsLeft(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	blocked := &blockingTransport{release: release}
	c := newClient(t, newCapturingServer(t), pulsekit.Options{Transport: blocked, ShutdownTimeout: 50 * time.Millisecond, BatchInterval: time.Millisecond})
	c.CaptureMessage("in flight", pulsekit.Info)
	blocked.waitForSend(t)
	c.CaptureMessage("queued", pulsekit.Info)
	c.Close()
	if id := c.CaptureMessage("after close", pulsekit.Info); id != "" {
		t.Error("a closed client accepted an event")
	}
	dropped := c.Dropped()
	if dropped[pulsekit.DropShutdown] != 2 || dropped[pulsekit.DropClosed] != 1 {
		t.Errorf("dropped %v", dropped)
	}
}

// blockingTransport holds every Send until release is closed; ctx cancellation ends it early.
type blockingTransport struct {
	release chan struct{}
	mu      sync.Mutex
	sends   int
	events  int
	started chan struct{}
	once    sync.Once
}

func (b *blockingTransport) init() { b.once.Do(func() { b.started = make(chan struct{}, 100) }) }

func (b *blockingTransport) Send(ctx context.Context, events []json.RawMessage) error {
	b.init()
	b.mu.Lock()
	b.sends++
	b.mu.Unlock()
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	b.events += len(events)
	b.mu.Unlock()
	return nil
}

func (b *blockingTransport) waitForSend(t *testing.T) {
	t.Helper()
	b.init()
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker never called Send")
	}
}

func (b *blockingTransport) delivered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events
}

// A custom transport gets each event's wire JSON; its plain errors are retried.
func TestACustomTransportReceivesWireJSONAndItsErrorsAreRetried(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	calls := 0
	transport := transportFunc(func(_ context.Context, events []json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return errors.New("disk full")
		}
		for _, raw := range events {
			var e map[string]any
			if err := json.Unmarshal(raw, &e); err != nil {
				return &pulsekit.RejectedError{Code: "bad_json", Message: err.Error()}
			}
			got = append(got, e)
		}
		return nil
	})
	c := newClient(t, newCapturingServer(t), pulsekit.Options{Transport: transport})
	pulsekit.SetRetryHooks(c, func(time.Duration) {}, nil)
	c.Capture(pulsekit.Event{Type: "job.done", Message: "ok"})
	if !c.Flush(5 * time.Second) {
		t.Fatalf("flush failed: %v", c.Dropped())
	}
	if calls != 2 || len(got) != 1 || got[0]["type"] != "job.done" {
		t.Errorf("calls %d, events %v", calls, got)
	}
}

type transportFunc func(context.Context, []json.RawMessage) error

func (f transportFunc) Send(ctx context.Context, events []json.RawMessage) error {
	return f(ctx, events)
}

func TestNetworkErrorsAreRetriedThenDropped(t *testing.T) {
	down := newCapturingServer(t)
	endpoint := down.URL
	down.Close() // nothing listens there any more
	c := newClient(t, down, pulsekit.Options{Endpoint: endpoint, APIKey: testKey, MaxRetries: 3})
	recorded := &sleeps{}
	pulsekit.SetRetryHooks(c, recorded.record, func() float64 { return 0 })
	c.CaptureMessage("nobody home", pulsekit.Info)
	if c.Flush(5 * time.Second) {
		t.Error("Flush returned true although the server was down")
	}
	if len(recorded.all()) != 3 || c.Dropped()[pulsekit.DropRetriesExhausted] != 1 {
		t.Errorf("waits %v, dropped %v", recorded.all(), c.Dropped())
	}
}

func TestFlushReturnsFalseWhenEventsAreStillPendingAtTheTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	blocked := &blockingTransport{release: release}
	c := newClient(t, newCapturingServer(t), pulsekit.Options{Transport: blocked, ShutdownTimeout: 10 * time.Millisecond})
	c.CaptureMessage("stuck", pulsekit.Info)
	if c.Flush(50 * time.Millisecond) {
		t.Error("Flush returned true with an event in flight")
	}
}

func TestBatchesReuseOneKeepAliveConnection(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{})
	for i := 0; i < 5; i++ {
		c.CaptureMessage("one batch", pulsekit.Info)
		c.Flush(5 * time.Second)
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	if len(server.requests) != 5 || server.connections != 1 {
		t.Errorf("%d requests over %d connections, want 5 over 1", len(server.requests), server.connections)
	}
}

func TestARefusedKeyIsReportedOnceHoweverManyEventsFollow(t *testing.T) {
	server := newCapturingServer(t)
	server.respond(401, nil, 1)
	var log bytes.Buffer
	c := newClient(t, server, pulsekit.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	for i := 0; i < 5; i++ {
		c.CaptureMessage("refused", pulsekit.Info)
		c.Flush(5 * time.Second)
	}
	if got := strings.Count(log.String(), "refused the API key"); got != 1 {
		t.Errorf("reported %d times:\n%s", got, log.String())
	}
	if len(server.recordedRequests()) != 1 {
		t.Errorf("%d requests after a 401, want 1", len(server.recordedRequests()))
	}
}

// The server takes at most 5 MB per request: a batch bigger than 4.5 MB leaves in several bodies.
func TestABatchOverFourAndAHalfMegabytesIsSplitIntoSeveralRequests(t *testing.T) {
	server := newCapturingServer(t)
	c := newClient(t, server, pulsekit.Options{MaxQueueBytes: 64 << 20})
	big := strings.Repeat("x", 60_000)
	for i := 0; i < 80; i++ {
		c.Capture(pulsekit.Event{Message: "big", Metadata: map[string]any{"blob": big}})
	}
	if !c.Flush(10 * time.Second) {
		t.Fatalf("flush failed: %v", c.Dropped())
	}
	requests := server.recordedRequests()
	total := 0
	for _, r := range requests {
		total += len(r.Events)
		if len(r.Body) > 4_500_000 {
			t.Errorf("a body of %d bytes", len(r.Body))
		}
	}
	if len(requests) != 2 || total != 80 {
		t.Errorf("%d requests with %d events, want 2 with 80", len(requests), total)
	}
}
