//! The export's SQL on PostgreSQL (see [`crate::export::rows`]): the same
//! questions as SQLite's, in PostgreSQL's words. Orders compare text byte by
//! byte (`COLLATE "C"`), as SQLite does, so both stores give the same rows in
//! the same order.

use super::pg_text;
use crate::model::export::{click_needle, AdData, Read, Record, StageRow, Want};
use deadpool_postgres::Transaction;
use goaltag_wire::Event;

fn event(json: &str) -> anyhow::Result<Event> {
    Ok(serde_json::from_str(json)?)
}

/// Reads what `want` asks for; the caller's transaction makes it one snapshot.
pub(super) async fn read(c: &Transaction<'_>, want: &Want) -> anyhow::Result<Read> {
    let (site, (start, end)) = (want.site.as_str(), want.range);
    let mut read = Read::default();
    if want.conversions {
        let rows = c
            .query(
                "SELECT json FROM events WHERE site = $1 AND kind = 'conversion' AND ts >= $2 AND ts < $3
                 ORDER BY ts, id COLLATE \"C\"",
                &[&site, &start, &end],
            )
            .await?;
        read.conversions = rows.iter().map(|r| event(r.get(0))).collect::<anyhow::Result<_>>()?;
    }
    // Each row's online conversion: the one with its transaction ID, of the same goal first.
    let stages = c
        .prepare_cached(
            "SELECT i.transaction_id, i.value, i.currency, i.ts,
                    (SELECT e.json FROM events e WHERE e.site = i.site AND e.kind = 'conversion'
                       AND e.transaction_id = i.transaction_id
                     ORDER BY (e.goal = $2) DESC NULLS LAST, e.ts, e.id COLLATE \"C\" LIMIT 1)
             FROM imports i
             WHERE i.site = $1 AND i.goal = $2 AND i.stage = $3 AND i.ts >= $4 AND i.ts < $5
             ORDER BY i.ts, i.transaction_id COLLATE \"C\"",
        )
        .await?;
    for (goal, stage) in &want.stages {
        let (goal_text, stage_text) = (pg_text(goal), pg_text(stage));
        for r in c.query(&stages, &[&site, &goal_text, &stage_text, &start, &end]).await? {
            let json: Option<&str> = r.get(4);
            read.stages.push(StageRow {
                goal: goal.clone(),
                stage: stage.clone(),
                transaction_id: r.get(0),
                value: r.get(1),
                currency: r.get(2),
                ts: r.get(3),
                conversion: json.map(event).transpose()?,
            });
        }
    }
    let ids = read.conversion_ids();
    let ad_data = c
        .query(
            "SELECT id, user_agent, client_ip, user_data FROM events
             WHERE id = ANY($1) AND (user_agent IS NOT NULL OR client_ip IS NOT NULL OR user_data IS NOT NULL)",
            &[&ids],
        )
        .await?;
    for r in ad_data {
        read.ad_data.insert(r.get(0), AdData::from_columns(r.get(1), r.get(2), r.get(3)));
    }
    // jsonb cannot hold NUL (the wire format allows it in text, and `json`
    // keeps it as \u0000): such an event is not parsed, so the CASE keeps one
    // odd event from failing the whole export. Its click, if any, counts from
    // the conversion itself.
    let first_seen = c
        .prepare_cached(
            "SELECT v, min(ts) FROM (
               SELECT CASE WHEN strpos(json, E'\\\\u0000') = 0
                           THEN (json::jsonb) -> 'attribution' -> 'click_ids' ->> $2 END AS v, ts
               FROM events WHERE site = $1 AND kind IN ('page_view', 'conversion') AND strpos(json, $3) > 0
             ) AS seen WHERE v IS NOT NULL GROUP BY v",
        )
        .await?;
    for param in &want.click_params {
        let rows = c.query(&first_seen, &[&site, param, &click_needle(param)]).await?;
        read.first_seen.insert(param.to_string(), rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    for platform in &want.platforms {
        let rows = c.query("SELECT key FROM exports WHERE site = $1 AND platform = $2", &[&site, platform]).await?;
        read.exported.insert(platform.to_string(), rows.iter().map(|r| r.get(0)).collect());
    }
    Ok(read)
}

/// Records exported rows; a key exported before keeps its first record.
pub(super) async fn record(c: &Transaction<'_>, site: &str, platform: &str, rows: &[Record], now: i64) -> anyhow::Result<()> {
    let st = c
        .prepare_cached(
            "INSERT INTO exports(site, platform, key, name, conversion_ts, exported_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (site, platform, key) DO NOTHING",
        )
        .await?;
    for r in rows {
        c.execute(&st, &[&site, &platform, &pg_text(&r.key), &pg_text(&r.name), &r.conversion_ts, &now]).await?;
    }
    Ok(())
}
