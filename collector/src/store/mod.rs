//! Storage behind one trait, [`Store`]: what the routes, the reports and the
//! commands need from a database. Two implementations:
//!
//! - [`SqliteStore`] (sqlite.rs), the embedded default: one file, written by
//!   one thread ([`writer`]) that shares one commit among the batches that
//!   arrive together;
//! - [`PgStore`] (postgres/): PostgreSQL through a connection pool, one
//!   transaction per batch, so any number of collectors can share a database.
//!
//! Both keep the same tables, and hand reports and exports the same rows
//! ([`crate::model`]: [`Rows`], [`Read`]): what the numbers
//! mean and which conversions go to the ad platforms are defined once, in
//! [`crate::report`] and [`crate::export`], not once per database. [`Database`] says which one a
//! `--db` value names.

pub mod postgres;
pub mod sqlite;
pub mod writer;

pub use postgres::PgStore;
pub use sqlite::{SqliteStore, SCHEMA};
pub use writer::{BatchWriter, Threaded, Writer};

use crate::model::export::{Decide, Read, Want};
use crate::model::import::{Imported, Row};
use crate::model::report::Rows;
use crate::model::spend::{SpendImported, SpendRow};
use goaltag_wire::{Batch, Event, Kind, Signal};
use std::path::PathBuf;
use std::sync::Arc;

/// A validated batch and when it arrived (milliseconds since the Unix epoch).
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The batch as validated (event IDs lower-cased).
    pub batch: Batch,
    /// When it arrived, in ms since the Unix epoch.
    pub received_at: i64,
    /// The request's `User-Agent`, kept only for the events [`Accepted::ad_data`] allows.
    pub user_agent: Option<String>,
    /// The client's IP address, when `serve --keep-client-ip` asks for it;
    /// kept only for the events [`Accepted::ad_data`] allows.
    pub client_ip: Option<String>,
}

impl Accepted {
    /// A batch received at `received_at`, without request data.
    pub fn new(batch: Batch, received_at: i64) -> Accepted {
        Accepted { batch, received_at, user_agent: None, client_ip: None }
    }

    /// The request data stored with `e`, (user agent, client IP): only for a
    /// conversion whose consent snapshot granted `ad_user_data` (what an ad
    /// platform's conversion upload may carry about the user), never for
    /// other events or other consent.
    pub fn ad_data(&self, e: &Event) -> (Option<&str>, Option<&str>) {
        let granted = e.kind == Kind::Conversion && e.consent.is_some_and(|c| c.ad_user_data == Signal::Granted);
        if granted {
            (self.user_agent.as_deref(), self.client_ip.as_deref())
        } else {
            (None, None)
        }
    }

    /// What the store keeps of `e`: the event as JSON **without** its
    /// `user_data`, and that `user_data` as JSON in a column of its own
    /// (`events.user_data`, which [`Store::erase_user_data`] empties after
    /// `serve --user-data-days`), only for a conversion whose consent
    /// snapshot granted `ad_user_data` (the rule of [`Accepted::ad_data`]);
    /// any other event's `user_data` is not kept at all.
    pub fn event_columns(&self, e: &Event) -> serde_json::Result<(String, Option<String>)> {
        let Some(u) = e.user_data.as_ref() else { return Ok((serde_json::to_string(e)?, None)) };
        let granted = e.kind == Kind::Conversion && e.consent.is_some_and(|c| c.ad_user_data == Signal::Granted);
        let user_data = if granted && !u.is_empty() { Some(serde_json::to_string(u)?) } else { None };
        let mut bare = e.clone();
        bare.user_data = None;
        Ok((serde_json::to_string(&bare)?, user_data))
    }
}

/// `serve --user-data-days`'s default: a conversion's hashed match keys are
/// erased 30 days after the collector received them.
pub const DEFAULT_USER_DATA_DAYS: u32 = 30;

/// Erases the hashed match keys received more than `days` days before now,
/// at once and then every hour, for as long as the runtime runs (the
/// `serve` command's task). A failure is logged and tried again next hour.
pub fn spawn_user_data_eraser(store: Arc<dyn Store>, days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let before = crate::model::now_ms() - i64::from(days) * crate::dates::DAY_MS;
            match store.erase_user_data(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(erased = n, days, "erased conversions' hashed user data past the retention"),
                Err(e) => tracing::warn!(error = %e, "erasing old user data failed; trying again in an hour"),
            }
        }
    })
}

/// A refused body, kept so that data-quality reports can count rejections.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// When it arrived, in ms since the Unix epoch.
    pub received_at: i64,
    /// Why it was refused (what the sender was answered).
    pub reason: String,
}

/// What happened to one batch: events newly stored, and events whose ID was
/// already there (a retry or a beacon re-send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// Events stored by this batch.
    pub stored: usize,
    /// Events whose ID was already stored (by any collector on the database).
    pub duplicates: usize,
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

/// Where events are kept: everything the collector stores and reports on.
///
/// Ingestion methods must keep the exactly-once promise: a batch is stored
/// whole or not at all, an event ID is stored once however often and through
/// however many collectors it arrives, and `Ok` means durable (the caller then
/// acknowledges the batch to the tag). The reading methods have defaults that
/// fail, for stores that only take batches (a test double, a forwarder).
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores one batch and says how many of its events were new.
    async fn store(&self, batch: Accepted) -> Result<Stored, StoreError>;

    /// Records a refused body. Best effort: never waits, and a failure is only logged.
    fn reject(&self, rejected: Rejected);

    /// `Ok` while batches can be stored; else why not (`GET /health` answers 503 with it).
    async fn health(&self) -> Result<(), String>;

    /// Sites with events, most events first (then by name).
    async fn sites(&self) -> anyhow::Result<Vec<String>> {
        anyhow::bail!("this store keeps no reports")
    }

    /// What a report on `site` needs for the time range `[start, end)` (ms),
    /// read from one consistent snapshot: the page views and conversions from
    /// `since` (at most `start`: the attribution's lookback reaches before the
    /// range) to `end`, in time order then by ID, added to [`crate::model::report::Events`]
    /// row by row as they are read; batches, rejections and imports in `[start, end)`.
    async fn report_rows(&self, _site: &str, _since: i64, _start: i64, _end: i64) -> anyhow::Result<Rows> {
        anyhow::bail!("this store keeps no reports")
    }

    /// Stores imported offline conversions for `site` in one transaction
    /// (see [`crate::import`]): new rows added, changed rows replaced.
    async fn import(&self, _site: &str, _rows: Vec<Row>, _imported_at: i64) -> anyhow::Result<Imported> {
        anyhow::bail!("this store takes no imports")
    }

    /// Stores one spend file's rows for `site` in one transaction (see
    /// [`crate::spend`]): each row replaces the stored row with its key
    /// (site, date, network, campaign, ad group, ad, keyword, currency), so
    /// importing the same rows again changes no figure. All or nothing.
    async fn import_spend(&self, _site: &str, _rows: Vec<SpendRow>, _imported_at: i64) -> anyhow::Result<SpendImported> {
        anyhow::bail!("this store keeps no spend")
    }

    /// The site's spend rows dated `from_day` to `to_day` (UTC day numbers,
    /// both included), ordered by date then key.
    async fn spend_rows(&self, _site: &str, _from_day: i64, _to_day: i64) -> anyhow::Result<Vec<SpendRow>> {
        anyhow::bail!("this store keeps no spend")
    }

    /// What an export or the dashboard's "Ad platforms" panel needs (see
    /// [`crate::export`]), read from one consistent snapshot; records nothing.
    async fn export_rows(&self, _want: Want) -> anyhow::Result<Read> {
        anyhow::bail!("this store keeps no exports")
    }

    /// One export, in one transaction that other exports on the database
    /// wait for (so two `since_last` exports cannot both take a conversion):
    /// reads what `want` asks for, hands it to `decide` (which delivers the
    /// file), and records the rows `decide` returns as exported to `platform`
    /// at `exported_at` (a key recorded before keeps its first record). When
    /// `decide` fails, nothing is recorded.
    async fn export(&self, _want: Want, _platform: &str, _exported_at: i64, _decide: Decide) -> anyhow::Result<()> {
        anyhow::bail!("this store keeps no exports")
    }

    /// Erases the `user_data` (enhanced conversions' hashed match keys) of
    /// every event received before `before` (ms since the Unix epoch) and
    /// says how many events had some. The caller picks `before`
    /// (`serve --user-data-days`; tests pass their own time).
    async fn erase_user_data(&self, _before: i64) -> anyhow::Result<u64> {
        Ok(0)
    }
}

/// Which database a `--db` value names: a `postgres://` or `postgresql://`
/// URL, or else the path of a SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file (created with its folder by the collector).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (the database must exist; the tables are created).
    Postgres(String),
}

impl Database {
    /// Reads a `--db` value: a PostgreSQL URL, or a SQLite path.
    pub fn parse(s: &str) -> Database {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Database::Postgres(s.to_string())
        } else {
            Database::Sqlite(PathBuf::from(s))
        }
    }
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Database::parse(s))
    }
}

impl From<PathBuf> for Database {
    fn from(p: PathBuf) -> Self {
        Database::Sqlite(p)
    }
}

impl From<&std::path::Path> for Database {
    fn from(p: &std::path::Path) -> Self {
        Database::Sqlite(p.to_path_buf())
    }
}

/// The path, or the URL without its password (safe to log).
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "{}", p.display()),
            Database::Postgres(url) => f.write_str(&postgres::redacted(url)),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// Opens the database `db` names for serving: SQLite file and folders
/// created, schema created or migrated, writer thread or connection pool
/// started. `queue_capacity` is how many batches may wait for the store
/// before it answers [`StoreError::Busy`]; `connections` caps the
/// PostgreSQL pool (SQLite has one writer). Callable inside or outside a Tokio runtime.
pub fn open(db: &Database, queue_capacity: usize, connections: usize) -> anyhow::Result<Arc<dyn Store>> {
    use anyhow::Context;
    Ok(match db {
        Database::Sqlite(path) => {
            Arc::new(SqliteStore::open(path, queue_capacity).with_context(|| format!("opening the database {}", path.display()))?)
        }
        Database::Postgres(url) => Arc::new(
            PgStore::open(url, connections, queue_capacity).with_context(|| format!("opening the database {}", postgres::redacted(url)))?,
        ),
    })
}

/// For `report`: opens an existing database without creating or changing
/// anything (a SQLite file is opened read-only).
pub async fn open_for_reports(db: &Database) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match db {
        Database::Sqlite(path) => Arc::new(sqlite::SqliteReader::existing(path)?),
        Database::Postgres(url) => Arc::new(PgStore::connect(url, 2, 1, postgres::Schema::Check).await?),
    })
}

/// For `import` and `export`: an existing database, its schema brought up to date.
pub async fn open_for_import(db: &Database) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match db {
        Database::Sqlite(path) => {
            let reader = sqlite::SqliteReader::existing(path)?;
            // Applies the schema (and its upgrades) and sets WAL mode.
            drop(sqlite::SqliteWriter::open(path)?);
            Arc::new(reader)
        }
        Database::Postgres(url) => Arc::new(PgStore::connect(url, 2, 1, postgres::Schema::Migrate).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_data_goes_with_conversions_granting_ad_user_data_only() {
        use goaltag_wire::Consent;
        let consent = |ad_user_data| Consent {
            analytics_storage: Signal::Granted,
            ad_storage: Signal::Granted,
            ad_user_data,
            ad_personalization: Signal::Granted,
        };
        let event = |kind, c: Option<Consent>| {
            let mut e = Event::new("e".into(), kind, 1);
            e.consent = c;
            e
        };
        let mut a = Accepted::new(Batch { v: 1, site: "s".into(), sent_at: 1, attempt: 1, dropped: Default::default(), events: vec![] }, 1);
        a.user_agent = Some("UA".into());
        a.client_ip = Some("203.0.113.7".into());
        let data = Some(("UA", "203.0.113.7"));
        let got = |e: &Event| match a.ad_data(e) {
            (Some(u), Some(i)) => Some((u, i)),
            (None, None) => None,
            other => panic!("{other:?}"),
        };
        assert_eq!(got(&event(Kind::Conversion, Some(consent(Signal::Granted)))), data);
        assert_eq!(got(&event(Kind::Conversion, Some(consent(Signal::Denied)))), None);
        assert_eq!(got(&event(Kind::Conversion, None)), None, "no snapshot: not granted");
        assert_eq!(got(&event(Kind::PageView, Some(consent(Signal::Granted)))), None);
        assert_eq!(got(&event(Kind::Event, Some(consent(Signal::Granted)))), None);
    }

    #[test]
    fn db_values_name_a_url_or_a_file() {
        assert_eq!(Database::parse("data/events.db"), Database::Sqlite("data/events.db".into()));
        let url = "postgres://goaltag:s3cret@db.example:5432/goaltag";
        assert_eq!(Database::parse(url), Database::Postgres(url.into()));
        assert!(matches!(Database::parse("PostgreSQL://h/db"), Database::Postgres(_)));
        assert_eq!(Database::parse(url).to_string(), "postgres://goaltag:***@db.example:5432/goaltag");
        assert_eq!(Database::parse("postgres://h/db").to_string(), "postgres://h/db");
    }
}
