//! Open tabs share what the goals counted: a `once_per_user` goal reached in
//! one tab is a repeat in another tab open all along, and in a page opened
//! later, even after that other tab wrote its own memory (Chromium, Firefox;
//! the built tag and the real collector).
//!
//! ```sh
//! ./build.sh build && cargo test -p goaltag-e2e --features browsers --test goal_memory
//! ```
#![cfg(feature = "browsers")]

use goaltag_e2e::faults::{site, write_page};
use goaltag_e2e::{Browser, Harness, WAIT};
use serde_json::json;
use std::time::Duration;

/// The tag has started and replaced its stub.
const RUNNING: &str = "typeof goaltag == 'function' && !goaltag.q";

/// A page with two once-per-user goals, analytics storage granted.
const PAGE: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tabs</title>
<script>window.goaltag=window.goaltag||function(){(goaltag.q=goaltag.q||[]).push(arguments)};
goaltag('config', {goals: [
  {id: 'signup', when: {type: 'event', action: {op: 'equals', value: 'signup'}}, count: 'once_per_user'},
  {id: 'newsletter', when: {type: 'event', action: {op: 'equals', value: 'newsletter'}}, count: 'once_per_user'}]});</script>
<script async src="/goaltag/goaltag.js" data-site="tabs" data-collector="/collect" data-consent="granted"></script>
</head><body><p>a page</p></body></html>"#;

fn conversions(h: &Harness, goal: &str) -> usize {
    h.query(&format!("select id from events where site = 'tabs' and kind = 'conversion' and goal = '{goal}'")).len()
}

/// Records `action`, then a marker event, and waits until the marker is
/// stored: whatever the action converted was sent before it.
fn act(h: &Harness, action: &str, marker: &str) {
    h.exec(&format!("goaltag('event', {action:?}); goaltag('event', 'marker', {{label: {marker:?}}}); goaltag('flush');"));
    h.wait_for_rows(&format!("select id from events where site = 'tabs' and json_extract(json, '$.label') = '{marker}'"), 1, WAIT);
}

fn two_tabs(browser: Browser) {
    let www = site(&[]);
    let h = Harness::start_with_www(browser, www.path());
    write_page(www.path(), "/p.html", PAGE);
    let stored_goals = |h: &Harness| h.exec("return localStorage.getItem('goaltag_goals') || '';").as_str().unwrap_or_default().to_string();

    // Tab B, open all along. Its page's own listener keeps the keys of the
    // browser's reports of other tabs' writes; the tag's listener, added
    // first, has run when a key is kept.
    let b = h.wd("GET", "/window", None).as_str().unwrap().to_string();
    h.goto("/p.html?tab=b");
    h.wait_for_js(RUNNING, WAIT);
    h.exec("window.reported = []; addEventListener('storage', function (e) { reported.push(e.key); });");
    h.wait_for_rows("select id from events where site = 'tabs' and kind = 'page_view'", 1, WAIT);
    // Tab A: the visitor signs up there.
    let a = h.wd("POST", "/window/new", Some(json!({"type": "window"})))["handle"].as_str().unwrap().to_string();
    h.wd("POST", "/window", Some(json!({"handle": a})));
    h.goto("/p.html?tab=a");
    h.wait_for_js(RUNNING, WAIT);
    act(&h, "signup", "a-1");
    assert_eq!(conversions(&h, "signup"), 1, "{browser:?}");
    // Tab A has stored it (its write round follows the send by up to 1 s).
    let deadline = std::time::Instant::now() + WAIT;
    while !stored_goals(&h).contains("signup") {
        assert!(std::time::Instant::now() < deadline, "{browser:?}: tab A never stored its goal memory");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Back in tab B: signing up again is a repeat; subscribing is new, and
    // tab B's write of its memory keeps tab A's signup.
    h.wd("POST", "/window", Some(json!({"handle": b})));
    h.wait_for_js("reported.indexOf('goaltag_goals') >= 0", WAIT);
    act(&h, "signup", "b-1");
    act(&h, "newsletter", "b-2");
    assert_eq!((conversions(&h, "signup"), conversions(&h, "newsletter")), (1, 1), "{browser:?}: tab B counted tab A's signup again");
    let deadline = std::time::Instant::now() + WAIT;
    while !stored_goals(&h).contains("newsletter") {
        assert!(std::time::Instant::now() < deadline, "{browser:?}: tab B never stored its goal memory");
        std::thread::sleep(Duration::from_millis(100));
    }
    let goals = stored_goals(&h);
    assert!(goals.contains("signup"), "{browser:?}: tab B wrote over tab A's signup: {goals}");

    // Both closed; a later page: neither goal converts again.
    h.wd("DELETE", "/window", None);
    h.wd("POST", "/window", Some(json!({"handle": a})));
    h.goto("/p.html?tab=c");
    h.wait_for_js(RUNNING, WAIT);
    act(&h, "signup", "c-1");
    act(&h, "newsletter", "c-2");
    assert_eq!((conversions(&h, "signup"), conversions(&h, "newsletter")), (1, 1), "{browser:?}: a later page converted again");
}

#[test]
fn chromium_a_goal_counted_in_one_tab_is_a_repeat_in_another() {
    two_tabs(Browser::Chromium);
}

#[test]
fn firefox_a_goal_counted_in_one_tab_is_a_repeat_in_another() {
    two_tabs(Browser::Firefox);
}
