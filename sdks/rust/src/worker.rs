//! The background worker: a bounded queue (in events and bytes) drained in batches, with
//! retries, backoff, `Retry-After`, and drop counts by reason.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant, SystemTime};

use crate::batch::{backoff, batch_bodies, error_detail, gzip};
use crate::event::Event;
use crate::options::Config;
use crate::stacktrace::{self, InAppRules};
use crate::transport::{default_transport, HttpRequest, HttpResponse, Transport};
use crate::util::{parse_retry_after, report};
use crate::wire::encode_event;

/// A server asking for longer is waited for this long, then asked again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why events were dropped; intentional filtering is not a loss.
pub(crate) const LOSSLESS_REASONS: &[&str] = &["sample_rate", "before_send"];

thread_local! {
    // Set on the worker thread: its own panics and tracing events are not captured (no loops).
    static IS_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is an SDK worker thread.
pub(crate) fn on_worker_thread() -> bool {
    IS_WORKER.try_with(|flag| flag.get()).unwrap_or(true)
}

struct State {
    // Boxed: the worker moves a batch out under the lock, which should cost pointers, not events.
    pending: VecDeque<(Box<Event>, usize)>,
    pending_bytes: usize,
    in_flight: usize,
    flush_waiters: usize,
    closing: bool,
    refused_key: bool,
    drops: BTreeMap<&'static str, u64>,
    losses_since_flush: u64,
}

/// The queue shared by the capturing threads and the worker thread.
pub(crate) struct Worker {
    state: Mutex<State>,
    /// Wakes the worker: an event arrived, a flush started, or the client closes.
    wake_worker: Condvar,
    /// Wakes flushes: a batch was handled.
    wake_flushers: Condvar,
    config: Arc<Config>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: Mutex<Option<ThreadId>>,
}

impl Worker {
    /// Starts the worker thread.
    pub(crate) fn start(config: Arc<Config>) -> Arc<Worker> {
        let worker = Arc::new(Worker {
            state: Mutex::new(State {
                pending: VecDeque::new(),
                pending_bytes: 0,
                in_flight: 0,
                flush_waiters: 0,
                closing: false,
                refused_key: false,
                drops: BTreeMap::new(),
                losses_since_flush: 0,
            }),
            wake_worker: Condvar::new(),
            wake_flushers: Condvar::new(),
            config,
            thread: Mutex::new(None),
            thread_id: Mutex::new(None),
        });
        let running = Arc::clone(&worker);
        let spawned = thread::Builder::new()
            .name("pulsekit-worker".into())
            .spawn(move || {
                let _ = IS_WORKER.try_with(|flag| flag.set(true));
                running.run();
            });
        match spawned {
            Ok(handle) => {
                *lock(&worker.thread_id) = Some(handle.thread().id());
                *lock(&worker.thread) = Some(handle);
            }
            Err(error) => {
                report(format_args!(
                    "could not start the worker thread ({error}); events are dropped"
                ));
                lock(&worker.state).closing = true;
            }
        }
        worker
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Queues one event; `false` (and counted) when the queue is full or the client closed.
    pub(crate) fn submit(&self, event: Event, size: usize) -> bool {
        let mut state = self.state();
        let reason = if state.closing {
            Some("closed")
        } else if state.refused_key {
            Some("unauthorized")
        } else if state.pending.len() >= self.config.options.max_queue_size {
            // Dropping the newest keeps the oldest, which are closest to the first failure.
            Some("queue_full")
        } else if state.pending_bytes + size > self.config.options.max_queue_bytes {
            Some("queue_bytes")
        } else {
            None
        };
        if let Some(reason) = reason {
            count_drop(&mut state, reason, 1);
            return false;
        }
        state.pending.push_back((Box::new(event), size));
        state.pending_bytes += size;
        let queued = state.pending.len();
        drop(state);
        // Waking the worker costs a system call: only for the first event of a batch, or a full batch.
        if queued == 1 || queued >= self.config.options.max_batch_size {
            self.wake_worker.notify_one();
        }
        true
    }

    /// Counts events dropped before they reached the queue (sampling, before_send).
    pub(crate) fn count_drop(&self, reason: &'static str, count: u64) {
        count_drop(&mut self.state(), reason, count);
    }

    /// Events dropped so far, by reason.
    pub(crate) fn dropped(&self) -> BTreeMap<String, u64> {
        self.state()
            .drops
            .iter()
            .map(|(reason, count)| (reason.to_string(), *count))
            .collect()
    }

    /// Waits until everything queued now is handled; `false` when `timeout` ran out or events
    /// were lost since the previous flush.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        if *lock(&self.thread_id) == Some(thread::current().id()) {
            return false; // before_send or a transport flushing would wait for itself
        }
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        state.flush_waiters += 1;
        self.wake_worker.notify_one();
        while !state.pending.is_empty() || state.in_flight > 0 {
            let now = Instant::now();
            if now >= deadline || self.thread_finished() {
                break;
            }
            state = self
                .wake_flushers
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.flush_waiters -= 1;
        let is_done = state.pending.is_empty() && state.in_flight == 0;
        let losses = std::mem::take(&mut state.losses_since_flush);
        is_done && losses == 0
    }

    fn thread_finished(&self) -> bool {
        lock(&self.thread)
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }

    /// Flushes for up to `timeout`, then stops the worker; what is still queued is dropped and counted.
    pub(crate) fn close(&self, timeout: Duration) -> bool {
        let is_flushed = self.flush(timeout);
        {
            let mut state = self.state();
            if state.closing {
                return is_flushed;
            }
            state.closing = true;
            let left = state.pending.len() as u64;
            state.pending.clear();
            state.pending_bytes = 0;
            count_drop(&mut state, "shutdown", left);
        }
        self.wake_worker.notify_all();
        let handle = lock(&self.thread).take();
        if let Some(handle) = handle {
            if handle.thread().id() != thread::current().id() {
                // A request in progress is not waited for beyond its own timeout: the worker
                // stops at its next check, and we leave it to finish on its own.
                let deadline = Instant::now() + Duration::from_millis(500);
                while !handle.is_finished() && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(2));
                }
                if handle.is_finished() {
                    let _ = handle.join();
                }
            }
        }
        is_flushed
    }

    fn run(&self) {
        let transport: Arc<dyn Transport> = match &self.config.options.transport {
            Some(transport) => Arc::clone(transport),
            None => match default_transport(self.config.options.timeout) {
                Ok(transport) => Arc::from(transport),
                Err(error) => {
                    report(format_args!(
                        "could not create the HTTP client ({error}); events are dropped"
                    ));
                    let mut state = self.state();
                    state.closing = true;
                    let left = state.pending.len() as u64;
                    state.pending.clear();
                    count_drop(&mut state, "transport_error", left);
                    self.wake_flushers.notify_all();
                    return;
                }
            },
        };
        let rules = InAppRules {
            include: self.config.options.in_app_include.clone(),
            exclude: self.config.options.in_app_exclude.clone(),
        };
        while let Some(batch) = self.next_batch() {
            let count = batch.len() as u64;
            // Nothing may escape the worker: a bug here must cost this batch, not the thread.
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                self.deliver(batch, &*transport, &rules)
            }));
            let mut state = self.state();
            if outcome.is_err() {
                count_drop(&mut state, "internal_error", count);
            }
            state.in_flight = 0;
            drop(state);
            self.wake_flushers.notify_all();
        }
        self.wake_flushers.notify_all();
    }

    #[allow(clippy::vec_box)] // the batch leaves the lock as pointers; events are unboxed after
    fn next_batch(&self) -> Option<Vec<Box<Event>>> {
        let options = &self.config.options;
        let mut state = self.state();
        while state.pending.is_empty() {
            if state.closing {
                return None;
            }
            state = self
                .wake_worker
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        let fill_until = Instant::now() + options.batch_interval;
        while state.pending.len() < options.max_batch_size
            && state.flush_waiters == 0
            && !state.closing
        {
            let now = Instant::now();
            if now >= fill_until {
                break;
            }
            state = self
                .wake_worker
                .wait_timeout(state, fill_until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let size = state.pending.len().min(options.max_batch_size);
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            if let Some((event, bytes)) = state.pending.pop_front() {
                state.pending_bytes -= bytes;
                batch.push(event);
            }
        }
        state.in_flight = batch.len();
        Some(batch)
    }

    #[allow(clippy::vec_box)]
    fn deliver(&self, batch: Vec<Box<Event>>, transport: &dyn Transport, rules: &InAppRules) {
        let mut encoded = Vec::with_capacity(batch.len());
        for event in batch {
            if let Some(event) = self.prepare(*event, rules) {
                encoded.push(encode_event(&event));
            }
        }
        for body in batch_bodies(&encoded) {
            let (events, body) = body;
            if let Err(reason) = self.post(transport, &body) {
                count_drop(&mut self.state(), reason, events as u64);
            }
        }
    }

    /// Resolves pending backtraces and applies before_send; `None` when the event is dropped.
    fn prepare(&self, mut event: Event, rules: &InAppRules) -> Option<Event> {
        resolve_traces(&mut event, rules);
        let Some(before_send) = &self.config.options.before_send else {
            return Some(event);
        };
        let id = event.id;
        match catch_unwind(AssertUnwindSafe(|| before_send(event))) {
            Ok(Some(mut edited)) => {
                edited.id = edited.id.or(id);
                Some(edited)
            }
            Ok(None) => {
                self.count_drop("before_send", 1);
                None
            }
            Err(_) => {
                // Dropped, not sent unedited: before_send is often where private data is scrubbed.
                report(format_args!("before_send panicked; the event was dropped"));
                self.count_drop("before_send_error", 1);
                None
            }
        }
    }

    /// Sends one body until it is accepted; `Err(reason)` when it is given up.
    fn post(&self, transport: &dyn Transport, body: &[u8]) -> Result<(), &'static str> {
        let options = &self.config.options;
        let request = HttpRequest {
            url: self.config.batch_url.clone(),
            headers: vec![
                ("Content-Type", "application/json".into()),
                ("Content-Encoding", "gzip".into()),
                ("X-PulseKit-Key", options.api_key.clone()),
                (
                    "User-Agent",
                    concat!("pulsekit-rust/", env!("CARGO_PKG_VERSION")).into(),
                ),
            ],
            body: gzip(body),
            timeout: options.timeout,
        };
        let mut attempt = 0u32;
        loop {
            let delay = match transport.send(&request) {
                Ok(response) if (200..300).contains(&response.status) => return Ok(()),
                Ok(response) if matches!(response.status, 429 | 503) => {
                    let asked = response
                        .retry_after
                        .as_deref()
                        .and_then(|value| parse_retry_after(value, SystemTime::now()));
                    self.debug(format_args!("server busy ({}); retrying", response.status));
                    asked.map_or_else(|| backoff(attempt), |d| d.min(MAX_RETRY_AFTER))
                }
                Ok(response) if response.status >= 500 => {
                    self.debug(format_args!("server error ({}); retrying", response.status));
                    backoff(attempt)
                }
                Ok(response) => return Err(self.refused(&response)),
                Err(error) => {
                    self.debug(format_args!("network error ({error}); retrying"));
                    backoff(attempt)
                }
            };
            if attempt >= options.max_retries {
                report(format_args!(
                    "gave up sending a batch after {} retries",
                    attempt
                ));
                return Err("retries_exhausted");
            }
            attempt += 1;
            if !self.sleep_unless_closing(delay) {
                return Err("shutdown");
            }
        }
    }

    /// A 4xx answer other than 429: sending the same body again cannot help.
    fn refused(&self, response: &HttpResponse) -> &'static str {
        let detail = error_detail(&response.body);
        if matches!(response.status, 401 | 403) {
            // The key will not start working by itself: stop sending, say so once.
            let mut state = self.state();
            if !state.refused_key {
                state.refused_key = true;
                let dropped = state.pending.len() as u64;
                state.pending.clear();
                state.pending_bytes = 0;
                count_drop(&mut state, "unauthorized", dropped);
                drop(state);
                report(format_args!(
                    "the server refused the API key ({} {detail}); no more events will be sent",
                    response.status
                ));
            }
            return "unauthorized";
        }
        report(format_args!(
            "the server refused a batch ({} {detail}); it was dropped",
            response.status
        ));
        "rejected"
    }

    /// Waits `delay` unless the client closes meanwhile; `false` when it closed.
    fn sleep_unless_closing(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut state = self.state();
        loop {
            if state.closing {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            state = self
                .wake_worker
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn debug(&self, message: std::fmt::Arguments<'_>) {
        if self.config.options.debug {
            report(message);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves consistent counters: keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn count_drop(state: &mut State, reason: &'static str, count: u64) {
    if count == 0 {
        return;
    }
    *state.drops.entry(reason).or_insert(0) += count;
    if !LOSSLESS_REASONS.contains(&reason) {
        state.losses_since_flush += count;
    }
}

fn resolve_traces(event: &mut Event, rules: &InAppRules) {
    if let Some(trace) = event.stacktrace.as_mut() {
        if let Some(pending) = trace.pending.take() {
            trace.frames = stacktrace::resolve(&pending, rules);
        }
    }
}
