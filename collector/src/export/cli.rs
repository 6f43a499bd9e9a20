//! `goaltag-collector export`: the command's glue around [`super::run`].

use super::{meta, run, Goals, Params, Platform, Request, Summary};
use crate::store::Database;
use std::path::Path;

/// `goaltag-collector export`: writes the file to `out` (or stdout), records
/// the export in `db` (a SQLite file or a PostgreSQL URL), and returns the
/// summary for stderr. The file is written before the export is recorded, so
/// a failed write records nothing.
pub async fn cli(db: &Database, params: Params, goals_file: Option<&Path>, out: Option<&Path>) -> anyhow::Result<Summary> {
    let req = Request::new(params).map_err(anyhow::Error::msg)?;
    let goals = goals_file.map(Goals::load).transpose()?.unwrap_or_default();
    let store = crate::store::open_for_import(db).await?;
    let out = out.map(Path::to_path_buf);
    let summary = run(&*store, &req, &goals, crate::model::now_ms(), move |file| {
        match out {
            Some(path) => std::fs::write(&path, &file).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?,
            None => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(file.as_bytes())?;
                stdout.flush()?;
            }
        }
        Ok(())
    })
    .await?;
    if req.platform == Platform::Meta && summary.exported > meta::MAX_EVENTS {
        eprintln!("note: Meta takes at most {} events per request; split the data array before sending", meta::MAX_EVENTS);
    }
    Ok(summary)
}

/// Extra `goaltag-collector export --help` text.
pub const CLI_MANUAL: &str = "\
WHICH CONVERSIONS
  Those of the goals named with --goal (the primary goals when none is),
  and imported CRM stages named --goal GOAL:STAGE (see 'import --help'),
  joined to their online conversion by transaction ID, whose attribution
  holds the platform's click ID (msclkid; gclid, wbraid or gbraid; fbclid)
  or, for microsoft-ads and meta, whose hashed email or phone the collector
  keeps (enhanced conversions, no window then), whose consent snapshot had ad_user_data and ad_storage granted, and whose
  time falls inside the attribution window after the click (the first time
  the collector saw that click ID). Meta refuses events older than 7 days:
  those are left out. What is left out is counted on stderr, by reason.

  The window is --window-days, else attribution_window_days of the --goals
  file, else 30. Conversion names: --name GOAL=Name (or GOAL:STAGE=Name),
  else the goal's name in the --goals file, else its ID.

  Every export is recorded in the exports table; --since-last leaves out
  what was exported to that platform before. Without it the same range
  gives the same rows again (the platforms ignore duplicates).

OUTPUT (see README 'Sending conversions to ad platforms' for uploading)
  microsoft-ads  Bulk CSV: Format Version 6.0, Offline Conversion records (UTC)
  google-ads     Click-conversion import CSV, Parameters:TimeZone=+0000
  meta           Conversions API request body: {\"data\": [events]}

EXAMPLES
  goaltag-collector export --db data/events.db --site demo-shop --platform google-ads \\
      --goals www/goals.json --out google.csv
  goaltag-collector export --site demo-shop --platform microsoft-ads --goal purchase \\
      --goal lead:qualified --name 'lead:qualified=Qualified lead' --since-last
  goaltag-collector export --db postgres://goaltag@db.internal/goaltag --site demo-shop \\
      --platform meta --since-last --out meta.json";
