//! Harness for end-to-end tests: the real collector in-process on a free
//! loopback port, a real headless browser driven over WebDriver (a few plain
//! HTTP calls; no client library needed), and SQLite read directly. Every wait
//! is bounded and every child process is killed on drop.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Browser {
    Chromium,
    Firefox,
}

pub struct Harness {
    pub base: String,
    pub db: PathBuf,
    driver: Child,
    webdriver: String,
    session: String,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build()
}

impl Harness {
    pub fn start(browser: Browser) -> Harness {
        let www = repo().join("www");
        assert!(
            www.join("goaltag/goaltag.js").exists() && www.join("goaltag/goaltag_bg.wasm").exists(),
            "the tag is not built: run ./build.sh build first"
        );
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let cfg = goaltag_collector::Config { db: db.clone(), www: Some(www), ..Default::default() };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                goaltag_collector::serve(l, cfg).await.unwrap();
            });
        });

        let port = free_port();
        let (bin, caps) = match browser {
            Browser::Chromium => {
                let profile = dir.path().join("chromium-profile");
                (
                    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
                    json!({"browserName": "chrome", "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                 "--no-first-run", "--disable-quic", format!("--user-data-dir={}", profile.display())]}}),
                )
            }
            Browser::Firefox => (
                std::env::var("GECKODRIVER").unwrap_or_else(|_| {
                    format!("{}/.cargo/bin/geckodriver", std::env::var("HOME").unwrap_or_default())
                }),
                json!({"browserName": "firefox", "moz:firefoxOptions": {
                    "binary": "/usr/bin/firefox-esr", "args": ["-headless"]}}),
            ),
        };
        let driver = Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} ({e}): install it with ./build.sh deps"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut h = Harness { base, db, driver, webdriver, session: String::new(), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent().get(&format!("{}/status", h.webdriver)).call().is_err() {
            assert!(Instant::now() < deadline, "{bin} did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let resp: Value = agent()
            .post(&format!("{}/session", h.webdriver))
            .send_json(json!({"capabilities": {"alwaysMatch": caps}}))
            .unwrap_or_else(|e| panic!("could not open a {browser:?} session: {e}"))
            .into_json()
            .unwrap();
        h.session = resp["value"]["sessionId"].as_str().expect("a session id").to_string();
        h
    }

    fn wd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{}", self.webdriver, self.session, path);
        let r = agent().request(method, &url).send_json(body);
        match r {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, r)) => panic!("WebDriver {method} {path}: {code} {}", r.into_string().unwrap()),
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn goto(&self, path: &str) {
        self.wd("POST", "/url", json!({"url": self.url(path)}));
    }

    pub fn exec(&self, script: &str) -> Value {
        self.wd("POST", "/execute/sync", json!({"script": script, "args": []}))
    }

    /// Clicks the element matching `css` like a user would (WebDriver click).
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/element", self.webdriver, self.session);
            if let Ok(r) = agent().post(&url).send_json(json!({"using": "css selector", "value": css})) {
                let v: Value = r.into_json().unwrap();
                let id = v["value"].as_object().and_then(|o| o.values().next()).and_then(|x| x.as_str()).unwrap().to_string();
                self.wd("POST", &format!("/element/{id}/click"), json!({}));
                return;
            }
            assert!(Instant::now() < deadline, "no element {css}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |row| {
            Ok((0..n)
                .map(|i| match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(x) => json!(x),
                    rusqlite::types::ValueRef::Real(x) => json!(x),
                    rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                })
                .collect())
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }

    /// Polls until `sql` returns at least `n` rows (bounded by `secs`).
    pub fn wait_rows(&self, sql: &str, n: usize, secs: u64) -> Vec<Vec<Value>> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let rows = self.query(sql);
            if rows.len() >= n || Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = agent().delete(&format!("{}/session/{}", self.webdriver, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
