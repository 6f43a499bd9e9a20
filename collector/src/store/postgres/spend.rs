//! Ad spend on PostgreSQL (see [`crate::spend`]): storing one file's rows in
//! one transaction, and reading a site's rows for a range of days.

use super::pg_text;
use crate::model::spend::{SpendImported, SpendRow};
use tokio_postgres::Transaction;

/// Rows sent in one statement (as arrays, unnested by the server): 100 000
/// rows make 20 round trips, not 100 000.
const CHUNK: usize = 5_000;

/// Stores `rows` in the caller's transaction: a row replaces the one with its key.
pub(super) async fn import(tx: &Transaction<'_>, site: &str, rows: &[SpendRow], imported_at: i64) -> anyhow::Result<SpendImported> {
    // One statement per chunk. Rows of a chunk have distinct keys (the reader
    // adds up rows with one key), which ON CONFLICT DO UPDATE needs. xmax = 0
    // on a returned row: inserted; else replaced. A key whose figures did not
    // change returns no row (the WHERE of DO UPDATE said no).
    let upsert = tx
        .prepare(
            "INSERT INTO spend(site, date, network, campaign, ad_group, ad, keyword, currency, cost, clicks, impressions, imported_at)
             SELECT $1::text, r.date, r.network, r.campaign, r.ad_group, r.ad, r.keyword, r.currency, r.cost, r.clicks,
                    r.impressions, $11::bigint
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::float8[], $10::bigint[], $12::bigint[])
                  AS r(date, network, campaign, ad_group, ad, keyword, currency, cost, clicks, impressions)
             ON CONFLICT (site, date, network, campaign, ad_group, ad, keyword, currency) DO UPDATE SET
               cost = excluded.cost, clicks = excluded.clicks, impressions = excluded.impressions, imported_at = excluded.imported_at
             WHERE spend.cost IS DISTINCT FROM excluded.cost OR spend.clicks IS DISTINCT FROM excluded.clicks
                OR spend.impressions IS DISTINCT FROM excluded.impressions
             RETURNING xmax = 0",
        )
        .await?;
    let mut done = SpendImported { rows: rows.len(), ..Default::default() };
    let site = pg_text(site);
    for chunk in rows.chunks(CHUNK) {
        let text = |f: fn(&SpendRow) -> &str| chunk.iter().map(|r| pg_text(f(r)).into_owned()).collect::<Vec<String>>();
        let count = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let dates: Vec<i64> = chunk.iter().map(|r| r.date).collect();
        let costs: Vec<f64> = chunk.iter().map(|r| r.cost).collect();
        let clicks: Vec<Option<i64>> = chunk.iter().map(|r| count(r.clicks)).collect();
        let impressions: Vec<Option<i64>> = chunk.iter().map(|r| count(r.impressions)).collect();
        let returned = tx
            .query(
                &upsert,
                &[
                    &site,
                    &dates,
                    &text(|r| &r.network),
                    &text(|r| &r.campaign),
                    &text(|r| &r.ad_group),
                    &text(|r| &r.ad),
                    &text(|r| &r.keyword),
                    &text(|r| &r.currency),
                    &costs,
                    &clicks,
                    &imported_at,
                    &impressions,
                ],
            )
            .await?;
        let inserted = returned.iter().filter(|r| r.get::<_, bool>(0)).count();
        done.new += inserted;
        done.replaced += returned.len() - inserted;
        done.unchanged += chunk.len() - returned.len();
    }
    Ok(done)
}

/// The site's rows dated `from_day` to `to_day`, both included, in key order.
pub(super) async fn rows(client: &deadpool_postgres::Client, site: &str, from_day: i64, to_day: i64) -> anyhow::Result<Vec<SpendRow>> {
    let st = client
        .prepare_cached(
            "SELECT date, network, campaign, ad_group, ad, keyword, currency, cost, clicks, impressions FROM spend
             WHERE site = $1 AND date >= $2 AND date <= $3 ORDER BY date, network, campaign, ad_group, ad, keyword, currency",
        )
        .await?;
    Ok(client
        .query(&st, &[&site, &from_day, &to_day])
        .await?
        .into_iter()
        .map(|r| SpendRow {
            date: r.get(0),
            network: r.get(1),
            campaign: r.get(2),
            ad_group: r.get(3),
            ad: r.get(4),
            keyword: r.get(5),
            currency: r.get(6),
            cost: r.get(7),
            clicks: r.get::<_, Option<i64>>(8).map(|n| n.max(0) as u64),
            impressions: r.get::<_, Option<i64>>(9).map(|n| n.max(0) as u64),
        })
        .collect())
}
