//! The real collector on a free loopback port, spoken to over HTTP; what
//! landed is read straight from SQLite.

mod common;

use common::{agent, gzip, spawn, zeros_bomb, Server, TIMEOUT};
use goaltag_collector::store::{BatchWriter, Threaded};
use goaltag_collector::{Accepted, Config, Rejected, Stored};
use goaltag_wire::{Event, Kind};
use rusqlite::Connection;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// These fixtures carry fixed timestamps from 2025 (and `ts: 1`), so the
/// event age limit is opened wide here; tests/guard.rs tests the window.
const OLD_FIXTURES: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The collector with SQLite in a temp folder and a `www` folder holding a
/// `.wasm` file and an `index.html`; `edit` adjusts the configuration.
fn start(edit: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/events.db");
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("shop")).unwrap();
    std::fs::write(www.join("x.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(www.join("index.html"), "<h1>landing</h1>").unwrap();
    std::fs::write(www.join("shop/index.html"), "<h1>shop</h1>").unwrap();
    let mut cfg = Config { db: db.clone().into(), www: Some(www), max_event_age: OLD_FIXTURES, ..Default::default() };
    edit(&mut cfg);
    // The router opens the database here, so a bad config fails the test at once.
    let app = goaltag_collector::router(cfg).unwrap();
    Server::serve(app, db, dir)
}

/// Status, body and the headers a test looks at, for 2xx and 4xx/5xx alike.
struct Answer {
    status: u16,
    body: String,
    allow_origin: Option<String>,
    retry_after: Option<String>,
    content_type: Option<String>,
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Answer {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let h = |n: &str| r.header(n).map(str::to_string);
    let (allow_origin, retry_after, content_type) = (h("access-control-allow-origin"), h("retry-after"), h("content-type"));
    Answer { status: r.status(), allow_origin, retry_after, content_type, body: r.into_string().unwrap() }
}

fn post_to(base: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = agent().post(&format!("{base}/collect"));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    answer(req.send_string(body))
}

/// POSTs raw bytes to `/collect{query}` as the tag does (text/plain).
fn post_bytes(base: &str, query: &str, body: &[u8]) -> Answer {
    let req = agent().post(&format!("{base}/collect{query}")).set("Content-Type", "text/plain;charset=UTF-8");
    answer(req.send_bytes(body))
}

impl Server {
    /// POSTs `json` gzipped with `?c=gzip`, as the tag sends large batches.
    fn post_gzip(&self, json: &str) -> Answer {
        post_bytes(&self.base, "?c=gzip", &gzip(json.as_bytes()))
    }
    /// POSTs as the tag does: text/plain, so no preflight.
    fn post(&self, body: &str) -> Answer {
        post_to(&self.base, body, &[("Content-Type", "text/plain;charset=UTF-8")])
    }
    fn get(&self, path: &str) -> Answer {
        answer(agent().get(&format!("{}{path}", self.base)).call())
    }
    fn count(&self, sql: &str) -> i64 {
        Connection::open(&self.db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

const ID1: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const ID2: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

/// A batch of `events` sent now by a right clock: their fixed times (from
/// 2025) are stored as they are (the collector moves event times only for
/// a browser clock that is wrong, see tests/ingest.rs).
fn batch(events: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    format!(r#"{{"v":1,"site":"demo-shop","sent_at":{now},"events":[{events}]}}"#)
}

fn two_events() -> String {
    batch(&format!(
        r#"{{"id":"{ID1}","kind":"page_view","ts":1764000000000,"url":"https://shop.example/","referrer":"","title":"Home"}},
           {{"id":"{ID2}","kind":"conversion","ts":1764000000001,"action":"purchase","value":49.95,"currency":"USD",
             "transaction_id":"T-1","goal":"purchase","primary":true,"client_id":"c-1","visit_id":"v-1",
             "attribution":{{"utm":{{"utm_source":"news"}},"referrer_host":"news.example"}}}}"#
    ))
}

#[test]
fn a_valid_batch_is_stored_with_its_columns_and_json() {
    let s = start(|_| {});
    let a = s.post(&two_events());
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"duplicates":0,"stored":2}"#));
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert_eq!(s.count("select count(*) from events"), 2);

    let conn = Connection::open(&s.db).unwrap();
    type Row = (String, String, i64, i64, Option<String>, String, f64, String, String, String, String, String);
    let row: Row = conn
        .query_row(
            &format!(
                "select site, kind, ts, received_at, url, goal, value, currency, transaction_id, client_id, visit_id, json
                 from events where id='{ID2}'"
            ),
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            },
        )
        .unwrap();
    let (site, kind, ts, received_at, url, goal, value, currency, tx, client, visit, json) = row;
    assert_eq!((site.as_str(), kind.as_str(), ts, url), ("demo-shop", "conversion", 1764000000001, None));
    assert_eq!((goal.as_str(), value, currency.as_str(), tx.as_str()), ("purchase", 49.95, "USD", "T-1"));
    assert_eq!((client.as_str(), visit.as_str()), ("c-1", "v-1"));
    assert!(received_at > 1_700_000_000_000, "received_at is a ms timestamp: {received_at}");
    // The json column is the whole event: it parses back to what was sent.
    let e: Event = serde_json::from_str(&json).unwrap();
    assert_eq!((e.id.as_str(), e.kind, e.primary), (ID2, Kind::Conversion, Some(true)));
    assert_eq!(e.attribution.unwrap().utm["utm_source"], "news");

    let (url, title): (String, String) = conn
        .query_row(&format!("select url, json_extract(json, '$.title') from events where id='{ID1}'"), [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((url.as_str(), title.as_str()), ("https://shop.example/", "Home"));
    assert_eq!(s.count("select count(*) from batches where site='demo-shop' and events=2 and stored=2 and attempt=1"), 1);
}

/// Enhanced conversions' `user_data` (issue 27): a conversion carrying it is
/// stored, without it (nothing erases it after a retention period yet); a
/// malformed one is a 400 naming the field, never a 500, and stores nothing.
#[test]
fn a_conversion_with_user_data_is_stored_without_it_and_a_bad_one_is_a_400() {
    let s = start(|_| {});
    let hash = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
    let conversion = |user_data: &str| {
        batch(&format!(r#"{{"id":"{ID2}","kind":"conversion","ts":1764000000001,"goal":"purchase","user_data":{user_data}}}"#))
    };
    for (bad, reason) in [
        (r#"{"meta":{"em":"jane@example.com"}}"#.to_string(), "events[0].user_data.meta.em: expected a SHA-256"),
        (r#"{"google":[1]}"#.to_string(), "not a goaltag batch"),
        (r#""x""#.to_string(), "not a goaltag batch"),
    ] {
        let a = s.post(&conversion(&bad));
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(a.body.contains(reason), "{reason:?} in {}", a.body);
    }
    assert_eq!(s.count("select count(*) from events"), 0);
    let good = format!(r#"{{"google":{{"em":"{hash}","city":"Menlo Park"}},"microsoft":{{"em":"{hash}"}},"meta":{{"ph":"{hash}"}}}}"#);
    let a = s.post(&conversion(&good));
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"duplicates":0,"stored":1}"#));
    assert_eq!(s.count("select count(*) from events where kind='conversion'"), 1);
    assert_eq!(s.count(&format!("select count(*) from events where json like '%user_data%' or json like '%{hash}%'")), 0);
}

#[test]
fn the_same_batch_resent_is_stored_once() {
    let s = start(|_| {});
    assert_eq!(s.post(&two_events()).status, 200);
    // A retry: attempt 2, the tag's drop counts, and one ID in upper case.
    let retry = two_events()
        .replace(r#""sent_at""#, r#""attempt":2,"dropped":{"overflow":3,"expired":1,"consent":2},"sent_at""#)
        .replace(ID1, &ID1.to_uppercase());
    let a = s.post(&retry);
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"duplicates":2,"stored":0}"#));
    assert_eq!(s.count("select count(*) from events"), 2);
    assert_eq!(s.count("select count(*) from batches"), 2);
    assert_eq!(
        s.count("select count(*) from batches where attempt=2 and stored=0 and duplicates=2 and dropped_overflow=3 and dropped_poison=0 and dropped_expired=1 and dropped_consent=2"),
        1
    );
    // A batch with one old and one new event stores the new one only.
    let mixed = batch(&format!(
        r#"{{"id":"{ID1}","kind":"page_view","ts":1}},{{"id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","kind":"click","ts":2}}"#
    ));
    assert_eq!(s.post(&mixed).body, r#"{"duplicates":1,"stored":1}"#);
    assert_eq!(s.count("select count(*) from events"), 3);
}

#[test]
fn bad_input_is_refused_with_a_reason_and_nothing_is_stored() {
    let s = start(|c| c.max_events = 3);
    let ev = |id: &str| format!(r#"{{"id":"{id}","kind":"page_view","ts":1}}"#);
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "not a goaltag batch: key must be a string"),
        ("".into(), 400, "not a goaltag batch: EOF"),
        (r#"{"v":1,"site":"s","sent_at":1}"#.into(), 400, "missing field `events`"),
        (batch(&ev(ID1)).replace("page_view", "pageview"), 400, "unknown variant `pageview`"),
        (batch(&ev("not-a-uuid")), 400, "events[0].id: not a UUID"),
        (batch(&ev(ID1)).replace(r#""v":1"#, r#""v":2"#), 400, "v: version 2 is not supported"),
        (batch(""), 400, "events: expected 1 to 3 events, got 0"),
        // Too many is 413, which the tag answers by splitting the batch.
        (batch(&[ev(ID1), ev(ID2), ev(ID1), ev(ID2)].join(",")), 413, "events: expected 1 to 3 events, got 4"),
        // One bad event among good ones: the whole batch is refused.
        (batch(&format!("{},{}", ev(ID1), ev("bad"))), 400, "events[1].id: not a UUID"),
        (
            batch(&ev(ID1).replace(r#""ts":1"#, &format!(r#""ts":1,"title":"{}""#, "x".repeat(3000)))),
            400,
            "events[0].title: longer than 2048 characters",
        ),
        (
            batch(&ev(ID2).replace(r#""ts":1"#, &format!(r#""ts":1,"url":"https://a.example/{}""#, "x".repeat(4096)))),
            400,
            "events[0].url: longer than 4096 characters",
        ),
        (batch(&ev(ID1).replace(r#""ts":1"#, r#""ts":1,"value":1e13"#)), 400, "events[0].value"),
        (batch(&ev(ID1).replace(r#""ts":1"#, r#""ts":0"#)), 400, "events[0].ts"),
        (batch(&ev(ID1)).replace("demo-shop", "demo shop"), 400, "site: expected 1 to 100"),
        ("x".repeat(300 * 1024), 413, "the limit"),
    ];
    for (body, want, reason) in cases {
        let a = s.post(&body);
        assert_eq!(a.status, want, "{}", a.body);
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("not JSON: {}", a.body));
        let error = v["error"].as_str().unwrap_or_else(|| panic!("no error field: {}", a.body));
        assert!(error.contains(reason), "expected {reason:?} in {error:?}");
    }
    assert_eq!(s.count("select count(*) from events"), 0);
    assert_eq!(s.count("select count(*) from batches"), 0);
}

#[test]
fn refused_bodies_are_counted_with_their_reason() {
    let s = start(|c| c.max_body_bytes = 1000);
    assert_eq!(s.post("[]").status, 400);
    let big = s.post(&"y".repeat(5000));
    assert_eq!(big.status, 413);
    assert!(big.body.contains("body is 5000 bytes, the limit is 1000"), "{}", big.body);
    // A parser message quoting a huge input is cut short, in the answer and the table.
    let long_variant = batch(&format!(r#"{{"id":"{ID1}","kind":"{}","ts":1}}"#, "k".repeat(700)));
    let a = s.post(&long_variant);
    assert_eq!(a.status, 400);
    assert!(a.body.len() < 400, "{}", a.body);
    // Rejections are queued ahead of this batch, so they are written once it is acknowledged.
    assert_eq!(s.post(&two_events()).status, 200);
    assert_eq!(s.count("select count(*) from rejections"), 3);
    assert_eq!(s.count("select count(*) from rejections where reason like 'body is 5000 bytes%'"), 1);
    assert_eq!(s.count("select max(length(reason)) < 400 from rejections"), 1);
}

#[test]
fn an_oversized_body_gets_413_every_time_not_a_reset() {
    let s = start(|_| {});
    let big = batch(&format!(r#"{{"id":"{ID1}","kind":"click","ts":1,"title":"{}"}}"#, "t".repeat(1 << 20)));
    for _ in 0..10 {
        let a = s.post(&big);
        assert_eq!(a.status, 413, "{}", a.body);
        assert!(a.body.contains(&format!("body is {} bytes, the limit is 270336", big.len())), "{}", a.body);
    }
    // Chunked, without a Content-Length: the size is counted while draining.
    let r = agent().post(&format!("{}/collect", s.base)).send(std::io::Cursor::new(big.clone().into_bytes()));
    let a = answer(r);
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains(&format!("body is {} bytes", big.len())), "{}", a.body);
    // The connection pool is still usable and nothing was stored.
    assert_eq!(s.post(&two_events()).status, 200);
    assert_eq!(s.count("select count(*) from events"), 2);
}

#[test]
fn any_content_type_is_accepted() {
    let s = start(|_| {});
    for (i, ct) in ["application/json", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"].iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-00000000000{i}");
        let a = post_to(&s.base, &batch(&format!(r#"{{"id":"{id}","kind":"click","ts":1}}"#)), &[("Content-Type", ct)]);
        assert_eq!(a.status, 200, "{ct}: {}", a.body);
    }
    // sendBeacon with a Blob of no type sends no Content-Type at all.
    let a = post_to(&s.base, &batch(r#"{"id":"00000000-0000-4000-8000-00000000000f","kind":"click","ts":1}"#), &[]);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(s.count("select count(*) from events"), 4);
}

#[test]
fn cors_allows_any_origin_by_default() {
    let s = start(|_| {});
    let a = post_to(&s.base, &two_events(), &[("Origin", "https://shop.example")]);
    assert_eq!((a.status, a.allow_origin.as_deref()), (200, Some("*")));
    // Refusals carry it too, or the browser hides the status from the tag (which splits on 413).
    let a = post_to(&s.base, &"z".repeat(300 * 1024), &[("Origin", "https://shop.example")]);
    assert_eq!((a.status, a.allow_origin.as_deref()), (413, Some("*")));
    let a = post_to(&s.base, "{}", &[("Origin", "https://shop.example")]);
    assert_eq!((a.status, a.allow_origin.as_deref()), (400, Some("*")));
}

#[test]
fn cors_echoes_listed_origins_only() {
    let s = start(|c| c.allowed_origins = vec!["https://shop.example".into(), "http://127.0.0.1:9000".into()]);
    let from = |origin: &str| post_to(&s.base, &two_events(), &[("Origin", origin)]);
    assert_eq!(from("https://shop.example").allow_origin.as_deref(), Some("https://shop.example"));
    assert_eq!(from("http://127.0.0.1:9000").allow_origin.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(from("https://evil.example").allow_origin, None);

    let preflight = |origin: &str| {
        agent()
            .request("OPTIONS", &format!("{}/collect", s.base))
            .set("Origin", origin)
            .set("Access-Control-Request-Method", "POST")
            .set("Access-Control-Request-Headers", "content-type")
            .call()
            .unwrap()
    };
    let ok = preflight("https://shop.example");
    assert!(ok.status() < 300);
    assert_eq!(ok.header("access-control-allow-origin"), Some("https://shop.example"));
    assert!(ok.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(ok.header("access-control-allow-headers").unwrap().to_ascii_lowercase().contains("content-type"));
    assert_eq!(preflight("https://evil.example").header("access-control-allow-origin"), None);
}

#[test]
fn a_misspelt_origin_is_refused_at_start() {
    let err = goaltag_collector::router(Config {
        db: tempfile::tempdir().unwrap().path().join("x.db").into(),
        allowed_origins: vec!["https://shop.example/".into()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("no path or trailing slash"), "{err}");
}

#[test]
fn health_and_static_files() {
    let s = start(|_| {});
    let h = s.get("/health");
    assert_eq!((h.status, h.body.as_str()), (200, r#"{"status":"ok"}"#));
    let w = s.get("/x.wasm");
    assert_eq!((w.status, w.content_type.as_deref()), (200, Some("application/wasm")));
    assert_eq!(w.body.as_bytes(), b"\0asm\x01\0\0\0");
    // Kept by the browser but checked on every use: the tag's script and
    // wasm (unversioned names) can never come from two builds, and an
    // unchanged file costs a 304 that keeps the cached copy.
    let raw = agent().get(&format!("{}/x.wasm", s.base)).call().unwrap();
    assert_eq!(raw.header("cache-control"), Some("no-cache"));
    let since = raw.header("last-modified").expect("a Last-Modified").to_string();
    let again = answer(agent().get(&format!("{}/x.wasm", s.base)).set("If-Modified-Since", &since).call());
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    assert_eq!(s.get("/").body, "<h1>landing</h1>");
    assert_eq!(s.get("/shop/").body, "<h1>shop</h1>");
    assert_eq!(s.get("/missing.html").status, 404);
    assert_eq!(s.get("/collect").status, 405);
}

/// A store that blocks in `store` until the test opens the gate, and says when it got there.
struct Gated {
    entered: mpsc::Sender<()>,
    gate: mpsc::Receiver<()>,
}

impl BatchWriter for Gated {
    fn store(&mut self, batches: &[Accepted]) -> anyhow::Result<Vec<Stored>> {
        let _ = self.entered.send(());
        // Bounded, so a failing test cannot hang the run.
        let _ = self.gate.recv_timeout(TIMEOUT);
        Ok(batches.iter().map(|a| Stored { stored: a.batch.events.len(), duplicates: 0 }).collect())
    }
    fn reject(&mut self, _: &[Rejected]) -> anyhow::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_write_queue_answers_503_with_retry_after() {
    let (entered, entered_rx) = mpsc::channel();
    let (open, gate) = mpsc::channel();
    let cfg = Config { queue_capacity: 1, max_event_age: OLD_FIXTURES, ..Default::default() };
    let store = Threaded::start(Gated { entered, gate }, cfg.queue_capacity).unwrap();
    let (base, _stop) = spawn(move || goaltag_collector::router_with_store(cfg, std::sync::Arc::new(store)).unwrap());

    // The first batch takes the only slot and sits in the (blocked) store.
    let first = {
        let base = base.clone();
        std::thread::spawn(move || post_to(&base, &two_events(), &[]))
    };
    entered_rx.recv_timeout(TIMEOUT).expect("the first batch reached the store");

    let busy = post_to(&base, &two_events(), &[("Origin", "https://shop.example")]);
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.retry_after.as_deref(), Some("1"));
    assert_eq!(busy.allow_origin.as_deref(), Some("*"));
    assert!(busy.body.contains(r#""error":"write queue full"#), "{}", busy.body);

    // Open the gate for the first batch and the next one: both are stored.
    open.send(()).unwrap();
    open.send(()).unwrap();
    let first = first.join().unwrap();
    assert_eq!((first.status, first.body.as_str()), (200, r#"{"duplicates":0,"stored":2}"#));
    assert_eq!(post_to(&base, &two_events(), &[]).status, 200);
}

/// `n` click events with distinct IDs, as one batch.
fn many_events(n: usize, seed: u32) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id":"{seed:08x}-{:04x}-4000-8000-{:012x}","kind":"click","ts":{},"url":"https://shop.example/products/{i}","title":"Product {i} – Example Shop","element":{{"tag":"a","classes":"btn btn-primary","href":"/cart.html","text":"Add to cart"}}}}"#,
                i % 0xffff,
                i * 7919,
                1764000000000u64 + i as u64
            )
        })
        .collect();
    batch(&events.join(","))
}

/// An event row: id, kind, ts, json.
type EventRow = (String, String, i64, String);
/// A batch row: site, events, stored, duplicates, attempt.
type BatchRow = (String, i64, i64, i64, i64);

/// The stored rows of a server, `received_at` aside: what a report would see.
fn rows(s: &Server) -> (Vec<EventRow>, Vec<BatchRow>) {
    let conn = Connection::open(&s.db).unwrap();
    let mut q = conn.prepare("select id, kind, ts, json from events order by id").unwrap();
    let events = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect();
    let mut q = conn.prepare("select site, events, stored, duplicates, attempt from batches order by rowid").unwrap();
    let batches = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))).unwrap().map(Result::unwrap).collect();
    (events, batches)
}

#[test]
fn a_gzip_batch_is_stored_exactly_like_the_same_batch_plain() {
    let (plain, packed) = (start(|_| {}), start(|_| {}));
    for body in [two_events(), many_events(500, 1)] {
        let (a, b) = (plain.post(&body), packed.post_gzip(&body));
        assert_eq!((a.status, b.status), (200, 200), "{} / {}", a.body, b.body);
        assert_eq!(a.body, b.body);
    }
    assert_eq!(packed.count("select count(*) from events"), 502);
    assert_eq!(packed.count("select count(*) from batches where stored = 500 and events = 500"), 1);
    assert_eq!(rows(&plain), rows(&packed));
    assert_eq!(packed.count("select count(*) from rejections"), 0);
}

#[test]
fn a_gzip_body_is_held_to_the_decoded_cap_not_the_body_cap() {
    // 200 events are about 50 KB of JSON and a few KB gzipped.
    let s = start(|c| {
        c.max_body_bytes = 16_384;
        c.max_decoded_bytes = 100_000;
    });
    let body = many_events(200, 2);
    assert!(body.len() > 16_384 && body.len() < 100_000, "{}", body.len());
    assert_eq!(s.post(&body).status, 413, "plain: over --max-body-bytes");
    let a = s.post_gzip(&body);
    assert_eq!((a.status, a.body.as_str()), (200, r#"{"duplicates":0,"stored":200}"#));
    // Twice as many events decode past --max-decoded-bytes: 413, and the tag splits.
    let a = s.post_gzip(&many_events(400, 3));
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("gzip body decodes to more than the limit of 100000 bytes (--max-decoded-bytes)"), "{}", a.body);
    assert_eq!(s.count("select count(*) from events"), 200);
}

#[test]
fn duplicates_are_absorbed_across_plain_and_gzip_copies() {
    let s = start(|_| {});
    assert_eq!(s.post(&two_events()).body, r#"{"duplicates":0,"stored":2}"#);
    // The same batch retried compressed (the tag compresses what it retries when large enough).
    let retry = two_events().replace(r#""sent_at""#, r#""attempt":2,"sent_at""#);
    assert_eq!(s.post_gzip(&retry).body, r#"{"duplicates":2,"stored":0}"#);
    // And the other way: compressed first, then its plain copy (an unload beacon is never compressed).
    let other = many_events(30, 4);
    assert_eq!(s.post_gzip(&other).body, r#"{"duplicates":0,"stored":30}"#);
    assert_eq!(s.post(&other).body, r#"{"duplicates":30,"stored":0}"#);
    assert_eq!(s.count("select count(*) from events"), 32);
    assert_eq!(s.count("select count(*) from batches"), 4);
}

#[test]
fn broken_gzip_bodies_are_refused_recorded_and_not_stored() {
    let s = start(|_| {});
    let good = gzip(two_events().as_bytes());
    let with = |tail: &[u8]| [good.as_slice(), tail].concat();
    let mut crc = good.clone();
    let at = crc.len() - 8;
    crc[at] ^= 1;
    let mut magic_json = vec![0x1f, 0x8b];
    magic_json.extend_from_slice(two_events().as_bytes());
    let bad_id = two_events().replace(ID1, "not-a-uuid");
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("?c=gzip", two_events().into_bytes(), 400, "the body is not gzip: it starts with [7b 22], not the gzip magic bytes 1f 8b"),
        ("", magic_json, 400, "not a goaltag batch"),
        ("?c=br", good.clone(), 400, "c: unknown body encoding \"br\"; the accepted value is c=gzip"),
        ("?c=", good.clone(), 400, "the accepted value is c=gzip"),
        ("?c=gzip&c=gzip", good.clone(), 400, "c: given more than once"),
        ("?c=gzip", good[..good.len() / 2].to_vec(), 400, "gzip body is truncated"),
        ("?c=gzip", good[..good.len() - 4].to_vec(), 400, "gzip body is truncated"),
        ("?c=gzip", with(b"garbage"), 400, "7 bytes after the end of the gzip stream (one gzip member is accepted)"),
        ("?c=gzip", with(&good), 400, "bytes after the end of the gzip stream"),
        ("?c=gzip", crc, 400, "gzip body is corrupt"),
        ("?c=gzip", gzip(b"{not json"), 400, "not a goaltag batch: key must be a string"),
        ("?c=gzip", gzip(bad_id.as_bytes()), 400, "events[0].id: not a UUID"),
        ("?c=gzip", zeros_bomb(4), 413, "over 200 times its size: refused as a decompression bomb"),
    ];
    let n = cases.len() as i64;
    for (query, body, want, reason) in cases {
        let a = post_bytes(&s.base, query, &body);
        assert_eq!(a.status, want, "{query}: {}", a.body);
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("not JSON: {}", a.body));
        let error = v["error"].as_str().unwrap_or_else(|| panic!("no error field: {}", a.body));
        assert!(error.contains(reason), "{query}: expected {reason:?} in {error:?}");
    }
    assert_eq!(s.count("select count(*) from events"), 0);
    assert_eq!(s.count("select count(*) from batches"), 0);
    // Rejections are queued ahead of this batch, so they are written once it is acknowledged.
    assert_eq!(s.post_gzip(&two_events()).status, 200);
    assert_eq!(s.count("select count(*) from rejections"), n);
    assert_eq!(s.count("select count(*) from rejections where reason like 'gzip body is truncated%'"), 2);
}

#[test]
fn a_gzip_bomb_is_refused_with_413_without_being_inflated() {
    let s = start(|_| {});
    let bomb = zeros_bomb(100);
    let started = Instant::now();
    let a = post_bytes(&s.base, "?c=gzip", &bomb);
    let took = started.elapsed();
    eprintln!("bomb: 100 MiB of zeros as {} bytes of gzip, answered {} in {took:?}", bomb.len(), a.status);
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(a.body, r#"{"error":"gzip body decodes to more than the limit of 1048576 bytes (--max-decoded-bytes)"}"#);
    assert_eq!(s.post(&two_events()).status, 200);
    assert_eq!(s.count("select count(*) from rejections where reason like 'gzip body decodes to more than the limit%'"), 1);
    assert_eq!(s.count("select count(*) from events"), 2);
}
