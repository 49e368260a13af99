//! The shared conformance vectors against a local capturing server: the conformance program
//! (sdks/rust/conformance) runs every vector, and each request body must match the vector's
//! `expected_wire` under the rules of sdks/conformance/README.md (ignore, optional, tail_match).

mod common;

use std::path::{Path, PathBuf};

use common::TestServer;
use serde_json::Value;

fn sdk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vectors() -> Vec<Value> {
    let dir = sdk_dir().join("../conformance/vectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// `events[*].exception.module` → ["events", "*", "exception", "module"]
fn tokens(path: &str) -> Vec<String> {
    path.replace("[*]", ".*")
        .split('.')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Calls `action(expected, actual, where)` for every place `path` reaches in `expected`.
fn visit(
    expected: &mut Value,
    actual: &mut Value,
    path: &[String],
    at: String,
    action: &mut dyn FnMut(&mut Value, &mut Value, &str),
) {
    let Some((head, rest)) = path.split_first() else {
        return action(expected, actual, &at);
    };
    if head == "*" {
        let (Some(expected), Some(actual)) = (expected.as_array_mut(), actual.as_array_mut())
        else {
            return;
        };
        for (index, (e, a)) in expected.iter_mut().zip(actual.iter_mut()).enumerate() {
            visit(e, a, rest, format!("{at}[{index}]"), action);
        }
    } else if let Some(e) = expected.get_mut(head.as_str()) {
        let mut missing = Value::Null;
        let a = actual.get_mut(head.as_str()).unwrap_or(&mut missing);
        visit(e, a, rest, format!("{at}.{head}"), action);
    }
}

/// Removes `path`'s last key from both documents, checking it is present in `actual` when `required`.
fn remove(expected: &mut Value, actual: &mut Value, path: &str, required: bool) {
    let mut tokens = tokens(path);
    let last = tokens.pop().unwrap();
    visit(expected, actual, &tokens, String::new(), &mut |e, a, at| {
        let is_expected = e.as_object_mut().and_then(|e| e.remove(&last)).is_some();
        let is_present = a.as_object_mut().and_then(|a| a.remove(&last)).is_some();
        assert!(
            !(required && is_expected) || is_present,
            "{at}.{last} is missing"
        );
    });
}

/// Each expected frame's fields appear in order in the actual frames, the last ones aligned.
fn tail_matches(expected: &[Value], actual: &[Value]) -> bool {
    if actual.is_empty() || expected.is_empty() {
        return actual.is_empty() == expected.is_empty();
    }
    let contains = |a: &Value, e: &Value| {
        e.as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| a.get(k) == Some(v))
    };
    if !contains(actual.last().unwrap(), expected.last().unwrap()) {
        return false;
    }
    let mut remaining = &actual[..actual.len() - 1];
    for e in expected[..expected.len() - 1].iter().rev() {
        match remaining.iter().rposition(|a| contains(a, e)) {
            Some(index) => remaining = &remaining[..index],
            None => return false,
        }
    }
    true
}

fn assert_matches(vector: &Value, body: &Value) {
    let name = vector["name"].as_str().unwrap();
    let mut expected = vector["expected_wire"].clone();
    let mut actual = body.clone();
    for path in vector["ignore"].as_array().unwrap() {
        remove(&mut expected, &mut actual, path.as_str().unwrap(), true);
    }
    for path in vector["optional"].as_array().unwrap() {
        remove(&mut expected, &mut actual, path.as_str().unwrap(), false);
    }
    for path in vector["tail_match"].as_array().unwrap() {
        visit(
            &mut expected,
            &mut actual,
            &tokens(path.as_str().unwrap()),
            String::new(),
            &mut |e, a, at| {
                let frames = |v: &Value| v.as_array().cloned().unwrap_or_default();
                assert!(
                    tail_matches(&frames(e), &frames(a)),
                    "{name}: {at} does not end with {e}:\n{a:#}"
                );
                *e = Value::Null;
                *a = Value::Null;
            },
        );
    }
    assert_eq!(actual, expected, "{name}");
}

#[test]
fn the_conformance_program_sends_every_vector_as_expected() {
    let server = TestServer::start();
    let sdk = sdk_dir();
    let output = common::cargo()
        .args(["run", "--quiet", "-p", "pulsekit-conformance"])
        .current_dir(&sdk)
        .env("PULSEKIT_ENDPOINT", &server.url)
        .env("PULSEKIT_API_KEY", "pk_test_key")
        .env(
            "PULSEKIT_VECTORS_DIR",
            Path::new(&sdk).join("../conformance/vectors"),
        )
        .env("PULSEKIT_FLUSH_TIMEOUT_S", "20")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );

    let vectors = vectors();
    let reports: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let requests = server.requests();
    assert_eq!(requests.len(), vectors.len(), "one request per vector");
    for ((vector, report), request) in vectors.iter().zip(&reports).zip(&requests) {
        assert_eq!(report["vector"], vector["name"]);
        let expected_request = &vector["expected_request"];
        assert_eq!(request.method, expected_request["method"].as_str().unwrap());
        assert_eq!(request.path, expected_request["path"].as_str().unwrap());
        for (header, value) in expected_request["headers"].as_object().unwrap() {
            assert_eq!(
                request.headers[&header.to_ascii_lowercase()],
                value.as_str().unwrap()
            );
        }
        assert_eq!(request.headers["x-pulsekit-key"], "pk_test_key");
        let sent_ids: Vec<Value> = request.events().iter().map(|e| e["id"].clone()).collect();
        assert_eq!(&Value::Array(sent_ids), &report["ids"]);
        assert_matches(vector, &request.body);
    }
}

#[test]
fn tail_matching_follows_the_readme_rules() {
    let frames = |names: &[&str]| -> Vec<Value> {
        names
            .iter()
            .map(|n| serde_json::json!({"function": n, "in_app": true}))
            .collect()
    };
    let expected = frames(&["charge_card", "call_gateway"]);
    assert!(tail_matches(
        &expected,
        &frames(&["main", "charge_card", "raise", "call_gateway"])
    ));
    assert!(!tail_matches(
        &expected,
        &frames(&["call_gateway", "charge_card"])
    ));
    assert!(!tail_matches(
        &expected,
        &frames(&["charge_card", "call_gateway", "helper"])
    ));
}
