//! The persisted format: the text the shell keeps in localStorage (see
//! [`Outbox::persist`]), so the next page can resend what this one could not
//! deliver, and its reading back, which survives any damage.

use super::{Entry, Item, Outbox};
use crate::core::text::{parse_u64, push_u64};
use crate::prelude::*;

impl Outbox {
    /// Text for localStorage: a `gt1` header with the unreported drop counts,
    /// then one event a line: `id TAB created_ms TAB flags TAB sends TAB
    /// json_len TAB json` (flags: 1 conversion, 2 beacon-sent; `sends`: its
    /// batch's fetches, which a restore does not read, since restored events
    /// are re-planned into new batches, and kept in the format for tags of
    /// other versions in other tabs). The length catches truncation.
    /// Oversized events are left out.
    pub fn persist(&self) -> String {
        let room = self.room(self.policy.max_bytes);
        let mut out = String::with_capacity(16 + self.json_bytes() + 72 * self.entries.len());
        out.push_str("gt1");
        for n in self.unreported.counts() {
            out.push('\t');
            push_u64(&mut out, n.into());
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
                push_u64(&mut out, n);
            }
            out.push('\t');
            out.push_str(&it.json);
        }
        out
    }

    /// Merges persisted text in: IDs already queued are skipped, expired
    /// events dropped (and counted), bad lines ignored. Beacon-sent events come
    /// back as ordinary events, so they are resent once. Restored events are
    /// planned into new batches (with events of this page's open batch, if
    /// there is room), sent without `attempt`. Returns how many events were
    /// added.
    pub fn restore(&mut self, text: &str, now_ms: u64) -> usize {
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let mut head = lines.next().unwrap_or("").split('\t');
        if head.next() != Some("gt1") {
            return 0;
        }
        // A text without the later counters (an older tag's) reads them as 0.
        let mut restored = false;
        for u in self.unreported.counts_mut() {
            let n = head.next().and_then(parse_u64).map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
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
}

/// Whether `s` fits in one field of a persisted line (serialised JSON always does).
fn one_field(s: &str) -> bool {
    crate::core::text::all_bytes(s, |b| !matches!(b, b'\t' | b'\n' | b'\r'))
}

/// One persisted line, or None if it is damaged in any way.
fn parse_line(line: &str) -> Option<Entry> {
    let mut f = line.splitn(6, '\t');
    let id = f.next()?;
    let mut n = || f.next().and_then(parse_u64);
    let (created_ms, flags, _sends, len) = (n()?, n()?, n()?, n()?);
    let json = f.next()?;
    if id.is_empty() || json.len() as u64 != len || !json.starts_with('{') || !json.ends_with('}') || flags > 3 {
        return None;
    }
    let item = Item { id: id.into(), json: json.into(), conversion: flags & 1 != 0, created_ms, beacon_sent: false };
    Some(Entry { item, batch: 0, sends: 0, flying: false })
}

#[cfg(test)]
mod tests;
