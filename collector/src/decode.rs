//! Compressed bodies. The tag gzips large batches with the browser's own
//! `CompressionStream('gzip')` and says so in the URL, `POST /collect?c=gzip`,
//! keeping the request CORS-simple (`text/plain`, no `Content-Encoding`, so no
//! preflight). The collector never guesses: without `c=gzip` a body is JSON as
//! it always was (even one that starts with the gzip magic bytes); with it the
//! body must be one gzip member, and is decoded only as far as
//! [`Limits::max_decoded_bytes`] and [`MAX_RATIO`] allow, so a small body
//! cannot make the collector allocate or inflate more than that.
//!
//! | what arrives | answer |
//! |---|---|
//! | `c` other than `gzip`, or given twice | 400 naming the accepted value |
//! | `c=gzip`, body not starting with `1f 8b` | 400 |
//! | decodes past `--max-decoded-bytes` | 413 |
//! | decodes past [`RATIO_FLOOR`] and past [`MAX_RATIO`] × its size | 413 |
//! | truncated, corrupt, wrong CRC or length, bytes after the member | 400 |
//!
//! A second gzip member after the first counts as bytes after the member:
//! `CompressionStream` writes one member, and accepting only that keeps one
//! meaning for "the end of the body".

use crate::ingest::{self, Limits, Rejection};
use axum::http::StatusCode;
use flate2::bufread::GzDecoder;
use goaltag_wire::Batch;
use std::io::{ErrorKind, Read};

/// The first two bytes of every gzip stream (RFC 1952).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The query parameter value that marks a gzip body.
pub const GZIP: &str = "gzip";

/// Default cap on a decoded body (defined beside the other limits, in [`crate::ingest`]).
pub use crate::ingest::DEFAULT_MAX_DECODED_BYTES;

/// Most a body may grow by decoding once it is past [`RATIO_FLOOR`]: 200
/// times. Batches the tag sends compress 8 to 12 times (random UUIDs and
/// timestamps in every event); even 40 events whose 4096-character URL and
/// 2048-character title are one letter repeated compress about 134 times.
/// Zeros compress about 1030 times, the most deflate can.
pub const MAX_RATIO: usize = 200;

/// Decoded size below which the ratio is not checked: 64 KiB. Small batches
/// of repeated text may compress far better than 200:1, and inflating 64 KiB
/// costs nothing worth refusing; past it a body must carry at least
/// 1/[`MAX_RATIO`] of its decoded size.
pub const RATIO_FLOOR: usize = 64 * 1024;

/// How a `/collect` body is encoded, as its URL says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// No `c` parameter: JSON.
    Plain,
    /// `c=gzip`: one gzip member holding the JSON.
    Gzip,
}

impl Encoding {
    /// The encoding named by the `c` parameter of a request's query string
    /// (other parameters are ignored, as they always were); a `c` of another
    /// value, or given twice, is refused with 400.
    pub fn from_query(query: Option<&str>) -> Result<Encoding, Rejection> {
        let mut found = Encoding::Plain;
        let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
        for (key, value) in pairs.filter(|(k, _)| k == "c") {
            if found != Encoding::Plain {
                return Err(Rejection::bad(format!("c: given more than once; send c={GZIP} once, or leave it out")));
            }
            if value != GZIP {
                let shown: String = value.chars().take(40).collect();
                return Err(Rejection::bad(format!(
                    "{key}: unknown body encoding {shown:?}; the accepted value is c={GZIP} (or no c for plain JSON)"
                )));
            }
            found = Encoding::Gzip;
        }
        Ok(found)
    }
}

/// The batch in a `/collect` body: decoded as `query` says, then parsed and
/// validated by [`ingest::parse_at`]. A plain body is held to
/// `limits.max_body_bytes` (as it always was), a decoded one to
/// `limits.max_decoded_bytes`.
pub fn parse_at(query: Option<&str>, body: &[u8], limits: &Limits, received_at: i64) -> Result<Batch, Rejection> {
    match Encoding::from_query(query)? {
        Encoding::Plain => ingest::parse_at(body, limits, received_at),
        Encoding::Gzip => {
            let json = gunzip(body, limits.max_decoded_bytes)?;
            ingest::parse_at(&json, &Limits { max_body_bytes: limits.max_decoded_bytes, ..*limits }, received_at)
        }
    }
}

/// Decodes `body`, one gzip member and nothing after it. Inflates at most
/// `max_decoded` + 1 bytes (fewer when [`MAX_RATIO`] bounds it first), so
/// memory and time are bounded by the caps, not by what the body would
/// decode to. Past a cap: 413; anything else wrong: 400 with what it was.
pub fn gunzip(body: &[u8], max_decoded: usize) -> Result<Vec<u8>, Rejection> {
    if !body.starts_with(&GZIP_MAGIC) {
        let head: Vec<String> = body.iter().take(2).map(|b| format!("{b:02x}")).collect();
        return Err(Rejection::bad(format!(
            "c={GZIP}, but the body is not gzip: it starts with [{}], not the gzip magic bytes 1f 8b",
            head.join(" ")
        )));
    }
    let by_ratio = body.len().saturating_mul(MAX_RATIO).max(RATIO_FLOOR);
    let limit = max_decoded.min(by_ratio);
    let mut decoder = GzDecoder::new(body);
    // Start small and let the vector grow: a bomb is refused at `limit`, and
    // a real batch needs a few doublings at most.
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    if let Err(e) = (&mut decoder).take(cap).read_to_end(&mut out) {
        return Err(Rejection::bad(match e.kind() {
            ErrorKind::UnexpectedEof => format!("gzip body is truncated: {e}"),
            _ => format!("gzip body is corrupt: {e}"),
        }));
    }
    if out.len() > limit {
        let reason = if limit == max_decoded {
            format!("gzip body decodes to more than the limit of {max_decoded} bytes (--max-decoded-bytes)")
        } else {
            format!(
                "gzip body of {} bytes decodes to more than {limit} bytes, over {MAX_RATIO} times its size: \
                 refused as a decompression bomb",
                body.len()
            )
        };
        return Err(Rejection { status: StatusCode::PAYLOAD_TOO_LARGE, reason });
    }
    // The decoder has read the member's trailer and checked its CRC and length.
    let rest = decoder.into_inner();
    if !rest.is_empty() {
        return Err(Rejection::bad(format!("{} bytes after the end of the gzip stream (one gzip member is accepted)", rest.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    const JSON: &[u8] = br#"{"v":1,"site":"demo-shop","sent_at":1764000000000,"events":[{"id":"0f8fad5b-d9cb-469f-a165-70867728950e","kind":"click","ts":1764000000000}]}"#;
    const NOW: i64 = 1_764_000_000_000;

    fn reason(r: Result<Vec<u8>, Rejection>) -> (u16, String) {
        let r = r.unwrap_err();
        (r.status.as_u16(), r.reason)
    }

    #[test]
    fn the_query_decides_the_encoding() {
        assert_eq!(Encoding::from_query(None), Ok(Encoding::Plain));
        assert_eq!(Encoding::from_query(Some("")), Ok(Encoding::Plain));
        assert_eq!(Encoding::from_query(Some("c=gzip")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::from_query(Some("x=1&c=gzip&y")), Ok(Encoding::Gzip));
        assert_eq!(Encoding::from_query(Some("c=gzi%70")), Ok(Encoding::Gzip), "percent-encoded is the same value");
        assert_eq!(Encoding::from_query(Some("cc=br")), Ok(Encoding::Plain), "other parameters are ignored");
        for bad in ["c=br", "c=", "c", "c=GZIP", "c=deflate"] {
            let r = Encoding::from_query(Some(bad)).unwrap_err();
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert!(r.reason.contains("the accepted value is c=gzip"), "{bad}: {}", r.reason);
        }
        let twice = Encoding::from_query(Some("c=gzip&c=gzip")).unwrap_err();
        assert!(twice.reason.starts_with("c: given more than once"), "{}", twice.reason);
        let long = Encoding::from_query(Some(&format!("c={}", "z".repeat(5000)))).unwrap_err();
        assert!(long.reason.len() < 200, "the value is not echoed whole: {}", long.reason);
    }

    #[test]
    fn a_gzip_member_decodes_to_its_bytes() {
        assert_eq!(gunzip(&gzip(JSON), 1 << 20).unwrap(), JSON);
        assert_eq!(gunzip(&gzip(b""), 1 << 20).unwrap(), b"");
        // Exactly at the cap is fine; the cap is on the decoded bytes.
        assert_eq!(gunzip(&gzip(JSON), JSON.len()).unwrap(), JSON);
        let (status, why) = reason(gunzip(&gzip(JSON), JSON.len() - 1));
        assert_eq!(status, 413);
        assert_eq!(why, format!("gzip body decodes to more than the limit of {} bytes (--max-decoded-bytes)", JSON.len() - 1));
    }

    #[test]
    fn the_magic_bytes_are_required() {
        let (status, why) = reason(gunzip(JSON, 1 << 20));
        assert_eq!(status, 400);
        assert_eq!(why, "c=gzip, but the body is not gzip: it starts with [7b 22], not the gzip magic bytes 1f 8b");
        assert!(reason(gunzip(b"", 1 << 20)).1.contains("starts with []"));
        assert!(reason(gunzip(&[0x1f], 1 << 20)).1.contains("starts with [1f]"));
    }

    #[test]
    fn broken_streams_are_400_with_what_broke() {
        let good = gzip(JSON);
        for cut in [2, 10, good.len() / 2, good.len() - 8, good.len() - 1] {
            let (status, why) = reason(gunzip(&good[..cut], 1 << 20));
            assert_eq!(status, 400, "cut at {cut}: {why}");
            assert!(why.starts_with("gzip body is truncated") || why.starts_with("gzip body is corrupt"), "cut at {cut}: {why}");
        }
        assert!(reason(gunzip(&good[..good.len() - 4], 1 << 20)).1.starts_with("gzip body is truncated"));
        // A wrong CRC-32 (the trailer's first 4 bytes), a wrong length (the last 4).
        for at in [good.len() - 8, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x55;
            let (status, why) = reason(gunzip(&bad, 1 << 20));
            assert_eq!((status, why.starts_with("gzip body is corrupt")), (400, true), "{why}");
        }
        let mut method = good.clone();
        method[2] = 7; // compression method other than deflate
        assert!(reason(gunzip(&method, 1 << 20)).1.starts_with("gzip body is corrupt"));
    }

    #[test]
    fn nothing_may_follow_the_member() {
        let mut trailing = gzip(JSON);
        trailing.extend_from_slice(b"\n");
        assert_eq!(
            reason(gunzip(&trailing, 1 << 20)),
            (400, "1 bytes after the end of the gzip stream (one gzip member is accepted)".into())
        );
        let mut two = gzip(JSON);
        let second = gzip(JSON);
        two.extend_from_slice(&second);
        assert_eq!(
            reason(gunzip(&two, 1 << 20)).1,
            format!("{} bytes after the end of the gzip stream (one gzip member is accepted)", second.len())
        );
    }

    #[test]
    fn bombs_are_refused_at_the_cap_or_the_ratio() {
        // 4 MiB of zeros: about 4 KB compressed, so the ratio (800 KB) bounds it before the 1 MiB cap.
        let zeros = gzip(&vec![0u8; 4 << 20]);
        let (status, why) = reason(gunzip(&zeros, 1 << 20));
        assert_eq!(status, 413);
        assert!(why.contains(&format!("over {MAX_RATIO} times its size")), "{why}");
        // With a cap below that, the cap speaks.
        assert!(reason(gunzip(&zeros, 100_000)).1.contains("limit of 100000 bytes"));
        // Below the floor the ratio is not checked: 60 KiB of zeros (about 100 bytes) pass.
        let small = gzip(&vec![0u8; 60 << 10]);
        assert!(small.len() * MAX_RATIO < 60 << 10);
        assert_eq!(gunzip(&small, 1 << 20).unwrap().len(), 60 << 10);
    }

    #[test]
    fn parse_holds_each_body_to_its_own_limit() {
        let limits = Limits { max_body_bytes: 100, max_decoded_bytes: 1000, ..Limits::default() };
        assert!(JSON.len() > 100);
        assert_eq!(parse_at(None, JSON, &limits, NOW).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        let b = parse_at(Some("c=gzip"), &gzip(JSON), &limits, NOW).unwrap();
        assert_eq!(b, ingest::parse_at(JSON, &Limits::default(), NOW).unwrap());
        let tight = Limits { max_decoded_bytes: 100, ..limits };
        assert_eq!(parse_at(Some("c=gzip"), &gzip(JSON), &tight, NOW).unwrap_err().status, StatusCode::PAYLOAD_TOO_LARGE);
        // A plain body that happens to start with the magic is JSON, and fails as JSON does.
        let mut magic = GZIP_MAGIC.to_vec();
        magic.extend_from_slice(JSON);
        assert!(parse_at(None, &magic, &Limits::default(), NOW).unwrap_err().reason.starts_with("not a goaltag batch"));
        // A gzip body whose JSON is wrong fails as that JSON would.
        let wrong = JSON.to_vec().into_iter().map(|b| if b == b'1' { b'2' } else { b }).collect::<Vec<_>>();
        let plain = ingest::parse_at(&wrong, &Limits::default(), NOW).unwrap_err();
        assert_eq!(parse_at(Some("c=gzip"), &gzip(&wrong), &Limits::default(), NOW).unwrap_err(), plain);
    }
}
