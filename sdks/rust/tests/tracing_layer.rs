//! The `tracing` layer: events at or above its level become PulseKit events; an error field
//! becomes the exception with its chain.
#![cfg(feature = "tracing")]

mod common;

use std::time::Duration;

use common::{serial, TestServer};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn error_events_become_pulsekit_events_and_quieter_ones_do_not() {
    let _serial = serial();
    let server = TestServer::start();
    let _guard = pulsekit::init(server.options());
    let subscriber = tracing_subscriber::registry()
        .with(pulsekit::TracingLayer::new().min_level(tracing::Level::WARN));

    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("below the level: not sent");
        tracing::warn!(disk = "/var", free_percent = 4, "Disk almost full");
        let error = "12x".parse::<u32>().unwrap_err();
        tracing::error!(
            error = &error as &dyn std::error::Error,
            order_id = 1234,
            "could not read the quantity"
        );
    });
    assert!(pulsekit::flush(Duration::from_secs(20)));

    let events = server.events();
    assert_eq!(events.len(), 2);
    let warning = &events[0];
    assert_eq!(
        (warning["level"].as_str(), warning["type"].as_str()),
        (Some("warning"), Some("message"))
    );
    assert_eq!(warning["message"], "Disk almost full");
    assert_eq!(warning["metadata"]["free_percent"], 4);
    assert_eq!(warning["tags"], json!({"logger": "tracing_layer"}));
    let error = &events[1];
    assert_eq!(
        (error["level"].as_str(), error["type"].as_str()),
        (Some("error"), Some("error"))
    );
    assert_eq!(error["message"], "could not read the quantity");
    assert_eq!(error["exception"]["type"], "ParseIntError");
    assert_eq!(error["metadata"]["order_id"], 1234);
    let frames = error["stacktrace"]["frames"].as_array().unwrap();
    let last_in_app = frames.iter().rev().find(|f| f["in_app"] == true).unwrap();
    assert!(
        last_in_app["function"]
            .as_str()
            .unwrap()
            .contains("error_events_become_pulsekit_events"),
        "{last_in_app}"
    );
}
