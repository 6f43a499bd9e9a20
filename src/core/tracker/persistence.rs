//! Everything the tag stores, behind one gate: consent is asked before every
//! read and write ([`Tracker::sync`] and [`Tracker::persist`]), the keys and
//! the purpose each needs are listed once ([`STORED`]), and [`Stored`] owns
//! what comes from storage (the client ID), when the next write is due, and
//! this page's persisted outbox with its lease for the cross-tab handover.

use super::{Host, Tracker};
use crate::core::consent::Purpose;
use crate::core::goals::Memory;
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
/// write one queue. A page adopts (reads, removes, resends) the queues of
/// pages that are gone: released on page hide (lease 0), a lease older than
/// [`LEASE_MS`], or (in the shell) a Web Lock its owner no longer holds.
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
    /// This page's outbox key, and when its lease was last written.
    pub(super) outbox_key: String,
    pub(super) lease_at: u64,
    /// Other pages' outbox keys whose owners may still be alive: the shell
    /// asks Web Locks about them (see [`Tracker::take_probes`]).
    pub(super) probes: Vec<String>,
}

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

impl Tracker {
    /// Removes every key of [`STORED`] and the identifiers read from them.
    pub(super) fn forget_stored(&mut self, host: &mut dyn Host) {
        remove_keys(host, |_| true);
        self.stored.client_id = None;
        self.stored.loaded = (false, false);
        self.stored.save_at = None;
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
            if self.visits.current(now).is_none() {
                if let Some(s) = host.load(VISIT_KEY) {
                    self.visits.restore(&s, now);
                }
            }
            if self.memory == Memory::new() {
                if let Some(s) = host.load(GOALS_KEY) {
                    self.memory = Memory::restore(&s);
                }
            }
            if self.stored.outbox_key.is_empty() {
                let r = host.random();
                self.stored.outbox_key.push_str(OUTBOX_PREFIX);
                crate::core::text::push_hex(&mut self.stored.outbox_key, &r[..4]);
            }
            self.adopt_gone(host, now);
            self.stored.lease_at = now;
            // What began in memory is stored soon.
            self.changed(now);
        }
        if !self.consent.may_store(Purpose::Ads) {
            self.stored.loaded.1 = false;
        } else if !self.stored.loaded.1 {
            self.stored.loaded.1 = true;
            if self.campaign.current(now).is_none() {
                if let Some(s) = host.load(CAMPAIGN_KEY) {
                    self.campaign.restore(&s, now);
                }
            }
            self.changed(now);
        }
    }

    /// Adopts the outboxes of pages that are gone by their lease; the others
    /// wait in `probes` for the shell's Web Locks check.
    fn adopt_gone(&mut self, host: &mut dyn Host, now: u64) {
        for key in host.keys(OUTBOX_PREFIX) {
            if key == self.stored.outbox_key {
                continue;
            }
            let lease = host.load(&key).and_then(|t| t.split('\n').next().and_then(crate::core::text::parse_u64));
            match lease {
                Some(at) if at != 0 && now.saturating_sub(at) < LEASE_MS => self.stored.probes.push(key),
                _ => self.adopt(host, &key),
            }
        }
    }

    /// Other pages' outbox keys that only Web Locks can tell are orphaned:
    /// for each, the shell asks `navigator.locks.request(key, {ifAvailable:
    /// true})` and calls [`Tracker::adopt`] when granted (the owner is gone).
    pub fn take_probes(&mut self) -> Vec<String> {
        ::core::mem::take(&mut self.stored.probes)
    }

    /// This page's outbox key (the shell holds a Web Lock of that name for the
    /// page's lifetime), once storage is allowed.
    pub fn outbox_key(&self) -> &str {
        &self.stored.outbox_key
    }

    /// Takes over another page's persisted events: read, remove, queue with
    /// their IDs (events it had beaconed are sent once more; the collector
    /// dedups). Only with analytics storage allowed.
    pub fn adopt(&mut self, host: &mut dyn Host, key: &str) {
        if !self.stored.loaded.0 || !key.starts_with(OUTBOX_PREFIX) || key == self.stored.outbox_key {
            return;
        }
        if let Some(text) = host.load(key) {
            host.remove(key);
            let body = text.split_once('\n').map_or("", |(_, b)| b);
            if self.outbox.restore(body, host.now()) > 0 {
                self.changed(host.now());
            }
        }
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
        if self.stored.loaded.0 {
            host.save(VISIT_KEY, &self.visits.serialise());
            host.save(GOALS_KEY, &self.memory.serialise());
            self.write_outbox(host, lease);
        }
        if self.stored.loaded.1 {
            match self.campaign.serialise() {
                c if c.is_empty() => host.remove(CAMPAIGN_KEY),
                c => host.save(CAMPAIGN_KEY, &c),
            }
        }
    }

    /// The outbox under this page's key with a lease (`0`: released, the
    /// page is going away), or no key when nothing is unacknowledged.
    fn write_outbox(&mut self, host: &mut dyn Host, lease: u64) {
        self.stored.lease_at = lease;
        if self.outbox.is_empty() {
            host.remove(&self.stored.outbox_key);
        } else {
            let mut text = String::new();
            crate::core::text::push_u64(&mut text, lease);
            text.push('\n');
            text.push_str(&self.outbox.persist());
            host.save(&self.stored.outbox_key, &text);
        }
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
