//! What an answer does to the request in flight: delivered, retried after a
//! backoff (or the collector's `Retry-After`), split in two, or dropped as
//! poison; and sending paused while offline.

use super::{Outbox, GONE};
use crate::core::text::parse_u64;

/// What became of a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// An HTTP answer; 2xx means delivered.
    Status {
        /// The HTTP status.
        code: u16,
        /// The answer's `Retry-After` as a delay in ms (see [`Outcome::answer`]).
        retry_after_ms: Option<u64>,
    },
    /// No answer: offline, DNS, CORS, timeout, aborted.
    NetworkError,
}

impl Outcome {
    /// An HTTP answer as the shell reads it: the status, the raw
    /// `Retry-After` header if any, and that header as the browser reads an
    /// HTTP-date (`Date.parse`, ms since the epoch) if it reads one; both
    /// go through [`retry_after_ms`] at `now_ms`, the browser's clock.
    pub fn answer(code: u16, retry_after: Option<&str>, date_ms: Option<u64>, now_ms: u64) -> Outcome {
        Outcome::Status { code, retry_after_ms: retry_after.and_then(|v| retry_after_ms(v, date_ms, now_ms)) }
    }
}

/// A `Retry-After` value (RFC 9110, 10.2.3) as a delay in ms. Delay-seconds
/// (digits only; more than a u64 holds means "very long") win; otherwise,
/// when the browser read the value as an HTTP-date (`date_ms`), the time
/// from `now_ms` until then, none once it has passed. Anything else is
/// absent: the usual backoff applies. Either form is bounded by the
/// policy's `retry_after_cap_ms` when applied.
///
/// The date is read by the browser, not here: a parser of the three HTTP
/// date formats in the core measured 0.65-0.75 KB of the gzipped download
/// (three attempts), `Date.parse` in the transport about 110 B. Every browser
/// reads the IMF-fixdate form senders must use (`Wed, 21 Oct 2026 07:28:00
/// GMT`, the form `Date.prototype.toUTCString` writes).
pub fn retry_after_ms(value: &str, date_ms: Option<u64>, now_ms: u64) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || !crate::core::text::all_bytes(v, |b| b.is_ascii_digit()) {
        return date_ms.map(|t| t.saturating_sub(now_ms));
    }
    Some(parse_u64(v).map_or(u64::MAX, |s| s.saturating_mul(1000)))
}

impl Outbox {
    /// Settles the request in flight. Answers to anything else are ignored.
    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now_ms: u64, rand: u32) {
        if self.in_flight != Some(batch) {
            return;
        }
        self.in_flight = None;
        self.open = None;
        self.dirty = true;
        let (code, retry_after) = match outcome {
            Outcome::Status { code, retry_after_ms } => (code, retry_after_ms),
            Outcome::NetworkError => (0, None),
        };
        let sent = self.entries.iter().filter(|e| e.flying).count();
        match code {
            // Too large: each half is a new batch (no `attempt`), sent at once.
            413 if sent > 1 => {
                self.next_id += 1;
                let (half, id) = (sent.div_ceil(2), self.next_id);
                for (k, e) in self.entries.iter_mut().filter(|e| e.flying).enumerate() {
                    e.sends = 0;
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
}

#[cfg(test)]
mod tests;
