//! A `tracing_subscriber` layer that turns tracing events (error level by default) into
//! PulseKit events.

use std::error::Error;
use std::fmt;

use serde_json::{Map, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::client::current;
use crate::event::{Event, Exception, Level, Stacktrace};
use crate::worker::on_worker_thread;

/// Sends tracing events at `min_level` or more severe (default: `ERROR`) to PulseKit.
///
/// The `message` becomes the event's message, the other fields its metadata, the target the
/// tag `logger`; a field recorded as an error (`error = &err as &dyn Error`) becomes the
/// exception with its `source()` chain.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(pulsekit::TracingLayer::new());
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::error!(order_id = 1234, "payment failed");
/// });
/// ```
#[derive(Debug, Clone)]
pub struct TracingLayer {
    min_level: tracing_core::Level,
}

impl TracingLayer {
    /// A layer for `ERROR` events.
    pub fn new() -> Self {
        TracingLayer {
            min_level: tracing_core::Level::ERROR,
        }
    }

    /// Also sends events of this level and above (e.g. `Level::WARN`).
    pub fn min_level(mut self, level: tracing_core::Level) -> Self {
        self.min_level = level;
        self
    }
}

impl Default for TracingLayer {
    fn default() -> Self {
        TracingLayer::new()
    }
}

impl<S: Subscriber> Layer<S> for TracingLayer {
    fn on_event(&self, event: &TracingEvent<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        // tracing orders levels by verbosity: ERROR is the smallest.
        if *metadata.level() > self.min_level || on_worker_thread() {
            return;
        }
        let Some(client) = current() else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = match *metadata.level() {
            tracing_core::Level::ERROR => Level::Error,
            tracing_core::Level::WARN => Level::Warning,
            tracing_core::Level::INFO => Level::Info,
            _ => Level::Debug,
        };
        let mut tracing_info = Map::new();
        tracing_info.insert("target".into(), metadata.target().into());
        if let (Some(file), Some(line)) = (metadata.file(), metadata.line()) {
            tracing_info.insert("location".into(), format!("{file}:{line}").into());
        }
        fields
            .metadata
            .insert("tracing".into(), Value::Object(tracing_info));
        let (exception, stacktrace) = match fields.error {
            Some((exception, frames)) => {
                let trace = frames.or_else(|| client.call_site_trace());
                (Some(exception), trace)
            }
            None => (None, None),
        };
        client.capture(Event {
            level,
            message: fields
                .message
                .or_else(|| exception.as_ref().map(|e| e.value.clone()))
                .unwrap_or_default(),
            metadata: Value::Object(fields.metadata),
            tags: [("logger".to_string(), metadata.target().to_string())].into(),
            exception,
            stacktrace,
            ..Default::default()
        });
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    metadata: Map<String, Value>,
    error: Option<(Exception, Option<Stacktrace>)>,
}

impl Fields {
    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.metadata.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::String(value.to_string()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        self.insert(field, Value::String(value.to_string()));
        if self.error.is_none() {
            if let Some(client) = current() {
                self.error = Some(client.describe_error(value));
            }
        }
    }
}
