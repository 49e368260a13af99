use std::collections::HashMap;

use pulsekit::{Event, Level};
use serde_json::json;

fn main() {
    // Keep the guard until the end of main: dropping it sends what is still queued.
    // Panics are reported too (with their stack trace), then printed as usual.
    let _guard = pulsekit::init(pulsekit::Options {
        dsn: Some("__DSN__".into()),
        environment: Some("production".into()),
        release: Some("shop@2.4.1".into()),
        ..Default::default()
    });
    pulsekit::set_tag("service", "checkout");

    // A custom event.
    pulsekit::capture(Event {
        event_type: "payment.success".into(),
        level: Level::Info,
        message: "Order 1234 paid".into(),
        metadata: json!({"amount_cents": 4999, "currency": "EUR"}),
        tags: HashMap::from([("provider".into(), "stripe".into())]),
        ..Default::default()
    });

    // An error, with its source() chain and the place it was captured.
    if let Err(err) = "12x".parse::<u32>() {
        pulsekit::capture_error(&err);
    }

    pulsekit::capture_message("Quickstart finished", Level::Info);
}
