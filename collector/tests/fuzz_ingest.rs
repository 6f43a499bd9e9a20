//! Property tests over the ingestion path: valid batches, then mutated bytes
//! and fields, plain or gzipped (`?c=gzip`, mutated before or after the
//! compression). Whatever arrives, the parser must not panic, what it accepts
//! must be valid, and storage must take a batch whole or not at all.
//! (The open-ended version is the cargo-fuzz target in collector/fuzz/.)

use axum::body::Body;
use axum::http::Request;
use goaltag_collector::decode;
use goaltag_collector::ingest::{self, Limits};
use goaltag_collector::Config;
use goaltag_wire::{is_uuid, Attribution, Batch, Consent, Element, Event, Form, Kind, Signal};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

/// Receipt time for the parser-only properties.
const NOW: i64 = 1_764_000_000_000;
const LIMITS: Limits = Limits {
    max_body_bytes: 64 * 1024,
    max_decoded_bytes: 256 * 1024,
    max_events: 30,
    max_age_ms: ingest::DEFAULT_MAX_AGE_MS,
    max_ahead_ms: ingest::DEFAULT_MAX_AHEAD_MS,
};

/// Fresh UUIDs, so that batches from different cases never share an event ID.
fn uuid(seed: u64) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let h = format!("{:016x}{:016x}", seed, n);
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

fn text() -> impl Strategy<Value = String> {
    // Short mostly, sometimes up to the limit; ASCII, accents, emoji, controls
    // but U+0000, which the contract refuses. (Past the limit, and NUL, are
    // the mutations' job.)
    prop_oneof![
        4 => "[a-zA-Z0-9 /:._-]{0,40}",
        1 => "[éü€😀\u{1}\u{1f}\"\\\\]{0,10}",
        1 => (2000usize..=2048).prop_map(|n| "x".repeat(n)),
    ]
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(0.3, text())
}

fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[a-z_]{1,12}", text(), 0..3)
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(vec![Kind::PageView, Kind::Click, Kind::FormSubmit, Kind::Event, Kind::Conversion])
}

fn event(now: i64) -> impl Strategy<Value = Event> {
    let core = (any::<u64>(), kind(), -3_600_000i64..3_600_000, opt_text(), opt_text(), opt_text());
    let money = (prop::option::of(-1e6f64..1e6), prop::option::of("[A-Z]{3}"), opt_text(), opt_text());
    let nested = (
        prop::option::weighted(0.3, (text(), opt_text(), opt_text(), map())),
        prop::option::weighted(0.2, (opt_text(), opt_text(), 0u32..50)),
        prop::option::weighted(0.3, (map(), map(), opt_text())),
        any::<Option<bool>>(),
    );
    (core, money, nested).prop_map(move |((seed, kind, off, url, title, label), money, nested)| {
        let mut e = Event::new(uuid(seed), kind, (now + off) as u64);
        (e.url, e.title, e.label) = (url, title, label);
        (e.value, e.currency, e.transaction_id, e.goal) = money;
        let (element, form, attribution, gpc) = nested;
        e.element = element.map(|(tag, id, text, data)| Element { tag, id, text, data: data.into_iter().collect(), ..Default::default() });
        e.form = form.map(|(id, name, fields)| Form { id, name, fields, ..Default::default() });
        e.attribution = attribution.map(|(click_ids, utm, referrer_host)| Attribution {
            click_ids: click_ids.into_iter().collect(),
            utm: utm.into_iter().collect(),
            referrer_host,
            landing_url: None,
        });
        e.gpc = gpc;
        e.consent = gpc.map(|g| Consent {
            analytics_storage: Signal::Granted,
            ad_storage: if g { Signal::Denied } else { Signal::Granted },
            ad_user_data: Signal::Denied,
            ad_personalization: Signal::Denied,
        });
        e
    })
}

/// A batch the collector should accept, as the tag would send it (maybe a retry).
fn valid_batch(now: i64) -> impl Strategy<Value = Batch> {
    ("[a-z0-9-]{1,20}", 1u32..5, prop::collection::vec(event(now), 1..=20)).prop_map(move |(site, attempt, events)| Batch {
        v: 1,
        site,
        sent_at: now as u64,
        attempt,
        dropped: Default::default(),
        events,
    })
}

/// A change to a body: byte-level (what a broken proxy or a fuzzer does) or
/// field-level (what a hand-written or hostile sender does).
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Truncate(usize),
    Duplicate(usize, usize),
    /// Replace (Some) or remove (None) the k-th field of the o-th object.
    Field(usize, usize, Option<Value>),
}

fn weird_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(0)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1e300)),
        Just(serde_json::json!("")),
        Just(serde_json::json!("0F8FAD5B-D9CB-469F-A165-70867728950E")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!(true)),
        (2040usize..4200).prop_map(|n| Value::String("y".repeat(n))),
        (0usize..600).prop_map(|n| Value::Array(vec![serde_json::json!({"id": "x"}); n])),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "null",
        "-1",
        "1e400",
        "18446744073709551616",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"é\"",
        "NaN",
        "\"events\":[]",
        "\u{feff}",
        "\\",
        "\"",
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), tokens).prop_map(|(p, t)| Mutation::Insert(p, t)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..200).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        (any::<usize>(), any::<usize>(), prop::option::weighted(0.8, weird_value())).prop_map(|(o, k, v)| Mutation::Field(o, k, v)),
    ]
}

fn count_objects(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(count_objects).sum::<usize>(),
        Value::Array(a) => a.iter().map(count_objects).sum(),
        _ => 0,
    }
}

/// The `n`th JSON object in the document, depth first, for field-level mutations.
fn nth_object<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => {
            if *n == 0 {
                return Some(m);
            }
            *n -= 1;
            m.values_mut().find_map(|c| nth_object(c, n))
        }
        Value::Array(a) => a.iter_mut().find_map(|c| nth_object(c, n)),
        _ => None,
    }
}

fn apply(mut body: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = body.len().max(1);
        match m {
            Mutation::Flip(p, b) if !body.is_empty() => body[p % len] ^= b | 1,
            Mutation::Delete(p, n) if !body.is_empty() => {
                let start = p % len;
                body.drain(start..(start + n).min(body.len()));
            }
            Mutation::Insert(p, t) => {
                let at = p % (body.len() + 1);
                body.splice(at..at, t.bytes());
            }
            Mutation::Truncate(p) => body.truncate(p % len),
            Mutation::Duplicate(p, n) if !body.is_empty() => {
                let start = p % len;
                let piece = body[start..(start + n).min(body.len())].to_vec();
                body.splice(start..start, piece);
            }
            Mutation::Field(o, k, v) if serde_json::from_slice::<Value>(&body).is_ok() => {
                let mut doc: Value = serde_json::from_slice(&body).unwrap();
                let total = count_objects(&doc);
                if let Some(obj) = (total > 0).then(|| nth_object(&mut doc, &mut (o % total.max(1)))).flatten() {
                    let key = obj.keys().nth(k % obj.len().max(1)).cloned();
                    match (v, key) {
                        (Some(v), Some(key)) => {
                            obj.insert(key, v.clone());
                        }
                        (None, Some(key)) => {
                            obj.remove(&key);
                        }
                        _ => {}
                    }
                }
                body = serde_json::to_vec(&doc).unwrap();
            }
            _ => {}
        }
    }
    body
}

/// `data` as one gzip member, as the tag's `CompressionStream('gzip')` sends it.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// What a gzip body says, decoded by flate2 directly (not by the collector):
/// the first member, if it is whole.
fn gunzip_independently(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body).read_to_end(&mut out).ok()?;
    Some(out)
}

/// What any accepted batch must satisfy, checked independently of the parser.
fn assert_valid(b: &Batch, limits: &Limits, now: i64) {
    assert_eq!(b.v, 1);
    assert!(ingest::is_site_key(&b.site), "site {:?}", b.site);
    assert!((1..=limits.max_events).contains(&b.events.len()));
    assert!(b.attempt >= 1);
    for e in &b.events {
        assert!(is_uuid(&e.id) && e.id == e.id.to_ascii_lowercase(), "id {:?}", e.id);
        let ts = e.ts as i64;
        assert!(ts >= now - limits.max_age_ms as i64 && ts <= now + limits.max_ahead_ms as i64, "ts {ts}");
        if let Some(v) = e.value {
            assert!(v.is_finite() && v.abs() <= ingest::MAX_VALUE);
        }
        for s in [&e.title, &e.label, &e.transaction_id, &e.goal].into_iter().flatten() {
            assert!(s.chars().count() <= ingest::MAX_TEXT);
        }
    }
}

/// `cases` cases; a failing case is kept in tests/fuzz_ingest.proptest-regressions
/// (commit it) and replayed first from then on.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// The generator makes batches the collector accepts, or the mutation
    /// properties below would be testing refusals only.
    #[test]
    fn generated_batches_are_accepted(b in valid_batch(NOW)) {
        let body = serde_json::to_vec(&b).unwrap();
        prop_assume!(body.len() <= LIMITS.max_body_bytes);
        let parsed = ingest::parse_at(&body, &LIMITS, NOW);
        prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
    }

    /// Gzipped, the same batch is accepted as the same batch, unless it is a
    /// batch of repeated text that decodes past the ratio floor at more than
    /// the ratio: then 413 (and the tag splits it).
    #[test]
    fn gzipped_batches_are_accepted_as_their_plain_selves(b in valid_batch(NOW)) {
        let json = serde_json::to_vec(&b).unwrap();
        prop_assume!(json.len() <= LIMITS.max_body_bytes);
        let packed = gzip(&json);
        match decode::parse_at(Some("c=gzip"), &packed, &LIMITS, NOW) {
            Ok(parsed) => prop_assert_eq!(Some(parsed), ingest::parse_at(&json, &LIMITS, NOW).ok()),
            Err(r) => {
                prop_assert_eq!(r.status.as_u16(), 413, "{}", r.reason);
                prop_assert!(json.len() > decode::RATIO_FLOOR && json.len() > decode::MAX_RATIO * packed.len(), "{}", r.reason);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Mutated bodies: no panic; anything accepted is valid, and accepting is
    /// stable (the accepted batch, sent again, is accepted as the same batch).
    #[test]
    fn mutated_bodies_never_panic_and_accepted_ones_are_valid(
        b in valid_batch(NOW),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let body = apply(serde_json::to_vec(&b).unwrap(), &mutations);
        if let Ok(parsed) = ingest::parse_at(&body, &LIMITS, NOW) {
            assert_valid(&parsed, &LIMITS, NOW);
            let again = ingest::parse_at(&serde_json::to_vec(&parsed).unwrap(), &LIMITS, NOW);
            prop_assert_eq!(again.ok(), Some(parsed));
        }
    }

    /// Gzipped bodies, mutated as JSON before compressing and as bytes
    /// after: no panic; anything accepted is valid and is exactly what the
    /// bytes decode to (one whole gzip member of JSON the plain path accepts).
    #[test]
    fn mutated_gzip_bodies_never_panic_and_accepted_ones_are_valid(
        b in valid_batch(NOW),
        before in prop::collection::vec(mutation(), 0..2),
        after in prop::collection::vec(mutation(), 0..4),
    ) {
        let json = apply(serde_json::to_vec(&b).unwrap(), &before);
        let body = apply(gzip(&json), &after);
        match decode::parse_at(Some("c=gzip"), &body, &LIMITS, NOW) {
            Ok(parsed) => {
                assert_valid(&parsed, &LIMITS, NOW);
                let decoded = gunzip_independently(&body).expect("accepted, but not a whole gzip member");
                prop_assert_eq!(ingest::parse_at(&decoded, &Limits { max_body_bytes: LIMITS.max_decoded_bytes, ..LIMITS }, NOW).ok(), Some(parsed));
            }
            Err(r) => prop_assert!([400, 413].contains(&r.status.as_u16()), "{}: {}", r.status, r.reason),
        }
    }

    /// Raw bytes that never were a batch, as plain and as gzip bodies (with
    /// and without the magic bytes in front).
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ingest::parse_at(&body, &LIMITS, NOW);
        let _ = decode::parse_at(Some("c=gzip"), &body, &LIMITS, NOW);
        let magic = [&decode::GZIP_MAGIC[..], &body].concat();
        let _ = decode::parse_at(Some("c=gzip"), &magic, &LIMITS, NOW);
    }
}

/// The router with SQLite in a temp folder, driven in-process.
struct InProcess {
    app: axum::Router,
    db: std::path::PathBuf,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl InProcess {
    fn new() -> InProcess {
        // tmpfs when there is one: the property is atomicity, not fsync speed.
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap();
        let db = dir.path().join("events.db");
        let cfg = Config { db: db.clone().into(), max_events: LIMITS.max_events, ..Default::default() };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let app = goaltag_collector::router(cfg).unwrap();
        InProcess { app, db, rt, _dir: dir }
    }

    fn post(&self, uri: &str, body: Vec<u8>) -> (u16, String) {
        let req = Request::post(uri).body(Body::from(body)).unwrap();
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    }
}

fn count(conn: &rusqlite::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

proptest! {
    #![proptest_config(config(200))]

    /// Through the real handler and SQLite: a 200 means every event of the
    /// batch is there; anything else means none of it is, nor a batches row.
    /// Half the cases are gzipped (`?c=gzip`), mutated before or after.
    #[test]
    fn a_batch_is_stored_whole_or_not_at_all(
        b in valid_batch(goaltag_collector::model::now_ms()),
        mutations in prop::collection::vec(mutation(), 0..3),
        compressed in any::<bool>(),
        after in prop::collection::vec(mutation(), 0..2),
    ) {
        thread_local!(static APP: InProcess = InProcess::new());
        APP.with(|app| {
            let conn = rusqlite::Connection::open(&app.db).unwrap();
            let (events_before, batches_before) =
                (count(&conn, "select count(*) from events"), count(&conn, "select count(*) from batches"));
            let json = apply(serde_json::to_vec(&b).unwrap(), &mutations);
            let (uri, body) = if compressed { ("/collect?c=gzip", apply(gzip(&json), &after)) } else { ("/collect", json) };
            let (status, answer) = app.post(uri, body.clone());
            let (events_after, batches_after) =
                (count(&conn, "select count(*) from events"), count(&conn, "select count(*) from batches"));
            if status == 200 {
                let sent = if compressed { gunzip_independently(&body).expect("a 200 for a broken gzip body") } else { body };
                let sent: Batch = serde_json::from_slice(&sent).expect("a 200 for a body that is not a batch");
                let mut ids: Vec<String> = sent.events.iter().map(|e| e.id.to_ascii_lowercase()).collect();
                ids.sort();
                ids.dedup();
                let present: i64 = ids
                    .iter()
                    .map(|id| count(&conn, &format!("select count(*) from events where id = '{id}'")))
                    .sum();
                assert_eq!(present, ids.len() as i64, "every event of an acknowledged batch is stored: {answer}");
                let a: Value = serde_json::from_str(&answer).unwrap();
                assert_eq!(a["stored"].as_i64().unwrap() + a["duplicates"].as_i64().unwrap(), sent.events.len() as i64);
                assert_eq!(events_after - events_before, a["stored"].as_i64().unwrap());
                assert_eq!(batches_after, batches_before + 1);
            } else {
                assert!([400, 413].contains(&status), "{status}: {answer}");
                assert_eq!((events_after, batches_after), (events_before, batches_before), "refused but stored: {answer}");
            }
        });
    }
}

/// The fuzzer's seed corpus (collector/fuzz/seeds/ingest) stays valid, so
/// fuzzing starts from batches that reach the deep checks: `.json` files are
/// plain bodies, `.gz` files gzip bodies.
#[test]
fn the_fuzz_seeds_are_valid_batches() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/ingest");
    let (mut plain, mut packed) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read(&path).unwrap();
        let gz = path.extension().is_some_and(|e| e == "gz");
        let query = gz.then_some("c=gzip");
        let parsed = decode::parse_at(query, &body, &Limits::default(), NOW);
        assert!(parsed.is_ok(), "{}: {:?}", path.display(), parsed.err());
        *(if gz { &mut packed } else { &mut plain }) += 1;
    }
    assert!(plain >= 2 && packed >= 1, "seeds in {}", dir.display());
}
