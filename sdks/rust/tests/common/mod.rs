//! A real HTTP server on 127.0.0.1 for the integration tests: it records every request
//! (gunzipped, parsed) and answers from a script, 202 by default.
#![allow(dead_code)] // each test file uses a different part

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use serde_json::{json, Value};

/// A `cargo` command for building a workspace program from a test. The variables cargo sets for
/// the test itself are removed: `ring`'s build script watches CARGO_MANIFEST_DIR, and a changed
/// value would rebuild half the dependency tree in the shared target/.
pub fn cargo() -> std::process::Command {
    let mut command =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
            "CARGO_TARGET_TMPDIR",
        ];
        if set_for_tests.iter().any(|prefix| name.starts_with(prefix)) {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// The SDK's client is process-wide: tests of one binary take turns.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    pub fn events(&self) -> Vec<Value> {
        self.body["events"].as_array().cloned().unwrap_or_default()
    }
}

/// How the server answers one request.
pub enum Reply {
    Status(u16, Option<&'static str>),
    /// Close the connection without answering (a network error for the client).
    Hangup,
    /// Wait for a message on the channel, then answer 202.
    HoldUntil(Receiver<()>),
    /// An error body as the protocol writes it.
    Error(u16, &'static str),
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    arrived: Condvar,
    script: Mutex<VecDeque<Reply>>,
}

pub struct TestServer {
    pub url: String,
    shared: Arc<Shared>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::with_script(Vec::new())
    }

    /// A server answering the first requests from `script`, then 202.
    pub fn with_script(script: Vec<Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            ..Default::default()
        });
        let serving = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&serving);
                thread::spawn(move || handle(stream, &shared));
            }
        });
        TestServer { url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Every event received, in arrival order.
    pub fn events(&self) -> Vec<Value> {
        self.requests().iter().flat_map(Recorded::events).collect()
    }

    /// Waits until at least `count` requests arrived (panics after 30 s).
    pub fn wait_for_requests(&self, count: usize) -> Vec<Recorded> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut requests = self.shared.requests.lock().unwrap();
        while requests.len() < count {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("requests did not arrive");
            requests = self.shared.arrived.wait_timeout(requests, left).unwrap().0;
        }
        requests.clone()
    }

    pub fn options(&self) -> pulsekit::Options {
        pulsekit::Options {
            endpoint: self.url.clone(),
            api_key: "pk_test_key".into(),
            capture_panics: false,
            ..Default::default()
        }
    }
}

fn handle(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut raw = vec![0; length];
        if reader.read_exact(&mut raw).is_err() {
            return;
        }
        let mut text = String::new();
        let body = if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
            GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .map(|_| text)
        } else {
            String::from_utf8(raw).map_err(|e| std::io::Error::other(e.to_string()))
        };
        let body: Value = body
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        let recorded = Recorded {
            method,
            path,
            headers,
            body: body.clone(),
            at: Instant::now(),
        };
        {
            let mut requests = shared.requests.lock().unwrap();
            requests.push(recorded);
            shared.arrived.notify_all();
        }
        let reply = shared.script.lock().unwrap().pop_front();
        let ids: Vec<Value> = body["events"]
            .as_array()
            .map(|events| events.iter().map(|e| e["id"].clone()).collect())
            .unwrap_or_default();
        let accepted = json!({ "ids": ids }).to_string();
        let (status, retry_after, answer) = match reply {
            None => (202, None, accepted),
            Some(Reply::Status(status, retry_after)) => (status, retry_after, "{}".to_string()),
            Some(Reply::Hangup) => return,
            Some(Reply::HoldUntil(release)) => {
                let _ = release.recv_timeout(Duration::from_secs(30));
                (202, None, accepted)
            }
            Some(Reply::Error(status, code)) => (
                status,
                None,
                json!({"error": {"code": code, "message": "refused by the test server", "field": null}}).to_string(),
            ),
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            answer.len()
        );
        if let Some(seconds) = retry_after {
            head.push_str(&format!("Retry-After: {seconds}\r\n"));
        }
        head.push_str("\r\n");
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(answer.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}
