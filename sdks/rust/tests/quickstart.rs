//! The README's quickstart (quickstart/src/main.rs) and the checkout example against a live
//! PulseKit server: `pulsekit serve` on a free port with a temporary data folder, a project
//! and a key made with the CLI, and the events read back through GET /api/v1/events.
//!
//! The server comes from the repository's virtualenv (`.venv/bin/pulsekit`) or
//! PULSEKIT_SERVER_CLI; without it the test fails, it is never skipped.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

fn sdk_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn server_cli() -> PathBuf {
    let cli = std::env::var_os("PULSEKIT_SERVER_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| sdk_dir().join("../../.venv/bin/pulsekit"));
    assert!(
        cli.exists(),
        "the PulseKit server CLI is missing at {} (run `python3 -m venv .venv && .venv/bin/pip install -e .` \
         at the repository root, or set PULSEKIT_SERVER_CLI)",
        cli.display()
    );
    cli
}

struct LiveServer {
    url: String,
    data_dir: PathBuf,
    process: Child,
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl LiveServer {
    fn start() -> LiveServer {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let data_dir = std::env::temp_dir().join(format!(
            "pulsekit-rust-quickstart-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&data_dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(data_dir.join("server.log")).unwrap();
        let process = Command::new(server_cli())
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(&data_dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = LiveServer {
            url: format!("http://127.0.0.1:{port}"),
            data_dir,
            process,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(&server.url, "/api/v1/health", None).map(|(status, _)| status) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the server did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    fn cli(&self, args: &[&str]) -> Value {
        let output = Command::new(server_cli())
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--json")
            .env("PULSEKIT_BASE_URL", &self.url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pulsekit {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// (DSN, key) of a new project's key with ingest and read.
    fn new_project(&self, name: &str) -> (String, String) {
        let project = self.cli(&["project", "create", name]);
        let key = self.cli(&[
            "key",
            "create",
            "--project",
            project["slug"].as_str().unwrap(),
            "--permissions",
            "ingest,read",
        ]);
        (
            key["dsn"].as_str().unwrap().to_string(),
            key["key"].as_str().unwrap().to_string(),
        )
    }

    fn events(&self, key: &str) -> Vec<Value> {
        let (status, body) = get(&self.url, "/api/v1/events?limit=200", Some(key)).unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["events"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// A plain HTTP/1.1 GET: (status, body).
fn get(base: &str, path: &str, key: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let key_header = key
        .map(|k| format!("X-PulseKit-Key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{key_header}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// Builds and runs `source` as a program depending on the SDK, in the shared target/.
fn run_program(source: &str, work_dir: &Path) -> std::process::Output {
    let crate_dir = work_dir.join("quickstart-check");
    std::fs::create_dir_all(crate_dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"pulsekit-quickstart-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\npulsekit = {{ path = {:?} }}\nserde_json = \"1\"\n\n[workspace]\n",
        sdk_dir()
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap();
    // The SDK's lock file: the same dependency versions, already built in the shared target/.
    std::fs::copy(sdk_dir().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    std::fs::write(crate_dir.join("src/main.rs"), source).unwrap();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| sdk_dir().join("target"));
    common::cargo()
        // Offline: every crate it needs is in the SDK's lock file and already downloaded.
        .args(["run", "--quiet", "--offline", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn by_type<'a>(events: &'a [Value], event_type: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} event in {events:#?}"))
}

#[test]
fn the_quickstart_unchanged_but_for_the_dsn_delivers_its_events_to_a_live_server() {
    let server = LiveServer::start();
    let (dsn, key) = server.new_project("Rust quickstart");
    let quickstart = std::fs::read_to_string(sdk_dir().join("quickstart/src/main.rs")).unwrap();
    assert_eq!(quickstart.matches("__DSN__").count(), 1);

    let output = run_program(&quickstart.replace("__DSN__", &dsn), &server.data_dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let events = server.events(&key);
    assert_eq!(events.len(), 3, "{events:#?}");
    let payment = by_type(&events, "payment.success");
    assert_eq!(payment["message"], "Order 1234 paid");
    assert_eq!(payment["metadata"]["amount_cents"], 4999);
    assert_eq!(payment["tags"]["provider"], "stripe");
    assert_eq!(payment["tags"]["service"], "checkout");
    assert_eq!(payment["environment"], "production");
    assert_eq!(payment["release"], "shop@2.4.1");
    let error = by_type(&events, "error");
    assert_eq!(error["exception"]["type"], "ParseIntError");
    assert_eq!(error["exception"]["value"], "invalid digit found in string");
    let frames = error["stacktrace"]["frames"].as_array().unwrap();
    assert_eq!(frames.last().unwrap()["function"], "main");
    assert_eq!(frames.last().unwrap()["in_app"], true);
    assert!(
        error["issue_id"].is_number(),
        "errors are grouped into issues"
    );
    assert_eq!(
        by_type(&events, "message")["message"],
        "Quickstart finished"
    );
}

#[test]
fn the_checkout_example_runs_against_a_live_server() {
    let server = LiveServer::start();
    let (dsn, key) = server.new_project("Rust example");
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/checkout");

    let output = Command::new(&example)
        .env("PULSEKIT_DSN", &dsn)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("events sent: true"));

    let events = server.events(&key);
    assert_eq!(events.len(), 3);
    let failed = by_type(&events, "error");
    assert_eq!(failed["tags"]["order_id"], "1002");
    assert_eq!(failed["user"]["id"], "customer-1002");
    assert_eq!(failed["exception"]["type"], "CheckoutError");
    assert_eq!(failed["exception"]["chain"][0]["type"], "GatewayTimeout");
    let paid: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "payment.success")
        .map(|e| e["tags"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(paid.len(), 2);
    assert!(paid.contains(&"1001") && paid.contains(&"1003"));
}

#[test]
fn the_readme_shows_the_quickstart_program_verbatim() {
    let quickstart = std::fs::read_to_string(sdk_dir().join("quickstart/src/main.rs")).unwrap();
    let readme = std::fs::read_to_string(sdk_dir().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```rust\n{quickstart}```")),
        "README.md's quickstart differs from quickstart/src/main.rs"
    );
}
