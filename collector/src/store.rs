//! Storage: one writer thread owns the SQLite connection (WAL, synchronous
//! FULL, so an acknowledged batch survives a crash) and is fed through a
//! bounded queue. A full queue answers "busy" at once instead of letting
//! requests pile up; the tag retries.

use goaltag_wire::Batch;
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

pub struct Stored {
    pub stored: usize,
    pub duplicates: usize,
}

#[derive(Debug)]
pub enum StoreError {
    Busy,
    Failed(String),
}

enum Job {
    Batch(Batch, oneshot::Sender<Result<Stored, String>>),
    Reject(String),
}

pub struct Writer {
    tx: SyncSender<Job>,
}

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
";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn open(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Stores a batch in one transaction: all of it or nothing.
pub fn insert(conn: &mut Connection, b: &Batch) -> rusqlite::Result<Stored> {
    let tx = conn.transaction()?;
    let now = now_ms();
    let mut stored = 0;
    {
        let mut ins = tx.prepare_cached(
            "INSERT OR IGNORE INTO events(id, site, kind, ts, received_at, url, goal, value, currency, transaction_id, client_id, visit_id, json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for e in &b.events {
            let json = serde_json::to_string(e).unwrap_or_default();
            stored += ins.execute(params![
                e.id.to_ascii_lowercase(), b.site, e.kind.as_str(), e.ts as i64, now, e.url, e.goal, e.value,
                e.currency, e.transaction_id, e.client_id, e.visit_id, json
            ])?;
        }
    }
    let duplicates = b.events.len() - stored;
    tx.execute(
        "INSERT INTO batches VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            b.site, now, b.attempt, b.events.len(), stored, duplicates,
            b.dropped.overflow, b.dropped.poison, b.dropped.expired
        ],
    )?;
    tx.commit()?;
    Ok(Stored { stored, duplicates })
}

impl Writer {
    pub fn start(db: &Path, capacity: usize) -> anyhow::Result<Writer> {
        let mut conn = open(db)?;
        let (tx, rx) = sync_channel::<Job>(capacity.max(1));
        std::thread::Builder::new().name("goaltag-writer".into()).spawn(move || {
            while let Ok(job) = rx.recv() {
                match job {
                    Job::Batch(b, reply) => {
                        let _ = reply.send(insert(&mut conn, &b).map_err(|e| e.to_string()));
                    }
                    Job::Reject(reason) => {
                        let _ = conn.execute("INSERT INTO rejections VALUES (?1, ?2)", params![now_ms(), reason]);
                    }
                }
            }
        })?;
        Ok(Writer { tx })
    }

    pub async fn store(&self, b: Batch) -> Result<Stored, StoreError> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job::Batch(b, reply)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(StoreError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(StoreError::Failed("writer stopped".into())),
        }
        match rx.await {
            Ok(r) => r.map_err(StoreError::Failed),
            Err(_) => Err(StoreError::Failed("writer stopped".into())),
        }
    }

    /// Counts a rejected body (best effort: skipped when the queue is full).
    pub fn reject(&self, reason: String) {
        let _ = self.tx.try_send(Job::Reject(reason));
    }
}
