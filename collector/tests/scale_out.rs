//! Stateless collectors on one PostgreSQL database, end to end with the real
//! binary (processes, not threads):
//!
//! - two instances take 10 000 events, 10 % of the batches re-sent to the
//!   other instance at the same moment: exactly the unique events are stored,
//!   and the report equals the one a single SQLite collector makes of the same
//!   input;
//! - one instance killed with SIGKILL under load loses no acknowledged batch
//!   and stores no batch in part, while the other keeps taking batches.

mod pg;
mod process;

use process::Collector;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");
const TIMEOUT: Duration = Duration::from_secs(30);
const DAY_MS: i64 = 86_400_000;
const BATCHES: usize = 500;
const EVENTS_PER_BATCH: usize = 20;
/// Every tenth batch is also sent to the other instance at the same time.
const RESEND_EVERY: usize = 10;
const CLIENTS: usize = 8;

/// The collector with its logs on the test's stderr.
fn start(db: impl AsRef<std::ffi::OsStr>) -> Collector {
    process::start(db, Stdio::inherit())
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(TIMEOUT).build()
}

/// POSTs a batch; (stored, duplicates) on 2xx, None when the collector is gone.
fn post(agent: &ureq::Agent, base: &str, body: &str) -> Option<(u64, u64)> {
    match agent.post(&format!("{base}/collect")).send_string(body) {
        Ok(r) => {
            let v: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
            Some((v["stored"].as_u64().unwrap(), v["duplicates"].as_u64().unwrap()))
        }
        Err(ureq::Error::Status(s, r)) => {
            panic!("answer {s}: {}", r.into_string().unwrap_or_default())
        }
        Err(_) => None,
    }
}

/// Batch `n` of a shop's traffic over three days from `day0`: one visit of
/// page views along the purchase path, every fifth ending in a purchase,
/// some from an ad; clients come back across visits.
fn batch(n: usize, attempt: u32, day0: i64) -> String {
    const PATHS: [&str; 5] = ["/", "/specials.html", "/product.html?id=1", "/cart.html", "/checkout/confirmation.html"];
    let day = (n % 3) as i64;
    let base_ts = (day0 + day) * DAY_MS + 8 * 3_600_000 + (n as i64) * 60_000;
    let (visit, client) = (format!("v{n}"), format!("c{}", n % 150));
    let ad = n.is_multiple_of(4);
    let attribution = r#""attribution":{"click_ids":{"gclid":"G"},"utm":{"utm_source":"google","utm_medium":"cpc"}}"#;
    let events: Vec<String> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            let id = format!("00000000-0000-4000-8000-{:012x}", n * EVENTS_PER_BATCH + i);
            let ts = base_ts + i as i64 * 1000;
            let ids = format!(r#""visit_id":"{visit}","client_id":"{client}""#);
            let attr = if ad && (i == 0 || i == EVENTS_PER_BATCH - 1) { format!(",{attribution}") } else { String::new() };
            if i == EVENTS_PER_BATCH - 1 && n.is_multiple_of(5) {
                let (value, currency) = if n.is_multiple_of(2) { ("49.5", "EUR") } else { ("30", "USD") };
                format!(
                    r#"{{"id":"{id}","kind":"conversion","ts":{ts},"url":"https://shop.example/checkout/confirmation.html","goal":"purchase","primary":true,"value":{value},"currency":"{currency}","transaction_id":"T{n}",{ids}{attr}}}"#
                )
            } else {
                let path = PATHS[(i + n) % PATHS.len()];
                format!(r#"{{"id":"{id}","kind":"page_view","ts":{ts},"url":"https://shop.example{path}",{ids}{attr}}}"#)
            }
        })
        .collect();
    format!(r#"{{"v":1,"site":"shop","sent_at":{},"attempt":{attempt},"events":[{}]}}"#, now_ms(), events.join(","))
}

/// Sends the whole input: batch n to instance n mod N, and every tenth also
/// (as attempt 2) to the next instance at the same moment. Returns the summed
/// (stored, duplicates) answers.
fn send_all(bases: &[String], day0: i64) -> (u64, u64) {
    let next = Arc::new(AtomicUsize::new(0));
    let totals = Arc::new(Mutex::new((0u64, 0u64)));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (bases, next, totals) = (bases.to_vec(), next.clone(), totals.clone());
            std::thread::spawn(move || {
                let client = agent();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= BATCHES {
                        break;
                    }
                    let first = bases[n % bases.len()].clone();
                    let again = n.is_multiple_of(RESEND_EVERY).then(|| bases[(n + 1) % bases.len()].clone());
                    // The re-send leaves from its own thread, so both requests are in flight together.
                    let resend = again.map(|base| {
                        let body = batch(n, 2, day0);
                        std::thread::spawn(move || post(&agent(), &base, &body).expect("an answer"))
                    });
                    let mut got = vec![post(&client, &first, &batch(n, 1, day0)).expect("an answer")];
                    got.extend(resend.map(|t| t.join().unwrap()));
                    let mut t = totals.lock().unwrap();
                    for (s, d) in got {
                        t.0 += s;
                        t.1 += d;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let t = *totals.lock().unwrap();
    t
}

fn report(db: &str, from: &str, to: &str) -> Value {
    let out = Command::new(BIN)
        .args(["report", "--db", db, "--site", "shop", "--from", from, "--to", to, "--json"])
        .env_remove("GOALTAG_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn two_instances_store_exactly_the_unique_events_and_report_what_sqlite_reports() {
    let url = pg::fresh("scale_out");
    let today = now_ms().div_euclid(DAY_MS);
    let day0 = today - 3;
    let unique = (BATCHES * EVENTS_PER_BATCH) as u64;
    let resent = (BATCHES / RESEND_EVERY * EVENTS_PER_BATCH) as u64;

    let (a, b) = (start(&url), start(&url));
    let answered = send_all(&[a.base.clone(), b.base.clone()], day0);
    assert_eq!(answered, (unique, resent), "answers: (stored, duplicates)");
    assert_eq!(pg::count(&url, "SELECT count(*) FROM events") as u64, unique);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM batches") as u64, (BATCHES + BATCHES / RESEND_EVERY) as u64);
    assert_eq!(pg::count(&url, "SELECT sum(duplicates)::bigint FROM batches") as u64, resent);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.db");
    let sqlite = start(file.to_str().unwrap());
    assert_eq!(send_all(std::slice::from_ref(&sqlite.base), day0), (unique, resent));

    let (from, to) = (goaltag_collector::dates::format_date(day0), goaltag_collector::dates::format_date(today));
    let on_pg = report(&url, &from, &to);
    let on_sqlite = report(file.to_str().unwrap(), &from, &to);
    assert_eq!(on_pg["totals"]["page_views"], 9_900, "{}", on_pg["totals"]);
    assert_eq!(on_pg["totals"]["conversions"], 100);
    assert_eq!(on_pg["data_quality"]["duplicates_absorbed"], resent);
    assert_eq!(on_pg, on_sqlite, "the same report from either store");
    // And through either instance's HTTP API.
    let url_report = |base: &str| -> Value {
        let r = agent().get(&format!("{base}/report?site=shop&from={from}&to={to}")).call().unwrap();
        serde_json::from_str(&r.into_string().unwrap()).unwrap()
    };
    assert_eq!(url_report(&a.base), on_sqlite);
    assert_eq!(url_report(&b.base), on_sqlite);
}

/// Batch `seq` of client `client`, its events named by the batch (visit_id).
fn named_batch(client: usize, seq: usize) -> (String, String) {
    let name = format!("c{client}-b{seq}");
    let ts = now_ms();
    let events: Vec<String> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            format!(
                r#"{{"id":"{client:08x}-{:04x}-4{:03x}-8000-{i:012x}","kind":"page_view","ts":{ts},"url":"https://shop.example/p","visit_id":"{name}"}}"#,
                seq >> 12,
                seq & 0xfff
            )
        })
        .collect();
    (name, format!(r#"{{"v":1,"site":"shop","sent_at":{ts},"events":[{}]}}"#, events.join(",")))
}

#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn killing_one_instance_loses_no_acknowledged_batch_and_the_other_carries_on() {
    let url = pg::fresh("kill");
    const PER_INSTANCE: usize = 2;
    const ACKED_BEFORE_KILL: usize = 60;
    const ACKED_AFTER_KILL: usize = 40;
    const MAX_BATCHES_PER_CLIENT: usize = 5000;
    let mut first = start(&url);
    let second = start(&url);

    let acked = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2 * PER_INSTANCE)
        .map(|c| {
            let base = if c < PER_INSTANCE { first.base.clone() } else { second.base.clone() };
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
                for seq in 0..MAX_BATCHES_PER_CLIENT {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (name, body) = named_batch(c, seq);
                    match post(&agent, &base, &body) {
                        Some(_) => acked.lock().unwrap().push((c, name)),
                        // This client's collector is gone: it is done.
                        None => break,
                    }
                }
            })
        })
        .collect();
    let wait_for = |n: usize, which: &dyn Fn(usize) -> bool| {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let got = acked.lock().unwrap().iter().filter(|(c, _)| which(*c)).count();
            if got >= n {
                return;
            }
            assert!(Instant::now() < deadline, "only {got} of {n} batches acknowledged");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(ACKED_BEFORE_KILL, &|_| true);
    // SIGKILL the first instance while every client keeps sending.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let survivors_before = acked.lock().unwrap().iter().filter(|(c, _)| *c >= PER_INSTANCE).count();
    wait_for(survivors_before + ACKED_AFTER_KILL, &|c| c >= PER_INSTANCE);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().iter().map(|(_, n)| n.clone()).collect();

    let per_batch: HashMap<String, i64> = pg::with_client(&url, async |c| {
        let rows = c.query("SELECT visit_id, count(*) FROM events GROUP BY visit_id", &[]).await.unwrap();
        rows.into_iter().map(|r| (r.get(0), r.get(1))).collect()
    });
    let partial: Vec<_> = per_batch.iter().filter(|(_, n)| **n != EVENTS_PER_BATCH as i64).collect();
    assert!(partial.is_empty(), "batches stored in part: {partial:?}");
    let missing: Vec<_> = acked.iter().filter(|name| !per_batch.contains_key(*name)).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged batches lost: {missing:?}", missing.len(), acked.len());
    let acked_set: HashSet<_> = acked.iter().collect();
    let unacked_stored = per_batch.keys().filter(|n| !acked_set.contains(n)).count();
    assert!(unacked_stored <= PER_INSTANCE, "at most one batch per client of the killed instance was in flight: {unacked_stored}");
    assert_eq!(pg::count(&url, "SELECT count(*) FROM batches") as usize, per_batch.len(), "one batches row per stored batch");

    // A restarted instance takes over; a batch acknowledged before the kill comes back as duplicates.
    let restarted = start(&url);
    let (c, seq) = acked[0].trim_start_matches('c').split_once("-b").unwrap();
    let (_, resent) = named_batch(c.parse().unwrap(), seq.parse().unwrap());
    assert_eq!(post(&agent(), &restarted.base, &resent), Some((0, EVENTS_PER_BATCH as u64)));
}
