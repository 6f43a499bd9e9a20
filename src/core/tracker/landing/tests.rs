//! Consent after landing (issue 13): the ad click survives the cookie banner.

use super::super::*;
use crate::core::passthrough::{Decoration, Followed};
use crate::core::test_fixtures::tracker::*;

#[test]
fn denied_then_granted_on_the_landing_page_records_it_at_the_grant_with_its_campaign() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, AD_URL, BING, Some(DENIED), "{}");
    h.now += 4_000;
    assert!(sent(&mut t, &mut h).is_empty(), "denied: nothing is sent");
    assert!(h.storage.is_empty(), "denied: nothing is stored");
    let granted_at = h.now;
    run(&mut t, &mut h, ACCEPT_ALL);
    let events = sent(&mut t, &mut h);
    assert_eq!(events.len(), 1, "{events:?}");
    let view = &events[0];
    assert_eq!((view.kind, view.ts), (Kind::PageView, granted_at), "recorded at the moment of the grant");
    assert_eq!((view.url.as_deref(), view.referrer.as_deref(), view.title.as_deref()), (Some(AD_URL), Some(BING), Some("Shop")));
    let a = view.attribution.as_ref().expect("the landing view carries the touch");
    assert_eq!(click_id(Some(a)), Some("abc123"));
    assert_eq!(a.utm.get("utm_source").map(String::as_str), Some("bing"));
    assert_eq!(a.referrer_host.as_deref(), Some("bing.com"));
    assert!(view.client_id.is_some() && view.visit_id.is_some());
    t.persist(&mut h);
    assert!(h.storage.contains_key(CAMPAIGN_KEY), "ad storage granted: the touch is kept for the next pages");
    // Nothing more at the next grant: the page was recorded once.
    run(&mut t, &mut h, ACCEPT_ALL);
    assert!(sent(&mut t, &mut h).is_empty());

    // The next page of the visit, then the purchase: credited to the ad.
    t.persist(&mut h);
    h.now += 10_000;
    let mut t2 = load(&mut h, "https://shop.example/cart.html", AD_URL, Some(DENIED), "{}");
    run(&mut t2, &mut h, ACCEPT_ALL);
    run(&mut t2, &mut h, PURCHASE);
    let events = sent(&mut t2, &mut h);
    let conv = conversions(&events);
    assert_eq!(conv.len(), 1);
    assert_eq!(click_id(conv[0].attribution.as_ref()), Some("abc123"));
    assert_eq!(conv[0].visit_id, view.visit_id, "one visit");
    assert_eq!(events[0].kind, Kind::PageView);
    assert!(events[0].attribution.is_none(), "a page inside the site is no new touch");
}

#[test]
fn unknown_then_granted_sends_the_held_landing_view_once_at_its_own_time() {
    let mut h = FakeHost::new();
    let loaded_at = h.now;
    let mut t = load(&mut h, AD_URL, BING, None, "{}");
    h.now += 2_000;
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, PURCHASE);
    let events = sent(&mut t, &mut h);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [Kind::PageView, Kind::Event, Kind::Conversion], "the held view once, not again at the grant");
    assert_eq!(events[0].ts, loaded_at, "held, so sent with its own time");
    assert_eq!(click_id(events[0].attribution.as_ref()), Some("abc123"));
    assert_eq!(click_id(events[2].attribution.as_ref()), Some("abc123"));
}

#[test]
fn unknown_then_denied_then_granted_records_the_page_once_at_the_grant() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, AD_URL, BING, None, "{}");
    h.now += 1_000;
    run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
    assert!(sent(&mut t, &mut h).is_empty());
    h.now += 1_000;
    let granted_at = h.now;
    run(&mut t, &mut h, ACCEPT_ALL);
    let events = sent(&mut t, &mut h);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].kind, events[0].ts), (Kind::PageView, granted_at));
    assert_eq!(click_id(events[0].attribution.as_ref()), Some("abc123"));
}

#[test]
fn unknown_then_denied_then_granted_counts_nothing_of_what_was_discarded() {
    // The visitor left the ad's landing page (AD_URL) unanswered, rejects
    // the banner on the specials, then accepts on the same page. What was
    // held and discarded at the rejection must not count: the specials view
    // is the visit's first page (so its touch is read from the referrer),
    // its once-per-visit goal converts at the grant, and the purchase's
    // transaction is new.
    let mut h = FakeHost::new();
    let mut t = load(&mut h, "https://shop.example/specials.html", AD_URL, None, "{}");
    run(&mut t, &mut h, PURCHASE);
    h.now += 1_000;
    run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
    h.now += 1_000;
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, PURCHASE);
    let events = sent(&mut t, &mut h);
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.goal.as_deref())).collect();
    assert_eq!(
        kinds,
        [(Kind::PageView, None), (Kind::Conversion, Some("specials")), (Kind::Event, None), (Kind::Conversion, Some("purchase"))]
    );
    let a = events[0].attribution.as_ref().expect("the landing's touch, from the referrer");
    assert_eq!((a.landing_url.as_deref(), click_id(Some(a))), (Some(AD_URL), Some("abc123")));
    assert_eq!(click_id(events[3].attribution.as_ref()), Some("abc123"));
    t.persist(&mut h);
    assert!(h.storage[VISIT_KEY].contains(".1."), "one page in the visit: {}", h.storage[VISIT_KEY]);
}

#[test]
fn spa_navigations_while_denied_record_only_the_current_page_with_the_landing_touch() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, AD_URL, BING, Some(DENIED), "{}");
    for path in ["https://shop.example/specials.html", "https://shop.example/product.html?sku=coffee"] {
        h.now += 1_000;
        h.page.title = path.into();
        let a = At { ms: h.now, url: path.into() };
        t.navigated(&mut h, a, None);
    }
    h.now += 1_000;
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, PURCHASE);
    let events = sent(&mut t, &mut h);
    let views: Vec<_> = events.iter().filter(|e| e.kind == Kind::PageView).collect();
    assert_eq!(views.len(), 1, "only the current page, once");
    assert_eq!(views[0].url.as_deref(), Some("https://shop.example/product.html?sku=coffee"));
    assert_eq!(views[0].referrer.as_deref(), Some("https://shop.example/specials.html"));
    let a = views[0].attribution.as_ref().expect("the touch of the URL the page loaded with");
    assert_eq!(a.landing_url.as_deref(), Some(AD_URL));
    assert_eq!(click_id(conversions(&events)[0].attribution.as_ref()), Some("abc123"));
}

#[test]
fn granted_only_on_the_second_page_keeps_the_campaign_from_the_referrer_or_url_passthrough() {
    // The second page's referrer: the landing page (browsers send a page of
    // the same origin the full URL by default), or none (a site with
    // `Referrer-Policy: no-referrer`, or a bookmark).
    for (passthrough, referrer) in [(false, AD_URL), (true, AD_URL), (false, ""), (true, "")] {
        let case = format!("passthrough {passthrough}, referrer {referrer:?}");
        let mut h = FakeHost::new();
        let extra = if passthrough { r#"{"url_passthrough":true}"# } else { "{}" };
        let t = load(&mut h, AD_URL, BING, Some(DENIED), extra);
        // The visitor follows a link to the specials, still denied.
        let link = "https://shop.example/specials.html#top";
        let next = follow(&t, link, AD_URL);
        assert_eq!(next.is_some(), passthrough, "{case}");
        let next = next.unwrap_or(link.into());
        assert!(h.storage.is_empty(), "nothing stored for the passthrough");
        h.now += 5_000;
        let mut t2 = load(&mut h, &next, referrer, Some(DENIED), extra);
        assert!(sent(&mut t2, &mut h).is_empty());
        run(&mut t2, &mut h, ACCEPT_ALL);
        run(&mut t2, &mut h, PURCHASE);
        let events = sent(&mut t2, &mut h);
        assert_eq!(events[0].kind, Kind::PageView);
        let view = events[0].attribution.as_ref();
        let conv = conversions(&events)[0].attribution.as_ref();
        if passthrough {
            assert_eq!(next, "https://shop.example/specials.html?utm_source=bing&utm_medium=cpc&msclkid=abc123#top");
            assert_eq!(click_id(view), Some("abc123"), "{case}: the landing of the grant");
            assert_eq!(view.unwrap().landing_url.as_deref(), Some(next.as_str()), "{case}: the decorated URL wins");
            assert_eq!(click_id(conv), Some("abc123"), "{case}");
            assert_eq!(conv.unwrap().utm.get("utm_source").map(String::as_str), Some("bing"));
            assert_eq!(follow(&t2, link, &next), None, "ad storage granted: links are left alone");
        } else if !referrer.is_empty() {
            // The landing page went unrecorded and the visit is new: its
            // campaign is read from the referrer, and it is the landing.
            let a = view.expect("the touch of the page the visit landed on");
            assert_eq!(a.landing_url.as_deref(), Some(AD_URL));
            assert_eq!(click_id(Some(a)), Some("abc123"));
            assert_eq!((a.utm["utm_source"].as_str(), a.utm["utm_medium"].as_str()), ("bing", "cpc"));
            assert_eq!(a.referrer_host, None, "bing.com was the landing page's referrer, which this page cannot know");
            assert_eq!(click_id(conv), Some("abc123"));
        } else {
            assert!(view.is_none(), "{case}: no referrer, no passthrough: nothing tells where the visit came from");
            assert!(conv.is_none(), "{case}: the campaign is gone");
        }
    }
}

#[test]
fn a_landing_page_left_before_it_was_recorded_is_read_from_the_next_pages_referrer() {
    // The visitor left the landing page (AD_URL) before the tag recorded
    // anything there: nothing is stored. The next page knows it only as
    // its referrer.
    let mut h = FakeHost::new();
    let cart = "https://shop.example/cart.html";
    let mut t = load(&mut h, cart, AD_URL, Some(GRANTED), "{}");
    run(&mut t, &mut h, PURCHASE);
    let events = sent(&mut t, &mut h);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [Kind::PageView, Kind::Event, Kind::Conversion]);
    let a = events[0].attribution.as_ref().expect("the cart's view carries the landing's touch");
    assert_eq!(a.landing_url.as_deref(), Some(AD_URL));
    assert_eq!(click_id(Some(a)), Some("abc123"));
    assert_eq!(a.utm["utm_source"], "bing");
    assert_eq!((events[0].url.as_deref(), events[0].referrer.as_deref()), (Some(cart), Some(AD_URL)), "the page is the cart");
    assert_eq!(click_id(events[2].attribution.as_ref()), Some("abc123"), "the purchase is credited to the ad");
    t.persist(&mut h);
    assert!(h.storage.contains_key(CAMPAIGN_KEY), "ad storage granted: the touch is kept");
    let visit = events[0].visit_id.clone();

    // Later pages of the live visit are no new touch, even one whose
    // referrer is the landing page again (a second tab opened from it).
    for (url, referrer) in [("https://shop.example/done.html", cart), ("https://shop.example/specials.html", AD_URL)] {
        h.now += 10_000;
        let mut t = load(&mut h, url, referrer, Some(GRANTED), "{}");
        let events = sent(&mut t, &mut h);
        assert_eq!(events[0].kind, Kind::PageView);
        assert!(events[0].attribution.is_none(), "{url} from {referrer}: a page of the visit");
        assert_eq!(events[0].visit_id, visit, "one visit");
        t.persist(&mut h);
    }
}

#[test]
fn an_event_before_the_page_view_leaves_it_the_first_page_of_the_visit() {
    // A custom event before the page view (a site that records its page
    // views itself, `auto_page_view` off) starts the visit, and the page
    // view is still its first page.
    let mut h = FakeHost::new();
    h.page = Page { url: "https://shop.example/cart.html".into(), referrer: AD_URL.into(), title: "Cart".into() };
    let mut t = Tracker::new();
    t.begin(&mut h, Env::default());
    let config = crate::core::val::json(r#"{"site":"demo-shop","collector":"/collect"}"#);
    assert!(t.configure(&config, &mut h).is_empty());
    run(&mut t, &mut h, &["[\"consent\",\"default\",", GRANTED, "]"].concat());
    run(&mut t, &mut h, r#"["event","view_cart"]"#);
    t.page_view(&mut h, PageOverrides::default(), false);
    let events = sent(&mut t, &mut h);
    let view = events.iter().find(|e| e.kind == Kind::PageView).unwrap();
    assert_eq!(view.attribution.as_ref().and_then(|a| a.landing_url.as_deref()), Some(AD_URL));
    assert_eq!(view.visit_id, events[0].visit_id, "one visit");
}

#[test]
fn the_referrer_gives_no_campaign_to_a_page_with_a_source_or_a_cookieless_ping() {
    // The page's own campaign wins over its referrer's.
    let mut h = FakeHost::new();
    let own = "https://shop.example/?utm_source=newsletter";
    let mut t = load(&mut h, own, AD_URL, Some(GRANTED), "{}");
    let a = sent(&mut t, &mut h)[0].attribution.clone().expect("its own touch");
    assert_eq!((a.landing_url.as_deref(), a.utm["utm_source"].as_str(), click_id(Some(&a))), (Some(own), "newsletter", None));

    // Another site's referrer is a referral, as always: its query is not read.
    let mut h = FakeHost::new();
    let mut t = load(&mut h, "https://shop.example/", "https://blog.example/?utm_source=x", Some(GRANTED), "{}");
    let a = sent(&mut t, &mut h)[0].attribution.clone().expect("a referral");
    assert_eq!(
        (a.referrer_host.as_deref(), a.utm.len(), a.landing_url.as_deref()),
        (Some("blog.example"), 0, Some("https://shop.example/"))
    );

    // Advanced mode with analytics storage denied: a cookieless ping keeps
    // no visit, so every page would look new; nothing from the referrer.
    let mut h = FakeHost::new();
    let mut t = load(&mut h, "https://shop.example/cart.html", AD_URL, Some(DENIED), r#"{"mode":"advanced"}"#);
    let pings = sent(&mut t, &mut h);
    assert_eq!(pings.len(), 1);
    assert!(pings[0].attribution.is_none());
}

#[test]
fn a_click_id_read_from_the_referrer_follows_the_ad_storage_rule() {
    // Analytics granted, ads denied: the campaign is credited, and no click
    // ID leaves the browser, in any field.
    let mut h = FakeHost::new();
    let analytics_only = r#"{"analytics_storage":"granted","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#;
    let mut t = load(&mut h, "https://shop.example/cart.html", AD_URL, Some(analytics_only), "{}");
    let view = sent(&mut t, &mut h).remove(0);
    let a = view.attribution.expect("the landing's touch, without its click ID");
    assert!(a.click_ids.is_empty());
    assert_eq!(a.utm["utm_source"], "bing");
    let stripped = "https://shop.example/?utm_source=bing&utm_medium=cpc";
    assert_eq!((a.landing_url.as_deref(), view.referrer.as_deref()), (Some(stripped), Some(stripped)));
    t.persist(&mut h);
    assert!(!h.storage.contains_key(CAMPAIGN_KEY), "ad storage denied: the touch lives as long as the page");
}

#[test]
fn url_passthrough_only_while_ad_storage_is_not_granted_and_never_after_an_opt_out() {
    let mut h = FakeHost::new();
    let link = "https://shop.example/cart.html";
    let t = load(&mut h, AD_URL, BING, None, "{}");
    assert_eq!(follow(&t, link, AD_URL), None, "off by default");
    let on = r#"{"url_passthrough":true,"redact_params":["utm_medium"]}"#;
    let mut t = load(&mut h, AD_URL, BING, None, on);
    assert_eq!(
        follow(&t, link, AD_URL).as_deref(),
        Some("https://shop.example/cart.html?utm_source=bing&msclkid=abc123"),
        "unknown, redacted"
    );
    assert_eq!(follow(&t, "https://other.example/", AD_URL), None);
    let form = Followed::Form { action: "https://shop.example/search", method: "get" };
    let fields = t.passthrough(form, AD_URL, |n| n == "utm_source");
    assert_eq!(fields, Some(Decoration::Fields(vec![("msclkid".to_string(), "abc123".to_string())])));
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    assert!(t.passthrough_active(), "analytics alone does not end it");
    run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"granted"}]"#);
    assert!(!t.passthrough_active());
    let mut t = load(&mut h, AD_URL, BING, Some(DENIED), on);
    run(&mut t, &mut h, r#"["opt_out"]"#);
    assert!(!t.passthrough_active());
    let t = load(&mut h, "https://shop.example/?q=1", "", Some(DENIED), on);
    assert!(!t.passthrough_active(), "a landing without campaign parameters has nothing to carry");
}

#[test]
fn advanced_mode_pings_then_a_grant_still_credits_the_landing_touch() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, AD_URL, BING, Some(DENIED), r#"{"mode":"advanced"}"#);
    let pings = sent(&mut t, &mut h);
    assert_eq!(pings.len(), 1);
    assert!(pings[0].client_id.is_none() && pings[0].visit_id.is_none());
    assert_eq!(click_id(pings[0].attribution.as_ref()), None, "ad storage denied: no click IDs");
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, PURCHASE);
    let events = sent(&mut t, &mut h);
    assert!(events.iter().all(|e| e.kind != Kind::PageView), "the page was recorded (as a ping) already");
    assert_eq!(click_id(conversions(&events)[0].attribution.as_ref()), Some("abc123"));
}

#[test]
fn basic_mode_revocation_drops_what_was_not_sent_and_counts_it() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    assert_eq!(sent(&mut t, &mut h).len(), 1);
    // Recorded in the same task as the revocation (a click on "Reject all").
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "button".into(), ..Default::default() }, &[]);
    run(&mut t, &mut h, r#"["event","same-task"]"#);
    run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
    h.now += 60_000;
    t.tick(&mut h);
    assert!(sent(&mut t, &mut h).is_empty(), "nothing recorded before the revocation leaves");
    assert!(t.beacon_bodies(h.now).is_empty(), "not even when the page hides");
    assert_eq!(t.outbox.dropped().consent, 2);
    // A later grant sends only what comes after it, and says what was dropped.
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    run(&mut t, &mut h, r#"["event","after"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let batches = send_all(&mut t, &mut h);
    let events: Vec<_> = batches.iter().flat_map(|b| &b.events).map(|e| e.action.as_deref()).collect();
    assert_eq!(events, [Some("after")]);
    assert_eq!(batches.first().map(|b| b.dropped.consent), Some(2));
}

#[test]
fn a_batch_in_flight_at_the_revocation_is_never_retried() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","a"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let s = t.poll(h.now).expect("a batch in flight");
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
    t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
    h.now += 600_000;
    assert!(t.poll(h.now).is_none());
    assert_eq!(t.outbox.dropped().consent, 0, "it left while allowed: not counted as dropped");
    assert_eq!(t.pending(), 0);
}

#[test]
fn advanced_mode_revocation_strips_what_is_queued_like_what_comes_after() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, AD_URL, BING, None, r#"{"mode":"advanced"}"#);
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, PURCHASE);
    run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
    run(&mut t, &mut h, r#"["event","after"]"#);
    let events = sent(&mut t, &mut h);
    assert_eq!(events.len(), 4, "view, purchase, conversion, after: {events:?}");
    for e in &events {
        assert!(e.client_id.is_none() && e.visit_id.is_none(), "{e:?}");
        assert_eq!(click_id(e.attribution.as_ref()), None);
        assert_eq!(e.consent.unwrap().analytics_storage, goaltag_wire::Signal::Denied);
    }
    let conv = conversions(&events)[0];
    assert_eq!(conv.attribution.as_ref().unwrap().utm.get("utm_source").map(String::as_str), Some("bing"), "utm is no ad data");
    assert_eq!(conv.value, Some(12.5));
}

/// A link followed from `page`: the URL it is decorated to, if it is.
fn follow(t: &Tracker, href: &str, page: &str) -> Option<String> {
    match t.passthrough(Followed::Link { href }, page, |_| false)? {
        Decoration::Set { prop: "href", url } => Some(url),
        other => panic!("a link is decorated through its href, not {other:?}"),
    }
}

#[test]
fn a_landing_page_left_before_consent_was_known_is_read_from_the_referrer_at_the_answer() {
    // A site whose banner has no default (TCF): the visitor left the
    // landing page (AD_URL) before answering, and answers on the cart. At
    // the answer the tag reads storage, finds no live visit, and so knows
    // the cart began the visit: the referrer was where it landed.
    let mut h = FakeHost::new();
    let cart = "https://shop.example/cart.html";
    let mut t = load(&mut h, cart, AD_URL, None, "{}");
    run(&mut t, &mut h, PURCHASE);
    h.now += 2_000;
    run(&mut t, &mut h, ACCEPT_ALL);
    let events = sent(&mut t, &mut h);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [Kind::PageView, Kind::Event, Kind::Conversion]);
    let a = events[0].attribution.as_ref().expect("the cart's view carries the landing's touch");
    assert_eq!((a.landing_url.as_deref(), click_id(Some(a))), (Some(AD_URL), Some("abc123")));
    assert_eq!(click_id(events[2].attribution.as_ref()), Some("abc123"), "the purchase held before the answer is credited to the ad");
    t.persist(&mut h);
    assert!(h.storage.contains_key(CAMPAIGN_KEY), "ad storage granted: the touch is kept");
    let visit = events[0].visit_id.clone();

    // The banner answers again on the next page of the live visit (from its
    // own cookie): a later page is no new touch, whatever its referrer.
    h.now += 10_000;
    let mut t = load(&mut h, "https://shop.example/specials.html", AD_URL, None, "{}");
    run(&mut t, &mut h, ACCEPT_ALL);
    let events = sent(&mut t, &mut h);
    assert_eq!(events[0].kind, Kind::PageView);
    assert!(events[0].attribution.is_none(), "a page of the visit");
    assert_eq!(events[0].visit_id, visit, "one visit");

    // Granted analytics alone: the campaign is credited, its click ID stays
    // in the browser.
    let mut h = FakeHost::new();
    let mut t = load(&mut h, cart, AD_URL, None, "{}");
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    let a = sent(&mut t, &mut h)[0].attribution.clone().expect("the landing's touch, without its click ID");
    assert!(a.click_ids.is_empty());
    assert_eq!(a.utm["utm_source"], "bing");

    // Denied: nothing at all.
    let mut h = FakeHost::new();
    let mut t = load(&mut h, cart, AD_URL, None, "{}");
    run(&mut t, &mut h, PURCHASE);
    run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
    h.now += 60_000;
    assert!(sent(&mut t, &mut h).is_empty());
    assert!(h.storage.is_empty());
}

#[test]
fn a_conversion_held_for_consent_is_credited_to_the_stored_campaign() {
    // A campaign touch stays until another campaign replaces it; a bare
    // referral only fills an empty one. The stored touch is read only at
    // the banner's answer: a conversion held before it, on a direct visit
    // or the return from a payment provider, is credited as under consent.
    for (referrer, own) in [("", None), ("https://pay.example/ok", Some("pay.example"))] {
        // The ad's landing page, recorded under consent: the touch is stored.
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, Some(GRANTED), "{}");
        assert_eq!(sent(&mut t, &mut h).len(), 1);
        t.persist(&mut h);
        // The next day the purchase is queued before the answer comes.
        h.now += 86_400_000;
        let mut t = load(&mut h, "https://shop.example/done.html", referrer, None, "{}");
        run(&mut t, &mut h, PURCHASE);
        run(&mut t, &mut h, ACCEPT_ALL);
        let events = sent(&mut t, &mut h);
        assert_eq!(events[0].attribution.as_ref().and_then(|a| a.referrer_host.as_deref()), own, "{referrer}: the visit's own source");
        let conv = conversions(&events);
        assert_eq!(conv.len(), 1);
        assert_eq!(click_id(conv[0].attribution.as_ref()), Some("abc123"), "{referrer}: the ad, as if the answer had come first");
        t.persist(&mut h);
        assert!(h.storage[CAMPAIGN_KEY].contains("msclkid=abc123"), "{referrer}: the ad stays the stored touch");
    }
}
