//! # PulseKit SDK for Rust
//!
//! Sends errors, panics and custom events to a [PulseKit](https://github.com/pulsekit) server.
//! Capturing never blocks on I/O: events go into a bounded queue that a background thread
//! sends in gzip-compressed batches, retrying with backoff (and `Retry-After`) when the server
//! is busy or unreachable. Nothing panics into your application after `init`.
//!
//! ```no_run
//! use std::collections::HashMap;
//! use pulsekit::{Event, Level};
//! use serde_json::json;
//!
//! let _guard = pulsekit::init(pulsekit::Options {
//!     dsn: Some("http://pk_…@127.0.0.1:4000/1".into()),
//!     environment: Some("production".into()),
//!     release: Some("shop@2.4.1".into()),
//!     ..Default::default()
//! });
//!
//! pulsekit::capture(Event {
//!     event_type: "payment.success".into(),
//!     level: Level::Info,
//!     message: "Order 1234 paid".into(),
//!     metadata: json!({"amount_cents": 4999, "currency": "EUR"}),
//!     tags: HashMap::from([("provider".into(), "stripe".into())]),
//!     ..Default::default()
//! });
//!
//! if let Err(err) = "12x".parse::<u32>() {
//!     pulsekit::capture_error(&err);
//! }
//! // Dropping the guard at the end of main flushes what is queued (for up to 2 s).
//! ```
//!
//! Cargo features: `reqwest` (default, blocking client with rustls), `ureq` (lighter HTTP
//! client), `tracing` (a `tracing_subscriber` layer, [`TracingLayer`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod client;
mod errors;
mod event;
mod options;
mod panic;
mod scope;
mod stacktrace;
#[cfg(feature = "tracing")]
mod tracing_layer;
mod transport;
mod util;
mod wire;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use client::Client;

pub use errors::{register_error_type, AsError, ErrorDetails};
pub use event::{Event, Exception, Frame, Level, Stacktrace, UnknownLevel, User};
pub use options::{BeforeSend, ConfigError, Dsn, Options};
pub use scope::{configure_scope, remove_tag, set_context, set_tag, set_user, with_scope, Scope};
#[cfg(feature = "tracing")]
pub use tracing_layer::TracingLayer;
#[cfg(feature = "reqwest")]
pub use transport::ReqwestTransport;
#[cfg(feature = "ureq")]
pub use transport::UreqTransport;
pub use transport::{HttpRequest, HttpResponse, Transport, TransportError, MAX_ERROR_BODY_BYTES};
pub use util::EventId;

/// Keeps the client running; dropping it flushes queued events (for up to
/// `Options::shutdown_timeout`) and closes the client. Keep it alive until the end of `main`.
#[must_use = "dropping the guard closes the client at once: bind it, e.g. `let _guard = pulsekit::init(…);`"]
pub struct ClientGuard {
    client: Arc<Client>,
}

impl ClientGuard {
    /// Waits until the events queued now are sent; see [`flush`].
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client.flush(timeout)
    }

    /// Events this client dropped so far, by reason; see [`dropped_events`].
    pub fn dropped_events(&self) -> BTreeMap<String, u64> {
        self.client.dropped()
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let timeout = self.client.options().shutdown_timeout;
        self.client.close(timeout);
        self.client.uninstall();
    }
}

impl std::fmt::Debug for ClientGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientGuard").finish_non_exhaustive()
    }
}

/// Starts the SDK: validates the options, starts the worker thread, installs the panic hook
/// (unless `capture_panics` is false) and returns the guard. Accepts [`Options`], a DSN string,
/// or `(dsn, Options)`. An invalid option is an `Err` naming it.
///
/// Global tags are reset to `Options::tags`: a second `init` replaces the first client.
pub fn try_init(options: impl Into<Options>) -> Result<ClientGuard, ConfigError> {
    let client = Client::new(options.into())?;
    if client.options().capture_panics {
        panic::install_hook();
    }
    client.install();
    Ok(ClientGuard { client })
}

/// Like [`try_init`], but an invalid option panics with a message naming it (a configuration
/// mistake should stop the program at start-up, not lose events later).
///
/// ```should_panic
/// let _guard = pulsekit::init("not a dsn"); // panics: invalid option `dsn`: …
/// ```
pub fn init(options: impl Into<Options>) -> ClientGuard {
    match try_init(options) {
        Ok(guard) => guard,
        Err(error) => panic!("pulsekit::init: {error}"),
    }
}

/// Queues one event, adding the scope's and global tags, user and context, `environment` and
/// `release`. Returns its id, or `None` when it was not queued (no client, sampled out, queue
/// full). Never blocks on I/O.
pub fn capture(event: Event) -> Option<EventId> {
    client::current()?.capture(event)
}

/// Captures an error and its `source()` chain (direct cause first), each with its type name.
/// The frames are where the error was created when it recorded that (see [`ErrorDetails`]),
/// otherwise where `capture_error` was called.
///
/// ```
/// # use std::error::Error;
/// let error: Box<dyn Error> = "12x".parse::<u32>().unwrap_err().into();
/// pulsekit::capture_error(&*error);
/// ```
pub fn capture_error<E: AsError + ?Sized>(error: &E) -> Option<EventId> {
    client::current()?.capture_error(error, Level::Error)
}

/// Captures a message at `level` (type `message`, or `error` for levels error and fatal).
pub fn capture_message(message: impl Into<String>, level: Level) -> Option<EventId> {
    capture(Event {
        message: message.into(),
        level,
        ..Default::default()
    })
}

/// Waits up to `timeout` until the events queued now are sent. `false` when time ran out,
/// when there is no client, or when events were lost (queue full, refused, given up) since the
/// previous flush; events dropped on purpose (`sample_rate`, `before_send`) do not count.
pub fn flush(timeout: Duration) -> bool {
    client::current().is_some_and(|client| client.flush(timeout))
}

/// Flushes for up to `timeout`, then stops the installed client (events captured afterwards
/// are dropped). Dropping the guard does the same.
pub fn close(timeout: Duration) -> bool {
    match client::current() {
        Some(client) => {
            let is_flushed = client.close(timeout);
            client.uninstall();
            is_flushed
        }
        None => false,
    }
}

/// Events the installed client dropped, by reason: `sample_rate`, `before_send`,
/// `before_send_error`, `queue_full`, `queue_bytes`, `rejected`, `unauthorized`,
/// `retries_exhausted`, `shutdown`, `closed`.
pub fn dropped_events() -> BTreeMap<String, u64> {
    client::current()
        .map(|client| client.dropped())
        .unwrap_or_default()
}
