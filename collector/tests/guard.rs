//! What keeps bad and abusive traffic out, over real HTTP on a free loopback
//! port (served as the binary serves, with peer addresses): the event time
//! window, per-site and global origins, per-IP and per-site rate limits.

mod common;

use common::{agent, Server, TIMEOUT};
use goaltag_collector::origins::SiteOrigin;
use goaltag_collector::ratelimit::RateLimits;
use goaltag_collector::Config;
use rusqlite::Connection;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: i64 = 86_400_000;

/// `goaltag_collector::serve_with_shutdown` on a free port until the Server is dropped.
fn start(edit: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let mut cfg = Config { db: db.clone().into(), ..Default::default() };
    edit(&mut cfg);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready, is_ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            let served = goaltag_collector::serve_with_shutdown(l, cfg, async {
                let _ = stopped.await;
            });
            let _ = ready.send(());
            served.await.unwrap();
        });
    });
    is_ready.recv_timeout(TIMEOUT).unwrap();
    Server { base, db, stop: Some(stop), _dir: dir }
}

struct Answer {
    status: u16,
    body: String,
    retry_after: Option<String>,
    allow_origin: Option<String>,
}

impl Server {
    fn post(&self, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = agent().post(&format!("{}/collect", self.base));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let r = match req.send_string(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("transport error: {e}"),
        };
        let retry_after = r.header("retry-after").map(str::to_string);
        let allow_origin = r.header("access-control-allow-origin").map(str::to_string);
        Answer { status: r.status(), retry_after, allow_origin, body: r.into_string().unwrap() }
    }

    fn count(&self, sql: &str) -> i64 {
        // The schema exists once the router has opened the database.
        Connection::open(&self.db).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A batch for `site` of events stamped at the given times, with fresh IDs.
fn batch(site: &str, stamps: &[i64]) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let events: Vec<String> = stamps
        .iter()
        .map(|ts| {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            format!(r#"{{"id":"00000000-0000-4000-8000-{n:012x}","kind":"page_view","ts":{ts}}}"#)
        })
        .collect();
    format!(r#"{{"v":1,"site":"{site}","sent_at":{},"events":[{}]}}"#, now(), events.join(","))
}

fn error_of(a: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("not JSON: {}", a.body));
    v["error"].as_str().unwrap_or_else(|| panic!("no error: {}", a.body)).to_string()
}

#[test]
fn events_outside_the_time_window_are_refused_with_the_field_and_the_batch_whole() {
    let s = start(|_| {});
    let t = now();
    assert_eq!(s.post(&batch("shop", &[t, t - 6 * DAY, t + 30 * 60_000]), &[]).status, 200);

    let old = s.post(&batch("shop", &[t, t - 8 * DAY]), &[]);
    assert_eq!(old.status, 400, "{}", old.body);
    let e = error_of(&old);
    assert!(e.starts_with("events[1].ts: 8 d before receipt, older than the limit of 7 d"), "{e}");

    let ahead = s.post(&batch("shop", &[t + 2 * 3_600_000]), &[]);
    assert_eq!(ahead.status, 400);
    // "1 h" once a millisecond has passed since `t`: whole units, rounded down.
    let e = error_of(&ahead);
    assert!(e.starts_with("events[0].ts: ") && e.contains(" h ahead of receipt, more than the limit of 1 h"), "{e}");
    // Only the first batch's three events landed; the good event beside the old one did not.
    assert_eq!(s.count("select count(*) from events"), 3);
    assert_eq!(s.count("select count(*) from batches"), 1);

    // The window is a setting.
    let tight = start(|c| {
        c.max_event_age = Duration::from_secs(60);
        c.max_event_ahead = Duration::from_secs(0);
    });
    let a = tight.post(&batch("shop", &[t - 5 * 60_000]), &[]);
    assert!(error_of(&a).starts_with("events[0].ts: 5 min before receipt, older than the limit of 1 min"), "{}", a.body);
    let a = tight.post(&batch("shop", &[now() + 10 * 60_000]), &[]);
    assert!(error_of(&a).contains("ahead of receipt, more than the limit of 0 ms"), "{}", a.body);
}

#[test]
fn a_site_takes_batches_only_from_its_own_origins() {
    let s = start(|c| {
        c.site_origins =
            vec!["demo-shop=https://shop.example".parse::<SiteOrigin>().unwrap(), "demo-shop=https://www.shop.example".parse().unwrap()];
    });
    let t = now();
    let from = |site: &str, origin: &str| s.post(&batch(site, &[t]), &[("Origin", origin)]);

    let ok = from("demo-shop", "https://shop.example");
    assert_eq!((ok.status, ok.allow_origin.as_deref()), (200, Some("*")));
    assert_eq!(from("demo-shop", "https://www.shop.example").status, 200);

    let evil = from("demo-shop", "https://evil.example");
    assert_eq!(evil.status, 403, "{}", evil.body);
    assert_eq!(
        error_of(&evil),
        "origin \"https://evil.example\" is not allowed: site \"demo-shop\" accepts beacons only from https://shop.example, https://www.shop.example"
    );
    // A site not named keeps the global rule (here: any origin); no Origin is a server-side sender.
    assert_eq!(from("blog", "https://evil.example").status, 200);
    assert_eq!(s.post(&batch("demo-shop", &[t]), &[]).status, 200);

    assert_eq!(s.count("select count(*) from events where site='demo-shop'"), 3);
    assert_eq!(s.count("select count(*) from batches"), 4);
    // The refusal is on record for data-quality reports.
    assert_eq!(s.count("select count(*) from rejections where reason like 'origin \"https://evil.example\" is not allowed%'"), 1);
}

#[test]
fn the_global_origin_list_is_enforced_on_the_server_too() {
    let s = start(|c| c.allowed_origins = vec!["https://shop.example".into()]);
    let t = now();
    let ok = s.post(&batch("shop", &[t]), &[("Origin", "https://shop.example")]);
    assert_eq!((ok.status, ok.allow_origin.as_deref()), (200, Some("https://shop.example")));
    let evil = s.post(&batch("shop", &[t]), &[("Origin", "https://evil.example")]);
    assert_eq!((evil.status, evil.allow_origin.as_deref()), (403, None));
    assert!(error_of(&evil).contains("this collector accepts beacons only from https://shop.example"));
    assert_eq!(s.count("select count(*) from events"), 1);
}

#[test]
fn a_client_past_its_burst_gets_429_with_retry_after_and_nothing_is_stored() {
    let s = start(|c| c.rate_limits = RateLimits { ip_rate: 1, ip_burst: 2, ..Default::default() });
    let t = now();
    let origin = [("Origin", "https://shop.example")];
    // The burst passes; then (within a few tries, should a token refill meanwhile) a 429.
    let mut passed = 0;
    let limited = loop {
        let a = s.post(&batch("shop", &[t]), &origin);
        if a.status != 200 {
            break a;
        }
        passed += 1;
        assert!(passed < 10, "no 429 after {passed} requests");
    };
    assert!(passed >= 2, "the burst of 2 passes first");
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.retry_after.as_deref(), Some("1"));
    // CORS headers are there, or the tag could not read Retry-After.
    assert_eq!(limited.allow_origin.as_deref(), Some("*"));
    assert!(error_of(&limited).starts_with("too many requests from your address"), "{}", limited.body);
    // The IP limit comes before parsing: even junk is limited, not judged.
    assert_eq!(s.post("junk", &[]).status, 429);
    assert_eq!(s.count("select count(*) from events"), passed);
    assert_eq!(s.count("select count(*) from rejections"), 0, "429s are not recorded as rejections");
}

#[test]
fn forwarded_for_names_the_client_only_when_trusted() {
    let limits = RateLimits { ip_rate: 1, ip_burst: 1, ..Default::default() };
    let t = now();
    let trusting = start(|c| c.rate_limits = RateLimits { trust_forwarded_for: true, ..limits.clone() });
    let via = |s: &Server, ip: &str| s.post(&batch("shop", &[t]), &[("X-Forwarded-For", ip)]).status;
    assert_eq!(via(&trusting, "203.0.113.1"), 200);
    assert_eq!(via(&trusting, "203.0.113.2"), 200);
    // The proxy appends; a client-written first entry does not pick the bucket.
    assert_eq!(via(&trusting, "198.51.100.9, 203.0.113.1"), 429);

    let plain = start(|c| c.rate_limits = limits);
    assert_eq!(via(&plain, "203.0.113.1"), 200);
    assert_eq!(via(&plain, "203.0.113.2"), 429, "without trust every request is 127.0.0.1");
}

#[test]
fn a_site_past_its_event_budget_gets_429_and_other_sites_do_not() {
    let s = start(|c| {
        c.max_events = 3;
        c.rate_limits = RateLimits { site_rate: 1, site_burst: 4, ..Default::default() };
    });
    let t = now();
    assert_eq!(s.post(&batch("shop", &[t, t, t]), &[]).status, 200);
    let limited = s.post(&batch("shop", &[t, t]), &[]);
    assert_eq!(limited.status, 429, "{}", limited.body);
    let wait: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(error_of(&limited).starts_with("site \"shop\" is sending more events than this collector accepts"));
    assert_eq!(s.post(&batch("blog", &[t, t, t]), &[]).status, 200);
    assert_eq!(s.count("select count(*) from events"), 6);
}
