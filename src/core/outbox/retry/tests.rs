use super::*;
use crate::core::outbox::fixtures::*;

#[test]
fn every_2xx_is_delivered() {
    for code in [200, 201, 202, 204, 299] {
        let (mut o, s) = one_in_flight(3);
        o.on_outcome(s.batch, status(code), T0, 0);
        assert!(o.is_empty(), "{code}");
        assert!(o.dropped().is_empty());
        assert_eq!(o.wake_at(), None);
    }
}

#[test]
fn transient_failures_retry_the_same_events_with_a_higher_attempt() {
    let outcomes =
        [status(408), status(425), status(429), status(500), status(502), status(503), status(504), status(599), Outcome::NetworkError];
    for out in outcomes {
        let (mut o, s) = one_in_flight(3);
        o.on_outcome(s.batch, out, T0, 1234);
        assert_eq!(o.len(), 3, "{out:?}");
        assert!(o.poll(T0).is_none(), "{out:?}: not at once");
        let at = o.wake_at().unwrap();
        assert_eq!(at, T0 + 1 + 1234 % 500, "{out:?}");
        let r = o.poll(at).unwrap();
        assert_eq!(r.ids, s.ids);
        assert_eq!(r.attempt, 2);
        let (b1, b2) = (wire(&s), wire(&r));
        assert_eq!(b1.events, b2.events, "same bytes, same events");
        assert_ne!(r.batch, s.batch);
        o.on_outcome(r.batch, status(503), at, 0);
        let r3 = o.poll(o.wake_at().unwrap()).unwrap();
        assert_eq!(r3.attempt, 3);
        o.on_outcome(r3.batch, ok(), at, 0);
        assert!(o.is_empty());
        assert!(o.dropped().is_empty());
    }
}

#[test]
fn poison_is_dropped_counted_and_the_queue_keeps_flowing() {
    for code in [400, 401, 403, 404, 405, 409, 410, 422, 451, 501] {
        let mut o = ob();
        push_n(&mut o, "p", 2, T0);
        o.flush();
        push_n(&mut o, "q", 1, T0);
        o.flush();
        let s = o.poll(T0).unwrap();
        o.on_outcome(s.batch, status(code), T0, 0);
        assert_eq!(o.dropped().poison, 2, "{code}");
        let next = o.poll(T0).expect("the next batch goes at once");
        assert_eq!(next.ids, strs(&["q0"]));
        let b = wire(&next);
        assert_eq!(b.dropped.poison, 2, "{code}: reported on the wire");
        assert_eq!(b.attempt, 1);
        o.on_outcome(next.batch, ok(), T0, 0);
        assert!(o.is_empty());
    }
}

#[test]
fn status_413_splits_the_batch_and_each_half_is_a_new_batch() {
    let (mut o, s) = one_in_flight(5);
    o.on_outcome(s.batch, status(413), T0, 0);
    let a = o.poll(T0).expect("halves go without backoff");
    assert_eq!(a.ids, strs(&["e0", "e1", "e2"]));
    assert_eq!(a.attempt, 1, "a half is a new batch, not a retry of the whole");
    // The first half is still too large: halve again.
    o.on_outcome(a.batch, status(413), T0, 0);
    let a1 = o.poll(T0).unwrap();
    assert_eq!((a1.ids.clone(), a1.attempt), (strs(&["e0", "e1"]), 1));
    o.on_outcome(a1.batch, ok(), T0, 0);
    let a2 = o.poll(T0).unwrap();
    assert_eq!((a2.ids.clone(), a2.attempt), (strs(&["e2"]), 1));
    // A half that fails is retried as itself: that is a retry.
    o.on_outcome(a2.batch, Outcome::NetworkError, T0, 0);
    let a2 = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!((a2.ids.clone(), a2.attempt), (strs(&["e2"]), 2));
    o.on_outcome(a2.batch, ok(), T0, 0);
    let b = o.poll(o.wake_at().unwrap()).unwrap();
    assert_eq!((b.ids.clone(), b.attempt), (strs(&["e3", "e4"]), 1));
    assert!(!b.body.contains("\"attempt\""), "a first send carries no attempt: {}", b.body);
    o.on_outcome(b.batch, ok(), T0, 0);
    assert!(o.is_empty());
    assert!(o.dropped().is_empty());
}

#[test]
fn status_413_for_a_single_event_is_poison() {
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, status(413), T0, 0);
    assert!(o.is_empty());
    assert_eq!(o.dropped().poison, 1);
    assert!(o.poll(T0 + 100_000).is_none());
}

#[test]
fn retry_after_is_honoured_and_capped() {
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(7000) }, T0, 10);
    assert_eq!(o.wake_at(), Some(T0 + 7000));
    assert!(o.poll(T0 + 6999).is_none());
    let r = o.poll(T0 + 7000).unwrap();
    // A Retry-After shorter than the jittered delay does not shorten it.
    o.on_outcome(r.batch, Outcome::Status { code: 429, retry_after_ms: Some(1) }, T0, 900);
    assert_eq!(o.wake_at(), Some(T0 + 1 + 900));
    let r = o.poll(T0 + 901).unwrap();
    o.on_outcome(r.batch, Outcome::Status { code: 503, retry_after_ms: Some(u64::MAX) }, T0, 0);
    assert_eq!(o.wake_at(), Some(T0 + 300_000));
}

#[test]
fn retry_after_is_delay_seconds() {
    for (v, want) in [
        ("120", Some(120_000)),
        (" 7 ", Some(7000)),
        ("0", Some(0)),
        ("18446744073709551", Some(18_446_744_073_709_551_000)),
        ("18446744073709552", Some(u64::MAX)),
        ("99999999999999999999999", Some(u64::MAX)),
        ("", None),
        (" ", None),
        ("soon", None),
        ("-5", None),
        ("+5", None),
        ("1.5", None),
        ("5s", None),
        ("1 2", None),
    ] {
        assert_eq!(retry_after_ms(v, None, T0), want, "{v:?}");
    }
    assert_eq!(retry_after_ms("120", Some(T0 + 5000), T0), Some(120_000), "seconds win over any date reading");
    assert_eq!(Outcome::answer(503, Some("60"), None, T0), Outcome::Status { code: 503, retry_after_ms: Some(60_000) });
    assert_eq!(Outcome::answer(204, None, None, T0), ok());
    // As read from the header, honoured and capped.
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, Outcome::answer(503, Some("86400"), None, T0), T0, 0);
    assert_eq!(o.wake_at(), Some(T0 + 300_000));
}

/// The HTTP-date form (`Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`) is the
/// time until then on the browser's clock, bounded like the seconds form
/// (T0 is Mon, 24 Nov 2025 16:00:00 GMT; the browser's `Date.parse` gives
/// the date as ms, see tests/browser.rs for the real header).
#[test]
fn retry_after_as_an_http_date_is_the_time_until_then() {
    const DATE: &str = "Mon, 24 Nov 2025 16:02:00 GMT";
    assert_eq!(retry_after_ms(DATE, Some(T0 + 120_000), T0), Some(120_000));
    assert_eq!(retry_after_ms(DATE, Some(T0 - 3_600_000), T0), Some(0), "a past date: no delay");
    assert_eq!(retry_after_ms("Mon, 24 Foo 2025", None, T0), None, "not a date the browser reads: the usual backoff");
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, Outcome::answer(429, Some(DATE), Some(T0 + 120_000), T0), T0, 0);
    assert_eq!(o.wake_at(), Some(T0 + 120_000));
    assert!(o.poll(T0 + 119_999).is_none());
    assert!(o.poll(T0 + 120_000).is_some());
    // A date a year ahead waits the cap, as 31536000 seconds would.
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, Outcome::answer(503, Some("Tue, 24 Nov 2026 16:00:00 GMT"), Some(T0 + 31_536_000_000), T0), T0, 0);
    assert_eq!(o.wake_at(), Some(T0 + 300_000));
}

/// The delay after `n` consecutive failures, the last with `rand`.
fn delay_after(n: u32, rand: u32) -> u64 {
    let (mut o, mut s) = one_in_flight(1);
    let mut now = T0;
    for i in 1..=n {
        o.on_outcome(s.batch, Outcome::NetworkError, now, if i == n { rand } else { 0 });
        let at = o.wake_at().unwrap();
        if i == n {
            return at - now;
        }
        now = at;
        s = o.poll(now).unwrap();
    }
    unreachable!()
}

#[test]
fn full_jitter_stays_within_the_doubling_cap() {
    let mut x: u32 = 0x1234_5678;
    for n in 1..=9u32 {
        let cap = (500u64 << (n - 1)).min(30_000);
        let (mut lo, mut hi) = (u64::MAX, 0);
        let mut rands = vec![0, 1, cap as u32 - 1, cap as u32, u32::MAX];
        for _ in 0..300 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            rands.push(x);
        }
        for r in rands {
            let d = delay_after(n, r);
            assert!((1..=cap).contains(&d), "n={n} rand={r} delay={d} cap={cap}");
            lo = lo.min(d);
            hi = hi.max(d);
        }
        // Full jitter: the whole range is used.
        assert!(lo <= cap / 10 && hi >= cap * 9 / 10, "n={n}: {lo}..{hi}");
    }
}

#[test]
fn backoff_is_capped_and_reset_by_success() {
    assert_eq!(delay_after(30, u32::MAX), 1 + u64::from(u32::MAX) % 30_000);
    assert!(delay_after(40, 29_999) == 30_000);
    let (mut o, s) = one_in_flight(1);
    let mut now = T0;
    let mut s = s;
    for _ in 0..10 {
        o.on_outcome(s.batch, Outcome::NetworkError, now, 0);
        now = o.wake_at().unwrap();
        s = o.poll(now).unwrap();
    }
    o.on_outcome(s.batch, ok(), now, 0);
    o.push(ev("n", true, now), now);
    let s = o.poll(now).unwrap();
    o.on_outcome(s.batch, Outcome::NetworkError, now, 499_999);
    assert_eq!(o.wake_at(), Some(now + 1 + 499_999 % 500), "back to base_ms");
}

#[test]
fn offline_pauses_and_online_resumes_after_a_fresh_jittered_delay() {
    let mut o = ob();
    o.set_online(false, T0, 0);
    o.push(ev("c", true, T0), T0);
    assert_eq!(o.wake_at(), None);
    assert!(o.poll(T0 + 60_000).is_none());
    assert_eq!(o.len(), 1);
    o.set_online(true, T0 + 60_000, 1234);
    assert_eq!(o.wake_at(), Some(T0 + 60_000 + 1234 % 500));
    assert!(o.poll(T0 + 60_000).is_none());
    for r in [0u32, 7, 499, 500, u32::MAX] {
        let mut p = ob();
        p.set_online(false, T0, 0);
        p.set_online(true, T0, r);
        assert!(p.not_before < T0 + 500);
    }
    let s = o.poll(T0 + 60_234).unwrap();
    assert_eq!(s.ids, strs(&["c"]));
    // Going online twice does not reset anything.
    o.on_outcome(s.batch, Outcome::NetworkError, T0 + 60_234, 100);
    let at = o.wake_at().unwrap();
    o.set_online(true, T0 + 60_234, 0);
    assert_eq!(o.wake_at(), Some(at));
}

#[test]
fn coming_back_online_resets_backoff_but_not_retry_after() {
    let (mut o, s) = one_in_flight(1);
    o.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(60_000) }, T0, 0);
    o.set_online(false, T0 + 1, 0);
    o.set_online(true, T0 + 2, 0);
    assert_eq!(o.wake_at(), Some(T0 + 60_000));
    let (mut o, mut s) = one_in_flight(1);
    let mut now = T0;
    for _ in 0..6 {
        o.on_outcome(s.batch, Outcome::NetworkError, now, u32::MAX);
        now = o.wake_at().unwrap();
        s = o.poll(now).unwrap();
    }
    o.on_outcome(s.batch, Outcome::NetworkError, now, u32::MAX);
    assert!(o.wake_at().unwrap() - now > 10_000);
    o.set_online(false, now, 0);
    o.set_online(true, now + 5, 3);
    assert_eq!(o.wake_at(), Some(now + 8), "resumes soon, not after the long backoff");
}

#[test]
fn beaconed_events_in_a_failed_fetch_are_held_not_retried() {
    let (mut o, s) = one_in_flight(3);
    o.push(ev("open", false, T0), T0);
    assert_eq!(o.beacon_bodies(T0)[0].1.len(), 4);
    o.on_outcome(s.batch, status(500), T0, 0);
    assert!(o.poll(T0 + 100_000).is_none());
    assert_eq!(o.len(), 4);
    // Poison still removes them: they would never be accepted.
    let (mut o, s) = one_in_flight(2);
    o.beacon_bodies(T0);
    o.on_outcome(s.batch, status(400), T0, 0);
    assert!(o.is_empty());
}
