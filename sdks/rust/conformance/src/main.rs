//! The Rust SDK's conformance program: performs every vector's calls against a PulseKit server.
//!
//! Contract (sdks/conformance/README.md): reads PULSEKIT_ENDPOINT, PULSEKIT_API_KEY and
//! PULSEKIT_VECTORS_DIR; for each vector prints one line {"vector": name, "ids": [...]} with the
//! ids the captures returned, in call order; exits non-zero when a flush did not complete.

use std::backtrace::Backtrace;
use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pulsekit::{Event, Level, User};
use serde_json::{json, Value};

/// An error whose reported name is the vector's `type`, created where the vector says.
#[derive(Debug)]
struct VectorError {
    type_name: String,
    message: String,
    cause: Option<Box<VectorError>>,
    created_at: Backtrace,
}

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for VectorError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().map(|cause| cause as &dyn Error)
    }
}

impl pulsekit::ErrorDetails for VectorError {
    fn type_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.type_name)
    }

    fn backtrace(&self) -> Option<&Backtrace> {
        Some(&self.created_at)
    }
}

/// Defines one function per name a vector may give, so that frames carry exactly that name:
/// each first raises its cause (by calling the cause's function), then creates its own error.
macro_rules! vector_functions {
    ($($name:ident),* $(,)?) => {
        $(
            #[inline(never)]
            fn $name(spec: &Value) -> VectorError {
                let cause = spec.get("cause").filter(|c| c.is_object()).map(|c| Box::new(raise(c)));
                new_error(spec, cause, Backtrace::force_capture())
            }
        )*

        fn raise(spec: &Value) -> VectorError {
            match spec["function"].as_str().unwrap_or_default() {
                $(stringify!($name) => $name(spec),)*
                other => panic!("a vector names function {other:?}: add it to vector_functions!"),
            }
        }
    };
}

vector_functions!(charge_card, call_gateway);

fn new_error(spec: &Value, cause: Option<Box<VectorError>>, created_at: Backtrace) -> VectorError {
    VectorError {
        type_name: text(&spec["type"]),
        message: text(&spec["message"]),
        cause,
        created_at,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn tags(value: &Value) -> HashMap<String, String> {
    value
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default()
}

fn user(value: &Value) -> Option<User> {
    let field = |name: &str| value.get(name).filter(|v| !v.is_null()).map(text);
    value.is_object().then(|| User {
        id: field("id"),
        email: field("email"),
        username: field("username"),
        ip_address: field("ip_address"),
    })
}

fn level(value: &Value) -> Level {
    value
        .as_str()
        .and_then(|name| name.parse().ok())
        .unwrap_or_default()
}

fn run_calls(calls: &[Value], ids: &mut Vec<Option<String>>) {
    for step in calls {
        let args = &step["args"];
        match step["call"].as_str().unwrap_or_default() {
            "set_tag" => pulsekit::set_tag(text(&args["key"]), text(&args["value"])),
            "set_user" => pulsekit::set_user(user(&args["user"])),
            "set_context" => pulsekit::set_context(text(&args["key"]), args["value"].clone()),
            "capture" => ids.push(capture(Event {
                event_type: text(&args["type"]),
                level: level(&args["level"]),
                message: text(&args["message"]),
                metadata: args["metadata"].clone(),
                tags: tags(&args["tags"]),
                ..Default::default()
            })),
            "capture_message" if args["tags"].is_object() => ids.push(capture(Event {
                message: text(&args["message"]),
                level: level(&args["level"]),
                tags: tags(&args["tags"]),
                ..Default::default()
            })),
            "capture_message" => {
                let id = pulsekit::capture_message(text(&args["message"]), level(&args["level"]));
                ids.push(id.map(|id| id.to_string()));
            }
            "capture_exception" => {
                let error = raise(&args["error"]);
                let id = pulsekit::with_scope(|scope| {
                    for (key, value) in tags(&args["tags"]) {
                        scope.set_tag(key, value);
                    }
                    pulsekit::capture_error(&error)
                });
                ids.push(id.map(|id| id.to_string()));
            }
            "scope" => pulsekit::with_scope(|scope| {
                for (key, value) in tags(&args["tags"]) {
                    scope.set_tag(key, value);
                }
                if let Some(user) = user(&args["user"]) {
                    scope.set_user(Some(user));
                }
                if let Some(context) = args["context"].as_object() {
                    for (key, value) in context {
                        scope.set_context(key.clone(), value.clone());
                    }
                }
                run_calls(
                    step["calls"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                    ids,
                );
            }),
            other => panic!("unknown call {other:?} in a vector"),
        }
    }
}

fn capture(event: Event) -> Option<String> {
    pulsekit::capture(event).map(|id| id.to_string())
}

fn main() -> ExitCode {
    let vectors_dir = std::env::var_os("PULSEKIT_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../conformance/vectors"));
    let flush_timeout = std::env::var("PULSEKIT_FLUSH_TIMEOUT_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(30.0);
    let endpoint = std::env::var("PULSEKIT_ENDPOINT").expect("PULSEKIT_ENDPOINT is required");
    let api_key = std::env::var("PULSEKIT_API_KEY").expect("PULSEKIT_API_KEY is required");
    pulsekit::register_error_type::<VectorError>();

    let mut paths: Vec<PathBuf> = std::fs::read_dir(&vectors_dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", vectors_dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut is_complete = true;
    for path in paths {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("vector"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let init = &vector["input"]["init"];
        let guard = pulsekit::try_init(pulsekit::Options {
            endpoint: endpoint.clone(),
            api_key: api_key.clone(),
            environment: init["environment"].as_str().map(str::to_string),
            release: init["release"].as_str().map(str::to_string),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut ids = Vec::new();
        run_calls(
            vector["input"]["calls"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default(),
            &mut ids,
        );
        let is_flushed = pulsekit::flush(Duration::from_secs_f64(flush_timeout));
        if !is_flushed {
            eprintln!(
                "{}: flush incomplete; dropped: {:?}",
                vector["name"],
                guard.dropped_events()
            );
        }
        drop(guard);
        println!(
            "{}",
            json!({"vector": vector["name"], "ids": ids, "flushed": is_flushed})
        );
        is_complete &= is_flushed;
    }
    if is_complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
