//! Harness for end-to-end tests: the real collector in-process on a free
//! loopback port, a real headless browser (Chromium or Firefox ESR) driven over
//! WebDriver, and the collector's SQLite database read directly.
//!
//! ```no_run
//! use goaltag_e2e::{Browser, Harness, WAIT};
//! let h = Harness::start(Browser::Chromium); // the repo's www/, with the built tag
//! h.goto("/");
//! let rows = h.wait_for_rows("select id from events where kind = 'page_view'", 1, WAIT);
//! ```
//!
//! The WebDriver client is a few JSON calls over plain HTTP to 127.0.0.1 (ureq,
//! no TLS): nothing else is needed and nothing leaves the machine.
//!
//! Every wait is bounded: each WebDriver call (60 s at most, page loads 20 s),
//! each poll of the database ([`Harness::wait_for_rows`]), and the start-up of
//! the collector and the driver. The driver and the browser it launches run in
//! their own process group, killed when the [`Harness`] is dropped, also when
//! a test panics; the driver also dies with the thread that started it.

pub mod banner;
pub mod faults;

use base64::Engine as _;
use serde_json::{json, Value};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A sensible bound for waiting on something the browser sends.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often [`Harness::wait_for_rows`] polls the database.
const POLL: Duration = Duration::from_millis(100);

/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    /// `/usr/bin/chromium` through chromedriver (`$CHROMEDRIVER` or `/usr/bin/chromedriver`).
    Chromium,
    /// `/usr/bin/firefox-esr` through geckodriver (`$GECKODRIVER`, `~/.cargo/bin/geckodriver` or `$PATH`).
    Firefox,
}

impl Browser {
    pub const ALL: [Browser; 2] = [Browser::Chromium, Browser::Firefox];

    /// The WebDriver server and the capabilities that launch this browser
    /// headless with a fresh profile under `tmp`. Panics, saying how to
    /// install them, if the driver or the browser is missing.
    fn driver_and_capabilities(self, tmp: &Path) -> (PathBuf, Value) {
        match self {
            Browser::Chromium => {
                let driver = env_or("CHROMEDRIVER", &["/usr/bin/chromedriver"], "chromedriver");
                let binary = installed("/usr/bin/chromium", "Chromium");
                installed(driver.to_str().unwrap(), "chromedriver");
                let profile = tmp.join("chromium-profile");
                let args = [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-default-apps",
                    "--disable-domain-reliability",
                    "--disable-quic",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--window-size=1200,900",
                ];
                let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
                args.push(format!("--user-data-dir={}", profile.display()));
                // loggingPrefs: lets Harness::console_errors read the console.
                (
                    driver,
                    json!({"browserName": "chrome", "goog:chromeOptions": {"binary": binary, "args": args},
                                "goog:loggingPrefs": {"browser": "ALL"}}),
                )
            }
            Browser::Firefox => {
                let home = std::env::var("HOME").unwrap_or_default();
                let cargo_bin = format!("{home}/.cargo/bin/geckodriver");
                let driver = env_or("GECKODRIVER", &[&cargo_bin], "geckodriver");
                let binary = installed("/usr/bin/firefox-esr", "Firefox ESR");
                installed(driver.to_str().unwrap(), "geckodriver");
                // geckodriver already starts Firefox with its recommended
                // automation preferences; these keep it off the network too.
                let prefs = json!({
                    "app.update.enabled": false,
                    "app.update.auto": false,
                    "browser.safebrowsing.malware.enabled": false,
                    "browser.safebrowsing.phishing.enabled": false,
                    "browser.safebrowsing.downloads.remote.enabled": false,
                    "browser.shell.checkDefaultBrowser": false,
                    "datareporting.healthreport.uploadEnabled": false,
                    "datareporting.policy.dataSubmissionEnabled": false,
                    "extensions.update.enabled": false,
                    "network.captive-portal-service.enabled": false,
                    "network.connectivity-service.enabled": false,
                    "network.dns.disablePrefetch": true,
                    "network.prefetch-next": false,
                    "toolkit.telemetry.enabled": false,
                });
                (
                    driver,
                    json!({"browserName": "firefox", "moz:firefoxOptions": {
                        "binary": binary, "args": ["-headless", "--width=1200", "--height=900"], "prefs": prefs}}),
                )
            }
        }
    }
}

/// `$var` if set, else the first of `paths` that exists, else `name` on `$PATH`
/// (falling back to the first path, so the "missing" message names it).
fn env_or(var: &str, paths: &[&str], name: &str) -> PathBuf {
    if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        return PathBuf::from(v);
    }
    if let Some(p) = paths.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return p;
    }
    let on_path =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file())).unwrap_or_default();
    on_path.unwrap_or_else(|| PathBuf::from(paths[0]))
}

fn installed(path: &str, what: &str) -> String {
    assert!(
        Path::new(path).is_file(),
        "{what} is not installed (looked for {path}): install the browsers and drivers with ./build.sh deps"
    );
    path.to_string()
}

/// The repository root.
pub fn repo() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// The demo shop, served at `/` by default.
pub fn repo_www() -> PathBuf {
    repo().join("www")
}

/// True for a canonical lower-case RFC 4122 version-4 UUID.
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One test's world: a collector with an empty database, a browser session.
pub struct Harness {
    pub browser: Browser,
    /// `http://127.0.0.1:<port>`: the collector, serving www/ at `/` and `/collect`.
    pub base: String,
    /// The collector's SQLite file.
    pub db: PathBuf,
    http: ureq::Agent,
    webdriver: String,
    session: String,
    driver: Option<Child>,
    driver_log: PathBuf,
    collector: Option<tokio::runtime::Runtime>,
    collector_exit: mpsc::Receiver<String>,
    _tmp: tempfile::TempDir,
}

impl Harness {
    /// The demo shop (the repo's `www/`) in `browser`. Panics if the tag is not built.
    pub fn start(browser: Browser) -> Harness {
        let www = repo_www();
        let missing: Vec<String> = ["goaltag/goaltag.js", "goaltag/goaltag_bg.wasm"]
            .iter()
            .map(|f| www.join(f))
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        assert!(missing.is_empty(), "the tag is not built (missing {}): run ./build.sh build first", missing.join(", "));
        Harness::start_with_www(browser, &www)
    }

    /// The collector serving `www` at `/`, and `browser`; the tag need not exist.
    pub fn start_with_www(browser: Browser, www: &Path) -> Harness {
        let tmp = tempfile::Builder::new().prefix("goaltag-e2e-").tempdir().unwrap();
        let (driver_bin, capabilities) = browser.driver_and_capabilities(tmp.path());
        let http = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(5)).timeout(Duration::from_secs(60)).build();

        let db = tmp.path().join("events.db");
        let (runtime, base, collector_exit) = start_collector(&http, &db, www);

        let driver_log = tmp.path().join("driver.log");
        let mut h = Harness {
            browser,
            base,
            db,
            http,
            webdriver: String::new(),
            session: String::new(),
            driver: None,
            driver_log,
            collector: Some(runtime),
            collector_exit,
            _tmp: tmp,
        };
        // A free port can be taken between asking and binding: try a few.
        for attempt in 1..=3 {
            match h.spawn_driver(&driver_bin) {
                Ok(()) => break,
                Err(e) if attempt < 3 => eprintln!("{browser:?}: {e}; retrying on another port"),
                Err(e) => panic!("{browser:?}: {e}\n{}", h.driver_log_tail()),
            }
        }
        let created = h.http.post(&format!("{}/session", h.webdriver)).send_json(json!({
            "capabilities": {"alwaysMatch": capabilities}
        }));
        let resp: Value = match created {
            Ok(r) => r.into_json().unwrap(),
            Err(e) => panic!("{browser:?}: could not open a browser session: {}\n{}", describe(e), h.driver_log_tail()),
        };
        h.session = resp["value"]["sessionId"].as_str().expect("a WebDriver session id").to_string();
        h.wd("POST", "/timeouts", Some(json!({"pageLoad": 20_000, "script": 15_000, "implicit": 0})));
        h
    }

    /// Starts the WebDriver server in its own process group on a free port
    /// and waits (20 s at most) until it is ready.
    fn spawn_driver(&mut self, bin: &Path) -> Result<(), String> {
        if let Some(mut old) = self.driver.take() {
            kill_group(&mut old);
        }
        let port = free_port();
        let log = File::options().create(true).append(true).open(&self.driver_log).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--port={port}"))
            .env("TMPDIR", self._tmp.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill
        // the driver if the thread that started it dies without cleaning up.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}): install the browsers and drivers with ./build.sh deps", bin.display()));
        self.driver = Some(child);
        self.webdriver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.driver.as_mut().unwrap().try_wait().unwrap() {
                return Err(format!("{} exited at start ({status})", bin.display()));
            }
            if let Ok(r) = self.http.get(&format!("{}/status", self.webdriver)).call() {
                let v: Value = r.into_json().unwrap_or_default();
                if v["value"]["ready"].as_bool() != Some(false) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not answer on port {port} within 20 s", bin.display()));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The WebDriver server's process ID, which is also the ID of the process
    /// group holding it and the browser (see [`group_alive`]).
    pub fn driver_pid(&self) -> u32 {
        self.driver.as_ref().map(Child::id).unwrap_or(0)
    }

    fn driver_log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.driver_log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!("driver log (last lines):\n{}", lines[lines.len().saturating_sub(30)..].join("\n"))
    }

    /// One WebDriver command on this session; `Err` carries the error and message.
    pub fn try_wd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}/session/{}{}", self.webdriver, self.session, path);
        let req = self.http.request(method, &url);
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match r {
            Ok(r) => Ok(r.into_json::<Value>().map_err(|e| e.to_string())?["value"].take()),
            Err(e) => Err(describe(e)),
        }
    }

    /// One WebDriver command on this session; panics on an error.
    pub fn wd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_wd(method, path, body).unwrap_or_else(|e| panic!("{:?}: WebDriver {method} {path}: {e}", self.browser))
    }

    /// The absolute URL of `path` on the collector (`/` → `http://127.0.0.1:<port>/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Opens `path` (relative to the collector) and waits for the page to load.
    pub fn goto(&self, path: &str) {
        let url = if path.starts_with("http://") { path.to_string() } else { self.url(path) };
        self.wd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Reloads the current page.
    pub fn reload(&self) {
        self.wd("POST", "/refresh", Some(json!({})));
    }

    /// The browser's current URL.
    pub fn current_url(&self) -> String {
        self.wd("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// The element matching `css`, waiting for it up to [`WAIT`].
    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self.try_wd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
            match found {
                Ok(v) => return v[ELEMENT].as_str().expect("an element reference").to_string(),
                Err(e) if Instant::now() > deadline => {
                    panic!("{:?}: no element {css} on {} after {WAIT:?}: {e}", self.browser, self.current_url())
                }
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Clicks the element matching `css` as a user would (a WebDriver click:
    /// real mouse events), retrying while it is missing, stale or covered.
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let id = self.find(css);
            match self.try_wd("POST", &format!("/element/{id}/click"), Some(json!({}))) {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => panic!("{:?}: cannot click {css}: {e}", self.browser),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Types `text` into the element matching `css` (real key events).
    pub fn type_text(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.wd("POST", &format!("/element/{id}/value"), Some(json!({ "text": text })));
    }

    /// The visible text of the element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.wd("GET", &format!("/element/{id}/text"), None).as_str().unwrap_or_default().to_string()
    }

    /// Runs `js` as a function body in the page; `return x` gives x as JSON.
    pub fn exec(&self, js: &str) -> Value {
        self.wd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    /// Runs asynchronous `js` in the page: it finishes by calling `done(x)`,
    /// and x comes back as JSON (15 s at most).
    pub fn exec_async(&self, js: &str) -> Value {
        let script = format!("var done = arguments[arguments.length - 1];\n{js}");
        self.wd("POST", "/execute/async", Some(json!({"script": script, "args": []})))
    }

    /// Polls the page every 100 ms until the JS expression `cond` is truthy;
    /// panics after `timeout`.
    pub fn wait_for_js(&self, cond: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let script = format!("return !!({cond});");
        while self.exec(&script) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "{:?}: `{cond}` still false after {timeout:?}", self.browser);
            std::thread::sleep(POLL);
        }
    }

    /// Saves a PNG of the viewport (for looking at a failure or at the demo).
    pub fn screenshot(&self, path: &Path) {
        let b64 = self.wd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Chromium only (Firefox answers `None`): the console's errors since the
    /// last call (uncaught exceptions, failed loads, CSP violations, console.error).
    pub fn console_errors(&self) -> Option<Vec<String>> {
        if self.browser != Browser::Chromium {
            return None;
        }
        let log = self.wd("POST", "/se/log", Some(json!({"type": "browser"})));
        let entries = log.as_array().cloned().unwrap_or_default();
        Some(entries.iter().filter(|e| e["level"] == "SEVERE").map(|e| e["message"].as_str().unwrap_or_default().to_string()).collect())
    }

    /// Runs `sql` on the collector's database; each row as JSON values
    /// (NULL → null, integers and reals → numbers, text → strings).
    pub fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let conn = rusqlite::Connection::open_with_flags(&self.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.db.display()));
        conn.busy_timeout(Duration::from_secs(2)).unwrap();
        let mut st = conn.prepare(sql).unwrap_or_else(|e| panic!("bad SQL `{sql}`: {e}"));
        let n = st.column_count();
        let rows = st.query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => Value::Null,
                        rusqlite::types::ValueRef::Integer(x) => json!(x),
                        rusqlite::types::ValueRef::Real(x) => json!(x),
                        rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                        rusqlite::types::ValueRef::Blob(b) => json!(format!("<{} bytes>", b.len())),
                    })
                })
                .collect()
        });
        rows.and_then(|r| r.collect()).unwrap_or_else(|e| panic!("`{sql}`: {e}"))
    }

    /// Polls the database every 100 ms until `sql` returns at least
    /// `expected` rows and returns them; panics after `timeout` with what the
    /// database does hold. (For "exactly": check the length afterwards, or
    /// [`Harness::expect_rows_stay`].)
    pub fn wait_for_rows(&self, sql: &str, expected: usize, timeout: Duration) -> Vec<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let rows = self.query(sql);
            if rows.len() >= expected {
                return rows;
            }
            if Instant::now() > deadline {
                panic!(
                    "{:?}: after {timeout:?}, `{sql}` gives {} rows, expected {expected}: {rows:?}\n{}",
                    self.browser,
                    rows.len(),
                    self.report()
                );
            }
            self.check_collector();
            std::thread::sleep(POLL);
        }
    }

    /// Checks for `duration` that `sql` keeps returning exactly `expected`
    /// rows (nothing late, nothing duplicated); returns the rows.
    pub fn expect_rows_stay(&self, sql: &str, expected: usize, duration: Duration) -> Vec<Vec<Value>> {
        let deadline = Instant::now() + duration;
        loop {
            let rows = self.query(sql);
            assert_eq!(rows.len(), expected, "{:?}: `{sql}`: {rows:?}\n{}", self.browser, self.report());
            if Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(POLL);
        }
    }

    /// What the database holds and where the browser is, for failure messages.
    pub fn report(&self) -> String {
        let mut s = String::from("events stored (kind, url, json):\n");
        for r in self.query("select kind, url, json from events order by received_at, ts") {
            let json: String = r[2].as_str().unwrap_or_default().chars().take(400).collect();
            s.push_str(&format!("  {} {} {}\n", r[0], r[1], json));
        }
        let url = self.try_wd("GET", "/url", None).unwrap_or_else(|e| json!(e));
        s.push_str(&format!("browser at: {url}"));
        s
    }

    /// Panics if the collector stopped.
    fn check_collector(&self) {
        match self.collector_exit.try_recv() {
            Err(mpsc::TryRecvError::Empty) => {}
            Ok(e) => panic!("the collector stopped: {e}"),
            Err(mpsc::TryRecvError::Disconnected) => panic!("the collector stopped (it panicked)"),
        }
    }
}

/// A ureq error as text; for WebDriver errors, its `error` and `message`.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, r) => {
            let body = r.into_string().unwrap_or_default();
            match serde_json::from_str::<Value>(&body) {
                Ok(v) => format!("{code} {}: {}", v["value"]["error"], v["value"]["message"]),
                Err(_) => format!("{code} {body}"),
            }
        }
        e => e.to_string(),
    }
}

/// The collector on a free loopback port in its own tokio runtime, with an
/// empty database at `db`, serving `www`; waits (10 s at most) for `/health`.
fn start_collector(http: &ureq::Agent, db: &Path, www: &Path) -> (tokio::runtime::Runtime, String, mpsc::Receiver<String>) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("e2e-collector").enable_all().build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let listener = {
        let _in_runtime = rt.enter();
        tokio::net::TcpListener::from_std(listener).unwrap()
    };
    let cfg = goaltag_collector::Config { db: db.into(), www: Some(www.to_path_buf()), ..Default::default() };
    let (tx, exit) = mpsc::channel();
    rt.spawn(async move {
        let why = match goaltag_collector::serve(listener, cfg).await {
            Ok(()) => "serve returned".to_string(),
            Err(e) => format!("{e:#}"),
        };
        let _ = tx.send(why);
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(why) = exit.try_recv() {
            panic!("the collector did not start: {why}");
        }
        if http.get(&format!("{base}/health")).call().is_ok() {
            return (rt, base, exit);
        }
        assert!(Instant::now() < deadline, "the collector did not answer {base}/health within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True while any process of the group `pgid` exists.
pub fn group_alive(pgid: u32) -> bool {
    // SAFETY: signal 0 only checks that the group exists; nothing is sent.
    unsafe { libc::kill(-(pgid as libc::pid_t), 0) == 0 }
}

/// Kills the driver's process group (the driver and the browser it launched).
fn kill_group(child: &mut Child) {
    // SAFETY: a plain kill(2) on the group this harness created (pgid = the driver's pid).
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Ends the browser cleanly; the group kill below is for when it cannot.
            let quick = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
            let _ = quick.delete(&format!("{}/session/{}", self.webdriver, self.session)).call();
        }
        if let Some(mut driver) = self.driver.take() {
            kill_group(&mut driver);
        }
        if let Some(rt) = self.collector.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}
