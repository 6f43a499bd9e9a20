//! The export's SQL, in a few small functions over the store's tables
//! (`events`, `imports`, `exports`), so that another store (PostgreSQL) needs
//! only these rewritten. Events are read back from their `json` column as the
//! wire type: the columns are only for finding them.

use goaltag_wire::Event;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};

/// A range of event times in ms, start included, end excluded.
pub type Range = (i64, i64);

fn event(json: String) -> rusqlite::Result<Event> {
    serde_json::from_str(&json).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// The site's conversions in `range`, oldest first.
pub fn conversions(conn: &Connection, site: &str, (start, end): Range) -> rusqlite::Result<Vec<Event>> {
    let mut st =
        conn.prepare_cached("SELECT json FROM events WHERE site = ?1 AND kind = 'conversion' AND ts >= ?2 AND ts < ?3 ORDER BY ts, id")?;
    let rows = st.query_map(params![site, start, end], |r| r.get::<_, String>(0))?;
    rows.map(|j| event(j?)).collect()
}

/// One imported row: (transaction ID, value, currency, time in ms).
pub type Stage = (String, Option<f64>, Option<String>, i64);

/// Imported rows of `goal` and `stage` in `range`, oldest first.
pub fn stages(conn: &Connection, site: &str, goal: &str, stage: &str, (start, end): Range) -> rusqlite::Result<Vec<Stage>> {
    let mut st = conn.prepare_cached(
        "SELECT transaction_id, value, currency, ts FROM imports
         WHERE site = ?1 AND goal = ?2 AND stage = ?3 AND ts >= ?4 AND ts < ?5 ORDER BY ts, transaction_id",
    )?;
    let rows = st.query_map(params![site, goal, stage, start, end], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}

/// The online conversion an imported row belongs to: the site's conversion
/// with its transaction ID, of the same goal if there is one, else the first.
pub fn conversion_for(conn: &Connection, site: &str, transaction_id: &str, goal: &str) -> rusqlite::Result<Option<Event>> {
    let mut st = conn.prepare_cached(
        "SELECT json FROM events WHERE site = ?1 AND kind = 'conversion' AND transaction_id = ?2
         ORDER BY goal = ?3 DESC, ts, id LIMIT 1",
    )?;
    st.query_row(params![site, transaction_id, goal], |r| r.get::<_, String>(0)).optional()?.map(event).transpose()
}

/// When the collector first saw each value of click-ID parameter `param`
/// (`gclid`, …) on the site: the earliest page view or conversion whose
/// attribution carries it, by value. That is the click time the platforms'
/// windows and Meta's `fbc` count from.
pub fn first_seen(conn: &Connection, site: &str, param: &str) -> rusqlite::Result<HashMap<String, i64>> {
    let path = format!("$.attribution.click_ids.{param}");
    let mut st = conn.prepare_cached(
        "SELECT json_extract(json, ?2), min(ts) FROM events
         WHERE site = ?1 AND kind IN ('page_view', 'conversion') AND json_extract(json, ?2) IS NOT NULL
         GROUP BY json_extract(json, ?2)",
    )?;
    let rows = st.query_map(params![site, path], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    rows.collect()
}

/// Keys already exported to `platform` for the site.
pub fn exported(conn: &Connection, site: &str, platform: &str) -> rusqlite::Result<HashSet<String>> {
    let mut st = conn.prepare_cached("SELECT key FROM exports WHERE site = ?1 AND platform = ?2")?;
    let rows = st.query_map(params![site, platform], |r| r.get(0))?;
    rows.collect()
}

/// Records exported rows: (key, conversion name, conversion time). A key
/// exported before keeps its first record.
pub fn record(conn: &Connection, site: &str, platform: &str, rows: &[(&str, &str, i64)], now: i64) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO exports(site, platform, key, name, conversion_ts, exported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(site, platform, key) DO NOTHING",
    )?;
    for (key, name, ts) in rows {
        st.execute(params![site, platform, key, name, ts, now])?;
    }
    Ok(())
}
