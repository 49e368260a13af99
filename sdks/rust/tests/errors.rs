//! Error chains: `source()` is walked, each error reported with its type name and, when it
//! recorded one, the frames where it was created.

mod common;

use std::backtrace::Backtrace;
use std::error::Error;
use std::fmt;
use std::time::Duration;

use common::{serial, TestServer};
use serde_json::Value;

const FLUSH: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct ReadConfigError {
    path: String,
    source: std::io::Error,
}

impl fmt::Display for ReadConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}", self.path)
    }
}

impl Error for ReadConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

#[derive(Debug)]
enum StartupError {
    Config(ReadConfigError),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("start-up failed")
    }
}

impl Error for StartupError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StartupError::Config(error) => Some(error),
        }
    }
}

/// An error that records where it was created, reported through `ErrorDetails`.
#[derive(Debug)]
struct GatewayTimeout {
    created_at: Backtrace,
}

impl fmt::Display for GatewayTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("gateway timed out after 30s")
    }
}

impl Error for GatewayTimeout {}

impl pulsekit::ErrorDetails for GatewayTimeout {
    fn backtrace(&self) -> Option<&Backtrace> {
        Some(&self.created_at)
    }
}

#[derive(Debug)]
struct CheckoutError(GatewayTimeout);

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

#[inline(never)]
fn call_gateway() -> GatewayTimeout {
    GatewayTimeout {
        created_at: Backtrace::force_capture(),
    }
}

#[inline(never)]
fn read_config() -> Result<String, StartupError> {
    let path = "/nonexistent/pulsekit.toml";
    std::fs::read_to_string(path).map_err(|source| {
        StartupError::Config(ReadConfigError {
            path: path.into(),
            source,
        })
    })
}

fn chain_types(event: &Value) -> Vec<&str> {
    event["exception"]["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

fn functions(stacktrace: &Value) -> Vec<(&str, bool)> {
    stacktrace["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["function"].as_str().unwrap(),
                f["in_app"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_source_chain_is_reported_direct_cause_first_with_type_names() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());

    let error = read_config().unwrap_err();
    pulsekit::capture_error(&error).unwrap();
    assert!(pulsekit::flush(FLUSH));

    let event = &server.events()[0];
    assert_eq!(event["type"], "error");
    assert_eq!(event["level"], "error");
    assert_eq!(event["message"], "start-up failed");
    assert_eq!(event["exception"]["type"], "StartupError");
    assert_eq!(event["exception"]["module"], "errors");
    // A cause is named by what its derived Debug prints; std's io::Error is known by name.
    assert_eq!(chain_types(event), ["ReadConfigError", "io::Error"]);
    assert_eq!(
        event["exception"]["chain"][0]["value"],
        "cannot read /nonexistent/pulsekit.toml"
    );
    assert!(event["exception"]["chain"][1]["value"]
        .as_str()
        .unwrap()
        .contains("No such file"));
}

#[test]
fn without_a_backtrace_of_its_own_the_error_gets_the_frames_of_the_capture_call() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());

    let boxed: Box<dyn Error + Send + Sync> = "12x".parse::<u32>().unwrap_err().into();
    capture_at_the_call_site(&*boxed);
    assert!(pulsekit::flush(FLUSH));

    let event = &server.events()[0];
    assert_eq!(event["exception"]["type"], "ParseIntError");
    let frames = functions(&event["stacktrace"]);
    assert_eq!(frames.last(), Some(&("capture_at_the_call_site", true)));
    assert!(event["stacktrace"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["module"].as_str().unwrap_or("").starts_with("pulsekit")));
}

#[inline(never)]
fn capture_at_the_call_site(error: &(dyn Error + Send + Sync + 'static)) {
    pulsekit::capture_error(error);
}

#[test]
fn a_registered_error_type_reports_its_name_and_where_it_was_created() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());
    pulsekit::register_error_type::<GatewayTimeout>();

    let error = CheckoutError(call_gateway());
    pulsekit::capture_error(&error);
    assert!(pulsekit::flush(FLUSH));

    let event = &server.events()[0];
    assert_eq!(event["exception"]["type"], "CheckoutError");
    let cause = &event["exception"]["chain"][0];
    assert_eq!(cause["type"], "GatewayTimeout");
    let frames = functions(&cause["stacktrace"]);
    assert_eq!(frames.last(), Some(&("call_gateway", true)));
    assert!(frames.contains(&(
        "a_registered_error_type_reports_its_name_and_where_it_was_created",
        true
    )));
    let frame = cause["stacktrace"]["frames"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(frame["filename"], "tests/errors.rs");
    assert!(frame["lineno"].as_u64().unwrap() > 0);
}
