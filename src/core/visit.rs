//! Visits: a visit ends after a stretch of inactivity (30 minutes unless
//! configured). It counts its pages and its engaged time (milliseconds the
//! page was visible, summed across its pages) for `pages_per_visit` and
//! `duration` goals. The shell stores [`Visits::serialise`] only with
//! `analytics_storage` granted; without it a visit lives as long as the page.

use crate::prelude::*;

/// Default inactivity that ends a visit: 30 minutes.
pub const DEFAULT_VISIT_TIMEOUT_MS: u64 = 30 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
/// One visit: a run of activity with no gap longer than the timeout.
pub struct Visit {
    /// A random UUID, sent as `visit_id`.
    pub id: String,
    /// When the visit started and when it was last active, ms since the epoch.
    pub started: u64,
    /// When the visit was last active, ms since the epoch.
    pub last: u64,
    /// Page views in the visit (for `pages_per_visit` goals).
    pub pages: u32,
    /// Visible time summed over the visit's pages (for `duration` goals).
    pub engaged_ms: u64,
}

/// The current visit, if any, and the rule that ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visits {
    /// Inactivity that ends a visit.
    pub timeout_ms: u64,
    current: Option<Visit>,
}

impl Default for Visits {
    fn default() -> Self {
        Visits::new(DEFAULT_VISIT_TIMEOUT_MS)
    }
}

impl Visits {
    /// No visit yet; a visit ends after `timeout_ms` of inactivity.
    pub fn new(timeout_ms: u64) -> Self {
        Visits { timeout_ms, current: None }
    }

    /// The visit still live at `now`, without counting `now` as activity.
    pub fn current(&self, now: u64) -> Option<&Visit> {
        self.current.as_ref().filter(|v| self.live(v, now))
    }

    /// A visit is over once `timeout_ms` have passed since its last activity
    /// (exactly `timeout_ms` is over). A clock that went back counts as no time.
    fn live(&self, v: &Visit, active_from: u64) -> bool {
        active_from.saturating_sub(v.last) < self.timeout_ms
    }

    /// Activity at `now` (a command, a click): continues the live visit or
    /// starts a new one. Returns the visit and whether it is new.
    pub fn touch(&mut self, now: u64, new_id: &mut dyn FnMut() -> String) -> (&Visit, bool) {
        let (v, new) = self.active(now, now, new_id);
        (v, new)
    }

    /// A page view at `now`: activity that also counts a page.
    pub fn page(&mut self, now: u64, new_id: &mut dyn FnMut() -> String) -> (&Visit, bool) {
        let (v, new) = self.active(now, now, new_id);
        v.pages = v.pages.saturating_add(1);
        (v, new)
    }

    /// `ms` of visible time that ended at `now`. The page was in view all that
    /// time, so the visit was active from `now - ms`: a long read with no clicks
    /// does not end it.
    pub fn engaged(&mut self, ms: u64, now: u64, new_id: &mut dyn FnMut() -> String) -> (&Visit, bool) {
        let (v, new) = self.active(now.saturating_sub(ms), now, new_id);
        v.engaged_ms = v.engaged_ms.saturating_add(ms);
        (v, new)
    }

    fn active(&mut self, from: u64, now: u64, new_id: &mut dyn FnMut() -> String) -> (&mut Visit, bool) {
        let new = !matches!(&self.current, Some(v) if self.live(v, from));
        if new {
            self.current = None;
        }
        let v = self.current.get_or_insert_with(|| Visit { id: new_id(), started: from, last: now, pages: 0, engaged_ms: 0 });
        v.last = v.last.max(now);
        (v, new)
    }

    /// Short text for storage: `1.<id>.<started>.<last>.<pages>.<engaged_ms>`.
    /// Empty when there is no visit.
    pub fn serialise(&self) -> String {
        let Some(v) = &self.current else { return String::new() };
        let mut s = String::with_capacity(80);
        s.push_str("1.");
        s.push_str(&v.id);
        for n in [v.started, v.last, u64::from(v.pages), v.engaged_ms] {
            s.push('.');
            push_u64(&mut s, n);
        }
        s
    }

    /// The stored visit, read once storage is allowed. With no live visit
    /// it is restored ([`Visits::restore`]). A visit that began in memory
    /// meanwhile (consent unknown or denied when the page loaded) and that
    /// the stored one was still live at joins it: the stored ID goes on,
    /// pages and engaged time add up. Returns the ID it replaced.
    pub fn join_stored(&mut self, s: &str, now: u64) -> Option<String> {
        let t = self.timeout_ms;
        let v = parse_visit(s)?;
        match &mut self.current {
            Some(c) if now.saturating_sub(c.last) < t => {
                if v.id == c.id || c.started.saturating_sub(v.last) >= t {
                    return None;
                }
                c.started = c.started.min(v.started);
                c.last = c.last.max(v.last);
                c.pages = c.pages.saturating_add(v.pages);
                c.engaged_ms = c.engaged_ms.saturating_add(v.engaged_ms);
                Some(core::mem::replace(&mut c.id, v.id))
            }
            cur => {
                *cur = Some(v).filter(|v| now.saturating_sub(v.last) < t);
                None
            }
        }
    }

    /// Forgets the current visit: the next activity starts a new one.
    pub fn end(&mut self) {
        self.current = None;
    }

    /// Restores what [`serialise`](Self::serialise) wrote. Damaged or foreign
    /// text, or a visit already over at `now`, leaves no visit: the next
    /// activity starts a new one.
    pub fn restore(&mut self, s: &str, now: u64) {
        self.current = None;
        self.join_stored(s, now);
    }
}

fn parse_visit(s: &str) -> Option<Visit> {
    let mut it = s.split('.');
    if it.next()? != "1" {
        return None;
    }
    let id = it.next().filter(|id| !id.is_empty() && id.len() <= 64)?.to_string();
    let mut n = [0u64; 4];
    for slot in &mut n {
        *slot = parse_u64(it.next()?)?;
    }
    if it.next().is_some() {
        return None;
    }
    Some(Visit { id, started: n[0], last: n[1], pages: u32::try_from(n[2]).ok()?, engaged_ms: n[3] })
}

use crate::core::text::{parse_u64, push_u64};

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60 * 1000;
    const T0: u64 = 1_700_000_000_000;

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("v{}", n)
        }
    }

    #[test]
    fn a_visit_begun_in_memory_joins_the_stored_one_it_continues() {
        let mut ids = ids();
        let mut stored = Visits::default();
        stored.page(T0, &mut ids);
        stored.engaged(5_000, T0 + 10_000, &mut ids);
        let text = stored.serialise();
        // Page 2 in memory, 20 minutes later: two pages, 1 s visible.
        let mut v = Visits::default();
        v.page(T0 + 20 * MIN, &mut ids);
        v.page(T0 + 21 * MIN, &mut ids);
        v.engaged(1_000, T0 + 21 * MIN, &mut ids);
        assert_eq!(v.join_stored(&text, T0 + 22 * MIN).as_deref(), Some("v2"));
        let j = v.current(T0 + 22 * MIN).unwrap();
        assert_eq!((j.id.as_str(), j.started, j.last, j.pages, j.engaged_ms), ("v1", T0, T0 + 21 * MIN, 3, 6_000));
        // The stored visit had ended when the one in memory began: it stays apart.
        let mut late = Visits::default();
        late.page(T0 + 10_000 + 30 * MIN, &mut ids);
        assert_eq!(late.join_stored(&text, T0 + 31 * MIN), None);
        assert_eq!(late.current(T0 + 31 * MIN).unwrap().id, "v3");
        // No visit in memory: the stored one is restored, if still live.
        let mut none = Visits::default();
        assert_eq!(none.join_stored(&text, T0 + MIN), None);
        assert_eq!(none.current(T0 + MIN).unwrap().id, "v1");
        assert_eq!(v.join_stored(&v.serialise(), T0 + 22 * MIN), None, "itself: nothing to join");
    }

    #[test]
    fn timeout_boundary() {
        let mut ids = ids();
        let mut v = Visits::default();
        assert_eq!(v.current(T0), None);
        let (first, new) = v.page(T0, &mut ids);
        assert_eq!((first.id.as_str(), new), ("v1", true));
        // 29:59.999 of silence continues the visit ...
        let (same, new) = v.touch(T0 + 30 * MIN - 1, &mut ids);
        assert_eq!((same.id.as_str(), new), ("v1", false));
        // ... and inactivity is measured from the last activity, not the start.
        let last = T0 + 30 * MIN - 1;
        assert_eq!(v.current(last + 30 * MIN - 1).map(|x| x.id.as_str()), Some("v1"));
        assert_eq!(v.current(last + 30 * MIN), None, "exactly the timeout ends it");
        let (next, new) = v.page(last + 30 * MIN, &mut ids);
        assert_eq!((next.id.as_str(), new, next.pages), ("v2", true, 1));
    }

    #[test]
    fn configurable_timeout() {
        let mut ids = ids();
        let mut v = Visits::new(5 * MIN);
        v.page(T0, &mut ids);
        assert!(v.current(T0 + 5 * MIN - 1).is_some());
        assert!(v.current(T0 + 5 * MIN).is_none());
    }

    #[test]
    fn counts_pages_and_engaged_time_across_pages() {
        let mut ids = ids();
        let mut v = Visits::default();
        v.page(T0, &mut ids);
        v.engaged(20_000, T0 + 25_000, &mut ids);
        v.page(T0 + 30_000, &mut ids);
        v.engaged(15_000, T0 + 50_000, &mut ids);
        let (cur, new) = v.page(T0 + 60_000, &mut ids);
        assert!(!new);
        assert_eq!((cur.pages, cur.engaged_ms, cur.started, cur.last), (3, 35_000, T0, T0 + 60_000));
    }

    #[test]
    fn a_long_visible_read_keeps_the_visit() {
        let mut ids = ids();
        let mut v = Visits::default();
        v.page(T0, &mut ids);
        // 40 minutes in view without a click, reported when the tab is hidden.
        let (cur, new) = v.engaged(40 * MIN, T0 + 40 * MIN, &mut ids);
        assert_eq!((cur.id.as_str(), new, cur.engaged_ms), ("v1", false, 40 * MIN));
        // Visible time after a long absence belongs to a new visit.
        let (cur, new) = v.engaged(MIN, T0 + 100 * MIN, &mut ids);
        assert_eq!((cur.id.as_str(), new, cur.engaged_ms, cur.pages), ("v2", true, MIN, 0));
        assert_eq!(cur.started, T0 + 99 * MIN);
    }

    #[test]
    fn clock_going_back_is_no_time() {
        let mut ids = ids();
        let mut v = Visits::default();
        v.page(T0, &mut ids);
        let (cur, new) = v.touch(T0 - 10 * MIN, &mut ids);
        assert_eq!((cur.id.as_str(), new, cur.last), ("v1", false, T0));
    }

    #[test]
    fn serialise_and_restore() {
        let mut ids = || "0b6e8f0e-7d4c-4c7e-9d2a-1f2e3d4c5b6a".to_string();
        let mut v = Visits::default();
        assert_eq!(v.serialise(), "");
        v.page(T0, &mut ids);
        v.engaged(1234, T0 + 2000, &mut ids);
        let s = v.serialise();
        assert_eq!(s, "1.0b6e8f0e-7d4c-4c7e-9d2a-1f2e3d4c5b6a.1700000000000.1700000002000.1.1234");

        let mut back = Visits::default();
        back.restore(&s, T0 + 2000 + 29 * MIN);
        assert_eq!(back, v);
        back.restore(&s, T0 + 2000 + 30 * MIN);
        assert_eq!(back.current(T0), None, "expired while stored");
    }

    #[test]
    fn damaged_text_restores_nothing() {
        for bad in [
            "",
            "x",
            "2.id.1.2.3.4",
            "1..1.2.3.4",
            "1.id.1.2.3",
            "1.id.1.2.3.4.5",
            "1.id.1.+2.3.4",
            "1.id.1.2.99999999999.4",
            "1.id.a.2.3.4",
        ] {
            let mut v = Visits::default();
            v.restore(bad, 0);
            assert_eq!(v.current(0), None, "{bad}");
        }
        let mut v = Visits::default();
        v.restore("1.id.0.0.0.0", 0);
        assert!(v.current(0).is_some());
    }

    #[test]
    fn numbers() {
        let mut s = String::new();
        for n in [0, 7, 10, u64::MAX] {
            s.clear();
            push_u64(&mut s, n);
            assert_eq!(parse_u64(&s), Some(n));
        }
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("+1"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("1 "), None);
    }
}
