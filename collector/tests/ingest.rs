//! What `POST /collect` answers and stores, the same on both stores (SQLite
//! and PostgreSQL): strings holding U+0000 are refused with a 400 naming the
//! field; a browser whose clock is wrong has its events stored, and
//! reported, at their time on the collector's clock.

mod common;
mod pg;
mod stores;

use common::{agent, Server};
use goaltag_collector::Config;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Starts a collector on the store under test, its configuration changed by the function given.
type Start<'a> = &'a dyn Fn(fn(&mut Config)) -> Server;

/// Runs `test` on SQLite, then on PostgreSQL.
macro_rules! on_both_stores {
    ($sqlite:ident, $postgres:ident, $test:ident) => {
        #[test]
        fn $sqlite() {
            $test(&stores::start_with);
        }
        #[test]
        #[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
        fn $postgres() {
            $test(&|edit| stores::start_pg_with(stringify!($test), edit));
        }
    };
}

on_both_stores!(nul_in_any_string_is_refused_naming_the_field, nul_is_refused_on_postgres, nul_refused);
on_both_stores!(a_slow_browser_clock_does_not_move_events, a_slow_browser_clock_on_postgres, slow_clock);
on_both_stores!(the_user_agent_is_kept_only_with_ad_user_data, the_user_agent_on_postgres, user_agent);

/// The `user_agent` and `client_ip` columns of event `id`.
fn ad_data(s: &Server, id: &str) -> (Option<String>, Option<String>) {
    let db = s.db.to_str().unwrap().to_string();
    if db.starts_with("postgres") {
        pg::with_client(&db, async |c| {
            let r = c.query_one("SELECT user_agent, client_ip FROM events WHERE id = $1", &[&id]).await.unwrap();
            (r.get(0), r.get(1))
        })
    } else {
        let conn = rusqlite::Connection::open(&s.db).unwrap();
        conn.query_row("SELECT user_agent, client_ip FROM events WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");

/// The `ts` column and the `ts` inside the `json` column of event `id`.
fn stored_ts(s: &Server, id: &str) -> (i64, i64) {
    let db = s.db.to_str().unwrap().to_string();
    if db.starts_with("postgres") {
        pg::with_client(&db, async |c| {
            let r = c.query_one("SELECT ts, (json::jsonb ->> 'ts')::int8 FROM events WHERE id = $1", &[&id]).await.unwrap();
            (r.get(0), r.get(1))
        })
    } else {
        let conn = rusqlite::Connection::open(&s.db).unwrap();
        conn.query_row("SELECT ts, json_extract(json, '$.ts') FROM events WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    }
}

/// `goaltag-collector report --json` on the server's database.
fn cli_report(s: &Server, range: &str) -> Value {
    let (from, to) = range.split_once('&').unwrap();
    let out = std::process::Command::new(BIN)
        .args(["report", "--db", s.db.to_str().unwrap(), "--site", "shop", "--json"])
        .args(["--from", from.trim_start_matches("from="), "--to", to.trim_start_matches("to=")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

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
fn nul_refused(start: Start) {
    let s = start(|_| {});
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

/// A visitor whose clock is 30 days slow lands from a Google ad and buys
/// for 49.90 EUR: the page view 5 s and the purchase 1 s before the batch
/// left. Stored at receipt − (sent_at − ts), so both land in today's
/// report (not 30 days ago), the purchase credited to the ad.
fn slow_clock(start: Start) {
    let s = start(|_| {});
    let now = now_ms();
    let slow = now - 30 * DAY_MS;
    let purchase = json!({"id": id(2), "kind": "conversion", "ts": slow - 1000, "goal": "purchase", "primary": true,
        "value": 49.9, "currency": "EUR", "transaction_id": "T-1", "visit_id": "v1", "client_id": "c1",
        "attribution": {"click_ids": {"gclid": "g-1"}, "utm": {"utm_source": "google", "utm_medium": "cpc"}}});
    let body = batch(slow, &[page_view(1, slow - 5000), purchase]);
    let before = now_ms();
    let (status, answer) = post(&s, &body, &[]);
    let after = now_ms();
    assert_eq!((status, answer.as_str()), (200, r#"{"duplicates":0,"stored":2}"#));
    // Receipt is between `before` and `after`: each event 5 s and 1 s before it,
    // in the ts column and in the stored event alike.
    for (n, waited) in [(1, 5000), (2, 1000)] {
        let (ts, json_ts) = stored_ts(&s, &id(n));
        assert_eq!(ts, json_ts, "the ts column and the json agree");
        assert!((before - waited..=after - waited).contains(&ts), "event {n}: {ts} not {waited} ms before receipt ({before}..{after})");
    }
    let (pv, conv) = (stored_ts(&s, &id(1)).0, stored_ts(&s, &id(2)).0);
    assert_eq!(conv - pv, 4000, "the 4 s between them are kept");

    // The report of yesterday and today has them, HTTP and CLI alike; the
    // days around the browser's date have nothing.
    let today = range(now);
    let r = get_json(&s, &format!("/report?site=shop&{today}"));
    assert_eq!(cli_report(&s, &today), r, "report --json equals GET /report");
    let t = &r["totals"];
    assert_eq!((t["page_views"].as_u64(), t["conversions"].as_u64(), t["visits"].as_u64()), (Some(1), Some(1), Some(1)), "{t}");
    assert_eq!(t["values"], json!([{"currency": "EUR", "value": 49.9}]));
    let daily: u64 = r["daily"].as_array().unwrap().iter().map(|d| d["conversions"].as_u64().unwrap()).sum();
    assert_eq!(daily, 1);
    let google = r["sources"].as_array().unwrap().iter().find(|x| x["conversions"] == 1).unwrap_or_else(|| panic!("{}", r["sources"]));
    assert!(google["source"].as_str().unwrap().starts_with("Google"), "{google}");
    let then = range(slow);
    let old = cli_report(&s, &then);
    assert_eq!((old["totals"]["page_views"].as_u64(), old["totals"]["conversions"].as_u64()), (Some(0), Some(0)), "{then}");
}

/// A conversion recorded with `ad_user_data` as `ad_user_data`.
fn conversion(n: u32, ts: i64, ad_user_data: &str) -> Value {
    json!({"id": id(n), "kind": "conversion", "ts": ts, "goal": "purchase", "primary": true, "visit_id": "v1", "client_id": "c1",
           "attribution": {"click_ids": {"fbclid": "fb-1"}},
           "consent": {"analytics_storage": "granted", "ad_storage": "granted", "ad_user_data": ad_user_data, "ad_personalization": "denied"}})
}

/// The `User-Agent` of a `/collect` request is kept with the conversions
/// whose consent granted `ad_user_data`, and with nothing else; the client's
/// IP address only when the collector is started with `--keep-client-ip`,
/// under the same rule.
fn user_agent(start: Start) {
    const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
    let headers = [("User-Agent", UA), ("X-Forwarded-For", "203.0.113.7")];
    for keep_ip in [false, true] {
        let s = if keep_ip {
            start(|c| {
                c.keep_client_ip = true;
                c.rate_limits.trust_forwarded_for = true;
            })
        } else {
            start(|c| c.rate_limits.trust_forwarded_for = true)
        };
        let now = now_ms();
        let mut granted_view = page_view(1, now - 3000);
        granted_view["consent"] = conversion(0, 0, "granted")["consent"].clone();
        let events = [granted_view, conversion(2, now - 2000, "granted"), conversion(3, now - 1000, "denied")];
        let (status, answer) = post(&s, &batch(now, &events), &headers);
        assert_eq!((status, answer.as_str()), (200, r#"{"duplicates":0,"stored":3}"#));
        let ip = keep_ip.then(|| "203.0.113.7".to_string());
        assert_eq!(ad_data(&s, &id(2)), (Some(UA.to_string()), ip), "the conversion with ad_user_data granted (keep_client_ip {keep_ip})");
        assert_eq!(ad_data(&s, &id(3)), (None, None), "the conversion with ad_user_data denied");
        assert_eq!(ad_data(&s, &id(1)), (None, None), "a page view, whatever its consent");
        // Nor is any of it inside the stored event.
        let json = stored_json(&s, &id(2));
        assert!(!json.contains("Chrome") && !json.contains("203.0.113.7"), "{json}");
    }
}

/// The `json` column of event `id`.
fn stored_json(s: &Server, id: &str) -> String {
    let db = s.db.to_str().unwrap().to_string();
    if db.starts_with("postgres") {
        pg::with_client(&db, async |c| c.query_one("SELECT json FROM events WHERE id = $1", &[&id]).await.unwrap().get(0))
    } else {
        let conn = rusqlite::Connection::open(&s.db).unwrap();
        conn.query_row("SELECT json FROM events WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    }
}
