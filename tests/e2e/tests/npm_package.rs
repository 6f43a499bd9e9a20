//! The npm package as a bundler user ships it: `./build.sh test` packs it,
//! installs the tarball into a fresh app (tests/npm/main.ts), bundles that
//! with esbuild into pkg/npm-app/; here the bundle runs in real headless
//! browsers against the real collector, and its page view, a call queued
//! before `init`, and a conversion land in the database.

#![cfg(feature = "browsers")]

use goaltag_e2e::{is_uuid_v4, repo, Browser, Harness, WAIT};
use serde_json::Value;
use std::path::PathBuf;

fn app() -> PathBuf {
    let dir = repo().join("pkg/npm-app");
    let missing: Vec<String> = ["index.html", "app.js", "goaltag_bg.wasm"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "the npm test app is not built (missing {}): ./build.sh test packs the package and bundles it",
        missing.join(", ")
    );
    dir
}

fn bundled_app_reports_a_page_view_and_a_conversion(browser: Browser) {
    let dir = app();
    // No second implementation: the bundle loads the script tag's wasm, byte for byte.
    let shipped = std::fs::read(repo().join("www/goaltag/goaltag_bg.wasm")).expect("the tag is built");
    assert!(std::fs::read(dir.join("goaltag_bg.wasm")).unwrap() == shipped, "the app's wasm is not the script tag's");

    let h = Harness::start_with_www(browser, &dir);
    h.goto("/");
    h.wait_for_js("document.getElementById('status').textContent == 'running'", WAIT);
    // The running tag replaced the stub the module queued into.
    assert_eq!(h.exec("return typeof window.goaltag == 'function' && !window.goaltag.q;"), Value::Bool(true));

    let views_sql = "select id, url, json from events where kind = 'page_view' and site = 'npm-app'";
    h.wait_for_rows(views_sql, 1, WAIT);
    // init ran twice: still one tag, so one page view.
    let views = h.expect_rows_stay(views_sql, 1, std::time::Duration::from_secs(2));
    assert!(is_uuid_v4(views[0][0].as_str().unwrap()), "{browser:?}: {views:?}");
    assert_eq!(views[0][1], h.url("/"));
    let view: Value = serde_json::from_str(views[0][2].as_str().unwrap()).unwrap();
    assert_eq!(view["title"], "goaltag npm app", "{view}");
    assert_eq!(view["consent"]["analytics_storage"], "granted", "init's consent applied: {view}");

    // goaltag(...) called at import, before init(), queued and ran.
    let queued = h.wait_for_rows(
        "select json from events where kind = 'event' and site = 'npm-app' and json like '%\"action\":\"app_loaded\"%'",
        1,
        WAIT,
    );
    let queued: Value = serde_json::from_str(queued[0][0].as_str().unwrap()).unwrap();
    assert_eq!(queued["category"], "app", "{queued}");

    h.click("#buy");
    let purchase = "select id, value, currency, transaction_id, json from events
                    where kind = 'conversion' and goal = 'purchase' and site = 'npm-app'";
    let conv = h.wait_for_rows(purchase, 1, WAIT);
    assert_eq!(conv[0][1].as_f64(), Some(49.95), "{browser:?}: {conv:?}");
    assert_eq!((conv[0][2].as_str(), conv[0][3].as_str()), (Some("EUR"), Some("T-npm-1")), "{conv:?}");
    let c: Value = serde_json::from_str(conv[0][4].as_str().unwrap()).unwrap();
    assert_eq!(c["primary"], true, "{c}");
    h.wait_for_rows("select id from events where kind = 'event' and site = 'npm-app' and json like '%\"action\":\"purchase\"%'", 1, WAIT);
    if let Some(errors) = h.console_errors() {
        assert!(errors.is_empty(), "{browser:?}: console errors: {errors:?}");
    }
}

#[test]
fn bundled_app_in_chromium() {
    bundled_app_reports_a_page_view_and_a_conversion(Browser::Chromium);
}

#[test]
fn bundled_app_in_firefox() {
    bundled_app_reports_a_page_view_and_a_conversion(Browser::Firefox);
}
