//! Ad spend on SQLite (see [`crate::spend`]): storing one file's rows, and
//! reading a site's rows for a range of days.

use super::table_exists;
use crate::model::spend::{SpendImported, SpendRow};
use rusqlite::{params, Connection, TransactionBehavior};

/// Stores `rows` in one IMMEDIATE transaction: a row replaces the one with
/// its key; nothing is stored if any row fails.
pub(super) fn import(conn: &mut Connection, site: &str, rows: &[SpendRow], imported_at: i64) -> rusqlite::Result<SpendImported> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut done = SpendImported { rows: rows.len(), ..Default::default() };
    {
        let mut exists = tx.prepare(
            "SELECT 1 FROM spend WHERE site = ?1 AND date = ?2 AND network = ?3 AND campaign = ?4
               AND ad_group = ?5 AND ad = ?6 AND keyword = ?7 AND currency = ?8",
        )?;
        let mut upsert = tx.prepare(
            "INSERT INTO spend(site, date, network, campaign, ad_group, ad, keyword, currency, cost, clicks, impressions, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(site, date, network, campaign, ad_group, ad, keyword, currency) DO UPDATE SET
               cost = excluded.cost, clicks = excluded.clicks, impressions = excluded.impressions, imported_at = excluded.imported_at
             WHERE cost IS NOT excluded.cost OR clicks IS NOT excluded.clicks OR impressions IS NOT excluded.impressions",
        )?;
        for r in rows {
            let key = params![site, r.date, r.network, r.campaign, r.ad_group, r.ad, r.keyword, r.currency];
            let seen = exists.exists(key)?;
            let (clicks, impressions) = (r.clicks.map(clamp), r.impressions.map(clamp));
            let changed = upsert.execute(params![
                site,
                r.date,
                r.network,
                r.campaign,
                r.ad_group,
                r.ad,
                r.keyword,
                r.currency,
                r.cost,
                clicks,
                impressions,
                imported_at
            ])?;
            match (seen, changed) {
                (false, _) => done.new += 1,
                (true, 0) => done.unchanged += 1,
                (true, _) => done.replaced += 1,
            }
        }
    }
    tx.commit()?;
    Ok(done)
}

/// SQLite integers are i64.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The site's rows dated `from_day` to `to_day`, both included, in key order.
/// A file last opened by a collector before version 5 has no spend yet.
pub(super) fn rows(conn: &Connection, site: &str, from_day: i64, to_day: i64) -> rusqlite::Result<Vec<SpendRow>> {
    if !table_exists(conn, "spend")? {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(
        "SELECT date, network, campaign, ad_group, ad, keyword, currency, cost, clicks, impressions FROM spend
         WHERE site = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date, network, campaign, ad_group, ad, keyword, currency",
    )?;
    let rows = st.query_map(params![site, from_day, to_day], |r| {
        Ok(SpendRow {
            date: r.get(0)?,
            network: r.get(1)?,
            campaign: r.get(2)?,
            ad_group: r.get(3)?,
            ad: r.get(4)?,
            keyword: r.get(5)?,
            currency: r.get(6)?,
            cost: r.get(7)?,
            clicks: r.get::<_, Option<i64>>(8)?.map(|n| n.max(0) as u64),
            impressions: r.get::<_, Option<i64>>(9)?.map(|n| n.max(0) as u64),
        })
    })?;
    rows.collect()
}
