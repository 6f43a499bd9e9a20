//! Google's rules (Google Ads enhanced conversions; Data Manager API
//! "Format user data"): email trimmed and lower-cased, and for `gmail.com`
//! and `googlemail.com` only without the `.`s and a `+suffix` of its local
//! part; phone E.164 with its `+`; first and last name and street in
//! Unicode NFC, lower-cased and trimmed; all those SHA-256 hex. City,
//! region, postal code and country go plain (trimmed).

use super::{email, given, put, Fold, Input, Phone};
use goaltag_wire::Map;

/// Google's match keys for `input` into `out`.
pub fn rules(input: &Input, fold: Fold, phone: Option<&Phone>, out: &mut Map) {
    put(out, "em", &input.email, |s| email(&fold(s, false), |d| d == "gmail.com" || d == "googlemail.com"));
    if let Some(p) = phone {
        out.insert("ph".into(), p.key(true));
    }
    for (key, v) in [("fn", &input.first_name), ("ln", &input.last_name), ("street", &input.street)] {
        put(out, key, v, |s| fold(s, false).trim().into());
    }
    for (key, v) in [("city", &input.city), ("region", &input.region), ("postal_code", &input.postal_code), ("country", &input.country)] {
        if let Some(s) = given(v) {
            out.insert(key.into(), s.into());
        }
    }
}
