//! What a store reads for a report ([`crate::store::Store::report_rows`]): plain rows,
//! which [`crate::report`] turns into numbers once, for every store. One read
//! serves every section and the attribution: the events from the start of
//! the attribution's lookback to the end of the range, compact ([`Events`]).

use goaltag_wire::Attribution;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash for the report's own keys (IDs it read, indices): not exposed to
/// anyone who could choose keys to collide, so speed over DoS resistance
/// (the multiply-rotate of rustc's FxHasher; about 3 times SipHash's speed on
/// the short strings and integers a report hashes a million times).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FastHasher {
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A map hashed with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A number that orders event IDs as their text does (byte by byte): a
/// canonical lower-case UUID, which is what the collector stores, read as
/// its 32 hex digits; any other text (only a hand-made row) by its first 16 bytes.
pub fn id_order(id: &str) -> u128 {
    let b = id.as_bytes();
    if b.len() == 36 {
        let mut n: u128 = 0;
        let mut ok = true;
        for (i, &c) in b.iter().enumerate() {
            match (i, c) {
                (8 | 13 | 18 | 23, b'-') => {}
                (8 | 13 | 18 | 23, _) => ok = false,
                (_, b'0'..=b'9') => n = n << 4 | u128::from(c - b'0'),
                (_, b'a'..=b'f') => n = n << 4 | u128::from(c - b'a' + 10),
                _ => ok = false,
            }
        }
        if ok {
            return n;
        }
    }
    let mut bytes = [0u8; 16];
    for (x, c) in bytes.iter_mut().zip(b) {
        *x = *c;
    }
    u128::from_be_bytes(bytes)
}

/// "No such string or attribution" in an [`Event`]'s indices.
pub const NONE: u32 = u32::MAX;

/// One page view or conversion as a report reads it: a few numbers, its
/// strings as indices into [`Events`]' table (each distinct string is kept
/// once), its attribution as an index into [`Events::attributions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// When it happened, ms since the Unix epoch, on the collector's clock:
    /// the tag's `ts` placed there through its batch's `sent_at` at
    /// ingestion (see `ingest`'s `Clock`), so a wrong browser clock does not
    /// move it.
    pub ts: i64,
    /// True for a conversion, false for a page view.
    pub conversion: bool,
    /// True for a conversion of a goal the tag marked primary.
    pub primary: bool,
    /// The browser's client ID, where consent allowed one ([`NONE`]: none).
    pub client: u32,
    /// The visit's ID, where consent allowed one ([`NONE`]: none).
    pub visit: u32,
    /// The page's URL ([`NONE`]: none).
    pub url: u32,
    /// The conversion's goal ([`NONE`]: none).
    pub goal: u32,
    /// The conversion's value.
    pub value: Option<f64>,
    /// The value's currency, upper-cased ([`NONE`]: none).
    pub currency: u32,
    /// The touch the tag attached ([`NONE`]: none, or unreadable).
    pub attribution: u32,
    /// Its hashed match keys (enhanced conversions' `user_data`), while the
    /// collector keeps them ([`NONE`]: none, or unreadable): see
    /// `store::Accepted::event_columns`.
    pub user_data: u32,
}

/// One event as a store hands it to [`Events::push`], borrowed from the
/// database's row (nothing is copied unless it is new).
#[derive(Debug, Clone, Copy, Default)]
pub struct EventRef<'a> {
    /// See [`Event::ts`].
    pub ts: i64,
    /// See [`Event::conversion`].
    pub conversion: bool,
    /// See [`Event::primary`].
    pub primary: bool,
    /// The client ID.
    pub client_id: Option<&'a str>,
    /// The visit ID.
    pub visit_id: Option<&'a str>,
    /// The page's URL.
    pub url: Option<&'a str>,
    /// The goal.
    pub goal: Option<&'a str>,
    /// The value.
    pub value: Option<f64>,
    /// The currency, as sent.
    pub currency: Option<&'a str>,
    /// The event's `attribution` member as JSON text.
    pub attribution: Option<&'a str>,
    /// The event's stored `user_data` column (JSON text).
    pub user_data: Option<&'a str>,
}

/// A site's page views and conversions in time order, compact: the rows are
/// small and fixed-size, and every client ID, visit ID, URL, goal, currency
/// and attribution is kept once however many rows name it. A store fills it
/// row by row as it reads ([`Events::push`]), so a report never holds the
/// events' JSON, only this.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// The events, by time (then ID).
    pub rows: Vec<Event>,
    strings: Vec<Box<str>>,
    string_index: FastMap<Box<str>, u32>,
    attributions: Vec<Attribution>,
    attribution_index: FastMap<Box<str>, u32>,
    user_data: Vec<goaltag_wire::UserData>,
    /// (ts, ID as a number, row) of rows pushed out of order, for [`Events::finish`].
    unordered: Vec<(i64, u128, u32)>,
}

impl Events {
    /// The index of `s` in the table of strings (added when new).
    pub fn intern(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        if let Some(&i) = self.string_index.get(s) {
            return i;
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.string_index.insert(s.into(), i);
        i
    }

    /// The string at `i` ([`NONE`]: `None`).
    pub fn string(&self, i: u32) -> Option<&str> {
        self.strings.get(i as usize).map(|s| &**s)
    }

    /// How many distinct strings the events name.
    pub fn strings(&self) -> usize {
        self.strings.len()
    }

    /// The index of the attribution `json` names (parsed once per distinct
    /// text); [`NONE`] when there is none or it cannot be read.
    pub fn intern_attribution(&mut self, json: Option<&str>) -> u32 {
        let Some(json) = json else { return NONE };
        if let Some(&i) = self.attribution_index.get(json) {
            return i;
        }
        let i = match serde_json::from_str::<Attribution>(json) {
            Ok(a) => self.add_attribution(a),
            Err(_) => NONE,
        };
        self.attribution_index.insert(json.into(), i);
        i
    }

    /// Adds an attribution already read (not shared with any other).
    pub fn add_attribution(&mut self, a: Attribution) -> u32 {
        self.attributions.push(a);
        (self.attributions.len() - 1) as u32
    }

    /// The attribution at `i` ([`NONE`]: `None`).
    pub fn attribution(&self, i: u32) -> Option<&Attribution> {
        self.attributions.get(i as usize)
    }

    /// The index of the match keys `json` holds ([`NONE`] when none or
    /// unreadable). Only conversions carry them, each its own: not shared.
    pub fn add_user_data(&mut self, json: Option<&str>) -> u32 {
        match json.map(serde_json::from_str::<goaltag_wire::UserData>) {
            Some(Ok(u)) => {
                self.user_data.push(u);
                (self.user_data.len() - 1) as u32
            }
            _ => NONE,
        }
    }

    /// The match keys at `i` ([`NONE`]: `None`).
    pub fn user_data(&self, i: u32) -> Option<&goaltag_wire::UserData> {
        self.user_data.get(i as usize)
    }

    /// How many distinct attributions the events carry.
    pub fn attributions(&self) -> usize {
        self.attributions.len()
    }

    /// Adds one event; a store adds them in time order (then by ID).
    pub fn push(&mut self, e: EventRef) {
        let currency = e.currency.map(|c| c.to_ascii_uppercase());
        let row = Event {
            ts: e.ts,
            conversion: e.conversion,
            primary: e.primary,
            client: self.intern(e.client_id),
            visit: self.intern(e.visit_id),
            url: self.intern(e.url),
            goal: self.intern(e.goal),
            value: e.value,
            currency: self.intern(currency.as_deref()),
            attribution: self.intern_attribution(e.attribution),
            user_data: self.add_user_data(e.user_data),
        };
        self.rows.push(row);
    }

    /// Adds one event read in no particular order, with its ID: rows so added
    /// are put in time order (then ID) by [`Events::finish`].
    pub fn push_unordered(&mut self, e: EventRef, id: &str) {
        self.unordered.push((e.ts, id_order(id), self.rows.len() as u32));
        self.push(e);
    }

    /// Puts the rows added by [`Events::push_unordered`] in time order, then
    /// by ID (as the text compares byte by byte); call once, after the last row.
    pub fn finish(&mut self) {
        if self.unordered.is_empty() {
            return;
        }
        let mut order = std::mem::take(&mut self.unordered);
        order.sort_unstable();
        self.rows = order.iter().map(|&(_, _, i)| self.rows[i as usize]).collect();
    }

    /// The events from `start` (included) to `end` (excluded), ms.
    pub fn between(&self, start: i64, end: i64) -> &[Event] {
        let lo = self.rows.partition_point(|e| e.ts < start);
        let hi = self.rows.partition_point(|e| e.ts < end).max(lo);
        &self.rows[lo..hi]
    }
}

/// Sums over a site's accepted batches in the range (by arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchFigures {
    /// Batches accepted.
    pub batches: u64,
    /// Events in them that were already stored.
    pub duplicates: u64,
    /// Batches sent on a second or later attempt.
    pub retried: u64,
    /// Events the tag reported dropping: its queue was full.
    pub dropped_overflow: u64,
    /// Events the tag reported dropping: refused by a collector.
    pub dropped_poison: u64,
    /// Events the tag reported dropping: too old to send.
    pub dropped_expired: u64,
    /// Events the tag reported dropping: consent for them was withdrawn.
    pub dropped_consent: u64,
}

/// One imported row of the site in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Its goal.
    pub goal: String,
    /// Its stage (shipped, refunded, …).
    pub stage: String,
    /// Its value.
    pub value: Option<f64>,
    /// The value's currency.
    pub currency: Option<String>,
    /// When it happened, ms since the Unix epoch.
    pub ts: i64,
    /// True when an online conversion of the site (any date) carried its transaction ID.
    pub matched: bool,
}

/// Everything a report reads from a store ([`crate::Store::report_rows`]):
/// the events in time order (then by ID, so every store gives the same
/// numbers), the rest in no particular order.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// The site's page views and conversions from the start of the
    /// attribution's lookback to the end of the range, by time (then ID).
    pub events: Events,
    /// The site's batches in the range (by arrival).
    pub batches: BatchFigures,
    /// Bodies refused in the range, all sites (a refused body may name none).
    pub rejected_bodies: u64,
    /// The site's imported rows in the range (by their time).
    pub imports: Vec<ImportRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_as_their_text() {
        let ids = [
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-00000000000a",
            "0000000a-0000-4000-8000-000000000000",
            "ffffffff-ffff-4fff-bfff-ffffffffffff",
            "old",
            "zz",
        ];
        for a in ids {
            for b in ids {
                let uuid = |s: &str| s.len() == 36;
                if uuid(a) == uuid(b) {
                    assert_eq!(id_order(a).cmp(&id_order(b)), a.cmp(b), "{a} against {b}");
                }
            }
        }
    }

    #[test]
    fn rows_read_out_of_order_are_put_in_time_then_id_order() {
        let mut e = Events::default();
        let row = |ts: i64, client: &'static str| EventRef { ts, client_id: Some(client), ..Default::default() };
        e.push_unordered(row(2, "b"), "00000000-0000-4000-8000-000000000002");
        e.push_unordered(row(1, "c"), "00000000-0000-4000-8000-000000000009");
        e.push_unordered(row(2, "a"), "00000000-0000-4000-8000-000000000001");
        e.finish();
        let order: Vec<(i64, Option<&str>)> = e.rows.iter().map(|r| (r.ts, e.string(r.client))).collect();
        assert_eq!(order, [(1, Some("c")), (2, Some("a")), (2, Some("b"))]);
        assert_eq!(e.between(2, 3).len(), 2);
        assert_eq!(e.strings(), 3, "each client ID kept once");
    }
}
