//! Everything the tag stores, behind one gate: consent is asked before every
//! read and write ([`Tracker::sync`] and [`Tracker::persist`]), the keys and
//! the purpose each needs are listed once ([`STORED`]), and [`Stored`] owns
//! what comes from storage (the client ID), when the next write is due, and
//! this page's persisted outbox with its lease for the cross-tab handover.

use super::{Host, Tracker};
use crate::core::consent::Purpose;
use crate::core::goals::{Fact, Memory};
use crate::core::id::uuid_v4;
use crate::prelude::*;
use goaltag_wire::is_uuid;

/// Every key the tag writes with consent, with the purpose it needs (a key
/// ending in `.` is a prefix: one key per page). Revocation removes exactly
/// these; an opt-out removes them all.
pub const STORED: [(&str, Purpose); 5] = [
    (CLIENT_KEY, Purpose::Analytics),
    (VISIT_KEY, Purpose::Analytics),
    (GOALS_KEY, Purpose::Analytics),
    (OUTBOX_PREFIX, Purpose::Analytics),
    (CAMPAIGN_KEY, Purpose::Ads),
];

/// Each page (tab) persists its unacknowledged events under its own key,
/// `goaltag_outbox.<tab>`, as `<lease ms>\n<outbox text>`, so two tabs never
/// write one queue. A page adopts (reads, removes, resends with the same
/// IDs) the queue of a page that is gone, whether it starts after that page
/// went or was open all along:
///
/// - A page that starts adopts at once the queues released on page hide
///   (lease 0): their pages are going or gone.
/// - Where the browser has Web Locks ([`Tracker::web_locks`]), every page
///   holds a lock named after its own key for life and waits for the lock of
///   every other page's key it sees (unless it adopted it on starting): in
///   storage when it starts, and in the `storage` events of pages that start
///   later ([`Tracker::storage_changed`]). The grant ([`Tracker::lock_free`])
///   means that page is gone; its queue is adopted and the key removed inside
///   the grant, and the adopting page keeps that lock for its life, so the
///   other open pages waiting for it are granted it only once this page is
///   gone too, and find the key removed: a queue is adopted once. Leases
///   decide nothing else: a live page's queue is never
///   taken, however late its lease (a background tab's timers are throttled).
/// - Without Web Locks, leases decide: a queue released or whose lease is
///   older than [`LEASE_MS`] is adopted when the page starts, on a `storage`
///   event of that key, or on the wake-up due when a lease it waits on would
///   run out.
pub const OUTBOX_PREFIX: &str = "goaltag_outbox.";

/// A live page with unacknowledged events renews its lease a third of this often.
pub const LEASE_MS: u64 = 15_000;

/// The client ID (analytics storage).
pub const CLIENT_KEY: &str = "goaltag_cid";

/// The current visit (analytics storage).
pub const VISIT_KEY: &str = "goaltag_visit";

/// What the goals already counted (analytics storage).
pub const GOALS_KEY: &str = "goaltag_goals";

/// The campaign touch (ad storage).
pub const CAMPAIGN_KEY: &str = "goaltag_campaign";

/// The one exception to the consent gate: `goaltag('opt_out')` writes it
/// without consent because it records a refusal, and it must outlive every
/// purge. It is read at [`Tracker::begin`] and written or removed only by
/// [`Tracker::opt_out`] / [`Tracker::opt_in`].
pub const OPT_OUT_KEY: &str = "goaltag_optout";

/// Storage writes are coalesced: at most one round this long after a change
/// (and at once when the page hides), never on the click path itself.
pub const SAVE_DELAY_MS: u64 = 1000;

/// What the tracker keeps about storage.
#[derive(Debug, Default)]
pub(super) struct Stored {
    /// Pseudonymous browser ID: only while analytics storage is granted.
    pub(super) client_id: Option<String>,
    /// Stored state was read since analytics / ad storage became allowed.
    pub(super) loaded: (bool, bool),
    /// When the coalesced storage write is due.
    pub(super) save_at: Option<u64>,
    /// This page's outbox key, and when its lease was last written (0:
    /// released, the page is going away).
    pub(super) outbox_key: String,
    pub(super) lease_at: u64,
    /// The browser has Web Locks: they, not leases, tell a gone page.
    pub(super) locks: bool,
    /// Other pages' outbox keys this page waits on, with the lease last read
    /// (without Web Locks: it is looked at again when that lease runs out).
    /// With Web Locks the lease is 0 while this page waits for the key's
    /// lock, so each page is waited for with one lock request however often
    /// its key comes and goes, and [`HELD`] once this page holds it.
    pub(super) watched: Vec<(String, u64)>,
    /// Keys of `watched` whose lock the shell is yet to wait for (see
    /// [`Tracker::take_probes`]).
    pub(super) probes: Vec<String>,
    /// What storage holds under the keys a round writes, as far as this
    /// page knows: a round writes only what changed.
    pub(super) written: Written,
}

/// The text this page last read or wrote under each key a round writes
/// (`None`: not known, so the next round writes it; `""` under the campaign
/// and outbox keys: removed). A round that would write the same text again
/// writes nothing: on a page that records nothing more, the rounds after
/// its page view was acknowledged, and its page hide, touch no storage (each
/// write is a call out of the wasm and a message to the browser's storage).
/// A key another tab wrote since is then left with that tab's text, the
/// newer one (with the same visit, it knows more).
#[derive(Debug, Default)]
pub(super) struct Written {
    visit: Option<String>,
    goals: Option<String>,
    campaign: Option<String>,
    outbox: Option<String>,
}

/// Writes `text` under `key` (with `remove_empty`, an empty text removes the
/// key) unless `last` says storage holds it already.
fn put(host: &mut dyn Host, last: &mut Option<String>, key: &str, text: String, remove_empty: bool) {
    if last.as_deref() == Some(text.as_str()) {
        return;
    }
    if remove_empty && text.is_empty() {
        host.remove(key);
    } else {
        host.save(key, &text);
    }
    *last = Some(text);
}

/// In [`Stored::watched`]: this page holds that gone page's lock (it was
/// granted it and adopted its queue), so a late write of that page's key
/// reaching this tab is adopted at once: a page's last writes can land after
/// the browser freed its lock.
const HELD: u64 = u64::MAX;

/// Removes the [`STORED`] keys of the purposes `which` selects; a prefix
/// entry removes every page's key.
pub(super) fn remove_keys(host: &mut dyn Host, which: impl Fn(Purpose) -> bool) {
    for (key, purpose) in STORED {
        if !which(purpose) {
            continue;
        }
        if key.ends_with('.') {
            for k in host.keys(key) {
                host.remove(&k);
            }
        } else {
            host.remove(key);
        }
    }
}

/// Stops waiting on `key`; whether it was waited on. (By hand, not
/// `swap_remove`, whose panic message would bring formatting code into the
/// download.)
fn unwatch(watched: &mut Vec<(String, u64)>, key: &str) -> bool {
    let Some(i) = watched.iter().position(|(k, _)| k == key) else { return false };
    if let Some(last) = watched.pop() {
        if let Some(slot) = watched.get_mut(i) {
            *slot = last;
        }
    }
    true
}

impl Tracker {
    /// Removes every key of [`STORED`] and the identifiers read from them.
    pub(super) fn forget_stored(&mut self, host: &mut dyn Host) {
        remove_keys(host, |_| true);
        self.stored.client_id = None;
        self.stored.loaded = (false, false);
        self.stored.save_at = None;
        self.stored.written = Written::default();
    }

    /// Reads stored state once storage is allowed, and forgets the client ID
    /// when it no longer is. State that began in memory (before a banner
    /// answered) wins over stored state of the same kind.
    pub(super) fn sync(&mut self, host: &mut dyn Host) {
        let now = host.now();
        if !self.consent.may_store(Purpose::Analytics) {
            self.stored.client_id = None;
            self.stored.loaded.0 = false;
        } else if !self.stored.loaded.0 {
            self.stored.loaded.0 = true;
            let cid = match host.load(CLIENT_KEY).filter(|c| is_uuid(c)) {
                Some(c) => c,
                None => {
                    let c = uuid_v4(host.random());
                    host.save(CLIENT_KEY, &c);
                    c
                }
            };
            self.stored.client_id = Some(cid);
            if let Some(s) = host.load(VISIT_KEY) {
                if let Some(old) = self.visits.join_stored(&s, now) {
                    self.joined_visit(host, &old, now);
                }
                self.stored.written.visit = Some(s);
            }
            if let Some(s) = host.load(GOALS_KEY) {
                // Goals may have converted on this page while consent was
                // unknown: a held conversion that earlier pages counted
                // already is a repeat and goes; what both counted is kept.
                let stored = Memory::restore(&s);
                let goals = &self.goals;
                self.held.retain(|e| !goals.counted(e, &stored));
                self.memory.merge(stored);
                self.stored.written.goals = Some(s);
            }
            if self.stored.outbox_key.is_empty() {
                let r = host.random();
                self.stored.outbox_key.push_str(OUTBOX_PREFIX);
                crate::core::text::push_hex(&mut self.stored.outbox_key, &r[..4]);
            }
            self.stored.lease_at = now;
            for key in host.keys(OUTBOX_PREFIX) {
                self.consider(host, &key, now, true);
            }
            // What began in memory is stored soon.
            self.changed(now);
        }
        if !self.consent.may_store(Purpose::Ads) {
            self.stored.loaded.1 = false;
        } else if !self.stored.loaded.1 {
            self.stored.loaded.1 = true;
            let s = host.load(CAMPAIGN_KEY).unwrap_or_default();
            self.campaign.join_stored(&s, now);
            self.stored.written.campaign = Some(s);
            self.changed(now);
        }
    }

    /// The visit that began in memory (`old`) joined the stored one (issue
    /// 25): events held meanwhile, the last page view and the goal memory
    /// take its ID, and `pages_per_visit` goals see the joined page count,
    /// with the last page view as their trigger.
    fn joined_visit(&mut self, host: &mut dyn Host, old: &str, now: u64) {
        let Some(v) = self.visits.current(now) else { return };
        let (id, pages) = (v.id.clone(), v.pages);
        let renamed = |e: &mut goaltag_wire::Event| {
            if e.visit_id.as_deref() == Some(old) {
                e.visit_id = Some(id.clone());
            }
        };
        self.held.iter_mut().for_each(renamed);
        let Some(view) = self.last_view.as_mut() else { return };
        renamed(view);
        self.memory.rename_visit(old, &id);
        let site = self.config.site.as_deref().unwrap_or("");
        let mut new_id = || uuid_v4(host.random());
        let found = self.goals.evaluate(&Fact::Pages { count: pages }, view, site, &id, &mut self.memory, &mut new_id);
        self.convert(found, now);
    }

    /// The shell's fact, told once at boot before storage is read: whether
    /// the browser has Web Locks (`navigator.locks`). With them, queues are
    /// adopted only inside a grant of their owner's lock; without, by lease.
    pub fn web_locks(&mut self, available: bool) {
        self.stored.locks = available;
    }

    /// The shell's fact: another page of the site wrote or removed `key` in
    /// storage (a `storage` event). Another page's outbox is waited for
    /// (with Web Locks) or, without, adopted if its lease says it is gone.
    /// The goal memory another open tab stored is merged at once, so a goal
    /// that tab counted is a repeat here too.
    pub fn storage_changed(&mut self, host: &mut dyn Host, key: &str) {
        let now = host.now();
        if key == GOALS_KEY && self.stored.loaded.0 {
            if let Some(s) = host.load(GOALS_KEY) {
                self.memory.merge(Memory::restore(&s));
                self.stored.written.goals = Some(s);
            }
        }
        self.consider(host, key, now, false);
    }

    /// The shell's fact: the Web Lock named `key`, which this page was
    /// waiting for (see [`Tracker::take_probes`]), is granted, so the page
    /// that held it is gone. Its queue is adopted now, while the lock is held.
    ///
    /// Returns whether the shell keeps the lock for this page's life: yes
    /// when this page could adopt (analytics storage allowed, not leaving),
    /// whatever it found. The next page in line is then granted the lock only
    /// once this one is gone too, long after the removal of the key reached
    /// it: tabs do not see each other's `localStorage` writes at once, and a
    /// page granted the lock right after this one could still read the key
    /// and adopt the queue a second time. When this page could not adopt,
    /// the lock goes at once to the next page in line.
    pub fn lock_free(&mut self, host: &mut dyn Host, key: &str) -> bool {
        unwatch(&mut self.stored.watched, key);
        let keep = self.adopt(host, key);
        if keep {
            self.stored.watched.push((key.into(), HELD));
        }
        keep
    }

    /// Other pages' outbox keys whose lock this page is to wait for: for
    /// each, the shell calls `navigator.locks.request(key, callback)`
    /// (waiting: granted only once that page is gone) and [`Tracker::lock_free`]
    /// inside the callback. Empty without Web Locks.
    pub fn take_probes(&mut self) -> Vec<String> {
        ::core::mem::take(&mut self.stored.probes)
    }

    /// This page's outbox key (the shell holds a Web Lock of that name for the
    /// page's lifetime), once storage is allowed.
    pub fn outbox_key(&self) -> &str {
        &self.stored.outbox_key
    }

    /// What to do about `key`, which may be another page's outbox (see
    /// [`OUTBOX_PREFIX`]), seen as this page `starts` or later: wait for its
    /// lock, wait for its lease, adopt it, or nothing. Only while analytics
    /// storage is allowed.
    fn consider(&mut self, host: &mut dyn Host, key: &str, now: u64, starts: bool) {
        let s = &mut self.stored;
        if !s.loaded.0 || !key.starts_with(OUTBOX_PREFIX) || key == s.outbox_key {
            return;
        }
        // Without Web Locks the lease is read afresh; with them a page is
        // waited for once, and its lock, once held, says it is gone.
        let known = s.watched.iter().find(|(k, _)| k == key).map(|w| w.1);
        if !s.locks {
            unwatch(&mut s.watched, key);
        }
        // A key that is gone (acknowledged, or adopted) needs no waiting.
        let Some(text) = host.load(key) else { return };
        // A damaged lease reads as released.
        let lease = text.split_once('\n').and_then(|(l, _)| crate::core::text::parse_u64(l)).unwrap_or(0);
        if s.locks && known != Some(HELD) && !(starts && lease == 0) {
            if known.is_none() {
                s.watched.push((key.into(), 0));
                s.probes.push(key.into());
            }
        } else if lease != 0 && now.saturating_sub(lease) < LEASE_MS {
            s.watched.push((key.into(), lease));
        } else {
            self.adopt(host, key);
        }
    }

    /// Without Web Locks: when the first lease this page waits on runs out.
    pub(super) fn watch_due(&self) -> Option<u64> {
        let s = &self.stored;
        if s.locks || !s.loaded.0 {
            return None;
        }
        s.watched.iter().map(|(_, at)| at.saturating_add(LEASE_MS)).min()
    }

    /// Without Web Locks, on a wake-up: looks again at the leases waited on.
    pub(super) fn recheck(&mut self, host: &mut dyn Host, now: u64) {
        for (key, _) in ::core::mem::take(&mut self.stored.watched) {
            self.consider(host, &key, now, false);
        }
    }

    /// Takes over another page's persisted events: read, remove, queue with
    /// their IDs (events it had beaconed are sent once more; the collector
    /// dedups), and written under this page's key at once, so they are never
    /// in memory alone. Only with analytics storage allowed, and not once
    /// this page has released its own queue (it is going away); returns
    /// whether it could. Recorded under the other page's consent, the
    /// events follow this page's: with ad storage not granted here, they
    /// are narrowed as on a revocation (no click ID leaves).
    fn adopt(&mut self, host: &mut dyn Host, key: &str) -> bool {
        if !self.stored.loaded.0 || self.stored.lease_at == 0 || key == self.stored.outbox_key {
            return false;
        }
        if let Some(text) = host.load(key) {
            host.remove(key);
            let body = text.split_once('\n').map_or("", |(_, b)| b);
            let now = host.now();
            if self.outbox.restore(body, now) > 0 {
                if !self.consent.may_store(Purpose::Ads) {
                    self.narrow_queue();
                }
                self.write_outbox(host, now);
            }
        }
        true
    }

    /// Writes the visit, goal memory, campaign and this page's outbox where
    /// consent allows. The shell calls it when the page hides; otherwise it
    /// runs from [`Tracker::tick`], [`SAVE_DELAY_MS`] after a change.
    pub fn persist(&mut self, host: &mut dyn Host) {
        let now = host.now();
        self.save(host, now);
    }

    /// One write of everything, the outbox under the given lease.
    fn save(&mut self, host: &mut dyn Host, lease: u64) {
        self.stored.save_at = None;
        self.sync(host);
        let w = &mut self.stored.written;
        if self.stored.loaded.0 {
            put(host, &mut w.visit, VISIT_KEY, self.visits.serialise(), false);
            let mut goals = self.memory.serialise();
            if w.goals.as_ref() != Some(&goals) {
                // Another tab may have counted goals since this page read
                // the memory: what it stored is merged in, not overwritten.
                if let Some(s) = host.load(GOALS_KEY).filter(|s| w.goals.as_ref() != Some(s)) {
                    self.memory.merge(Memory::restore(&s));
                    goals = self.memory.serialise();
                }
            }
            put(host, &mut w.goals, GOALS_KEY, goals, false);
            self.write_outbox(host, lease);
        }
        if self.stored.loaded.1 {
            put(host, &mut self.stored.written.campaign, CAMPAIGN_KEY, self.campaign.serialise(), true);
        }
    }

    /// The outbox under this page's key with a lease (`0`: released, the
    /// page is going away), or no key when nothing is unacknowledged.
    fn write_outbox(&mut self, host: &mut dyn Host, lease: u64) {
        self.stored.lease_at = lease;
        let mut text = String::new();
        if !self.outbox.is_empty() {
            crate::core::text::push_u64(&mut text, lease);
            text.push('\n');
            text.push_str(&self.outbox.persist());
        }
        let s = &mut self.stored;
        put(host, &mut s.written.outbox, &s.outbox_key, text, true);
        self.outbox.mark_clean();
    }

    /// The page is going away (after its beacons): everything is written
    /// now, the outbox released for the next page to adopt at once.
    pub fn release(&mut self, host: &mut dyn Host) {
        self.save(host, 0);
    }

    pub(super) fn changed(&mut self, now: u64) {
        if self.stored.save_at.is_none() && (self.stored.loaded.0 || self.stored.loaded.1) {
            self.stored.save_at = Some(now + SAVE_DELAY_MS);
        }
    }

    /// When a page still holding unacknowledged events must renew its lease
    /// (not once it has released it: it is going away).
    pub(super) fn lease_due(&self) -> Option<u64> {
        (self.stored.loaded.0 && self.stored.lease_at != 0 && !self.outbox.is_empty()).then_some(self.stored.lease_at + LEASE_MS / 3)
    }
}

#[cfg(test)]
mod tests;
