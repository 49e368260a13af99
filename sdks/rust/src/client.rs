//! The client: turns calls into events, applies sampling, scopes and stack traces, and hands
//! them to the worker. Nothing here panics into the host application.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::errors::{exception_from_error, AsError};
use crate::event::{Event, Level, PendingTrace, Stacktrace};
use crate::options::{Config, ConfigError, Options};
use crate::scope;
use crate::stacktrace::{InAppRules, Trim};
use crate::util::{random_unit, EventId};
use crate::wire::estimate_size;
use crate::worker::Worker;

/// One configured connection to a PulseKit server; `init` installs one globally.
pub(crate) struct Client {
    config: Arc<Config>,
    worker: Arc<Worker>,
    rules: InAppRules,
}

static CURRENT: RwLock<Option<Arc<Client>>> = RwLock::new(None);

/// The installed client, if any.
pub(crate) fn current() -> Option<Arc<Client>> {
    CURRENT.read().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Client {
    pub(crate) fn new(options: Options) -> Result<Arc<Client>, ConfigError> {
        let config = Arc::new(Config::new(options)?);
        let rules = InAppRules {
            include: config.options.in_app_include.clone(),
            exclude: config.options.in_app_exclude.clone(),
        };
        Ok(Arc::new(Client {
            worker: Worker::start(Arc::clone(&config)),
            config,
            rules,
        }))
    }

    pub(crate) fn options(&self) -> &Options {
        &self.config.options
    }

    /// Installs this client globally, returning the one it replaces.
    pub(crate) fn install(self: &Arc<Self>) -> Option<Arc<Client>> {
        scope::reset_global(self.config.options.tags.clone());
        CURRENT
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .replace(Arc::clone(self))
    }

    /// Uninstalls this client if it is the installed one.
    pub(crate) fn uninstall(self: &Arc<Self>) {
        let mut current = CURRENT.write().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, self)) {
            *current = None;
        }
    }

    /// Queues one event; its id, or `None` when it was dropped (sampling, full queue, closed).
    pub(crate) fn capture(&self, mut event: Event) -> Option<EventId> {
        // Sample first: an event that will not be kept should cost nothing more.
        let sample_rate = self.config.options.sample_rate;
        if sample_rate < 1.0 && random_unit() >= sample_rate {
            self.worker.count_drop("sample_rate", 1);
            return None;
        }
        let id = *event.id.get_or_insert_with(EventId::new);
        event.timestamp.get_or_insert_with(SystemTime::now);
        if event.environment.is_none() {
            event
                .environment
                .clone_from(&self.config.options.environment);
        }
        if event.release.is_none() {
            event.release.clone_from(&self.config.options.release);
        }
        scope::apply_scopes(&mut event);
        let size = estimate_size(&event);
        self.worker.submit(event, size).then_some(id)
    }

    /// Captures `error` and its `source()` chain as one error event.
    pub(crate) fn capture_error<E: AsError + ?Sized>(
        &self,
        error: &E,
        level: Level,
    ) -> Option<EventId> {
        let (exception, own_frames) =
            exception_from_error(error.as_error(), error.static_type_name(), &self.rules);
        let stacktrace = own_frames.or_else(|| {
            self.config
                .options
                .attach_stacktrace
                .then(|| pending_trace(Trim::CaptureSite))
        });
        self.capture(Event {
            level,
            message: exception.value.clone(),
            exception: Some(exception),
            stacktrace,
            ..Default::default()
        })
    }

    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        self.worker.flush(timeout)
    }

    pub(crate) fn close(&self, timeout: Duration) -> bool {
        self.worker.close(timeout)
    }

    pub(crate) fn dropped(&self) -> BTreeMap<String, u64> {
        self.worker.dropped()
    }
}

/// A backtrace of the current thread, resolved later on the worker thread.
pub(crate) fn pending_trace(trim: Trim) -> Stacktrace {
    Stacktrace {
        frames: Vec::new(),
        pending: Some(PendingTrace {
            backtrace: Arc::new(std::backtrace::Backtrace::force_capture()),
            trim,
        }),
    }
}

#[cfg(feature = "tracing")]
impl Client {
    /// The exception for an error found in a tracing event, and its own frames if any.
    pub(crate) fn describe_error(
        &self,
        error: &(dyn std::error::Error + 'static),
    ) -> (crate::event::Exception, Option<Stacktrace>) {
        exception_from_error(error, None, &self.rules)
    }

    /// Where the current code is, when `attach_stacktrace` is on.
    pub(crate) fn call_site_trace(&self) -> Option<Stacktrace> {
        self.config
            .options
            .attach_stacktrace
            .then(|| pending_trace(Trim::CaptureSite))
    }
}
