//! Meta's rules (Conversions API, customer information parameters): email
//! trimmed and lower-cased, nothing else; phone digits with the country
//! code and no `+`; first and last name lower-cased without punctuation;
//! city and state lower-cased without punctuation or spaces; postal code
//! lower-cased without spaces or `-` (in the US its first five digits);
//! country ISO 3166-1 alpha-2 in lower case; all SHA-256 hex.

use super::{email, given, put, without, Fold, Input, Phone};
use crate::prelude::*;
use goaltag_wire::Map;

/// Meta's match keys for `input` into `out`.
pub fn rules(input: &Input, fold: Fold, phone: Option<&Phone>, out: &mut Map) {
    put(out, "em", &input.email, |s| email(&fold(s, false), |_| false));
    if let Some(p) = phone {
        out.insert("ph".into(), p.key(false));
    }
    let punct = |c: char| c.is_ascii_punctuation();
    let punct_space = |c: char| c.is_ascii_punctuation() || c.is_whitespace();
    for (key, v) in [("fn", &input.first_name), ("ln", &input.last_name)] {
        put(out, key, v, |s| without(fold(s, false).trim(), punct));
    }
    for (key, v) in [("ct", &input.city), ("st", &input.region)] {
        put(out, key, v, |s| without(&fold(s, false), punct_space));
    }
    let country: String = given(&input.country).map(|s| without(&fold(s, false), punct_space)).unwrap_or_default();
    put(out, "zp", &input.postal_code, |s| {
        let zp = without(&fold(s, false), |c| c == '-' || c.is_whitespace());
        match zp.get(..5) {
            Some(five) if country == "us" && five.bytes().all(|c| c.is_ascii_digit()) => five.into(),
            _ => zp,
        }
    });
    put(out, "country", &input.country, |_| {
        if country.len() == 2 && country.bytes().all(|c| c.is_ascii_lowercase()) {
            country.clone()
        } else {
            String::new()
        }
    });
}
