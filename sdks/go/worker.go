package pulsekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Drop reasons, the keys of Client.Dropped. Sampling and BeforeSend drop on purpose: they are
// counted but do not make Flush return false.
const (
	DropSampleRate       = "sample_rate"       // not sampled (Options.SampleRate)
	DropBeforeSend       = "before_send"       // BeforeSend returned nil
	DropBeforeSendPanic  = "before_send_panic" // BeforeSend panicked
	DropQueueFull        = "queue_full"        // MaxQueueSize events were already waiting
	DropQueueBytes       = "queue_bytes"       // MaxQueueBytes bytes were already waiting
	DropRejected         = "rejected"          // the server refused the batch (a 4xx other than 401/403/429)
	DropUnauthorized     = "unauthorized"      // a 401/403: the key is wrong or revoked; sending stopped
	DropRetriesExhausted = "retries_exhausted" // MaxRetries retries failed
	DropShutdown         = "shutdown"          // still queued or in flight when Close gave up
	DropClosed           = "closed"            // captured after Close
	DropEncodeError      = "encode_error"      // the event could not be encoded
)

// worker owns the queue and the goroutine that drains it through the transport.
type worker struct {
	transport            Transport
	maxQueue, maxBytes   int
	maxBatch, maxRetries int
	interval             time.Duration
	minBackoff           time.Duration
	maxBackoff           time.Duration
	logger               *slog.Logger

	mu           sync.Mutex
	queue        []json.RawMessage // waiting events are queue[head:]
	head         int
	queueBytes   int
	inFlight     int
	flushWaiters int // while > 0, batches leave without waiting to fill
	closed       bool
	unauthorized bool
	drops        map[string]uint64
	unplanned    uint64 // drops that make Flush return false
	reportedDrop uint64 // unplanned at the previous Flush
	reported     map[string]bool
	changed      chan struct{} // closed and replaced when the queue or in-flight batch shrinks

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// sleep waits d or until ctx ends (false); jitter returns [0, 1). Tests replace them.
	sleep  func(ctx context.Context, d time.Duration) bool
	jitter func() float64
}

func newWorker(t Transport, o Options) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		transport: t, maxQueue: o.MaxQueueSize, maxBytes: o.MaxQueueBytes, maxBatch: o.MaxBatchSize,
		maxRetries: o.MaxRetries, interval: o.BatchInterval, minBackoff: o.MinBackoff, maxBackoff: o.MaxBackoff,
		logger: o.Logger, drops: map[string]uint64{}, reported: map[string]bool{},
		changed: make(chan struct{}), wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), sleep: sleepContext, jitter: rand.Float64,
	}
	go w.run()
	return w
}

func sleepContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// submit queues one encoded event; false (and counted) when it was dropped.
func (w *worker) submit(event json.RawMessage) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	var reason string
	switch {
	case w.closed:
		reason = DropClosed
	case w.unauthorized:
		reason = DropUnauthorized
	case w.pendingLocked() >= w.maxQueue:
		// Dropping the newest keeps the oldest, which are closest to the first failure.
		reason = DropQueueFull
	case w.queueBytes+len(event) > w.maxBytes:
		reason = DropQueueBytes
	}
	if reason != "" {
		w.countLocked(reason, 1)
		return false
	}
	w.queue = append(w.queue, event)
	w.queueBytes += len(event)
	if n := w.pendingLocked(); n == 1 || n >= w.maxBatch {
		w.signal()
	}
	return true
}

func (w *worker) pendingLocked() int { return len(w.queue) - w.head }

// advanceLocked removes the first n waiting events. Taking a batch moves head instead of copying
// the rest of the queue, which made a long queue cost quadratic time; the slice is compacted once
// most of it is behind head.
func (w *worker) advanceLocked(n int) {
	clear(w.queue[w.head : w.head+n]) // the batch holds them now; let them be collected after it
	w.head += n
	switch {
	case w.head == len(w.queue):
		w.queue, w.head = w.queue[:0], 0
	case w.head >= 1024 && w.head*2 >= len(w.queue):
		kept := copy(w.queue, w.queue[w.head:])
		clear(w.queue[kept:])
		w.queue, w.head = w.queue[:kept], 0
	}
}

func (w *worker) count(reason string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.countLocked(reason, n)
}

func (w *worker) countLocked(reason string, n int) {
	w.drops[reason] += uint64(n)
	if reason != DropSampleRate && reason != DropBeforeSend {
		w.unplanned += uint64(n)
	}
}

func (w *worker) dropped() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.drops))
	for k, v := range w.drops {
		out[k] = v
	}
	return out
}

// notifyLocked wakes Flush callers after the queue or the in-flight batch shrank.
func (w *worker) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// flush waits until everything queued now is handled; false when timeout ran out first or when
// an event was dropped (other than by sampling or BeforeSend) since the previous flush.
func (w *worker) flush(timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushWaiters++
	defer func() { w.flushWaiters-- }()
	w.signal()
	for w.pendingLocked() > 0 || w.inFlight > 0 {
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			w.mu.Lock()
			return false
		case <-w.done:
			w.mu.Lock()
			return false
		}
		w.mu.Lock()
	}
	isClean := w.unplanned == w.reportedDrop
	w.reportedDrop = w.unplanned
	return isClean
}

// close flushes for up to timeout, then stops the goroutine; what is left is dropped and counted.
func (w *worker) close(timeout time.Duration) bool {
	flushed := w.flush(timeout)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return flushed
	}
	w.closed = true
	if n := w.pendingLocked(); n > 0 {
		w.countLocked(DropShutdown, n)
		w.queue, w.head, w.queueBytes = nil, 0, 0
		w.notifyLocked()
	}
	w.mu.Unlock()
	w.cancel() // ends a request in progress and any retry wait
	select {
	case <-w.done:
	case <-time.After(time.Second):
	}
	return flushed
}

func (w *worker) run() {
	defer close(w.done)
	for {
		batch := w.next()
		if batch == nil {
			return
		}
		w.deliver(batch)
		w.mu.Lock()
		w.inFlight = 0
		w.notifyLocked()
		w.mu.Unlock()
	}
}

// next waits for a batch: up to maxBatch events, once the batch is full, a flush waits, or the
// first event has waited interval. nil when the worker is closing.
func (w *worker) next() []json.RawMessage {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var fill <-chan time.Time
	for {
		w.mu.Lock()
		n := w.pendingLocked()
		if n == 0 && w.closed {
			w.mu.Unlock()
			return nil
		}
		if n > 0 && (n >= w.maxBatch || w.flushWaiters > 0 || w.closed || (timer != nil && fill == nil)) {
			take := min(n, w.maxBatch)
			batch := make([]json.RawMessage, take)
			copy(batch, w.queue[w.head:])
			for _, e := range batch {
				w.queueBytes -= len(e)
			}
			w.advanceLocked(take)
			w.inFlight = take
			w.mu.Unlock()
			return batch
		}
		w.mu.Unlock()
		if n > 0 && timer == nil {
			timer = time.NewTimer(w.interval)
			fill = timer.C
		}
		select {
		case <-w.wake:
		case <-fill:
			fill = nil // the interval is over: take what there is
		case <-w.ctx.Done():
			w.mu.Lock()
			w.closed = true
			w.mu.Unlock()
		}
	}
}

// deliver sends one batch, retrying as the transport's errors ask.
func (w *worker) deliver(batch []json.RawMessage) {
	for attempt := 0; ; attempt++ {
		err := w.send(batch)
		if err == nil {
			return
		}
		var rejected *RejectedError
		if isUnauthorized(err) {
			w.stopSending(len(batch), err)
			return
		}
		if errors.As(err, &rejected) {
			w.count(DropRejected, len(batch))
			w.reportOnce(fmt.Sprintf("%d %s", rejected.StatusCode, rejected.Code), "pulsekit: the server refused a batch; such batches are dropped, not retried", err)
			return
		}
		if attempt >= w.maxRetries || w.ctx.Err() != nil {
			break
		}
		delay := w.backoff(attempt)
		var retry *RetryableError
		if errors.As(err, &retry) && retry.RetryAfter > 0 {
			delay = retry.RetryAfter
		}
		w.logger.Debug("pulsekit: retrying a batch", "events", len(batch), "delay", delay, "error", err)
		if !w.sleep(w.ctx, delay) {
			break
		}
	}
	reason := DropRetriesExhausted
	if w.ctx.Err() != nil {
		reason = DropShutdown
	}
	w.logger.Warn("pulsekit: gave up sending a batch", "events", len(batch), "reason", reason)
	w.count(reason, len(batch))
}

// send calls the transport; a panicking custom transport rejects the batch instead of crashing.
func (w *worker) send(batch []json.RawMessage) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &RejectedError{Code: "transport_panic", Message: fmt.Sprint(v)}
		}
	}()
	return w.transport.Send(w.ctx, batch)
}

// backoff is the delay before retry attempt+1: doubling from MinBackoff up to MaxBackoff, of
// which a random 50–100 % is waited ("equal jitter": clients that failed together spread out,
// none retries at once).
func (w *worker) backoff(attempt int) time.Duration {
	ceiling := w.maxBackoff
	if attempt < 32 && w.minBackoff<<attempt < w.maxBackoff && w.minBackoff<<attempt > 0 {
		ceiling = w.minBackoff << attempt
	}
	return ceiling/2 + time.Duration(float64(ceiling/2)*w.jitter())
}

// stopSending handles a 401/403: the key cannot send anything, so the queue is dropped and
// every later event too, and the problem is reported once.
func (w *worker) stopSending(inBatch int, err error) {
	w.mu.Lock()
	w.unauthorized = true
	w.countLocked(DropUnauthorized, inBatch+w.pendingLocked())
	w.queue, w.head, w.queueBytes = nil, 0, 0
	w.notifyLocked()
	w.mu.Unlock()
	w.reportOnce("unauthorized", "pulsekit: the server refused the API key; this client sends nothing more", err)
}

func (w *worker) reportOnce(kind, msg string, err error) {
	w.mu.Lock()
	seen := w.reported[kind]
	w.reported[kind] = true
	w.mu.Unlock()
	if !seen {
		w.logger.Error(msg, "error", err)
	}
}
