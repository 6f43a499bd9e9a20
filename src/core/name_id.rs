//! Name-based (version 5) UUIDs, so that a conversion replayed by a reloaded
//! confirmation page carries the same event ID and the collector stores it once.
//! SHA-1 is written here (about 1 KB of wasm) rather than pulled in as a crate;
//! its padding and block loading are SHA-256's ([`crate::core::digest`]).
//! It is used only to derive IDs, never for security.

use crate::core::digest::{load_block, pad};
use crate::core::id::format_uuid;
use crate::prelude::*;

/// goaltag's namespace for transaction IDs:
/// `uuid5(NAMESPACE_URL, "https://goaltag.invalid/transaction")` =
/// `2112af99-6d9b-5ed0-ae87-a4116ab84361`. Never change it: every stored
/// conversion ID depends on it.
pub const GOALTAG_NS: [u8; 16] = [33, 18, 175, 153, 109, 155, 94, 208, 174, 135, 164, 17, 106, 184, 67, 97];

/// RFC 4122 name-based UUID (version 5, SHA-1) of `name` in `namespace`.
pub fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut data = Vec::with_capacity(16 + name.len());
    data.extend_from_slice(namespace);
    data.extend_from_slice(name);
    let h = sha1(&data);
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// The event ID of a conversion of `goal` for `transaction`: the same on every
/// reload, different for another site, goal or transaction.
pub fn transaction_event_id(site: &str, goal: &str, transaction: &str) -> String {
    let mut name = Vec::with_capacity(site.len() + goal.len() + transaction.len() + 2);
    name.extend_from_slice(site.as_bytes());
    name.push(b'\n');
    name.extend_from_slice(goal.as_bytes());
    name.push(b'\n');
    name.extend_from_slice(transaction.as_bytes());
    uuid_v5(&GOALTAG_NS, &name)
}

/// SHA-1 (FIPS 180-4) of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut w = [0u32; 80];
    for block in pad(data).chunks_exact(64) {
        load_block(block, &mut w);
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, &wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A82_7999),
                1 => (b ^ c ^ d, 0x6ED9_EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (o, x) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&x.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::id::is_uuid;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{:02x}", x)).collect()
    }

    /// 6ba7b810-9dad-11d1-80b4-00c04fd430c8
    const NAMESPACE_DNS: [u8; 16] = [0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];
    /// 6ba7b811-9dad-11d1-80b4-00c04fd430c8
    const NAMESPACE_URL: [u8; 16] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];

    #[test]
    fn sha1_known_answers() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(&sha1(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(&sha1(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
        assert_eq!(hex(&sha1(&vec![b'a'; 1_000_000])), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn sha1_padding_boundaries() {
        // Bytes 0, 1, 2, ... n-1, checked against Python's hashlib.
        let cases = [
            (55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"),
            (56, "636e2ec698dac903498e648bd2f3af641d3c88cb"),
            (63, "6d942da0c4392b123528f2905c713a3ce28364bd"),
            (64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"),
            (65, "69bd728ad6e13cd76ff19751fde427b00e395746"),
            (119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"),
            (120, "d3dbd653bd8597b7475321b60a36891278e6a04a"),
            (128, "e6434bc401f98603d7eda504790c98c67385d535"),
        ];
        for (n, want) in cases {
            let data: Vec<u8> = (0..n as u8).collect();
            assert_eq!(hex(&sha1(&data)), want, "length {n}");
        }
    }

    #[test]
    fn v5_known_vectors() {
        assert_eq!(uuid_v5(&NAMESPACE_DNS, b"python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
        assert_eq!(uuid_v5(&NAMESPACE_URL, b"https://www.example.com/"), "3d3ed9d2-aa3d-5fa6-90e8-ed662e90f559");
    }

    #[test]
    fn goaltag_namespace_is_derived_as_documented() {
        assert_eq!(uuid_v5(&NAMESPACE_URL, b"https://goaltag.invalid/transaction"), format_uuid(&GOALTAG_NS));
    }

    #[test]
    fn transaction_ids_are_deterministic_and_distinct() {
        let a = transaction_event_id("demo-shop", "purchase", "T-1001");
        // Python: uuid.uuid5(GOALTAG_NS, "demo-shop\npurchase\nT-1001")
        assert_eq!(a, "3c48aea4-28c8-58ad-91a6-1519583575b5");
        assert_eq!(a, transaction_event_id("demo-shop", "purchase", "T-1001"));
        assert!(is_uuid(&a));
        assert_eq!(&a[14..15], "5", "version nibble");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant bits");
        assert_ne!(a, transaction_event_id("demo-shop", "lead", "T-1001"));
        assert_ne!(a, transaction_event_id("other-shop", "purchase", "T-1001"));
        assert_ne!(a, transaction_event_id("demo-shop", "purchase", "T-1002"));
        // The separator keeps field boundaries: goal "ab" + "c" is not goal "a" + "bc".
        assert_ne!(transaction_event_id("s", "ab", "c"), transaction_event_id("s", "a", "bc"));
    }
}
