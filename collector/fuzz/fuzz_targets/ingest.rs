//! Any bytes as a POST body: the parser must not panic, and what it accepts
//! must be accepted again, unchanged, when sent back (so the stored batch is
//! exactly the validated one). The proptest in collector/tests/fuzz_ingest.rs
//! runs a bounded version of this in `cargo test`.
#![no_main]

use goaltag_collector::ingest::{parse_at, Limits};
use libfuzzer_sys::fuzz_target;

/// A fixed receipt time, so a crash reproduces from its input alone.
const NOW: i64 = 1_764_000_000_000;

fuzz_target!(|body: &[u8]| {
    let limits = Limits::default();
    if let Ok(batch) = parse_at(body, &limits, NOW) {
        let again = serde_json::to_vec(&batch).expect("an accepted batch serializes");
        assert_eq!(parse_at(&again, &limits, NOW).ok(), Some(batch), "accepted, but not when sent back");
    }
});
