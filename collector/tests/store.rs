//! The Store trait's promises, checked on both stores through the trait
//! itself: a batch's duplicates counted per batch (within it and against
//! earlier ones), rejections recorded, text the wire allows stored; and
//! PostgreSQL's own: one event posted through two collectors at the same
//! moment stored once, the schema created, migrated and checked.

mod pg;

use goaltag_collector::store::postgres::{Schema, MIGRATIONS, SCHEMA_VERSION};
use goaltag_collector::store::{Rejected, Store, Stored};
use goaltag_collector::{Accepted, PgStore, SqliteStore};
use goaltag_wire::{Attribution, Batch, Event, Kind};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A batch of page views with these IDs, at `ts`, for site "s".
fn batch(ids: &[String], attempt: u32) -> Accepted {
    let events = ids
        .iter()
        .map(|id| {
            let mut e = Event::new(id.clone(), Kind::PageView, 1_700_000_000_000);
            e.url = Some("https://s.example/a\0b".into());
            e.visit_id = Some("v".into());
            e.attribution = Some(Attribution { landing_url: Some("https://s.example/a\0b".into()), ..Default::default() });
            e
        })
        .collect();
    Accepted::new(Batch { v: 1, site: "s".into(), sent_at: 1, attempt, dropped: Default::default(), events }, 1_700_000_000_000)
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// What every store must do, whatever it is.
async fn contract(store: Arc<dyn Store>, nul_becomes: &str) {
    assert_eq!(store.health().await, Ok(()));
    // An ID twice in one batch, then a batch overlapping the first.
    let r = store.store(batch(&[id(1), id(2), id(1)], 1)).await.unwrap();
    assert_eq!(r, Stored { stored: 2, duplicates: 1 });
    let r = store.store(batch(&[id(2), id(3)], 2)).await.unwrap();
    assert_eq!(r, Stored { stored: 1, duplicates: 1 });
    store.reject(Rejected { received_at: 1_700_000_000_000, reason: "bad\0body".into() });

    // Rejections are recorded in the background: wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let rows = store.report_rows("s", 0, 0, i64::MAX).await.unwrap();
        if rows.rejected_bodies == 1 || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows.rejected_bodies, 1);
    let events = &rows.events;
    assert_eq!(events.rows.len(), 3, "three distinct IDs");
    assert_eq!((rows.batches.batches, rows.batches.duplicates, rows.batches.retried), (2, 2, 1));
    let pv = &events.rows[0];
    assert_eq!(events.string(pv.url), Some(format!("https://s.example/a{nul_becomes}b").as_str()));
    let landing = events.attribution(pv.attribution).and_then(|a| a.landing_url.as_deref());
    assert_eq!(landing, Some("https://s.example/a\0b"), "the attribution column keeps the text exact (JSON escapes NUL)");
    assert_eq!(store.sites().await.unwrap(), ["s"]);
    assert!(store.report_rows("other", 0, 0, i64::MAX).await.unwrap().events.rows.is_empty());
}

#[tokio::test]
async fn sqlite_keeps_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("e.db"), 8).unwrap();
    contract(Arc::new(store), "\0").await;
}

#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn postgres_keeps_the_store_contract() {
    let url = pg::fresh("contract");
    pg::block_on(async {
        let store = PgStore::connect(&url, 4, 8, Schema::Migrate).await.unwrap();
        // PostgreSQL text cannot hold NUL: the column has U+FFFD, the json the event as sent.
        contract(Arc::new(store), "\u{fffd}").await;
    });
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_700_000_000_000;
const HASH: &str = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";

/// One event of `kind` with a hashed email for Microsoft, under a consent
/// snapshot whose `ad_user_data` is `ad_user_data`.
fn with_user_data(n: u32, kind: Kind, ad_user_data: goaltag_wire::Signal) -> Event {
    use goaltag_wire::{Consent, Signal, UserData};
    let mut e = Event::new(id(n), kind, T0 as u64);
    e.goal = Some("purchase".into());
    e.consent = Some(Consent {
        analytics_storage: Signal::Granted,
        ad_storage: Signal::Granted,
        ad_user_data,
        ad_personalization: Signal::Granted,
    });
    e.user_data = Some(UserData { microsoft: [("em".to_string(), HASH.to_string())].into(), ..Default::default() });
    e
}

/// Enhanced conversions' hashed match keys (issue 27): kept in
/// `events.user_data` for conversions granting `ad_user_data` only, never in
/// the event's JSON, and erased once received before the time
/// `erase_user_data` is given (`serve --user-data-days` gives now − N days).
/// `count` runs an SQL count on the store's database.
async fn user_data_is_kept_then_erased(store: Arc<dyn Store>, count: impl AsyncFn(&'static str) -> i64) {
    use goaltag_wire::Signal;
    let events = vec![
        with_user_data(1, Kind::Conversion, Signal::Granted),
        with_user_data(2, Kind::Conversion, Signal::Denied),
        with_user_data(3, Kind::Event, Signal::Granted),
    ];
    let old = Batch { v: 1, site: "s".into(), sent_at: 1, attempt: 1, dropped: Default::default(), events };
    store.store(Accepted::new(old, T0)).await.unwrap();
    let young = Batch {
        v: 1,
        site: "s".into(),
        sent_at: 1,
        attempt: 1,
        dropped: Default::default(),
        events: vec![with_user_data(4, Kind::Conversion, Signal::Granted)],
    };
    store.store(Accepted::new(young, T0 + 10 * DAY)).await.unwrap();
    assert_eq!(count("SELECT count(*) FROM events").await, 4);
    assert_eq!(
        count("SELECT count(*) FROM events WHERE json LIKE '%\"user_data\"%' OR json LIKE '%62a14e44%'").await,
        0,
        "not in the event"
    );
    let granted = "SELECT count(*) FROM events WHERE user_data IS NOT NULL AND id IN \
                   ('00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000004')";
    assert_eq!(count(granted).await, 2, "the granted conversions'");
    assert_eq!(count("SELECT count(*) FROM events WHERE user_data IS NOT NULL").await, 2, "no one else's");
    assert_eq!(count("SELECT count(*) FROM events WHERE user_data LIKE '%\"microsoft\":{\"em\":\"62a14e44%'").await, 2);

    // --user-data-days 30, 31 days after the first batch (21 after the
    // second): what arrived before now - 30 days, the first batch's, goes.
    let days = 30;
    assert_eq!(store.erase_user_data(T0 + 31 * DAY - days * DAY).await.unwrap(), 1);
    assert_eq!(count("SELECT count(*) FROM events WHERE user_data IS NOT NULL AND id LIKE '%4'").await, 1, "received later: kept");
    assert_eq!(count("SELECT count(*) FROM events WHERE user_data IS NOT NULL").await, 1);
    assert_eq!(count("SELECT count(*) FROM events").await, 4, "the events themselves stay");
    assert_eq!(store.erase_user_data(T0 + 1).await.unwrap(), 0, "nothing left that old");
    assert_eq!(store.erase_user_data(T0 + 41 * DAY - days * DAY).await.unwrap(), 1, "41 days on: the second's too");
    assert_eq!(count("SELECT count(*) FROM events WHERE user_data IS NOT NULL").await, 0);
}

#[tokio::test]
async fn sqlite_keeps_user_data_then_erases_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.db");
    let store = SqliteStore::open(&path, 8).unwrap();
    let count = async |sql: &'static str| -> i64 { rusqlite::Connection::open(&path).unwrap().query_row(sql, [], |r| r.get(0)).unwrap() };
    user_data_is_kept_then_erased(Arc::new(store), count).await;
}

#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn postgres_keeps_user_data_then_erases_it() {
    let url = pg::fresh("user_data");
    pg::block_on(async {
        let store = PgStore::connect(&url, 4, 8, Schema::Migrate).await.unwrap();
        let count =
            async |sql: &'static str| -> i64 { pg::with_client_async(&url, async |c| c.query_one(sql, &[]).await.unwrap().get(0)).await };
        user_data_is_kept_then_erased(Arc::new(store), count).await;
    });
}

/// Two collectors (two pools) on one database take the same batches at the
/// same moment: each event is stored once, and of each pair of answers one
/// says stored and the other duplicates, event for event.
#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn the_same_batch_through_two_collectors_at_once_is_stored_once() {
    let url = pg::fresh("race");
    const BATCHES: u32 = 40;
    const EVENTS: u32 = 20;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    rt.block_on(async {
        let a = Arc::new(PgStore::connect(&url, 8, 64, Schema::Migrate).await.unwrap());
        let b = Arc::new(PgStore::connect(&url, 8, 64, Schema::Migrate).await.unwrap());
        let mut pairs = Vec::new();
        for n in 0..BATCHES {
            // Overlapping in reverse order too: the second batch names the IDs backwards.
            let ids: Vec<String> = (0..EVENTS).map(|i| id(n * EVENTS + i)).collect();
            let reversed: Vec<String> = ids.iter().rev().cloned().collect();
            let (a, b) = (a.clone(), b.clone());
            pairs.push(tokio::spawn(async move {
                let (x, y) = tokio::join!(a.store(batch(&ids, 1)), b.store(batch(&reversed, 2)));
                (x.unwrap(), y.unwrap())
            }));
        }
        for p in pairs {
            let (x, y) = p.await.unwrap();
            assert_eq!((x.stored + y.stored, x.duplicates + y.duplicates), (EVENTS as usize, EVENTS as usize), "{x:?} {y:?}");
        }
    });
    assert_eq!(pg::count(&url, "SELECT count(*) FROM events"), i64::from(BATCHES * EVENTS));
    assert_eq!(pg::count(&url, "SELECT count(*) FROM batches"), i64::from(2 * BATCHES));
    assert_eq!(pg::count(&url, "SELECT sum(stored)::bigint FROM batches"), i64::from(BATCHES * EVENTS));
}

/// A database at schema version 1 (before imports) is migrated on start and
/// keeps its events and batches; one from a newer collector is refused; `report` (Check)
/// neither creates nor changes anything.
#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn the_schema_is_created_migrated_and_checked() {
    let url = pg::fresh("schema");
    let err = pg::block_on(PgStore::connect(&url, 1, 1, Schema::Check)).err().expect("an empty database is refused");
    assert!(format!("{err:#}").contains("no goaltag tables"), "{err:#}");
    assert_eq!(pg::count(&url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0, "Check created nothing");

    pg::with_client(&url, async |c| {
        c.batch_execute(MIGRATIONS[0]).await.unwrap();
        c.batch_execute(
            "CREATE TABLE goaltag_schema(version INTEGER NOT NULL); INSERT INTO goaltag_schema VALUES (1);
             INSERT INTO events(id, site, kind, ts, received_at, json) VALUES ('old', 'old', 'page_view', 1, 1, '{}');
             INSERT INTO events(id, site, kind, ts, received_at, json) VALUES ('old-conversion', 'old', 'conversion', 2, 2,
               '{\"id\":\"old-conversion\",\"primary\":true,\"attribution\":{\"utm\":{\"utm_campaign\":\"a\\u0000b\"}}}');
             INSERT INTO batches VALUES ('old', 1, 1, 1, 1, 0, 0, 0, 0);",
        )
        .await
        .unwrap();
    });
    let err = pg::block_on(PgStore::connect(&url, 1, 1, Schema::Check)).err().expect("an old schema is refused by reports");
    assert!(format!("{err:#}").contains("schema version 1"), "{err:#}");
    // Two collectors starting together: the advisory lock makes one migrate, the other find it done.
    let (x, y) =
        pg::block_on(async { tokio::join!(PgStore::connect(&url, 1, 1, Schema::Migrate), PgStore::connect(&url, 1, 1, Schema::Migrate)) });
    x.unwrap();
    y.unwrap();
    assert_eq!(pg::count(&url, "SELECT version::bigint FROM goaltag_schema"), SCHEMA_VERSION as i64);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM goaltag_schema"), 1);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM imports"), 0);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM exports"), 0);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM spend"), 0, "version 5's table");
    assert_eq!(pg::count(&url, "SELECT count(*) FROM events WHERE id = 'old'"), 1);
    assert_eq!(pg::count(&url, "SELECT count(*) FROM events WHERE id = 'old' AND attribution IS NULL AND is_primary IS NULL"), 1);
    let filled = "SELECT count(*) FROM events WHERE id = 'old-conversion' AND is_primary
                  AND attribution::jsonb = '{\"utm\": {\"utm_campaign\": \"a\\ufffdb\"}}'::jsonb";
    assert_eq!(pg::count(&url, filled), 1, "version 7's columns filled from the JSON");
    assert_eq!(pg::count(&url, "SELECT count(*) FROM batches WHERE site = 'old' AND dropped_consent = 0"), 1, "version 4's column");
    assert_eq!(
        pg::count(&url, "SELECT count(*) FROM events WHERE id = 'old' AND user_agent IS NULL AND client_ip IS NULL"),
        1,
        "version 6's columns"
    );
    assert_eq!(pg::count(&url, "SELECT count(*) FROM events WHERE id = 'old' AND user_data IS NULL"), 1, "version 8's column");
    pg::block_on(PgStore::connect(&url, 1, 1, Schema::Check)).unwrap();

    pg::with_client(&url, async |c| c.batch_execute("UPDATE goaltag_schema SET version = 99").await.unwrap());
    let err = pg::block_on(PgStore::connect(&url, 1, 1, Schema::Migrate)).err().expect("a newer schema is refused");
    assert!(format!("{err:#}").contains("newer collector"), "{err:#}");
}

/// A server (here: a database) with `synchronous_commit = off` would
/// acknowledge batches before they are on disk: the collector's sessions turn
/// it back on.
#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn sessions_commit_synchronously_even_where_the_server_says_off() {
    let url = pg::fresh("sync");
    let name = url.rsplit('/').next().unwrap().to_string();
    pg::with_client(&url, async |c| c.batch_execute(&format!("ALTER DATABASE {name} SET synchronous_commit = off")).await.unwrap());
    assert_eq!(pg::with_client(&url, async |c| c.query_one("SHOW synchronous_commit", &[]).await.unwrap().get::<_, String>(0)), "off");
    let setting = pg::block_on(async {
        let store = PgStore::connect(&url, 1, 1, Schema::Migrate).await.unwrap();
        store.setting("synchronous_commit").await.unwrap()
    });
    assert_eq!(setting, "on");
}

/// `GET /health` says so when the database goes away, so a load balancer
/// takes the instance out.
#[test]
#[ignore = "needs PostgreSQL: run by ./build.sh test or ./build.sh test-pg (GOALTAG_TEST_PG)"]
fn health_fails_when_the_database_goes_away() {
    let url = pg::fresh("health");
    let server = pg::server();
    let name = url.rsplit('/').next().unwrap().to_string();
    let store = pg::block_on(PgStore::connect(&url, 2, 2, Schema::Migrate)).unwrap();
    pg::block_on(async {
        assert_eq!(store.health().await, Ok(()));
        pg::with_client_async(&server, async |c| c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap()).await;
        assert_eq!(store.health().await, Err("database unreachable".to_string()));
    });
}
