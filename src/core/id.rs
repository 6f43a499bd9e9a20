//! Event IDs. Every event gets its ID when it is recorded and keeps it through
//! every retry, so the collector can store it exactly once.

use crate::prelude::*;

/// Formats 16 random bytes as an RFC 4122 version-4 UUID (sets the version and
/// variant bits). The bytes come from `crypto.getRandomValues` in the browser.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// Lower-case hyphenated form: 8-4-4-4-12 hex digits.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        crate::core::text::push_hex(&mut s, core::slice::from_ref(x));
    }
    s
}

pub use goaltag_wire::is_uuid;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_sets_version_and_variant_bits() {
        for fill in [0x00u8, 0xff, 0x5a] {
            let id = uuid_v4([fill; 16]);
            assert!(is_uuid(&id), "{id}");
            assert_eq!(&id[14..15], "4", "{id}");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        }
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn different_bytes_give_different_ids() {
        let mut b = [7u8; 16];
        let a = uuid_v4(b);
        b[15] = 8;
        assert_ne!(a, uuid_v4(b));
    }

    #[test]
    fn is_uuid_rejects_near_misses() {
        assert!(!is_uuid("00000000-0000-4000-8000-00000000000"));
        assert!(!is_uuid("00000000_0000-4000-8000-000000000000"));
        assert!(!is_uuid("g0000000-0000-4000-8000-000000000000"));
    }
}
