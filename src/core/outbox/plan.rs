//! Batch planning: which queued events go together in one body, for a
//! fetch (`max_events`, `max_bytes`, a conversion closes its batch) or for
//! the beacons of a page hide (`beacon_max_bytes` alone), and the bodies.

use super::{Open, Outbox};
use crate::prelude::*;
use goaltag_wire::json::{batch_body, envelope_overhead};

impl Outbox {
    /// Page hiding: bodies of at most `beacon_max_bytes` with every event not
    /// yet acknowledged and not yet beaconed from this page, so a second hide
    /// re-sends nothing but new events. The events stay queued and persisted,
    /// marked, and are not sent again from this page. Empty when offline.
    pub fn beacon_bodies(&mut self, now_ms: u64) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if !self.online {
            return out;
        }
        self.expire(now_ms);
        self.open = None;
        let mut plan = self.plan(true);
        plan.push(CUT);
        let mut start = 0;
        for k in 0..plan.len() {
            if plan[k] == CUT {
                if k > start {
                    let (body, ids, _) = self.body(&plan[start..k], now_ms, true);
                    out.push((body, ids));
                }
                start = k + 1;
            }
        }
        out
    }

    /// Bytes of events (commas included) that fit in a body of `max`.
    pub(super) fn room(&self, max: usize) -> usize {
        max.saturating_sub(envelope_overhead(&self.site))
    }

    /// The first closed batch with something to send from this page.
    pub(super) fn head(&self) -> Option<u64> {
        self.entries.iter().find(|e| e.batch != 0 && !e.item.beacon_sent).map(|e| e.batch)
    }

    /// When the open batch began: its oldest event (restored ones are due at once).
    pub(super) fn open_since(&self) -> Option<u64> {
        self.entries.iter().filter(|e| e.batch == 0 && !e.item.beacon_sent).map(|e| e.item.created_ms).min()
    }

    /// Closes full batches of the open events (all of them when `all`), and
    /// notes the open group that is left for [`Outbox::extend`].
    pub(super) fn close(&mut self, all: bool) {
        let mut plan = self.plan(false);
        if all {
            plan.push(CUT);
        }
        let mut start = 0;
        for k in 0..plan.len() {
            if plan[k] == CUT {
                // A group is the open entries from its first index to its last.
                self.close_open(if k > start { plan[start]..plan[k - 1] + 1 } else { 0..0 });
                start = k + 1;
            }
        }
        let left = &plan[start..];
        let bytes = left.iter().map(|&i| self.entries[i].item.json.len() + 1).sum::<usize>().saturating_sub(1);
        self.open = Some(Open { n: left.len(), bytes });
    }

    /// The event just pushed (the last entry, open) joins the open group
    /// `open`, which [`Outbox::close`] left not full: the same cuts as
    /// planning the whole queue again, in constant time but when a batch
    /// closes.
    pub(super) fn extend(&mut self, mut open: Open, len: usize, conversion: bool) {
        let room = self.room(self.policy.max_bytes);
        if open.n > 0 && open.bytes + 1 + len > room {
            // The group is full without the new event: it closes before it.
            self.close_open(0..self.entries.len() - 1);
            open = Open::default();
        }
        open.bytes = if open.n == 0 { len } else { open.bytes + 1 + len };
        open.n += 1;
        if conversion || open.n >= self.policy.max_events || open.bytes > room {
            self.close_open(0..self.entries.len());
            open = Open::default();
        }
        self.open = Some(open);
    }

    /// Closes the open entries in `range` into one new batch.
    fn close_open(&mut self, range: core::ops::Range<usize>) {
        self.next_id += 1;
        for e in &mut self.entries[range] {
            if e.batch == 0 && !e.item.beacon_sent {
                e.batch = self.next_id;
            }
        }
    }

    /// Tests only: the noted open group is what planning from scratch finds.
    #[cfg(test)]
    pub(super) fn check_open(&self) {
        if let Some(open) = self.open {
            let plan = self.plan(false);
            assert!(!plan.contains(&CUT), "the open group is full: {plan:?}");
            let bytes = plan.iter().map(|&i| self.entries[i].item.json.len() + 1).sum::<usize>().saturating_sub(1);
            assert_eq!(open, Open { n: plan.len(), bytes }, "the noted open group is stale");
        }
    }

    /// Splits events, in order, into groups that fit one body: entry indices,
    /// with [`CUT`] after each full group (the rest is not full yet). For
    /// batches: the open events, a group ending at `max_events`, `max_bytes`
    /// or a conversion; for beacons: every event not yet beaconed, by
    /// `beacon_max_bytes` alone. An event too large for a body gets a group of
    /// its own. (A flat list: nested Vecs cost download bytes.)
    fn plan(&self, beacon: bool) -> Vec<usize> {
        let p = &self.policy;
        let (room, max_n) = if beacon { (self.room(p.beacon_max_bytes), usize::MAX) } else { (self.room(p.max_bytes), p.max_events) };
        let mut plan = Vec::new();
        let (mut n, mut bytes) = (0, 0);
        for (i, e) in self.entries.iter().enumerate() {
            if e.item.beacon_sent || (!beacon && e.batch != 0) {
                continue;
            }
            let len = e.item.json.len();
            if n > 0 && bytes + 1 + len > room {
                plan.push(CUT);
                n = 0;
            }
            bytes = if n == 0 { len } else { bytes + 1 + len };
            n += 1;
            plan.push(i);
            if (!beacon && e.item.conversion) || n >= max_n || bytes > room {
                plan.push(CUT);
                n = 0;
            }
        }
        plan
    }

    /// One body of the given entries: (body, ids, attempt). A fetch sends one
    /// batch, puts it in flight and counts the send (the batch's `attempt`);
    /// a beacon body is planned on its own, so it is a first send (no
    /// `attempt`) and counts for no batch; its entries are marked beacon-sent.
    pub(super) fn body(&mut self, idx: &[usize], now: u64, beacon: bool) -> (String, Vec<String>, u32) {
        let mut sends = 0;
        let mut ids = Vec::with_capacity(idx.len());
        for &i in idx {
            let e = &mut self.entries[i];
            if !beacon {
                sends = sends.max(e.sends);
                e.sends = e.sends.saturating_add(1);
            }
            e.flying |= !beacon;
            e.item.beacon_sent |= beacon;
            ids.push(e.item.id.clone());
        }
        let attempt = sends.saturating_add(1);
        let jsons = idx.iter().map(|&i| self.entries[i].item.json.as_str());
        (batch_body(&self.site, now, attempt, &self.unreported, jsons), ids, attempt)
    }
}

/// Ends a group in a plan.
const CUT: usize = usize::MAX;

#[cfg(test)]
mod tests;
