//! Issue 19's "done when": a visitor who comes from an ad of each network
//! (`?msclkid=…`, `?gclid=…`, `?fbclid=…`), accepts the demo shop's banner
//! and buys, becomes one row in each platform's upload file.
#![cfg(feature = "browsers")]

use goaltag_collector::export::{self, Goals, Platform, Request};
use goaltag_e2e::{banner, Browser, Harness, WAIT};

/// Lands from an ad URL, then buys the blanket; waits until the collector
/// holds `purchases` purchase conversions.
fn buy_from(h: &Harness, landing: &str, purchases: usize) {
    h.goto(landing);
    h.wait_for_js("typeof goaltag == 'function' && !goaltag.q", WAIT);
    h.click("#hero-cta");
    h.wait_for_js("location.pathname == '/specials.html'", WAIT);
    h.click("#product-blanket");
    h.wait_for_js("location.pathname == '/product.html'", WAIT);
    h.click("#add-to-cart");
    h.wait_for_js("!document.getElementById('added').hidden", WAIT);
    h.click("#go-to-cart");
    h.wait_for_js("location.pathname == '/cart.html'", WAIT);
    h.click("#place-order");
    h.wait_for_js("location.pathname == '/checkout/confirmation.html'", WAIT);
    h.wait_for_rows("select id from events where kind = 'conversion' and goal = 'purchase'", purchases, WAIT);
}

#[test]
fn a_walk_from_each_network_s_ad_reaches_its_upload_file() {
    let h = Harness::start(Browser::Chromium);
    h.goto("/");
    banner::accept_all(&h);
    buy_from(&h, "/?msclkid=ms-e2e-1&utm_source=bing&utm_medium=cpc", 1);
    buy_from(&h, "/?gclid=gclid-e2e-2", 2);
    buy_from(&h, "/?fbclid=IwAR-e2e-3", 3);

    let goals = Goals::load(&goaltag_e2e::repo_www().join("goals.json")).unwrap();
    // Read as `GET /export` reads, through the Store (here the SQLite file, read-only).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = rt.block_on(goaltag_collector::store::open_for_reports(&h.db.as_path().into())).unwrap();
    let now = goaltag_collector::model::now_ms();
    let export = |platform| {
        let req = Request {
            site: "demo-shop".into(),
            platform,
            goals: Vec::new(),
            from: None,
            to: None,
            names: Default::default(),
            window_days: None,
            since_last: false,
        };
        let (rows, summary) = rt.block_on(export::preview(&*store, &req, &goals, now)).unwrap();
        (export::render(platform, &rows).unwrap(), rows, summary)
    };
    for (platform, click) in [(Platform::MicrosoftAds, "ms-e2e-1"), (Platform::GoogleAds, "gclid-e2e-2"), (Platform::Meta, "IwAR-e2e-3")] {
        let (file, rows, summary) = export(platform);
        // Each purchase carries the last ad click before it (the campaign touch is replaced).
        assert_eq!(rows.len(), 1, "{platform:?}: {summary}\n{file}");
        assert_eq!((rows[0].click_id.as_str(), rows[0].name.as_str(), rows[0].value), (click, "Purchase", Some(59.0)), "{file}");
        assert_eq!(rows[0].currency.as_deref(), Some("USD"));
        assert!(file.contains(click), "{file}");
        assert!(!file.contains("client") && !file.contains("T-"), "no IDs beyond the click ID: {file}");
        println!("{}:\n{file}{summary}\n", platform.name());
    }
    let (meta, _, _) = export(Platform::Meta);
    assert!(meta.contains("\"fbc\": \"fb.1.") && meta.contains(".IwAR-e2e-3\""), "{meta}");
    assert!(meta.contains("\"event_source_url\": \"http://127.0.0.1:") && !meta.contains("?order="), "{meta}");
}
