//! Numbers, hex and character counts in text, without `core::fmt` (which
//! would add kilobytes to the download): the one copy of each conversion and
//! cut the core uses for storage formats, IDs, messages and page facts.

use crate::prelude::*;

/// Appends `n` in decimal (the wire crate's writer, shared).
pub use goaltag_wire::json::write_uint as push_u64;

/// Decimal digits only (no sign, no spaces, not empty), without overflow.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, c| {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Whether every byte of `s` passes `ok`: one shared loop for every
/// validator instead of a copy of `bytes().all(…)` per closure.
#[inline(never)]
pub fn all_bytes(s: &str, ok: fn(u8) -> bool) -> bool {
    for b in s.bytes() {
        if !ok(b) {
            return false;
        }
    }
    true
}

/// The first `n` characters of `s` (all of it when shorter), without
/// allocating: one shared helper instead of a `chars().take(n).collect()` each.
pub fn first_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` as lower-case hex, two digits a byte.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// The value of one hex digit, either case.
pub fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
