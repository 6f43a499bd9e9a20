//! PostgreSQL: the store for more than one collector. Every instance keeps a
//! connection pool and nothing else, so any number of them can take batches
//! for one database (stateless instances behind a load balancer).
//!
//! Exactly-once across instances: a batch is one transaction, its events go
//! in with `INSERT … ON CONFLICT (id) DO NOTHING` (the event ID is the primary
//! key), and the rows that went in are the batch's `stored` count, the rest its
//! duplicates. When two instances get the same event at the same moment, the
//! second insert waits for the first transaction and then skips the row, so
//! the event is stored once and counted once. Events go in sorted by ID, so
//! two batches sharing IDs lock them in the same order (no deadlock); should
//! the server still abort one (deadlock, serialization), it is retried.
//!
//! Durability: sessions run with `synchronous_commit = on` (set at connect
//! when the server has it off), so a batch is acknowledged only after its
//! commit is flushed to the server's WAL.
//!
//! Schema: created and migrated on start under an advisory lock (instances
//! starting together migrate once), its version in `goaltag_schema` (see
//! schema.rs, which also checks the URL and the server's settings).

use super::{Accepted, Rejected, Store, StoreError, Stored};
use crate::model::export::{Decide, Read, Want};
use crate::model::import::{Imported, Row};
use crate::model::report::{BatchFigures, EventRef, Events, ImportRow, Rows};
use crate::model::spend::{SpendImported, SpendRow};
use anyhow::Context;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, TryAcquireError};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

mod export;
mod schema;
mod spend;

use schema::prepare;
pub use schema::{redacted, Schema, MIGRATIONS, SCHEMA_VERSION};

/// Most rejections waiting to be recorded (as the SQLite writer's queue).
const MAX_PENDING_REJECTIONS: usize = 1024;

/// How long a batch waits for a pooled connection before it is answered 503.
const POOL_WAIT: Duration = Duration::from_secs(5);

/// Aborted transactions (deadlock, serialization failure) tried again at most this often.
const RETRIES: usize = 3;

/// The PostgreSQL store: a connection pool, and bounds on batches in flight.
pub struct PgStore {
    pool: Pool,
    /// Batches being stored or waiting for a connection; none free → 503.
    slots: Arc<Semaphore>,
    rejection_slots: Arc<Semaphore>,
}

impl PgStore {
    /// [`PgStore::connect`] with [`Schema::Migrate`] from synchronous code (inside
    /// a Tokio runtime or not): the schema work runs on a thread of its own, the
    /// pool's connections are made later, on the runtime that uses them.
    pub fn open(url: &str, connections: usize, capacity: usize) -> anyhow::Result<PgStore> {
        let config = std::thread::scope(|s| {
            s.spawn(|| -> anyhow::Result<tokio_postgres::Config> {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                rt.block_on(prepare(url, Schema::Migrate))
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("preparing the database panicked")))
        })?;
        PgStore::with_config(config, connections, capacity)
    }

    /// Connects to the database at `url` (a `postgres://` URL), creates or checks
    /// the schema as `schema` says, and keeps a pool of up to `connections`;
    /// `capacity` batches may be in flight at once.
    pub async fn connect(url: &str, connections: usize, capacity: usize, schema: Schema) -> anyhow::Result<PgStore> {
        let config = prepare(url, schema).await?;
        PgStore::with_config(config, connections, capacity)
    }

    fn with_config(config: tokio_postgres::Config, connections: usize, capacity: usize) -> anyhow::Result<PgStore> {
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .context("building the connection pool")?;
        Ok(PgStore {
            pool,
            slots: Arc::new(Semaphore::new(capacity.max(1))),
            rejection_slots: Arc::new(Semaphore::new(MAX_PENDING_REJECTIONS)),
        })
    }

    /// A server setting as the collector's sessions see it (`SHOW name`), such
    /// as `synchronous_commit`: for checks and tests.
    pub async fn setting(&self, name: &str) -> anyhow::Result<String> {
        anyhow::ensure!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "not a setting name: {name:?}");
        let client = self.pool.get().await?;
        Ok(client.query_one(&format!("SHOW {name}"), &[]).await?.get(0))
    }

    async fn insert(&self, a: &Accepted) -> Result<Stored, Failure> {
        let mut client = self.pool.get().await?;
        let b = &a.batch;
        let mut events: Vec<&goaltag_wire::Event> = b.events.iter().collect();
        events.sort_by(|x, y| x.id.cmp(&y.id));
        let text = |f: fn(&goaltag_wire::Event) -> Option<&str>| -> Vec<Option<String>> {
            events.iter().map(|e| f(e).map(|s| pg_text(s).into_owned())).collect()
        };
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        // ts is at most u64::MAX; BIGINT is i64, so clamp rather than wrap (as SQLite).
        let ts: Vec<i64> = events.iter().map(|e| i64::try_from(e.ts).unwrap_or(i64::MAX)).collect();
        let values: Vec<Option<f64>> = events.iter().map(|e| e.value).collect();
        let (urls, goals, currencies) = (text(|e| e.url.as_deref()), text(|e| e.goal.as_deref()), text(|e| e.currency.as_deref()));
        let transactions = text(|e| e.transaction_id.as_deref());
        let (clients, visits) = (text(|e| e.client_id.as_deref()), text(|e| e.visit_id.as_deref()));
        let columns: Vec<(String, Option<String>)> =
            events.iter().map(|e| a.event_columns(e)).collect::<Result<_, _>>().map_err(|e| Failure::Other(e.to_string()))?;
        let (json, user_data): (Vec<String>, Vec<Option<String>>) = columns.into_iter().unzip();
        let ad_data: Vec<(Option<&str>, Option<&str>)> = events.iter().map(|e| a.ad_data(e)).collect();
        let user_agents: Vec<Option<String>> = ad_data.iter().map(|d| d.0.map(|s| pg_text(s).into_owned())).collect();
        let client_ips: Vec<Option<&str>> = ad_data.iter().map(|d| d.1).collect();
        let attributions = events
            .iter()
            .map(|e| e.attribution.as_ref().map(serde_json::to_string).transpose())
            .collect::<Result<Vec<Option<String>>, _>>()
            .map_err(|e| Failure::Other(e.to_string()))?;
        let primary: Vec<Option<bool>> = events.iter().map(|e| e.primary).collect();

        let tx = client.transaction().await?;
        let insert = tx
            .prepare_cached(
                "INSERT INTO events(id, site, kind, ts, received_at, url, goal, value, currency,
                                    transaction_id, client_id, visit_id, json, user_agent, client_ip,
                                    attribution, is_primary, user_data)
                 SELECT u.id, $1, u.kind, u.ts, $2, u.url, u.goal, u.value, u.currency,
                        u.transaction_id, u.client_id, u.visit_id, u.json, u.user_agent, u.client_ip,
                        u.attribution, u.is_primary, u.user_data
                 FROM unnest($3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], $8::float8[],
                             $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                             $16::text[], $17::bool[], $18::text[])
                      AS u(id, kind, ts, url, goal, value, currency, transaction_id, client_id, visit_id, json,
                           user_agent, client_ip, attribution, is_primary, user_data)
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        let stored = tx
            .execute(
                &insert,
                &[
                    &b.site,
                    &a.received_at,
                    &ids,
                    &kinds,
                    &ts,
                    &urls,
                    &goals,
                    &values,
                    &currencies,
                    &transactions,
                    &clients,
                    &visits,
                    &json,
                    &user_agents,
                    &client_ips,
                    &attributions,
                    &primary,
                    &user_data,
                ],
            )
            .await? as usize;
        let duplicates = b.events.len() - stored;
        let batch = tx
            .prepare_cached(
                "INSERT INTO batches(site, received_at, attempt, events, stored, duplicates,
                                     dropped_overflow, dropped_poison, dropped_expired, dropped_consent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        let counts: [i64; 8] = [
            i64::from(b.attempt),
            b.events.len() as i64,
            stored as i64,
            duplicates as i64,
            i64::from(b.dropped.overflow),
            i64::from(b.dropped.poison),
            i64::from(b.dropped.expired),
            i64::from(b.dropped.consent),
        ];
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 10] =
            [&b.site, &a.received_at, &counts[0], &counts[1], &counts[2], &counts[3], &counts[4], &counts[5], &counts[6], &counts[7]];
        tx.execute(&batch, &values).await?;
        tx.commit().await?;
        Ok(Stored { stored, duplicates })
    }
}

/// Why storing a batch failed.
enum Failure {
    Pool(PoolError),
    Db(tokio_postgres::Error),
    Other(String),
}

impl From<PoolError> for Failure {
    fn from(e: PoolError) -> Self {
        Failure::Pool(e)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Db(e)
    }
}

impl Failure {
    /// The server aborted the transaction and it may be tried again as it is.
    fn retryable(&self) -> bool {
        matches!(self, Failure::Db(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
            || e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Pool(e) => write!(f, "no database connection: {e}"),
            Failure::Db(e) => match e.as_db_error() {
                Some(d) => write!(f, "{}: {}", d.code().code(), d.message()),
                None => write!(f, "{e}"),
            },
            Failure::Other(e) => f.write_str(e),
        }
    }
}

/// PostgreSQL text cannot hold NUL. `/collect` and `import` refuse it
/// (`goaltag_wire::is_wire_text`), but a store handed a batch directly, or a
/// rejection's reason, may still carry one: the columns get U+FFFD instead;
/// the `json` column keeps the event exact (JSON writes NUL as `\u0000`).
fn pg_text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Rows fetched per round trip while reading a report's events.
const EVENTS_PER_FETCH: i32 = 20_000;

/// The site's page views and conversions from `since` to `end`, fetched
/// through a portal a slice at a time and added to the compact [`Events`]
/// as they arrive (memory holds one slice of rows, not the range), then put
/// in time order (then by ID, compared as bytes like SQLite) here: sorting
/// the compact rows costs less than the server's sort of whole rows, which
/// spills to disk at the default `work_mem` on a million events.
async fn events(tx: &tokio_postgres::Transaction<'_>, site: &str, since: i64, end: i64) -> anyhow::Result<Events> {
    let st = tx
        .prepare(
            "SELECT ts, kind = 'conversion', client_id, visit_id, url, goal, value, currency, attribution, is_primary, id, user_data
             FROM events WHERE site = $1 AND kind IN ('page_view', 'conversion') AND ts >= $2 AND ts < $3",
        )
        .await?;
    let portal = tx.bind(&st, &[&site, &since, &end]).await?;
    let mut events = Events::default();
    loop {
        let rows = tx.query_portal(&portal, EVENTS_PER_FETCH).await?;
        for r in &rows {
            events.push_unordered(
                EventRef {
                    ts: r.get(0),
                    conversion: r.get(1),
                    primary: r.get::<_, Option<bool>>(9) == Some(true),
                    client_id: r.get(2),
                    visit_id: r.get(3),
                    url: r.get(4),
                    goal: r.get(5),
                    value: r.get(6),
                    currency: r.get(7),
                    attribution: r.get(8),
                    user_data: r.get(11),
                },
                r.get(10),
            );
        }
        if rows.len() < EVENTS_PER_FETCH as usize {
            break;
        }
    }
    events.finish();
    Ok(events)
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn store(&self, batch: Accepted) -> Result<Stored, StoreError> {
        let _slot = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::NoPermits) => return Err(StoreError::Busy),
            Err(TryAcquireError::Closed) => return Err(StoreError::Failed("store closed".into())),
        };
        let mut tries = 0;
        loop {
            match self.insert(&batch).await {
                Ok(s) => return Ok(s),
                Err(e) if e.retryable() && tries < RETRIES => {
                    tries += 1;
                    tracing::debug!(error = %e, tries, "batch transaction aborted by the server; trying again");
                }
                Err(Failure::Pool(PoolError::Timeout(_))) => return Err(StoreError::Busy),
                Err(e) => return Err(StoreError::Failed(e.to_string())),
            }
        }
    }

    fn reject(&self, rejected: Rejected) {
        let Ok(permit) = self.rejection_slots.clone().try_acquire_owned() else {
            tracing::debug!("rejection not recorded: too many waiting");
            return;
        };
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let done = async {
                let client = pool.get().await?;
                let st = client.prepare_cached("INSERT INTO rejections(received_at, reason) VALUES ($1, $2)").await?;
                client.execute(&st, &[&rejected.received_at, &pg_text(&rejected.reason)]).await?;
                Ok::<(), Failure>(())
            };
            if let Err(e) = done.await {
                tracing::warn!(error = %e, "recording a rejection failed");
            }
        });
    }

    async fn health(&self) -> Result<(), String> {
        let check = async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok::<(), Failure>(())
        };
        match tokio::time::timeout(POOL_WAIT, check).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "health check: the database does not answer");
                Err("database unreachable".into())
            }
            Err(_) => Err("database unreachable".into()),
        }
    }

    async fn sites(&self) -> anyhow::Result<Vec<String>> {
        let client = self.pool.get().await?;
        let rows = client.query("SELECT site FROM events GROUP BY site ORDER BY count(*) DESC, site COLLATE \"C\"", &[]).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    async fn report_rows(&self, site: &str, since: i64, start: i64, end: i64) -> anyhow::Result<Rows> {
        let mut client = self.pool.get().await?;
        // One consistent snapshot even while collectors write.
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let events = events(&tx, site, since.min(start), end).await?;
        let b = tx
            .query_one(
                "SELECT count(*), coalesce(sum(duplicates), 0)::bigint, count(*) FILTER (WHERE attempt > 1),
                        coalesce(sum(dropped_overflow), 0)::bigint, coalesce(sum(dropped_poison), 0)::bigint,
                        coalesce(sum(dropped_expired), 0)::bigint, coalesce(sum(dropped_consent), 0)::bigint
                 FROM batches WHERE site = $1 AND received_at >= $2 AND received_at < $3",
                &[&site, &start, &end],
            )
            .await?;
        let n = |i: usize| b.get::<_, i64>(i) as u64;
        let batches = BatchFigures {
            batches: n(0),
            duplicates: n(1),
            retried: n(2),
            dropped_overflow: n(3),
            dropped_poison: n(4),
            dropped_expired: n(5),
            dropped_consent: n(6),
        };
        let rejected: i64 =
            tx.query_one("SELECT count(*) FROM rejections WHERE received_at >= $1 AND received_at < $2", &[&start, &end]).await?.get(0);
        let imports = tx
            .query(
                "SELECT i.goal, i.stage, i.value, i.currency, i.ts,
                        EXISTS(SELECT 1 FROM events e WHERE e.site = i.site AND e.transaction_id = i.transaction_id
                               AND e.kind = 'conversion')
                 FROM imports i WHERE i.site = $1 AND i.ts >= $2 AND i.ts < $3",
                &[&site, &start, &end],
            )
            .await?
            .into_iter()
            .map(|r| ImportRow { goal: r.get(0), stage: r.get(1), value: r.get(2), currency: r.get(3), ts: r.get(4), matched: r.get(5) })
            .collect();
        tx.commit().await?;
        Ok(Rows { events, batches, rejected_bodies: rejected as u64, imports })
    }

    async fn erase_user_data(&self, before: i64) -> anyhow::Result<u64> {
        let client = self.pool.get().await?;
        Ok(client.execute("UPDATE events SET user_data = NULL WHERE user_data IS NOT NULL AND received_at < $1", &[&before]).await?)
    }
    async fn import(&self, site: &str, rows: Vec<Row>, imported_at: i64) -> anyhow::Result<Imported> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // xmax = 0 on the returned row: inserted; else updated. No row: the
        // same values were there already (the WHERE of DO UPDATE said no).
        let upsert = tx
            .prepare_cached(
                "INSERT INTO imports(site, transaction_id, goal, stage, value, currency, ts, imported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (site, transaction_id, goal, stage) DO UPDATE SET
                   value = excluded.value, currency = excluded.currency, ts = excluded.ts, imported_at = excluded.imported_at
                 WHERE imports.value IS DISTINCT FROM excluded.value OR imports.currency IS DISTINCT FROM excluded.currency
                    OR imports.ts IS DISTINCT FROM excluded.ts
                 RETURNING xmax = 0",
            )
            .await?;
        let mut done = Imported { rows: rows.len(), new: 0, updated: 0, unchanged: 0 };
        for r in &rows {
            let (tid, goal, stage) = (pg_text(&r.transaction_id), pg_text(&r.goal), pg_text(&r.stage));
            let row = tx.query_opt(&upsert, &[&site, &tid, &goal, &stage, &r.value, &r.currency, &r.ts, &imported_at]).await?;
            match row.map(|r| r.get::<_, bool>(0)) {
                Some(true) => done.new += 1,
                Some(false) => done.updated += 1,
                None => done.unchanged += 1,
            }
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn import_spend(&self, site: &str, rows: Vec<SpendRow>, imported_at: i64) -> anyhow::Result<SpendImported> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let done = spend::import(&tx, site, &rows, imported_at).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn spend_rows(&self, site: &str, from_day: i64, to_day: i64) -> anyhow::Result<Vec<SpendRow>> {
        spend::rows(&self.pool.get().await?, site, from_day, to_day).await
    }

    async fn export_rows(&self, want: Want) -> anyhow::Result<Read> {
        let mut client = self.pool.get().await?;
        // One consistent snapshot even while collectors write.
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let read = export::read(&tx, &want).await?;
        tx.commit().await?;
        Ok(read)
    }

    async fn export(&self, want: Want, platform: &str, exported_at: i64, decide: Decide) -> anyhow::Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).start().await?;
        // Exports wait for each other here; beacons and reports do not (they
        // never touch this table). Taken before the first query, so the
        // snapshot the reads see begins after the previous export committed.
        tx.batch_execute("LOCK TABLE exports IN SHARE ROW EXCLUSIVE MODE").await?;
        let read = export::read(&tx, &want).await?;
        // Choosing the rows and writing the file is CPU and file work: off the runtime's threads.
        let rows = tokio::task::spawn_blocking(move || decide(read)).await??;
        export::record(&tx, &want.site, platform, &rows, exported_at).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(redacted("postgres://u:p@h:5432/db?sslmode=disable"), "postgres://u:***@h:5432/db?sslmode=disable");
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redacted("postgresql://h"), "postgresql://h");
        assert_eq!(redacted("postgres://u:p%40ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn a_url_asking_for_tls_is_refused_before_connecting() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // Port 1: were it to connect, the error would be "connection refused".
        let err = rt.block_on(prepare("postgres://u@127.0.0.1:1/db?sslmode=require", Schema::Check)).unwrap_err();
        assert!(err.to_string().contains("no TLS built in"), "{err:#}");
        let err = rt.block_on(prepare("postgres://u@127.0.0.1:1/db?sslmode=sometimes", Schema::Check)).unwrap_err();
        assert!(format!("{err:#}").contains("not a PostgreSQL URL"), "{err:#}");
    }

    #[test]
    fn nul_is_the_one_character_postgres_text_refuses() {
        assert_eq!(pg_text("a\0b"), "a\u{fffd}b");
        assert!(matches!(pg_text("plain"), Cow::Borrowed("plain")));
    }
}
