//! Delivery through a real local HTTP server: batching, retries, Retry-After, overflow, refusals.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use common::{serial, Reply, TestServer};
use pulsekit::{Event, Level, Options};
use serde_json::json;

const FLUSH: Duration = Duration::from_secs(20);

#[test]
fn captures_flushed_together_arrive_in_one_gzip_batch_in_call_order() {
    let _serial = serial();
    let server = TestServer::start();
    let guard = pulsekit::init(Options {
        environment: Some("production".into()),
        release: Some("shop@2.4.1".into()),
        ..server.options()
    });
    let ids: Vec<_> = (0..5)
        .map(|n| pulsekit::capture_message(format!("step {n}"), Level::Info).unwrap())
        .collect();

    assert!(pulsekit::flush(FLUSH));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/api/v1/events/batch")
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["content-encoding"], "gzip");
    assert_eq!(request.headers["x-pulsekit-key"], "pk_test_key");
    let events = request.events();
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["step 0", "step 1", "step 2", "step 3", "step 4"]);
    let sent_ids: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sent_ids,
        ids.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    assert_eq!(events[0]["environment"], "production");
    assert_eq!(events[0]["release"], "shop@2.4.1");
    assert_eq!(events[0]["type"], "message");
    drop(guard);
}

#[test]
fn a_custom_event_is_sent_as_given_with_tags_as_strings() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());

    pulsekit::capture(Event {
        event_type: "payment.success".into(),
        level: Level::Info,
        message: "Order 1234 paid".into(),
        metadata: json!({"amount_cents": 4999, "cart": {"items": 3}}),
        tags: HashMap::from([("provider".into(), "stripe".into())]),
        ..Default::default()
    });
    assert!(pulsekit::flush(FLUSH));

    let event = &server.events()[0];
    assert_eq!(event["type"], "payment.success");
    assert_eq!(
        event["metadata"],
        json!({"amount_cents": 4999, "cart": {"items": 3}})
    );
    assert_eq!(event["tags"], json!({"provider": "stripe"}));
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_failed_batch_is_retried_with_the_same_ids_until_accepted() {
    let _serial = serial();
    let server = TestServer::with_script(vec![
        Reply::Status(500, None),
        Reply::Hangup,
        Reply::Status(502, None),
    ]);
    let _guard = pulsekit::init(server.options());
    pulsekit::capture_message("first", Level::Info);
    pulsekit::capture_message("second", Level::Info);

    assert!(pulsekit::flush(FLUSH));

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let ids = |index: usize| -> Vec<serde_json::Value> {
        requests[index]
            .events()
            .iter()
            .map(|e| e["id"].clone())
            .collect()
    };
    assert_eq!(ids(0).len(), 2);
    for attempt in 1..4 {
        assert_eq!(ids(attempt), ids(0));
    }
    assert_eq!(pulsekit::dropped_events(), BTreeMap::new());
}

#[test]
fn retry_after_from_503_and_429_is_waited_for_before_retrying() {
    let _serial = serial();
    let server = TestServer::with_script(vec![
        Reply::Status(503, Some("1")),
        Reply::Status(429, Some("1")),
    ]);
    let _guard = pulsekit::init(server.options());
    pulsekit::capture_message("busy server", Level::Warning);

    assert!(pulsekit::flush(FLUSH));

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    // Without Retry-After the first retries would come after 0.25–0.5 s and 0.5–1 s.
    for pair in requests.windows(2) {
        assert!(pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(950));
    }
}

#[test]
fn a_full_queue_drops_new_events_counts_them_and_flush_reports_the_loss() {
    let _serial = serial();
    let (release, hold) = mpsc::channel();
    let server = TestServer::with_script(vec![Reply::HoldUntil(hold)]);
    let _guard = pulsekit::init(Options {
        max_queue_size: 3,
        max_batch_size: 1,
        batch_interval: Duration::ZERO,
        ..server.options()
    });
    pulsekit::capture_message("in flight", Level::Info).unwrap();
    server.wait_for_requests(1); // the worker is now blocked on the held answer

    let results: Vec<bool> = (0..5)
        .map(|n| pulsekit::capture_message(format!("queued {n}"), Level::Info).is_some())
        .collect();
    release.send(()).unwrap();

    assert_eq!(results, [true, true, true, false, false]);
    assert!(!pulsekit::flush(FLUSH), "a flush after drops reports them");
    assert_eq!(
        pulsekit::dropped_events(),
        BTreeMap::from([("queue_full".to_string(), 2)])
    );
    assert_eq!(server.events().len(), 4);
    assert!(
        pulsekit::flush(FLUSH),
        "the next flush has nothing new to report"
    );
}

#[test]
fn the_queue_is_bounded_in_bytes_too() {
    let _serial = serial();
    let (release, hold) = mpsc::channel();
    let server = TestServer::with_script(vec![Reply::HoldUntil(hold)]);
    let _guard = pulsekit::init(Options {
        max_queue_bytes: 4096,
        max_batch_size: 1,
        batch_interval: Duration::ZERO,
        ..server.options()
    });
    pulsekit::capture_message("in flight", Level::Info).unwrap();
    server.wait_for_requests(1);

    let big = "x".repeat(1500);
    let results: Vec<bool> = (0..4)
        .map(|_| pulsekit::capture_message(big.clone(), Level::Info).is_some())
        .collect();
    release.send(()).unwrap();

    assert_eq!(results, [true, true, false, false]);
    assert!(!pulsekit::flush(FLUSH));
    assert_eq!(
        pulsekit::dropped_events(),
        BTreeMap::from([("queue_bytes".to_string(), 2)])
    );
}

#[test]
fn a_refused_key_stops_sending_after_one_request() {
    let _serial = serial();
    let server = TestServer::with_script(vec![Reply::Error(401, "unauthorized")]);
    let _guard = pulsekit::init(server.options());
    pulsekit::capture_message("first", Level::Info);

    assert!(!pulsekit::flush(FLUSH));
    assert_eq!(pulsekit::capture_message("second", Level::Info), None);
    assert!(!pulsekit::flush(FLUSH));

    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        pulsekit::dropped_events(),
        BTreeMap::from([("unauthorized".to_string(), 2)])
    );
}

#[test]
fn an_invalid_batch_is_dropped_not_retried() {
    let _serial = serial();
    let server = TestServer::with_script(vec![Reply::Error(422, "invalid_field")]);
    let _guard = pulsekit::init(server.options());
    pulsekit::capture_message("refused", Level::Info);

    assert!(!pulsekit::flush(FLUSH));
    pulsekit::capture_message("accepted", Level::Info);
    assert!(pulsekit::flush(FLUSH));

    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        pulsekit::dropped_events(),
        BTreeMap::from([("rejected".to_string(), 1)])
    );
}

#[test]
fn before_send_edits_or_drops_events_and_sampling_drops_on_purpose() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(Options {
        before_send: Some(Arc::new(|mut event: Event| {
            if event.message.contains("secret") {
                return None;
            }
            event.tags.insert("scrubbed".into(), "yes".into());
            Some(event)
        })),
        ..server.options()
    });
    pulsekit::capture_message("my secret", Level::Info);
    pulsekit::capture_message("public", Level::Info);
    assert!(pulsekit::flush(FLUSH), "dropping on purpose is not a loss");
    let events = server.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["tags"], json!({"scrubbed": "yes"}));

    let _guard = pulsekit::init(Options {
        sample_rate: 0.0,
        ..server.options()
    });
    assert_eq!(pulsekit::capture_message("sampled out", Level::Info), None);
    assert!(pulsekit::flush(FLUSH));
    assert_eq!(
        pulsekit::dropped_events(),
        BTreeMap::from([("sample_rate".to_string(), 1)])
    );
}

#[test]
fn closing_stops_capturing_and_dropping_the_guard_flushes() {
    let _serial = serial();
    let server = TestServer::start();
    let guard = pulsekit::init(Options {
        batch_interval: Duration::from_secs(30),
        ..server.options()
    });
    pulsekit::capture_message("sent when the guard drops", Level::Info);
    drop(guard);
    assert_eq!(server.events().len(), 1);
    assert_eq!(pulsekit::capture_message("after close", Level::Info), None);
    assert!(!pulsekit::flush(FLUSH), "no client: nothing was flushed");
}

#[test]
fn invalid_options_are_an_error_from_try_init_and_a_panic_from_init() {
    let _serial = serial();
    let error = pulsekit::try_init(Options {
        sample_rate: 2.0,
        ..TestServer::start().options()
    })
    .unwrap_err();
    assert_eq!(error.option, "sample_rate");
    assert_eq!(
        error.to_string(),
        "invalid option `sample_rate`: must be between 0.0 and 1.0, got 2"
    );
    let panic = std::panic::catch_unwind(|| pulsekit::init("http://127.0.0.1:4000/1")).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("pulsekit::init: invalid option `dsn`"),
        "{message}"
    );
}

#[cfg(feature = "ureq")]
#[test]
fn the_ureq_transport_delivers_and_retries_like_the_default() {
    let _serial = serial();
    let server = TestServer::with_script(vec![Reply::Status(503, Some("0"))]);
    let _guard = pulsekit::init(Options {
        transport: Some(Arc::new(pulsekit::UreqTransport::new(Duration::from_secs(
            5,
        )))),
        ..server.options()
    });
    let id = pulsekit::capture_message("over ureq", Level::Info).unwrap();
    assert!(pulsekit::flush(FLUSH));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].headers["content-encoding"], "gzip");
    assert_eq!(requests[1].events()[0]["id"], id.to_string());
}

#[test]
fn flush_reports_false_while_events_are_still_pending_and_true_once_sent() {
    let _serial = serial();
    let (release, hold) = mpsc::channel();
    let server = TestServer::with_script(vec![Reply::HoldUntil(hold)]);
    let _guard = pulsekit::init(server.options());
    pulsekit::capture_message("slow server", Level::Info);

    assert!(
        !pulsekit::flush(Duration::from_millis(300)),
        "the server has not answered yet"
    );
    release.send(()).unwrap();
    assert!(pulsekit::flush(FLUSH));
    assert_eq!(server.events().len(), 1);
}

#[test]
fn init_from_a_dsn_string_sends_to_its_endpoint_with_its_key() {
    let _serial = serial();
    let server = TestServer::start();
    let dsn = server.url.replace("http://", "http://pk_from_dsn@") + "/7";
    let _guard = pulsekit::init(Options {
        capture_panics: false,
        ..Options::from(dsn.as_str())
    });
    pulsekit::capture_message("via DSN", Level::Info);

    assert!(pulsekit::flush(FLUSH));
    let request = &server.requests()[0];
    assert_eq!(request.path, "/api/v1/events/batch");
    assert_eq!(request.headers["x-pulsekit-key"], "pk_from_dsn");
}
