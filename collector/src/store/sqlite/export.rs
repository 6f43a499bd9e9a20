//! The export's SQL on SQLite (see [`crate::export::rows`]): reading a
//! [`Want`] and recording exported rows.

use crate::model::export::{click_needle, click_path, AdData, Read, Record, StageRow, Want};
use goaltag_wire::Event;
use rusqlite::{params, Connection, OptionalExtension};

fn event(json: String) -> rusqlite::Result<Event> {
    serde_json::from_str(&json).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Reads what `want` asks for; the caller holds the transaction that makes it one snapshot.
pub(super) fn read(conn: &Connection, want: &Want) -> rusqlite::Result<Read> {
    let (site, (start, end)) = (want.site.as_str(), want.range);
    let mut read = Read::default();
    if want.conversions {
        let mut st = conn
            .prepare_cached("SELECT json FROM events WHERE site = ?1 AND kind = 'conversion' AND ts >= ?2 AND ts < ?3 ORDER BY ts, id")?;
        let rows = st.query_map(params![site, start, end], |r| r.get::<_, String>(0))?;
        read.conversions = rows.map(|j| event(j?)).collect::<rusqlite::Result<_>>()?;
    }
    // Each row's online conversion: the one with its transaction ID, of the same goal first.
    let mut st = conn.prepare_cached(
        "SELECT i.transaction_id, i.value, i.currency, i.ts,
                (SELECT e.json FROM events e WHERE e.site = i.site AND e.kind = 'conversion'
                   AND e.transaction_id = i.transaction_id ORDER BY e.goal = ?2 DESC, e.ts, e.id LIMIT 1)
         FROM imports i
         WHERE i.site = ?1 AND i.goal = ?2 AND i.stage = ?3 AND i.ts >= ?4 AND i.ts < ?5 ORDER BY i.ts, i.transaction_id",
    )?;
    for (goal, stage) in &want.stages {
        let rows = st.query_map(params![site, goal, stage, start, end], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, Option<String>>(4)?))
        })?;
        for row in rows {
            let (transaction_id, value, currency, ts, json) = row?;
            let conversion = json.map(event).transpose()?;
            read.stages.push(StageRow { goal: goal.clone(), stage: stage.clone(), transaction_id, value, currency, ts, conversion });
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT user_agent, client_ip, user_data FROM events
             WHERE id = ?1 AND (user_agent IS NOT NULL OR client_ip IS NOT NULL OR user_data IS NOT NULL)",
    )?;
    for id in read.conversion_ids() {
        if let Some(d) =
            st.query_row([&id], |r| Ok(AdData::from_columns(r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.as_deref()))).optional()?
        {
            read.ad_data.insert(id, d);
        }
    }
    for param in &want.click_params {
        let mut st = conn.prepare_cached(
            "SELECT json_extract(json, ?2), min(ts) FROM events
             WHERE site = ?1 AND kind IN ('page_view', 'conversion') AND instr(json, ?3) > 0 AND json_extract(json, ?2) IS NOT NULL
             GROUP BY json_extract(json, ?2)",
        )?;
        let rows =
            st.query_map(params![site, click_path(param), click_needle(param)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        read.first_seen.insert(param.to_string(), rows.collect::<rusqlite::Result<_>>()?);
    }
    // A file last opened by an older collector has no exports table: nothing was exported.
    let has_exports = super::table_exists(conn, "exports")?;
    for platform in &want.platforms {
        let keys = if has_exports {
            let mut st = conn.prepare_cached("SELECT key FROM exports WHERE site = ?1 AND platform = ?2")?;
            let rows = st.query_map(params![site, platform], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        } else {
            Default::default()
        };
        read.exported.insert(platform.to_string(), keys);
    }
    Ok(read)
}

/// Records exported rows; a key exported before keeps its first record.
pub(super) fn record(conn: &Connection, site: &str, platform: &str, rows: &[Record], now: i64) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "INSERT INTO exports(site, platform, key, name, conversion_ts, exported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(site, platform, key) DO NOTHING",
    )?;
    for r in rows {
        st.execute(params![site, platform, r.key, r.name, r.conversion_ts, now])?;
    }
    Ok(())
}
