//! A small order-processing program: each order is handled on its own thread with its own
//! scope, failures are captured with their cause, successes as custom events.
//!
//! Run it against a PulseKit server:
//!
//! ```sh
//! PULSEKIT_DSN=http://pk_…@127.0.0.1:4000/1 cargo run --example checkout
//! ```

use std::error::Error;
use std::fmt;
use std::thread;

use pulsekit::{Event, Level, User};
use serde_json::json;

#[derive(Debug)]
struct GatewayTimeout {
    seconds: u32,
}

impl fmt::Display for GatewayTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gateway timed out after {}s", self.seconds)
    }
}

impl Error for GatewayTimeout {}

#[derive(Debug)]
struct CheckoutError {
    order_id: u32,
    cause: GatewayTimeout,
}

impl fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment for order {} failed", self.order_id)
    }
}

impl Error for CheckoutError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.cause)
    }
}

fn charge_card(order_id: u32, amount_cents: u64) -> Result<(), CheckoutError> {
    if amount_cents > 10_000 {
        return Err(CheckoutError {
            order_id,
            cause: GatewayTimeout { seconds: 30 },
        });
    }
    Ok(())
}

fn handle_order(order_id: u32, amount_cents: u64) {
    pulsekit::with_scope(|scope| {
        // Only this order's events carry these: other threads have scopes of their own.
        scope.set_tag("order_id", order_id);
        scope.set_user(Some(User {
            id: Some(format!("customer-{order_id}")),
            ..Default::default()
        }));
        match charge_card(order_id, amount_cents) {
            Ok(()) => {
                pulsekit::capture(Event {
                    event_type: "payment.success".into(),
                    level: Level::Info,
                    message: format!("Order {order_id} paid"),
                    metadata: json!({"amount_cents": amount_cents, "currency": "EUR"}),
                    ..Default::default()
                });
            }
            Err(error) => {
                pulsekit::capture_error(&error);
            }
        }
    });
}

fn main() {
    // Reads PULSEKIT_DSN (or PULSEKIT_ENDPOINT and PULSEKIT_API_KEY) from the environment.
    let guard = pulsekit::init(pulsekit::Options {
        environment: Some("development".into()),
        release: Some(concat!("checkout-example@", env!("CARGO_PKG_VERSION")).into()),
        ..Default::default()
    });
    pulsekit::set_tag("service", "checkout-example");

    let workers: Vec<_> = [(1001, 4_999), (1002, 25_000), (1003, 1_250)]
        .into_iter()
        .map(|(order_id, amount)| thread::spawn(move || handle_order(order_id, amount)))
        .collect();
    for worker in workers {
        let _ = worker.join();
    }

    let is_sent = guard.flush(std::time::Duration::from_secs(5));
    println!(
        "events sent: {is_sent}; dropped: {:?}",
        guard.dropped_events()
    );
}
