//! The panic hook: reports the panic (message, location, backtrace), flushes, then calls the
//! hook that was installed before (by default, the one that prints the panic).

use std::sync::Once;

use serde_json::json;

use crate::client::{current, pending_trace};
use crate::event::{Event, Exception, Level};
use crate::stacktrace::Trim;
use crate::worker::on_worker_thread;

static INSTALL: Once = Once::new();

/// Installs the hook once per process; it reports to whichever client is installed when a
/// panic happens, so a second `init` does not stack hooks.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "Box<dyn Any>".to_string());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            report_panic(message, location);
            previous(info);
        }));
    });
}

fn report_panic(message: String, location: Option<String>) {
    // The worker's own panics are not reported: reporting them would go through the worker.
    if on_worker_thread() {
        return;
    }
    let Some(client) = current() else {
        return;
    };
    if !client.options().capture_panics {
        return;
    }
    let thread = std::thread::current();
    let event = Event {
        level: Level::Fatal,
        message: message.clone(),
        exception: Some(Exception {
            exception_type: "panic".into(),
            value: message,
            ..Default::default()
        }),
        stacktrace: Some(pending_trace(Trim::Panic)),
        metadata: json!({"panic": {
            "thread": thread.name().unwrap_or("<unnamed>"),
            "location": location,
        }}),
        ..Default::default()
    };
    client.capture(event);
    // The process may be about to end (panic = "abort", or the main thread unwinding).
    client.flush(client.options().shutdown_timeout);
}
