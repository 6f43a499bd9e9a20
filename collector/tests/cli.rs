//! The `goaltag-collector` binary as a user runs it: flags, environment,
//! the "listening" line with the real port, and a clean stop on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");
const TIMEOUT: Duration = Duration::from_secs(20);

/// Kills the child if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_prints_its_address_honours_the_environment_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/data/events.db");
    let child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GOALTAG_DB", &db)
        .env("GOALTAG_ALLOWED_ORIGINS", "https://a.example, https://b.example")
        .env("GOALTAG_MAX_DECODED_BYTES", "100")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Running(child);

    // The first stdout line, read on a thread so a silent binary cannot hang the test.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(TIMEOUT).expect("a listening line");
    let base = line
        .trim()
        .strip_prefix("goaltag collector listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_string();
    assert!(!base.ends_with(":0"), "the real port is printed: {base}");
    assert!(db.exists(), "the database and its folders are created");

    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
    assert!(agent.get(&format!("{base}/health")).call().unwrap().into_string().unwrap().contains("ok"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let body = format!(
        r#"{{"v":1,"site":"s","sent_at":{now},"events":[{{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","kind":"click","ts":{now}}}]}}"#
    );
    let r = agent.post(&format!("{base}/collect")).set("Origin", "https://b.example").send_string(&body).unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("https://b.example"));
    // GOALTAG_MAX_DECODED_BYTES reaches the collector: the same batch gzipped decodes past 100 bytes.
    let r = agent.post(&format!("{base}/collect?c=gzip")).send_bytes(&common::gzip(body.as_bytes()));
    match r {
        Err(ureq::Error::Status(413, r)) => assert!(r.into_string().unwrap().contains("the limit of 100 bytes")),
        other => panic!("expected 413, got {other:?}"),
    }

    // SIGTERM (via kill(1), to need no libc binding) stops it cleanly.
    let pid = child.0.id().to_string();
    if Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success()) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                assert!(status.success(), "exit status after SIGTERM: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let n: i64 = rusqlite::Connection::open(&db).unwrap().query_row("select count(*) from events", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn help_reads_like_a_manual() {
    let out = Command::new(BIN).args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--allowed-origin",
        "GOALTAG_ALLOWED_ORIGINS",
        "GOALTAG_LISTEN",
        "ENDPOINTS",
        "Retry-After",
        "EXAMPLES",
        "--site-origin",
        "GOALTAG_SITE_ORIGINS",
        "--ip-rate",
        "--trust-forwarded-for",
        "--max-event-age",
        "RATE LIMITS",
        "DURABILITY",
        "fsyncs",
        "not a secret",
        "--log-format",
        "--max-decoded-bytes",
        "GOALTAG_MAX_DECODED_BYTES",
        "?c=gzip",
        "1f 8b",
    ] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[test]
fn a_bad_origin_is_refused_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--allowed-origin", "https://shop.example/"])
        .env("GOALTAG_DB", dir.path().join("e.db"))
        .env_remove("GOALTAG_ALLOWED_ORIGINS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no listening line");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no path or trailing slash"));
}

#[test]
fn json_logs_are_one_object_a_line() {
    let dir = tempfile::tempdir().unwrap();
    // A bad origin stops it right after the first log line.
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--allowed-origin", "https://shop.example/"])
        .env("GOALTAG_DB", dir.path().join("e.db"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no path or trailing slash"), "{stderr}");
    let first = stderr.lines().next().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
    assert_eq!((v["level"].as_str(), v["message"].as_str()), (Some("INFO"), Some("starting")), "{first}");
}
