//! Google's rules (Google Ads enhanced conversions; Data Manager API
//! "Format user data"): email lower-cased without white space (leading,
//! trailing and inside), and for `gmail.com`
//! and `googlemail.com` only without the `.`s and a `+suffix` of its local
//! part; phone E.164 with its `+`; first and last name and street in
//! Unicode NFC, lower-cased and trimmed; all those SHA-256 hex. City,
//! region, postal code and country go plain (trimmed).

use super::*;

/// Google's match keys.
pub const RULES: Platform = Platform {
    hashed: &[
        ("em", EMAIL, Rule::GmailEmail),
        ("ph", PHONE, Rule::Phone(true)),
        ("fn", FIRST_NAME, Rule::Trim),
        ("ln", LAST_NAME, Rule::Trim),
        ("street", STREET, Rule::Trim),
    ],
    plain: &[("city", CITY), ("region", REGION), ("postal_code", POSTAL_CODE), ("country", COUNTRY)],
};
