//! Connecting: the URL checked, the server's durability settings checked,
//! and the schema created, migrated or checked before the pool opens.

use anyhow::Context;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// The schema, one migration per version: `MIGRATIONS[i]` takes a database
/// from version `i` to `i + 1`. The same tables and columns as SQLite's
/// ([`crate::store::SCHEMA`]), with PostgreSQL's types; `json` is the event as text,
/// exactly as stored in SQLite (`json::jsonb` reads it as JSON).
pub const MIGRATIONS: [&str; 8] = [
    // 1: events, batches, rejections.
    "CREATE TABLE events(
       id TEXT PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL, ts BIGINT NOT NULL,
       received_at BIGINT NOT NULL, url TEXT, goal TEXT, value DOUBLE PRECISION, currency TEXT,
       transaction_id TEXT, client_id TEXT, visit_id TEXT, json TEXT NOT NULL);
     CREATE INDEX events_site_kind_ts ON events(site, kind, ts);
     CREATE TABLE batches(
       site TEXT NOT NULL, received_at BIGINT NOT NULL, attempt BIGINT NOT NULL,
       events BIGINT NOT NULL, stored BIGINT NOT NULL, duplicates BIGINT NOT NULL,
       dropped_overflow BIGINT NOT NULL, dropped_poison BIGINT NOT NULL, dropped_expired BIGINT NOT NULL);
     CREATE INDEX batches_site_received_at ON batches(site, received_at);
     CREATE TABLE rejections(received_at BIGINT NOT NULL, reason TEXT NOT NULL);
     CREATE INDEX rejections_received_at ON rejections(received_at);",
    // 2: offline conversions imported from a CRM, joined by transaction ID.
    "CREATE TABLE imports(
       site TEXT NOT NULL, transaction_id TEXT NOT NULL, goal TEXT NOT NULL, stage TEXT NOT NULL,
       value DOUBLE PRECISION, currency TEXT, ts BIGINT NOT NULL, imported_at BIGINT NOT NULL,
       PRIMARY KEY(site, transaction_id, goal, stage));
     CREATE INDEX imports_site_ts ON imports(site, ts);
     CREATE INDEX events_site_transaction ON events(site, transaction_id) WHERE transaction_id IS NOT NULL;",
    // 3: what was exported to which ad platform (see export.rs), so
    // `export --since-last` sends each conversion once.
    "CREATE TABLE exports(
       site TEXT NOT NULL, platform TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
       conversion_ts BIGINT NOT NULL, exported_at BIGINT NOT NULL,
       PRIMARY KEY(site, platform, key));",
    // 4: the events the tag dropped because consent was withdrawn.
    "ALTER TABLE batches ADD COLUMN dropped_consent BIGINT NOT NULL DEFAULT 0;",
    // 5: ad spend from the platforms' reports (see spend/), one row per day
    // and key; `date` is a UTC day number.
    "CREATE TABLE spend(
       site TEXT NOT NULL, date BIGINT NOT NULL, network TEXT NOT NULL, campaign TEXT NOT NULL,
       ad_group TEXT NOT NULL, ad TEXT NOT NULL, keyword TEXT NOT NULL, currency TEXT NOT NULL,
       cost DOUBLE PRECISION NOT NULL, clicks BIGINT, impressions BIGINT, imported_at BIGINT NOT NULL,
       PRIMARY KEY(site, date, network, campaign, ad_group, ad, keyword, currency));",
    // 6: the /collect request's user agent and (with --keep-client-ip) IP
    // address, kept for conversions with ad_user_data granted only
    // (`Accepted::ad_data`), for the ad platforms' uploads.
    "ALTER TABLE events ADD COLUMN user_agent TEXT;
     ALTER TABLE events ADD COLUMN client_ip TEXT;",
    // 7: what a report reads of an event beside its columns, kept in columns
    // of their own at ingestion so a report never reads the JSON: the
    // `attribution` member as JSON text (NULL when none) and `is_primary`.
    // Rows stored before are filled from their JSON, where jsonb reads an
    // escaped NUL as U+FFFD (it refuses NUL, as text columns do).
    "ALTER TABLE events ADD COLUMN attribution TEXT, ADD COLUMN is_primary BOOLEAN;
     UPDATE events SET
       attribution = CASE WHEN strpos(json, '\"attribution\"') > 0
                     THEN NULLIF((replace(json, '\\u0000', '\\ufffd')::jsonb -> 'attribution')::text, 'null') END,
       is_primary = (replace(json, '\\u0000', '\\ufffd')::jsonb ->> 'primary') = 'true'
     WHERE strpos(json, '\"attribution\"') > 0 OR strpos(json, '\"primary\"') > 0;",
    // 8: a conversion's enhanced-conversions match keys (hashed email,
    // phone, …) as JSON, kept for conversions with ad_user_data granted only
    // (`Accepted::event_columns`), erased after serve --user-data-days
    // (`Store::erase_user_data`, through the partial index).
    "ALTER TABLE events ADD COLUMN user_data TEXT;
     CREATE INDEX events_user_data ON events(received_at) WHERE user_data IS NOT NULL;",
];

/// The schema version this collector writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The advisory lock instances take to migrate one at a time ("goaltag" in ASCII).
const MIGRATION_LOCK: i64 = 0x0067_6f61_6c74_6167;

/// What opening does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Create the tables or bring them up to [`SCHEMA_VERSION`] (serving, importing).
    Migrate,
    /// Change nothing; refuse a database without the current tables (reports).
    Check,
}

/// `url` without its password, for logs and errors.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Parses `url`, connects once, checks the server's durability settings,
/// and creates, migrates or checks the schema: the config the pool then uses.
pub(super) async fn prepare(url: &str, schema: Schema) -> anyhow::Result<tokio_postgres::Config> {
    let mut config: tokio_postgres::Config =
        url.parse().with_context(|| format!("{} is not a PostgreSQL URL (postgres://user:password@host:port/database)", redacted(url)))?;
    anyhow::ensure!(
        config.get_ssl_mode() != tokio_postgres::config::SslMode::Require,
        "sslmode=require: this collector has no TLS built in; reach PostgreSQL over a private network \
         or a local TLS tunnel, and drop sslmode=require from the URL (see README, \"Choosing a store\")"
    );
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("goaltag-collector");
    }
    let (mut client, connection) = config.connect(NoTls).await.with_context(|| format!("connecting to {}", redacted(url)))?;
    let task = tokio::spawn(connection);
    let result = async {
        let setting = |name: &'static str| {
            let client = &client;
            async move {
                let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
                Ok::<String, tokio_postgres::Error>(row.get(0))
            }
        };
        if setting("synchronous_commit").await? == "off" {
            tracing::warn!("the server has synchronous_commit=off; the collector's sessions turn it on");
            let options = format!("{} -c synchronous_commit=on", config.get_options().unwrap_or_default());
            config.options(options.trim());
        }
        if setting("fsync").await? == "off" {
            tracing::warn!("the server runs with fsync=off: acknowledged batches can be lost if it crashes");
        }
        match schema {
            Schema::Migrate => {
                let (from, to) = migrate(&mut client).await?;
                if from != to {
                    tracing::info!(from, to, "PostgreSQL schema migrated");
                }
            }
            Schema::Check => check(&client).await?,
        }
        Ok::<(), anyhow::Error>(())
    }
    .await;
    drop(client);
    let _ = task.await;
    result?;
    Ok(config)
}

/// Brings the schema to [`SCHEMA_VERSION`] in one transaction; returns (from, to).
async fn migrate(client: &mut Client) -> anyhow::Result<(usize, usize)> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS goaltag_schema(version INTEGER NOT NULL)").await?;
    let row = tx.query_opt("SELECT version FROM goaltag_schema", &[]).await?;
    let from = row.map_or(0, |r| r.get::<_, i32>(0)) as usize;
    anyhow::ensure!(
        from <= SCHEMA_VERSION,
        "the database has schema version {from}, written by a newer collector (this one knows {SCHEMA_VERSION})"
    );
    for m in &MIGRATIONS[from..] {
        tx.batch_execute(m).await?;
    }
    let to = SCHEMA_VERSION as i32;
    if from == 0 {
        tx.execute("INSERT INTO goaltag_schema(version) VALUES ($1)", &[&to]).await?;
    } else {
        tx.execute("UPDATE goaltag_schema SET version = $1", &[&to]).await?;
    }
    tx.commit().await?;
    Ok((from, SCHEMA_VERSION))
}

/// Refuses a database the collector has not set up (or set up at another version).
async fn check(client: &Client) -> anyhow::Result<()> {
    let version = match client.query_opt("SELECT version FROM goaltag_schema", &[]).await {
        Ok(row) => row.map_or(0, |r| r.get::<_, i32>(0)) as usize,
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => 0,
        Err(e) => return Err(e.into()),
    };
    anyhow::ensure!(version > 0, "no goaltag tables in this database (the collector creates them when it first starts)");
    anyhow::ensure!(
        version == SCHEMA_VERSION,
        "the database has schema version {version}, this collector reads {SCHEMA_VERSION}: start the newer collector on it first"
    );
    Ok(())
}
