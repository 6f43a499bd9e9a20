//! Storage. A [`Store`] is written by exactly one thread (the [`Writer`]),
//! fed through a bounded queue: a full queue answers "busy" at once (the HTTP
//! layer turns that into 503 + Retry-After, which the tag retries) instead of
//! letting requests pile up. SQLite is the embedded default; another backend
//! (a ClickHouse or Kafka writer, say) implements [`Store`] and plugs in with
//! [`crate::router_with_store`].

use goaltag_wire::Batch;
use rusqlite::{params, Connection, Transaction};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A validated batch and when it arrived (milliseconds since the Unix epoch).
#[derive(Debug, Clone)]
pub struct Accepted {
    pub batch: Batch,
    pub received_at: i64,
}

/// A refused body, kept so that data-quality reports can count rejections.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub received_at: i64,
    pub reason: String,
}

/// What happened to one batch: events newly stored, and events whose ID was
/// already there (a retry or a beacon re-send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub stored: usize,
    pub duplicates: usize,
}

/// A place events are kept. Called from one thread only, so an implementation
/// may hold a plain connection.
pub trait Store: Send + 'static {
    /// Stores the batches, each whole or not at all, and returns one [`Stored`]
    /// per batch, in order. Everything must be durable when this returns `Ok`:
    /// the caller then acknowledges the batches to the tag. A group is passed so
    /// that an implementation can share one commit (one fsync) among them; an
    /// event ID already stored (by an earlier call or earlier in the group)
    /// counts as a duplicate and is not stored again.
    fn store(&mut self, batches: &[Accepted]) -> anyhow::Result<Vec<Stored>>;

    /// Records refused bodies. Best effort: a failure is logged, not answered.
    fn reject(&mut self, rejected: &[Rejected]) -> anyhow::Result<()>;
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The schema, created if missing (a file of an older version gains the new
/// tables and indexes). `json` keeps the whole event so fields the
/// wire format gains later need no migration; the other columns are what
/// reports filter and group by.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events(
  id TEXT PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL, url TEXT, goal TEXT, value REAL, currency TEXT,
  transaction_id TEXT, client_id TEXT, visit_id TEXT, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_site_ts ON events(site, ts);
CREATE INDEX IF NOT EXISTS events_site_kind ON events(site, kind);
CREATE TABLE IF NOT EXISTS batches(
  site TEXT NOT NULL, received_at INTEGER NOT NULL, attempt INTEGER NOT NULL,
  events INTEGER NOT NULL, stored INTEGER NOT NULL, duplicates INTEGER NOT NULL,
  dropped_overflow INTEGER NOT NULL, dropped_poison INTEGER NOT NULL, dropped_expired INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rejections(received_at INTEGER NOT NULL, reason TEXT NOT NULL);
-- Version 2: offline conversions imported from a CRM (see import.rs), joined
-- to online conversions by transaction ID.
CREATE TABLE IF NOT EXISTS imports(
  site TEXT NOT NULL, transaction_id TEXT NOT NULL, goal TEXT NOT NULL, stage TEXT NOT NULL,
  value REAL, currency TEXT, ts INTEGER NOT NULL, imported_at INTEGER NOT NULL,
  PRIMARY KEY(site, transaction_id, goal, stage));
CREATE INDEX IF NOT EXISTS imports_site_ts ON imports(site, ts);
CREATE INDEX IF NOT EXISTS events_site_transaction ON events(site, transaction_id) WHERE transaction_id IS NOT NULL;
-- Version 3: what was exported to which ad platform (see export.rs), so
-- `export --since-last` sends each conversion once.
CREATE TABLE IF NOT EXISTS exports(
  site TEXT NOT NULL, platform TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
  conversion_ts INTEGER NOT NULL, exported_at INTEGER NOT NULL,
  PRIMARY KEY(site, platform, key));
PRAGMA user_version = 3;
";

/// SQLite in WAL mode with `synchronous=FULL`: a committed batch survives a
/// crash or power loss, and readers (reports, `sqlite3`) never block the writer.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Opens (creating the file, its folder and the schema if missing).
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = Connection::open(path)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; readers will block writes");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore { conn })
    }
}

impl Store for SqliteStore {
    fn store(&mut self, batches: &[Accepted]) -> anyhow::Result<Vec<Stored>> {
        let tx = self.conn.transaction()?;
        let out = batches.iter().map(|a| insert(&tx, a)).collect::<anyhow::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(out)
    }

    fn reject(&mut self, rejected: &[Rejected]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached("INSERT INTO rejections(received_at, reason) VALUES (?1, ?2)")?;
            for r in rejected {
                ins.execute(params![r.received_at, r.reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

fn insert(tx: &Transaction, a: &Accepted) -> anyhow::Result<Stored> {
    let b = &a.batch;
    let mut stored = 0;
    let mut ins = tx.prepare_cached(
        "INSERT OR IGNORE INTO events(id, site, kind, ts, received_at, url, goal, value, currency,
                                      transaction_id, client_id, visit_id, json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for e in &b.events {
        let json = serde_json::to_string(e)?;
        // ts is at most u64::MAX; SQLite integers are i64, so clamp rather than wrap.
        let ts = i64::try_from(e.ts).unwrap_or(i64::MAX);
        stored += ins.execute(params![
            e.id, b.site, e.kind.as_str(), ts, a.received_at, e.url, e.goal, e.value,
            e.currency, e.transaction_id, e.client_id, e.visit_id, json
        ])?;
    }
    let duplicates = b.events.len() - stored;
    tx.prepare_cached(
        "INSERT INTO batches(site, received_at, attempt, events, stored, duplicates,
                             dropped_overflow, dropped_poison, dropped_expired)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        b.site, a.received_at, b.attempt, b.events.len(), stored, duplicates,
        b.dropped.overflow, b.dropped.poison, b.dropped.expired
    ])?;
    Ok(Stored { stored, duplicates })
}

/// Why a batch was not stored.
#[derive(Debug)]
pub enum StoreError {
    /// The queue is full: try again shortly.
    Busy,
    /// The store failed or the writer has stopped.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Busy => f.write_str("write queue full"),
            StoreError::Failed(e) => write!(f, "storage failed: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Most batches shared by one commit: bounds the latency one slow group adds.
const MAX_GROUP: usize = 64;
/// Most rejections waiting to be recorded; past this they are only logged,
/// so a flood of junk cannot grow memory or crowd out real batches.
const MAX_PENDING_REJECTIONS: usize = 1024;

type Reply = oneshot::Sender<Result<Stored, String>>;

enum Job {
    /// The permit holds the batch's queue slot until it has been answered.
    Batch(Accepted, Reply, OwnedSemaphorePermit),
    Reject(Rejected, OwnedSemaphorePermit),
}

/// The handle request handlers use: queues work for the writer thread.
pub struct Writer {
    tx: Sender<Job>,
    slots: Arc<Semaphore>,
    rejection_slots: Arc<Semaphore>,
    running: Arc<AtomicBool>,
}

impl Writer {
    /// Starts the writer thread, which owns `store` until every `Writer`
    /// handle is gone. `capacity` batches may be queued or being written at once.
    pub fn start(store: impl Store, capacity: usize) -> std::io::Result<Writer> {
        let (tx, rx) = channel::<Job>();
        let running = Arc::new(AtomicBool::new(true));
        let flag = Running(running.clone());
        std::thread::Builder::new().name("goaltag-writer".into()).spawn(move || {
            let _flag = flag;
            run(store, rx);
        })?;
        Ok(Writer {
            tx,
            slots: Arc::new(Semaphore::new(capacity.max(1))),
            rejection_slots: Arc::new(Semaphore::new(MAX_PENDING_REJECTIONS)),
            running,
        })
    }

    /// Queues a batch and waits until it is durably stored.
    pub async fn store(&self, batch: Accepted) -> Result<Stored, StoreError> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::NoPermits) => return Err(StoreError::Busy),
            Err(TryAcquireError::Closed) => return Err(StoreError::Failed("writer stopped".into())),
        };
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job::Batch(batch, reply, permit))
            .map_err(|_| StoreError::Failed("writer stopped".into()))?;
        match answer.await {
            Ok(r) => r.map_err(StoreError::Failed),
            Err(_) => Err(StoreError::Failed("writer stopped".into())),
        }
    }

    /// Records a refused body, best effort: skipped when too many are waiting.
    pub fn reject(&self, rejected: Rejected) {
        match self.rejection_slots.clone().try_acquire_owned() {
            Ok(p) => {
                let _ = self.tx.send(Job::Reject(rejected, p));
            }
            Err(_) => tracing::debug!("rejection not recorded: too many waiting"),
        }
    }

    /// False once the writer thread has ended (it only ends early by panicking).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

/// Clears the running flag when the writer thread ends, panic or not.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
        if std::thread::panicking() {
            tracing::error!("the writer thread panicked; /collect answers 500 until restart");
        }
    }
}

/// The writer loop: takes whatever is queued (up to [`MAX_GROUP`] batches),
/// records rejections, stores the batches with one commit and answers each.
fn run(mut store: impl Store, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut accepted = Vec::new();
        let mut replies = Vec::new();
        let mut rejected = Vec::new();
        let mut permits = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Batch(a, reply, permit) => {
                    accepted.push(a);
                    replies.push(reply);
                    permits.push(permit);
                }
                Job::Reject(r, permit) => {
                    rejected.push(r);
                    permits.push(permit);
                }
            }
            if accepted.len() < MAX_GROUP {
                next = rx.try_recv().ok();
            }
        }
        if !rejected.is_empty() {
            if let Err(e) = store.reject(&rejected) {
                tracing::warn!(error = %e, count = rejected.len(), "recording rejections failed");
            }
        }
        if accepted.is_empty() {
            continue;
        }
        match store.store(&accepted) {
            Ok(results) if results.len() == accepted.len() => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Ok(results) => {
                let e = format!("store answered {} results for {} batches", results.len(), accepted.len());
                tracing::error!("{e}");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
            // One by one, so a batch the store cannot take does not sink the others.
            Err(e) if accepted.len() > 1 => {
                tracing::warn!(error = %e, batches = accepted.len(), "group commit failed; storing one by one");
                for (a, reply) in accepted.into_iter().zip(replies) {
                    let r = match store.store(std::slice::from_ref(&a)) {
                        Ok(mut v) if v.len() == 1 => Ok(v.remove(0)),
                        Ok(_) => Err("store answered the wrong number of results".to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
        // Slots free only now, so `capacity` bounds queued plus in-flight batches.
        drop(permits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goaltag_wire::{Event, Kind};

    fn batch(ids: &[&str]) -> Accepted {
        let events = ids.iter().map(|id| Event::new((*id).into(), Kind::PageView, 5)).collect();
        Accepted {
            batch: Batch { v: 1, site: "s".into(), sent_at: 1, attempt: 1, dropped: Default::default(), events },
            received_at: 7,
        }
    }

    #[test]
    fn a_group_shares_one_commit_and_dedups_within_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/events.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let r = s.store(&[batch(&["x", "y"]), batch(&["y", "z"])]).unwrap();
        assert_eq!(r, [Stored { stored: 2, duplicates: 0 }, Stored { stored: 1, duplicates: 1 }]);
        drop(s);
        // Reopening keeps the data and the schema version.
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.store(&[batch(&["x"])]).unwrap(), [Stored { stored: 0, duplicates: 1 }]);
        let v: i64 = s.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let mode: String = s.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!((v, mode.as_str()), (3, "wal"));
        let n: i64 = s.conn.query_row("select count(*) from batches", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3);
    }
}
