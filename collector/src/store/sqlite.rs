//! SQLite, the embedded default: one file in WAL mode with
//! `synchronous=FULL`, written by one thread ([`super::writer`]) whose group
//! commits fsync once for all batches that arrived together; reports,
//! imports and exports use connections of their own on blocking threads (WAL
//! lets them read while the writer writes).

use super::writer::{BatchWriter, Writer};
use super::{Accepted, Rejected, Store, StoreError, Stored};
use crate::model::export::{Decide, Read, Want};
use crate::model::import::{Imported, Row};
use crate::model::report::{BatchFigures, EventRef, Events, ImportRow, Rows};
use crate::model::spend::{SpendImported, SpendRow};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};

mod export;
mod spend;

/// The schema, created if missing (a file of an older version gains the new
/// tables and indexes). `json` keeps the whole event so fields the
/// wire format gains later need no migration; the other columns are what
/// reports filter and group by.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events(
  id TEXT PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL, url TEXT, goal TEXT, value REAL, currency TEXT,
  transaction_id TEXT, client_id TEXT, visit_id TEXT, json TEXT NOT NULL,
  user_agent TEXT, client_ip TEXT, user_data TEXT);
CREATE INDEX IF NOT EXISTS events_site_ts ON events(site, ts);
CREATE INDEX IF NOT EXISTS events_site_kind ON events(site, kind);
CREATE TABLE IF NOT EXISTS batches(
  site TEXT NOT NULL, received_at INTEGER NOT NULL, attempt INTEGER NOT NULL,
  events INTEGER NOT NULL, stored INTEGER NOT NULL, duplicates INTEGER NOT NULL,
  dropped_overflow INTEGER NOT NULL, dropped_poison INTEGER NOT NULL, dropped_expired INTEGER NOT NULL,
  dropped_consent INTEGER NOT NULL DEFAULT 0);
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
-- Version 5: ad spend from the platforms' reports (see spend/), one row per
-- day and key; `date` is a UTC day number. The key's leading (site, date)
-- serves a report's range of days.
CREATE TABLE IF NOT EXISTS spend(
  site TEXT NOT NULL, date INTEGER NOT NULL, network TEXT NOT NULL, campaign TEXT NOT NULL,
  ad_group TEXT NOT NULL, ad TEXT NOT NULL, keyword TEXT NOT NULL, currency TEXT NOT NULL,
  cost REAL NOT NULL, clicks INTEGER, impressions INTEGER, imported_at INTEGER NOT NULL,
  PRIMARY KEY(site, date, network, campaign, ad_group, ad, keyword, currency));
CREATE INDEX IF NOT EXISTS events_user_data ON events(received_at) WHERE user_data IS NOT NULL;
PRAGMA user_version = 8;
";

/// Version 7: what a report reads of an event beside its columns, kept in
/// columns of their own at ingestion so a report never reads the JSON:
/// `attribution` (the event's `attribution` member as JSON text, NULL when
/// none) and `is_primary` (1 for a primary goal's conversion). Rows stored
/// before are filled from their JSON here, once; [`SqliteWriter::open`]
/// runs it when the columns are missing.
const ADD_EVENT_PARTS: &str = "
ALTER TABLE events ADD COLUMN attribution TEXT;
ALTER TABLE events ADD COLUMN is_primary INTEGER;
UPDATE events SET
  attribution = CASE WHEN instr(json, '\"attribution\"') > 0 AND json_valid(json) THEN json_extract(json, '$.attribution') END,
  is_primary = CASE WHEN instr(json, '\"primary\"') > 0 AND json_valid(json) THEN json_extract(json, '$.primary') END
WHERE instr(json, '\"attribution\"') > 0 OR instr(json, '\"primary\"') > 0;
";

/// Version 4: `batches.dropped_consent`, the events the tag dropped because
/// consent was withdrawn. `CREATE TABLE IF NOT EXISTS` cannot add a column
/// to an older file's table, so [`SqliteWriter::open`] adds it when missing.
const ADD_DROPPED_CONSENT: &str = "ALTER TABLE batches ADD COLUMN dropped_consent INTEGER NOT NULL DEFAULT 0";

/// Version 6: `events.user_agent` and `events.client_ip`, the `/collect`
/// request's data kept for conversions with `ad_user_data` granted (see
/// [`Accepted::ad_data`]), for the ad platforms' uploads; added to an older
/// file's table when missing, as version 4's column.
const ADD_AD_DATA: &str = "ALTER TABLE events ADD COLUMN user_agent TEXT; ALTER TABLE events ADD COLUMN client_ip TEXT;";

/// Version 8: `events.user_data`, a conversion's enhanced-conversions match
/// keys (hashed email, phone, …) as JSON, kept only when its consent granted
/// `ad_user_data` ([`Accepted::event_columns`]) and erased after
/// `serve --user-data-days` ([`crate::store::Store::erase_user_data`]); added to an older file's
/// table when missing, as version 4's column, with the index the erasure reads.
const ADD_USER_DATA: &str = "ALTER TABLE events ADD COLUMN user_data TEXT;
  CREATE INDEX IF NOT EXISTS events_user_data ON events(received_at) WHERE user_data IS NOT NULL;";

/// SQLite in WAL mode with `synchronous=FULL`: a committed batch survives a
/// crash or power loss, and readers (reports, `sqlite3`) never block the writer.
pub struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    /// Opens (creating the file, its folder and the schema if missing).
    pub fn open(path: &Path) -> anyhow::Result<SqliteWriter> {
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
        let tx = conn.unchecked_transaction()?;
        // An older file's events table lacks the columns SCHEMA's index names.
        if table_exists(&tx, "events")? && !column_exists(&tx, "events", "user_data")? {
            if !column_exists(&tx, "events", "user_agent")? {
                tx.execute_batch(ADD_AD_DATA)?;
            }
            tx.execute_batch(ADD_USER_DATA)?;
        }
        tx.execute_batch(SCHEMA)?;
        if !column_exists(&tx, "batches", "dropped_consent")? {
            tx.execute_batch(ADD_DROPPED_CONSENT)?;
        }
        if !column_exists(&tx, "events", "attribution")? {
            tx.execute_batch(ADD_EVENT_PARTS)?;
        }
        tx.commit()?;
        Ok(SqliteWriter { conn })
    }
}

impl BatchWriter for SqliteWriter {
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
                                      transaction_id, client_id, visit_id, json, user_agent, client_ip,
                                      attribution, is_primary, user_data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for e in &b.events {
        let (user_agent, client_ip) = a.ad_data(e);
        let (json, user_data) = a.event_columns(e)?;
        let attribution = e.attribution.as_ref().map(serde_json::to_string).transpose()?;
        // ts is at most u64::MAX; SQLite integers are i64, so clamp rather than wrap.
        let ts = i64::try_from(e.ts).unwrap_or(i64::MAX);
        stored += ins.execute(params![
            e.id,
            b.site,
            e.kind.as_str(),
            ts,
            a.received_at,
            e.url,
            e.goal,
            e.value,
            e.currency,
            e.transaction_id,
            e.client_id,
            e.visit_id,
            json,
            user_agent,
            client_ip,
            attribution,
            e.primary,
            user_data
        ])?;
    }
    let duplicates = b.events.len() - stored;
    tx.prepare_cached(
        "INSERT INTO batches(site, received_at, attempt, events, stored, duplicates,
                             dropped_overflow, dropped_poison, dropped_expired, dropped_consent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        b.site,
        a.received_at,
        b.attempt,
        b.events.len(),
        stored,
        duplicates,
        b.dropped.overflow,
        b.dropped.poison,
        b.dropped.expired,
        b.dropped.consent
    ])?;
    Ok(Stored { stored, duplicates })
}

/// The serving store: batches through the writer thread, reports, imports
/// and exports through connections of their own.
pub struct SqliteStore {
    writer: Writer,
    reader: SqliteReader,
}

impl SqliteStore {
    /// Opens the file (creating it, its folder and the schema if missing) and
    /// starts the writer thread; `capacity` batches may be queued or being written.
    pub fn open(path: &Path, capacity: usize) -> anyhow::Result<SqliteStore> {
        let writer = Writer::start(SqliteWriter::open(path)?, capacity)?;
        Ok(SqliteStore { writer, reader: SqliteReader { path: path.to_path_buf() } })
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn store(&self, batch: Accepted) -> Result<Stored, StoreError> {
        self.writer.store(batch).await
    }
    fn reject(&self, rejected: Rejected) {
        self.writer.reject(rejected)
    }
    async fn health(&self) -> Result<(), String> {
        self.writer.health()
    }
    async fn sites(&self) -> anyhow::Result<Vec<String>> {
        self.reader.sites().await
    }
    async fn report_rows(&self, site: &str, since: i64, start: i64, end: i64) -> anyhow::Result<Rows> {
        self.reader.report_rows(site, since, start, end).await
    }
    async fn import(&self, site: &str, rows: Vec<Row>, imported_at: i64) -> anyhow::Result<Imported> {
        self.reader.import(site, rows, imported_at).await
    }
    async fn import_spend(&self, site: &str, rows: Vec<SpendRow>, imported_at: i64) -> anyhow::Result<SpendImported> {
        self.reader.import_spend(site, rows, imported_at).await
    }
    async fn spend_rows(&self, site: &str, from_day: i64, to_day: i64) -> anyhow::Result<Vec<SpendRow>> {
        self.reader.spend_rows(site, from_day, to_day).await
    }
    async fn export_rows(&self, want: Want) -> anyhow::Result<Read> {
        self.reader.export_rows(want).await
    }
    async fn export(&self, want: Want, platform: &str, exported_at: i64, decide: Decide) -> anyhow::Result<()> {
        self.reader.export(want, platform, exported_at, decide).await
    }
    async fn erase_user_data(&self, before: i64) -> anyhow::Result<u64> {
        self.reader.erase_user_data(before).await
    }
}

/// Reports, imports and exports on a SQLite file, without the writer: what
/// the `report`, `import` and `export` commands use beside a running
/// collector. Every call opens its own connection on a blocking thread
/// (reports read-only).
pub struct SqliteReader {
    path: PathBuf,
}

impl SqliteReader {
    /// A file that exists: a report never creates a database.
    pub fn existing(path: &Path) -> anyhow::Result<SqliteReader> {
        anyhow::ensure!(path.is_file(), "no database at {} (the collector creates it when it first starts)", path.display());
        Ok(SqliteReader { path: path.to_path_buf() })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Path) -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path)).await?
    }
}

#[async_trait::async_trait]
impl Store for SqliteReader {
    async fn store(&self, _: Accepted) -> Result<Stored, StoreError> {
        Err(StoreError::Failed("opened for reports only".into()))
    }
    fn reject(&self, _: Rejected) {}
    async fn health(&self) -> Result<(), String> {
        Err("opened for reports only".into())
    }
    async fn sites(&self) -> anyhow::Result<Vec<String>> {
        self.blocking(|p| Ok(sites(&open_read_only(p)?)?)).await
    }
    async fn report_rows(&self, site: &str, since: i64, start: i64, end: i64) -> anyhow::Result<Rows> {
        let site = site.to_string();
        self.blocking(move |p| {
            let conn = open_read_only(p)?;
            // One consistent snapshot even while the collector writes.
            conn.execute_batch("BEGIN")?;
            let rows = report_rows(&conn, &site, since, start, end);
            let _ = conn.execute_batch("COMMIT");
            Ok(rows?)
        })
        .await
    }
    /// Its own connection, like [`Store::import`]; one UPDATE through the
    /// partial index `events_user_data`.
    async fn erase_user_data(&self, before: i64) -> anyhow::Result<u64> {
        self.blocking(move |p| {
            let conn = Connection::open(p)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let n = conn.execute("UPDATE events SET user_data = NULL WHERE user_data IS NOT NULL AND received_at < ?1", [before])?;
            Ok(n as u64)
        })
        .await
    }
    async fn import(&self, site: &str, rows: Vec<Row>, imported_at: i64) -> anyhow::Result<Imported> {
        let site = site.to_string();
        self.blocking(move |p| {
            let mut conn = Connection::open(p)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(import(&mut conn, &site, &rows, imported_at)?)
        })
        .await
    }
    /// Like [`Store::import`]: its own connection, one IMMEDIATE transaction
    /// (beacons wait up to their 5 s busy timeout while the rows go in).
    async fn import_spend(&self, site: &str, rows: Vec<SpendRow>, imported_at: i64) -> anyhow::Result<SpendImported> {
        let site = site.to_string();
        self.blocking(move |p| {
            let mut conn = Connection::open(p)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(spend::import(&mut conn, &site, &rows, imported_at)?)
        })
        .await
    }
    async fn spend_rows(&self, site: &str, from_day: i64, to_day: i64) -> anyhow::Result<Vec<SpendRow>> {
        let site = site.to_string();
        self.blocking(move |p| Ok(spend::rows(&open_read_only(p)?, &site, from_day, to_day)?)).await
    }
    async fn export_rows(&self, want: Want) -> anyhow::Result<Read> {
        self.blocking(move |p| {
            let conn = open_read_only(p)?;
            // One consistent snapshot even while the collector writes.
            conn.execute_batch("BEGIN")?;
            let read = export::read(&conn, &want);
            let _ = conn.execute_batch("COMMIT");
            Ok(read?)
        })
        .await
    }
    /// In one IMMEDIATE transaction: SQLite lets one writer in at a time, so
    /// a second export (and the beacon writer) waits until this one commits.
    async fn export(&self, want: Want, platform: &str, exported_at: i64, decide: Decide) -> anyhow::Result<()> {
        let platform = platform.to_string();
        self.blocking(move |p| {
            let mut conn = Connection::open(p)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let read = export::read(&tx, &want)?;
            let rows = decide(read)?;
            export::record(&tx, &want.site, &platform, &rows, exported_at)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

/// Opens the file read-only: reports never take the writer's lock, and
/// WAL mode lets them read while the collector writes.
pub fn open_read_only(db: &Path) -> anyhow::Result<Connection> {
    anyhow::ensure!(db.is_file(), "no database at {} (the collector creates it when it first starts)", db.display());
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Sites with events, most events first.
fn sites(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT site FROM events GROUP BY site ORDER BY count(*) DESC, site")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |_| Ok(())).optional().map(|o| o.is_some())
}

fn column_exists(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", [table, column], |_| Ok(())).optional().map(|o| o.is_some())
}

/// The site's page views and conversions from `since` to `end`, in time
/// order (then by ID), each added to the compact [`Events`] as the cursor
/// reaches it: no row is held beyond its strings that were new.
///
/// Two ways to read them. Through the `(site, ts)` index, rows come in time
/// order but each is a lookup in the table (stored in arrival order): about
/// five times the work per row of reading the table straight through. So
/// when the range holds a fifth of the table or more (the index counts it in
/// a few ms) the table is read through and the rows sorted here.
fn events(conn: &Connection, site: &str, since: i64, end: i64) -> rusqlite::Result<Events> {
    // A database last opened by a collector before version 7 has only the JSON.
    let parts = if column_exists(conn, "events", "attribution")? {
        "attribution, is_primary"
    } else {
        "CASE WHEN instr(json, '\"attribution\"') > 0 THEN json_extract(json, '$.attribution') END, json_extract(json, '$.primary')"
    };
    // Nor, before version 8, the hashed match keys: none kept, none read.
    let user_data = if column_exists(conn, "events", "user_data")? { "user_data" } else { "NULL" };
    let in_range: i64 =
        conn.query_row("SELECT count(*) FROM events WHERE site = ?1 AND ts >= ?2 AND ts < ?3", params![site, since, end], |r| r.get(0))?;
    let table: i64 = conn.query_row("SELECT coalesce(max(rowid), 0) FROM events", [], |r| r.get(0))?;
    let through = in_range.saturating_mul(5) >= table;
    let (from, order) = if through { ("events NOT INDEXED", "") } else { ("events", "ORDER BY ts, id") };
    let mut st = conn.prepare_cached(&format!(
        "SELECT ts, kind = 'conversion', client_id, visit_id, url, goal, value, currency, {parts}, id, {user_data}
         FROM {from} WHERE site = ?1 AND ts >= ?2 AND ts < ?3 AND kind IN ('page_view', 'conversion')
         {order}"
    ))?;
    let mut rows = st.query(params![site, since, end])?;
    let mut events = Events::default();
    while let Some(r) = rows.next()? {
        let e = EventRef {
            ts: r.get(0)?,
            conversion: r.get(1)?,
            primary: r.get::<_, Option<i64>>(9)? == Some(1),
            client_id: r.get_ref(2)?.as_str_or_null()?,
            visit_id: r.get_ref(3)?.as_str_or_null()?,
            url: r.get_ref(4)?.as_str_or_null()?,
            goal: r.get_ref(5)?.as_str_or_null()?,
            value: r.get(6)?,
            currency: r.get_ref(7)?.as_str_or_null()?,
            attribution: r.get_ref(8)?.as_str_or_null()?,
            user_data: r.get_ref(11)?.as_str_or_null()?,
        };
        if through {
            events.push_unordered(e, r.get_ref(10)?.as_str()?);
        } else {
            events.push(e);
        }
    }
    events.finish();
    Ok(events)
}

fn report_rows(conn: &Connection, site: &str, since: i64, start: i64, end: i64) -> rusqlite::Result<Rows> {
    let events = events(conn, site, since.min(start), end)?;
    // A database last opened by a collector before version 4 has no dropped_consent yet.
    let consent = if column_exists(conn, "batches", "dropped_consent")? { "total(dropped_consent)" } else { "0.0" };
    let batches = conn.query_row(
        &format!(
            "SELECT count(*), total(duplicates), total(attempt > 1), total(dropped_overflow),
                    total(dropped_poison), total(dropped_expired), {consent}
             FROM batches WHERE site = ?1 AND received_at >= ?2 AND received_at < ?3"
        ),
        params![site, start, end],
        |r| {
            Ok(BatchFigures {
                batches: r.get::<_, i64>(0)? as u64,
                duplicates: r.get::<_, f64>(1)? as u64,
                retried: r.get::<_, f64>(2)? as u64,
                dropped_overflow: r.get::<_, f64>(3)? as u64,
                dropped_poison: r.get::<_, f64>(4)? as u64,
                dropped_expired: r.get::<_, f64>(5)? as u64,
                dropped_consent: r.get::<_, f64>(6)? as u64,
            })
        },
    )?;
    let rejected: i64 =
        conn.query_row("SELECT count(*) FROM rejections WHERE received_at >= ?1 AND received_at < ?2", params![start, end], |r| r.get(0))?;
    // A database last opened by an older collector has no imports table yet.
    let imports = if table_exists(conn, "imports")? {
        let mut st = conn.prepare_cached(
            "SELECT i.goal, i.stage, i.value, i.currency, i.ts,
                    EXISTS(SELECT 1 FROM events e WHERE e.site = i.site AND e.transaction_id = i.transaction_id
                           AND e.kind = 'conversion')
             FROM imports i WHERE i.site = ?1 AND i.ts >= ?2 AND i.ts < ?3",
        )?;
        let rows = st.query_map(params![site, start, end], |r| {
            Ok(ImportRow { goal: r.get(0)?, stage: r.get(1)?, value: r.get(2)?, currency: r.get(3)?, ts: r.get(4)?, matched: r.get(5)? })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok(Rows { events, batches, rejected_bodies: rejected as u64, imports })
}

/// Stores imported rows in one transaction. Its own connection, not the
/// beacon writer's queue: imports are rare and SQLite lets one writer at a
/// time in, so beacons wait (their busy timeout is 5 s) while the rows go in.
fn import(conn: &mut Connection, site: &str, rows: &[Row], imported_at: i64) -> rusqlite::Result<Imported> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut done = Imported { rows: rows.len(), new: 0, updated: 0, unchanged: 0 };
    {
        let mut exists = tx.prepare("SELECT 1 FROM imports WHERE site = ?1 AND transaction_id = ?2 AND goal = ?3 AND stage = ?4")?;
        let mut upsert = tx.prepare(
            "INSERT INTO imports(site, transaction_id, goal, stage, value, currency, ts, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(site, transaction_id, goal, stage) DO UPDATE SET
               value = excluded.value, currency = excluded.currency, ts = excluded.ts, imported_at = excluded.imported_at
             WHERE value IS NOT excluded.value OR currency IS NOT excluded.currency OR ts IS NOT excluded.ts",
        )?;
        for r in rows {
            let seen = exists.exists(params![site, r.transaction_id, r.goal, r.stage])?;
            let changed = upsert.execute(params![site, r.transaction_id, r.goal, r.stage, r.value, r.currency, r.ts, imported_at])?;
            match (seen, changed) {
                (false, _) => done.new += 1,
                (true, 0) => done.unchanged += 1,
                (true, _) => done.updated += 1,
            }
        }
    }
    tx.commit()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use goaltag_wire::{Batch, Event, Kind};

    fn batch(ids: &[&str]) -> Accepted {
        let events = ids.iter().map(|id| Event::new((*id).into(), Kind::PageView, 5)).collect();
        Accepted::new(Batch { v: 1, site: "s".into(), sent_at: 1, attempt: 1, dropped: Default::default(), events }, 7)
    }

    #[test]
    fn a_group_shares_one_commit_and_dedups_within_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/events.db");
        let mut s = SqliteWriter::open(&path).unwrap();
        let r = s.store(&[batch(&["x", "y"]), batch(&["y", "z"])]).unwrap();
        assert_eq!(r, [Stored { stored: 2, duplicates: 0 }, Stored { stored: 1, duplicates: 1 }]);
        drop(s);
        // Reopening keeps the data and the schema version.
        let mut s = SqliteWriter::open(&path).unwrap();
        assert_eq!(s.store(&[batch(&["x"])]).unwrap(), [Stored { stored: 0, duplicates: 1 }]);
        let v: i64 = s.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let mode: String = s.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!((v, mode.as_str()), (8, "wal"));
        let n: i64 = s.conn.query_row("select count(*) from batches", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 3);
    }
}
