//! The dashboard in headless Chromium: a seeded shop (the collector tests'
//! data set, sent through POST /collect) and an offline import; the page must
//! draw its three charts, show exactly the numbers GET /report answers, log
//! no console error, and follow a new funnel typed into its form. Leaves a
//! screenshot at target/test-artefacts/dashboard.png. Needs no built tag.
#![cfg(feature = "browsers")]

#[path = "../../../collector/tests/seed/mod.rs"]
mod seed;

use goaltag_e2e::{repo, Browser, Harness, WAIT};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn http() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build()
}

/// The value at a dotted path like `goals.0.values.1.value`.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| match k.parse::<usize>() {
        Ok(i) => &v[i],
        Err(_) => &v[k],
    })
}

/// Every `[data-figure]` on the page: (path, text).
fn figures(h: &Harness) -> Vec<(String, String)> {
    let v = h.exec(
        "return Array.from(document.querySelectorAll('[data-figure]')).map(function (e) { return [e.dataset.figure, e.textContent]; });",
    );
    v.as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect()
}

fn check_figures(h: &Harness, report: &Value) -> usize {
    let found = figures(h);
    for (path, text) in &found {
        let shown: f64 = text.replace(',', "").parse().unwrap_or_else(|_| panic!("{path}: {text:?} is not a number"));
        let want = at(report, path).as_f64().unwrap_or_else(|| panic!("{path} is not in the report"));
        assert!((shown - want).abs() < 0.005, "{path}: the page shows {text}, the report says {want}");
    }
    found.len()
}

/// Each chart's canvas: laid out with a size, and with something drawn on it.
fn check_charts(h: &Harness) {
    let charts = h.exec(
        r#"return ['chart-daily', 'chart-funnel', 'chart-sources'].map(function (id) {
             var c = document.querySelector('#' + id + ' canvas');
             if (!c) return [id, 0, 0, 0];
             var r = c.getBoundingClientRect();
             var px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, inked = 0;
             for (var i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
             return [id, r.width, r.height, inked];
           });"#,
    );
    for c in charts.as_array().unwrap() {
        let (id, w, hgt, inked) = (c[0].as_str().unwrap(), c[1].as_f64().unwrap(), c[2].as_f64().unwrap(), c[3].as_u64().unwrap());
        assert!(w > 200.0 && hgt > 100.0, "{id}: canvas is {w}x{hgt}");
        assert!(inked > 500, "{id}: only {inked} pixels drawn");
    }
}

#[test]
fn the_dashboard_draws_the_report() {
    let www = tempfile::tempdir().unwrap();
    let h = Harness::start_with_www(Browser::Chromium, www.path());
    let today = (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64).div_euclid(seed::DAY_MS);
    let day0 = today - 3; // three whole past days: every event is in the past and within the age limit
    seed::seed(&h.base, day0);
    let imported = http()
        .post(&h.url("/import?site=shop"))
        .set("Content-Type", "text/csv")
        .send_string(&seed::import_csv(day0))
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&imported).unwrap()["new"], 4);

    let (from, to) = (goaltag_collector::dates::format_date(day0), goaltag_collector::dates::format_date(today + 1));
    let query = format!("site=shop&from={from}&to={to}");
    let report: Value =
        serde_json::from_str(&http().get(&h.url(&format!("/report?{query}"))).call().unwrap().into_string().unwrap()).unwrap();
    assert_eq!(report["totals"]["conversions"], 5, "the seed landed");

    h.wd("POST", "/window/rect", Some(json!({"width": 1280, "height": 2300})));
    h.goto(&format!("/dashboard?{query}"));
    h.wait_for_js("document.body.dataset.state === 'ready' || document.body.dataset.state === 'error'", WAIT);
    assert_eq!(h.exec("return document.body.dataset.state;"), "ready", "status: {}", h.text("#status"));

    check_charts(&h);
    let n = check_figures(&h, &report);
    assert!(n >= 60, "only {n} figures on the page");
    // Spot checks a person would make, by the text on the page.
    let kpis = h.text("#kpis");
    for needle in ["17", "4 primary", "1 secondary", "80.00 EUR", "30.00 USD"] {
        assert!(kpis.contains(needle), "{needle:?} not in the KPIs: {kpis:?}");
    }
    let sources = h.text("#table-sources");
    assert!(sources.contains("Google · google / cpc · spring") && sources.contains("Meta"), "{sources}");
    let imports = h.text("#table-imports");
    assert!(imports.contains("shipped") && imports.contains("refunded"), "{imports}");
    assert!(h.text("#funnel-note").contains("2 page views had no visit or client ID"));
    // Match keys: a row per network, its figures among those checked above.
    let keys = h.text("#table-match-keys");
    for name in ["Microsoft Advertising", "Google Ads", "Meta"] {
        assert!(keys.contains(name), "{name} not in {keys:?}");
    }
    let shown = h.exec("return document.querySelectorAll('#table-match-keys [data-figure^=\"match_keys.\"]').length;");
    assert_eq!(shown, 9, "three figures for each of three networks");
    // The "Ad platforms" panel shows what GET /export/platforms answers.
    let panel: Value =
        serde_json::from_str(&http().get(&h.url(&format!("/export/platforms?{query}"))).call().unwrap().into_string().unwrap()).unwrap();
    let shown = h.exec(
        "return Array.from(document.querySelectorAll('[data-platform-figure]')).map(function (e) { return [e.dataset.platformFigure, e.textContent]; });",
    );
    let shown = shown.as_array().unwrap();
    assert_eq!(shown.len(), 9, "three figures for each of three platforms: {shown:?}");
    for p in shown {
        let (path, text) = (p[0].as_str().unwrap(), p[1].as_str().unwrap());
        assert_eq!(text.parse::<u64>().ok(), at(&panel, path).as_u64(), "{path}: the page shows {text}");
    }
    let platforms = h.text("#table-platforms");
    for name in ["Microsoft Advertising", "Google Ads", "Meta"] {
        assert!(platforms.contains(name), "{name} not in {platforms:?}");
    }
    // The seed's Google click (gclid, V1's purchase) and Meta click (T4) carry click IDs.
    assert_eq!(at(&panel, "platforms.1.with_click_id"), 1, "{panel}");
    assert_eq!(at(&panel, "platforms.2.with_click_id"), 1, "{panel}");

    let shot = repo().join("target/test-artefacts");
    std::fs::create_dir_all(&shot).unwrap();
    let shot = shot.join("dashboard.png");
    h.screenshot(&shot);
    println!("dashboard screenshot: {}", shot.display());

    // A new funnel from the form: the page asks /report again and redraws.
    let field = h.find("#funnel");
    h.wd("POST", &format!("/element/{field}/clear"), Some(json!({})));
    h.type_text("#funnel", "/product.html,/cart.html");
    h.click("button[type=submit]");
    h.wait_for_js("document.body.dataset.state === 'ready' && document.querySelectorAll('#table-funnel tbody tr').length === 2", WAIT);
    assert!(h.current_url().contains("funnel=%2Fproduct.html%2C%2Fcart.html"), "{}", h.current_url());
    let narrowed: Value = serde_json::from_str(
        &http().get(&h.url(&format!("/report?{query}&funnel=/product.html,/cart.html"))).call().unwrap().into_string().unwrap(),
    )
    .unwrap();
    assert_eq!(narrowed["funnel"]["steps"][0]["visits"], 3, "V1, V2 and V3 saw a product page");
    check_figures(&h, &narrowed);
    check_charts(&h);

    // "Import spend": the chosen file goes to POST /spend for the selected
    // site; the page says what was stored, or which line refused the file.
    let spend_answer = |file: &std::path::Path| {
        h.type_text("#spend-file", file.to_str().unwrap());
        h.click("#spend-upload button");
        let name = file.file_name().unwrap().to_str().unwrap();
        // "Importing NAME…" while it goes; then the answer, which starts with the name.
        h.wait_for_js(&format!("document.getElementById('spend-status').textContent.indexOf('{name}') === 0"), WAIT);
        h.wait_for_js(
            "document.body.dataset.state === 'ready' || document.getElementById('spend-status').className.indexOf('error') >= 0",
            WAIT,
        );
        h.text("#spend-status")
    };
    let sample = repo().join("collector/tests/spend/documented.csv");
    assert_eq!(spend_answer(&sample), "documented.csv: spend CSV, 3 rows read, 3 stored: 3 new, 0 replaced, 0 unchanged.");
    let bad = www.path().join("bad-spend.csv");
    std::fs::write(&bad, "date,network,campaign,cost,currency\n2026-12-01,Google,A,1,EUR\n2026-02-30,Google,A,1,EUR\n").unwrap();
    let refused = spend_answer(&bad);
    assert!(refused.starts_with("bad-spend.csv was not imported: line 3: column \"date\""), "{refused}");

    let errors = h.exec("return window.dashboardErrors;");
    assert_eq!(errors, json!([]), "errors caught by the page");
    let console = h.console_errors().expect("Chromium has a console log");
    // The refused spend file's 400 is logged by Chromium itself; it is the answer the page showed.
    let console: Vec<_> = console
        .into_iter()
        .filter(|e| !e.contains("/spend?site=shop - Failed to load resource: the server responded with a status of 400"))
        .collect();
    assert!(console.is_empty(), "console errors: {console:#?}");
}
