//! What the worker sends: batch bodies within the server's size limit, gzip, the backoff
//! between retries, and the server's error message for diagnostics.

use std::io::Write;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::util::random_unit;

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The server accepts 5,000,000 decompressed bytes per request; keep a margin.
const MAX_BODY_BYTES: usize = 4_500_000;

/// Delay before retry number `attempt + 1`: doubling from 0.5 s up to 30 s, scaled by 50–100 %.
///
/// Keeping at least half the delay ("equal jitter") spreads clients that failed together
/// without letting any of them retry at once.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let ceiling = INITIAL_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    ceiling / 2 + ceiling.mul_f64(random_unit() / 2.0)
}

/// The encoded events as `{"events": […]}` bodies of at most MAX_BODY_BYTES: (event count, body).
pub(crate) fn batch_bodies(encoded: &[Vec<u8>]) -> Vec<(usize, Vec<u8>)> {
    let mut bodies = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut count = 0;
    for event in encoded {
        if count > 0 && current.len() + event.len() + 2 > MAX_BODY_BYTES {
            current.extend_from_slice(b"]}");
            bodies.push((count, std::mem::take(&mut current)));
            count = 0;
        }
        current.extend_from_slice(if count == 0 { b"{\"events\":[" } else { b"," });
        current.extend_from_slice(event);
        count += 1;
    }
    if count > 0 {
        current.extend_from_slice(b"]}");
        bodies.push((count, current));
    }
    bodies
}

pub(crate) fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

pub(crate) fn error_detail(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    match parsed.as_ref().and_then(|v| v.get("error")) {
        Some(error) => {
            let text = |key: &str| {
                error
                    .get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let field = text("field");
            let field = if field.is_empty() {
                String::new()
            } else {
                format!(" (field {field})")
            };
            format!("{}: {}{field}", text("code"), text("message"))
        }
        None => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_a_ceiling() {
        for (attempt, low, high) in [
            (0, 250, 500),
            (1, 500, 1000),
            (3, 2000, 4000),
            (20, 15_000, 30_000),
        ] {
            let delay = backoff(attempt).as_millis();
            assert!(
                (low..=high).contains(&delay),
                "attempt {attempt}: {delay} ms"
            );
        }
    }

    #[test]
    fn large_batches_are_split_into_bodies_under_the_limit() {
        let event = vec![b'x'; 1_000_000];
        let bodies = batch_bodies(&[
            event.clone(),
            event.clone(),
            event.clone(),
            event.clone(),
            event.clone(),
        ]);
        assert_eq!(
            bodies.iter().map(|(count, _)| *count).collect::<Vec<_>>(),
            [4, 1]
        );
        assert!(bodies.iter().all(|(_, body)| body.len() <= MAX_BODY_BYTES));
        assert!(bodies[1].1.starts_with(b"{\"events\":[x"));
    }
}
