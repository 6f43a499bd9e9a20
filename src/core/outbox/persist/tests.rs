use super::*;
use crate::core::outbox::fixtures::*;
use crate::core::outbox::policy::HOUR_MS;
use crate::core::outbox::{Item, Outbox, Outcome, Policy, Send};
use goaltag_wire::{Batch, Event, Kind};

#[test]
fn persist_then_restore_keeps_ids_json_flags_and_drop_counts() {
    let mut o = with(Policy { max_outbox: 5, ..Policy::default() });
    let mut conv = ev("c-1", true, T0 + 3);
    let mut e = Event::new("w-1".into(), Kind::Event, T0);
    e.title = Some("t\u{2028}\"x\r".into());
    e.label = Some("tab\there\nnewline \u{1F389} \\".into());
    let weird = Item { id: "w-1".into(), json: e.to_json(), conversion: false, created_ms: T0, beacon_sent: false };
    push_n(&mut o, "e", 5, T0); // e0 e1 e2 e3 e4
    o.push(weird.clone(), T0); // drops e0
    o.push(conv.clone(), T0 + 3); // drops e1
    o.flush();
    let s = o.poll(T0 + 3).unwrap(); // in flight: still persisted
    let before: Vec<(String, String)> = o.entries.iter().map(|e| (e.item.id.clone(), e.item.json.clone())).collect();
    assert!(o.dirty());
    let text = o.persist();
    o.mark_clean();
    assert!(!o.dirty());

    let mut fresh = ob();
    assert_eq!(fresh.restore(&text, T0 + 10), 5);
    let after: Vec<(String, String)> = fresh.entries.iter().map(|e| (e.item.id.clone(), e.item.json.clone())).collect();
    assert_eq!(after, before);
    conv.beacon_sent = false;
    assert_eq!(fresh.entries[4].item, conv);
    assert!(fresh.dirty());
    let r = fresh.poll(T0 + 10).expect("restored events are due at once");
    let b = wire(&r);
    assert_eq!(b.dropped.overflow, 2, "unreported drops survive the reload");
    assert_eq!(r.attempt, 1, "sent once before the reload, but restored events are a new batch");
    assert_eq!(r.ids, s.ids);
    let got: Vec<_> = drain_after(&mut fresh, r, T0 + 10).into_iter().flat_map(|b| ids(&b)).collect();
    assert_eq!(got, before.iter().map(|x| x.0.clone()).collect::<Vec<_>>());
    assert_eq!(fresh.persist(), "gt1\t0\t0\t0\t0");
}

fn drain_after(o: &mut Outbox, first: Send, now: u64) -> Vec<Batch> {
    let mut out = vec![wire(&first)];
    o.on_outcome(first.batch, ok(), now, 0);
    o.flush();
    out.extend(drain(o, now));
    out
}

#[test]
fn restore_merges_skips_known_ids_and_drops_expired() {
    let mut a = with(Policy { max_age_ms: 48 * HOUR_MS, ..Policy::default() });
    a.push(ev("old", false, T0 - 25 * HOUR_MS), T0 - 25 * HOUR_MS);
    a.push(ev("x", false, T0), T0);
    a.push(ev("y", false, T0), T0);
    let text = a.persist();
    let mut b = ob();
    b.push(ev("x", false, T0), T0);
    assert_eq!(b.restore(&text, T0), 1, "only y is new");
    assert_eq!(b.len(), 2);
    assert_eq!(b.dropped().expired, 1);
    assert_eq!(b.restore(&text, T0), 0, "restoring twice adds nothing");
    assert_eq!(b.len(), 2);
    // Restored (older) events go ahead of the still-open one.
    b.flush();
    assert_eq!(b.poll(T0).unwrap().ids, strs(&["y", "x"]));
}

#[test]
fn restore_survives_garbage_and_truncation() {
    let mut o = ob();
    push_n(&mut o, "e", 6, T0);
    o.push(ev("c", true, T0), T0);
    let text = o.persist();
    let originals: Vec<Item> = o.entries.iter().map(|e| e.item.clone()).collect();
    for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let mut f = ob();
        let n = f.restore(&text[..cut], T0);
        assert_eq!(n, f.len());
        for e in &f.entries {
            assert!(originals.contains(&e.item), "cut {cut}: a damaged event came back: {:?}", e.item);
        }
    }
    let garbage = [
        "",
        "\n\n\n",
        "gt2\nwhatever",
        "GT1",
        "gt1\tx\ty\tz",
        "gt1\n\t\t\t\t\t",
        "gt1\nid\tnotanumber\t0\t0\t2\t{}",
        "gt1\nid\t1\t0\t0\t99\t{}",
        "gt1\nid\t1\t999\t0\t2\t{}",
        "gt1\nid\t1\t0\t0\t18446744073709551616\t{}",
        "gt1\n\t1\t0\t0\t2\t{}",
        "gt1\nid\t1\t0\t0\t1\t{",
        "\u{0}\u{FFFF}\t\t\n\r\n\u{1F389}",
    ];
    for g in garbage {
        let mut f = ob();
        assert_eq!(f.restore(g, 2), 0, "{g:?}");
        assert!(f.is_empty());
    }
    // A good line among bad ones still comes back, even with CRLF endings.
    let good = o.persist().lines().nth(1).unwrap().to_string();
    let mixed = format!("gt1\r\nbad\r\n{good}\r\nworse\t\t\r\n");
    let mut f = ob();
    assert_eq!(f.restore(&mixed, T0), 1);
    assert_eq!(f.entries[0].item, originals[0]);
    // Pseudo-random bytes never panic.
    let mut x: u32 = 99;
    for _ in 0..300 {
        let mut t = String::from("gt1\n");
        for _ in 0..40 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            t.push(['\t', '\n', '{', '}', '1', 'a', '0', '9'][(x >> 28) as usize % 8]);
        }
        ob().restore(&t, T0);
    }
}

#[test]
fn beacon_sent_events_are_resent_exactly_once_after_restore() {
    let mut o = ob();
    o.push(ev("a", false, T0), T0);
    o.push(ev("c", true, T0), T0);
    o.push(ev("b", false, T0), T0);
    let bodies = o.beacon_bodies(T0);
    assert_eq!(bodies.iter().map(|b| b.1.len()).sum::<usize>(), 3);
    let text = o.persist();

    let mut next = ob();
    assert_eq!(next.restore(&text, T0 + 5000), 3);
    let mut sent = Vec::new();
    let mut now = T0 + 5000;
    // A failure on the way is retried as usual, still once per ID.
    let s = next.poll(now).unwrap();
    assert_eq!(s.attempt, 1);
    next.on_outcome(s.batch, Outcome::NetworkError, now, 0);
    for _ in 0..10 {
        now += 2000;
        next.flush();
        while let Some(s) = next.poll(now) {
            sent.extend(s.ids.clone());
            next.on_outcome(s.batch, ok(), now, 0);
        }
    }
    assert_eq!(sent, strs(&["a", "c", "b"]));
    assert!(next.is_empty());
    assert_eq!(next.persist(), "gt1\t0\t0\t0\t0");
    assert!(next.dirty(), "the shell must rewrite storage, or the next load resends them");
}
