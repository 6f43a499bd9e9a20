//! The real collector on a free loopback port, spoken to over HTTP; what
//! landed is read straight from SQLite.

use rusqlite::Connection;
use std::path::PathBuf;

struct Server {
    base: String,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

fn start(cfg: impl FnOnce(&mut goaltag_collector::Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("x.wasm"), b"\0asm").unwrap();
    let mut c = goaltag_collector::Config { db: db.clone(), www: Some(www), ..Default::default() };
    cfg(&mut c);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            goaltag_collector::serve(l, c).await.unwrap();
        });
    });
    Server { base: format!("http://{addr}"), db, _dir: dir }
}

impl Server {
    fn post(&self, body: &str) -> (u16, String) {
        self.post_from(body, None)
    }
    fn post_from(&self, body: &str, origin: Option<&str>) -> (u16, String) {
        let mut req = ureq::post(&format!("{}/collect", self.base))
            .timeout(std::time::Duration::from_secs(10))
            .set("Content-Type", "text/plain;charset=UTF-8");
        if let Some(o) = origin {
            req = req.set("Origin", o);
        }
        match req.send_string(body) {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    }
    fn count(&self, sql: &str) -> i64 {
        Connection::open(&self.db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

const ID1: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const ID2: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

fn batch(events: &str) -> String {
    format!(r#"{{"v":1,"site":"demo-shop","sent_at":1764000000000,"events":[{events}]}}"#)
}

fn two_events() -> String {
    batch(&format!(
        r#"{{"id":"{ID1}","kind":"page_view","ts":1764000000000,"url":"https://shop.example/","title":"Home"}},
           {{"id":"{ID2}","kind":"event","ts":1764000000001,"action":"purchase","value":49.95,"currency":"USD","transaction_id":"T-1"}}"#
    ))
}

#[test]
fn a_valid_batch_is_stored() {
    let s = start(|_| {});
    let (code, body) = s.post(&two_events());
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""stored":2"#), "{body}");
    assert_eq!(s.count("select count(*) from events"), 2);
    let conn = Connection::open(&s.db).unwrap();
    let (kind, value, currency, tx, json): (String, f64, String, String, String) = conn
        .query_row(
            &format!("select kind, value, currency, transaction_id, json from events where id='{ID2}'"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), value, currency.as_str(), tx.as_str()), ("event", 49.95, "USD", "T-1"));
    assert!(json.contains(r#""action":"purchase""#));
    assert_eq!(s.count("select count(*) from events where site='demo-shop' and url='https://shop.example/'"), 1);
}

#[test]
fn the_same_batch_resent_is_stored_once() {
    let s = start(|_| {});
    assert_eq!(s.post(&two_events()).0, 200);
    let (code, body) = s.post(&two_events().replace(r#""sent_at""#, r#""attempt":2,"sent_at""#));
    assert_eq!(code, 200);
    assert!(body.contains(r#""duplicates":2"#), "{body}");
    assert_eq!(s.count("select count(*) from events"), 2);
    assert_eq!(s.count("select count(*) from batches"), 2);
    assert_eq!(s.count("select max(attempt) from batches"), 2);
}

#[test]
fn bad_input_is_refused_with_a_reason_and_nothing_is_stored() {
    let s = start(|c| c.max_events = 3);
    let ev = |id: &str| format!(r#"{{"id":"{id}","kind":"page_view","ts":1}}"#);
    let cases: Vec<(String, u16, &str)> = vec![
        ("{not json".into(), 400, "not a goaltag batch"),
        (r#"{"v":1,"site":"s","sent_at":1}"#.into(), 400, "events"),
        (batch(&ev(ID1)).replace("page_view", "pageview"), 400, "not a goaltag batch"),
        (batch(&ev("not-a-uuid")), 400, "events[0].id"),
        (batch(&ev(ID1)).replace(r#""v":1"#, r#""v":2"#), 400, "v: version 2"),
        (batch(""), 400, "events: expected 1 to 3"),
        (batch(&[ev(ID1), ev(ID2), ev(ID1), ev(ID2)].join(",")), 400, "events: expected 1 to 3"),
        (batch(&format!("{},{}", ev(ID1), ev("bad"))), 400, "events[1].id"),
        (batch(&ev(ID1).replace(r#""ts":1"#, &format!(r#""ts":1,"title":"{}""#, "x".repeat(3000)))), 400, "events[0].title"),
        (batch(&ev(ID1)).replace("demo-shop", "demo shop"), 400, "site"),
        ("x".repeat(200 * 1024), 413, "limit"),
    ];
    for (body, want, reason) in cases {
        let (code, text) = s.post(&body);
        assert_eq!(code, want, "{text}");
        assert!(text.contains(reason), "expected {reason:?} in {text}");
    }
    assert_eq!(s.count("select count(*) from events"), 0);
    assert_eq!(s.count("select count(*) from batches"), 0);
}

#[test]
fn cors_allows_listed_origins_only() {
    let open = start(|_| {});
    let r = ureq::post(&format!("{}/collect", open.base)).set("Origin", "https://shop.example").send_string(&two_events()).unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let s = start(|c| c.allowed_origins = vec!["https://shop.example".into()]);
    let r = ureq::post(&format!("{}/collect", s.base)).set("Origin", "https://shop.example").send_string(&two_events()).unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("https://shop.example"));
    let r = ureq::post(&format!("{}/collect", s.base)).set("Origin", "https://evil.example").send_string(&two_events()).unwrap();
    assert_eq!(r.header("access-control-allow-origin"), None);
    let pre = ureq::request("OPTIONS", &format!("{}/collect", s.base))
        .set("Origin", "https://shop.example")
        .set("Access-Control-Request-Method", "POST")
        .call()
        .unwrap();
    assert_eq!(pre.header("access-control-allow-origin"), Some("https://shop.example"));
}

#[test]
fn health_and_static_files() {
    let s = start(|_| {});
    let h = ureq::get(&format!("{}/health", s.base)).call().unwrap();
    assert!(h.into_string().unwrap().contains("ok"));
    let w = ureq::get(&format!("{}/x.wasm", s.base)).call().unwrap();
    assert_eq!(w.header("content-type"), Some("application/wasm"));
}
