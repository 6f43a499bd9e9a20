//! Microsoft Advertising's rules (enhanced conversions; the bulk `Offline
//! Conversion` record's `Hashed Email Address` and `Hashed Phone Number`):
//! email trimmed and lower-cased, without spaces and accents, and for every
//! domain without the `.`s and a `+suffix` of its local part; phone E.164
//! with its `+`; both SHA-256 hex.

use super::{email, put, without, Fold, Input, Phone};
use goaltag_wire::Map;

/// Microsoft's match keys for `input` into `out`.
pub fn rules(input: &Input, fold: Fold, phone: Option<&Phone>, out: &mut Map) {
    put(out, "em", &input.email, |s| email(&without(&fold(s, true), char::is_whitespace), |_| true));
    if let Some(p) = phone {
        out.insert("ph".into(), p.key(true));
    }
}
