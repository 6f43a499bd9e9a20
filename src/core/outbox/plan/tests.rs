use super::*;
use crate::core::outbox::fixtures::*;
use crate::core::outbox::{Item, Outcome, Policy, KEEPALIVE_MAX};
use goaltag_wire::json::envelope_overhead;
use goaltag_wire::{Batch, Kind};

#[test]
fn batch_closes_at_max_events_and_the_rest_waits_for_the_delay() {
    let mut o = ob();
    let all = push_n(&mut o, "e", 45, T0);
    let sent = drain(&mut o, T0);
    assert_eq!(sent.iter().map(|b| b.events.len()).collect::<Vec<_>>(), [20, 20]);
    assert_eq!(o.len(), 5);
    assert_eq!(o.wake_at(), Some(T0 + 1000));
    let rest = drain(&mut o, T0 + 1000);
    assert_eq!(rest.len(), 1);
    let got: Vec<String> = sent.iter().chain(&rest).flat_map(ids).collect();
    assert_eq!(got, all, "in order, nothing lost or doubled");
    assert!(o.is_empty());
    assert_eq!(o.wake_at(), None);
}

#[test]
fn batch_closes_before_it_would_pass_max_bytes() {
    let p = Policy { max_bytes: 2048, ..Policy::default() };
    let mut o = with(p.clone());
    let items: Vec<Item> = (0..12).map(|i| big(&format!("b{i}"), 300 + i * 7, T0)).collect();
    for it in &items {
        o.push(it.clone(), T0);
    }
    o.flush();
    let room = p.max_bytes - envelope_overhead(SITE);
    let mut k = 0;
    let mut n = 0;
    while let Some(s) = o.poll(T0) {
        assert!(s.body.len() <= p.max_bytes, "{}", s.body.len());
        let b = wire(&s);
        let sizes: Vec<usize> = items[k..k + b.events.len()].iter().map(|i| i.json.len()).collect();
        let used = sizes.iter().sum::<usize>() + sizes.len() - 1;
        assert!(used <= room);
        k += b.events.len();
        if k < items.len() {
            assert!(used + 1 + items[k].json.len() > room, "batch {n} closed too early");
        }
        o.on_outcome(s.batch, ok(), T0, 0);
        n += 1;
    }
    assert_eq!(k, items.len());
    assert!(n > 2);
}

#[test]
fn batch_closes_max_delay_after_its_first_event() {
    let mut o = ob();
    o.push(ev("a", false, T0), T0);
    o.push(ev("b", false, T0 + 600), T0 + 600);
    assert_eq!(o.wake_at(), Some(T0 + 1000));
    assert!(o.poll(T0 + 999).is_none());
    let s = o.poll(T0 + 1000).unwrap();
    assert_eq!(s.ids, strs(&["a", "b"]));
    assert_eq!(wire(&s).sent_at, T0 + 1000);
    assert_eq!(s.attempt, 1);
}

#[test]
fn a_conversion_closes_the_batch_at_once() {
    let mut o = ob();
    o.push(ev("a", false, T0), T0);
    o.push(ev("c", true, T0), T0);
    o.push(ev("z", false, T0), T0);
    assert!(o.wake_at().unwrap() <= T0, "due now");
    let s = o.poll(T0).unwrap();
    assert_eq!(s.ids, strs(&["a", "c"]));
    assert_eq!(wire(&s).events[1].kind, Kind::Conversion);
    o.on_outcome(s.batch, ok(), T0, 0);
    assert!(o.poll(T0).is_none(), "the event after it starts a new open batch");
    assert_eq!(o.wake_at(), Some(T0 + 1000));
}

#[test]
fn flush_closes_the_open_batch() {
    let mut o = ob();
    o.push(ev("a", false, T0), T0);
    assert!(o.poll(T0 + 10).is_none());
    o.flush();
    assert!(o.wake_at().unwrap() <= T0 + 10);
    assert_eq!(o.poll(T0 + 10).unwrap().ids, strs(&["a"]));
}

#[test]
fn an_oversized_event_is_sent_alone_and_never_persisted() {
    let p = Policy { max_bytes: 1024, ..Policy::default() };
    let mut o = with(p);
    o.push(ev("a", false, T0), T0);
    o.push(big("huge", 3000, T0), T0);
    o.push(ev("b", false, T0), T0);
    let text = o.persist();
    assert!(text.contains("\ta\t") || text.contains("\na\t"));
    assert!(!text.contains("huge"));
    let first = o.poll(T0).unwrap();
    assert_eq!(first.ids, strs(&["a"]));
    o.on_outcome(first.batch, ok(), T0, 0);
    let second = o.poll(T0).unwrap();
    assert_eq!(second.ids, strs(&["huge"]));
    assert!(second.body.len() > 1024);
    wire(&second);
    o.on_outcome(second.batch, ok(), T0, 0);
    assert!(o.poll(T0).is_none(), "b waits for its delay");
    assert_eq!(drain(&mut o, T0 + 1000).len(), 1);
}

#[test]
fn beacon_takes_everything_unacked_once_per_page() {
    let mut o = ob();
    push_n(&mut o, "e", 25, T0);
    let s = o.poll(T0).unwrap(); // e0..e19 in flight, e20..e24 open
    let bodies = o.beacon_bodies(T0 + 1);
    assert_eq!(bodies.len(), 1);
    let b: Batch = serde_json::from_str(&bodies[0].0).unwrap();
    assert_eq!(ids(&b), bodies[0].1);
    assert_eq!(b.events.len(), 25);
    assert!(o.dirty());
    // A second hide with nothing new sends nothing.
    assert!(o.beacon_bodies(T0 + 2).is_empty());
    // A new event: only it goes with the next hide.
    o.push(ev("late", false, T0 + 3), T0 + 3);
    let again = o.beacon_bodies(T0 + 4);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].1, strs(&["late"]));
    assert!(o.beacon_bodies(T0 + 5).is_empty());
    // The fetch in flight still settles its own events.
    o.on_outcome(s.batch, ok(), T0 + 6, 0);
    assert_eq!(o.len(), 6);
    // Beaconed events are not re-sent from this page, but stay persisted.
    assert!(o.poll(T0 + 100_000).is_none());
    assert_eq!(o.wake_at(), None);
    let text = o.persist();
    assert_eq!(text.lines().count(), 7);
    assert!(text.lines().skip(1).all(|l| l.split('\t').nth(2) == Some("2")));
    // Restoring this page's own copy (e.g. after a cross-tab handover) adds nothing.
    assert_eq!(o.restore(&text, T0 + 7), 0);
    assert!(o.poll(T0 + 100_000).is_none());
}

#[test]
fn a_beacon_body_is_a_batch_of_its_own_and_restored_events_a_new_batch() {
    let (mut o, s) = one_in_flight(2);
    o.on_outcome(s.batch, Outcome::NetworkError, T0, 0);
    let r = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!((s.attempt, r.attempt), (1, 2), "the same batch again is a retry");
    let (body, _) = &o.beacon_bodies(T0)[0];
    assert!(!body.contains("\"attempt\""), "a beacon body is planned on its own: {body}");
    let text = o.persist();
    let mut next = ob();
    next.restore(&text, T0);
    let n = next.poll(T0 + 1000).unwrap();
    assert_eq!((n.ids.clone(), n.attempt), (s.ids.clone(), 1), "restored events are re-planned: a new batch");
    // The page comes back into view after the hide: its own batch is
    // fetched again, a retry of it; the beacon between does not count.
    o.on_outcome(r.batch, Outcome::NetworkError, T0, 0);
    o.shown();
    assert_eq!(o.poll(o.wake_at().unwrap()).unwrap().attempt, 3);
}

#[test]
fn a_batch_part_of_which_went_by_beacon_is_re_planned() {
    let p = Policy { beacon_max_bytes: 1200, ..Policy::default() };
    let mut o = with(p);
    for i in 0..4 {
        o.push(big(&format!("b{i}"), 450, T0), T0);
    }
    o.flush();
    let s = o.poll(T0).unwrap();
    assert_eq!(s.ids.len(), 4);
    o.on_outcome(s.batch, Outcome::NetworkError, T0, 0);
    let bodies = o.beacon_bodies(T0);
    assert_eq!(bodies.len(), 2, "the batch is split across two beacons");
    // The browser took the first beacon and refused the second.
    o.beacon_refused(&bodies[1].1);
    let r = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!((r.ids.clone(), r.attempt), (bodies[1].1.clone(), 1), "a part of the batch is a new batch");
    o.on_outcome(r.batch, Outcome::NetworkError, T0, 0);
    let r2 = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!((r2.ids.clone(), r2.attempt), (bodies[1].1.clone(), 2), "and retried as itself");
    o.on_outcome(r2.batch, ok(), T0, 0);
    // Back in view: the beaconed part is sent once more, as a new batch too.
    o.shown();
    let rest = o.poll(T0 + 60_000).unwrap();
    assert_eq!((rest.ids.clone(), rest.attempt), (bodies[0].1.clone(), 1));
}

#[test]
fn beaconed_events_are_sent_again_when_the_page_is_shown() {
    // Hidden while the collector is down: the beacon is lost, the page
    // comes back and stays. Its events must not wait for a next page load.
    let mut o = ob();
    o.push(ev("a", false, T0), T0);
    o.push(ev("c", true, T0), T0);
    o.push(ev("b", false, T0), T0);
    assert_eq!(o.beacon_bodies(T0).iter().map(|b| b.1.len()).sum::<usize>(), 3);
    assert!(o.poll(T0 + 100_000).is_none(), "held while hidden");
    o.mark_clean();
    o.shown();
    assert!(o.dirty(), "the persisted copy loses its beacon marks");
    o.flush();
    let mut sent = Vec::new();
    while let Some(s) = o.poll(T0 + 1000) {
        assert_eq!(s.attempt, 1, "never fetched: the beacon body was a batch of its own");
        sent.extend(s.ids.clone());
        o.on_outcome(s.batch, ok(), T0 + 1000, 0);
    }
    assert_eq!(sent, strs(&["a", "c", "b"]));
    assert!(o.is_empty());
    // Nothing beaconed: showing changes nothing.
    let mut p = ob();
    p.push(ev("x", false, T0), T0);
    p.mark_clean();
    p.shown();
    assert!(!p.dirty());
}

#[test]
fn beacon_bodies_split_by_size_and_refusal_unmarks() {
    let p = Policy { beacon_max_bytes: 2000, ..Policy::default() };
    let mut o = with(p.clone());
    let items: Vec<Item> = (0..10).map(|i| big(&format!("b{i}"), 450, T0)).collect();
    for it in &items {
        o.push(it.clone(), T0);
    }
    o.push(big("huge", 5000, T0), T0);
    let bodies = o.beacon_bodies(T0);
    let mut all = Vec::new();
    for (body, ids_) in &bodies {
        let b: Batch = serde_json::from_str(body).unwrap();
        assert_eq!(&ids(&b), ids_);
        if ids_ != &strs(&["huge"]) {
            assert!(body.len() <= p.beacon_max_bytes, "{}", body.len());
        }
        all.extend(ids_.clone());
    }
    assert!(bodies.len() >= 4);
    let mut want: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    want.push("huge".into());
    assert_eq!(all, want);
    // The browser refused the first body: those events are ordinary again.
    o.beacon_refused(&bodies[0].1);
    o.flush();
    let s = o.poll(T0).unwrap();
    assert_eq!(s.ids, bodies[0].1);
    assert_eq!(s.attempt, 1, "a refused beacon was no attempt");
    o.on_outcome(s.batch, ok(), T0, 0);
    assert!(o.poll(T0 + 60_000).is_none());
    // The next hide re-beacons nothing: the rest were beaconed already.
    assert!(o.beacon_bodies(T0).is_empty());
}

#[test]
fn no_beacon_while_offline() {
    let mut o = ob();
    o.push(ev("a", true, T0), T0);
    o.set_online(false, T0, 0);
    assert!(o.beacon_bodies(T0).is_empty());
    o.set_online(true, T0, 0);
    assert_eq!(o.poll(T0).unwrap().ids, strs(&["a"]));
}

#[test]
fn default_beacon_bodies_fit_the_keepalive_budget() {
    // One limit, stated once: every default beacon body may also go as
    // the keepalive fetch that stands in for a refused beacon.
    assert_eq!(Policy::default().beacon_max_bytes, KEEPALIVE_MAX);
    let mut o = with(Policy { max_outbox_bytes: 4 * 1024 * 1024, ..Policy::default() });
    for i in 0..400 {
        o.push(big(&format!("k{i}"), 700, T0), T0);
    }
    let bodies = o.beacon_bodies(T0);
    assert!(bodies.len() >= 4, "{}", bodies.len());
    for (body, _) in &bodies {
        assert!(body.len() <= KEEPALIVE_MAX, "{}", body.len());
    }
    assert_eq!(bodies.iter().map(|b| b.1.len()).sum::<usize>(), 400);
}

/// A push extends the open group noted by the last planning instead of
/// planning the whole queue again; every push asserts (in tests) that the
/// note equals planning afresh. Here a push follows every other change to the
/// queue, so a change that left the note stale fails this test.
#[test]
fn a_push_after_any_other_change_batches_as_planning_afresh() {
    let mut o = with(Policy { max_events: 5, max_bytes: 2048, ..Policy::default() });
    let mut t = T0;
    let mut n = 0;
    let mut push = |o: &mut Outbox, k: usize, t: u64| {
        for _ in 0..k {
            n += 1;
            let id = format!("p{n}");
            let it = if n % 7 == 0 {
                ev(&id, true, t)
            } else if n % 5 == 0 {
                big(&id, 700, t)
            } else {
                ev(&id, false, t)
            };
            o.push(it, t);
        }
    };
    push(&mut o, 3, t);
    let beacons = o.beacon_bodies(t);
    push(&mut o, 2, t);
    o.shown();
    push(&mut o, 3, t);
    o.rewrite(|j| Some(j.replace("\"kind\"", "\"kind\" ")));
    push(&mut o, 2, t);
    let _ = o.beacon_bodies(t);
    push(&mut o, 1, t);
    o.beacon_refused(&beacons.iter().flat_map(|(_, ids)| ids.clone()).collect::<Vec<_>>());
    push(&mut o, 2, t);
    o.flush();
    let s = o.poll(t).expect("a batch is due");
    push(&mut o, 2, t);
    o.on_outcome(s.batch, status(413), t, 0);
    push(&mut o, 2, t);
    let s = o.poll(t).expect("a half is due");
    push(&mut o, 1, t);
    o.on_outcome(s.batch, status(503), t, 0);
    push(&mut o, 2, t);
    t += 60_000;
    let s = o.poll(t).expect("the retry is due");
    o.on_outcome(s.batch, ok(), t, 0);
    o.push(big("near-full-1", 700, t), t);
    o.push(big("near-full-2", 700, t), t);
    // A site name that long leaves less room than the open group holds.
    o.set_site("s".repeat(1000));
    push(&mut o, 2, t);
    o.set_policy(Policy { max_events: 3, max_bytes: 1500, ..Policy::default() });
    push(&mut o, 2, t);
    let saved = o.persist();
    o.clear();
    push(&mut o, 2, t);
    o.restore(&saved, t);
    push(&mut o, 2, t);
    // Past the age budget: the push expires the oldest.
    t += Policy::default().max_age_ms + 1;
    push(&mut o, 2, t);
    o.withdraw();
    push(&mut o, 4, t);
    assert_eq!(o.len(), 4);
}
