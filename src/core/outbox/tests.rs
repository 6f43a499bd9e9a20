//! The queue: duplicates, one request at a time, age and size bounds, drop reporting.

use super::*;
use crate::core::outbox::fixtures::*;
use crate::core::outbox::policy::HOUR_MS;
use crate::core::outbox::{gzip_url, Policy, GZIP_MIN_BYTES};

#[test]
fn a_duplicate_id_is_queued_once() {
    let mut o = ob();
    o.push(ev("c", true, T0), T0);
    o.push(ev("c", true, T0 + 5), T0 + 5);
    assert_eq!(o.len(), 1);
}

#[test]
fn no_second_request_while_one_is_in_flight() {
    let mut o = ob();
    push_n(&mut o, "e", 45, T0);
    let s = o.poll(T0).unwrap();
    assert!(o.in_flight());
    assert!(o.poll(T0).is_none());
    assert!(o.poll(T0 + 3_600_000).is_none());
    assert_eq!(o.wake_at(), None);
    // A stale or unknown answer changes nothing.
    o.on_outcome(s.batch + 100, ok(), T0, 0);
    o.on_outcome(0, ok(), T0, 0);
    assert_eq!(o.len(), 45);
    assert!(o.poll(T0).is_none());
    o.on_outcome(s.batch, ok(), T0, 0);
    o.on_outcome(s.batch, ok(), T0, 0); // a duplicate answer is ignored
    assert_eq!(o.len(), 25);
    let n = o.poll(T0).unwrap();
    assert_eq!(n.ids[0], "e20");
}

#[test]
fn events_past_the_age_budget_are_dropped_and_reported() {
    let mut o = ob();
    o.push(ev("old", false, T0), T0);
    o.set_online(false, T0, 0);
    let day = 24 * HOUR_MS;
    o.set_online(true, T0 + day, 0);
    // Exactly at the budget is still fine.
    let s = o.poll(T0 + day).unwrap();
    o.on_outcome(s.batch, Outcome::NetworkError, T0 + day, 0);
    // Too old for a retry: in flight it was kept, now it goes.
    assert!(o.poll(T0 + day + 10).is_none());
    assert!(o.is_empty());
    assert_eq!(o.dropped().expired, 1);
    o.push(ev("new", true, T0 + day + 20), T0 + day + 20);
    let b = wire(&o.poll(T0 + day + 20).unwrap());
    assert_eq!(b.dropped.expired, 1);
}

#[test]
fn overflow_drops_oldest_non_conversions_first_then_oldest_conversions() {
    let mut o = with(Policy { max_outbox: 4, max_delay_ms: 60_000, ..Policy::default() });
    o.set_online(false, T0, 0);
    for (id, c) in [("e1", false), ("c1", true), ("e2", false), ("c2", true), ("e3", false), ("e4", false)] {
        o.push(ev(id, c, T0), T0);
    }
    let text = o.persist();
    let kept: Vec<&str> = text.lines().skip(1).map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(kept, ["c1", "c2", "e3", "e4"]);
    assert_eq!(o.dropped().overflow, 2);
    for id in ["c3", "c4", "c5"] {
        o.push(ev(id, true, T0), T0);
    }
    let text = o.persist();
    let kept: Vec<&str> = text.lines().skip(1).map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(kept, ["c2", "c3", "c4", "c5"]);
    assert_eq!(o.dropped().overflow, 5);
    // A non-conversion arriving when only conversions are held is the one to go.
    o.push(ev("e5", false, T0), T0);
    assert_eq!(o.len(), 4);
    assert!(!o.persist().contains("e5"));
    assert!(o.persist().starts_with("gt1\t6\t0\t0"));
}

#[test]
fn overflow_by_bytes_and_events_in_flight_are_spared() {
    let mut o = with(Policy { max_outbox_bytes: 4096, ..Policy::default() });
    o.push(big("a", 1500, T0), T0);
    o.flush();
    let s = o.poll(T0).unwrap();
    o.push(big("b", 1500, T0), T0);
    o.push(big("c", 1500, T0), T0); // over 4096: b goes, not a (in flight)
    assert_eq!(o.dropped().overflow, 1);
    o.on_outcome(s.batch, ok(), T0, 0);
    o.flush();
    assert_eq!(o.poll(T0).unwrap().ids, strs(&["c"]));
    // Bigger than the whole outbox: refused outright, nothing else evicted.
    let mut o = with(Policy { max_outbox_bytes: 4096, ..Policy::default() });
    o.push(ev("x", true, T0), T0);
    o.push(big("y", 5000, T0), T0);
    assert_eq!(o.len(), 1);
    assert_eq!(o.dropped().overflow, 1);
}

#[test]
fn acknowledged_bytes_make_room_and_restored_old_events_expire_on_the_next_push() {
    // Bytes freed by an acknowledgement count: the outbox does not evict
    // on a stale total.
    let mut o = with(Policy { max_outbox_bytes: 4096, ..Policy::default() });
    o.push(big("a", 1500, T0), T0);
    o.push(big("b", 1500, T0), T0);
    o.flush();
    let s = o.poll(T0).unwrap();
    o.on_outcome(s.batch, ok(), T0, 0);
    o.push(big("c", 1500, T0), T0);
    o.push(big("d", 1500, T0), T0);
    assert_eq!(o.dropped().overflow, 0, "a and b left: c and d fit");
    o.push(big("e", 1500, T0), T0);
    assert_eq!(o.dropped().overflow, 1, "c, d and e do not");
    // An old event adopted from another page goes by the next push's age check.
    let mut old = ob();
    old.push(ev("old", false, T0), T0);
    let text = old.persist();
    let day = 24 * HOUR_MS;
    let mut o = ob();
    o.push(ev("first", false, T0 + day - 5), T0 + day - 5);
    assert_eq!(o.restore(&text, T0 + day - 5), 1);
    o.push(ev("later", false, T0 + day + 1), T0 + day + 1);
    assert_eq!(o.dropped().expired, 1);
    assert!(!o.persist().contains("old"));
}

#[test]
fn drop_counts_ride_every_body_until_one_is_acked() {
    let mut o = with(Policy { max_outbox: 2, ..Policy::default() });
    push_n(&mut o, "e", 4, T0); // 2 overflow
    o.flush();
    let s1 = o.poll(T0).unwrap();
    assert_eq!(wire(&s1).dropped.overflow, 2);
    o.on_outcome(s1.batch, status(500), T0, 0);
    let s2 = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!(wire(&s2).dropped.overflow, 2, "still unacknowledged");
    // A new drop while s2 is in flight (f0: the outbox is full of events
    // in flight) is not settled by s2's ack.
    o.push(ev("f0", false, T0), T0);
    assert_eq!(o.dropped().overflow, 3);
    o.on_outcome(s2.batch, ok(), T0 + 5, 0);
    assert!(o.is_empty());
    o.push(ev("f1", true, T0 + 5), T0 + 5);
    let s3 = o.poll(T0 + 5).unwrap();
    assert_eq!(wire(&s3).dropped.overflow, 1);
    o.on_outcome(s3.batch, ok(), T0 + 5, 0);
    o.push(ev("g", true, T0 + 6), T0 + 6);
    let s4 = o.poll(T0 + 6).unwrap();
    assert!(wire(&s4).dropped.is_empty());
    assert!(!s4.body.contains("dropped"));
    assert_eq!(o.dropped().overflow, 3, "totals are kept");
}

#[test]
fn a_new_policy_applies_to_what_is_queued() {
    let mut o = ob();
    push_n(&mut o, "e", 8, T0);
    o.set_policy(Policy { max_events: 3, max_outbox: 7, ..Policy::default() });
    assert_eq!(o.dropped().overflow, 1);
    let b = drain(&mut o, T0);
    assert_eq!(b.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [3, 3]);
}

// --- Fewer, compressed requests (issue 16) ---

#[test]
fn a_burst_of_a_thousand_events_goes_in_two_requests_by_default() {
    let mut o = Outbox::new(SITE.into(), Policy::default());
    let mut all = Vec::new();
    for i in 0..1000 {
        let it = big(&format!("e{i}"), 430, T0);
        all.push(it.id.clone());
        o.push(it, T0);
    }
    let sent = drain(&mut o, T0);
    assert_eq!(sent.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [500, 500], "closed at the collector's 500 events");
    let got: Vec<String> = sent.iter().flat_map(ids).collect();
    assert_eq!(got, all);
}

#[test]
fn bodies_from_a_kilobyte_are_gzipped_where_the_browser_can_never_small_ones() {
    let mut o = Outbox::new(SITE.into(), Policy::default());
    o.push(ev("small", false, T0), T0);
    o.flush();
    o.set_gzip(true);
    let s = o.poll(T0).unwrap();
    assert!(s.body.len() < GZIP_MIN_BYTES && !s.gzip, "{} bytes", s.body.len());
    o.on_outcome(s.batch, ok(), T0, 0);
    let push_big = |o: &mut Outbox, p: &str| {
        for i in 0..10 {
            o.push(big(&format!("{p}{i}"), 200, T0), T0);
        }
        o.flush();
    };
    push_big(&mut o, "e");
    let s = o.poll(T0).unwrap();
    assert!(s.body.len() >= GZIP_MIN_BYTES && s.gzip, "{} bytes", s.body.len());
    // A retry is compressed again (a 413 split too: its halves are new bodies).
    o.on_outcome(s.batch, status(503), T0, 0);
    let again = o.poll(T0 + 60_000).unwrap();
    assert!(again.gzip && again.attempt == 2);
    o.on_outcome(again.batch, ok(), T0 + 60_000, 0);
    // Without CompressionStream, or with gzip_min_bytes past any body: plain.
    o.set_gzip(false);
    push_big(&mut o, "f");
    assert!(!o.poll(T0 + 60_000).unwrap().gzip);
    let mut never = Outbox::new(SITE.into(), Policy { gzip_min_bytes: 4_194_304, ..Policy::default() });
    never.set_gzip(true);
    push_big(&mut never, "g");
    assert!(!never.poll(T0).unwrap().gzip);
}

#[test]
fn the_gzip_url_adds_c_gzip_to_the_query() {
    assert_eq!(gzip_url("/collect"), "/collect?c=gzip");
    assert_eq!(gzip_url("https://c.example/collect?site=x"), "https://c.example/collect?site=x&c=gzip");
    assert_eq!(gzip_url("https://c.example/collect#f"), "https://c.example/collect?c=gzip#f");
}

/// Narrowing fails closed: a queued event whose text cannot be narrowed is
/// dropped (and counted) rather than sent on with what it carries.
#[test]
fn an_event_that_cannot_be_narrowed_is_dropped_not_sent() {
    let mut o = ob();
    o.set_online(false, T0, 0);
    o.push(ev("ok", false, T0), T0);
    let damaged = "{\"id\":\"bad\",\"client_id\":\"c\",\"kind\":";
    o.push(Item { id: "bad".into(), json: damaged.into(), conversion: false, created_ms: T0, beacon_sent: false }, T0);
    let denied = goaltag_wire::Consent {
        analytics_storage: goaltag_wire::Signal::Denied,
        ad_storage: goaltag_wire::Signal::Denied,
        ad_user_data: goaltag_wire::Signal::Denied,
        ad_personalization: goaltag_wire::Signal::Denied,
    };
    o.rewrite(|j| goaltag_wire::json::narrow(j, &denied));
    assert_eq!(o.len(), 1);
    assert_eq!(o.dropped().consent, 1);
    o.set_online(true, T0, 0);
    let b = wire(&o.poll(T0 + 60_000).unwrap());
    assert_eq!(b.events.len(), 1);
    assert_eq!(b.events[0].id, "ok");
    assert_eq!(b.dropped.consent, 1);
}

/// The request timeout is the policy's, handed to the shell with each request.
#[test]
fn each_request_carries_the_policys_timeout() {
    let mut o = ob();
    o.push(ev("e", false, T0), T0);
    o.flush();
    assert_eq!(o.poll(T0).unwrap().timeout_ms, 10_000);
    let mut o = with(Policy { request_timeout_ms: 2_500, ..small() });
    o.push(ev("e", false, T0), T0);
    o.flush();
    assert_eq!(o.poll(T0).unwrap().timeout_ms, 2_500);
}
