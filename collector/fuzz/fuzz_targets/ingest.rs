//! Any bytes as a POST body, three ways: as plain JSON, as a gzip body
//! (`?c=gzip`), and gzipped first (so the fuzzer's JSON also goes through the
//! decoder). The parser must not panic; what it accepts must be accepted
//! again, unchanged, when sent back (so the stored batch is exactly the
//! validated one); and a body gzipped must get the plain body's answer. The
//! proptest in collector/tests/fuzz_ingest.rs runs a bounded version of this
//! in `cargo test`.
#![no_main]

use goaltag_collector::decode;
use goaltag_collector::ingest::{parse_at, Limits};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

/// A fixed receipt time, so a crash reproduces from its input alone.
const NOW: i64 = 1_764_000_000_000;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

fuzz_target!(|body: &[u8]| {
    let limits = Limits::default();
    let plain = parse_at(body, &limits, NOW);
    if let Ok(batch) = &plain {
        let again = serde_json::to_vec(batch).expect("an accepted batch serializes");
        assert_eq!(parse_at(&again, &limits, NOW).ok().as_ref(), Some(batch), "accepted, but not when sent back");
    }

    // The bytes as a gzip body: whatever they hold, no panic, and an accepted
    // batch is one the plain path accepts too.
    if let Ok(batch) = decode::parse_at(Some("c=gzip"), body, &limits, NOW) {
        let again = serde_json::to_vec(&batch).expect("an accepted batch serializes");
        assert_eq!(parse_at(&again, &limits, NOW).ok(), Some(batch), "accepted gzipped, but not plain");
    }

    // The bytes gzipped: the same answer as plain, but for the caps, which
    // differ on purpose (--max-decoded-bytes, the ratio): 413 either way.
    let packed = decode::parse_at(Some("c=gzip"), &gzip(body), &limits, NOW);
    match (&plain, &packed) {
        (_, Err(r)) if r.status.as_u16() == 413 => {}
        (Err(p), _) if p.status.as_u16() == 413 => {}
        _ => assert_eq!(plain, packed, "gzipped, the body gets another answer"),
    }
});
