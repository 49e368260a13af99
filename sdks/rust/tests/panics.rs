//! The panic hook, in a child process (this test binary run again on one test): it reports the
//! panic with its message, location and frames, flushes, then calls the previous hook.

mod common;

use std::process::Command;

use common::TestServer;
use serde_json::Value;

const CHILD_ENDPOINT: &str = "PULSEKIT_TEST_PANIC_ENDPOINT";

#[inline(never)]
fn explode_order(order_id: u32) {
    let lines: Vec<u32> = Vec::new();
    if lines.is_empty() {
        panic!("order {order_id} has no lines");
    }
}

fn run_child() {
    let endpoint = std::env::var(CHILD_ENDPOINT).unwrap();
    let _guard = pulsekit::init(pulsekit::Options {
        endpoint,
        api_key: "pk_test_key".into(),
        ..Default::default()
    });
    pulsekit::configure_scope(|scope| scope.set_tag("job", "invoices"));
    explode_order(1234);
}

#[test]
fn a_panic_is_reported_with_message_location_and_frames_then_the_previous_hook_runs() {
    if std::env::var_os(CHILD_ENDPOINT).is_some() {
        return run_child();
    }
    let server = TestServer::start();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_is_reported_with_message_location_and_frames_then_the_previous_hook_runs",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENDPOINT, &server.url)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child's test panicked");
    // The default hook (the previous one) still printed the panic.
    assert!(
        stderr.contains("panicked at tests/panics.rs:")
            && stderr.contains("order 1234 has no lines"),
        "{stderr}"
    );

    let events = server.events();
    assert_eq!(events.len(), 1, "the hook flushed before the process ended");
    let event = &events[0];
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["type"], "error");
    assert_eq!(event["message"], "order 1234 has no lines");
    assert_eq!(event["exception"]["type"], "panic");
    assert_eq!(event["exception"]["value"], "order 1234 has no lines");
    assert_eq!(event["tags"]["job"], "invoices");
    let location = event["metadata"]["panic"]["location"].as_str().unwrap();
    assert!(location.starts_with("tests/panics.rs:"), "{location}");
    assert!(event["metadata"]["panic"]["thread"]
        .as_str()
        .unwrap()
        .starts_with("a_panic_is_reported"));

    let frames = event["stacktrace"]["frames"].as_array().unwrap();
    let failing = frames.last().unwrap();
    assert_eq!(failing["function"], "explode_order");
    assert_eq!(failing["module"], "panics");
    assert_eq!(failing["in_app"], true);
    assert_eq!(failing["filename"], "tests/panics.rs");
    assert_eq!(
        format!("tests/panics.rs:{}", failing["lineno"]),
        location.rsplit_once(':').unwrap().0
    );
    let in_app = |function: &str| -> Vec<bool> {
        frames
            .iter()
            .filter(|f| f["function"] == function)
            .map(|f| f["in_app"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(in_app("run_child"), [true]);
    // std and core are not the application (frames below the runtime's entry point are cut).
    let runtime: Vec<&Value> = frames
        .iter()
        .filter(|f| {
            f["module"]
                .as_str()
                .is_some_and(|m| m.starts_with("core::"))
        })
        .collect();
    assert!(!runtime.is_empty() && runtime.iter().all(|f| f["in_app"] == false));
    assert!(
        frames
            .iter()
            .all(|f| !f["module"].as_str().unwrap_or("").contains("panicking")),
        "the panic runtime is trimmed"
    );
}
