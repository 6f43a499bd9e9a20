//! Meta's rules (Conversions API, customer information parameters): email
//! trimmed and lower-cased, nothing else; phone digits with the country
//! code and no `+`; first and last name lower-cased without punctuation;
//! city and state lower-cased without punctuation or spaces; postal code
//! lower-cased without spaces or `-` (in the US its first five digits);
//! country ISO 3166-1 alpha-2 in lower case; all SHA-256 hex.

use super::*;

/// Meta's match keys.
pub const RULES: Platform = Platform {
    hashed: &[
        ("em", EMAIL, Rule::Email),
        ("ph", PHONE, Rule::Phone(false)),
        ("fn", FIRST_NAME, Rule::NoPunctuation),
        ("ln", LAST_NAME, Rule::NoPunctuation),
        ("ct", CITY, Rule::NoPunctuationOrSpace),
        ("st", REGION, Rule::NoPunctuationOrSpace),
        ("zp", POSTAL_CODE, Rule::Zip),
        ("country", COUNTRY, Rule::Country),
    ],
    plain: &[],
};
