use super::*;
use crate::core::test_fixtures::tracker::*;
use crate::core::val::json;
use goaltag_wire::limits::{MAX_TEXT, MAX_URL};
use goaltag_wire::{is_uuid, Batch};

#[test]
fn with_consent_unknown_events_are_held_then_sent_once_on_grant() {
    let (mut t, mut h) = unset();
    run(&mut t, &mut h, r#"["event","early"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    assert!(t.poll(h.now).is_none(), "nothing is sent while consent is unknown");
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
    assert_eq!(events.len(), 1);
    let c = events[0].consent.unwrap();
    assert_eq!(c.analytics_storage, goaltag_wire::Signal::Granted);
    assert_eq!(c.ad_storage, goaltag_wire::Signal::Denied, "types never named count as denied");
    assert!(send_all(&mut t, &mut h).is_empty());
}

/// The age the outbox drops events at is counted from the event's time
/// stamp, as the collector counts it: an event held for consent for longer
/// than `max_age_hours` is not sent when consent comes (the collector, set to
/// the same age, would refuse it and the whole batch with it).
#[test]
fn an_event_held_past_its_age_budget_expires_on_release() {
    let (mut t, mut h) = unset();
    run(&mut t, &mut h, r#"["config",{"delivery":{"max_age_hours":1}}]"#);
    run(&mut t, &mut h, r#"["event","early"]"#);
    h.now += 3_600_001;
    run(&mut t, &mut h, r#"["event","late"]"#);
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let batches = send_all(&mut t, &mut h);
    let actions: Vec<_> = batches.iter().flat_map(|b| &b.events).filter_map(|e| e.action.as_deref()).collect();
    assert_eq!(actions, ["late"]);
    assert_eq!(batches[0].dropped.expired, 1);
}

#[test]
fn basic_mode_denial_discards_held_events_and_a_later_grant_resumes() {
    let (mut t, mut h) = unset();
    run(&mut t, &mut h, r#"["event","held"]"#);
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
    run(&mut t, &mut h, r#"["event","while-denied"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    assert!(send_all(&mut t, &mut h).is_empty());
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    run(&mut t, &mut h, r#"["event","after-grant"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let actions: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).filter_map(|e| e.action).collect();
    assert_eq!(actions, ["after-grant"]);
}

#[test]
fn one_warning_when_no_consent_is_ever_set() {
    let (mut t, mut h) = unset();
    let start = h.now;
    h.now = start + 9_999;
    assert!(t.tick(&mut h).is_empty());
    assert_eq!(t.wake_at(), Some(start + 10_000));
    h.now = start + 10_000;
    let w = t.tick(&mut h);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("data-consent"));
    h.now = start + 60_000;
    assert!(t.tick(&mut h).is_empty());
}

#[test]
fn huge_page_urls_and_titles_are_cut_to_what_the_collector_accepts() {
    let (mut t, mut h) = ready();
    h.page.url = format!("https://shop.example/?q={}", "é".repeat(5000));
    h.page.title = "t".repeat(3000);
    t.page_view(&mut h, PageOverrides::default(), false);
    run(&mut t, &mut h, r#"["flush"]"#);
    let e = &send_all(&mut t, &mut h)[0].events[0];
    assert_eq!(e.url.as_ref().unwrap().chars().count(), MAX_URL);
    assert_eq!(e.title.as_ref().unwrap().chars().count(), MAX_TEXT);
}

/// A page's own facts over the wire's limits (a long class list and `id`, a
/// form's long `action`) are cut too: one over-limit field would have made
/// the collector refuse the whole batch, and the tag drop it (`Event::fit`).
#[test]
fn long_element_and_form_facts_are_cut_to_what_the_collector_accepts() {
    let (mut t, mut h) = ready();
    let el = Element { tag: "a".into(), id: Some("i".repeat(3000)), classes: Some("c ".repeat(2000)), ..Default::default() };
    let a = at(&h);
    t.click(&mut h, a, el, &[]);
    let a = at(&h);
    let action = format!("https://shop.example/s?{}", "a".repeat(5000));
    t.submit(&mut h, a, Form { name: Some("n".repeat(2049)), action: Some(action), fields: 1, ..Default::default() }, &[]);
    run(&mut t, &mut h, r#"["flush"]"#);
    let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
    let el = events[0].element.as_ref().unwrap();
    assert_eq!((el.id.as_ref().unwrap().len(), el.classes.as_ref().unwrap().len()), (MAX_TEXT, MAX_TEXT));
    let f = events[1].form.as_ref().unwrap();
    assert_eq!((f.name.as_ref().unwrap().len(), f.action.as_ref().unwrap().len()), (MAX_TEXT, MAX_URL));
}

#[test]
fn gpc_is_stamped_on_events() {
    let (mut t, mut h) = ready();
    t.begin(&mut h, Env { gpc: true, ..Env::default() });
    t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
    run(&mut t, &mut h, r#"["event","x"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let e = &send_all(&mut t, &mut h)[0].events[0];
    assert_eq!(e.gpc, Some(true));
    assert_eq!(e.consent.unwrap().ad_storage, goaltag_wire::Signal::Denied, "GPC denies ad storage");
}

#[test]
fn page_view_goes_on_the_wire_with_the_page_fields() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    run(&mut t, &mut h, r#"["flush"]"#);
    let batches = send_all(&mut t, &mut h);
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!((b.v, b.site.as_str(), b.sent_at), (1, "demo-shop", h.now));
    let e = &b.events[0];
    assert_eq!(e.kind, Kind::PageView);
    assert!(is_uuid(&e.id) && e.id.as_bytes()[14] == b'4', "a v4 UUID: {}", e.id);
    let cid = e.client_id.as_deref().expect("a client ID with analytics storage granted");
    assert!(is_uuid(cid) && cid != e.id);
    assert!(e.visit_id.is_some());
    assert_eq!(e.url.as_deref(), Some("https://shop.example/"));
    assert_eq!(e.referrer.as_deref(), Some("https://news.example/a"));
    assert_eq!(e.title.as_deref(), Some("Home"));
    assert_eq!(e.ts, h.now);
}

#[test]
fn custom_event_carries_its_parameters() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","purchase",{"category":"shop","value":49.95,"currency":"USD","transaction_id":"T-9"}]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let e = &send_all(&mut t, &mut h)[0].events[0];
    assert_eq!(e.kind, Kind::Event);
    assert_eq!(e.action.as_deref(), Some("purchase"));
    assert_eq!(e.value, Some(49.95));
    assert_eq!(e.currency.as_deref(), Some("USD"));
    assert_eq!(e.transaction_id.as_deref(), Some("T-9"));
    assert_eq!(e.url.as_deref(), Some("https://shop.example/"));
}

#[test]
fn nothing_is_sent_until_site_and_collector_are_known_and_nothing_is_lost() {
    let mut t = Tracker::new();
    let mut h = FakeHost::new();
    t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
    run(&mut t, &mut h, r#"["event","early"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    assert!(t.poll(h.now).is_none());
    assert!(t.poll(h.now + 60_000).is_none());
    run(&mut t, &mut h, r#"["config",{"site":"s","collector":"https://c.example/collect"}]"#);
    let b = send_all(&mut t, &mut h);
    assert_eq!(b[0].events[0].action.as_deref(), Some("early"));
    assert_eq!(b[0].site, "s");
}

#[test]
fn spa_navigation_to_the_same_url_counts_once_and_has_a_referrer() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    t.page_view(&mut h, PageOverrides::default(), true);
    h.page.url = "https://shop.example/specials".into();
    t.page_view(&mut h, PageOverrides::default(), true);
    t.page_view(&mut h, PageOverrides::default(), true);
    run(&mut t, &mut h, r#"["flush"]"#);
    let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].url.as_deref(), Some("https://shop.example/specials"));
    assert_eq!(events[1].referrer.as_deref(), Some("https://shop.example/"));
    // Distinct IDs.
    assert_ne!(events[0].id, events[1].id);
}

#[test]
fn fragment_changes_are_one_page_unless_hash_routing() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    h.page.url = "https://shop.example/#reviews".into();
    t.page_view(&mut h, PageOverrides::default(), true);
    assert_eq!(t.pending(), 1);
    t.configure(&json(r#"{"hash_routing":true}"#), &mut h);
    h.page.url = "https://shop.example/#/cart".into();
    t.page_view(&mut h, PageOverrides::default(), true);
    assert_eq!(t.pending(), 2);
}

#[test]
fn clicks_and_submits_carry_their_descriptors() {
    let (mut t, mut h) = ready();
    let el = Element { tag: "a".into(), href: Some("https://partner.example/".into()), text: Some("Partner".into()), ..Default::default() };
    let a = at(&h);
    t.click(&mut h, a, el, &[]);
    let a = at(&h);
    t.submit(&mut h, a, Form { id: Some("newsletter".into()), fields: 2, ..Default::default() }, &[]);
    run(&mut t, &mut h, r#"["flush"]"#);
    let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
    assert_eq!(events[0].kind, Kind::Click);
    assert_eq!(events[0].element.as_ref().unwrap().outbound, Some(true));
    assert_eq!(events[0].url.as_deref(), Some("https://shop.example/"));
    assert_eq!(events[1].kind, Kind::FormSubmit);
    assert_eq!(events[1].form.as_ref().unwrap().fields, 2);
}

#[test]
fn a_click_recorded_later_keeps_the_time_and_url_it_happened_at() {
    // The shell records a click a task after its handler; an SPA may have
    // navigated meanwhile (a router link), and the clock has moved on.
    let (mut t, mut h) = ready();
    let a = At { ms: h.now - 40, url: "https://shop.example/list".into() };
    h.page.url = "https://shop.example/item/7".into();
    let el = Element { tag: "a".into(), href: Some("/item/7".into()), ..Default::default() };
    t.click(&mut h, a, el, &[]);
    run(&mut t, &mut h, r#"["flush"]"#);
    let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
    assert_eq!(events[0].kind, Kind::Click);
    assert_eq!(events[0].ts, h.now - 40);
    assert_eq!(events[0].url.as_deref(), Some("https://shop.example/list"));
}

#[test]
fn an_spa_navigation_recorded_later_keeps_its_url_and_time_and_takes_the_new_title() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    // The router pushed /item/7 and set the title in the same task; by the
    // time the tag records it the app has moved on to /item/7/reviews.
    let a = At { ms: h.now - 5, url: "https://shop.example/item/7".into() };
    h.page = Page { url: "https://shop.example/item/7/reviews".into(), referrer: String::new(), title: "Item 7".into() };
    t.navigated(&mut h, a, None);
    // The same URL again (a replaceState) is no second page view.
    let a = At { ms: h.now, url: "https://shop.example/item/7".into() };
    t.navigated(&mut h, a, Some("Item 7 (again)".into()));
    run(&mut t, &mut h, r#"["flush"]"#);
    let views: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).filter(|e| e.kind == Kind::PageView).collect();
    assert_eq!(views.len(), 2);
    assert_eq!(views[1].url.as_deref(), Some("https://shop.example/item/7"));
    assert_eq!(views[1].ts, h.now - 5);
    assert_eq!(views[1].title.as_deref(), Some("Item 7"));
    assert_eq!(views[1].referrer.as_deref(), Some("https://shop.example/"));
}

#[test]
fn a_hiding_page_beacons_everything_unacknowledged_including_what_is_in_flight() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","a"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let in_flight = t.poll(h.now).unwrap();
    run(&mut t, &mut h, r#"["event","b"]"#);
    let beacons = t.beacon_bodies(h.now);
    let ids: Vec<String> = beacons.iter().flat_map(|(_, ids)| ids.clone()).collect();
    assert!(ids.contains(&in_flight.ids[0]));
    assert_eq!(ids.len(), 2);
    let b: Batch = serde_json::from_str(&beacons[0].0).unwrap();
    assert_eq!(b.site, "demo-shop");
    // A second hide in the same page sends nothing new.
    assert!(t.beacon_bodies(h.now).is_empty());
}

#[test]
fn a_page_back_in_view_resends_what_its_hide_beaconed() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","a"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let lost = t.poll(h.now).unwrap();
    t.on_outcome(lost.batch, Outcome::NetworkError, h.now, 0);
    t.visibility(&mut h, false);
    assert_eq!(t.beacon_bodies(h.now).len(), 1);
    h.now += 60_000;
    assert!(send_all(&mut t, &mut h).is_empty(), "held while hidden");
    t.visibility(&mut h, true);
    let again = send_all(&mut t, &mut h);
    assert_eq!(again.iter().flat_map(|b| b.events.iter().map(|e| e.id.clone())).collect::<Vec<_>>(), lost.ids);
    assert_eq!(again[0].attempt, 2, "the batch's second fetch: the beacon between was a body of its own");
    assert_eq!(t.pending(), 0);
}

#[test]
fn a_failed_send_is_retried_with_the_same_ids() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","x"]"#);
    run(&mut t, &mut h, r#"["flush"]"#);
    let first = t.poll(h.now).unwrap();
    t.on_outcome(first.batch, Outcome::NetworkError, h.now, 0);
    assert!(t.poll(h.now).is_none(), "no immediate retry storm");
    let mut second = None;
    for _ in 0..10 {
        h.now = t.wake_at().unwrap();
        t.tick(&mut h);
        second = t.poll(h.now);
        if second.is_some() {
            break;
        }
    }
    let second = second.expect("a retry within a few wake-ups");
    assert_eq!(first.ids, second.ids);
    assert_eq!(serde_json::from_str::<Batch>(&second.body).unwrap().attempt, 2);
}

#[test]
fn a_landing_touch_is_credited_to_a_later_url_conversion() {
    let (mut t, mut h) = with_goals();
    h.page.url = "https://shop.example/?utm_source=news&utm_campaign=spring&gclid=abc".into();
    t.page_view(&mut h, PageOverrides::default(), false);
    h.page.url = "https://www.shop.example/Specials.html".into();
    t.page_view(&mut h, PageOverrides::default(), true);
    t.page_view(&mut h, PageOverrides { url: Some("https://shop.example/specials?x".into()), title: None }, true);
    let events = sent(&mut t, &mut h);
    let landing = events[0].attribution.as_ref().expect("the landing page view carries its touch");
    assert_eq!(landing.utm.get("utm_source").map(String::as_str), Some("news"));
    let conv = conversions(&events);
    assert_eq!(conv.len(), 1, "once per visit");
    let c = conv[0];
    assert_eq!(c.goal.as_deref(), Some("specials"));
    assert_eq!(c.primary, Some(false));
    assert_eq!(c.trigger.as_deref(), Some(events[1].id.as_str()));
    assert_eq!((c.value, c.currency.as_deref()), (None, None), "revenue none");
    let a = c.attribution.as_ref().unwrap();
    assert_eq!(a.click_ids.get("gclid").map(String::as_str), Some("abc"));
    assert_eq!(a.utm.get("utm_campaign").map(String::as_str), Some("spring"));
    assert_eq!(c.client_id, events[0].client_id);
    assert_eq!(c.visit_id, events[1].visit_id);
    assert!(c.consent.is_some());
}

#[test]
fn a_reloaded_confirmation_converts_once_with_a_deterministic_id() {
    let purchase = r#"["event","purchase",{"value":49.5,"currency":"USD","transaction_id":"T-1"}]"#;
    let (mut t, mut h) = with_goals();
    run(&mut t, &mut h, purchase);
    let first = sent(&mut t, &mut h);
    let c = conversions(&first)[0].clone();
    assert_eq!((c.value, c.currency.as_deref()), (Some(49.5), Some("USD")), "the event's value and currency win");
    assert_eq!(c.transaction_id.as_deref(), Some("T-1"));
    assert_eq!(c.id, crate::core::name_id::transaction_event_id("demo-shop", "purchase", "T-1"));
    t.persist(&mut h);

    // The reload: a new tag on the same storage.
    let mut t2 = Tracker::new();
    t2.begin(&mut h, Env::default());
    t2.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
    t2.configure(&json(GOALS), &mut h);
    t2.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
    run(&mut t2, &mut h, purchase);
    let again = sent(&mut t2, &mut h);
    assert_eq!(again.len(), 1, "the event again, no second conversion");
    assert_eq!(again[0].client_id, first[0].client_id, "same browser, same client ID");

    // Storage lost: the conversion comes again, with the same ID, for the collector to absorb.
    let (mut t3, mut h3) = with_goals();
    run(&mut t3, &mut h3, purchase);
    assert_eq!(conversions(&sent(&mut t3, &mut h3))[0].id, c.id);
}

#[test]
fn clicks_convert_by_selector_index() {
    let (mut t, mut h) = with_goals();
    assert_eq!(t.click_selectors(), [".cta"]);
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "span".into(), ..Default::default() }, &[]);
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
    let events = sent(&mut t, &mut h);
    assert_eq!(events.len(), 3);
    assert_eq!(conversions(&events)[0].trigger.as_deref(), Some(events[1].id.as_str()));
}

#[test]
fn duration_goals_fire_after_visible_time_only() {
    let (mut t, mut h) = with_goals();
    t.page_view(&mut h, PageOverrides::default(), false);
    let start = h.now;
    t.visibility(&mut h, true);
    h.now = start + 3_000;
    t.visibility(&mut h, false);
    h.now = start + 60_000;
    t.tick(&mut h);
    assert!(conversions(&sent(&mut t, &mut h)).is_empty(), "3 s visible is not 5");
    t.visibility(&mut h, true);
    assert!(t.wake_at().unwrap() <= h.now + 2_000, "wakes by the time the threshold is reached");
    h.now += 2_000;
    t.tick(&mut h);
    h.now += 10_000;
    t.tick(&mut h);
    let conv: Vec<_> = sent(&mut t, &mut h).into_iter().filter(|e| e.kind == Kind::Conversion).collect();
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0].goal.as_deref(), Some("read"));
}

#[test]
fn urls_are_redacted_before_anything_sees_them() {
    let (mut t, mut h) = ready();
    t.configure(&json(r#"{"redact_params":["token"]}"#), &mut h);
    h.page.url = "https://shop.example/u/jane@mail.example/?token=s3cret&ref=a%40b.example&q=1".into();
    h.page.referrer = "https://mail.example/?to=jane@mail.example".into();
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!(e.url.as_deref(), Some("https://shop.example/u/[email]/?ref=[email]&q=1"));
    assert_eq!(e.referrer.as_deref(), Some("https://mail.example/?to=[email]"));
}

#[test]
fn nothing_is_stored_until_consent_allows_and_revocation_removes_everything() {
    let (mut t, mut h) = unset();
    t.configure(&json(GOALS), &mut h);
    h.page.url = "https://shop.example/?gclid=abc".into();
    t.page_view(&mut h, PageOverrides::default(), false);
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
    h.now += 5_000;
    t.tick(&mut h);
    t.persist(&mut h);
    assert!(h.storage.is_empty(), "consent unknown: nothing stored, {:?}", h.storage);

    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted"}]"#);
    assert!(h.storage.contains_key(CLIENT_KEY), "the client ID is stored when granted");
    assert!(!h.storage.contains_key(VISIT_KEY), "other writes wait for the coalesced save");
    h.now += SAVE_DELAY_MS;
    t.tick(&mut h);
    let keys: Vec<_> = h.storage.keys().map(|k| if k.starts_with(OUTBOX_PREFIX) { OUTBOX_PREFIX } else { k }).collect();
    assert_eq!(keys, [CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, OUTBOX_PREFIX, VISIT_KEY], "the unsent events too");
    let held = sent(&mut t, &mut h);
    assert_eq!(held.len(), 3, "held page view, click and conversion arrive once");
    assert!(held.iter().all(|e| e.client_id.is_some()));

    run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"denied"}]"#);
    assert!(!h.storage.contains_key(CAMPAIGN_KEY), "ad storage revoked: the campaign goes");
    assert!(h.storage.contains_key(CLIENT_KEY));
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
    assert!(h.storage.is_empty(), "revoked: {:?}", h.storage);
    run(&mut t, &mut h, r#"["event","after"]"#);
    h.now += 5_000;
    t.tick(&mut h);
    t.persist(&mut h);
    assert!(h.storage.is_empty());
    assert!(sent(&mut t, &mut h).is_empty(), "basic mode: nothing sent while denied");
}

#[test]
fn opt_out_keeps_only_the_marker_sends_nothing_more_and_holds_across_page_loads() {
    let (mut t, mut h) = with_goals();
    h.page.url = "https://shop.example/?gclid=abc".into();
    t.page_view(&mut h, PageOverrides::default(), false);
    h.now += SAVE_DELAY_MS;
    t.tick(&mut h);
    let stored: Vec<&str> = keys(&h).into_iter().map(|k| if k.starts_with(OUTBOX_PREFIX) { OUTBOX_PREFIX } else { k }).collect();
    assert_eq!(stored, [CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, OUTBOX_PREFIX, VISIT_KEY], "the unsent page view too");
    run(&mut t, &mut h, r#"["event","queued before the opt-out"]"#);

    assert!(run(&mut t, &mut h, r#"["opt_out"]"#).is_empty());
    assert_eq!(keys(&h), [OPT_OUT_KEY], "only the marker is left");
    run(&mut t, &mut h, r#"["event","after"]"#);
    t.page_view(&mut h, PageOverrides::default(), true);
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    h.now += 60_000;
    t.tick(&mut h);
    t.persist(&mut h);
    assert!(sent(&mut t, &mut h).is_empty(), "nothing leaves, not even what was queued before");
    assert!(t.beacon_bodies(h.now).is_empty(), "nor as a beacon when the page hides");
    assert_eq!(keys(&h), [OPT_OUT_KEY]);

    // The next page load finds the marker: a granted default changes nothing.
    let mut t2 = Tracker::new();
    t2.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
    t2.begin(&mut h, Env::default());
    t2.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
    t2.page_view(&mut h, PageOverrides::default(), false);
    h.now += 60_000;
    t2.tick(&mut h);
    assert!(sent(&mut t2, &mut h).is_empty());
    assert_eq!(keys(&h), [OPT_OUT_KEY]);

    // Opting back in resumes under the consent given; what happened while
    // opted out was dropped, not held: the page is recorded at the moment
    // of the opt-in, like any page on which consent is granted.
    let opted_in = h.now;
    run(&mut t2, &mut h, r#"["opt_in"]"#);
    assert!(!h.storage.contains_key(OPT_OUT_KEY));
    assert!(h.storage.contains_key(CLIENT_KEY), "granted: the client ID comes back (a new one)");
    h.now += 5;
    run(&mut t2, &mut h, r#"["event","back"]"#);
    let events = sent(&mut t2, &mut h);
    let got: Vec<_> = events.iter().map(|e| (e.kind, e.action.as_deref(), e.ts)).collect();
    assert_eq!(got, [(Kind::PageView, None, opted_in), (Kind::Event, Some("back"), opted_in + 5)]);
    assert!(events[0].client_id.is_some());
}

#[test]
fn opt_out_removes_what_an_earlier_visit_stored_even_while_denied() {
    let mut h = FakeHost::new();
    h.storage.insert(CLIENT_KEY.into(), "6f1c2b9e-1d2a-4c3b-8a4d-5e6f7a8b9c0d".into());
    h.storage.insert(CAMPAIGN_KEY.into(), "x".into());
    let mut t = Tracker::new();
    t.begin(&mut h, Env::default());
    run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"denied"}]"#);
    assert_eq!(keys(&h), [CAMPAIGN_KEY, CLIENT_KEY], "a denial keeps them for a later grant");
    run(&mut t, &mut h, r#"["opt_out"]"#);
    assert_eq!(keys(&h), [OPT_OUT_KEY]);
    run(&mut t, &mut h, r#"["opt_out"]"#);
    assert_eq!(keys(&h), [OPT_OUT_KEY], "twice is once");

    // A key that appears later (another tab) is gone at the next start.
    h.storage.insert(VISIT_KEY.into(), "v".into());
    let mut t = Tracker::new();
    t.begin(&mut h, Env::default());
    assert_eq!(keys(&h), [OPT_OUT_KEY]);
    // Opting in without being opted out touches nothing.
    h.storage.clear();
    let (mut t, mut h) = unset();
    run(&mut t, &mut h, r#"["opt_in"]"#);
    assert!(h.storage.is_empty());
    run(&mut t, &mut h, r#"["event","held"]"#);
    assert!(sent(&mut t, &mut h).is_empty(), "consent still unknown: held");
}

#[test]
fn advanced_mode_sends_cookieless_pings_while_denied() {
    let (mut t, mut h) = unset();
    t.configure(&json(r#"{"mode":"advanced"}"#), &mut h);
    h.page.url = "https://shop.example/?gclid=abc&utm_source=x".into();
    run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"denied","ad_storage":"denied"}]"#);
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!((e.client_id.as_ref(), e.visit_id.as_ref()), (None, None));
    let a = e.attribution.as_ref().unwrap();
    assert!(a.click_ids.is_empty(), "click IDs dropped with ad_storage denied");
    assert_eq!(a.utm.len(), 1);
    t.persist(&mut h);
    assert!(h.storage.is_empty());
}

#[test]
fn a_click_writes_nothing_to_storage_on_its_own_path() {
    let (mut t, mut h) = with_goals();
    t.page_view(&mut h, PageOverrides::default(), false);
    h.now = t.wake_at().unwrap();
    t.tick(&mut h);
    let before = h.storage.clone();
    h.now += 60_000;
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
    assert_eq!(h.storage, before, "the click itself writes nothing");
    assert_eq!(t.stored.save_at, Some(h.now + SAVE_DELAY_MS));
    h.now += SAVE_DELAY_MS;
    t.tick(&mut h);
    assert_ne!(h.storage, before, "the coalesced save a moment later");
}

#[test]
fn unacknowledged_events_survive_the_page_with_their_ids() {
    let (mut t, mut h) = ready();
    for a in ["a", "b", "c"] {
        run(&mut t, &mut h, &format!(r#"["event","{a}"]"#));
    }
    run(&mut t, &mut h, r#"["flush"]"#);
    let s = t.poll(h.now).unwrap();
    t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
    let sent_ids = {
        let mut v = s.ids.clone();
        v.sort();
        v
    };
    t.release(&mut h);
    assert_eq!(outbox_keys(&h).len(), 1);

    h.now += 60_000;
    let released = outbox_keys(&h);
    let mut t2 = next_page(&mut h);
    assert_eq!(outbox_keys(&h), [t2.outbox_key().to_string()], "adopted: the released key is gone, its events under the new page's");
    assert_ne!(released, outbox_keys(&h));
    let resent = sent(&mut t2, &mut h);
    assert_eq!(ids(&resent), sent_ids, "the same IDs, once");
    h.now += SAVE_DELAY_MS;
    t2.tick(&mut h);
    assert!(outbox_keys(&h).is_empty(), "acknowledged: nothing left to persist");
}

#[test]
fn beaconed_events_are_resent_once_by_the_next_page() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["event","purchase",{"transaction_id":"T-5"}]"#);
    let beacons = t.beacon_bodies(h.now);
    assert_eq!(beacons.len(), 1);
    t.release(&mut h);
    t.tick(&mut h);
    assert!(h.storage.values().any(|v| v.starts_with("0\n")), "a released queue stays released");
    let mut t2 = next_page(&mut h);
    let again = sent(&mut t2, &mut h);
    assert_eq!(ids(&again), {
        let mut v = beacons[0].1.clone();
        v.sort();
        v
    });
    let mut t3 = next_page(&mut h);
    assert!(sent(&mut t3, &mut h).is_empty(), "once, not on every page");
}

#[test]
fn a_live_tab_keeps_its_queue_and_a_gone_one_is_adopted() {
    let (mut a, mut h) = ready();
    run(&mut a, &mut h, r#"["event","from-a"]"#);
    run(&mut a, &mut h, r#"["flush"]"#);
    let s = a.poll(h.now).unwrap();
    a.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(60_000) }, h.now, 0);
    h.now += SAVE_DELAY_MS;
    a.tick(&mut h);
    let a_key = a.outbox_key().to_string();
    assert_eq!(outbox_keys(&h), [a_key.as_str()]);

    // Tab B opens while A lives: A's lease is fresh, so B waits on it.
    h.counter = 100;
    let mut b = next_page(&mut h);
    assert!(b.take_probes().is_empty(), "without Web Locks, leases decide");
    assert!(sent(&mut b, &mut h).is_empty(), "B does not send A's events");
    // A renews its lease while it waits for the collector.
    h.now += LEASE_MS;
    a.tick(&mut h);
    h.counter = 200;
    let mut c = next_page(&mut h);
    assert!(sent(&mut c, &mut h).is_empty(), "a renewed lease is still live");
    // A dies without a word (a crash): after the lease, the next page adopts.
    h.now += LEASE_MS + 1;
    h.counter = 50;
    let mut d = next_page(&mut h);
    let adopted = sent(&mut d, &mut h);
    assert_eq!(adopted.iter().filter_map(|e| e.action.as_deref()).collect::<Vec<_>>(), ["from-a"]);
    assert!(!h.storage.contains_key(&a_key));
    // B's wake-up for A's lease finds the queue gone: nothing to adopt twice.
    b.tick(&mut h);
    assert!(sent(&mut b, &mut h).is_empty());
}

#[test]
fn revocation_removes_every_page_queue_and_delivery_is_configurable() {
    let (mut t, mut h) = ready();
    assert!(t.configure(&json(r#"{"delivery":{"max_events":2,"max_delay_ms":60000}}"#), &mut h).is_empty());
    run(&mut t, &mut h, r#"["event","a"]"#);
    assert!(t.poll(h.now).is_none(), "one event: the batch stays open");
    run(&mut t, &mut h, r#"["event","b"]"#);
    let s = t.poll(h.now).expect("max_events 2 closes the batch");
    assert_eq!(s.ids.len(), 2);
    t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
    h.storage.insert(format!("{OUTBOX_PREFIX}deadbeef"), "0\ngt1\t0\t0\t0".into());
    t.release(&mut h);
    assert_eq!(outbox_keys(&h).len(), 2);
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
    assert!(h.storage.is_empty(), "{:?}", h.storage);
    let errs = t.configure(&json(r#"{"delivery":{"max_events":0,"speed":1}}"#), &mut h);
    let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["delivery.max_events", "delivery.speed"]);
}

#[test]
fn address_links_are_reported_as_what_they_are_never_as_a_host() {
    let (mut t, mut h) = ready();
    let hrefs = ["mailto:bob@x.example", "MAILTO:bob%40x.example?subject=Hi%20Bob", "tel:+44 20 7946 0000", "sms:+123"];
    for href in hrefs {
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "a".into(), href: Some(href.into()), ..Default::default() }, &[]);
    }
    let events = sent(&mut t, &mut h);
    let shown: Vec<_> = events.iter().filter_map(|e| e.element.as_ref()).map(|el| (el.href.clone().unwrap(), el.outbound)).collect();
    assert_eq!(
        shown,
        [
            ("mailto:[email]".to_string(), None),
            ("mailto:[email]".to_string(), None),
            ("tel:[phone]".to_string(), None),
            ("sms:[phone]".to_string(), None)
        ]
    );
}

#[test]
fn held_events_spare_conversions_and_never_lose_the_count() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, "https://shop.example/", "", None, "{}");
    run(&mut t, &mut h, PURCHASE);
    for _ in 0..300 {
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "button".into(), ..Default::default() }, &[]);
    }
    run(&mut t, &mut h, ACCEPT_ALL);
    run(&mut t, &mut h, r#"["flush"]"#);
    let batches = send_all(&mut t, &mut h);
    let events: Vec<_> = batches.iter().flat_map(|b| &b.events).collect();
    assert_eq!(events.iter().filter(|e| e.kind == Kind::Conversion).count(), 1, "the conversion outlived 300 clicks");
    assert_eq!(events.len(), crate::core::consent::HELD_CAPACITY);
    // page view + purchase event + conversion + 300 clicks, 200 kept.
    assert_eq!(batches[0].dropped.overflow, 103, "every drop counted on the wire");
    let ids: std::collections::BTreeSet<_> = events.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), events.len(), "every event its own ID past 255 random draws");
}

#[test]
fn start_records_the_page_view_unless_off_or_unconfigured() {
    let (mut t, mut h) = unset();
    run(&mut t, &mut h, ACCEPT_ALL);
    t.loading(None);
    assert_eq!(t.start(&mut h), None);
    assert_eq!(sent(&mut t, &mut h).iter().map(|e| e.kind).collect::<Vec<_>>(), [Kind::PageView]);
    assert_eq!(t.start(&mut h), None);
    assert!(sent(&mut t, &mut h).is_empty(), "a load has one page view");
    let (mut t, mut h) = ready();
    assert!(t.configure(&json(r#"{"auto_page_view":false}"#), &mut h).is_empty());
    t.loading(None);
    assert_eq!(t.start(&mut h), None);
    assert!(sent(&mut t, &mut h).is_empty());
    let mut t = Tracker::new();
    let mut h = FakeHost::new();
    t.loading(None);
    assert!(t.start(&mut h).is_some_and(|e| e.message().contains("config.collector")));
}

#[test]
fn a_conversion_queued_before_the_tag_was_ready_is_credited_to_the_campaign_the_page_loaded_with() {
    // An ad's landing page calls goaltag('event', 'purchase', …) inline,
    // before the wasm is ready: the call waits on the stub, and runs before
    // start-up's page view would. The load's view is recorded first, so the
    // conversion carries the ad's campaign, and start adds no second view.
    let (mut t, mut h) = ready();
    assert!(t.configure(&json(GOALS), &mut h).is_empty());
    let loaded_at = h.now;
    h.page = Page { url: AD_URL.into(), referrer: BING.into(), title: "Thanks".into() };
    t.loading(Some(At { ms: loaded_at, url: AD_URL.into() }));
    h.now += 300;
    run(&mut t, &mut h, PURCHASE);
    assert_eq!(t.start(&mut h), None);
    let events = sent(&mut t, &mut h);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [Kind::PageView, Kind::Event, Kind::Conversion]);
    assert_eq!(events[0].ts, loaded_at, "the view at the time the tag's script ran");
    assert_eq!(click_id(events[2].attribution.as_ref()), Some("abc123"), "the purchase is credited to the ad");
    assert_eq!(events[2].attribution.as_ref().unwrap().utm["utm_source"], "bing");
}

#[test]
fn the_page_view_of_a_load_takes_the_time_and_url_of_when_the_tags_script_ran() {
    // The tag's script ran on the ad's landing URL; by the time the wasm was
    // ready, the site's router had replaced the URL with a clean one.
    let (mut t, mut h) = ready();
    let loaded = At { ms: h.now, url: AD_URL.into() };
    h.now += 400;
    h.page.url = "https://shop.example/".into();
    t.loading(Some(loaded));
    assert_eq!(t.start(&mut h), None);
    let events = sent(&mut t, &mut h);
    assert_eq!(events.len(), 1);
    let view = &events[0];
    assert_eq!((view.kind, view.ts, view.url.as_deref()), (Kind::PageView, h.now - 400, Some(AD_URL)));
    // The visit's source is the ad: its click ID and campaign tags.
    let a = view.attribution.as_ref().expect("the landing's attribution");
    assert_eq!(click_id(Some(a)), Some("abc123"));
    assert_eq!(a.utm.get("utm_source").map(String::as_str), Some("bing"));
}

#[test]
fn hiding_beacons_everything_refusals_go_back_and_leaving_releases_the_queue() {
    let (mut t, mut h) = ready();
    t.page_view(&mut h, PageOverrides::default(), false);
    run(&mut t, &mut h, r#"["event","a"]"#);
    let mut bodies = Vec::new();
    t.hide(&mut h, false, &mut |b, keepalive| {
        assert!(keepalive, "a small body may go by keepalive fetch");
        bodies.push(b.to_string());
        false
    });
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].contains("\"a\""));
    let key = t.outbox_key().to_string();
    assert!(h.storage.get(&key).is_some_and(|v| !v.starts_with("0\n")), "hidden, not leaving: the lease is kept");
    // The refused beacon's events are ordinary again: the next hide beacons them once more.
    let mut again = 0;
    t.hide(&mut h, true, &mut |_, _| {
        again += 1;
        true
    });
    assert_eq!(again, 1);
    assert!(h.storage.get(&key).is_some_and(|v| v.starts_with("0\n")), "leaving: released for the next page");
    // Browsers fire visibilitychange (hidden) after pagehide when a page is left: it stays released.
    run(&mut t, &mut h, r#"["event","b"]"#);
    t.hide(&mut h, false, &mut |_, _| true);
    assert!(h.storage.get(&key).is_some_and(|v| v.starts_with("0\n")), "a hide after pagehide keeps the queue released");
    let mut third = 0;
    t.hide(&mut h, true, &mut |_, _| {
        third += 1;
        true
    });
    assert_eq!(third, 0, "what the browser accepted is not beaconed again from this page");
}

/// A beacon body larger than the page's keepalive budget (possible with a
/// raised `beacon_max_bytes`) must not fall back to a keepalive fetch.
#[test]
fn only_a_body_within_the_keepalive_budget_may_fall_back_to_a_keepalive_fetch() {
    let (mut t, mut h) = ready();
    run(&mut t, &mut h, r#"["config",{"delivery":{"beacon_max_bytes":65536}}]"#);
    let label = "x".repeat(480);
    for i in 0..130 {
        run(&mut t, &mut h, &["[\"event\",\"e", &i.to_string(), "\",{\"label\":\"", &label, "\"}]"].concat());
    }
    let mut seen = Vec::new();
    t.hide(&mut h, false, &mut |b, keepalive| {
        seen.push((b.len(), keepalive));
        true
    });
    assert!(seen.iter().any(|&(len, _)| len > crate::core::outbox::KEEPALIVE_MAX), "{seen:?}");
    for (len, keepalive) in seen {
        assert_eq!(keepalive, len <= crate::core::outbox::KEEPALIVE_MAX, "{len}");
    }
}

// --- Click IDs under ad_storage denied (issue 25, item 1) ---

/// Every click ID the tag knows, and one the site configured, with their values.
const CLICK_PAIRS: [(&str, &str); 10] = [
    ("gclid", "G-1"),
    ("gbraid", "GB-2"),
    ("wbraid", "WB-3"),
    ("dclid", "DC-4"),
    ("msclkid", "MS-5"),
    ("fbclid", "FB-6"),
    ("ttclid", "TT-7"),
    ("li_fat_id", "LI-8"),
    ("sccid", "SC-9"),
    ("GCLID", "G-upper"),
];

/// `base` with every click ID of [`CLICK_PAIRS`] mixed among `utm_source` and `q`.
fn ad_url(base: &str) -> String {
    let ids: Vec<String> = CLICK_PAIRS.iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!("{base}?{}&utm_source=google&{}&q=shoes", ids[..5].join("&"), ids[5..].join("&"))
}

/// A tracker on `page` with `analytics_storage` granted and `ad_storage` denied,
/// the site's own click ID `sccid` configured.
fn ads_denied(page: &str, referrer: &str) -> (Tracker, FakeHost) {
    let (mut t, mut h) = unset();
    assert!(t.configure(&json(r#"{"click_ids":["sccid"]}"#), &mut h).is_empty());
    h.page = Page { url: page.into(), referrer: referrer.into(), title: "Shop".into() };
    run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    (t, h)
}

/// No click ID's name or value in `text`; what else the URL had is there.
fn assert_no_click_ids(text: &str, what: &str) {
    for (name, value) in CLICK_PAIRS {
        assert!(!text.contains(value), "{what}: the value of {name} left: {text}");
        assert!(url::find_ci(text, &format!("{name}=")).is_none(), "{what}: {name} left: {text}");
    }
}

fn body_of(t: &mut Tracker, h: &mut FakeHost) -> String {
    run(t, h, r#"["flush"]"#);
    let mut bodies = String::new();
    while let Some(s) = t.poll(h.now) {
        bodies.push_str(&s.body);
        t.on_outcome(s.batch, Outcome::Status { code: 204, retry_after_ms: None }, h.now, 0);
    }
    bodies
}

#[test]
fn ads_denied_no_click_id_in_the_page_url() {
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/landing"), "");
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    let url = e.url.as_deref().unwrap();
    assert_eq!(url, "https://shop.example/landing?utm_source=google&q=shoes", "the parameters are removed, the others stay in order");
    assert!(e.client_id.is_some(), "analytics granted: identifiers still go");
}

#[test]
fn ads_denied_no_click_id_in_a_url_nested_twice() {
    // A login page whose return URL's own query holds the ad's landing URL:
    // the landing URL percent-encoded twice (`?` is `%253F`, `&` is `%2526`).
    let twice = |s: &str| {
        s.replace('%', "%25").replace(':', "%253A").replace('/', "%252F").replace('?', "%253F").replace('=', "%253D").replace('&', "%2526")
    };
    let page = format!("https://shop.example/login?next=%2Fgo%3Fto%3D{}%26k%3D2&z=3", twice(&ad_url("https://shop.example/landing")));
    let (mut t, mut h) = ads_denied(&page, "");
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    let url = e.url.as_deref().unwrap();
    assert_no_click_ids(url, "page URL");
    assert_eq!(
        url,
        "https://shop.example/login?next=%2Fgo%3Fto%3Dhttps%253A%252F%252Fshop.example%252Flanding%253Futm_source%253Dgoogle%2526q%253Dshoes%26k%3D2&z=3",
        "the nested parameters are removed, every other one stays in order at its level"
    );
}

#[test]
fn ads_denied_no_click_id_in_the_referrer() {
    let (mut t, mut h) = ads_denied("https://shop.example/cart", &ad_url("https://shop.example/"));
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!(e.referrer.as_deref(), Some("https://shop.example/?utm_source=google&q=shoes"));
    // An SPA navigation's referrer is the previous page's URL.
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/"), "");
    t.page_view(&mut h, PageOverrides::default(), false);
    let to = At { ms: h.now, url: "https://shop.example/next".into() };
    t.navigated(&mut h, to, None);
    let events = sent(&mut t, &mut h);
    assert_eq!(events[1].referrer.as_deref(), Some("https://shop.example/?utm_source=google&q=shoes"));
}

#[test]
fn ads_denied_no_click_id_in_the_landing_url() {
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/"), "https://www.google.com/");
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    let a = e.attribution.as_ref().expect("utm and the referrer are still a touch");
    assert!(a.click_ids.is_empty());
    assert_eq!(a.utm.get("utm_source").map(String::as_str), Some("google"));
    assert_eq!(a.landing_url.as_deref(), Some("https://shop.example/?utm_source=google&q=shoes"));
}

#[test]
fn ads_denied_no_click_id_in_a_clicked_links_href() {
    let (mut t, mut h) = ads_denied("https://shop.example/", "");
    let href = ad_url("https://partner.example/offer");
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), href: Some(href), ..Default::default() }, &[]);
    let e = &sent(&mut t, &mut h)[0];
    let el = e.element.as_ref().unwrap();
    assert_eq!(el.href.as_deref(), Some("https://partner.example/offer?utm_source=google&q=shoes"));
    assert_eq!(el.outbound, Some(true));
}

#[test]
fn ads_denied_no_click_id_in_a_forms_action() {
    let (mut t, mut h) = ads_denied("https://shop.example/", "");
    let form = Form { action: Some(ad_url("https://shop.example/search")), method: Some("get".into()), fields: 2, ..Default::default() };
    let a = at(&h);
    t.submit(&mut h, a, form, &[]);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!(e.form.as_ref().unwrap().action.as_deref(), Some("https://shop.example/search?utm_source=google&q=shoes"));
}

/// The rule is applied to the event's wire text, so a field that holds a URL
/// (here a custom event's label, or one a later version adds) is covered too.
#[test]
fn ads_denied_no_click_id_in_any_field_of_the_body() {
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/p"), &ad_url("https://shop.example/"));
    t.page_view(&mut h, PageOverrides::default(), false);
    let label = ad_url("https://shop.example/shared");
    run(&mut t, &mut h, &format!(r#"["event","share",{{"category":"{label}","label":"{label}"}}]"#));
    let body = body_of(&mut t, &mut h);
    assert_no_click_ids(&body, "body");
    assert!(body.contains("utm_source=google&q=shoes"), "{body}");
}

#[test]
fn ads_granted_click_ids_go_as_they_are() {
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/"), "");
    run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"granted"}]"#);
    t.page_view(&mut h, PageOverrides::default(), false);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!(e.url.as_deref(), Some(ad_url("https://shop.example/").as_str()));
    assert_eq!(e.attribution.as_ref().unwrap().click_ids.get("gclid").map(String::as_str), Some("G-1"));
}

/// Advanced mode's cookieless pings and events held while consent was
/// unknown follow the same rule.
#[test]
fn pings_and_held_events_carry_no_click_id_while_ads_are_denied() {
    let mut h = FakeHost::new();
    let mut t = load(&mut h, &ad_url("https://shop.example/"), BING, Some(DENIED), r#"{"mode":"advanced","click_ids":["sccid"]}"#);
    assert_no_click_ids(&body_of(&mut t, &mut h), "ping");
    let mut t = load(&mut h, &ad_url("https://shop.example/"), BING, None, r#"{"click_ids":["sccid"]}"#);
    run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    let body = body_of(&mut t, &mut h);
    assert!(body.contains("page_view"), "{body}");
    assert_no_click_ids(&body, "held then released");
}

/// Queued while ad storage was granted, not yet sent when it is withdrawn:
/// rewritten before it leaves, like the attribution's click IDs.
#[test]
fn a_revocation_of_ad_storage_strips_click_ids_from_what_is_queued() {
    let (mut t, mut h) = ads_denied(&ad_url("https://shop.example/"), "");
    run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"granted"}]"#);
    t.page_view(&mut h, PageOverrides::default(), false);
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), href: Some(ad_url("https://shop.example/next")), ..Default::default() }, &[]);
    run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"denied"}]"#);
    let body = body_of(&mut t, &mut h);
    assert!(body.contains("page_view") && body.contains("\"click\""), "{body}");
    assert_no_click_ids(&body, "queued before the revocation");
}

/// `url_passthrough` still carries the click IDs to the next same-site page
/// (nothing is sent by it), while the events sent carry none.
#[test]
fn url_passthrough_still_decorates_while_nothing_sent_has_a_click_id() {
    let landing = ad_url("https://shop.example/");
    let (mut t, mut h) = unset();
    assert!(t.configure(&json(r#"{"click_ids":["sccid"],"url_passthrough":true}"#), &mut h).is_empty());
    h.page = Page { url: landing.clone(), referrer: String::new(), title: "Shop".into() };
    t.begin(&mut h, Env::default());
    run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    t.page_view(&mut h, PageOverrides::default(), false);
    let followed = crate::core::passthrough::Followed::Link { href: "https://shop.example/cart" };
    let Some(crate::core::passthrough::Decoration::Set { url: next, .. }) = t.passthrough(followed, &landing, |_| false) else {
        panic!("the link is decorated")
    };
    assert!(next.contains("gclid=G-1") && next.contains("msclkid=MS-5") && next.contains("sccid=SC-9"), "{next}");
    let a = at(&h);
    t.click(&mut h, a, Element { tag: "a".into(), href: Some(next), ..Default::default() }, &[]);
    assert_no_click_ids(&body_of(&mut t, &mut h), "body");
}

#[test]
fn a_forms_action_is_redacted_like_every_url() {
    let (mut t, mut h) = ready();
    assert!(t.configure(&json(r#"{"redact_params":["token"]}"#), &mut h).is_empty());
    let form = Form { action: Some("https://u:p@shop.example/s?token=T&to=bob@mail.example&q=1".into()), fields: 1, ..Default::default() };
    let a = at(&h);
    t.submit(&mut h, a, form, &[]);
    let e = &sent(&mut t, &mut h)[0];
    assert_eq!(e.form.as_ref().unwrap().action.as_deref(), Some("https://shop.example/s?to=[email]&q=1"));
}

/// Enhanced conversions (issue 27): `user_data` goes with this page's
/// conversions as hashes only, never raw, never stored, never on another
/// event, and only while `ad_user_data` is granted.
mod user_data {
    use super::*;

    const CALL: &str = r#"["user_data",{"email":" John_Smith@gmail.com ","phone":"(650)555-1212","city":"Menlo Park"}]"#;
    /// sha256("john_smith@gmail.com"), Meta's published example.
    const EM: &str = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";

    fn raw_anywhere(t: &mut Tracker, h: &mut FakeHost) -> (Vec<Event>, String) {
        // The coalesced storage write runs (the outbox is persisted), then the batch goes.
        h.now += SAVE_DELAY_MS;
        t.tick(h);
        assert!(h.storage.keys().any(|k| k.starts_with(OUTBOX_PREFIX)), "the outbox was stored");
        let stored: String = h.storage.values().cloned().collect();
        (sent(t, h), stored)
    }

    #[test]
    fn a_conversion_carries_the_hashes_and_nothing_raw_goes_anywhere() {
        let (mut t, mut h) = with_goals();
        run(&mut t, &mut h, r#"["config",{"phone_country_code":"1"}]"#);
        assert!(run(&mut t, &mut h, CALL).is_empty());
        run(&mut t, &mut h, r#"["event","purchase",{"value":10}]"#);
        let (events, stored) = raw_anywhere(&mut t, &mut h);
        let c = conversions(&events);
        assert_eq!(c.len(), 1);
        let u = c[0].user_data.as_ref().expect("the conversion carries user_data");
        assert_eq!(u.meta.get("em").map(String::as_str), Some(EM));
        assert_eq!(u.google.get("city").map(String::as_str), Some("Menlo Park"));
        assert_eq!(u.microsoft.len(), 2);
        assert!(events.iter().filter(|e| e.kind != Kind::Conversion).all(|e| e.user_data.is_none()), "conversions only");
        let wire = serde_json::to_string(&events).unwrap();
        for raw in ["John_Smith", "john_smith", "(650)555-1212", "6505551212"] {
            assert!(!wire.contains(raw) && !stored.contains(raw), "{raw} leaked");
        }
    }

    #[test]
    fn a_national_phone_without_country_code_is_dropped_with_a_message() {
        let (mut t, mut h) = with_goals();
        let errors = run(&mut t, &mut h, CALL);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "user_data.phone");
        run(&mut t, &mut h, r#"["event","purchase"]"#);
        let events = sent(&mut t, &mut h);
        let u = conversions(&events)[0].user_data.clone().unwrap();
        assert!(u.platforms().iter().all(|(_, m)| m.get("ph").is_none()));
        assert_eq!(u.meta.get("em").map(String::as_str), Some(EM), "the email still goes");
    }

    #[test]
    fn without_ad_user_data_nothing_is_kept_and_revocation_drops_what_is_queued() {
        // Denied when called: accepted, nothing kept, even once granted later.
        let (mut t, mut h) = with_goals();
        run(&mut t, &mut h, r#"["consent","update",{"ad_user_data":"denied"}]"#);
        assert!(run(&mut t, &mut h, CALL).is_empty(), "accepted without a word");
        run(&mut t, &mut h, r#"["consent","update",{"ad_user_data":"granted"}]"#);
        run(&mut t, &mut h, r#"["event","purchase"]"#);
        let events = sent(&mut t, &mut h);
        assert_eq!(conversions(&events).len(), 1, "the conversion itself goes");
        assert!(events.iter().all(|e| e.user_data.is_none()));

        // Granted when called, revoked before sending: the queued conversion
        // leaves without it, and later conversions carry none.
        let (mut t, mut h) = with_goals();
        run(&mut t, &mut h, CALL);
        run(&mut t, &mut h, r#"["event","purchase",{"transaction_id":"T-1"}]"#);
        run(&mut t, &mut h, r#"["consent","update",{"ad_user_data":"denied"}]"#);
        run(&mut t, &mut h, r#"["consent","update",{"ad_user_data":"granted"}]"#);
        run(&mut t, &mut h, r#"["event","purchase",{"transaction_id":"T-2"}]"#);
        let events = sent(&mut t, &mut h);
        assert_eq!(conversions(&events).len(), 2);
        assert!(events.iter().all(|e| e.user_data.is_none()), "{events:?}");
    }

    #[test]
    fn while_consent_is_unknown_it_waits_in_memory_for_the_decision() {
        for (grant, kept) in
            [(r#"{"analytics_storage":"granted","ad_user_data":"granted"}"#, true), (r#"{"analytics_storage":"granted"}"#, false)]
        {
            let (mut t, mut h) = unset();
            assert!(t.configure(&json(GOALS), &mut h).is_empty());
            run(&mut t, &mut h, CALL);
            run(&mut t, &mut h, r#"["event","purchase"]"#);
            assert!(h.storage.is_empty(), "nothing stored while unknown");
            run(&mut t, &mut h, &format!(r#"["consent","update",{grant}]"#));
            run(&mut t, &mut h, r#"["event","purchase",{"transaction_id":"T-9"}]"#);
            let events = sent(&mut t, &mut h);
            let c = conversions(&events);
            assert_eq!(c.len(), 2, "{grant}");
            assert!(c.iter().all(|c| c.user_data.is_some() == kept), "{grant}");
        }
    }
}
