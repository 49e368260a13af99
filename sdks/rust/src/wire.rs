//! The event's wire form (docs/protocol.md), kept within the protocol's limits.
//!
//! The server refuses a whole batch when one event breaks a rule, so every event is made valid
//! here, on the client, rather than risking the events it travels with.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{Event, Exception, Frame, Level, Stacktrace, User};
use crate::stacktrace::MAX_FRAMES;
use crate::util::{rfc3339, EventId};

const MAX_TYPE_CHARS: usize = 100;
const MAX_MESSAGE_CHARS: usize = 8192;
const MAX_METADATA_BYTES: usize = 64 * 1024;
/// The metadata object is level 1; a container may sit at most at level 9.
const MAX_CONTAINER_DEPTH: usize = 8;
const MAX_TAGS: usize = 50;
const MAX_TAG_KEY_CHARS: usize = 64;
const MAX_TAG_VALUE_CHARS: usize = 200;
const MAX_USER_FIELD_CHARS: usize = 200;
const MAX_FINGERPRINT_PARTS: usize = 10;
const MAX_FINGERPRINT_PART_CHARS: usize = 200;
const MAX_EXCEPTION_TYPE_CHARS: usize = 256;
const MAX_CHAIN: usize = 10;
const MAX_ENVIRONMENT_CHARS: usize = 64;
const MAX_RELEASE_CHARS: usize = 200;

#[derive(Serialize)]
struct WireEvent<'a> {
    id: EventId,
    #[serde(rename = "type")]
    event_type: Cow<'a, str>,
    level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception: Option<WireException<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stacktrace: Option<WireStacktrace<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Cow<'a, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fingerprint: Vec<Cow<'a, str>>,
    timestamp: String,
}

#[derive(Serialize)]
struct WireException<'a> {
    #[serde(rename = "type")]
    exception_type: Cow<'a, str>,
    value: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stacktrace: Option<WireStacktrace<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    chain: Vec<WireException<'a>>,
}

#[derive(Serialize)]
struct WireStacktrace<'a> {
    frames: Vec<WireFrame<'a>>,
}

#[derive(Serialize)]
struct WireFrame<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abs_path: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lineno: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colno: Option<u32>,
    in_app: bool,
}

/// The event as the JSON object the server accepts.
pub(crate) fn encode_event(event: &Event) -> Vec<u8> {
    let wire = WireEvent {
        id: event.id.unwrap_or_default(),
        event_type: event_type(event),
        level: event.level,
        message: non_empty(&event.message).map(|m| truncate(m, MAX_MESSAGE_CHARS)),
        exception: event.exception.as_ref().map(|e| wire_exception(e, true)),
        stacktrace: event.stacktrace.as_ref().and_then(wire_stacktrace),
        environment: event.environment.as_deref().and_then(non_empty).map(|e| {
            clean_text(&e.replace('/', "-"), MAX_ENVIRONMENT_CHARS)
                .into_owned()
                .into()
        }),
        release: event
            .release
            .as_deref()
            .and_then(non_empty)
            .map(|r| clean_text(r, MAX_RELEASE_CHARS)),
        tags: event
            .tags
            .iter()
            .filter_map(|(key, value)| {
                let key = clean_name(key, MAX_TAG_KEY_CHARS);
                (!key.is_empty()).then(|| (key, clean_text(value, MAX_TAG_VALUE_CHARS)))
            })
            .take(MAX_TAGS)
            .collect(),
        user: event.user.as_ref().and_then(clean_user),
        metadata: clean_metadata(&event.metadata),
        fingerprint: event
            .fingerprint
            .iter()
            .take(MAX_FINGERPRINT_PARTS)
            .map(|part| truncate(part, MAX_FINGERPRINT_PART_CHARS))
            .collect(),
        timestamp: rfc3339(event.timestamp.unwrap_or_else(SystemTime::now)),
    };
    // Serializing these types cannot fail: every map key is a string.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// A cheap over-estimate of the encoded size, for the queue's byte limit (the calling thread
/// must not pay for serialization).
pub(crate) fn estimate_size(event: &Event) -> usize {
    let tags: usize = event.tags.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let exception = event.exception.as_ref().map_or(0, estimate_exception);
    let frames = event.stacktrace.as_ref().map_or(0, estimate_stacktrace);
    250 + event.event_type.len()
        + event.message.len()
        + tags
        + estimate_value(&event.metadata)
        + exception
        + frames
        + event.fingerprint.iter().map(|f| f.len() + 3).sum::<usize>()
}

fn estimate_exception(exception: &Exception) -> usize {
    60 + exception.exception_type.len()
        + exception.value.len()
        + exception.module.as_ref().map_or(0, String::len)
        + exception.stacktrace.as_ref().map_or(0, estimate_stacktrace)
        + exception
            .chain
            .iter()
            .map(estimate_exception)
            .sum::<usize>()
}

fn estimate_stacktrace(stacktrace: &Stacktrace) -> usize {
    // An unresolved backtrace typically becomes 20–40 frames of ~150 bytes.
    let pending = if stacktrace.pending.is_some() {
        6000
    } else {
        0
    };
    pending
        + stacktrace
            .frames
            .iter()
            .map(|f| {
                80 + [&f.function, &f.module, &f.filename, &f.abs_path]
                    .iter()
                    .map(|s| s.as_ref().map_or(0, String::len))
                    .sum::<usize>()
            })
            .sum::<usize>()
}

fn estimate_value(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| estimate_value(v) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + estimate_value(v))
                .sum::<usize>()
        }
    }
}

/// The protocol's default type: `error` for exceptions and levels error/fatal, else `message`.
fn event_type(event: &Event) -> Cow<'_, str> {
    let name = clean_name(&event.event_type, MAX_TYPE_CHARS);
    if !name.is_empty() {
        return name;
    }
    if event.exception.is_some() || event.level >= Level::Error {
        Cow::Borrowed("error")
    } else {
        Cow::Borrowed("message")
    }
}

fn wire_exception(exception: &Exception, is_primary: bool) -> WireException<'_> {
    let exception_type = non_empty(&exception.exception_type).unwrap_or("Error");
    WireException {
        exception_type: truncate(exception_type, MAX_EXCEPTION_TYPE_CHARS),
        value: truncate(&exception.value, MAX_MESSAGE_CHARS),
        module: exception
            .module
            .as_deref()
            .and_then(non_empty)
            .map(|m| truncate(m, MAX_EXCEPTION_TYPE_CHARS)),
        // The primary exception's frames are the event's `stacktrace`.
        stacktrace: if is_primary {
            None
        } else {
            exception.stacktrace.as_ref().and_then(wire_stacktrace)
        },
        chain: if is_primary {
            exception
                .chain
                .iter()
                .take(MAX_CHAIN)
                .map(|cause| wire_exception(cause, false))
                .collect()
        } else {
            Vec::new()
        },
    }
}

fn wire_stacktrace(stacktrace: &Stacktrace) -> Option<WireStacktrace<'_>> {
    let skip = stacktrace.frames.len().saturating_sub(MAX_FRAMES);
    let frames: Vec<WireFrame<'_>> = stacktrace.frames[skip..].iter().map(wire_frame).collect();
    (!frames.is_empty()).then_some(WireStacktrace { frames })
}

fn wire_frame(frame: &Frame) -> WireFrame<'_> {
    fn text(value: &Option<String>, max: usize) -> Option<Cow<'_, str>> {
        value
            .as_deref()
            .and_then(non_empty)
            .map(|v| truncate(v, max))
    }
    WireFrame {
        function: text(&frame.function, 256),
        module: text(&frame.module, 256),
        filename: text(&frame.filename, 1024),
        abs_path: text(&frame.abs_path, 1024),
        lineno: frame.lineno,
        colno: frame.colno,
        in_app: frame.in_app,
    }
}

fn clean_user(user: &User) -> Option<User> {
    let field = |value: &Option<String>| {
        value
            .as_deref()
            .and_then(non_empty)
            .map(|v| truncate(v, MAX_USER_FIELD_CHARS).into_owned())
    };
    let cleaned = User {
        id: field(&user.id),
        email: field(&user.email),
        username: field(&user.username),
        ip_address: field(&user.ip_address),
    };
    (cleaned != User::default()).then_some(cleaned)
}

/// Metadata as a JSON object within the protocol's depth and size limits.
fn clean_metadata(metadata: &Value) -> Option<Cow<'_, Value>> {
    let object = match metadata {
        Value::Null => return None,
        Value::Object(map) if map.is_empty() => return None,
        Value::Object(_) => Cow::Borrowed(metadata),
        other => {
            let mut map = Map::new();
            map.insert("value".into(), other.clone());
            Cow::Owned(Value::Object(map))
        }
    };
    let object = if depth(&object) > MAX_CONTAINER_DEPTH {
        Cow::Owned(clip_depth(&object, 0))
    } else {
        object
    };
    let size = serde_json::to_vec(&object).map_or(0, |bytes| bytes.len());
    if size > MAX_METADATA_BYTES {
        let mut note = Map::new();
        note.insert("pulsekit_dropped_metadata_bytes".into(), size.into());
        return Some(Cow::Owned(Value::Object(note)));
    }
    Some(object)
}

/// Nesting depth of containers below `value` (a scalar is 0, `{}` is 0, `{"a": {}}` is 1).
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(container_depth).max().unwrap_or(0),
        Value::Object(map) => map.values().map(container_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn container_depth(value: &Value) -> usize {
    match value {
        Value::Array(_) | Value::Object(_) => 1 + depth(value),
        _ => 0,
    }
}

/// A copy where containers nested deeper than the protocol allows are replaced by their JSON text.
fn clip_depth(value: &Value, level: usize) -> Value {
    match value {
        Value::Array(_) | Value::Object(_) if level > MAX_CONTAINER_DEPTH => {
            Value::String(value.to_string())
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| clip_depth(v, level + 1)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), clip_depth(v, level + 1)))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => Cow::Borrowed(&text[..end]),
        None => Cow::Borrowed(text),
    }
}

/// A type or tag key in the protocol's character set: other characters become `_`.
fn clean_name(name: &str, max_chars: usize) -> Cow<'_, str> {
    let is_allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    let name = truncate(name, max_chars);
    if name.chars().all(is_allowed) {
        name
    } else {
        Cow::Owned(
            name.chars()
                .map(|c| if is_allowed(c) { c } else { '_' })
                .collect(),
        )
    }
}

/// Text without control characters (they become spaces), cut to `max_chars`.
fn clean_text(text: &str, max_chars: usize) -> Cow<'_, str> {
    let text = truncate(text, max_chars);
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encoded(event: &Event) -> Value {
        serde_json::from_slice(&encode_event(event)).unwrap()
    }

    #[test]
    fn unset_fields_are_absent_and_defaults_follow_the_protocol() {
        let cases = [
            (Level::Info, false, "message"),
            (Level::Error, false, "error"),
            (Level::Debug, true, "error"),
        ];
        for (level, has_exception, expected_type) in cases {
            let event = Event {
                level,
                exception: has_exception.then(Exception::default),
                ..Default::default()
            };
            let wire = encoded(&event);
            assert_eq!(wire["type"], expected_type);
            let mut keys: Vec<&str> = wire
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut expected = vec!["id", "level", "timestamp", "type"];
            if has_exception {
                expected.insert(0, "exception");
            }
            assert_eq!(keys, expected);
        }
    }

    #[test]
    fn values_outside_the_protocol_are_cleaned_rather_than_refused() {
        let mut deep = json!("bottom");
        for _ in 0..12 {
            deep = json!({ "d": deep });
        }
        let event = Event {
            event_type: "payment success!".into(),
            tags: [("bad key".to_string(), "line\nbreak".to_string())].into(),
            metadata: deep,
            environment: Some("eu/west".into()),
            ..Default::default()
        };
        let wire = encoded(&event);
        assert_eq!(wire["type"], "payment_success_");
        assert_eq!(wire["tags"], json!({"bad_key": "line break"}));
        assert_eq!(wire["environment"], "eu-west");
        assert!(depth(&wire["metadata"]) <= MAX_CONTAINER_DEPTH);
        assert_eq!(
            encoded(&Event {
                metadata: json!(3),
                ..Default::default()
            })["metadata"],
            json!({"value": 3})
        );
    }
}
