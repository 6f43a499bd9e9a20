//! Enhanced conversions' match keys on the wire: a conversion's optional
//! `user_data`, one object per ad platform, each with only the fields it has.
//! Every value is a SHA-256 in hex (64 digits) except Google's plain address
//! parts ([`GOOGLE_PLAIN`]). The tag computes them (src/core/user_data); the
//! collector checks them ([`UserData::check`]). An optional field of
//! version 1: older collectors ignore it.

use crate::Map;
use serde::{Deserialize, Serialize};

/// The hashed email and phone (and name and address) of the buyer, per platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserData {
    /// Google Ads / Data Manager: `em`, `ph`, `fn`, `ln`, `street` hashed;
    /// `city`, `region`, `postal_code`, `country` plain.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub google: Map,
    /// Microsoft Advertising: `em`, `ph`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub microsoft: Map,
    /// Meta Conversions API: `em`, `ph`, `fn`, `ln`, `ct`, `st`, `zp`, `country`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map,
}

/// Google's fields that are sent as they are, not hashed.
pub const GOOGLE_PLAIN: [&str; 4] = ["city", "region", "postal_code", "country"];

/// Whether `s` is a SHA-256 in hex: 64 hex digits (either case).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

impl UserData {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.google.is_empty() && self.microsoft.is_empty() && self.meta.is_empty()
    }

    /// The platforms and their fields, by wire name.
    pub fn platforms(&self) -> [(&'static str, &Map); 3] {
        [("google", &self.google), ("microsoft", &self.microsoft), ("meta", &self.meta)]
    }

    /// The first field that is not what the wire says, as `platform.field`:
    /// a hashed field that is not 64 hex digits, or a plain one longer than
    /// `max_plain` bytes.
    pub fn check(&self, max_plain: usize) -> Result<(), (&'static str, &str)> {
        for (platform, m) in self.platforms() {
            for (k, v) in m {
                let plain = platform == "google" && GOOGLE_PLAIN.contains(&k.as_str());
                if (plain && v.len() > max_plain) || (!plain && !is_sha256_hex(v)) {
                    return Err((platform, k));
                }
            }
        }
        Ok(())
    }
}
