//! What the outbox's tests share: events, outboxes, and reading what they send.

use super::*;
use goaltag_wire::{Batch, Event, Kind};

pub(super) const T0: u64 = 1_764_000_000_000;

pub(super) const SITE: &str = "demo-shop";

pub(super) fn ev(id: &str, conversion: bool, t: u64) -> Item {
    let kind = if conversion { Kind::Conversion } else { Kind::Click };
    Item { id: id.into(), json: Event::new(id.into(), kind, t).to_json(), conversion, created_ms: t, beacon_sent: false }
}

/// An event whose JSON is about `size` bytes.
pub(super) fn big(id: &str, size: usize, t: u64) -> Item {
    let mut e = Event::new(id.into(), Kind::Event, t);
    // About `size` bytes of JSON; no field over the wire's 2048 characters,
    // which the writer would cut.
    let mut left = size.saturating_sub(60);
    for f in [&mut e.label, &mut e.title, &mut e.category] {
        let n = left.min(2000);
        *f = Some("x".repeat(n));
        left -= n;
    }
    Item { id: id.into(), json: e.to_json(), conversion: false, created_ms: t, beacon_sent: false }
}

/// An outbox with small batches (20 events, 16 KiB), so the tests of the
/// queue's mechanics need few events; the defaults have tests of their own.
pub(super) fn ob() -> Outbox {
    Outbox::new(SITE.into(), small())
}

/// The policy of [`ob`].
pub(super) fn small() -> Policy {
    Policy { max_events: 20, max_bytes: 16 * 1024, ..Policy::default() }
}

pub(super) fn with(p: Policy) -> Outbox {
    Outbox::new(SITE.into(), p)
}

pub(super) fn push_n(o: &mut Outbox, prefix: &str, n: usize, t: u64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}{i}");
            o.push(ev(&id, false, t), t);
            id
        })
        .collect()
}

pub(super) fn wire(s: &Send) -> Batch {
    let b: Batch = serde_json::from_str(&s.body).expect(&s.body);
    assert_eq!(b.site, SITE);
    assert_eq!(b.attempt, s.attempt);
    assert_eq!(b.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), s.ids, "ids match the body");
    b
}

pub(super) fn status(code: u16) -> Outcome {
    Outcome::Status { code, retry_after_ms: None }
}

pub(super) fn ok() -> Outcome {
    status(204)
}

/// Sends and acks everything due at `now`; the batches in order.
pub(super) fn drain(o: &mut Outbox, now: u64) -> Vec<Batch> {
    let mut out = Vec::new();
    while let Some(s) = o.poll(now) {
        out.push(wire(&s));
        o.on_outcome(s.batch, ok(), now, 7);
    }
    out
}

pub(super) fn ids(b: &Batch) -> Vec<String> {
    b.events.iter().map(|e| e.id.clone()).collect()
}

pub(super) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub(super) fn one_in_flight(n: usize) -> (Outbox, Send) {
    let mut o = ob();
    push_n(&mut o, "e", n, T0);
    o.flush();
    let s = o.poll(T0).unwrap();
    (o, s)
}
