//! Benchmark: time per `capture` and `capture_error` in the calling thread, and events/s
//! delivered to a live server. `benchmark.sh` starts a server and runs this in release mode:
//!
//! ```sh
//! sdks/rust/benchmark.sh
//! # or, against a server of your own:
//! PULSEKIT_DSN=http://pk_…@127.0.0.1:4000/1 cargo run --release --example benchmark
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pulsekit::{Event, HttpRequest, HttpResponse, Level, Options, Transport, TransportError};
use serde_json::json;

const CAPTURES: usize = 50_000;
const ERROR_CAPTURES: usize = 2_000;
const DELIVERED: usize = 20_000;

/// Accepts every batch at once: measures the SDK, not a network.
struct Sink;

impl Transport for Sink {
    fn send(&self, _request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status: 202,
            ..Default::default()
        })
    }
}

#[derive(Debug)]
struct CheckoutError(std::io::Error);

impl fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment failed")
    }
}

impl Error for CheckoutError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn payment_event(n: usize) -> Event {
    Event {
        event_type: "payment.success".into(),
        level: Level::Info,
        message: format!("Order {n} paid"),
        metadata: json!({"amount_cents": 4999, "currency": "EUR", "order_id": n}),
        tags: HashMap::from([("provider".into(), "stripe".into())]),
        ..Default::default()
    }
}

/// (median, p99, mean) of per-call times in microseconds.
fn summarize(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort_unstable();
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = samples.iter().map(|d| micros(*d)).sum::<f64>() / samples.len() as f64;
    (
        micros(samples[samples.len() / 2]),
        micros(samples[samples.len() * 99 / 100]),
        mean,
    )
}

fn time_calls(count: usize, mut call: impl FnMut(usize)) -> Vec<Duration> {
    (0..count)
        .map(|n| {
            let started = Instant::now();
            call(n);
            started.elapsed()
        })
        .collect()
}

fn in_calling_thread() {
    let options = Options {
        endpoint: "http://127.0.0.1:9".into(),
        api_key: "pk_benchmark".into(),
        transport: Some(Arc::new(Sink)),
        max_queue_size: 2 * CAPTURES + ERROR_CAPTURES,
        max_queue_bytes: 1 << 30,
        max_batch_size: 1000,
        ..Default::default()
    };
    let guard = pulsekit::init(options.clone());
    pulsekit::set_tag("service", "benchmark");
    // Prepared outside the timed call: we time capture, not building the event.
    let events: Vec<Event> = (0..CAPTURES).map(payment_event).collect();
    let mut events = events.into_iter();
    let (median, p99, mean) = summarize(time_calls(CAPTURES, |_| {
        pulsekit::capture(events.next().unwrap_or_default());
    }));
    println!("capture:                      median {median:.2} µs, p99 {p99:.2} µs, mean {mean:.2} µs ({CAPTURES} calls)");
    let (median, p99, mean) = summarize(time_calls(CAPTURES, |n| {
        pulsekit::capture_message(format!("job {n} done"), Level::Info);
    }));
    println!("capture_message:              median {median:.2} µs, p99 {p99:.2} µs, mean {mean:.2} µs ({CAPTURES} calls)");
    assert!(guard.flush(Duration::from_secs(60)));
    drop(guard);

    for attach_stacktrace in [true, false] {
        let guard = pulsekit::init(Options {
            attach_stacktrace,
            ..options.clone()
        });
        let error = CheckoutError(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "gateway timed out",
        ));
        // The unwinder's first walk of the process reads its unwind tables: shown apart.
        let first = time_calls(1, |_| {
            pulsekit::capture_error(&error);
        })[0];
        let (median, p99, mean) = summarize(time_calls(ERROR_CAPTURES, |_| {
            pulsekit::capture_error(&error);
        }));
        let label = if attach_stacktrace {
            "capture_error (with frames):"
        } else {
            "capture_error (no frames):  "
        };
        println!(
            "{label}  median {median:.2} µs, p99 {p99:.2} µs, mean {mean:.2} µs ({ERROR_CAPTURES} calls; first call {:.0} µs)",
            first.as_secs_f64() * 1e6
        );
        assert!(guard.flush(Duration::from_secs(60)));
    }
}

fn to_live_server(dsn: String) {
    let guard = pulsekit::init(Options {
        dsn: Some(dsn),
        max_queue_size: DELIVERED,
        max_queue_bytes: 1 << 30,
        max_batch_size: 1000,
        capture_panics: false,
        ..Default::default()
    });
    let started = Instant::now();
    for n in 0..DELIVERED {
        pulsekit::capture(payment_event(n));
    }
    let captured_in = started.elapsed();
    let is_flushed = guard.flush(Duration::from_secs(300));
    let elapsed = started.elapsed();
    let dropped: u64 = guard.dropped_events().values().sum();
    let delivered = DELIVERED as u64 - dropped;
    println!(
        "live server: {delivered} events delivered in {:.2} s = {:.0} events/s (batches of 1,000, gzip; \
         captured in {:.3} s; flushed: {is_flushed}; dropped: {dropped})",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        captured_in.as_secs_f64(),
    );
}

fn main() {
    println!(
        "pulsekit {} benchmark ({} build)",
        env!("CARGO_PKG_VERSION"),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    in_calling_thread();
    match std::env::var("PULSEKIT_DSN") {
        Ok(dsn) => to_live_server(dsn),
        Err(_) => println!("live server: skipped (set PULSEKIT_DSN, or run benchmark.sh)"),
    }
}
