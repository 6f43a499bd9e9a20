//! The dashboard's "Ad platforms" panel ([`panel`]): per platform, what an
//! export would send now, by the same [`select`] an export uses.

use super::select::{candidates, click, select, want};
use super::{Goals, Platform, Request};
use crate::store::Store;
use serde::Serialize;
use std::collections::BTreeMap;

/// One platform's line in the dashboard's "Ad platforms" panel, for the
/// primary goals' conversions in a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelRow {
    /// The platform.
    pub platform: Platform,
    /// Its name for people.
    pub label: &'static str,
    /// Conversions whose attribution holds the platform's click ID.
    pub with_click_id: usize,
    /// Of those, what an export would send now (consent, window, Meta's 7 days).
    pub exportable: usize,
    /// Of those with a click ID, how many were exported to it before.
    pub exported: usize,
}

/// The "Ad platforms" panel for `site` from day `from` to day `to` (UTC,
/// included), from one snapshot of `store`.
pub async fn panel(store: &dyn Store, site: &str, from: i64, to: i64, goals: &Goals, now: i64) -> anyhow::Result<Vec<PanelRow>> {
    let request = |platform| Request {
        site: site.to_string(),
        platform,
        goals: Vec::new(),
        from: Some(from),
        to: Some(to),
        names: BTreeMap::new(),
        window_days: None,
        since_last: false,
    };
    // One read for the three platforms: their click IDs and export records.
    let mut all = want(&request(Platform::MicrosoftAds));
    all.click_params = Platform::ALL.iter().flat_map(|p| p.click_params().iter().copied()).collect();
    all.platforms = Platform::ALL.iter().map(|p| p.name()).collect();
    let read = store.export_rows(all).await?;
    Ok(Platform::ALL
        .into_iter()
        .map(|platform| {
            let req = request(platform);
            let (rows, _) = select(&read, &req, goals, now);
            let (cands, _) = candidates(&read, &req, goals);
            let with_click_id = cands.iter().filter(|c| click(platform, &c.conversion).is_some()).count();
            let exported = match read.exported.get(platform.name()) {
                Some(before) if !before.is_empty() => cands.iter().filter(|c| before.contains(&c.key)).count(),
                _ => 0,
            };
            PanelRow { platform, label: platform.label(), with_click_id, exportable: rows.len(), exported }
        })
        .collect())
}
