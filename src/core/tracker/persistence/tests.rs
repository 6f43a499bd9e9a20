//! The cross-tab handover: which page adopts a gone page's queue, and when,
//! with Web Locks and without. Tabs are trackers on one shared storage; the
//! tests play the shell, reporting `storage` events and lock grants as a
//! browser would (a waiting lock is granted only once its holder is gone,
//! to one waiter at a time, in the order they asked).

use super::*;
use crate::core::consent::{Env, Partial};
use crate::core::outbox::Outcome;
use crate::core::test_fixtures::tracker::*;
use crate::core::val::json;
use goaltag_wire::{Batch, Kind, Signal};

/// A tab of the shop on `h`'s storage, analytics storage granted, told by
/// its shell whether the browser has Web Locks.
fn tab(h: &mut FakeHost, locks: bool) -> Tracker {
    let mut t = Tracker::new();
    t.web_locks(locks);
    t.begin(h, Env::default());
    assert!(t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), h).is_empty());
    t.consent_default(h, Partial::all(Signal::Granted), None);
    t
}

/// Records `label` in `t` while the collector fails every POST, and lets
/// the coalesced write persist it; the event's ID.
fn record_failing(t: &mut Tracker, h: &mut FakeHost, label: &str) -> String {
    run(t, h, &format!(r#"["event","{label}"]"#));
    run(t, h, r#"["flush"]"#);
    let s = t.poll(h.now).expect("a batch");
    t.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(3_600_000) }, h.now, 0);
    h.now += SAVE_DELAY_MS;
    t.tick(h);
    assert!(h.storage.get(t.outbox_key()).is_some_and(|v| v.contains(label)), "{label} persisted");
    s.ids.into_iter().next().unwrap()
}

/// Flushes and sends what `t` has, every POST answered 204; the batches.
fn deliver(t: &mut Tracker, h: &mut FakeHost) -> Vec<Batch> {
    run(t, h, r#"["flush"]"#);
    send_all(t, h)
}

fn event_ids(batches: &[Batch]) -> Vec<String> {
    let mut v: Vec<String> = batches.iter().flat_map(|b| b.events.iter().map(|e| e.id.clone())).collect();
    v.sort();
    v
}

#[test]
fn with_web_locks_an_open_tab_takes_over_a_closed_tabs_queue_inside_the_grant_once() {
    let mut h = FakeHost::new();
    let mut b = tab(&mut h, true);
    assert!(b.take_probes().is_empty(), "nothing to wait for yet");
    let mut a = tab(&mut h, true);
    let from_a = record_failing(&mut a, &mut h, "from-a");
    let a_key = a.outbox_key().to_string();

    // B, open before A, learns of A's queue from the storage event; C, a
    // third tab opening now, from storage. Both wait for A's lock.
    b.storage_changed(&mut h, &a_key);
    assert_eq!(b.take_probes(), [a_key.as_str()]);
    let mut c = tab(&mut h, true);
    assert_eq!(c.take_probes(), [a_key.as_str()]);
    // A renews its lease: another storage event, still one request per page.
    h.now += LEASE_MS;
    a.tick(&mut h);
    b.storage_changed(&mut h, &a_key);
    assert!(b.take_probes().is_empty(), "one lock request per page, however often its key changes");
    // Leases play no part with Web Locks: A's lock says it lives, however old its lease.
    h.now += 10 * LEASE_MS;
    b.tick(&mut h);
    assert!(deliver(&mut b, &mut h).is_empty(), "a live tab's queue is never taken");
    assert_eq!(b.wake_at(), None, "waiting for a lock needs no wake-up");

    // A closes: its queue released, its lock freed. B asked first.
    a.release(&mut h);
    let last_write = h.storage[&a_key].clone();
    drop(a);
    assert!(b.lock_free(&mut h, &a_key), "B keeps A's lock while it lives");
    assert!(!h.storage.contains_key(&a_key), "removed inside the grant");
    assert!(h.storage.get(b.outbox_key()).is_some_and(|v| v.contains(&from_a)), "under B's key at once, never in memory alone");
    assert_eq!(outbox_keys(&h), [b.outbox_key().to_string()]);
    // A's last write lands after the browser freed its lock (and after B
    // removed the key): B, holding A's lock, takes it too; C only waits.
    h.storage.insert(a_key.clone(), last_write);
    c.storage_changed(&mut h, &a_key);
    assert!(h.storage.contains_key(&a_key), "C waits for the lock");
    b.storage_changed(&mut h, &a_key);
    assert!(!h.storage.contains_key(&a_key), "B holds the lock: it takes the late write");
    assert!(c.take_probes().is_empty() && b.take_probes().is_empty(), "no new lock requests");

    // B delivers A's event with its ID, in a batch with B's own new event:
    // a new batch, so no `attempt` although A had sent its event before.
    run(&mut b, &mut h, r#"["event","from-b"]"#);
    let batches = deliver(&mut b, &mut h);
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].attempt, 1, "adopted and new events together are a new batch");
    let labels: Vec<_> = batches[0].events.iter().filter_map(|e| e.action.as_deref()).collect();
    assert_eq!(labels, ["from-a", "from-b"]);
    assert_eq!(batches[0].events[0].id, from_a);
    assert!(deliver(&mut b, &mut h).is_empty(), "each once");
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    assert!(outbox_keys(&h).is_empty(), "acknowledged: nothing left anywhere");
    // B goes too: C's turn for A's lock comes, and nothing is left to adopt.
    drop(b);
    assert!(c.lock_free(&mut h, &a_key));
    assert!(deliver(&mut c, &mut h).is_empty(), "no second adoption");
}

#[test]
fn with_web_locks_a_new_page_takes_released_queues_and_waits_for_the_lock_of_the_others() {
    let mut h = FakeHost::new();
    let mut a = tab(&mut h, true);
    let from_a = record_failing(&mut a, &mut h, "from-a");
    let a_key = a.outbox_key().to_string();
    let mut b = tab(&mut h, true);
    let from_b = record_failing(&mut b, &mut h, "from-b");
    let b_key = b.outbox_key().to_string();
    // A left (released on pagehide); B lives in the background, its timers
    // throttled, so its lease is long out of date.
    a.release(&mut h);
    h.now += 10 * LEASE_MS;
    let mut d = tab(&mut h, true);
    assert!(!h.storage.contains_key(&a_key), "a released queue is taken at once");
    assert_eq!(d.take_probes(), [b_key.as_str()], "B's lock, not its lease, says whether it lives");
    assert_eq!(event_ids(&deliver(&mut d, &mut h)), [from_a]);
    // B is closed without a pagehide (the browser frees its lock all the same).
    drop(b);
    assert!(d.lock_free(&mut h, &b_key));
    assert_eq!(event_ids(&deliver(&mut d, &mut h)), [from_b]);
}

#[test]
fn no_adoption_while_analytics_storage_is_denied_nor_by_a_page_that_is_leaving() {
    let mut h = FakeHost::new();
    let mut a = tab(&mut h, true);
    let from_a = record_failing(&mut a, &mut h, "from-a");
    let a_key = a.outbox_key().to_string();

    // A page whose visitor denied analytics storage neither waits nor adopts.
    let mut e = Tracker::new();
    e.web_locks(true);
    e.begin(&mut h, Env::default());
    e.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
    run(&mut e, &mut h, &format!(r#"["consent","default",{DENIED}]"#));
    e.storage_changed(&mut h, &a_key);
    assert!(e.take_probes().is_empty());
    assert!(!e.lock_free(&mut h, &a_key), "the lock goes on to the next page in line");
    assert!(h.storage.contains_key(&a_key), "denied: A's queue is not touched");
    assert!(deliver(&mut e, &mut h).is_empty());
    // The visitor grants it: the page waits for A's lock like any other.
    run(&mut e, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    assert_eq!(e.take_probes(), [a_key.as_str()]);
    let mut f = tab(&mut h, true);
    assert_eq!(f.take_probes(), [a_key.as_str()]);
    a.release(&mut h);
    drop(a);

    // A page that has released its own queue (it is leaving) takes nothing on.
    f.release(&mut h);
    assert!(!f.lock_free(&mut h, &a_key));
    assert!(h.storage.contains_key(&a_key), "a leaving page adopts nothing");

    assert!(e.lock_free(&mut h, &a_key));
    assert!(!h.storage.contains_key(&a_key));
    let sent: Vec<_> = deliver(&mut e, &mut h).into_iter().flat_map(|b| b.events).filter(|ev| ev.action.is_some()).collect();
    assert_eq!(sent.iter().map(|ev| ev.id.clone()).collect::<Vec<_>>(), [from_a]);
}

#[test]
fn without_web_locks_an_open_tab_takes_over_by_lease_on_a_storage_event_or_its_wake_up() {
    let mut h = FakeHost::new();
    let mut b = tab(&mut h, false);
    let mut c = tab(&mut h, false);
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    assert_eq!(b.wake_at(), None, "nothing waited on: no timer");
    let mut a = tab(&mut h, false);
    let from_a = record_failing(&mut a, &mut h, "from-a");
    let a_key = a.outbox_key().to_string();
    let lease = h.now;

    // A's key appears: its lease is fresh, so B waits, until the lease would run out.
    b.storage_changed(&mut h, &a_key);
    assert!(b.take_probes().is_empty(), "no locks to ask");
    assert_eq!(b.wake_at(), Some(lease + LEASE_MS));
    // A renews its lease before then (a storage event): B waits longer.
    h.now = a.wake_at().unwrap();
    a.tick(&mut h);
    b.storage_changed(&mut h, &a_key);
    assert_eq!(b.wake_at(), Some(h.now + LEASE_MS));
    h.now = lease + LEASE_MS;
    b.tick(&mut h);
    assert!(deliver(&mut b, &mut h).is_empty(), "a renewed lease is live");

    // A closes: pagehide releases its queue (lease 0), the storage event
    // tells B, which takes it over at once.
    a.release(&mut h);
    drop(a);
    b.storage_changed(&mut h, &a_key);
    assert!(!h.storage.contains_key(&a_key));
    assert_eq!(event_ids(&deliver(&mut b, &mut h)), [from_a.as_str()]);
    // C's event for the same change comes after: the queue is gone.
    c.storage_changed(&mut h, &a_key);
    assert!(deliver(&mut c, &mut h).is_empty());

    // A tab that dies without a pagehide (a crash) leaves a lease that is
    // never renewed: B's wake-up when it runs out takes the queue over.
    let mut g = tab(&mut h, false);
    let from_g = record_failing(&mut g, &mut h, "from-g");
    let (g_key, g_lease) = (g.outbox_key().to_string(), h.now);
    drop(g);
    b.storage_changed(&mut h, &g_key);
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    assert_eq!(b.wake_at(), Some(g_lease + LEASE_MS), "B wakes when G's lease runs out");
    h.now = g_lease + LEASE_MS - 1;
    b.tick(&mut h);
    assert!(h.storage.contains_key(&g_key), "not a moment before");
    h.now += 1;
    b.tick(&mut h);
    assert_eq!(event_ids(&deliver(&mut b, &mut h)), [from_g]);
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    assert_eq!(b.wake_at(), None, "nothing left to wait for: no timer");
    assert!(outbox_keys(&h).is_empty());
}

/// A queue recorded while ad storage was granted, adopted by a page on
/// which it is not (the visitor withdrew it meanwhile): its click IDs, in
/// the attribution and in the URLs, do not leave from the adopting page.
#[test]
fn an_adopted_queue_leaves_without_click_ids_when_ad_storage_is_denied_now() {
    let mut h = FakeHost::new();
    h.page.url = "https://shop.example/?gclid=G-1&utm_source=google&msclkid=MS-2".into();
    let mut a = tab(&mut h, false);
    a.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    run(&mut a, &mut h, r#"["flush"]"#);
    let s = a.poll(h.now).expect("a batch");
    assert!(s.body.contains("G-1"), "granted: sent as it is");
    a.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(3_600_000) }, h.now, 0);
    a.release(&mut h);
    drop(a);

    h.page.url = "https://shop.example/cart".into();
    let mut d = Tracker::new();
    d.begin(&mut h, Env::default());
    assert!(d.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h).is_empty());
    run(&mut d, &mut h, r#"["consent","default",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
    run(&mut d, &mut h, r#"["flush"]"#);
    let mut bodies = String::new();
    while let Some(s) = d.poll(h.now) {
        bodies.push_str(&s.body);
        d.on_outcome(s.batch, Outcome::Status { code: 204, retry_after_ms: None }, h.now, 0);
    }
    assert!(bodies.contains("utm_source=google"), "the adopted page view is sent: {bodies}");
    assert!(!bodies.contains("G-1") && !bodies.contains("MS-2") && !bodies.contains("gclid"), "{bodies}");
}

/// Issue 25, item 3: page 2 of a visit, where the banner answers only after
/// the page view and a click (held while consent is unknown). The held
/// events join the stored visit, which goes on counting its pages; no second
/// visit starts.
#[test]
fn events_held_on_a_later_page_join_the_stored_visit_once_consent_answers() {
    let mut h = FakeHost::new();
    let mut one = tab(&mut h, false);
    one.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    let first = deliver(&mut one, &mut h);
    let visit = first[0].events[0].visit_id.clone().expect("a visit");
    one.release(&mut h);
    drop(one);

    h.now += 60_000;
    h.page.url = "https://shop.example/cart".into();
    let mut two = Tracker::new();
    two.begin(&mut h, Env::default());
    assert!(two
        .configure(
            &json(
                r#"{"site":"demo-shop","collector":"/collect","goals":[
        {"id":"deep","when":{"type":"pages_per_visit","min_pages":2},"count":"once_per_visit"}]}"#
            ),
            &mut h
        )
        .is_empty());
    two.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    run(&mut two, &mut h, r#"["event","held"]"#);
    h.now += 3_000;
    run(&mut two, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
    run(&mut two, &mut h, r#"["event","after"]"#);
    let events: Vec<_> = deliver(&mut two, &mut h).into_iter().flat_map(|b| b.events).collect();
    let visits: Vec<_> =
        events.iter().map(|e| (e.action.as_deref().or(e.goal.as_deref()).unwrap_or(e.kind.as_str()), e.visit_id.as_deref())).collect();
    // The joined count (2 pages) converts the goal at the join, just before
    // the held events are released; its trigger is the held page view.
    assert_eq!(
        visits,
        [
            ("deep", Some(visit.as_str())),
            ("page_view", Some(visit.as_str())),
            ("held", Some(visit.as_str())),
            ("after", Some(visit.as_str()))
        ]
    );
    assert_eq!(events[0].trigger.as_deref(), Some(events[1].id.as_str()));
    two.persist(&mut h);
    assert!(h.storage[VISIT_KEY].contains(&visit), "the stored visit goes on: {}", h.storage[VISIT_KEY]);
}

/// Page 2 of a visit whose banner answers late (its cookie is read after the
/// page view), so goals convert there before the tag may read what earlier
/// pages counted. A repeat of what page 1 counted is not sent, a new
/// conversion is, and what page 1 counted stays stored for page 3.
#[test]
fn goals_counted_on_earlier_pages_do_not_convert_again_when_consent_answers_late() {
    const GOALS: &str = r#"{"site":"demo-shop","collector":"/collect","goals":[
        {"id":"specials","when":{"type":"url","op":"begins_with","value":"/specials"},"count":"once_per_visit"},
        {"id":"signup","when":{"type":"event","action":{"op":"equals","value":"signup"}},"count":"once_per_user"},
        {"id":"buy","when":{"type":"event","action":{"op":"equals","value":"purchase"}}}]}"#;
    let open = |h: &mut FakeHost, path: &str| {
        h.page.url = format!("https://shop.example{path}");
        let mut t = Tracker::new();
        t.begin(h, Env::default());
        assert!(t.configure(&json(GOALS), h).is_empty());
        t
    };
    // (goal, transaction) of each conversion sent.
    let converted = |batches: Vec<Batch>| -> Vec<(String, Option<String>)> {
        let events = batches.into_iter().flat_map(|b| b.events);
        events.filter(|e| e.kind == Kind::Conversion).map(|e| (e.goal.unwrap(), e.transaction_id)).collect()
    };
    let pair = |g: &str, t: Option<&str>| (g.to_string(), t.map(str::to_string));

    // Page 1, consent known at once: the specials page, a signup, purchase T-1.
    let mut h = FakeHost::new();
    let mut one = open(&mut h, "/specials");
    one.consent_default(&mut h, Partial::all(Signal::Granted), None);
    one.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    run(&mut one, &mut h, r#"["event","signup"]"#);
    run(&mut one, &mut h, r#"["event","purchase",{"value":10,"currency":"EUR","transaction_id":"T-1"}]"#);
    assert_eq!(converted(deliver(&mut one, &mut h)), [pair("specials", None), pair("signup", None), pair("buy", Some("T-1"))]);
    one.release(&mut h);

    // Page 2, a minute later, consent unknown until the banner answers: the
    // specials page again (once per visit: a repeat), the thank-you page of
    // T-1 reloaded (a repeat), and a second purchase, T-2 (new).
    h.now += 60_000;
    let mut two = open(&mut h, "/specials/shoes");
    two.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    run(&mut two, &mut h, r#"["event","purchase",{"value":10,"currency":"EUR","transaction_id":"T-1"}]"#);
    run(&mut two, &mut h, r#"["event","purchase",{"value":25,"currency":"EUR","transaction_id":"T-2"}]"#);
    run(&mut two, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted"}]"#);
    assert_eq!(converted(deliver(&mut two, &mut h)), [pair("buy", Some("T-2"))], "only the new purchase");
    two.release(&mut h);

    // Page 3: a signup again (once per user, counted on page 1), and T-1 once more.
    h.now += 60_000;
    let mut three = open(&mut h, "/account");
    three.consent_default(&mut h, Partial::all(Signal::Granted), None);
    three.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    run(&mut three, &mut h, r#"["event","signup"]"#);
    run(&mut three, &mut h, r#"["event","purchase",{"value":10,"currency":"EUR","transaction_id":"T-1"}]"#);
    assert_eq!(converted(deliver(&mut three, &mut h)), [], "page 2 kept what page 1 counted");
}

#[test]
fn a_round_writes_only_what_changed_so_a_page_that_records_nothing_more_touches_no_storage() {
    // Page 1 of a visit, from a referring site (a campaign touch): its page
    // view delivered, then the page is left for another page of the shop.
    let mut h = FakeHost::new();
    let mut one = tab(&mut h, true);
    one.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    deliver(&mut one, &mut h);
    one.release(&mut h);
    let stored = [CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, VISIT_KEY];
    assert_eq!(keys(&h), stored);

    // Page 2, a repeat view: its page view.
    h.now += 10_000;
    h.page.referrer = "https://shop.example/".into();
    let mut two = tab(&mut h, true);
    two.page_view(&mut h, crate::core::command::PageOverrides::default(), false);
    let outbox = two.outbox_key().to_string();
    h.writes.clear();
    h.now += SAVE_DELAY_MS;
    two.tick(&mut h);
    // The visit has a new page and a new last activity; the goal memory and
    // the campaign are what page 1 left: neither is written.
    assert_eq!(h.writes, [VISIT_KEY, outbox.as_str()]);

    // The page view is acknowledged: the queue's key goes, and nothing else.
    h.writes.clear();
    send_all(&mut two, &mut h);
    h.now += SAVE_DELAY_MS;
    two.tick(&mut h);
    assert_eq!(h.writes, [format!("-{outbox}")]);

    // Hidden, then left (pagehide, then visibilitychange): nothing changed,
    // nothing is written, and storage still holds the visit for page 3.
    h.writes.clear();
    two.hide(&mut h, true, &mut |_, _| panic!("nothing is unsent"));
    two.hide(&mut h, true, &mut |_, _| panic!("nothing is unsent"));
    assert_eq!(h.writes, Vec::<String>::new());
    assert_eq!(keys(&h), stored);
    assert!(h.storage[VISIT_KEY].contains(".2."), "two pages in the stored visit: {}", h.storage[VISIT_KEY]);
}

#[test]
fn a_tab_that_writes_its_goal_memory_keeps_what_another_tab_counted_meanwhile() {
    const SIGNUP: &str = r#"{"goals":[
        {"id":"signup","when":{"type":"event","action":{"op":"equals","value":"signup"}},"count":"once_per_user"},
        {"id":"newsletter","when":{"type":"event","action":{"op":"equals","value":"newsletter"}},"count":"once_per_user"}]}"#;
    let open = |h: &mut FakeHost| {
        let mut t = tab(h, true);
        assert!(t.configure(&json(SIGNUP), h).is_empty());
        t.page_view(h, crate::core::command::PageOverrides::default(), false);
        deliver(&mut t, h);
        h.now += SAVE_DELAY_MS;
        t.tick(h);
        t
    };
    let signups = |batches: Vec<Batch>| batches.iter().flat_map(|b| &b.events).filter(|e| e.kind == Kind::Conversion).count();
    let mut h = FakeHost::new();
    // Two tabs of the shop open; the visitor signs up in tab A.
    let mut a = open(&mut h);
    let mut b = open(&mut h);
    run(&mut a, &mut h, r#"["event","signup"]"#);
    assert_eq!(signups(deliver(&mut a, &mut h)), 1);
    h.now += SAVE_DELAY_MS;
    a.tick(&mut h);
    // Tab B goes on (an event, its round) before the browser tells it of
    // tab A's write. Its goal memory is still what it read when it opened,
    // from before the signup: it is not written.
    run(&mut b, &mut h, r#"["event","scroll"]"#);
    deliver(&mut b, &mut h);
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    assert!(h.storage[GOALS_KEY].contains("signup"), "{}", h.storage[GOALS_KEY]);
    // The storage event of tab A's write reaches tab B: a signup there is a
    // repeat too.
    b.storage_changed(&mut h, GOALS_KEY);
    run(&mut b, &mut h, r#"["event","signup"]"#);
    assert_eq!(signups(deliver(&mut b, &mut h)), 0, "counted in tab A");
    // Then the visitor subscribes in tab B: its memory changed, and the
    // write keeps tab A's signup. Tab B is closed.
    run(&mut b, &mut h, r#"["event","newsletter"]"#);
    assert_eq!(signups(deliver(&mut b, &mut h)), 1);
    h.now += SAVE_DELAY_MS;
    b.tick(&mut h);
    b.release(&mut h);
    // A later page: each again is a repeat, not a second conversion.
    h.now += 60_000;
    let mut c = open(&mut h);
    run(&mut c, &mut h, r#"["event","signup"]"#);
    run(&mut c, &mut h, r#"["event","newsletter"]"#);
    assert_eq!(signups(deliver(&mut c, &mut h)), 0, "neither tab wrote over what the other counted");
}
