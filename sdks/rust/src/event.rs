//! The event model: what `capture` takes and `before_send` sees.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::util::EventId;

/// How severe an event is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Something that happened as expected (the default for custom events).
    #[default]
    Info,
    /// Something unexpected that did not fail.
    Warning,
    /// A failure (errors are grouped into issues).
    Error,
    /// A failure that ended the program or request (panics).
    Fatal,
}

impl Level {
    /// The protocol's name: `debug`, `info`, `warning`, `error`, `fatal`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a level name that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLevel(pub String);

impl fmt::Display for UnknownLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown level {:?}: expected debug, info, warning, error or fatal",
            self.0
        )
    }
}

impl std::error::Error for UnknownLevel {}

impl FromStr for Level {
    type Err = UnknownLevel;

    /// Case-insensitive, with the protocol's aliases: `WARN` → warning, `err` → error, `critical` → fatal.
    fn from_str(name: &str) -> Result<Self, UnknownLevel> {
        match name.trim().to_ascii_lowercase().as_str() {
            "debug" | "trace" => Ok(Level::Debug),
            "info" | "log" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" | "err" => Ok(Level::Error),
            "fatal" | "critical" => Ok(Level::Fatal),
            _ => Err(UnknownLevel(name.to_string())),
        }
    }
}

/// The user an event happened to. Unset fields are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct User {
    /// Your id for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Login name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// One event. Build it with struct update syntax; every field has a default:
///
/// ```
/// use std::collections::HashMap;
/// use pulsekit::{Event, Level};
/// use serde_json::json;
///
/// let event = Event {
///     event_type: "payment.success".into(),
///     level: Level::Info,
///     message: "Order 1234 paid".into(),
///     metadata: json!({"amount_cents": 4999, "currency": "EUR"}),
///     tags: HashMap::from([("provider".into(), "stripe".into())]),
///     ..Default::default()
/// };
/// assert_eq!(event.event_type, "payment.success");
/// ```
///
/// Empty strings, empty maps, `Value::Null` and `None` are left out of what is sent.
#[derive(Clone, Debug, Default)]
pub struct Event {
    /// The id; the SDK sets a new one when capturing.
    pub id: Option<EventId>,
    /// E.g. `payment.success` (letters, digits, `_ . : -`). Empty: `error` for exceptions and
    /// levels error/fatal, else `message`.
    pub event_type: String,
    /// How severe it is (default `info`).
    pub level: Level,
    /// Free text.
    pub message: String,
    /// Any JSON; an object is sent as is, another value as `{"value": …}`. Global and scope
    /// context is merged in (the event's own keys win).
    pub metadata: Value,
    /// Tags for filtering, string to string. Global and scope tags are added (the event's own win).
    pub tags: HashMap<String, String>,
    /// The user; default: the scope's or global user.
    pub user: Option<User>,
    /// Overrides grouping: events with the same fingerprint form one issue.
    pub fingerprint: Vec<String>,
    /// The error, for error events.
    pub exception: Option<Exception>,
    /// Where it happened: the frames of the primary exception or panic.
    pub stacktrace: Option<Stacktrace>,
    /// Default: `Options::environment`.
    pub environment: Option<String>,
    /// Default: `Options::release`.
    pub release: Option<String>,
    /// When it happened; the SDK sets the capture time when unset.
    pub timestamp: Option<SystemTime>,
}

/// An error: its type name, message, and the errors it was caused by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exception {
    /// The error's type name, e.g. `CheckoutError` or `io::Error`.
    pub exception_type: String,
    /// The error's message (its `Display`).
    pub value: String,
    /// The module path of the type, when known (e.g. `shop::billing`).
    pub module: Option<String>,
    /// Where this error was created; only sent for the errors in `chain` (the primary
    /// exception's frames go in `Event::stacktrace`).
    pub stacktrace: Option<Stacktrace>,
    /// The errors this one was caused by (`Error::source()`), the direct cause first.
    pub chain: Vec<Exception>,
}

/// Stack frames, oldest first: the failing frame is the last one.
#[derive(Clone, Debug, Default)]
pub struct Stacktrace {
    /// The frames, oldest first.
    pub frames: Vec<Frame>,
    /// A captured backtrace that the worker thread turns into frames (symbol resolution reads
    /// debug information from disk, which capture must never wait for).
    pub(crate) pending: Option<PendingTrace>,
}

impl PartialEq for Stacktrace {
    fn eq(&self, other: &Self) -> bool {
        self.frames == other.frames
    }
}

impl Eq for Stacktrace {}

impl Stacktrace {
    /// A stacktrace of these frames (oldest first).
    pub fn from_frames(frames: Vec<Frame>) -> Self {
        Stacktrace {
            frames,
            pending: None,
        }
    }
}

/// What a pending backtrace still needs: resolution, then trimming of the SDK's own frames.
#[derive(Clone, Debug)]
pub(crate) struct PendingTrace {
    pub(crate) backtrace: Arc<std::backtrace::Backtrace>,
    pub(crate) trim: crate::stacktrace::Trim,
}

/// One stack frame. Unset fields are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// The function's own name, e.g. `charge_card` (closures: `handle::{{closure}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The module path, e.g. `shop::billing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The source file as the build saw it, e.g. `src/billing.rs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The absolute path of the source file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// Line number (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineno: Option<u32>,
    /// Column number (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colno: Option<u32>,
    /// Whether the frame is the application's own code (not std, core or a dependency).
    pub in_app: bool,
}
