//! A visitor from an ad walks the demo shop (www/, consent denied until its
//! banner answers) to a purchase, in real headless Chromium and Firefox
//! against the real collector: the ad's click ID and campaign must reach the
//! database and the report, whether the visitor accepts the banner on the
//! landing page or only on the next page (the demo's www/goals.json turns
//! `url_passthrough` on for that; without it, the next page's referrer
//! carries the ad's parameters one page further). A visitor who accepts analytics only (the
//! banner's preferences: analytics on, marketing off) buys too, and no click
//! identifier reaches the collector.
//!
//! What each walk stored and what `/report` made of it is printed:
//!
//! ```sh
//! ./build.sh build && cargo test -p goaltag-e2e --features browsers --test ad_walk -- --nocapture
//! ```
#![cfg(feature = "browsers")]

use goaltag_e2e::faults::{site, write_page, Proxy};
use goaltag_e2e::{banner, repo_www, Browser, Harness, WAIT};
use serde_json::Value;
use std::time::Duration;

/// The ad's landing URL as Microsoft Advertising's auto-tagging writes it:
/// its click ID, and the campaign, ad group (`utm_content`) and keyword
/// (`utm_term`) the sample spend file (collector/samples/spend-demo.csv) names.
const LANDING: &str =
    "/?utm_source=bing&utm_medium=cpc&utm_campaign=weekend-specials&utm_content=specials&utm_term=weekend+goods&msclkid=abc123";
/// The tag has started and replaced its stub.
const RUNNING: &str = "typeof goaltag == 'function' && !goaltag.q";

/// Where and how the visitor answers the banner.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Accept {
    /// On the landing page, before going anywhere.
    OnLanding,
    /// Not on the landing page: on the specials, reached by the landing page's link.
    OnSpecials,
    /// On the landing page, analytics only: "Manage preferences", analytics
    /// on, marketing off, "Save choices" (`ad_storage` stays denied).
    AnalyticsOnlyOnLanding,
}

/// Waits until the browser is on `path` and that page's tag is running: a
/// tag cannot see what happens on the page before it starts, and an event
/// queued by the stub is lost if the page is left before then.
fn arrive(h: &Harness, path: &str) {
    h.wait_for_js(&format!("location.pathname == '{path}' && {RUNNING}"), WAIT);
}

/// Answers the demo's banner (the real CookieConsent v3, www/consent.js) as `accept` says.
fn answer(h: &Harness, accept: Accept) {
    match accept {
        Accept::OnLanding | Accept::OnSpecials => banner::accept_all(h),
        Accept::AnalyticsOnlyOnLanding => banner::accept_analytics_only(h),
    }
}

fn json(v: &Value) -> Value {
    serde_json::from_str(v.as_str().unwrap_or_else(|| panic!("not a JSON text: {v}"))).unwrap()
}

/// `GET /report` for the demo shop (today by default) with `extra` parameters.
fn report(h: &Harness, extra: &str) -> Value {
    let http = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();
    let body = http.get(&h.url(&format!("/report?site=demo-shop{extra}"))).call().unwrap().into_string().unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/report is not JSON ({e}): {body}"))
}

/// The walk: land from the ad (`landing`, a path on the collector or a
/// whole URL), answer the banner where and how `accept` says, go to the
/// specials, open the coffee, add it to the cart, go to the cart and place
/// the order. Returns the harness, the order number and the specials' URL.
fn walk(h: Harness, accept: Accept, landing: &str) -> (Harness, String, String) {
    let browser = h.browser;
    h.goto(landing);
    arrive(&h, "/");
    if accept != Accept::OnSpecials {
        answer(&h, accept);
    }
    h.click("#hero-cta");
    arrive(&h, "/specials.html");
    let specials = h.current_url();
    if accept == Accept::OnSpecials {
        answer(&h, accept);
    }
    h.click("#product-coffee");
    arrive(&h, "/product.html");
    h.click("#add-to-cart");
    h.wait_for_js("!document.getElementById('added').hidden", WAIT);
    h.click("#go-to-cart");
    arrive(&h, "/cart.html");
    assert_eq!(h.text("#cart-total"), "14.00", "{browser:?}");
    h.click("#place-order");
    arrive(&h, "/checkout/confirmation.html");
    let order = h.text("#order-id");
    assert!(order.starts_with("T-"), "{browser:?}: {order}");
    (h, order, specials)
}

/// The `purchase` conversion once stored: it carries the ad's click ID and
/// campaign, and belongs to the same visit as `landing_view` (the page view
/// the visit's report row starts from).
fn purchase_is_credited_to_the_ad(h: &Harness, order: &str, landing_view: &Value) -> Value {
    let browser = h.browser;
    let rows = h.wait_for_rows("select json from events where kind = 'conversion' and goal = 'purchase'", 1, WAIT);
    assert_eq!(rows.len(), 1, "{browser:?}: {rows:?}");
    let purchase = json(&rows[0][0]);
    println!("{browser:?}: purchase conversion stored: {purchase}");
    assert_eq!(purchase["transaction_id"], order, "{browser:?}: {purchase}");
    assert_eq!(purchase["value"].as_f64(), Some(14.0), "{browser:?}: {purchase}");
    assert_eq!(purchase["attribution"]["click_ids"]["msclkid"], "abc123", "{browser:?}: {purchase}");
    assert_eq!(purchase["attribution"]["utm"]["utm_source"], "bing", "{browser:?}: {purchase}");
    assert_eq!(purchase["attribution"]["utm"]["utm_medium"], "cpc", "{browser:?}: {purchase}");
    assert!(purchase["visit_id"].is_string(), "{browser:?}: {purchase}");
    assert_eq!(purchase["visit_id"], landing_view["visit_id"], "{browser:?}: the purchase is in the landing's visit");
    assert_eq!(purchase["client_id"], landing_view["client_id"], "{browser:?}");
    purchase
}

/// The report credits every conversion of the walk, the purchase among
/// them, to Microsoft / bing, and counts the one visit at every `funnel` step.
fn report_credits_the_ad(h: &Harness, funnel: &[&str], landing_path: &str) {
    let browser = h.browser;
    let query = if funnel.is_empty() { String::new() } else { format!("&funnel={}", funnel.join(",")) };
    let r = report(h, &query);
    println!("{browser:?}: report totals: {}", r["totals"]);
    for s in r["sources"].as_array().unwrap() {
        println!(
            "{browser:?}: report source {}: {} visits, {} conversions ({} primary), values {}",
            s["source"].as_str().unwrap_or_default(),
            s["visits"],
            s["conversions"],
            s["primary_conversions"],
            s["values"]
        );
    }
    let steps = r["funnel"]["steps"].as_array().unwrap();
    for s in steps {
        println!("{browser:?}: report funnel {}: {} visits", s["path"], s["visits"]);
    }
    println!("{browser:?}: report landing pages: {}", r["landing_pages"]);

    assert_eq!(r["totals"]["visits"], 1, "{browser:?}: one visitor, one visit: {}", r["totals"]);
    assert!(r["totals"]["conversions"].as_u64().unwrap() >= 3, "{browser:?}: specials_view, add_to_cart, purchase: {}", r["totals"]);
    // One source: the ad. Nothing is left to "direct".
    let sources = r["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 1, "{browser:?}: {sources:#?}");
    let ad = &sources[0];
    assert_eq!(ad["network"], "Microsoft", "{browser:?}: {ad}");
    assert_eq!((&ad["utm_source"], &ad["utm_medium"]), (&"bing".into(), &"cpc".into()), "{browser:?}: {ad}");
    let label = ad["source"].as_str().unwrap();
    assert!(label.contains("Microsoft") && label.contains("bing"), "{browser:?}: {label}");
    assert_eq!(ad["visits"], 1, "{browser:?}: {ad}");
    assert_eq!(ad["conversions"], r["totals"]["conversions"], "{browser:?}: {ad}");
    assert_eq!(ad["primary_conversions"], 1, "{browser:?}: the purchase is the one primary conversion: {ad}");
    let purchase_goal = r["goals"].as_array().unwrap().iter().find(|g| g["goal"] == "purchase").cloned();
    assert_eq!(purchase_goal.map(|g| g["conversions"].clone()), Some(1.into()), "{browser:?}: {}", r["goals"]);

    let landing = r["landing_pages"].as_array().unwrap();
    assert_eq!(landing.len(), 1, "{browser:?}: {landing:?}");
    assert_eq!(landing[0]["path"], landing_path, "{browser:?}: {landing:?}");

    if !funnel.is_empty() {
        let paths: Vec<&str> = steps.iter().map(|s| s["path"].as_str().unwrap()).collect();
        assert_eq!(paths, funnel, "{browser:?}");
    }
    assert_eq!(steps.len(), if funnel.is_empty() { 5 } else { funnel.len() }, "{browser:?}: {steps:?}");
    for s in steps {
        assert_eq!(s["visits"], 1, "{browser:?}: the visit is not counted at funnel step {}: {steps:#?}", s["path"]);
    }
}

/// The page views stored, as (path and query, JSON), oldest first, once all `n` arrived.
fn page_views(h: &Harness, n: usize) -> Vec<(String, Value)> {
    let rows = h.wait_for_rows("select url, json from events where kind = 'page_view' order by ts, id", n, WAIT);
    rows.iter().map(|r| (r[0].as_str().unwrap().strip_prefix(&h.base).unwrap().to_string(), json(&r[1]))).collect()
}

/// Accepting on the landing page: the landing page view is recorded at the
/// grant with the ad's click ID and campaign, and starts the visit the
/// purchase is credited to.
fn accepted_on_the_landing_page(browser: Browser) {
    let (h, order, specials) = walk(Harness::start(browser), Accept::OnLanding, LANDING);
    assert_eq!(specials, h.url("/specials.html"), "{browser:?}: consent was given: no parameters carried");
    let views = page_views(&h, 5);
    let paths: Vec<&str> = views.iter().map(|v| v.0.as_str()).collect();
    let confirmation = format!("/checkout/confirmation.html?order={order}&total=14.00");
    assert_eq!(paths, [LANDING, "/specials.html", "/product.html?sku=coffee", "/cart.html", &confirmation], "{browser:?}");
    let landing = &views[0].1;
    println!("{browser:?}: landing page view stored: {landing}");
    assert_eq!(landing["attribution"]["click_ids"]["msclkid"], "abc123", "{browser:?}: {landing}");
    assert_eq!(landing["attribution"]["utm"]["utm_source"], "bing", "{browser:?}: {landing}");
    assert_eq!(landing["consent"]["analytics_storage"], "granted", "{browser:?}: {landing}");
    assert_eq!(landing["title"], "Weekend Goods — home", "{browser:?}: {landing}");

    purchase_is_credited_to_the_ad(&h, &order, landing);
    report_credits_the_ad(&h, &[], "/");
    the_campaign_pays_back(&h);
}

/// The owner imports the sample Microsoft Advertising report (dated today)
/// with `POST /spend`, and the report's attribution answers what the
/// campaign returned. By hand, from collector/samples/spend-demo.csv and the
/// walk: weekend-specials spent 2.60 + 1.60 + 1.10 = 5.30 USD (brand 0.80);
/// the one primary conversion, the 14.00 USD coffee, came from its ad, so
/// every model credits it 1 conversion and 14.00 USD: ROAS 14.00 / 5.30 =
/// 2.6415…, CPA 5.30. Brand spent and converted nothing: its row stays, ROAS 0.
/// At keyword level the purchase is credited to "weekend goods" (1.00 + …
/// spend 2.60 + 1.60 = 4.20: ROAS 3.3333…).
fn the_campaign_pays_back(h: &Harness) {
    let browser = h.browser;
    let today = goaltag_collector::dates::format_date(goaltag_collector::dates::day_of_ms(goaltag_collector::model::now_ms()));
    let sample = std::fs::read_to_string(goaltag_e2e::repo().join("collector/samples/spend-demo.csv")).unwrap();
    let csv = sample.replace("2026-12-01", &today);
    let http = ureq::AgentBuilder::new().timeout(Duration::from_secs(20)).build();
    let answer = http.post(&h.url("/spend?site=demo-shop")).set("Content-Type", "text/csv").send_string(&csv).unwrap();
    println!("{browser:?}: POST /spend: {}", answer.into_string().unwrap());

    let money = |v: &Value| -> f64 {
        let list = v.as_array().unwrap_or_else(|| panic!("{browser:?}: not a per-currency list: {v}"));
        assert_eq!(list.len(), 1, "{browser:?}: one currency: {v}");
        assert_eq!(list[0]["currency"], "USD", "{browser:?}: {v}");
        list[0]["value"].as_f64().unwrap()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
    for model in ["last_non_direct", "first_touch", "linear", "position_based", "time_decay", "data_driven"] {
        let r = report(h, &format!("&model={model}&by=campaign"));
        let rows = r["attribution"]["rows"].as_array().unwrap_or_else(|| panic!("{browser:?}: no attribution: {r}"));
        println!("{browser:?}: {model} by campaign: {rows:?}");
        let row = |name: &str| rows.iter().find(|x| x["campaign"] == name).unwrap_or_else(|| panic!("{browser:?}: {name}: {rows:?}"));
        let ad = row("weekend-specials");
        assert_eq!(ad["network"], "Microsoft", "{browser:?}: {ad}");
        assert!(close(ad["conversions"].as_f64().unwrap(), 1.0), "{browser:?}: {model}: {ad}");
        assert!(close(money(&ad["values"]), 14.0), "{browser:?}: {model}: {ad}");
        assert!(close(money(&ad["cost"]), 5.30), "{browser:?}: {model}: {ad}");
        assert!(close(money(&ad["roas"]), 14.0 / 5.30), "{browser:?}: {model}: {ad}");
        assert!(close(money(&ad["cpa"]), 5.30), "{browser:?}: {model}: {ad}");
        let brand = row("brand");
        assert!(close(brand["conversions"].as_f64().unwrap(), 0.0), "{browser:?}: {model}: {brand}");
        assert!(close(money(&brand["cost"]), 0.80) && close(money(&brand["roas"]), 0.0), "{browser:?}: {model}: {brand}");
    }
    let r = report(h, "&model=last_non_direct&by=keyword");
    let rows = r["attribution"]["rows"].as_array().unwrap();
    println!("{browser:?}: last_non_direct by keyword: {rows:?}");
    let kw = rows.iter().find(|x| x["keyword"] == "weekend goods").unwrap_or_else(|| panic!("{browser:?}: {rows:?}"));
    assert_eq!((&kw["campaign"], &kw["ad_group"]), (&"weekend-specials".into(), &"specials".into()), "{browser:?}: {kw}");
    assert!(close(kw["conversions"].as_f64().unwrap(), 1.0) && close(money(&kw["cost"]), 4.20), "{browser:?}: {kw}");
    assert!(close(money(&kw["roas"]), 14.0 / 4.20), "{browser:?}: {kw}");

    // The dashboard shows the same answer: the campaign's row with its cost,
    // ROAS and CPA, rounded to cents.
    h.goto("/dashboard?site=demo-shop&model=position_based&by=campaign");
    h.wait_for_js("document.body.dataset.state === 'ready' || document.body.dataset.state === 'error'", WAIT);
    let rows = h.exec(
        "return Array.from(document.querySelectorAll('#table-attribution tbody tr')).map(function (r) { \
           return Array.from(r.cells).map(function (c) { return c.textContent.trim(); }).join(' | '); });",
    );
    println!("{browser:?}: dashboard return on ad spend: {rows}");
    let rows: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let ad = rows.iter().find(|r| r.contains("weekend-specials")).unwrap_or_else(|| panic!("{browser:?}: {rows:?}"));
    for figure in ["14.00 USD", "5.30 USD", "2.64 USD"] {
        assert!(ad.contains(figure), "{browser:?}: {figure} not in the dashboard's row: {ad}");
    }
}

/// Not answering on the landing page, accepting on the next one: nothing of
/// the landing page is recorded, but `url_passthrough` (on in the demo's
/// goals.json) carried the ad's parameters to the specials, which become
/// the visit's landing page view and campaign touch at the grant.
fn accepted_on_the_next_page(browser: Browser) {
    let (h, order, specials) = walk(Harness::start(browser), Accept::OnSpecials, LANDING);
    let carried = specials.strip_prefix(&h.base).unwrap().to_string();
    for p in ["utm_source=bing", "utm_medium=cpc", "msclkid=abc123"] {
        assert!(carried.starts_with("/specials.html?") && carried.contains(p), "{browser:?}: {p} not carried: {carried}");
    }
    let views = page_views(&h, 4);
    let paths: Vec<&str> = views.iter().map(|v| v.0.as_str()).collect();
    let confirmation = format!("/checkout/confirmation.html?order={order}&total=14.00");
    // The purchase's page view arrived: the landing page, never granted, was never recorded.
    assert_eq!(paths, [carried.as_str(), "/product.html?sku=coffee", "/cart.html", &confirmation], "{browser:?}");
    let landing = &views[0].1;
    println!("{browser:?}: landing page view stored: {landing}");
    assert_eq!(landing["attribution"]["click_ids"]["msclkid"], "abc123", "{browser:?}: {landing}");
    assert_eq!(landing["attribution"]["utm"]["utm_source"], "bing", "{browser:?}: {landing}");

    purchase_is_credited_to_the_ad(&h, &order, landing);
    // The default funnel's first step, `/`, was never recorded: follow the visit from the specials.
    report_credits_the_ad(&h, &["/specials.html", "/product.html", "/cart.html", "/checkout/confirmation.html"], "/specials.html");
    let full = report(&h, "");
    assert_eq!(full["funnel"]["steps"][0]["visits"], 0, "{browser:?}: `/` was recorded while denied: {}", full["funnel"]);
}

/// The demo shop as it is, but with `url_passthrough` taken out of its goals.json.
fn demo_without_url_passthrough() -> tempfile::TempDir {
    let files = [
        "index.html",
        "specials.html",
        "product.html",
        "cart.html",
        "checkout/confirmation.html",
        "shop.js",
        "consent.js",
        "style.css",
        "vendor/cookieconsent/cookieconsent.umd.js",
        "vendor/cookieconsent/cookieconsent.css",
    ];
    let pages: Vec<(&str, String)> = files.iter().map(|f| (*f, std::fs::read_to_string(repo_www().join(f)).unwrap())).collect();
    let www = site(&pages);
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(repo_www().join("goals.json")).unwrap()).unwrap();
    let was = config.as_object_mut().unwrap().remove("url_passthrough");
    assert_eq!(was, Some(Value::Bool(true)), "the demo's goals.json turns url_passthrough on");
    write_page(www.path(), "goals.json", &config.to_string());
    www
}

/// The same walk without `url_passthrough`: nothing carries the ad's
/// parameters to the specials, but their referrer is the landing page's full
/// URL (browsers send it to a page of the same origin by default) and the
/// visit is new (nothing stored: the landing page was never granted), so at
/// the grant the tag takes the campaign from the referrer, with the landing
/// page as `landing_url`: the purchase is credited to the ad all the same.
fn accepted_on_the_next_page_without_url_passthrough(browser: Browser) {
    let www = demo_without_url_passthrough();
    let (h, order, specials) = walk(Harness::start_with_www(browser, www.path()), Accept::OnSpecials, LANDING);
    assert_eq!(specials, h.url("/specials.html"), "{browser:?}: parameters carried without url_passthrough");
    let views = page_views(&h, 4);
    let paths: Vec<&str> = views.iter().map(|v| v.0.as_str()).collect();
    let confirmation = format!("/checkout/confirmation.html?order={order}&total=14.00");
    assert_eq!(paths, ["/specials.html", "/product.html?sku=coffee", "/cart.html", &confirmation], "{browser:?}");
    let specials_view = &views[0].1;
    println!("{browser:?}: without url_passthrough, first page view stored: {specials_view}");
    assert_eq!(specials_view["referrer"], h.url(LANDING), "{browser:?}: {specials_view}");
    assert_eq!(specials_view["attribution"]["landing_url"], h.url(LANDING), "{browser:?}: {specials_view}");
    assert_eq!(specials_view["attribution"]["click_ids"]["msclkid"], "abc123", "{browser:?}: {specials_view}");
    assert!(specials_view["attribution"]["referrer_host"].is_null(), "{browser:?}: {specials_view}");
    purchase_is_credited_to_the_ad(&h, &order, specials_view);
    // The visit landed on `/`, which the touch says, though its first
    // recorded page is the specials.
    report_credits_the_ad(&h, &["/specials.html", "/product.html", "/cart.html", "/checkout/confirmation.html"], "/");
}

/// An ad URL with the click IDs of three networks (issue 25): Microsoft's,
/// Google's and Meta's, beside the campaign's `utm_*`.
const LANDING_THREE_CLICK_IDS: &str = "/?utm_source=bing&utm_medium=cpc&utm_campaign=weekend-specials&msclkid=abc123&gclid=x&fbclid=y";

/// The click identifier `text` carries, if any: a click-ID parameter name
/// (also percent-encoded, names stay letters) or msclkid's value.
fn click_id_in(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    ["msclkid", "gclid", "fbclid", "abc123"].into_iter().find(|n| lower.contains(n))
}

/// "Accept analytics only" on the landing page of an ad, then the walk to a
/// purchase: analytics is granted, `ad_storage` stays denied, so no click
/// identifier reaches the collector in any batch the tag sends, nor in
/// anything stored. Every request of the walk (pages and batches, the
/// batches same-origin as in the demo) goes through a recording proxy in
/// front of the collector, so what the collector received is what the proxy
/// logged.
fn accepted_analytics_only(browser: Browser) {
    let h = Harness::start(browser);
    let proxy = Proxy::start(&h.base);
    let origin = proxy.collect_url().trim_end_matches("/collect").to_string();
    let (h, order, specials) = walk(h, Accept::AnalyticsOnlyOnLanding, &format!("{origin}{LANDING_THREE_CLICK_IDS}"));
    println!("{browser:?}: the banner's cookie: {}", h.exec("return document.cookie;"));
    // url_passthrough: with ad_storage denied the links carry the ad's
    // parameters in the address bar (nothing is sent for that).
    println!("{browser:?}: specials opened at {specials}");

    // The positive signal first: the purchase and all five page views landed.
    let rows = h.wait_for_rows("select json from events where kind = 'conversion' and goal = 'purchase'", 1, WAIT);
    let purchase = json(&rows[0][0]);
    println!("{browser:?}: analytics only, purchase conversion stored: {purchase}");
    assert_eq!(purchase["transaction_id"], order, "{browser:?}: {purchase}");
    assert_eq!(purchase["value"].as_f64(), Some(14.0), "{browser:?}: {purchase}");
    assert_eq!(purchase["consent"]["analytics_storage"], "granted", "{browser:?}: {purchase}");
    assert_eq!(purchase["consent"]["ad_storage"], "denied", "{browser:?}: {purchase}");
    assert!(purchase["attribution"]["click_ids"].is_null(), "{browser:?}: {purchase}");
    let views = h.wait_for_rows("select url, json from events where kind = 'page_view' order by ts, id", 5, WAIT);
    let landing = json(&views[0][1]);
    println!("{browser:?}: analytics only, landing page view stored: {landing}");
    assert_eq!(
        views[0][0].as_str(),
        Some(format!("{origin}/?utm_source=bing&utm_medium=cpc&utm_campaign=weekend-specials").as_str()),
        "{browser:?}: the three click IDs removed, the rest in its order"
    );
    assert_eq!(landing["consent"]["analytics_storage"], "granted", "{browser:?}: {landing}");
    assert_eq!(landing["consent"]["ad_storage"], "denied", "{browser:?}: {landing}");
    assert!(landing["attribution"]["click_ids"].is_null(), "{browser:?}: {landing}");

    // No click identifier in any batch the collector received, nor in anything it stored.
    let log = proxy.stats().log;
    assert!(log.iter().any(|r| r.upstream == Some(200) && r.events > 0), "{browser:?}: no batch forwarded: {log:?}");
    for r in &log {
        assert_eq!(click_id_in(&r.body), None, "{browser:?}: a click ID reached the collector: {}", r.body);
    }
    for row in h.query("select * from events") {
        for cell in row {
            assert_eq!(click_id_in(&cell.to_string()), None, "{browser:?}: a click ID was stored: {cell}");
        }
    }
    // Nor in a `Referer` header of the tag's fetches, which send none. On
    // these same-origin requests it would be the sending page's whole URL,
    // click IDs included (url_passthrough keeps them in the address bar).
    // sendBeacon cannot omit it: a beacon carries what the page's referrer
    // policy gives (shown, not asserted).
    for r in log.iter().filter(|r| r.mode != "no-cors") {
        assert_eq!(r.referer, "", "{browser:?}: a fetch sent a Referer: {}", r.referer);
    }
    let referers: Vec<&str> = log.iter().map(|r| r.referer.as_str()).filter(|r| click_id_in(r).is_some()).collect();
    println!("{browser:?}: {} of {} batches (beacons) had a Referer header with a click ID: {referers:?}", referers.len(), log.len());
}

#[test]
fn chromium_ad_visitor_accepts_analytics_only_and_no_click_id_leaves() {
    accepted_analytics_only(Browser::Chromium);
}

#[test]
fn firefox_ad_visitor_accepts_analytics_only_and_no_click_id_leaves() {
    accepted_analytics_only(Browser::Firefox);
}

#[test]
fn chromium_ad_visitor_accepts_on_the_landing_page_and_buys() {
    accepted_on_the_landing_page(Browser::Chromium);
}

#[test]
fn firefox_ad_visitor_accepts_on_the_landing_page_and_buys() {
    accepted_on_the_landing_page(Browser::Firefox);
}

#[test]
fn chromium_ad_visitor_accepts_on_the_next_page_and_buys() {
    accepted_on_the_next_page(Browser::Chromium);
}

#[test]
fn firefox_ad_visitor_accepts_on_the_next_page_and_buys() {
    accepted_on_the_next_page(Browser::Firefox);
}

#[test]
fn chromium_without_url_passthrough_an_answer_on_the_next_page_credits_the_ad_through_the_referrer() {
    accepted_on_the_next_page_without_url_passthrough(Browser::Chromium);
}

#[test]
fn firefox_without_url_passthrough_an_answer_on_the_next_page_credits_the_ad_through_the_referrer() {
    accepted_on_the_next_page_without_url_passthrough(Browser::Firefox);
}
