//! Issue 19's "done when": a visitor who comes from an ad of each network
//! (`?msclkid=…`, `?gclid=…`, `?fbclid=…`), accepts the demo shop's banner
//! and buys, becomes one row in each platform's upload file. Issue 27's: the
//! confirmation page's `goaltag('user_data', {email})` (the demo address
//! jane.doe@example.com) ends in a Microsoft row with its hashed email, and
//! makes the purchases without an msclkid (or fbclid) enhanced conversions.
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
    // SHA-256 of jane.doe@example.com as each platform normalises it:
    // Microsoft drops the local part's dots at every domain, Google only at
    // gmail.com, Meta never.
    const MICROSOFT_EM: &str = "c4d25e9c90ff23e9145397bc6fbd5385ca5fbe78211222ccbecd0b369ebb19a6";
    const GOOGLE_META_EM: &str = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d";
    for (platform, click, hash) in [
        (Platform::MicrosoftAds, "ms-e2e-1", MICROSOFT_EM),
        (Platform::GoogleAds, "gclid-e2e-2", GOOGLE_META_EM),
        (Platform::Meta, "IwAR-e2e-3", GOOGLE_META_EM),
    ] {
        let (file, rows, summary) = export(platform);
        // Each purchase carries the last ad click before it (the campaign
        // touch is replaced) and the buyer's hashed email. Microsoft and Meta
        // also take the other two purchases by that hash alone (no click ID of
        // theirs); Google's file needs its click ID.
        let with_click: Vec<_> = rows.iter().filter(|r| !r.click_id.is_empty()).collect();
        assert_eq!(with_click.len(), 1, "{platform:?}: {summary}\n{file}");
        let r = with_click[0];
        assert_eq!((r.click_id.as_str(), r.name.as_str(), r.value), (click, "Purchase", Some(59.0)), "{file}");
        assert_eq!(r.currency.as_deref(), Some("USD"));
        let hashed_only = if platform == Platform::GoogleAds { 0 } else { 2 };
        assert_eq!(rows.len(), 1 + hashed_only, "{platform:?}: {summary}\n{file}");
        for r in &rows {
            assert_eq!(r.user_data.get("em").map(String::as_str), Some(hash), "{platform:?}: the hashed email\n{file}");
        }
        assert!(file.contains(click), "{file}");
        assert!(!file.contains("jane") && !file.contains("example.com"), "never the address itself: {file}");
        assert!(!file.contains("client_id") && !file.contains("T-"), "no IDs beyond the click ID: {file}");
        println!("{}:\n{file}{summary}\n", platform.name());
    }
    // The Microsoft row the walk from its ad ends in: the click ID and the hashed email.
    let (microsoft, _, _) = export(Platform::MicrosoftAds);
    assert!(microsoft.contains(",Purchase,") && microsoft.contains(&format!(",59,ms-e2e-1,{MICROSOFT_EM},\r\n")), "{microsoft}");
    let (meta, _, _) = export(Platform::Meta);
    assert!(meta.contains("\"fbc\": \"fb.1.") && meta.contains(".IwAR-e2e-3\""), "{meta}");
    assert!(meta.contains("\"event_source_url\": \"http://127.0.0.1:") && !meta.contains("?order="), "{meta}");
}
