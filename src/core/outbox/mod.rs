//! The outbox: every event not yet acknowledged by the collector, as a pure
//! state machine. It decides what to send and when; the browser shell does the
//! I/O (fetch, sendBeacon, timers, localStorage) and reports back. Time and
//! randomness are arguments, so every retry path is tested natively.
//!
//! Events are kept already serialised: a retry re-sends the very same bytes,
//! sizes are exact, and persisting needs no JSON parser.
//!
//! Events handed to a beacon on page hide have an unknown fate: they stay
//! queued and persisted but are not sent again from the same page while it
//! is hidden; if it comes back into view they are sent once more from it,
//! else the next page load restores them as ordinary events and resends
//! them once (the collector dedups by ID).
//!
//! This file is the queue itself (what is held, what is dropped and why);
//! the rest, each with its tests beside it in `<name>/tests.rs`:
//! - `policy`: the `delivery` config and its limits;
//! - `plan`: how queued events become batches and beacon bodies;
//! - `retry`: what an answer does: delivered, retried (backoff,
//!   `Retry-After`), split or dropped; offline and online;
//! - `persist`: the text kept in localStorage.

mod persist;
mod plan;
mod policy;
mod retry;

#[cfg(test)]
pub(crate) use policy::key_names as policy_key_names;
pub use policy::{parse_policy, Policy, GZIP_MIN_BYTES, KEEPALIVE_MAX, REQUEST_TIMEOUT_MS};
pub use retry::{retry_after_ms, Outcome};

use crate::prelude::*;
use goaltag_wire::Dropped;

/// One recorded event, serialised once.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The event's ID (a UUID, or a conversion's derived ID).
    pub id: String,
    /// The event as wire JSON, sent as is in every body.
    pub json: String,
    /// Conversions close their batch at once and are the last to be dropped.
    pub conversion: bool,
    /// When it was recorded (Unix ms): the age budget counts from it.
    pub created_ms: u64,
    /// Handed to `sendBeacon` on this page: outcome unknown, so kept (and
    /// persisted) but not sent again from this page.
    pub beacon_sent: bool,
}

/// A request for the shell to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    /// Hand back to [`Outbox::on_outcome`]; new for every attempt, so a late
    /// answer to an old attempt is ignored.
    pub batch: u64,
    /// The request body: a wire batch.
    pub body: String,
    /// The IDs of the events in `body`, in order.
    pub ids: Vec<String>,
    /// The batch's `attempt`: 1 for its first send, n for its (n-1)th retry.
    /// A batch is the events planned together; events re-planned are a new
    /// batch at attempt 1: both halves after a 413, events restored from
    /// storage (a reload, another tab's adopted queue: persisted events keep
    /// no batch), and a batch part of which went by beacon while the rest was
    /// refused. Beacon bodies are planned on their own: always attempt 1, and
    /// they count for no batch. Events dropped from a batch meanwhile
    /// (expired, overflow) leave it the same batch.
    pub attempt: u32,
    /// Send `body` gzip-compressed, to [`gzip_url`] of the collector.
    pub gzip: bool,
    /// Abort the request after this long, a network error then (the
    /// policy's `request_timeout_ms`), so a hung request cannot hold the
    /// queue forever.
    pub timeout_ms: u64,
}

/// The collector URL for a gzip-compressed body: `c=gzip` added to its query,
/// which is how the collector knows (it never guesses from the bytes alone).
pub fn gzip_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len() + 7);
    let (base, fragment) = url.split_once('#').map_or((url, ""), |(b, f)| (b, f));
    out.push_str(base);
    out.push(if base.contains('?') { '&' } else { '?' });
    out.push_str("c=gzip");
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A queued event and its delivery state.
struct Entry {
    item: Item,
    /// Batch the entry was closed into (same IDs on every retry); 0 while open.
    batch: u64,
    /// Times its batch was sent by fetch: the next fetch's `attempt` is one
    /// more. Every entry of a batch has the same count; it is 0 again when the
    /// events are re-planned into a new batch (see [`Send::attempt`]).
    sends: u32,
    /// In the request now in flight.
    flying: bool,
}

/// Picks a counter of [`Dropped`].
type Reason = fn(&mut Dropped) -> &mut u32;

/// Every event not yet acknowledged, and when to send what (see the module doc).
pub struct Outbox {
    site: String,
    policy: Policy,
    /// Oldest first, the order they are sent in.
    entries: Vec<Entry>,
    /// Numbers batches and attempts alike.
    next_id: u64,
    in_flight: Option<u64>,
    /// The drop counts that went out with the request in flight.
    sent_drops: Dropped,
    /// Consecutive failures, the backoff exponent.
    failures: u32,
    not_before: u64,
    /// Set by `Retry-After`, which even coming back online must respect.
    retry_after_until: u64,
    online: bool,
    /// The browser can gzip a body (`CompressionStream`).
    gzip: bool,
    /// Everything dropped by this outbox.
    total: Dropped,
    /// Dropped since the last acknowledged batch: reported in every body until one is acked.
    unreported: Dropped,
    dirty: bool,
    /// Never below the queued events' JSON bytes, never above their creation
    /// times: a push checks the bounds and the age budget against these and
    /// scans the queue only when they say a limit may be reached (a scan per
    /// event made recording 1000 events quadratic).
    bytes_bound: usize,
    oldest_bound: u64,
    /// The open events as [`Outbox::close`] last left them (one group, not
    /// full yet), so a push extends it in constant time instead of planning
    /// the whole queue again (that made a burst of 500-event batches
    /// quadratic). `None` after anything else changed the entries: the next
    /// push plans from scratch.
    open: Option<Open>,
}

/// The open group: its events and their JSON bytes, commas included.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Open {
    n: usize,
    bytes: usize,
}

impl Outbox {
    /// An empty outbox for `site`, sending by `policy`.
    pub fn new(site: String, policy: Policy) -> Self {
        Outbox {
            site,
            policy,
            entries: Vec::new(),
            next_id: 0,
            in_flight: None,
            sent_drops: Dropped::default(),
            failures: 0,
            not_before: 0,
            retry_after_until: 0,
            online: true,
            gzip: false,
            total: Dropped::default(),
            unreported: Dropped::default(),
            dirty: false,
            bytes_bound: 0,
            oldest_bound: u64::MAX,
            open: None,
        }
    }

    /// The site every later body names (the config may set it after events are queued).
    pub fn set_site(&mut self, site: String) {
        self.site = site;
        // A body's room depends on the site's length.
        self.open = None;
    }

    /// The delivery policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A new delivery policy; its bounds and batch limits apply to what is
    /// already queued.
    pub fn set_policy(&mut self, p: Policy) {
        self.policy = p;
        self.enforce();
        self.close(false);
    }

    /// Queues an event. An ID already queued is ignored (a replayed conversion
    /// carries the same ID).
    pub fn push(&mut self, item: Item, now_ms: u64) {
        // Only a conversion's ID can come again (derived from its transaction);
        // every other event's is fresh from the random source.
        if item.conversion && self.has(&item.id) {
            return;
        }
        if item.json.len() > self.policy.max_outbox_bytes {
            // Would evict everything else.
            return self.lost(1, |d| &mut d.overflow);
        }
        #[cfg(test)]
        self.check_open();
        let (len, conversion) = (item.json.len(), item.conversion);
        self.bytes_bound += len;
        self.oldest_bound = self.oldest_bound.min(item.created_ms);
        self.entries.push(Entry { item, batch: 0, sends: 0, flying: false });
        self.dirty = true;
        if now_ms.saturating_sub(self.oldest_bound) > self.policy.max_age_ms {
            self.expire(now_ms);
        }
        if self.entries.len() > self.policy.max_outbox || self.bytes_bound > self.policy.max_outbox_bytes {
            self.enforce();
        }
        match self.open {
            Some(open) => self.extend(open, len, conversion),
            None => self.close(false),
        }
    }

    /// Forgets every queued event (the visitor opted out). A request already
    /// in flight settles as usual; its answer finds nothing left to remove.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.open = None;
        self.dirty = true;
    }

    /// Consent was withdrawn (basic mode): every event not yet sent is
    /// dropped and counted (`dropped.consent`). Events already handed to a
    /// request or a beacon left while they were allowed: they are forgotten
    /// too, never sent again, but not counted as dropped.
    pub fn withdraw(&mut self) {
        let unsent = self.entries.iter().filter(|e| !e.flying && !e.item.beacon_sent).count();
        self.clear();
        self.lost(unsent, |d| &mut d.consent);
    }

    /// Consent narrowed but still allows sending: every queued event's JSON,
    /// those in flight included (a retry must not carry what is no longer
    /// allowed), is replaced by `f` of it. IDs stay, so the collector still
    /// stores each event once. An event `f` gives None for (its text could
    /// not be narrowed) is dropped, counted like withdrawn ones
    /// (`dropped.consent`) when it had not left yet.
    pub fn rewrite(&mut self, f: impl Fn(&str) -> Option<String>) {
        let mut dropped = 0;
        for e in &mut self.entries {
            match f(&e.item.json) {
                Some(json) => e.item.json = json,
                None => {
                    dropped += usize::from(!e.flying && !e.item.beacon_sent);
                    e.batch = GONE;
                }
            }
        }
        self.sweep();
        self.bytes_bound = self.json_bytes();
        self.dirty = true;
        self.lost(dropped, |d| &mut d.consent);
    }

    /// Events lost to overflow before they reached the outbox (held while
    /// consent was unknown): counted like its own, so they reach the wire.
    pub fn overflowed(&mut self, n: u32) {
        self.lost(n as usize, |d| &mut d.overflow);
    }

    /// Whether the browser can compress bodies (it has `CompressionStream`):
    /// then bodies of at least `gzip_min_bytes` are sent gzipped. The unload
    /// path never is: compression is asynchronous and cannot finish there.
    pub fn set_gzip(&mut self, available: bool) {
        self.gzip = available;
    }

    /// Closes the open batch now (`goaltag('flush')`).
    pub fn flush(&mut self) {
        self.close(true);
    }

    /// The next request, if one is due: online, nothing in flight, backoff over.
    pub fn poll(&mut self, now_ms: u64) -> Option<Send> {
        if self.in_flight.is_some() || !self.online {
            return None;
        }
        self.open = None;
        self.expire(now_ms);
        if self.open_since().is_some_and(|t| now_ms >= t.saturating_add(self.policy.max_delay_ms)) {
            self.close(true);
        }
        if now_ms < self.not_before {
            return None;
        }
        let mut batch = self.head()?;
        if self.entries.iter().any(|e| e.batch == batch && e.item.beacon_sent) {
            // Part went by beacon on a hide, the rest was refused: two new batches.
            self.next_id += 1;
            for e in &mut self.entries {
                if e.batch == batch {
                    e.sends = 0;
                    if !e.item.beacon_sent {
                        e.batch = self.next_id;
                    }
                }
            }
            batch = self.next_id;
        }
        let mut idx = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if e.batch == batch && !e.item.beacon_sent {
                idx.push(i);
            }
        }
        let (body, ids, attempt) = self.body(&idx, now_ms, false);
        self.next_id += 1;
        self.in_flight = Some(self.next_id);
        self.sent_drops = self.unreported.clone();
        let gzip = self.gzip && body.len() >= self.policy.gzip_min_bytes;
        Some(Send { batch: self.next_id, body, ids, attempt, gzip, timeout_ms: self.policy.request_timeout_ms })
    }

    /// When [`Outbox::poll`] may next return a request (a time already past
    /// means at once); the tracker reports it to the shell, which keeps one timer, and asks again after
    /// every call into the outbox.
    pub fn wake_at(&self) -> Option<u64> {
        if self.in_flight.is_some() || !self.online {
            return None;
        }
        let due = match self.head() {
            Some(_) => 0,
            None => self.open_since()?.saturating_add(self.policy.max_delay_ms),
        };
        Some(due.max(self.not_before))
    }

    /// The beacon (and keepalive fetch) for these IDs was refused: they are
    /// ordinary queued events again.
    pub fn beacon_refused(&mut self, ids: &[String]) {
        for e in &mut self.entries {
            if e.item.beacon_sent && ids.contains(&e.item.id) {
                e.item.beacon_sent = false;
                self.dirty = true;
            }
        }
        self.close(false);
    }

    /// The page is in view again after a hide: it lives on, so events it
    /// beaconed (fate unknown) are ordinary again and sent once more from
    /// here, instead of waiting for a next page load that may never come:
    /// each batch as it was (a retry if it was fetched before).
    pub fn shown(&mut self) {
        self.open = None;
        for e in &mut self.entries {
            if e.item.beacon_sent {
                e.item.beacon_sent = false;
                self.dirty = true;
            }
        }
    }

    /// Whether the persisted copy is stale; the tracker writes it (coalesced)
    /// and then calls [`Outbox::mark_clean`].
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// The shell wrote [`Outbox::persist`]'s text: the copy is current.
    pub fn mark_clean(&mut self) {
        self.dirty = false;
    }

    /// Events queued, in flight and beaconed included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no event is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Everything this outbox has dropped, by reason.
    pub fn dropped(&self) -> Dropped {
        self.total.clone()
    }

    /// Whether a request is awaiting its outcome.
    pub fn in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Whether an event with this ID is queued.
    fn has(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.item.id == id)
    }

    /// Counts `n` dropped events under `reason`, in the totals and in what
    /// the next bodies report.
    fn lost(&mut self, n: usize, reason: Reason) {
        if n == 0 {
            return;
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        for d in [&mut self.total, &mut self.unreported] {
            let c = reason(d);
            *c = c.saturating_add(n);
        }
        self.dirty = true;
    }

    /// Drops events past the age budget (never those in flight).
    fn expire(&mut self, now: u64) {
        let max = self.policy.max_age_ms;
        for e in &mut self.entries {
            if !e.flying && now.saturating_sub(e.item.created_ms) > max {
                e.batch = GONE;
            }
        }
        let n = self.sweep();
        self.oldest_bound = self.entries.iter().map(|e| e.item.created_ms).min().unwrap_or(u64::MAX);
        self.lost(n, |d| &mut d.expired);
    }

    /// Removes the entries marked [`GONE`]; returns how many. (Mark and sweep
    /// everywhere: one `retain` in the download, and linear.)
    fn sweep(&mut self) -> usize {
        self.open = None;
        let before = self.entries.len();
        self.entries.retain(|e| e.batch != GONE);
        before - self.entries.len()
    }

    /// Enforces `max_outbox` and `max_outbox_bytes`: the oldest non-conversion
    /// goes first, then the oldest conversion; events in flight are spared
    /// (they leave soon anyway).
    /// The bytes of every entry's JSON (one loop for every caller).
    pub(crate) fn json_bytes(&self) -> usize {
        let mut n = 0;
        for e in &self.entries {
            n += e.item.json.len();
        }
        n
    }

    fn enforce(&mut self) {
        let (max_n, max_bytes) = (self.policy.max_outbox, self.policy.max_outbox_bytes);
        let mut n = self.entries.len();
        let mut bytes = self.json_bytes();
        for conversions in [false, true] {
            for e in &mut self.entries {
                if n <= max_n && bytes <= max_bytes {
                    break;
                }
                if !e.flying && e.item.conversion == conversions && e.batch != GONE {
                    e.batch = GONE;
                    n -= 1;
                    bytes -= e.item.json.len();
                }
            }
        }
        let n = self.sweep();
        self.bytes_bound = bytes;
        self.lost(n, |d| &mut d.overflow);
    }
}

/// Marks an entry for [`Outbox::sweep`].
const GONE: u64 = u64::MAX;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
