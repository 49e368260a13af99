//! Context: global values reach every event; scoped values stay on the thread that set them.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{serial, TestServer};
use pulsekit::{Level, User};
use serde_json::{json, Value};

const FLUSH: Duration = Duration::from_secs(20);

fn event_with_message<'a>(events: &'a [Value], message: &str) -> &'a Value {
    events.iter().find(|e| e["message"] == message).unwrap()
}

#[test]
fn two_threads_in_scopes_at_the_same_time_never_see_each_others_values() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());
    pulsekit::set_tag("service", "billing");
    let both_in_scope = Arc::new(Barrier::new(2));

    let workers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let both_in_scope = Arc::clone(&both_in_scope);
            thread::spawn(move || {
                pulsekit::with_scope(|scope| {
                    scope.set_tag("request", name);
                    scope.set_user(Some(User {
                        id: Some(name.into()),
                        ..Default::default()
                    }));
                    scope.set_context("request", json!({"name": name}));
                    // Both scopes are open now: each capture must carry its own thread's values only.
                    both_in_scope.wait();
                    pulsekit::capture_message(format!("from {name}"), Level::Info);
                    both_in_scope.wait();
                });
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    pulsekit::capture_message("from main", Level::Info);
    assert!(pulsekit::flush(FLUSH));

    let events = server.events();
    for name in ["a", "b"] {
        let event = event_with_message(&events, &format!("from {name}"));
        assert_eq!(
            event["tags"],
            json!({"service": "billing", "request": name})
        );
        assert_eq!(event["user"], json!({"id": name}));
        assert_eq!(event["metadata"], json!({"request": {"name": name}}));
    }
    let main = event_with_message(&events, "from main");
    assert_eq!(main["tags"], json!({"service": "billing"}));
    assert!(main.get("user").is_none() && main.get("metadata").is_none());
}

#[test]
fn a_scope_ends_with_its_closure_even_when_the_closure_panics() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());

    pulsekit::with_scope(|scope| {
        scope.set_tag("job_id", 7781);
        pulsekit::with_scope(|inner| {
            inner.set_tag("step", "charge");
            pulsekit::capture_message("inner", Level::Info);
        });
        pulsekit::capture_message("outer", Level::Info);
    });
    let result = std::panic::catch_unwind(|| {
        pulsekit::with_scope(|scope| {
            scope.set_tag("doomed", true);
            panic!("inside a scope");
        })
    });
    assert!(result.is_err());
    pulsekit::capture_message("after", Level::Info);
    assert!(pulsekit::flush(FLUSH));

    let events = server.events();
    assert_eq!(
        event_with_message(&events, "inner")["tags"],
        json!({"job_id": "7781", "step": "charge"})
    );
    assert_eq!(
        event_with_message(&events, "outer")["tags"],
        json!({"job_id": "7781"})
    );
    assert!(event_with_message(&events, "after").get("tags").is_none());
}

#[test]
fn configure_scope_lasts_for_the_thread_and_event_values_win_over_scopes() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(pulsekit::Options {
        tags: [("region".to_string(), "eu-west".to_string())].into(),
        ..server.options()
    });
    pulsekit::set_user(Some(User {
        id: Some("42".into()),
        ..Default::default()
    }));
    thread::spawn(|| {
        pulsekit::configure_scope(|scope| scope.set_tag("region", "us-east"));
        pulsekit::capture_message("configured thread", Level::Info);
        pulsekit::capture(pulsekit::Event {
            message: "own tag".into(),
            tags: [("region".to_string(), "ap-south".to_string())].into(),
            ..Default::default()
        });
    })
    .join()
    .unwrap();
    pulsekit::capture_message("main thread", Level::Info);
    assert!(pulsekit::flush(FLUSH));

    let events = server.events();
    assert_eq!(
        event_with_message(&events, "configured thread")["tags"]["region"],
        "us-east"
    );
    assert_eq!(
        event_with_message(&events, "own tag")["tags"]["region"],
        "ap-south"
    );
    assert_eq!(
        event_with_message(&events, "main thread")["tags"]["region"],
        "eu-west"
    );
    assert_eq!(
        event_with_message(&events, "main thread")["user"],
        json!({"id": "42"})
    );
}
