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

use crate::core::error::ConfigError;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::json::{batch_body, envelope_overhead, write_num};
use goaltag_wire::Dropped;

/// Delivery tuning; the `delivery` section of the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A batch closes at this many events...
    pub max_events: usize,
    /// ...or at this many bytes of body, envelope included...
    pub max_bytes: usize,
    /// ...or this long after its first event.
    pub max_delay_ms: u64,
    /// Backoff cap of the first retry; doubles on each further failure.
    pub base_ms: u64,
    pub max_backoff_ms: u64,
    /// A collector's `Retry-After` is honoured up to this.
    pub retry_after_cap_ms: u64,
    /// Older events are dropped (counted `expired`).
    pub max_age_ms: u64,
    /// Events held at most; past that the oldest non-conversions go first.
    pub max_outbox: usize,
    pub max_outbox_bytes: usize,
    /// Largest body handed to `sendBeacon` (browsers allow 64 KiB in flight).
    pub beacon_max_bytes: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_events: 20,
            max_bytes: 16 * 1024,
            max_delay_ms: 1000,
            base_ms: 500,
            max_backoff_ms: 30_000,
            retry_after_cap_ms: 300_000,
            max_age_ms: 24 * HOUR_MS,
            max_outbox: 1000,
            max_outbox_bytes: 512 * 1024,
            beacon_max_bytes: 60 * 1024,
        }
    }
}

const HOUR_MS: u64 = 3_600_000;

/// Keys of the `delivery` section and their accepted ranges, in [`Policy`]'s
/// field order. One table keeps validation code small.
pub(crate) const KEYS: [(&str, f64, f64); 10] = [
    ("max_events", 1.0, 1000.0),
    ("max_bytes", 512.0, 1_048_576.0),
    ("max_delay_ms", 0.0, 60_000.0),
    ("base_ms", 10.0, 60_000.0),
    ("max_backoff_ms", 10.0, 3_600_000.0),
    ("retry_after_cap_ms", 0.0, 86_400_000.0),
    // Hours may be fractional (tests want seconds).
    ("max_age_hours", 0.001, 720.0),
    ("max_outbox", 1.0, 10_000.0),
    ("max_outbox_bytes", 4096.0, 4_194_304.0),
    ("beacon_max_bytes", 1024.0, 65_536.0),
];
const AGE: usize = 6;

impl Policy {
    /// Merges a `delivery` object into this policy. Every problem is returned;
    /// valid fields apply regardless, like the rest of the config.
    pub fn apply(&mut self, v: &Val) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let Some(fields) = v.as_map() else {
            errors.push(ConfigError::new("delivery", "an object like {max_events: 20, base_ms: 500}", v));
            return errors;
        };
        for (key, val) in fields {
            if val.is_null() {
                continue;
            }
            let mut field = String::from("delivery.");
            field.push_str(key);
            let Some(i) = KEYS.iter().position(|k| k.0 == key) else {
                let mut exp = String::from("one of ");
                for (j, k) in KEYS.iter().enumerate() {
                    if j > 0 {
                        exp.push_str(", ");
                    }
                    exp.push_str(k.0);
                }
                errors.push(ConfigError::msg(field, exp, "an unknown field"));
                continue;
            };
            let (_, lo, hi) = KEYS[i];
            match val.as_num() {
                Some(n) if n >= lo && n <= hi && (i == AGE || crate::core::val::is_whole(n)) => self.set(i, n),
                _ => {
                    let mut exp = String::from(if i == AGE { "a number of hours from " } else { "a whole number from " });
                    write_num(&mut exp, lo);
                    exp.push_str(" to ");
                    write_num(&mut exp, hi);
                    errors.push(ConfigError::new(field, exp, val));
                }
            }
        }
        errors
    }

    fn set(&mut self, i: usize, n: f64) {
        let u = n as u64;
        let z = n as usize;
        match i {
            0 => self.max_events = z,
            1 => self.max_bytes = z,
            2 => self.max_delay_ms = u,
            3 => self.base_ms = u,
            4 => self.max_backoff_ms = u,
            5 => self.retry_after_cap_ms = u,
            6 => self.max_age_ms = (n * HOUR_MS as f64) as u64,
            7 => self.max_outbox = z,
            8 => self.max_outbox_bytes = z,
            _ => self.beacon_max_bytes = z,
        }
    }
}

/// The default policy with a `delivery` object applied, plus every problem
/// found (valid fields still apply).
pub fn parse_policy(v: &Val) -> (Policy, Vec<ConfigError>) {
    let mut p = Policy::default();
    let errors = p.apply(v);
    (p, errors)
}

/// One recorded event, serialised once.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub json: String,
    /// Conversions close their batch at once and are the last to be dropped.
    pub conversion: bool,
    pub created_ms: u64,
    /// Handed to `sendBeacon` on this page: outcome unknown, so kept (and
    /// persisted) but not sent again from this page.
    pub beacon_sent: bool,
}

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// An HTTP answer; 2xx means delivered. `Retry-After` already in ms.
    Status { code: u16, retry_after_ms: Option<u64> },
    /// No answer: offline, DNS, CORS, timeout, aborted.
    NetworkError,
}

/// A request for the shell to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    /// Hand back to [`Outbox::on_outcome`]; new for every attempt, so a late
    /// answer to an old attempt is ignored.
    pub batch: u64,
    pub body: String,
    pub ids: Vec<String>,
    pub attempt: u32,
}

struct Entry {
    item: Item,
    /// Batch the entry was closed into (same IDs on every retry); 0 while open.
    batch: u64,
    /// Times sent so far (fetch or beacon): the next body's `attempt` is one more.
    sends: u32,
    /// In the request now in flight.
    flying: bool,
}

/// Picks a counter of [`Dropped`].
type Reason = fn(&mut Dropped) -> &mut u32;

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
}

impl Outbox {
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
            total: Dropped::default(),
            unreported: Dropped::default(),
            dirty: false,
            bytes_bound: 0,
            oldest_bound: u64::MAX,
        }
    }

    pub fn set_site(&mut self, site: String) {
        self.site = site;
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

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
        self.bytes_bound += item.json.len();
        self.oldest_bound = self.oldest_bound.min(item.created_ms);
        self.entries.push(Entry { item, batch: 0, sends: 0, flying: false });
        self.dirty = true;
        if now_ms.saturating_sub(self.oldest_bound) > self.policy.max_age_ms {
            self.expire(now_ms);
        }
        if self.entries.len() > self.policy.max_outbox || self.bytes_bound > self.policy.max_outbox_bytes {
            self.enforce();
        }
        self.close(false);
    }

    /// Forgets every queued event (the visitor opted out). A request already
    /// in flight settles as usual; its answer finds nothing left to remove.
    pub fn clear(&mut self) {
        self.entries.clear();
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
    /// stores each event once.
    pub fn rewrite(&mut self, f: impl Fn(&str) -> String) {
        for e in &mut self.entries {
            e.item.json = f(&e.item.json);
        }
        self.bytes_bound = self.entries.iter().map(|e| e.item.json.len()).sum();
        self.dirty = true;
    }

    /// Events lost to overflow before they reached the outbox (held while
    /// consent was unknown): counted like its own, so they reach the wire.
    pub fn overflowed(&mut self, n: u32) {
        self.lost(n as usize, |d| &mut d.overflow);
    }

    /// Closes the open batch now (`goaltag('flush')`).
    pub fn flush(&mut self) {
        self.close(true);
    }

    /// The next request, if one is due: online, nothing in flight, backoff over.
    pub fn poll(&mut self, now_ms: u64, _rand: u32) -> Option<Send> {
        if self.in_flight.is_some() || !self.online {
            return None;
        }
        self.expire(now_ms);
        if self.open_since().is_some_and(|t| now_ms >= t.saturating_add(self.policy.max_delay_ms)) {
            self.close(true);
        }
        if now_ms < self.not_before {
            return None;
        }
        let batch = self.head()?;
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
        Some(Send { batch: self.next_id, body, ids, attempt })
    }

    /// When [`Outbox::poll`] may next return a request (a time already past
    /// means at once); the shell keeps one timer for it and asks again after
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

    /// Settles the request in flight. Answers to anything else are ignored.
    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now_ms: u64, rand: u32) {
        if self.in_flight != Some(batch) {
            return;
        }
        self.in_flight = None;
        self.dirty = true;
        let (code, retry_after) = match outcome {
            Outcome::Status { code, retry_after_ms } => (code, retry_after_ms),
            Outcome::NetworkError => (0, None),
        };
        let sent = self.entries.iter().filter(|e| e.flying).count();
        match code {
            // Too large: retry each half as its own batch, at once.
            413 if sent > 1 => {
                self.next_id += 1;
                let (half, id) = (sent.div_ceil(2), self.next_id);
                for (k, e) in self.entries.iter_mut().filter(|e| e.flying).enumerate() {
                    if k >= half {
                        e.batch = id;
                    }
                }
            }
            408 | 425 | 429 => self.backoff(retry_after, now_ms, rand),
            // Delivered, or poison: retrying can never succeed and must not
            // block the queue.
            200..=299 | 400..=499 | 501 => {
                for e in &mut self.entries {
                    if e.flying {
                        e.batch = GONE;
                    }
                }
                self.sweep();
                self.failures = 0;
                if code < 300 {
                    // Only what this body reported is settled; later drops stay due.
                    for (u, s) in self.unreported.counts_mut().into_iter().zip(self.sent_drops.counts()) {
                        *u = u.saturating_sub(s);
                    }
                } else {
                    self.lost(sent, |d| &mut d.poison);
                }
            }
            // Network errors, 5xx, and anything unexpected: keep the events.
            _ => self.backoff(retry_after, now_ms, rand),
        }
        for e in &mut self.entries {
            e.flying = false;
        }
    }

    /// Exponential backoff with full jitter: a delay in `1..=cap`, `cap`
    /// doubling from `base_ms` to `max_backoff_ms` (never 0, so a failure is
    /// never retried in the same tick). `Retry-After` wins when longer.
    fn backoff(&mut self, retry_after: Option<u64>, now: u64, rand: u32) {
        self.failures = self.failures.saturating_add(1);
        let cap = self.policy.base_ms.saturating_mul(1 << (self.failures - 1).min(32)).min(self.policy.max_backoff_ms);
        let mut delay = 1 + u64::from(rand) % cap.max(1);
        if let Some(ra) = retry_after {
            let ra = ra.min(self.policy.retry_after_cap_ms);
            self.retry_after_until = now.saturating_add(ra);
            delay = delay.max(ra);
        }
        self.not_before = now.saturating_add(delay);
    }

    /// `online`/`offline` events. Coming back resumes after a fresh jittered
    /// delay under `base_ms` (tabs do not all fire at once), with the backoff
    /// reset, but never before a pending `Retry-After`.
    pub fn set_online(&mut self, online: bool, now_ms: u64, rand: u32) {
        if online && !self.online {
            self.failures = 0;
            let delay = u64::from(rand) % self.policy.base_ms.max(1);
            self.not_before = now_ms.saturating_add(delay).max(self.retry_after_until);
        }
        self.online = online;
    }

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

    /// The beacon (and keepalive fetch) for these IDs was refused: they are
    /// ordinary queued events again.
    pub fn beacon_refused(&mut self, ids: &[String]) {
        for e in &mut self.entries {
            if e.item.beacon_sent && ids.contains(&e.item.id) {
                e.item.beacon_sent = false;
                e.sends = e.sends.saturating_sub(1);
                self.dirty = true;
            }
        }
        self.close(false);
    }

    /// The page is in view again after a hide: it lives on, so events it
    /// beaconed (fate unknown) are ordinary again and sent once more from
    /// here, instead of waiting for a next page load that may never come.
    /// The beacon still counts as an attempt.
    pub fn shown(&mut self) {
        for e in &mut self.entries {
            if e.item.beacon_sent {
                e.item.beacon_sent = false;
                self.dirty = true;
            }
        }
    }

    /// Text for localStorage: a `gt1` header with the unreported drop counts,
    /// then one event a line: `id TAB created_ms TAB flags TAB sends TAB
    /// json_len TAB json` (flags: 1 conversion, 2 beacon-sent). The length
    /// catches truncation. Oversized events are left out.
    pub fn persist(&self) -> String {
        let room = self.room(self.policy.max_bytes);
        let mut out = String::with_capacity(16 + self.entries.iter().map(|e| e.item.json.len() + 72).sum::<usize>());
        out.push_str("gt1");
        for n in self.unreported.counts() {
            out.push('\t');
            num(&mut out, n.into());
        }
        for e in &self.entries {
            let it = &e.item;
            if it.json.len() > room || it.id.is_empty() || !one_field(&it.id) || !one_field(&it.json) {
                continue;
            }
            out.push('\n');
            out.push_str(&it.id);
            for n in [it.created_ms, u64::from(it.conversion) | u64::from(it.beacon_sent) << 1, e.sends.into(), it.json.len() as u64] {
                out.push('\t');
                num(&mut out, n);
            }
            out.push('\t');
            out.push_str(&it.json);
        }
        out
    }

    /// Merges persisted text in: IDs already queued are skipped, expired
    /// events dropped (and counted), bad lines ignored. Beacon-sent events come
    /// back as ordinary events, so they are resent once. Returns how many
    /// events were added.
    pub fn restore(&mut self, text: &str, now_ms: u64) -> usize {
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let mut head = lines.next().unwrap_or("").split('\t');
        if head.next() != Some("gt1") {
            return 0;
        }
        // A text without the later counters (an older tag's) reads them as 0.
        let mut restored = false;
        for u in self.unreported.counts_mut() {
            let n = head.next().and_then(int).map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
            *u = u.saturating_add(n);
            restored |= n != 0;
        }
        let before = self.entries.len();
        let mut expired = 0;
        for line in lines {
            let Some(e) = parse_line(line) else { continue };
            if self.has(&e.item.id) {
                continue;
            }
            if now_ms.saturating_sub(e.item.created_ms) > self.policy.max_age_ms {
                expired += 1;
                continue;
            }
            self.bytes_bound += e.item.json.len();
            self.oldest_bound = self.oldest_bound.min(e.item.created_ms);
            self.entries.push(e);
        }
        self.lost(expired, |d| &mut d.expired);
        let n = self.entries.len() - before;
        // Older than anything still open, so ahead of it.
        let at = self.entries[..before].iter().position(|e| e.batch == 0).unwrap_or(before);
        let mut added = self.entries.split_off(before);
        let mut rest = self.entries.split_off(at);
        self.entries.append(&mut added);
        self.entries.append(&mut rest);
        self.dirty |= n > 0 || restored;
        self.enforce();
        self.close(false);
        n
    }

    /// Whether the persisted copy is stale; the shell writes it (coalesced)
    /// and then calls [`Outbox::mark_clean`].
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_clean(&mut self) {
        self.dirty = false;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

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

    fn has(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.item.id == id)
    }

    /// Bytes of events (commas included) that fit in a body of `max`.
    fn room(&self, max: usize) -> usize {
        max.saturating_sub(envelope_overhead(&self.site))
    }

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
        let before = self.entries.len();
        self.entries.retain(|e| e.batch != GONE);
        before - self.entries.len()
    }

    /// Enforces `max_outbox` and `max_outbox_bytes`: the oldest non-conversion
    /// goes first, then the oldest conversion; events in flight are spared
    /// (they leave soon anyway).
    fn enforce(&mut self) {
        let (max_n, max_bytes) = (self.policy.max_outbox, self.policy.max_outbox_bytes);
        let mut n = self.entries.len();
        let mut bytes: usize = self.entries.iter().map(|e| e.item.json.len()).sum();
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

    /// The first closed batch with something to send from this page.
    fn head(&self) -> Option<u64> {
        self.entries.iter().find(|e| e.batch != 0 && !e.item.beacon_sent).map(|e| e.batch)
    }

    /// When the open batch began: its oldest event (restored ones are due at once).
    fn open_since(&self) -> Option<u64> {
        self.entries.iter().filter(|e| e.batch == 0 && !e.item.beacon_sent).map(|e| e.item.created_ms).min()
    }

    /// Closes full batches of the open events (all of them when `all`).
    fn close(&mut self, all: bool) {
        let mut plan = self.plan(false);
        if all {
            plan.push(CUT);
        }
        let mut start = 0;
        for k in 0..plan.len() {
            if plan[k] == CUT {
                self.next_id += 1;
                for &i in &plan[start..k] {
                    self.entries[i].batch = self.next_id;
                }
                start = k + 1;
            }
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

    /// One body of the given entries, counting the send: (body, ids, attempt).
    /// A beacon marks them beacon-sent, a fetch in flight.
    fn body(&mut self, idx: &[usize], now: u64, beacon: bool) -> (String, Vec<String>, u32) {
        let mut sends = 0;
        let mut ids = Vec::with_capacity(idx.len());
        for &i in idx {
            let e = &mut self.entries[i];
            sends = sends.max(e.sends);
            e.sends = e.sends.saturating_add(1);
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
/// Marks an entry for [`Outbox::sweep`].
const GONE: u64 = u64::MAX;

fn num(out: &mut String, n: u64) {
    crate::core::visit::push_u64(out, n);
}

/// Whether `s` fits in one field of a persisted line (serialised JSON always does).
fn one_field(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r'))
}

/// Decimal digits only (one small parser instead of one per integer type).
fn int(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None })
}

/// One persisted line, or None if it is damaged in any way.
fn parse_line(line: &str) -> Option<Entry> {
    let mut f = line.splitn(6, '\t');
    let id = f.next()?;
    let mut n = || f.next().and_then(int);
    let (created_ms, flags, sends, len) = (n()?, n()?, n()?, n()?);
    let json = f.next()?;
    if id.is_empty() || json.len() as u64 != len || !json.starts_with('{') || !json.ends_with('}') || flags > 3 {
        return None;
    }
    let item = Item { id: id.into(), json: json.into(), conversion: flags & 1 != 0, created_ms, beacon_sent: false };
    Some(Entry { item, batch: 0, sends: u32::try_from(sends).ok()?, flying: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::val::json;
    use goaltag_wire::{Batch, Event, Kind};

    const T0: u64 = 1_764_000_000_000;
    const SITE: &str = "demo-shop";

    fn ev(id: &str, conversion: bool, t: u64) -> Item {
        let kind = if conversion { Kind::Conversion } else { Kind::Click };
        Item { id: id.into(), json: Event::new(id.into(), kind, t).to_json(), conversion, created_ms: t, beacon_sent: false }
    }

    /// An event whose JSON is about `size` bytes.
    fn big(id: &str, size: usize, t: u64) -> Item {
        let mut e = Event::new(id.into(), Kind::Event, t);
        e.label = Some("x".repeat(size.saturating_sub(60)));
        Item { id: id.into(), json: e.to_json(), conversion: false, created_ms: t, beacon_sent: false }
    }

    fn ob() -> Outbox {
        Outbox::new(SITE.into(), Policy::default())
    }

    fn with(p: Policy) -> Outbox {
        Outbox::new(SITE.into(), p)
    }

    fn push_n(o: &mut Outbox, prefix: &str, n: usize, t: u64) -> Vec<String> {
        (0..n)
            .map(|i| {
                let id = format!("{prefix}{i}");
                o.push(ev(&id, false, t), t);
                id
            })
            .collect()
    }

    fn wire(s: &Send) -> Batch {
        let b: Batch = serde_json::from_str(&s.body).expect(&s.body);
        assert_eq!(b.site, SITE);
        assert_eq!(b.attempt, s.attempt);
        assert_eq!(b.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), s.ids, "ids match the body");
        b
    }

    fn status(code: u16) -> Outcome {
        Outcome::Status { code, retry_after_ms: None }
    }

    fn ok() -> Outcome {
        status(204)
    }

    /// Sends and acks everything due at `now`; the batches in order.
    fn drain(o: &mut Outbox, now: u64) -> Vec<Batch> {
        let mut out = Vec::new();
        while let Some(s) = o.poll(now, 7) {
            out.push(wire(&s));
            o.on_outcome(s.batch, ok(), now, 7);
        }
        out
    }

    fn ids(b: &Batch) -> Vec<String> {
        b.events.iter().map(|e| e.id.clone()).collect()
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    // ---- batching ----

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
        while let Some(s) = o.poll(T0, 0) {
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
        assert!(o.poll(T0 + 999, 0).is_none());
        let s = o.poll(T0 + 1000, 0).unwrap();
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
        let s = o.poll(T0, 0).unwrap();
        assert_eq!(s.ids, strs(&["a", "c"]));
        assert_eq!(wire(&s).events[1].kind, Kind::Conversion);
        o.on_outcome(s.batch, ok(), T0, 0);
        assert!(o.poll(T0, 0).is_none(), "the event after it starts a new open batch");
        assert_eq!(o.wake_at(), Some(T0 + 1000));
    }

    #[test]
    fn flush_closes_the_open_batch() {
        let mut o = ob();
        o.push(ev("a", false, T0), T0);
        assert!(o.poll(T0 + 10, 0).is_none());
        o.flush();
        assert!(o.wake_at().unwrap() <= T0 + 10);
        assert_eq!(o.poll(T0 + 10, 0).unwrap().ids, strs(&["a"]));
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
        let first = o.poll(T0, 0).unwrap();
        assert_eq!(first.ids, strs(&["a"]));
        o.on_outcome(first.batch, ok(), T0, 0);
        let second = o.poll(T0, 0).unwrap();
        assert_eq!(second.ids, strs(&["huge"]));
        assert!(second.body.len() > 1024);
        wire(&second);
        o.on_outcome(second.batch, ok(), T0, 0);
        assert!(o.poll(T0, 0).is_none(), "b waits for its delay");
        assert_eq!(drain(&mut o, T0 + 1000).len(), 1);
    }

    #[test]
    fn a_duplicate_id_is_queued_once() {
        let mut o = ob();
        o.push(ev("c", true, T0), T0);
        o.push(ev("c", true, T0 + 5), T0 + 5);
        assert_eq!(o.len(), 1);
    }

    // ---- outcomes ----

    fn one_in_flight(n: usize) -> (Outbox, Send) {
        let mut o = ob();
        push_n(&mut o, "e", n, T0);
        o.flush();
        let s = o.poll(T0, 0).unwrap();
        (o, s)
    }

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
            assert!(o.poll(T0, 0).is_none(), "{out:?}: not at once");
            let at = o.wake_at().unwrap();
            assert_eq!(at, T0 + 1 + 1234 % 500, "{out:?}");
            let r = o.poll(at, 0).unwrap();
            assert_eq!(r.ids, s.ids);
            assert_eq!(r.attempt, 2);
            let (b1, b2) = (wire(&s), wire(&r));
            assert_eq!(b1.events, b2.events, "same bytes, same events");
            assert_ne!(r.batch, s.batch);
            o.on_outcome(r.batch, status(503), at, 0);
            let r3 = o.poll(o.wake_at().unwrap(), 0).unwrap();
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
            let s = o.poll(T0, 0).unwrap();
            o.on_outcome(s.batch, status(code), T0, 0);
            assert_eq!(o.dropped().poison, 2, "{code}");
            let next = o.poll(T0, 0).expect("the next batch goes at once");
            assert_eq!(next.ids, strs(&["q0"]));
            let b = wire(&next);
            assert_eq!(b.dropped.poison, 2, "{code}: reported on the wire");
            assert_eq!(b.attempt, 1);
            o.on_outcome(next.batch, ok(), T0, 0);
            assert!(o.is_empty());
        }
    }

    #[test]
    fn status_413_splits_the_batch_and_retries_the_halves() {
        let (mut o, s) = one_in_flight(5);
        o.on_outcome(s.batch, status(413), T0, 0);
        let a = o.poll(T0, 0).expect("halves go without backoff");
        assert_eq!(a.ids, strs(&["e0", "e1", "e2"]));
        assert_eq!(a.attempt, 2);
        // The first half is still too large: halve again.
        o.on_outcome(a.batch, status(413), T0, 0);
        let a1 = o.poll(T0, 0).unwrap();
        assert_eq!(a1.ids, strs(&["e0", "e1"]));
        o.on_outcome(a1.batch, ok(), T0, 0);
        let a2 = o.poll(T0, 0).unwrap();
        assert_eq!((a2.ids.clone(), a2.attempt), (strs(&["e2"]), 3));
        o.on_outcome(a2.batch, ok(), T0, 0);
        let b = o.poll(T0, 0).unwrap();
        assert_eq!((b.ids.clone(), b.attempt), (strs(&["e3", "e4"]), 2));
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
        assert!(o.poll(T0 + 100_000, 0).is_none());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let (mut o, s) = one_in_flight(1);
        o.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(7000) }, T0, 10);
        assert_eq!(o.wake_at(), Some(T0 + 7000));
        assert!(o.poll(T0 + 6999, 0).is_none());
        let r = o.poll(T0 + 7000, 0).unwrap();
        // A Retry-After shorter than the jittered delay does not shorten it.
        o.on_outcome(r.batch, Outcome::Status { code: 429, retry_after_ms: Some(1) }, T0, 900);
        assert_eq!(o.wake_at(), Some(T0 + 1 + 900));
        let r = o.poll(T0 + 901, 0).unwrap();
        o.on_outcome(r.batch, Outcome::Status { code: 503, retry_after_ms: Some(u64::MAX) }, T0, 0);
        assert_eq!(o.wake_at(), Some(T0 + 300_000));
    }

    // ---- backoff ----

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
            s = o.poll(now, 0).unwrap();
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
            s = o.poll(now, 0).unwrap();
        }
        o.on_outcome(s.batch, ok(), now, 0);
        o.push(ev("n", true, now), now);
        let s = o.poll(now, 0).unwrap();
        o.on_outcome(s.batch, Outcome::NetworkError, now, 499_999);
        assert_eq!(o.wake_at(), Some(now + 1 + 499_999 % 500), "back to base_ms");
    }

    #[test]
    fn no_second_request_while_one_is_in_flight() {
        let mut o = ob();
        push_n(&mut o, "e", 45, T0);
        let s = o.poll(T0, 0).unwrap();
        assert!(o.in_flight());
        assert!(o.poll(T0, 0).is_none());
        assert!(o.poll(T0 + 3_600_000, 0).is_none());
        assert_eq!(o.wake_at(), None);
        // A stale or unknown answer changes nothing.
        o.on_outcome(s.batch + 100, ok(), T0, 0);
        o.on_outcome(0, ok(), T0, 0);
        assert_eq!(o.len(), 45);
        assert!(o.poll(T0, 0).is_none());
        o.on_outcome(s.batch, ok(), T0, 0);
        o.on_outcome(s.batch, ok(), T0, 0); // a duplicate answer is ignored
        assert_eq!(o.len(), 25);
        let n = o.poll(T0, 0).unwrap();
        assert_eq!(n.ids[0], "e20");
    }

    // ---- age, bounds, drop reporting ----

    #[test]
    fn events_past_the_age_budget_are_dropped_and_reported() {
        let mut o = ob();
        o.push(ev("old", false, T0), T0);
        o.set_online(false, T0, 0);
        let day = 24 * HOUR_MS;
        o.set_online(true, T0 + day, 0);
        // Exactly at the budget is still fine.
        let s = o.poll(T0 + day, 0).unwrap();
        o.on_outcome(s.batch, Outcome::NetworkError, T0 + day, 0);
        // Too old for a retry: in flight it was kept, now it goes.
        assert!(o.poll(T0 + day + 10, 0).is_none());
        assert!(o.is_empty());
        assert_eq!(o.dropped().expired, 1);
        o.push(ev("new", true, T0 + day + 20), T0 + day + 20);
        let b = wire(&o.poll(T0 + day + 20, 0).unwrap());
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
        let s = o.poll(T0, 0).unwrap();
        o.push(big("b", 1500, T0), T0);
        o.push(big("c", 1500, T0), T0); // over 4096: b goes, not a (in flight)
        assert_eq!(o.dropped().overflow, 1);
        o.on_outcome(s.batch, ok(), T0, 0);
        o.flush();
        assert_eq!(o.poll(T0, 0).unwrap().ids, strs(&["c"]));
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
        let s = o.poll(T0, 0).unwrap();
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
        let s1 = o.poll(T0, 0).unwrap();
        assert_eq!(wire(&s1).dropped.overflow, 2);
        o.on_outcome(s1.batch, status(500), T0, 0);
        let s2 = o.poll(o.wake_at().unwrap(), 0).unwrap();
        assert_eq!(wire(&s2).dropped.overflow, 2, "still unacknowledged");
        // A new drop while s2 is in flight (f0: the outbox is full of events
        // in flight) is not settled by s2's ack.
        o.push(ev("f0", false, T0), T0);
        assert_eq!(o.dropped().overflow, 3);
        o.on_outcome(s2.batch, ok(), T0 + 5, 0);
        assert!(o.is_empty());
        o.push(ev("f1", true, T0 + 5), T0 + 5);
        let s3 = o.poll(T0 + 5, 0).unwrap();
        assert_eq!(wire(&s3).dropped.overflow, 1);
        o.on_outcome(s3.batch, ok(), T0 + 5, 0);
        o.push(ev("g", true, T0 + 6), T0 + 6);
        let s4 = o.poll(T0 + 6, 0).unwrap();
        assert!(wire(&s4).dropped.is_empty());
        assert!(!s4.body.contains("dropped"));
        assert_eq!(o.dropped().overflow, 3, "totals are kept");
    }

    // ---- online / offline ----

    #[test]
    fn offline_pauses_and_online_resumes_after_a_fresh_jittered_delay() {
        let mut o = ob();
        o.set_online(false, T0, 0);
        o.push(ev("c", true, T0), T0);
        assert_eq!(o.wake_at(), None);
        assert!(o.poll(T0 + 60_000, 0).is_none());
        assert_eq!(o.len(), 1);
        o.set_online(true, T0 + 60_000, 1234);
        assert_eq!(o.wake_at(), Some(T0 + 60_000 + 1234 % 500));
        assert!(o.poll(T0 + 60_000, 0).is_none());
        for r in [0u32, 7, 499, 500, u32::MAX] {
            let mut p = ob();
            p.set_online(false, T0, 0);
            p.set_online(true, T0, r);
            assert!(p.not_before < T0 + 500);
        }
        let s = o.poll(T0 + 60_234, 0).unwrap();
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
            s = o.poll(now, 0).unwrap();
        }
        o.on_outcome(s.batch, Outcome::NetworkError, now, u32::MAX);
        assert!(o.wake_at().unwrap() - now > 10_000);
        o.set_online(false, now, 0);
        o.set_online(true, now + 5, 3);
        assert_eq!(o.wake_at(), Some(now + 8), "resumes soon, not after the long backoff");
    }

    // ---- persistence ----

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
        let s = o.poll(T0 + 3, 0).unwrap(); // in flight: still persisted
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
        let r = fresh.poll(T0 + 10, 0).expect("restored events are due at once");
        let b = wire(&r);
        assert_eq!(b.dropped.overflow, 2, "unreported drops survive the reload");
        assert_eq!(r.attempt, 2, "they were sent once before the reload");
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
        assert_eq!(b.poll(T0, 0).unwrap().ids, strs(&["y", "x"]));
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

    // ---- beacons ----

    #[test]
    fn beacon_takes_everything_unacked_once_per_page() {
        let mut o = ob();
        push_n(&mut o, "e", 25, T0);
        let s = o.poll(T0, 0).unwrap(); // e0..e19 in flight, e20..e24 open
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
        assert!(o.poll(T0 + 100_000, 0).is_none());
        assert_eq!(o.wake_at(), None);
        let text = o.persist();
        assert_eq!(text.lines().count(), 7);
        assert!(text.lines().skip(1).all(|l| l.split('\t').nth(2) == Some("2")));
        // Restoring this page's own copy (e.g. after a cross-tab handover) adds nothing.
        assert_eq!(o.restore(&text, T0 + 7), 0);
        assert!(o.poll(T0 + 100_000, 0).is_none());
    }

    #[test]
    fn a_beacon_counts_as_an_attempt() {
        let (mut o, s) = one_in_flight(2);
        let b: Batch = serde_json::from_str(&o.beacon_bodies(T0)[0].0).unwrap();
        assert_eq!((s.attempt, b.attempt), (1, 2));
        let text = o.persist();
        let mut next = ob();
        next.restore(&text, T0);
        assert_eq!(next.poll(T0 + 1000, 0).unwrap().attempt, 3);
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
        assert!(o.poll(T0 + 100_000, 0).is_none(), "held while hidden");
        o.mark_clean();
        o.shown();
        assert!(o.dirty(), "the persisted copy loses its beacon marks");
        o.flush();
        let mut sent = Vec::new();
        while let Some(s) = o.poll(T0 + 1000, 0) {
            assert_eq!(s.attempt, 2, "the beacon was the first attempt");
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
        let s = next.poll(now, 0).unwrap();
        assert_eq!(s.attempt, 2);
        next.on_outcome(s.batch, Outcome::NetworkError, now, 0);
        for _ in 0..10 {
            now += 2000;
            next.flush();
            while let Some(s) = next.poll(now, 0) {
                sent.extend(s.ids.clone());
                next.on_outcome(s.batch, ok(), now, 0);
            }
        }
        assert_eq!(sent, strs(&["a", "c", "b"]));
        assert!(next.is_empty());
        assert_eq!(next.persist(), "gt1\t0\t0\t0\t0");
        assert!(next.dirty(), "the shell must rewrite storage, or the next load resends them");
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
        let s = o.poll(T0, 0).unwrap();
        assert_eq!(s.ids, bodies[0].1);
        assert_eq!(s.attempt, 1, "a refused beacon was no attempt");
        o.on_outcome(s.batch, ok(), T0, 0);
        assert!(o.poll(T0 + 60_000, 0).is_none());
        // The next hide re-beacons nothing: the rest were beaconed already.
        assert!(o.beacon_bodies(T0).is_empty());
    }

    #[test]
    fn beaconed_events_in_a_failed_fetch_are_held_not_retried() {
        let (mut o, s) = one_in_flight(3);
        o.push(ev("open", false, T0), T0);
        assert_eq!(o.beacon_bodies(T0)[0].1.len(), 4);
        o.on_outcome(s.batch, status(500), T0, 0);
        assert!(o.poll(T0 + 100_000, 0).is_none());
        assert_eq!(o.len(), 4);
        // Poison still removes them: they would never be accepted.
        let (mut o, s) = one_in_flight(2);
        o.beacon_bodies(T0);
        o.on_outcome(s.batch, status(400), T0, 0);
        assert!(o.is_empty());
    }

    #[test]
    fn no_beacon_while_offline() {
        let mut o = ob();
        o.push(ev("a", true, T0), T0);
        o.set_online(false, T0, 0);
        assert!(o.beacon_bodies(T0).is_empty());
        o.set_online(true, T0, 0);
        assert_eq!(o.poll(T0, 0).unwrap().ids, strs(&["a"]));
    }

    // ---- policy ----

    #[test]
    fn policy_applies_valid_fields_and_names_bad_ones() {
        let (p, errs) = parse_policy(&json(r#"{"max_events":10,"base_ms":250,"max_age_hours":12}"#));
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(p, Policy { max_events: 10, base_ms: 250, max_age_ms: 12 * HOUR_MS, ..Policy::default() });
        let (p, errs) = parse_policy(&json(
            r#"{"max_events":0,"max_bytes":"big","max_delay_ms":2.5,"retry":3,"max_age_hours":0.5,"beacon_max_bytes":null,"max_outbox":200}"#,
        ));
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["delivery.max_events", "delivery.max_bytes", "delivery.max_delay_ms", "delivery.retry"]);
        assert_eq!(errs[0].to_string(), "goaltag: delivery.max_events: expected a whole number from 1 to 1000, got 0");
        assert_eq!(errs[1].got, "\"big\"");
        assert!(errs[3].expected.starts_with("one of max_events, max_bytes"));
        assert_eq!(p, Policy { max_age_ms: HOUR_MS / 2, max_outbox: 200, ..Policy::default() });
        let (p, errs) = parse_policy(&json("[1]"));
        assert_eq!(p, Policy::default());
        assert_eq!(errs[0].field, "delivery");
        let mut q = Policy::default();
        assert!(q.apply(&json(r#"{"max_age_hours":1e9}"#))[0].expected.contains("hours from 0.001 to 720"));
        assert!(q.apply(&json(r#"{"max_backoff_ms":5000,"retry_after_cap_ms":0}"#)).is_empty());
        assert_eq!((q.max_backoff_ms, q.retry_after_cap_ms), (5000, 0));
        assert_eq!(KEYS.len(), 10);
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
}
