//! What `POST /collect` answers and stores, the same on both stores (SQLite
//! and PostgreSQL): strings holding U+0000 are refused with a 400 naming the
//! field.

mod common;
mod pg;

use common::{agent, Server};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let cfg = goaltag_collector::Config { db: db.clone().into(), ..Default::default() };
    Server::serve(goaltag_collector::router(cfg).unwrap(), db, dir)
}

/// A collector on a fresh PostgreSQL database (see pg/mod.rs).
fn start_pg(hint: &str) -> Server {
    let url = pg::fresh(hint);
    let cfg = goaltag_collector::Config { db: goaltag_collector::Database::Postgres(url.clone()), ..Default::default() };
    Server::serve(goaltag_collector::router(cfg).unwrap(), url.into(), tempfile::tempdir().unwrap())
}

/// Runs `test` on SQLite, then on PostgreSQL.
macro_rules! on_both_stores {
    ($sqlite:ident, $postgres:ident, $test:ident) => {
        #[test]
        fn $sqlite() {
            $test(start());
        }
        #[test]
        #[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
        fn $postgres() {
            $test(start_pg(stringify!($test)));
        }
    };
}

on_both_stores!(nul_in_any_string_is_refused_naming_the_field, nul_is_refused_on_postgres, nul_refused);

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// POSTs `body` to /collect as the tag does, with `headers`: (status, body).
fn post(s: &Server, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = agent().post(&format!("{}/collect", s.base)).set("Content-Type", "text/plain;charset=UTF-8");
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

fn get_json(s: &Server, path: &str) -> Value {
    let r = agent().get(&format!("{}{path}", s.base)).call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
    serde_json::from_str(&r.into_string().unwrap()).unwrap()
}

/// `from=…&to=…` for yesterday and today (UTC) at `now`: a test crossing midnight still sees its events.
fn range(now: i64) -> String {
    let today = now.div_euclid(DAY_MS);
    let day = goaltag_collector::dates::format_date;
    format!("from={}&to={}", day(today - 1), day(today))
}

fn batch(sent_at: i64, events: &[Value]) -> String {
    json!({"v": 1, "site": "shop", "sent_at": sent_at, "events": events}).to_string()
}

/// A page view at `ts` with this visit and client.
fn page_view(n: u32, ts: i64) -> Value {
    json!({"id": id(n), "kind": "page_view", "ts": ts, "url": "https://shop.example/", "visit_id": "v1", "client_id": "c1",
           "attribution": {"click_ids": {"gclid": "g-1"}, "utm": {"utm_source": "google", "utm_medium": "cpc"}}})
}

/// U+0000 in a string: PostgreSQL's text and jsonb cannot hold it, SQLite
/// can. Both stores answer alike, before storage: 400 naming the field
/// (which the tag drops as bad data, never retries), nothing stored, the
/// refusal counted. Every string field is checked, nested ones and map keys too.
fn nul_refused(s: Server) {
    let now = now_ms();
    let cases: [(Value, &str); 6] = [
        (json!({"title": "Sh\u{0}oes"}), "events[0].title"),
        (json!({"url": "https://shop.example/\u{0}"}), "events[0].url"),
        (json!({"element": {"tag": "a", "text": "Buy\u{0}"}}), "events[0].element.text"),
        (json!({"element": {"tag": "a", "data": {"goal": "x\u{0}"}}}), "events[0].element.data.goal"),
        (json!({"attribution": {"utm": {"utm_\u{0}source": "x"}}}), "events[0].attribution.utm key"),
        (json!({"attribution": {"landing_url": "https://shop.example/?q=\u{0}"}}), "events[0].attribution.landing_url"),
    ];
    for (n, (fields, field)) in cases.iter().enumerate() {
        let mut e = page_view(10 + n as u32, now - 1000);
        e.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        let body = batch(now, &[page_view(1, now - 2000), e]);
        assert!(body.contains(r"\u0000"), "{body}");
        let (status, answer) = post(&s, &body, &[]);
        assert_eq!(status, 400, "{field}: {answer}");
        let error = serde_json::from_str::<Value>(&answer).unwrap()["error"].as_str().unwrap().to_string();
        assert_eq!(error, format!("{}: holds U+0000 (NUL), which no string on the wire may", field.replacen("[0]", "[1]", 1)));
    }
    // A clean batch after them is stored, and the report reads (PostgreSQL's
    // jsonb would refuse a stored \u0000 on every report of the site).
    let (status, answer) = post(&s, &batch(now, &[page_view(1, now - 2000)]), &[]);
    assert_eq!((status, answer.as_str()), (200, r#"{"duplicates":0,"stored":1}"#));
    let range = range(now);
    let r = get_json(&s, &format!("/report?site=shop&{range}"));
    assert_eq!(r["totals"]["page_views"], 1, "{r}");
    // Every refusal was recorded (in the background: wait for it, bounded).
    let deadline = std::time::Instant::now() + common::TIMEOUT;
    loop {
        let r = get_json(&s, &format!("/report?site=shop&{range}"));
        if r["data_quality"]["rejected_bodies"] == 6 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "rejections not recorded: {}", r["data_quality"]);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
