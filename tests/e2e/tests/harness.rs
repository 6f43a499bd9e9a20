//! Self-test of the harness, independent of the tag: a hand-made wire-format
//! batch POSTed by the browser (fetch and sendBeacon) to the real collector
//! lands in the database once; a malformed one is refused and stores nothing;
//! the browser and its driver are gone once the harness is dropped.
#![cfg(feature = "browsers")]

use goaltag_e2e::{group_alive, is_uuid_v4, Browser, Harness, WAIT};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A page with helpers to build and send wire-format batches (version 1).
const PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>harness self-test</title></head><body>
<script>
function uuid() {
  var b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  var h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
}
function batch(ids) {
  var now = Date.now();
  return JSON.stringify({v: 1, site: 'demo-shop', sent_at: now, events: ids.map(function (id) {
    return {id: id, kind: 'page_view', ts: now, url: location.href, referrer: document.referrer, title: document.title};
  })});
}
function post(body) {
  return fetch('/collect', {method: 'POST', headers: {'Content-Type': 'text/plain;charset=UTF-8'}, body: body})
    .then(function (r) { return r.text().then(function (t) { return {status: r.status, body: t}; }); },
          function (e) { return {status: 0, body: String(e)}; });
}
</script></body></html>"#;

fn www() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), PAGE).unwrap();
    dir
}

/// POSTs `body_js` (a JS expression) from the page; the collector's status and answer.
fn post(h: &Harness, body_js: &str) -> (u64, Value) {
    let r = h.exec_async(&format!("post({body_js}).then(done);"));
    let status = r["status"].as_u64().unwrap_or(0);
    let body = serde_json::from_str(r["body"].as_str().unwrap_or_default()).unwrap_or(json!(r["body"]));
    (status, body)
}

fn browser_posts_reach_the_collector(browser: Browser) {
    let www = www();
    let h = Harness::start_with_www(browser, www.path());
    h.goto("/");
    assert_eq!(h.current_url(), h.url("/"));

    // fetch, the way the tag sends: a CORS-simple text/plain POST.
    let id = h.exec("return uuid();").as_str().unwrap().to_string();
    assert!(is_uuid_v4(&id), "{id}");
    let (status, answer) = post(&h, &format!("batch(['{id}'])"));
    assert_eq!((status, &answer), (200, &json!({"stored": 1, "duplicates": 0})), "{browser:?}");
    let rows = h.wait_for_rows(&format!("select site, kind, url, json from events where id = '{id}'"), 1, WAIT);
    assert_eq!(rows[0][0], "demo-shop");
    assert_eq!(rows[0][1], "page_view");
    assert_eq!(rows[0][2], h.url("/"));
    let stored: Value = serde_json::from_str(rows[0][3].as_str().unwrap()).unwrap();
    assert_eq!(stored["title"], "harness self-test", "{stored}");

    // The same batch again: acknowledged, stored once.
    let (status, answer) = post(&h, &format!("batch(['{id}'])"));
    assert_eq!((status, &answer), (200, &json!({"stored": 0, "duplicates": 1})), "{browser:?}");
    h.expect_rows_stay(&format!("select 1 from events where id = '{id}'"), 1, Duration::from_millis(300));
    let batches = h.query("select events, stored, duplicates from batches order by received_at");
    assert_eq!(batches, vec![vec![json!(1), json!(1), json!(0)], vec![json!(1), json!(0), json!(1)]]);

    // Malformed JSON and a bad event ID: 400, nothing stored.
    let (status, _) = post(&h, "batch(['not-a-uuid'])");
    assert_eq!(status, 400, "{browser:?}: an event ID that is not a UUID");
    let (status, _) = post(&h, "'{\"v\":1,\"site\":'");
    assert_eq!(status, 400, "{browser:?}: malformed JSON");
    h.expect_rows_stay("select id from events", 1, Duration::from_millis(300));

    // sendBeacon, the unload path: fire and forget, then it lands.
    let beacon = h.exec("var id = uuid(); return [id, navigator.sendBeacon('/collect', batch([id]))];");
    assert_eq!(beacon[1], true, "{browser:?}: sendBeacon refused the batch");
    let beacon_id = beacon[0].as_str().unwrap();
    h.wait_for_rows(&format!("select 1 from events where id = '{beacon_id}'"), 1, WAIT);
    assert_eq!(h.query("select count(*) from events")[0][0], 2);
}

fn processes_end_with_the_harness(browser: Browser) {
    let www = www();
    let h = Harness::start_with_www(browser, www.path());
    h.goto("/");
    let (pgid, base) = (h.driver_pid(), h.base.clone());
    assert!(group_alive(pgid));
    drop(h);
    let deadline = Instant::now() + Duration::from_secs(10);
    while group_alive(pgid) {
        assert!(Instant::now() < deadline, "{browser:?}: processes of group {pgid} outlived the harness");
        std::thread::sleep(Duration::from_millis(100));
    }
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
    assert!(agent.get(&format!("{base}/health")).call().is_err(), "{browser:?}: the collector outlived the harness");
}

#[test]
fn chromium_posts_reach_the_collector() {
    browser_posts_reach_the_collector(Browser::Chromium);
}

#[test]
fn firefox_posts_reach_the_collector() {
    browser_posts_reach_the_collector(Browser::Firefox);
}

#[test]
fn chromium_and_its_driver_end_with_the_harness() {
    processes_end_with_the_harness(Browser::Chromium);
}

#[test]
fn firefox_and_its_driver_end_with_the_harness() {
    processes_end_with_the_harness(Browser::Firefox);
}
