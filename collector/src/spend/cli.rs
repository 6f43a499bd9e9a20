//! `goaltag-collector spend --db … --site … FILE…`: the files read and stored
//! one by one, a summary line for each.

use super::{Parsed, MAX_BYTES};
use crate::import::check_site;
use crate::store::Database;
use std::path::PathBuf;

/// Extra `goaltag-collector spend --help` text.
pub const CLI_MANUAL: &str = "\
FORMATS (recognised by the column row; see docs/spend.md)
  goaltag's CSV, columns in any order and case:
    date,network,campaign,cost,currency[,ad_group,ad,keyword,clicks,impressions]
    2026-12-01,Microsoft,weekend-specials,4.20,USD
  a Microsoft Advertising performance report (TimePeriod, CampaignName,
  AdGroupName, Keyword, CurrencyCode, Spend; Daily aggregation), a Google Ads
  report download (Day, Campaign, Ad group, Keyword, Currency code, Cost) or a
  Meta Ads Manager export (Reporting starts, Campaign name, Ad set name,
  Ad name, Amount spent (EUR); broken down by day).

  A file is stored whole or not at all: the first row that cannot be read is
  named (line and column). A row replaces the stored row with the same site,
  date, network, campaign, ad group, ad, keyword and currency, so importing a
  file again changes no figure. At most 32 MiB per file.

EXAMPLE
  goaltag-collector spend --db data/events.db --site demo-shop microsoft-keywords.csv meta.csv";

/// Reads and stores each file in turn, handing `done` one summary line per
/// stored file as it goes; stops at the first refused file (the ones before
/// it stay stored).
pub async fn cli(db: &Database, site: &str, files: &[PathBuf], mut done: impl FnMut(String)) -> anyhow::Result<()> {
    check_site(site).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(!files.is_empty(), "no spend file given");
    let store = crate::store::open_for_import(db).await?;
    for file in files {
        let name = file.display();
        let size = std::fs::metadata(file).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?.len();
        if size > MAX_BYTES as u64 {
            anyhow::bail!("{name}: {}; nothing of it was imported", super::too_large());
        }
        let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
        let Parsed { format, rows, read } = super::parse(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}; nothing of it was imported"))?;
        let d = store.import_spend(site, rows, crate::model::now_ms()).await?;
        done(format!(
            "{name}: {}, {read} rows read, {} stored for {site}: {} new, {} replaced, {} unchanged",
            format.name(),
            d.rows,
            d.new,
            d.replaced,
            d.unchanged
        ));
    }
    Ok(())
}
