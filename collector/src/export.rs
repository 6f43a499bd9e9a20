//! Conversions back to the ad platforms: offline-conversion upload files for
//! Microsoft Advertising ([`microsoft`]), Google Ads ([`google`]) and Meta
//! ([`meta`]), each module citing the documentation page it follows.
//!
//! Which conversions go ([`select`]):
//! - of the chosen goals (`--goal ID`; the primary goals by default), and
//!   imported CRM stages (`--goal ID:STAGE`), joined to their online
//!   conversion by transaction ID, with the stage's own time and value;
//! - whose attribution holds the platform's click ID (`msclkid`; `gclid`,
//!   else `wbraid`, else `gbraid`; `fbclid`);
//! - whose consent snapshot (the online conversion's) has `ad_user_data` and
//!   `ad_storage` granted;
//! - within the attribution window counted from the click: the first time
//!   the collector saw that click ID on the site (see [`rows::Read::first_seen`]);
//!   the window is `--window-days`, else the goal file's
//!   `attribution_window_days`, else the tag's default of 30 days;
//! - for Meta, at most 7 days old (Meta refuses older events);
//! - with `--since-last`, not exported to that platform before.
//!
//! Every export is recorded in the `exports` table (first time wins). The
//! rows come through the [`Store`] ([`Store::export`], [`Store::export_rows`]),
//! so exports work alike on SQLite and PostgreSQL; what goes is decided here,
//! once, from what they read ([`rows`]). What
//! is left out is counted by reason in the [`Summary`]. Nothing personal
//! beyond the click ID, time, value and currency leaves: no client or visit
//! ID, no transaction ID, and for Meta the page URL without its query.
//! Times are the stored ones, to the second (UTC), so the same range
//! exported twice gives the same rows and the platforms de-duplicate them.

pub mod google;
pub mod meta;
pub mod microsoft;
mod routes;
pub mod rows;

pub use routes::routes;

use crate::dates::{self, DAY_MS};
use crate::store::{Database, Store};
use goaltag_wire::{Event, Signal};
use rows::{Read, Record, Want};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The attribution window when neither the request nor the goal file sets
/// one: the tag's default `attribution_window_days`.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;
/// Longest conversion name: both Microsoft and Google cap goal names at 100 characters.
pub const MAX_NAME: usize = 100;

/// An ad platform goaltag writes upload files for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// Microsoft Advertising (msclkid).
    MicrosoftAds,
    /// Google Ads (gclid, wbraid, gbraid).
    GoogleAds,
    /// Meta (fbclid).
    Meta,
}

impl Platform {
    /// All of them, in the order the dashboard lists them.
    pub const ALL: [Platform; 3] = [Platform::MicrosoftAds, Platform::GoogleAds, Platform::Meta];

    /// The name on the command line and in URLs: `microsoft-ads`, `google-ads`, `meta`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::MicrosoftAds => "microsoft-ads",
            Platform::GoogleAds => "google-ads",
            Platform::Meta => "meta",
        }
    }

    /// The platform's own name.
    pub fn label(self) -> &'static str {
        match self {
            Platform::MicrosoftAds => "Microsoft Advertising",
            Platform::GoogleAds => "Google Ads",
            Platform::Meta => "Meta",
        }
    }

    /// From [`Platform::name`].
    pub fn parse(s: &str) -> Result<Platform, String> {
        Platform::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("platform: expected microsoft-ads, google-ads or meta, got {s:?}"))
    }

    /// The click-ID parameters that key a conversion on this platform, the preferred first.
    pub fn click_params(self) -> &'static [&'static str] {
        match self {
            Platform::MicrosoftAds => &["msclkid"],
            // wbraid is for web conversions, gbraid for app ones.
            Platform::GoogleAds => &["gclid", "wbraid", "gbraid"],
            Platform::Meta => &["fbclid"],
        }
    }

    /// The upload file's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Platform::Meta => "application/json",
            _ => "text/csv; charset=utf-8",
        }
    }

    /// The upload file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Platform::Meta => "json",
            _ => "csv",
        }
    }
}

/// What to export, checked. `GET /export` and `goaltag-collector export`
/// read the same parameters ([`Request::parse`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Site key.
    pub site: String,
    /// Where the file goes.
    pub platform: Platform,
    /// Goals (`purchase`) and imported stages (`lead:qualified`); empty: the primary goals.
    pub goals: Vec<String>,
    /// First and last UTC day (days since 1970) of the conversion time, both included.
    pub from: Option<i64>,
    /// Last UTC day, included.
    pub to: Option<i64>,
    /// Conversion names by goal or `goal:stage`; others default to the goal's name.
    pub names: BTreeMap<String, String>,
    /// The attribution window in days, overriding the goal file's.
    pub window_days: Option<u32>,
    /// Leave out what was exported to this platform before.
    pub since_last: bool,
}

/// Checks `goal` or `goal:stage`.
fn check_selector(s: &str) -> Result<(), String> {
    let (goal, stage) = match s.split_once(':') {
        Some((g, st)) => (g, Some(st)),
        None => (s, None),
    };
    if !goaltag_wire::is_goal_id(goal) {
        return Err(format!("goal: {s:?} is not a goal ID (1 to 64 letters, digits, _, - or .), or ID:STAGE for an imported stage"));
    }
    if stage.is_some_and(|st| st.trim().is_empty() || st.len() > crate::ingest::MAX_TEXT) {
        return Err(format!("goal: {s:?} names an empty stage; write ID:STAGE, like lead:qualified"));
    }
    Ok(())
}

impl Request {
    /// From `site`, `platform`, `goal` (repeated), `from`, `to` (YYYY-MM-DD),
    /// `name` (repeated, `goal=Conversion name`), `window_days` and
    /// `since_last` (`true`/`1`); the error names the parameter.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Request, String> {
        let (mut site, mut platform, mut goals, mut from, mut to) = (None, None, Vec::new(), None, None);
        let (mut names, mut window_days, mut since_last) = (BTreeMap::new(), None, false);
        for (k, v) in params {
            match k {
                "site" => {
                    crate::import::check_site(v)?;
                    site = Some(v.to_string());
                }
                "platform" => platform = Some(Platform::parse(v)?),
                "goal" => {
                    for g in v.split(',').map(str::trim).filter(|g| !g.is_empty()) {
                        check_selector(g)?;
                        goals.push(g.to_string());
                    }
                }
                "from" | "to" => {
                    let day = dates::parse_date(v.trim()).ok_or_else(|| format!("{k}: expected a date as YYYY-MM-DD (UTC), got {v:?}"))?;
                    if k == "from" {
                        from = Some(day)
                    } else {
                        to = Some(day)
                    }
                }
                "name" => {
                    let (key, name) = v
                        .split_once('=')
                        .ok_or_else(|| format!("name: expected GOAL=Conversion name (like purchase=Online purchase), got {v:?}"))?;
                    let (key, name) = (key.trim(), name.trim());
                    check_selector(key).map_err(|e| e.replacen("goal:", "name:", 1))?;
                    if name.is_empty() || name.chars().count() > MAX_NAME {
                        return Err(format!("name: the conversion name for {key} must be 1 to {MAX_NAME} characters"));
                    }
                    names.insert(key.to_string(), name.to_string());
                }
                "window_days" => {
                    let n: u32 = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|n| (1..=365).contains(n))
                        .ok_or_else(|| format!("window_days: expected a whole number of days from 1 to 365, got {v:?}"))?;
                    window_days = Some(n);
                }
                "since_last" => {
                    since_last = match v.trim() {
                        "" | "1" | "true" | "yes" => true,
                        "0" | "false" | "no" => false,
                        _ => return Err(format!("since_last: expected true or false, got {v:?}")),
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown parameter {k:?}: expected site, platform, goal, from, to, name, window_days or since_last"
                    ))
                }
            }
        }
        let site = site.ok_or("site: required, as in site=demo-shop")?;
        let platform = platform.ok_or("platform: required: microsoft-ads, google-ads or meta")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(format!("from ({}) is after to ({})", dates::format_date(f), dates::format_date(t)));
            }
        }
        Ok(Request { site, platform, goals, from, to, names, window_days, since_last })
    }

    fn range(&self) -> rows::Range {
        (self.from.map_or(i64::MIN, |d| d * DAY_MS), self.to.map_or(i64::MAX, |d| (d + 1) * DAY_MS))
    }
}

/// What the site's goal configuration (the tag's `data-config` JSON, like
/// `www/goals.json`) tells the export: goal names, primary flags, and the
/// attribution window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Goals {
    /// Name by goal ID.
    pub names: HashMap<String, String>,
    /// Primary flag by goal ID.
    pub primary: HashMap<String, bool>,
    /// `attribution_window_days`, when the file sets it.
    pub window_days: Option<u32>,
}

impl Goals {
    /// Reads `{"goals": [{"id", "name", "primary"}, …], "attribution_window_days": n}`;
    /// other fields are the tag's business and are skipped.
    pub fn parse(text: &str) -> Result<Goals, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut g = Goals::default();
        if let Some(n) = v.get("attribution_window_days") {
            let n = n.as_u64().filter(|n| (1..=365).contains(n)).ok_or("attribution_window_days: expected 1 to 365")?;
            g.window_days = Some(n as u32);
        }
        let goals = match v.get("goals") {
            None => return Ok(g),
            Some(goals) => goals.as_array().ok_or("goals: expected an array")?,
        };
        for (i, goal) in goals.iter().enumerate() {
            let id = goal.get("id").and_then(|x| x.as_str()).ok_or_else(|| format!("goals[{i}].id: missing"))?;
            if let Some(name) = goal.get("name").and_then(|x| x.as_str()) {
                g.names.insert(id.to_string(), name.to_string());
            }
            g.primary.insert(id.to_string(), goal.get("primary").and_then(|x| x.as_bool()).unwrap_or(true));
        }
        Ok(g)
    }

    /// [`Goals::parse`] of a file.
    pub fn load(path: &Path) -> anyhow::Result<Goals> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read the goals file {}: {e}", path.display()))?;
        Goals::parse(&text).map_err(|e| anyhow::anyhow!("the goals file {}: {e}", path.display()))
    }

    /// The conversion name of `key` (`goal` or `goal:stage`) unless the request names it.
    fn name(&self, key: &str) -> String {
        match key.split_once(':') {
            Some((goal, stage)) => format!("{}: {stage}", self.names.get(goal).map_or(goal, String::as_str)),
            None => self.names.get(key).cloned().unwrap_or_else(|| key.to_string()),
        }
    }
}

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
    /// Which click-ID parameter keys it (`gclid`, `msclkid`, …).
    pub click_param: &'static str,
    /// The click ID, as captured.
    pub click_id: String,
    /// When the collector first saw the click ID, ms since 1970.
    pub click_ts: i64,
    /// Value and currency, when the conversion has them.
    pub value: Option<f64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// The conversion's page, as stored (Meta's `event_source_url`).
    pub url: Option<String>,
}

/// Why a conversion was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An imported stage whose transaction ID no online conversion carries.
    NoOnlineConversion,
    /// The attribution holds no click ID of this platform.
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
struct Candidate {
    key: String,
    event_id: String,
    name_key: String,
    ts: i64,
    value: Option<f64>,
    currency: Option<String>,
    /// The online conversion: attribution, consent and page come from it.
    conversion: Event,
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

fn candidates(read: &Read, req: &Request, goals: &Goals) -> (Vec<Candidate>, usize) {
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
            Ok((click_param, click_id, click_ts)) => rows.push(Row {
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
            }),
        }
    }
    summary.exported = rows.len();
    (rows, summary)
}

type Verdict = Result<(&'static str, String, i64), Reason>;

fn check(read: &Read, req: &Request, c: &Candidate, window_days: u32, now: i64, before: &HashSet<String>) -> Verdict {
    let click = c.conversion.attribution.as_ref().and_then(|a| {
        req.platform.click_params().iter().find_map(|p| a.click_ids.get(p).filter(|v| !v.is_empty()).map(|v| (*p, v.clone())))
    });
    let Some((param, id)) = click else { return Err(Reason::NoClickId) };
    if !granted(&c.conversion) {
        return Err(Reason::Consent);
    }
    let conversion_ts = i64::try_from(c.conversion.ts).unwrap_or(i64::MAX);
    let first_seen = read.first_seen.get(param).and_then(|seen| seen.get(&id)).copied();
    let click_ts = first_seen.unwrap_or(conversion_ts).min(conversion_ts);
    if c.ts < click_ts || c.ts - click_ts >= i64::from(window_days) * DAY_MS {
        return Err(Reason::OutsideWindow);
    }
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
            let (rows, summary) = select(&read, &req, goals, now);
            let with_click_id = summary.considered - summary.left_out.get(&Reason::NoClickId).copied().unwrap_or(0);
            let exported = match read.exported.get(platform.name()) {
                Some(before) if !before.is_empty() => {
                    let (cands, _) = candidates(&read, &req, goals);
                    cands.iter().filter(|c| before.contains(&c.key)).count()
                }
                _ => 0,
            };
            PanelRow { platform, label: platform.label(), with_click_id, exportable: rows.len(), exported }
        })
        .collect())
}

/// A CSV writer into memory with RFC 4180 line ends.
fn csv_writer(flexible: bool) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().flexible(flexible).terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> anyhow::Result<String> {
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("writing the CSV: {e}"))?;
    Ok(String::from_utf8(bytes)?)
}

/// A value as the files write it: the shortest decimal that reads back the same (`49.9`, `10`).
fn number(v: f64) -> String {
    format!("{v}")
}

/// `goaltag-collector export`: writes the file to `out` (or stdout), records
/// the export in `db` (a SQLite file or a PostgreSQL URL), and returns the
/// summary for stderr. The file is written before the export is recorded, so
/// a failed write records nothing.
pub async fn cli<'a>(
    db: &Database,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    goals_file: Option<&Path>,
    out: Option<&Path>,
) -> anyhow::Result<Summary> {
    let req = Request::parse(params).map_err(anyhow::Error::msg)?;
    let goals = goals_file.map(Goals::load).transpose()?.unwrap_or_default();
    let store = crate::store::open_for_import(db).await?;
    let out = out.map(Path::to_path_buf);
    let summary = run(&*store, &req, &goals, crate::store::now_ms(), move |file| {
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
  holds the platform's click ID (msclkid; gclid, wbraid or gbraid; fbclid),
  whose consent snapshot had ad_user_data and ad_storage granted, and whose
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: &[(&str, &str)]) -> Result<Request, String> {
        Request::parse(p.iter().copied())
    }

    #[test]
    fn requests_are_checked_and_name_the_parameter() {
        let r = parse(&[
            ("site", "s"),
            ("platform", "meta"),
            ("goal", "purchase,lead:qualified"),
            ("name", "purchase = Buy"),
            ("since_last", ""),
        ])
        .unwrap();
        assert_eq!(r.goals, ["purchase", "lead:qualified"]);
        assert_eq!(r.names["purchase"], "Buy");
        assert!(r.since_last);
        assert_eq!(parse(&[("site", "s")]).unwrap_err(), "platform: required: microsoft-ads, google-ads or meta");
        assert!(parse(&[("site", "s"), ("platform", "tiktok")]).unwrap_err().starts_with("platform: expected"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("goal", "a b")]).unwrap_err().starts_with("goal:"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("goal", "lead:")]).unwrap_err().contains("empty stage"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("name", "purchase")]).unwrap_err().starts_with("name: expected"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("window_days", "0")]).unwrap_err().starts_with("window_days"));
        assert!(parse(&[("site", "s"), ("platform", "meta"), ("from", "2026-02-02"), ("to", "2026-02-01")]).unwrap_err().contains("after"));
        assert!(parse(&[("sight", "s")]).unwrap_err().contains("unknown parameter \"sight\""));
    }

    #[test]
    fn goal_files_give_names_primary_flags_and_the_window() {
        let g = Goals::parse(r#"{"attribution_window_days": 14, "goals": [{"id": "purchase", "name": "Purchase", "when": {}}, {"id": "x", "primary": false}]}"#).unwrap();
        assert_eq!(
            (g.name("purchase"), g.name("purchase:shipped"), g.name("x"), g.name("y")),
            ("Purchase".into(), "Purchase: shipped".into(), "x".into(), "y".into())
        );
        assert_eq!((g.primary["purchase"], g.primary["x"], g.window_days), (true, false, Some(14)));
        assert!(Goals::parse("[").unwrap_err().starts_with("not JSON"));
        assert!(Goals::parse(r#"{"goals": {}}"#).unwrap_err().starts_with("goals:"));
    }
}
