//! Error-level `tracing` events become PulseKit events (feature `tracing`).
//!
//! ```sh
//! PULSEKIT_DSN=http://pk_…@127.0.0.1:4000/1 cargo run --example tracing --features tracing
//! ```

use tracing_subscriber::layer::SubscriberExt;

fn main() {
    let _guard = pulsekit::init(pulsekit::Options::default());
    let subscriber = tracing_subscriber::registry()
        .with(pulsekit::TracingLayer::new().min_level(tracing::Level::WARN));
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber is set");

    tracing::info!("not sent: below the layer's level");
    tracing::warn!(disk = "/var", free_percent = 4, "Disk almost full");
    let error = "12x".parse::<u32>().unwrap_err();
    tracing::error!(
        error = &error as &dyn std::error::Error,
        order_id = 1234,
        "could not read the quantity"
    );
}
