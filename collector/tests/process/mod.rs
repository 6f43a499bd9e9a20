//! The collector's real binary as a child process, for the tests that kill
//! and restart it (durability.rs, scale_out.rs): started on a free loopback
//! port, its address read from its first line, killed when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");
/// Longest a start may take to print its listening line.
const STARTUP: Duration = Duration::from_secs(30);

/// A collector process, killed when dropped so a failing test leaves none behind.
pub struct Collector {
    pub child: Child,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` on `db` (a SQLite path or a PostgreSQL URL) with rate limits off
/// (every client of these tests is 127.0.0.1) and no origin lists from the
/// environment; `stderr` is where its logs go.
pub fn start(db: impl AsRef<OsStr>, stderr: Stdio) -> Collector {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--ip-rate", "0", "--site-rate", "0", "--db"])
        .arg(db)
        .env("RUST_LOG", "warn")
        .env_remove("GOALTAG_ALLOWED_ORIGINS")
        .env_remove("GOALTAG_SITE_ORIGINS")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut c = Collector { child, base: String::new() };
    let line = rx.recv_timeout(STARTUP).expect("a listening line");
    c.base = line
        .trim()
        .strip_prefix("goaltag collector listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_string();
    c
}
