//! A closed tab's unsent events are taken over by a tab that stays open:
//! three pages of one site in one browser profile (Chromium, Firefox), the
//! built tag sending through the fault proxy to the real collector.
//!
//! Page B is open from the start, page A opens and records while every
//! POST fails (its queue persisted), page C opens after that, A is closed,
//! and the collector is reachable again. No page loads after that, so only
//! an open page can deliver A's events: B, first in line for A's Web Lock
//! (it saw A's queue appear through a `storage` event, C only on starting),
//! must send each of them, with A's IDs; C must not send them again, neither
//! while B lives nor once B is closed too and C is granted A's lock.
//!
//! ```sh
//! ./build.sh build && cargo test -p goaltag-e2e --features browsers --test handover -- --nocapture
//! ```
#![cfg(feature = "browsers")]

use goaltag_e2e::faults::{site, write_page, Fault, Proxy, Record};
use goaltag_e2e::{Browser, Harness, WAIT};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The tag has started and replaced its stub.
const RUNNING: &str = "typeof goaltag == 'function' && !goaltag.q";
/// A's events.
const N: usize = 12;

/// A page with the tag sending to `collector` (the proxy), analytics storage
/// granted (so its queue is persisted), fast retries, and its tab's name
/// (`?tab=` of its own URL) in the collector URL, so the proxy can tell
/// which page sent what (the tag's requests carry no `Referer`).
fn page(collector: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>handover</title>
<script>window.goaltag=window.goaltag||function(){{(goaltag.q=goaltag.q||[]).push(arguments)}};
goaltag('config', {{collector: '{collector}?tab=' + new URLSearchParams(location.search).get('tab'),
  delivery: {{base_ms: 100, max_backoff_ms: 1000}}}});</script>
<script async src="/goaltag/goaltag.js" data-site="handover" data-consent="granted"></script>
</head><body><p>a page</p></body></html>"#
    )
}

/// Stored events labelled `prefix…`: label → ID.
fn stored(h: &Harness, prefix: &str) -> BTreeMap<String, String> {
    let sql = format!(
        "select json_extract(json, '$.label'), id from events where site = 'handover' and json_extract(json, '$.label') like '{prefix}%'"
    );
    h.query(&sql).into_iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_str().unwrap().to_string())).collect()
}

/// The events (label, ID) of the POST bodies in the proxy's log that `keep` selects.
fn sent_events(proxy: &Proxy, keep: impl Fn(&Record) -> bool) -> Vec<(String, String)> {
    proxy.stats().log.iter().filter(|r| keep(r)).flat_map(|r| sent_events_of(&r.body)).collect()
}

/// The events (label, ID) of one body.
fn sent_events_of(body: &str) -> Vec<(String, String)> {
    let batch: Value = serde_json::from_str(body).unwrap_or_default();
    batch["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["label"].as_str()?.to_string(), e["id"].as_str()?.to_string())))
        .collect()
}

/// Web Lock requests waiting for the lock `name` in this origin (`navigator.locks.query()`).
fn waiting_for(h: &Harness, name: &str) -> u64 {
    let js = format!(
        "navigator.locks.query().then(function (s) {{ done(s.pending.filter(function (p) {{ return p.name == {name:?}; }}).length); }});"
    );
    h.exec_async(&js).as_u64().unwrap_or(0)
}

/// Polls `cond` every 100 ms; panics after [`WAIT`] naming `what`.
fn wait(browser: Browser, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "{browser:?}: {what}: not within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Opens a new window on `path` and waits for the tag; its handle.
fn open_window(h: &Harness, path: &str) -> String {
    let handle = h.wd("POST", "/window/new", Some(json!({"type": "window"})))["handle"].as_str().unwrap().to_string();
    h.wd("POST", "/window", Some(json!({"handle": handle})));
    h.goto(path);
    h.wait_for_js(RUNNING, WAIT);
    handle
}

fn switch(h: &Harness, handle: &str) {
    h.wd("POST", "/window", Some(json!({"handle": handle})));
}

/// The outbox keys in this origin's storage, read from the current window.
fn outbox_keys(h: &Harness) -> Value {
    h.exec("return Object.keys(localStorage).filter(function (k) { return k.indexOf('goaltag_outbox.') == 0; }).sort();")
}

fn closed_tab_taken_over(browser: Browser) {
    let www = site(&[]);
    let h = Harness::start_with_www(browser, www.path());
    let proxy = Proxy::start(&h.base);
    write_page(www.path(), "/p.html", &page(&proxy.collect_url()));
    let has_locks = |h: &Harness| h.exec("return !!(navigator.locks && navigator.locks.request);") == json!(true);

    // B, open all along; its page view delivered, so its own queue is empty.
    let b = h.wd("GET", "/window", None).as_str().unwrap().to_string();
    h.goto("/p.html?tab=b");
    h.wait_for_js(RUNNING, WAIT);
    assert!(has_locks(&h), "{browser:?}: the test pages are a secure context with Web Locks");
    h.wait_for_rows("select id from events where kind = 'page_view' and url like '%tab=b'", 1, WAIT);

    // From now on every POST fails (read, then the connection dropped).
    proxy.fail_when(usize::MAX, Fault::Drop, |_| true);
    let a = open_window(&h, "/p.html?tab=a");
    h.exec(&format!("for (var i = 0; i < {N}; i++) goaltag('event', 'e', {{label: 'a-' + i}});"));
    // A tried, failed, and persisted every event under its key.
    let last = format!("\"label\":\"a-{}\"", N - 1);
    let a_key = || {
        h.exec(&format!(
            "return Object.keys(localStorage).filter(function (k) {{ return k.indexOf('goaltag_outbox.') == 0 && localStorage.getItem(k).indexOf({last:?}) >= 0; }})[0] || '';"
        ))
        .as_str()
        .unwrap_or_default()
        .to_string()
    };
    let tried = || sent_events(&proxy, |r| r.fault == Some(Fault::Drop)).iter().filter(|(l, _)| l.starts_with("a-")).count();
    wait(browser, "A tried and persisted its events", || tried() >= N && !a_key().is_empty());
    let a_key = a_key();
    // The IDs A gave its events, as its failed requests carried them.
    let mut original: BTreeMap<String, String> = BTreeMap::new();
    for (label, id) in sent_events(&proxy, |r| r.fault == Some(Fault::Drop)) {
        if label.starts_with("a-") {
            let first = original.entry(label.clone()).or_insert_with(|| id.clone());
            assert_eq!(*first, id, "{browser:?}: A sent {label} under two IDs");
        }
    }
    assert_eq!(original.len(), N);

    // B saw A's queue appear (a `storage` event) and waits for A's lock.
    wait(browser, "B waiting for A's lock", || waiting_for(&h, &a_key) == 1);
    // C opens after A's queue is in storage: a third open page, in line after B.
    let c = open_window(&h, "/p.html?tab=c");
    wait(browser, "C waiting for A's lock too", || waiting_for(&h, &a_key) == 2);
    // A is closed (pagehide: its beacons fail too, its queue is released).
    switch(&h, &a);
    h.wd("DELETE", "/window", None);
    switch(&h, &b);
    let requests_before = proxy.stats().log.len();
    // The collector is reachable again.
    proxy.calm();
    let back = Instant::now();

    let sql = "select id from events where site = 'handover' and json_extract(json, '$.label') like 'a-%'";
    h.wait_for_rows(sql, N, WAIT);
    let took = back.elapsed();
    assert_eq!(stored(&h, "a-"), original, "{browser:?}: A's events, each under its original ID");

    // Both open pages still work: an event from each arrives, so whatever
    // either would have sent before it has come.
    for (tab, handle) in [("b", &b), ("c", &c)] {
        switch(&h, handle);
        h.exec(&format!("goaltag('event', 'e', {{label: 'marker-{tab}'}}); goaltag('flush');"));
    }
    h.wait_for_rows("select id from events where json_extract(json, '$.label') like 'marker-%'", 2, WAIT);
    // B keeps A's lock while it lives: C is still in line.
    assert_eq!(waiting_for(&h, &a_key), 1, "{browser:?}");
    // B is closed too: C is granted A's lock at last, finds the queue gone,
    // and still works (its next event arrives).
    switch(&h, &b);
    h.wd("DELETE", "/window", None);
    switch(&h, &c);
    wait(browser, "C granted A's lock once B is gone", || waiting_for(&h, &a_key) == 0);
    h.exec("goaltag('event', 'e', {label: 'marker-c-last'}); goaltag('flush');");
    h.wait_for_rows("select id from events where json_extract(json, '$.label') = 'marker-c-last'", 1, WAIT);
    h.expect_rows_stay(sql, N, Duration::from_secs(2));

    // Who sent A's events once the collector was back: B alone, each once.
    let log = proxy.stats().log;
    let after = &log[requests_before..];
    let carried_by = |tab: &str| {
        after
            .iter()
            .filter(|r| r.upstream.is_some() && r.path.contains(&format!("tab={tab}")))
            .flat_map(|r| sent_events_of(&r.body))
            .filter(|(l, _)| l.starts_with("a-"))
            .count()
    };
    let (by_b, by_c) = (carried_by("b"), carried_by("c"));
    // Every request that carried A's events, for a failure's message.
    let carriers: Vec<String> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| r.body.contains("\"label\":\"a-"))
        .map(|(i, r)| {
            let tab = r.path.split("tab=").nth(1).and_then(|t| t.get(..1)).unwrap_or("?");
            let n = sent_events_of(&r.body).iter().filter(|(l, _)| l.starts_with("a-")).count();
            let after = if i >= requests_before { "after" } else { "before" };
            format!("#{i} {after} tab {tab} {} attempt {} {n} events: {:?} {:?}", r.mode, r.attempt, r.fault, r.upstream)
        })
        .collect();
    assert_eq!((by_b, by_c), (N, 0), "{browser:?}: A's events delivered by B, once, and not by C: {carriers:#?}");
    let dups = h.query("select coalesce(sum(duplicates), 0) from batches where site = 'handover'")[0][0].as_i64().unwrap_or(-1);
    assert_eq!(dups, 0, "{browser:?}: no page sent A's events twice");
    // A's events left B as a new batch: no `attempt`, though A had sent them before.
    let first_from_b = log.iter().find(|r| r.path.contains("tab=b") && r.body.contains("\"label\":\"a-")).unwrap();
    assert_eq!(first_from_b.attempt, 1, "{browser:?}: {}", first_from_b.body);
    // Nothing is left waiting anywhere.
    let deadline = Instant::now() + WAIT;
    while outbox_keys(&h) != json!([]) {
        assert!(Instant::now() < deadline, "{browser:?}: outboxes left behind: {}", outbox_keys(&h));
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "FIGURES [{browser:?}] closed tab taken over: {N} events of A stored {} s after the collector came back, \
         carried by B {by_b}, by C {by_c}, duplicates {dups}; proxy: {}",
        took.as_secs_f64(),
        proxy.stats().summary()
    );
}

#[test]
fn chromium_a_closed_tabs_events_are_delivered_by_an_open_tab_once() {
    closed_tab_taken_over(Browser::Chromium);
}

#[test]
fn firefox_a_closed_tabs_events_are_delivered_by_an_open_tab_once() {
    closed_tab_taken_over(Browser::Firefox);
}
