//! The `delivery` section of the config: batching, retry and bounds of the
//! outbox, each key checked against its range.

use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::{is_whole, Val};
use crate::prelude::*;
use goaltag_wire::json::write_num;
use goaltag_wire::limits::{MAX_BATCH_BYTES, MAX_EVENTS, MAX_EVENT_AGE_MS};

/// Delivery tuning; the `delivery` section of the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A batch closes at this many events...
    pub max_events: usize,
    /// ...or at this many bytes of body, envelope included...
    pub max_bytes: usize,
    /// ...or this long after its first event.
    pub max_delay_ms: u64,
    /// Backoff cap of the first retry; doubles on each further failure...
    pub base_ms: u64,
    /// ...up to this.
    pub max_backoff_ms: u64,
    /// A collector's `Retry-After` is honoured up to this.
    pub retry_after_cap_ms: u64,
    /// Older events are dropped (counted `expired`); at most
    /// [`MAX_EVENT_AGE_MS`], what the collector accepts by default.
    pub max_age_ms: u64,
    /// Events held at most; past that the oldest non-conversions go first.
    pub max_outbox: usize,
    /// Bytes of event JSON held at most, dropped the same way.
    pub max_outbox_bytes: usize,
    /// Largest body handed to `sendBeacon` (browsers allow 64 KiB in flight);
    /// [`KEEPALIVE_MAX`] by default.
    pub beacon_max_bytes: usize,
    /// Bodies of at least this many bytes are sent gzip-compressed where the
    /// browser has `CompressionStream` (see [`GZIP_MIN_BYTES`]); 4194304
    /// (larger than any body) never compresses, for a collector that cannot
    /// decompress.
    pub gzip_min_bytes: usize,
    /// Longest a request may take before it counts as a network error
    /// ([`REQUEST_TIMEOUT_MS`]; not a `delivery` key).
    pub request_timeout_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_events: MAX_EVENTS,
            max_bytes: MAX_BATCH_BYTES,
            max_delay_ms: 1000,
            base_ms: 500,
            max_backoff_ms: 30_000,
            retry_after_cap_ms: 300_000,
            max_age_ms: 24 * HOUR_MS,
            // A burst of 1000 events (the bench's) and what came before it
            // fit whole: 1000 realistic events are about 430 KB of JSON.
            max_outbox: 2000,
            max_outbox_bytes: 1024 * 1024,
            beacon_max_bytes: KEEPALIVE_MAX,
            gzip_min_bytes: GZIP_MIN_BYTES,
            request_timeout_ms: REQUEST_TIMEOUT_MS,
        }
    }
}

/// An hour in ms.
pub(super) const HOUR_MS: u64 = 3_600_000;

/// The highest `max_age_hours`: the collector's default `--max-event-age`
/// (168 hours), so an event the tag still sends is never refused as too old
/// by a collector left at its defaults (the tag would drop it as bad data).
pub const MAX_AGE_HOURS: f64 = (MAX_EVENT_AGE_MS / HOUR_MS) as f64;

/// Largest body sent on the unload path (`sendBeacon`, or the `keepalive`
/// fetch behind a refused beacon), and the default `beacon_max_bytes`:
/// browsers allow a page 64 KiB of such bodies in flight, shared by all of
/// them; this keeps to the usual 0.8 of it. Ordinary sends are plain fetches
/// without `keepalive`, so they are not bound by it.
pub const KEEPALIVE_MAX: usize = 64 * 1024 * 8 / 10;

/// Longest a request may take before it counts as a network error: 10 s.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// Smallest body worth compressing: measured on the tag's own batches with
/// gzip -9, a body of one page view (about 600 bytes) shrinks by a third but
/// a request's headers weigh more than that; from about 1 KB (two or three
/// events) on, gzip saves more than half and grows to 8-10x on full batches.
pub const GZIP_MIN_BYTES: usize = 1024;

/// One key of the `delivery` section: its accepted range and the field it
/// sets, side by side, so a key can never set another key's field.
struct Key {
    name: &'static str,
    lo: f64,
    hi: f64,
    /// Takes fractions: a number of hours (`max_age_hours`; tests want
    /// seconds). Every other key takes whole numbers.
    hours: bool,
    /// Sets the field from an accepted value.
    set: fn(&mut Policy, f64),
}

/// Every key of the `delivery` section. One table keeps validation code small.
const KEYS: [Key; 11] = [
    Key { name: "max_events", lo: 1.0, hi: 1000.0, hours: false, set: |p, n| p.max_events = n as usize },
    Key { name: "max_bytes", lo: 512.0, hi: 1_048_576.0, hours: false, set: |p, n| p.max_bytes = n as usize },
    Key { name: "max_delay_ms", lo: 0.0, hi: 60_000.0, hours: false, set: |p, n| p.max_delay_ms = n as u64 },
    Key { name: "base_ms", lo: 10.0, hi: 60_000.0, hours: false, set: |p, n| p.base_ms = n as u64 },
    Key { name: "max_backoff_ms", lo: 10.0, hi: 3_600_000.0, hours: false, set: |p, n| p.max_backoff_ms = n as u64 },
    Key { name: "retry_after_cap_ms", lo: 0.0, hi: 86_400_000.0, hours: false, set: |p, n| p.retry_after_cap_ms = n as u64 },
    Key { name: "max_age_hours", lo: 0.001, hi: MAX_AGE_HOURS, hours: true, set: |p, n| p.max_age_ms = (n * HOUR_MS as f64) as u64 },
    Key { name: "max_outbox", lo: 1.0, hi: 10_000.0, hours: false, set: |p, n| p.max_outbox = n as usize },
    Key { name: "max_outbox_bytes", lo: 4096.0, hi: 4_194_304.0, hours: false, set: |p, n| p.max_outbox_bytes = n as usize },
    Key { name: "beacon_max_bytes", lo: 1024.0, hi: 65_536.0, hours: false, set: |p, n| p.beacon_max_bytes = n as usize },
    Key { name: "gzip_min_bytes", lo: 0.0, hi: 4_194_304.0, hours: false, set: |p, n| p.gzip_min_bytes = n as usize },
];

/// The keys of the `delivery` section, in order (the TypeScript declarations are checked against them).
#[cfg(test)]
pub(crate) fn key_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

impl Policy {
    /// Merges a `delivery` object into this policy. Every problem is returned;
    /// valid fields apply regardless, like the rest of the config.
    pub fn apply(&mut self, v: &Val) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let Some(fields) = v.as_map() else {
            errors.push(ConfigError::new("delivery", Msg::DeliveryObject, v));
            return errors;
        };
        for (key, val) in fields {
            if val.is_null() {
                continue;
            }
            let mut field = String::from("delivery.");
            field.push_str(key);
            let Some(k) = KEYS.iter().find(|k| k.name == key) else {
                let mut exp = String::new();
                for (j, k) in KEYS.iter().enumerate() {
                    if j > 0 {
                        exp.push_str(", ");
                    }
                    exp.push_str(k.name);
                }
                errors.push(ConfigError::msg(field, Msg::OneOf, "an unknown field").with(exp));
                continue;
            };
            match val.as_num() {
                Some(n) if n >= k.lo && n <= k.hi && (k.hours || is_whole(n)) => (k.set)(self, n),
                _ => {
                    let mut exp = String::new();
                    write_num(&mut exp, k.lo);
                    exp.push_str(" to ");
                    write_num(&mut exp, k.hi);
                    errors.push(ConfigError::new(field, if k.hours { Msg::Hours } else { Msg::WholeNumber }, val).with(exp));
                }
            }
        }
        errors
    }
}

/// The default policy with a `delivery` object applied, plus every problem
/// found (valid fields still apply).
pub fn parse_policy(v: &Val) -> (Policy, Vec<ConfigError>) {
    let mut p = Policy::default();
    let errors = p.apply(v);
    (p, errors)
}

#[cfg(test)]
mod tests;
