//! Microsoft Advertising's rules (enhanced conversions; the bulk `Offline
//! Conversion` record's `Hashed Email Address` and `Hashed Phone Number`):
//! email trimmed and lower-cased, without spaces and accents, and for every
//! domain without the `.`s and a `+suffix` of its local part; phone E.164
//! with its `+`; both SHA-256 hex.

use super::*;

/// Microsoft's match keys.
pub const RULES: Platform = Platform { hashed: &[("em", EMAIL, Rule::EveryDomainEmail), ("ph", PHONE, Rule::Phone(true))], plain: &[] };
