//! Which conversions go ([`select`]), decided once from what a store read
//! ([`want`], [`rows::Read`]), and an export run in the store's transaction ([`run`]).

use super::{google, meta, microsoft, rows, Goals, Platform, Request};
use crate::dates::DAY_MS;
use crate::store::Store;
use goaltag_wire::{Event, Signal};
use rows::{Read, Record, Want};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// The attribution window when neither the request nor the goal file sets
/// one: the tag's default `attribution_window_days`.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// One conversion in an upload file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// What the `exports` table records: the conversion's event ID, or
    /// `import:GOAL:STAGE:TRANSACTION` for an imported stage.
    pub key: String,
    /// Meta's `event_id`: the conversion ID (`ID:STAGE` for a stage).
    pub event_id: String,
    /// The conversion name (Meta: `event_name`).
    pub name: String,
    /// Conversion time, ms since 1970.
    pub ts: i64,
    /// Which click-ID parameter keys it (`gclid`, `msclkid`, …); empty for
    /// a conversion sent by its hashed email or phone alone (Microsoft, Meta).
    pub click_param: &'static str,
    /// The click ID, as captured (empty when there is none).
    pub click_id: String,
    /// When the collector first saw the click ID, ms since 1970 (the
    /// conversion's time when there is none).
    pub click_ts: i64,
    /// Value and currency, when the conversion has them.
    pub value: Option<f64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// The conversion's page, as stored (Meta's `event_source_url`).
    pub url: Option<String>,
    /// The browser's `User-Agent`, kept only when the conversion's consent
    /// granted `ad_user_data` (Meta's `client_user_agent`).
    pub user_agent: Option<String>,
    /// The client's IP address, kept likewise and only with `serve
    /// --keep-client-ip` (Meta's `client_ip_address`).
    pub client_ip: Option<String>,
    /// The platform's hashed match keys kept with the conversion (enhanced
    /// conversions: `em`, `ph`, …), until `serve --user-data-days` erases them.
    pub user_data: goaltag_wire::Map,
}

/// Why a conversion was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An imported stage whose transaction ID no online conversion carries.
    NoOnlineConversion,
    /// The attribution holds no click ID of this platform (and, for a
    /// platform that matches without one, no hashed email or phone is kept).
    NoClickId,
    /// `ad_user_data` or `ad_storage` was not granted in its consent snapshot.
    Consent,
    /// Before the click, or later than the attribution window after it.
    OutsideWindow,
    /// Older than Meta accepts (7 days).
    TooOld,
    /// Exported to this platform before (`--since-last`).
    ExportedBefore,
}

impl Reason {
    fn text(self, platform: Platform, window_days: u32) -> String {
        match self {
            Reason::NoOnlineConversion => "imported stages with no online conversion of their transaction ID".into(),
            Reason::NoClickId if platform.matches_without_click() => {
                format!("without a {} click ID ({}) or a hashed email or phone", platform.label(), platform.click_params().join(", "))
            }
            Reason::NoClickId => format!("without a {} click ID ({})", platform.label(), platform.click_params().join(", ")),
            Reason::Consent => "without ad_user_data and ad_storage granted (consent)".into(),
            Reason::OutsideWindow => format!("outside the {window_days}-day attribution window after the click"),
            Reason::TooOld => "older than the 7 days Meta accepts".into(),
            Reason::ExportedBefore => "exported before (since last)".into(),
        }
    }
}

/// What an export did: how many conversions it wrote, and how many it left
/// out, by reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The platform.
    pub platform: Platform,
    /// The attribution window applied, in days.
    pub window_days: u32,
    /// Conversions (and stages) of the chosen goals in the range.
    pub considered: usize,
    /// Rows in the file.
    pub exported: usize,
    /// Left out, by reason; each conversion counts once, for the first reason in [`Reason`]'s order.
    pub left_out: BTreeMap<Reason, usize>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} of {} conversions exported", self.platform.name(), self.exported, self.considered)?;
        let total: usize = self.left_out.values().sum();
        if total > 0 {
            let parts: Vec<String> =
                self.left_out.iter().map(|(r, n)| format!("{n} {}", r.text(self.platform, self.window_days))).collect();
            write!(f, "; {total} left out: {}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// A conversion or stage before the checks.
pub(super) struct Candidate {
    pub(super) key: String,
    event_id: String,
    name_key: String,
    ts: i64,
    value: Option<f64>,
    currency: Option<String>,
    /// The online conversion: attribution, consent and page come from it.
    pub(super) conversion: Event,
}

fn granted(e: &Event) -> bool {
    e.consent.is_some_and(|c| c.ad_user_data == Signal::Granted && c.ad_storage == Signal::Granted)
}

/// What the store must read for `req`: the conversions when online goals
/// are chosen (or none, for the primary goals), the stages named, the
/// platform's click IDs, and its export records.
pub fn want(req: &Request) -> Want {
    let mut stages: Vec<(String, String)> = Vec::new();
    for (goal, stage) in req.goals.iter().filter_map(|g| g.split_once(':')) {
        if !stages.iter().any(|(g, st)| g == goal && st == stage) {
            stages.push((goal.to_string(), stage.to_string()));
        }
    }
    Want {
        site: req.site.clone(),
        range: req.range(),
        conversions: req.goals.is_empty() || req.goals.iter().any(|g| !g.contains(':')),
        stages,
        click_params: req.platform.click_params().to_vec(),
        platforms: vec![req.platform.name()],
    }
}

pub(super) fn candidates(read: &Read, req: &Request, goals: &Goals) -> (Vec<Candidate>, usize) {
    let mut out = Vec::new();
    let online: Vec<&str> = req.goals.iter().filter(|g| !g.contains(':')).map(String::as_str).collect();
    if req.goals.is_empty() || !online.is_empty() {
        for e in &read.conversions {
            let Some(goal) = e.goal.clone() else { continue };
            let chosen = if req.goals.is_empty() {
                e.primary.or_else(|| goals.primary.get(&goal).copied()).unwrap_or(false)
            } else {
                online.contains(&goal.as_str())
            };
            if chosen {
                out.push(Candidate {
                    key: e.id.clone(),
                    event_id: e.id.clone(),
                    name_key: goal,
                    ts: i64::try_from(e.ts).unwrap_or(i64::MAX),
                    value: e.value,
                    currency: e.currency.clone(),
                    conversion: e.clone(),
                });
            }
        }
    }
    let mut unmatched = 0;
    for sel in req.goals.iter().filter(|g| g.contains(':')) {
        let (goal, stage) = sel.split_once(':').expect("filtered on ':'");
        for row in read.stages.iter().filter(|r| r.goal == goal && r.stage == stage) {
            match &row.conversion {
                Some(conversion) => out.push(Candidate {
                    key: format!("import:{goal}:{stage}:{}", row.transaction_id),
                    event_id: format!("{}:{stage}", conversion.id),
                    name_key: sel.clone(),
                    ts: row.ts,
                    value: row.value,
                    currency: row.currency.clone(),
                    conversion: conversion.clone(),
                }),
                None => unmatched += 1,
            }
        }
    }
    out.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.key.cmp(&b.key)));
    (out, unmatched)
}

/// The rows of `req` as of `now` (ms) from what the store read for it
/// ([`want`]), and what was left out and why.
pub fn select(read: &Read, req: &Request, goals: &Goals, now: i64) -> (Vec<Row>, Summary) {
    let window_days = req.window_days.or(goals.window_days).unwrap_or(DEFAULT_WINDOW_DAYS);
    let (cands, unmatched) = candidates(read, req, goals);
    let mut summary =
        Summary { platform: req.platform, window_days, considered: cands.len() + unmatched, exported: 0, left_out: BTreeMap::new() };
    if unmatched > 0 {
        summary.left_out.insert(Reason::NoOnlineConversion, unmatched);
    }
    let nothing = HashSet::new();
    let before = match read.exported.get(req.platform.name()) {
        Some(keys) if req.since_last => keys,
        _ => &nothing,
    };
    let mut rows = Vec::new();
    for c in cands {
        match check(read, req, &c, window_days, now, before) {
            Err(reason) => *summary.left_out.entry(reason).or_default() += 1,
            Ok((click_param, click_id, click_ts)) => {
                let ad = read.ad_data.get(&c.conversion.id).cloned().unwrap_or_default();
                let user_data = ad.user_data.as_ref().map(|u| req.platform.user_data(u).clone()).unwrap_or_default();
                rows.push(Row {
                    name: req.names.get(&c.name_key).cloned().unwrap_or_else(|| goals.name(&c.name_key)),
                    key: c.key,
                    event_id: c.event_id,
                    ts: c.ts,
                    click_param,
                    click_id,
                    click_ts,
                    value: c.value,
                    currency: c.currency,
                    url: c.conversion.url,
                    user_agent: ad.user_agent,
                    client_ip: ad.client_ip,
                    user_data,
                })
            }
        }
    }
    summary.exported = rows.len();
    (rows, summary)
}

/// The platform's click ID in the conversion's attribution, the first of
/// its parameters found: (parameter, ID).
pub(super) fn click(platform: Platform, e: &Event) -> Option<(&'static str, String)> {
    let a = e.attribution.as_ref()?;
    platform.click_params().iter().find_map(|p| a.click_ids.get(p).filter(|v| !v.is_empty()).map(|v| (*p, v.clone())))
}

/// Whether the collector keeps a hashed email or phone of the platform for
/// the conversion (enhanced conversions).
fn has_hash(read: &Read, platform: Platform, e: &Event) -> bool {
    let u = read.ad_data.get(&e.id).and_then(|d| d.user_data.as_ref());
    u.is_some_and(|u| platform.user_data(u).contains_key("em") || platform.user_data(u).contains_key("ph"))
}

type Verdict = Result<(&'static str, String, i64), Reason>;

fn check(read: &Read, req: &Request, c: &Candidate, window_days: u32, now: i64, before: &HashSet<String>) -> Verdict {
    let conversion_ts = i64::try_from(c.conversion.ts).unwrap_or(i64::MAX);
    let (param, id, click_ts) = match click(req.platform, &c.conversion) {
        Some((param, id)) => {
            if !granted(&c.conversion) {
                return Err(Reason::Consent);
            }
            let first_seen = read.first_seen.get(param).and_then(|seen| seen.get(&id)).copied();
            let click_ts = first_seen.unwrap_or(conversion_ts).min(conversion_ts);
            if c.ts < click_ts || c.ts - click_ts >= i64::from(window_days) * DAY_MS {
                return Err(Reason::OutsideWindow);
            }
            (param, id, click_ts)
        }
        // An enhanced conversion: no click, so no window to judge it by.
        None if req.platform.matches_without_click() && has_hash(read, req.platform, &c.conversion) => {
            if !granted(&c.conversion) {
                return Err(Reason::Consent);
            }
            ("", String::new(), conversion_ts)
        }
        None => return Err(Reason::NoClickId),
    };
    if req.platform == Platform::Meta && now - c.ts > meta::MAX_AGE_MS {
        return Err(Reason::TooOld);
    }
    if before.contains(&c.key) {
        return Err(Reason::ExportedBefore);
    }
    Ok((param, id, click_ts))
}

/// The upload file for `rows`.
pub fn render(platform: Platform, rows: &[Row]) -> anyhow::Result<String> {
    match platform {
        Platform::MicrosoftAds => microsoft::render(rows),
        Platform::GoogleAds => google::render(rows),
        Platform::Meta => meta::render(rows),
    }
}

/// The rows `req` would export as of `now`, and the summary, from one
/// snapshot of `store`; records nothing (a preview; the e2e tests use it).
pub async fn preview(store: &dyn Store, req: &Request, goals: &Goals, now: i64) -> anyhow::Result<(Vec<Row>, Summary)> {
    let read = store.export_rows(want(req)).await?;
    Ok(select(&read, req, goals, now))
}

/// Selects and renders in one transaction that other exports wait for (so
/// two exports with `since_last` at once cannot both take the same
/// conversion), hands the file to `deliver`, and records the rows only when
/// that succeeded (see [`Store::export`]).
pub async fn run(
    store: &dyn Store,
    req: &Request,
    goals: &Goals,
    now: i64,
    deliver: impl FnOnce(String) -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<Summary> {
    let done = Arc::new(Mutex::new(None));
    let (req2, goals2, out) = (req.clone(), goals.clone(), done.clone());
    let decide: rows::Decide = Box::new(move |read| {
        let (rows, summary) = select(&read, &req2, &goals2, now);
        deliver(render(req2.platform, &rows)?)?;
        *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(summary);
        Ok(rows.into_iter().map(|r| Record { key: r.key, name: r.name, conversion_ts: r.ts }).collect())
    });
    store.export(want(req), req.platform.name(), now, decide).await?;
    let summary = done.lock().unwrap_or_else(|e| e.into_inner()).take();
    summary.ok_or_else(|| anyhow::anyhow!("the export did not run"))
}
