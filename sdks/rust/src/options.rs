//! The options of `init`: validated once, so that a mistake fails at start-up and never later.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::transport::Transport;

/// Limits of docs/protocol.md that apply to configuration.
const MAX_ENVIRONMENT_CHARS: usize = 64;
const MAX_RELEASE_CHARS: usize = 200;
/// The server refuses larger batches.
const MAX_BATCH_EVENTS: usize = 1000;

/// A function that edits an event before it is sent, or drops it by returning `None`.
pub type BeforeSend = Arc<dyn Fn(Event) -> Option<Event> + Send + Sync>;

/// Everything `init` accepts. Every field has a default, so write only what you need:
///
/// ```no_run
/// let _guard = pulsekit::init(pulsekit::Options {
///     dsn: Some("http://pk_…@127.0.0.1:4000/1".into()),
///     environment: Some("production".into()),
///     release: Some("shop@2.4.1".into()),
///     ..Default::default()
/// });
/// ```
///
/// With neither `dsn` nor `endpoint`, `init` reads `PULSEKIT_DSN`, or `PULSEKIT_ENDPOINT` and
/// `PULSEKIT_API_KEY`, from the environment.
#[derive(Clone)]
pub struct Options {
    /// `http://KEY@host:port/PROJECT`, as the dashboard shows it (instead of `endpoint` + `api_key`).
    pub dsn: Option<String>,
    /// Base URL of the PulseKit server, e.g. `http://127.0.0.1:4000`.
    pub endpoint: String,
    /// A key with the `ingest` permission (`pk_…`).
    pub api_key: String,
    /// E.g. `production`: 1–64 characters, no `/`.
    pub environment: Option<String>,
    /// E.g. `shop@2.4.1`: 1–200 characters.
    pub release: Option<String>,
    /// Tags on every event, set at start-up.
    pub tags: HashMap<String, String>,
    /// Fraction of events kept, 0.0–1.0 (default 1.0). The rest are dropped and counted.
    pub sample_rate: f64,
    /// Edits or drops (`None`) each event before it is sent. Runs on the SDK's worker thread,
    /// after the stack trace is resolved; a panic in it drops the event.
    pub before_send: Option<BeforeSend>,
    /// Events waiting to be sent (default 1,000); when full, new events are dropped and counted.
    pub max_queue_size: usize,
    /// Estimated bytes of the events waiting to be sent (default 10 MiB); past it, new events
    /// are dropped and counted.
    pub max_queue_bytes: usize,
    /// Events per request (default 100, at most 1,000).
    pub max_batch_size: usize,
    /// Longest wait for a batch to fill before it is sent (default 1 s).
    pub batch_interval: Duration,
    /// Retries of one batch after network errors, 5xx, 429 and 503 (default 8).
    pub max_retries: u32,
    /// Connect + response timeout of one request (default 10 s).
    pub timeout: Duration,
    /// How long the guard's drop (and the panic hook) wait for queued events (default 2 s).
    pub shutdown_timeout: Duration,
    /// Install a panic hook that reports panics, flushes, then calls the previous hook (default true).
    pub capture_panics: bool,
    /// `capture_error` records where it was called when the error brings no backtrace of its
    /// own (default true).
    pub attach_stacktrace: bool,
    /// Crates whose frames count as the application's own, even from the cargo registry.
    pub in_app_include: Vec<String>,
    /// Crates whose frames never count as the application's own.
    pub in_app_exclude: Vec<String>,
    /// Sends the batches; default: reqwest (feature `reqwest`), else ureq (feature `ureq`).
    pub transport: Option<Arc<dyn Transport>>,
    /// Print what the SDK does (retries, drops) to stderr (default false). Refusals by the
    /// server (a bad key, an invalid event) are always printed, once each.
    pub debug: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dsn: None,
            endpoint: String::new(),
            api_key: String::new(),
            environment: None,
            release: None,
            tags: HashMap::new(),
            sample_rate: 1.0,
            before_send: None,
            max_queue_size: 1000,
            max_queue_bytes: 10 * 1024 * 1024,
            max_batch_size: 100,
            batch_interval: Duration::from_secs(1),
            max_retries: 8,
            timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(2),
            capture_panics: true,
            attach_stacktrace: true,
            in_app_include: Vec::new(),
            in_app_exclude: Vec::new(),
            transport: None,
            debug: false,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: show its prefix only.
        let key_prefix: String = self.api_key.chars().take(10).collect();
        f.debug_struct("Options")
            .field("dsn", &self.dsn.as_ref().map(|_| "…"))
            .field("endpoint", &self.endpoint)
            .field("api_key", &format_args!("{key_prefix}…"))
            .field("environment", &self.environment)
            .field("release", &self.release)
            .field("tags", &self.tags)
            .field("sample_rate", &self.sample_rate)
            .field("before_send", &self.before_send.is_some())
            .field("max_queue_size", &self.max_queue_size)
            .field("max_queue_bytes", &self.max_queue_bytes)
            .field("max_batch_size", &self.max_batch_size)
            .field("batch_interval", &self.batch_interval)
            .field("max_retries", &self.max_retries)
            .field("timeout", &self.timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("capture_panics", &self.capture_panics)
            .field("attach_stacktrace", &self.attach_stacktrace)
            .field("in_app_include", &self.in_app_include)
            .field("in_app_exclude", &self.in_app_exclude)
            .field("transport", &self.transport.is_some())
            .field("debug", &self.debug)
            .finish()
    }
}

impl From<&str> for Options {
    /// Options with this DSN and defaults for everything else.
    fn from(dsn: &str) -> Self {
        Options {
            dsn: Some(dsn.to_string()),
            ..Default::default()
        }
    }
}

impl From<String> for Options {
    fn from(dsn: String) -> Self {
        Options {
            dsn: Some(dsn),
            ..Default::default()
        }
    }
}

impl<S: Into<String>> From<(S, Options)> for Options {
    /// A DSN with other options: `pulsekit::init(("http://…", Options { … }))`.
    fn from((dsn, options): (S, Options)) -> Self {
        Options {
            dsn: Some(dsn.into()),
            ..options
        }
    }
}

/// An option `init` cannot work with; the message names the option and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The option's name, e.g. `sample_rate`.
    pub option: &'static str,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid option `{}`: {}", self.option, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn invalid(option: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        option,
        message: message.into(),
    }
}

/// The parts of a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// Base URL of the server, e.g. `http://127.0.0.1:4000`.
    pub endpoint: String,
    /// The API key.
    pub api_key: String,
    /// The project number (only the Sentry-compatible endpoints need it).
    pub project: String,
}

impl Dsn {
    /// Splits `http://KEY@host:port/[prefix/]PROJECT` into endpoint, key and project number.
    pub fn parse(dsn: &str) -> Result<Dsn, ConfigError> {
        let dsn = dsn.trim();
        let example = "such as http://pk_…@127.0.0.1:4000/1";
        let (scheme, rest) = dsn
            .split_once("://")
            .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
            .ok_or_else(|| {
                invalid(
                    "dsn",
                    format!("must start with http:// or https://, {example}"),
                )
            })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (key, host) = authority
            .rsplit_once('@')
            .ok_or_else(|| invalid("dsn", format!("has no API key before the host, {example}")))?;
        if key.is_empty() || host.is_empty() || host.starts_with(':') {
            return Err(invalid("dsn", format!("needs a key and a host, {example}")));
        }
        if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
            if port.parse::<u16>().is_err() {
                return Err(invalid("dsn", format!("has an invalid port {port:?}")));
            }
        }
        let path = path.trim_end_matches('/');
        let (prefix, project) = path.rsplit_once('/').unwrap_or(("", path));
        if project.is_empty() || !project.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "dsn",
                format!("must end with the project number (an integer), {example}"),
            ));
        }
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("/{prefix}")
        };
        Ok(Dsn {
            endpoint: format!("{scheme}://{host}{prefix}"),
            api_key: key.split(':').next().unwrap_or(key).to_string(),
            project: project.to_string(),
        })
    }
}

/// Options after validation, with the endpoint and key resolved.
pub(crate) struct Config {
    pub(crate) options: Options,
    /// `{endpoint}/api/v1/events/batch`
    pub(crate) batch_url: String,
}

impl Config {
    /// Validates `options`, falling back to PULSEKIT_DSN or PULSEKIT_ENDPOINT + PULSEKIT_API_KEY.
    pub(crate) fn new(options: Options) -> Result<Config, ConfigError> {
        let mut options = resolve_endpoint(options)?;
        let endpoint = options.endpoint.trim().trim_end_matches('/').to_string();
        let valid_url = (endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            && endpoint.split_once("://").is_some_and(|(_, rest)| {
                let host = rest.split('/').next().unwrap_or("");
                !host.is_empty() && !rest.contains(['?', '#', ' ', '@'])
            });
        if !valid_url {
            return Err(invalid(
                "endpoint",
                format!("must be a URL like http://127.0.0.1:4000, got {endpoint:?}"),
            ));
        }
        options.endpoint = endpoint;
        if options.api_key.is_empty() || options.api_key.chars().any(|c| c.is_control() || c == ' ')
        {
            return Err(invalid(
                "api_key",
                "must be a non-empty key without spaces, e.g. pk_…",
            ));
        }
        check_text(
            "environment",
            options.environment.as_deref(),
            MAX_ENVIRONMENT_CHARS,
        )?;
        if options
            .environment
            .as_deref()
            .is_some_and(|e| e.contains('/'))
        {
            return Err(invalid("environment", "must not contain \"/\""));
        }
        check_text("release", options.release.as_deref(), MAX_RELEASE_CHARS)?;
        if !(0.0..=1.0).contains(&options.sample_rate) {
            return Err(invalid(
                "sample_rate",
                format!("must be between 0.0 and 1.0, got {}", options.sample_rate),
            ));
        }
        check_count("max_queue_size", options.max_queue_size, 1, 10_000_000)?;
        check_count("max_queue_bytes", options.max_queue_bytes, 1024, usize::MAX)?;
        check_count(
            "max_batch_size",
            options.max_batch_size,
            1,
            MAX_BATCH_EVENTS,
        )?;
        check_count("max_retries", options.max_retries as usize, 0, 100)?;
        if options.timeout.is_zero() {
            return Err(invalid("timeout", "must be longer than zero"));
        }
        if options.transport.is_none() && !cfg!(any(feature = "reqwest", feature = "ureq")) {
            return Err(invalid(
                "transport",
                "no HTTP client: enable the `reqwest` or `ureq` feature, or pass a Transport",
            ));
        }
        let batch_url = format!("{}/api/v1/events/batch", options.endpoint);
        Ok(Config { options, batch_url })
    }
}

fn resolve_endpoint(mut options: Options) -> Result<Options, ConfigError> {
    let has_explicit = !options.endpoint.is_empty() || !options.api_key.is_empty();
    if options.dsn.is_some() && has_explicit {
        return Err(invalid(
            "dsn",
            "give either dsn or endpoint + api_key, not both",
        ));
    }
    if options.dsn.is_none() && !has_explicit {
        if let Some(dsn) = std::env::var("PULSEKIT_DSN").ok().filter(|v| !v.is_empty()) {
            options.dsn = Some(dsn);
        } else {
            options.endpoint = std::env::var("PULSEKIT_ENDPOINT").unwrap_or_default();
            options.api_key = std::env::var("PULSEKIT_API_KEY").unwrap_or_default();
            if options.endpoint.is_empty() {
                return Err(invalid(
                    "dsn",
                    "no server configured: set dsn (or endpoint and api_key), or PULSEKIT_DSN",
                ));
            }
        }
    }
    if let Some(dsn) = options.dsn.take() {
        let parsed = Dsn::parse(&dsn)?;
        options.endpoint = parsed.endpoint;
        options.api_key = parsed.api_key;
    }
    Ok(options)
}

fn check_text(
    option: &'static str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<(), ConfigError> {
    match value {
        Some(text)
            if text.is_empty()
                || text.chars().count() > max_chars
                || text.chars().any(char::is_control) =>
        {
            Err(invalid(
                option,
                format!("must be 1–{max_chars} characters without control characters"),
            ))
        }
        _ => Ok(()),
    }
}

fn check_count(
    option: &'static str,
    value: usize,
    low: usize,
    high: usize,
) -> Result<(), ConfigError> {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            option,
            format!("must be between {low} and {high}, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_gives_the_endpoint_without_key_and_project() {
        let cases = [
            (
                "http://pk_abc@127.0.0.1:4000/3",
                "http://127.0.0.1:4000",
                "pk_abc",
                "3",
            ),
            (
                "https://pk_abc@example.com/tracker/12/",
                "https://example.com/tracker",
                "pk_abc",
                "12",
            ),
            (
                "http://pk_abc:secret@[::1]:4000/1",
                "http://[::1]:4000",
                "pk_abc",
                "1",
            ),
        ];
        for (dsn, endpoint, key, project) in cases {
            let parsed = Dsn::parse(dsn).unwrap();
            assert_eq!(
                (
                    parsed.endpoint.as_str(),
                    parsed.api_key.as_str(),
                    parsed.project.as_str()
                ),
                (endpoint, key, project)
            );
        }
    }

    #[test]
    fn invalid_options_name_the_option() {
        let base = || Options {
            endpoint: "http://127.0.0.1:4000".into(),
            api_key: "pk_x".into(),
            ..Default::default()
        };
        let cases: Vec<(Options, &str)> = vec![
            (Options::from("ftp://pk@h/1"), "dsn"),
            (Options::from("http://127.0.0.1:4000/1"), "dsn"),
            (Options::from("http://pk@127.0.0.1:4000/abc"), "dsn"),
            (
                Options {
                    sample_rate: 1.5,
                    ..base()
                },
                "sample_rate",
            ),
            (
                Options {
                    environment: Some("a/b".into()),
                    ..base()
                },
                "environment",
            ),
            (
                Options {
                    release: Some(String::new()),
                    ..base()
                },
                "release",
            ),
            (
                Options {
                    max_batch_size: 5000,
                    ..base()
                },
                "max_batch_size",
            ),
            (
                Options {
                    endpoint: "127.0.0.1:4000".into(),
                    ..base()
                },
                "endpoint",
            ),
            (
                Options {
                    api_key: "pk x".into(),
                    ..base()
                },
                "api_key",
            ),
            (
                Options {
                    dsn: Some("http://pk@h:1/1".into()),
                    ..base()
                },
                "dsn",
            ),
        ];
        for (options, option) in cases {
            let error = Config::new(options).err().expect(option);
            assert_eq!(error.option, option, "{error}");
        }
        assert!(Config::new(base()).is_ok());
    }
}
