//! A gzip bomb through the real `/collect` handler costs the collector at
//! most about `--max-decoded-bytes` of memory, not what the bomb decodes to.
//! This binary counts every heap allocation (its own global allocator), so it
//! holds this one test: nothing else runs in the process while it measures.

mod common;

use axum::body::Body;
use axum::http::Request;
use goaltag_collector::Config;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

/// The system allocator, counting the bytes live now and the most live since [`reset_peak`].
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Starts a new peak from what is live now; returns that baseline.
fn reset_peak() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

#[test]
fn a_bomb_through_the_handler_costs_about_the_cap_not_its_decoded_size() {
    const MIB: usize = 1 << 20;
    let bomb = common::zeros_bomb(100);
    // It really is a bomb: streamed (a 32 KiB buffer at a time), it decodes to 100 MiB.
    let base = reset_peak();
    let decoded = std::io::copy(&mut flate2::read::GzDecoder::new(bomb.as_slice()), &mut std::io::sink()).unwrap();
    assert_eq!(decoded, 100 * MIB as u64);
    assert!(PEAK.load(Ordering::Relaxed) - base < MIB, "streaming needs no more than a buffer");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let app = goaltag_collector::router(Config { db: db.clone().into(), ..Default::default() }).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let post = |uri: &str, body: Vec<u8>| {
        let req = Request::post(uri).body(Body::from(body)).unwrap();
        rt.block_on(async {
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), MIB).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    };
    // Warm up (the writer thread, SQLite's caches), so the measure is the request's own.
    let warm = common::gzip(br#"{"v":1,"site":"s","sent_at":1,"events":[]}"#);
    assert_eq!(post("/collect?c=gzip", warm).0, 400);

    let body = bomb.clone();
    let base = reset_peak();
    let (status, answer) = post("/collect?c=gzip", body);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    eprintln!("bomb of {} bytes (100 MiB of zeros): {status}, peak heap {} KiB above baseline", bomb.len(), peak / 1024);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("--max-decoded-bytes"), "{answer}");
    // The cap (1 MiB) while the decoded vector grows (up to twice that in
    // capacity), the body and the inflater's window: a few MiB, never 100.
    assert!(peak < 4 * MIB, "peak {peak} bytes");
    drop(dir);
}
