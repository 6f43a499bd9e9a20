//! The report: one function, [`build`], reads a [`Store`] and makes the
//! numbers that `GET /report` answers as JSON, the dashboard draws and
//! `goaltag-collector report` prints ([`text`]), so the three never disagree.
//! A store only reads rows ([`Rows`]); every number is computed here, section
//! by section, so SQLite and PostgreSQL give the same report for the same data.
//!
//! Definitions (the README repeats them for site owners):
//! - Range: `from` and `to` are UTC dates, both included. Events are placed by
//!   their own `ts` (when they happened in the browser), batches and
//!   rejections by when they arrived, imported rows by their `ts`.
//! - Visit: the page views sharing a `visit_id`, or a `client_id` when there
//!   is no visit ID. Events with neither (consent denied) cannot be followed
//!   from page to page: they count in page views, conversions and the daily
//!   series but not in visits, landing pages or the funnel; the report says
//!   how many there were.
//! - Source of a visit: the attribution of its first page view carrying one;
//!   of a conversion: the attribution the tag attached to it (its last click
//!   within the attribution window). Neither → "direct".
//! - Funnel: a visit reaches step i when it viewed steps 1..i in that order
//!   (other pages in between are fine); paths compare without query string,
//!   and `/x/index.html` equals `/x/`.

use crate::dates::{self, DAY_MS};
use crate::store::{Database, Store};
use goaltag_wire::Attribution;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The demo shop's purchase path (files in `www/`).
pub const DEFAULT_FUNNEL: [&str; 5] = ["/", "/specials.html", "/product.html", "/cart.html", "/checkout/confirmation.html"];
/// Days in the default range, today included.
pub const DEFAULT_DAYS: i64 = 30;
/// Longest range: the daily series has one row per day.
pub const MAX_DAYS: i64 = 1000;
pub const MAX_FUNNEL_STEPS: usize = 12;

/// What a report is about, checked. `site` may be left for [`build`] to pick.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub site: Option<String>,
    /// First and last day, as days since 1970-01-01 (UTC).
    pub from: i64,
    pub to: i64,
    pub funnel: Vec<String>,
}

/// Why no report could be made.
#[derive(Debug)]
pub enum ReportError {
    /// The question was wrong: the text says what to change (HTTP 400).
    Bad(String),
    /// The database failed.
    Db(anyhow::Error),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Bad(s) => f.write_str(s),
            ReportError::Db(e) => write!(f, "reading the database failed: {e:#}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl Query {
    /// From the parameters of `GET /report` (or the CLI): `site`, `from`, `to`
    /// (YYYY-MM-DD) and `funnel` (comma-separated paths). `today` is the UTC day
    /// number the defaults count from: the last [`DEFAULT_DAYS`] days up to today.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>, today: i64) -> Result<Query, String> {
        let (mut site, mut from, mut to, mut funnel) = (None, None, None, None);
        for (k, v) in params {
            match k {
                "site" if !v.is_empty() => site = Some(v.to_string()),
                "site" => {}
                "from" | "to" => {
                    let day = dates::parse_date(v.trim())
                        .ok_or_else(|| format!("{k}: expected a date as YYYY-MM-DD (UTC), got {v:?}"))?;
                    if k == "from" { from = Some(day) } else { to = Some(day) }
                }
                "funnel" => funnel = Some(parse_funnel(v)?),
                _ => return Err(format!("unknown parameter {k:?}: expected site, from, to or funnel")),
            }
        }
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - (DEFAULT_DAYS - 1));
        if from > to {
            return Err(format!("from ({}) is after to ({})", dates::format_date(from), dates::format_date(to)));
        }
        if to - from + 1 > MAX_DAYS {
            return Err(format!("the range is {} days; at most {MAX_DAYS} at once", to - from + 1));
        }
        let funnel = funnel.unwrap_or_else(|| DEFAULT_FUNNEL.iter().map(|s| s.to_string()).collect());
        Ok(Query { site, from, to, funnel })
    }
}

fn parse_funnel(v: &str) -> Result<Vec<String>, String> {
    let steps: Vec<String> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if steps.is_empty() || steps.len() > MAX_FUNNEL_STEPS {
        return Err(format!("funnel: expected 1 to {MAX_FUNNEL_STEPS} comma-separated paths like /,/cart.html"));
    }
    if let Some(bad) = steps.iter().find(|s| !s.starts_with('/') || s.len() > 500) {
        return Err(format!("funnel: {bad:?} is not a path; steps are URL paths starting with /, like /cart.html"));
    }
    Ok(steps)
}

/// An amount in one currency (`null` when the events named none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Money {
    pub currency: Option<String>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub site: String,
    pub from: String,
    pub to: String,
    pub totals: Totals,
    pub goals: Vec<GoalRow>,
    pub sources: Vec<SourceRow>,
    pub landing_pages: Vec<LandingRow>,
    pub funnel: Funnel,
    pub daily: Vec<Day>,
    pub imports: Vec<ImportGoal>,
    pub data_quality: DataQuality,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub page_views: u64,
    pub visits: u64,
    /// Distinct client IDs on page views and conversions.
    pub unique_visitors: u64,
    pub conversions: u64,
    pub primary_conversions: u64,
    pub secondary_conversions: u64,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalRow {
    pub goal: String,
    /// True when the tag marked this goal's conversions primary.
    pub primary: bool,
    pub conversions: u64,
    /// Distinct client IDs among them (only where consent allowed an ID).
    pub unique_visitors: u64,
    /// Conversions without a client ID, which `unique_visitors` cannot count.
    pub conversions_without_id: u64,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct SourceKey {
    /// Ad network named by a click ID (Google, Microsoft, Meta, TikTok,
    /// LinkedIn, or the click ID's name for one configured on the site).
    pub network: Option<String>,
    pub referrer_host: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
}

impl SourceKey {
    pub fn of(a: Option<&Attribution>) -> SourceKey {
        let Some(a) = a else { return SourceKey::default() };
        SourceKey {
            network: network(a),
            referrer_host: a.referrer_host.clone(),
            utm_source: a.utm.get("utm_source").cloned(),
            utm_medium: a.utm.get("utm_medium").cloned(),
            utm_campaign: a.utm.get("utm_campaign").cloned(),
        }
    }

    /// A short name for tables and charts: "direct", or the parts present
    /// ("Google · google / cpc · spring", "news.example").
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = &self.network {
            parts.push(n.clone());
        }
        match (&self.utm_source, &self.utm_medium) {
            (Some(s), Some(m)) => parts.push(format!("{s} / {m}")),
            (Some(s), None) => parts.push(s.clone()),
            (None, Some(m)) => parts.push(format!("? / {m}")),
            (None, None) => {}
        }
        parts.extend(self.utm_campaign.clone());
        parts.extend(self.referrer_host.clone());
        if parts.is_empty() { "direct".into() } else { parts.join(" · ") }
    }
}

/// Which ad network a click ID belongs to; the first found in this order wins.
const NETWORKS: [(&str, &str); 7] = [
    ("gclid", "Google"),
    ("gbraid", "Google"),
    ("wbraid", "Google"),
    ("msclkid", "Microsoft"),
    ("fbclid", "Meta"),
    ("ttclid", "TikTok"),
    ("li_fat_id", "LinkedIn"),
];

fn network(a: &Attribution) -> Option<String> {
    NETWORKS
        .iter()
        .find(|(id, _)| a.click_ids.contains_key(id))
        .map(|(_, n)| n.to_string())
        .or_else(|| a.click_ids.keys().next().cloned())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    pub source: String,
    #[serde(flatten)]
    pub key: SourceKey,
    pub visits: u64,
    pub conversions: u64,
    pub primary_conversions: u64,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LandingRow {
    pub path: String,
    pub visits: u64,
    /// Conversions in visits that began on this page.
    pub conversions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    pub steps: Vec<FunnelStep>,
    /// Page views without visit or client ID, which the funnel cannot follow.
    pub page_views_without_id: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    pub path: String,
    /// Visits that reached this step after all earlier ones.
    pub visits: u64,
    /// Visits of the step before that did not reach this one (0 for step 1).
    pub drop_off: u64,
    /// `visits` as a share of the step before (1 for step 1; 0 when it had none).
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: String,
    pub page_views: u64,
    pub conversions: u64,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportGoal {
    pub goal: String,
    pub stages: Vec<ImportStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportStage {
    pub stage: String,
    pub rows: u64,
    /// Rows whose transaction ID an online conversion of the site carried (any date).
    pub matched: u64,
    pub unmatched: u64,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataQuality {
    /// Batches accepted for the site.
    pub batches: u64,
    /// Events the tag sent again (a retry or a second beacon) and the
    /// collector recognised by ID and did not store twice.
    pub duplicates_absorbed: u64,
    /// Batches that arrived on a second or later attempt.
    pub retried_batches: u64,
    /// Events the tag reported dropping before they could be sent.
    pub dropped_overflow: u64,
    pub dropped_poison: u64,
    pub dropped_expired: u64,
    /// Bodies refused by validation, for all sites (a refused body may name none).
    pub rejected_bodies: u64,
    pub page_views_without_id: u64,
    pub conversions_without_client_id: u64,
}

// ---- What a store reads ------------------------------------------------------

/// One event as a store reads it for a report: the columns every store keeps,
/// and the whole event as JSON (attribution and `primary` are read from it).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The event ID (lower-case UUID).
    pub id: String,
    /// When it happened, ms since the Unix epoch (the collector's clock).
    pub ts: i64,
    /// The page's URL.
    pub url: Option<String>,
    /// The conversion's goal.
    pub goal: Option<String>,
    /// The conversion's value.
    pub value: Option<f64>,
    /// The value's currency, as sent.
    pub currency: Option<String>,
    /// The conversion's transaction ID.
    pub transaction_id: Option<String>,
    /// The browser's client ID, where consent allowed one.
    pub client_id: Option<String>,
    /// The visit's ID, where consent allowed one.
    pub visit_id: Option<String>,
    /// The whole event as the collector stored it.
    pub json: String,
}

/// Sums over a site's accepted batches in the range (by arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchFigures {
    /// Batches accepted.
    pub batches: u64,
    /// Events in them that were already stored.
    pub duplicates: u64,
    /// Batches sent on a second or later attempt.
    pub retried: u64,
    /// Events the tag reported dropping: its queue was full.
    pub dropped_overflow: u64,
    /// Events the tag reported dropping: refused by a collector.
    pub dropped_poison: u64,
    /// Events the tag reported dropping: too old to send.
    pub dropped_expired: u64,
}

/// One imported row of the site in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Its goal.
    pub goal: String,
    /// Its stage (shipped, refunded, …).
    pub stage: String,
    /// Its value.
    pub value: Option<f64>,
    /// The value's currency.
    pub currency: Option<String>,
    /// When it happened, ms since the Unix epoch.
    pub ts: i64,
    /// True when an online conversion of the site (any date) carried its transaction ID.
    pub matched: bool,
}

/// Everything a report reads from a store ([`crate::Store::report_rows`]),
/// in no particular order: the report sorts what it needs sorted, so every
/// store gives the same numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// The site's page views in the range (by event time).
    pub page_views: Vec<EventRow>,
    /// The site's conversions in the range (by event time).
    pub conversions: Vec<EventRow>,
    /// The site's batches in the range (by arrival).
    pub batches: BatchFigures,
    /// Bodies refused in the range, all sites (a refused body may name none).
    pub rejected_bodies: u64,
    /// The site's imported rows in the range (by their time).
    pub imports: Vec<ImportRow>,
}

// ---- The report, section by section -----------------------------------------

/// Sums per currency, rounded to 6 decimals so float noise (0.1 + 0.2)
/// does not show; ordered by currency code, "no currency" last.
#[derive(Default)]
struct Sums(BTreeMap<Option<String>, f64>);

impl Sums {
    fn add(&mut self, currency: &Option<String>, value: Option<f64>) {
        if let Some(v) = value {
            *self.0.entry(currency.clone()).or_default() += v;
        }
    }

    fn money(&self) -> Vec<Money> {
        let mut out: Vec<Money> = self
            .0
            .iter()
            .map(|(c, v)| Money {
                currency: c.clone(),
                value: (v * 1e6).round() / 1e6,
            })
            .collect();
        out.sort_by_key(|m| m.currency.is_none());
        out
    }
}

/// The key that ties a visit's events together (see the module docs).
fn visit_key(visit_id: &Option<String>, client_id: &Option<String>) -> Option<String> {
    match (visit_id, client_id) {
        (Some(v), _) => Some(format!("v:{v}")),
        (None, Some(c)) => Some(format!("c:{c}")),
        (None, None) => None,
    }
}

/// The path of a URL without query or fragment, `/index.html` read as `/`.
pub fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path_start = if url.contains("://") {
        after_scheme.find('/').unwrap_or(after_scheme.len())
    } else {
        0
    };
    let path = &after_scheme[path_start..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    normalise_path(if path.is_empty() { "/" } else { path })
}

fn normalise_path(p: &str) -> String {
    p.strip_suffix("index.html").unwrap_or(p).to_string()
}

/// What the report reads from an event's JSON: its attribution (None when
/// missing or unreadable) and whether it is a primary conversion.
fn from_json(json: &str) -> (Option<Attribution>, bool) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let attribution = v
        .get("attribution")
        .and_then(|a| Attribution::deserialize(a).ok());
    let primary = v
        .get("primary")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    (attribution, primary)
}

/// Events in time order (ID breaks ties), the order a visit is walked in.
fn in_time_order(mut rows: Vec<EventRow>) -> Vec<EventRow> {
    rows.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
    rows
}

struct PageView {
    key: Option<String>,
    ts: i64,
    path: String,
    client_id: Option<String>,
    attribution: Option<Attribution>,
}

impl PageView {
    fn of(r: EventRow) -> PageView {
        PageView {
            key: visit_key(&r.visit_id, &r.client_id),
            ts: r.ts,
            path: path_of(r.url.as_deref().unwrap_or_default()),
            client_id: r.client_id,
            attribution: from_json(&r.json).0,
        }
    }
}

struct Conversion {
    ts: i64,
    goal: String,
    primary: bool,
    value: Option<f64>,
    currency: Option<String>,
    client_id: Option<String>,
    key: Option<String>,
    attribution: Option<Attribution>,
}

impl Conversion {
    fn of(r: EventRow) -> Conversion {
        let (attribution, primary) = from_json(&r.json);
        Conversion {
            ts: r.ts,
            goal: r.goal.unwrap_or_else(|| "(no goal)".into()),
            primary,
            value: r.value,
            currency: r.currency.map(|c| c.to_ascii_uppercase()),
            key: visit_key(&r.visit_id, &r.client_id),
            client_id: r.client_id,
            attribution,
        }
    }
}

struct Visit {
    landing: String,
    source: Option<SourceKey>,
    /// Funnel steps reached in order.
    reached: usize,
}

/// Visits by key, from page views in time order; and the page views without
/// any ID, which no visit can hold.
struct Visits<'a> {
    by_key: HashMap<&'a str, Visit>,
    without_id: u64,
}

fn visits<'a>(page_views: &'a [PageView], funnel: &[String]) -> Visits<'a> {
    let funnel_steps: Vec<String> = funnel.iter().map(|s| normalise_path(s)).collect();
    let mut by_key: HashMap<&str, Visit> = HashMap::new();
    let mut without_id = 0u64;
    for pv in page_views {
        let Some(key) = pv.key.as_deref() else {
            without_id += 1;
            continue;
        };
        let v = by_key.entry(key).or_insert_with(|| Visit {
            landing: pv.path.clone(),
            source: None,
            reached: 0,
        });
        if v.source.is_none() && pv.attribution.is_some() {
            v.source = Some(SourceKey::of(pv.attribution.as_ref()));
        }
        if funnel_steps.get(v.reached) == Some(&pv.path) {
            v.reached += 1;
        }
    }
    Visits { by_key, without_id }
}

/// Goals, primary first, then by conversions and name.
fn goals(conversions: &[Conversion]) -> Vec<GoalRow> {
    #[derive(Default)]
    struct GoalAcc {
        primary: bool,
        n: u64,
        clients: BTreeSet<String>,
        without_id: u64,
        sums: Sums,
    }
    let mut goals: BTreeMap<&str, GoalAcc> = BTreeMap::new();
    for c in conversions {
        let g = goals.entry(&c.goal).or_default();
        g.n += 1;
        g.primary |= c.primary;
        match &c.client_id {
            Some(id) => drop(g.clients.insert(id.clone())),
            None => g.without_id += 1,
        }
        g.sums.add(&c.currency, c.value);
    }
    let mut rows: Vec<GoalRow> = goals
        .into_iter()
        .map(|(goal, g)| GoalRow {
            goal: goal.to_string(),
            primary: g.primary,
            conversions: g.n,
            unique_visitors: g.clients.len() as u64,
            conversions_without_id: g.without_id,
            values: g.sums.money(),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.primary
            .cmp(&a.primary)
            .then(b.conversions.cmp(&a.conversions))
            .then(a.goal.cmp(&b.goal))
    });
    rows
}

/// Sources: visits by their landing attribution, conversions by their own.
fn sources(visits: &Visits, conversions: &[Conversion]) -> Vec<SourceRow> {
    #[derive(Default)]
    struct SourceAcc {
        visits: u64,
        conversions: u64,
        primary: u64,
        sums: Sums,
    }
    let mut sources: HashMap<SourceKey, SourceAcc> = HashMap::new();
    for v in visits.by_key.values() {
        sources
            .entry(v.source.clone().unwrap_or_default())
            .or_default()
            .visits += 1;
    }
    for c in conversions {
        let s = sources
            .entry(SourceKey::of(c.attribution.as_ref()))
            .or_default();
        s.conversions += 1;
        s.primary += u64::from(c.primary);
        s.sums.add(&c.currency, c.value);
    }
    let mut rows: Vec<SourceRow> = sources
        .into_iter()
        .map(|(key, s)| SourceRow {
            source: key.label(),
            key,
            visits: s.visits,
            conversions: s.conversions,
            primary_conversions: s.primary,
            values: s.sums.money(),
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.conversions, b.visits)
            .cmp(&(a.conversions, a.visits))
            .then_with(|| a.source.cmp(&b.source))
    });
    rows
}

/// Landing pages: visits that began there, and the conversions in those visits.
fn landing_pages(visits: &Visits, conversions: &[Conversion]) -> Vec<LandingRow> {
    let mut landing: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for v in visits.by_key.values() {
        landing.entry(&v.landing).or_default().0 += 1;
    }
    for c in conversions {
        if let Some(v) = c.key.as_deref().and_then(|k| visits.by_key.get(k)) {
            landing.entry(&v.landing).or_default().1 += 1;
        }
    }
    let mut rows: Vec<LandingRow> = landing
        .into_iter()
        .map(|(path, (visits, conversions))| LandingRow {
            path: path.to_string(),
            visits,
            conversions,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.visits
            .cmp(&a.visits)
            .then(b.conversions.cmp(&a.conversions))
            .then(a.path.cmp(&b.path))
    });
    rows
}

fn funnel(steps: &[String], visits: &Visits) -> Funnel {
    let mut out = Vec::with_capacity(steps.len());
    let mut before: Option<u64> = None;
    for (i, path) in steps.iter().enumerate() {
        let n = visits.by_key.values().filter(|v| v.reached > i).count() as u64;
        let (drop_off, rate) = match before {
            None => (0, 1.0),
            Some(0) => (0, 0.0),
            Some(b) => (b - n, ((n as f64 / b as f64) * 1e4).round() / 1e4),
        };
        out.push(FunnelStep {
            path: path.clone(),
            visits: n,
            drop_off,
            rate,
        });
        before = Some(n);
    }
    Funnel {
        steps: out,
        page_views_without_id: visits.without_id,
    }
}

/// Every day of the range, days without data included.
fn daily(q: &Query, page_views: &[PageView], conversions: &[Conversion]) -> Vec<Day> {
    let days = (q.to - q.from + 1) as usize;
    let mut page_view_count = vec![0u64; days];
    let mut conversion_count = vec![0u64; days];
    let mut sums: Vec<Sums> = (0..days).map(|_| Sums::default()).collect();
    let index = |ts: i64| (dates::day_of_ms(ts) - q.from) as usize;
    for pv in page_views {
        page_view_count[index(pv.ts)] += 1;
    }
    for c in conversions {
        conversion_count[index(c.ts)] += 1;
        sums[index(c.ts)].add(&c.currency, c.value);
    }
    (0..days)
        .map(|i| Day {
            date: dates::format_date(q.from + i as i64),
            page_views: page_view_count[i],
            conversions: conversion_count[i],
            values: sums[i].money(),
        })
        .collect()
}

fn totals(page_views: &[PageView], conversions: &[Conversion], visits: &Visits) -> Totals {
    let clients: BTreeSet<&str> = page_views
        .iter()
        .filter_map(|p| p.client_id.as_deref())
        .chain(conversions.iter().filter_map(|c| c.client_id.as_deref()))
        .collect();
    let primary = conversions.iter().filter(|c| c.primary).count() as u64;
    let mut sums = Sums::default();
    for c in conversions {
        sums.add(&c.currency, c.value);
    }
    Totals {
        page_views: page_views.len() as u64,
        visits: visits.by_key.len() as u64,
        unique_visitors: clients.len() as u64,
        conversions: conversions.len() as u64,
        primary_conversions: primary,
        secondary_conversions: conversions.len() as u64 - primary,
        values: sums.money(),
    }
}

fn data_quality(rows: &Rows, visits: &Visits, conversions: &[Conversion]) -> DataQuality {
    let b = rows.batches;
    DataQuality {
        batches: b.batches,
        duplicates_absorbed: b.duplicates,
        retried_batches: b.retried,
        dropped_overflow: b.dropped_overflow,
        dropped_poison: b.dropped_poison,
        dropped_expired: b.dropped_expired,
        rejected_bodies: rows.rejected_bodies,
        page_views_without_id: visits.without_id,
        conversions_without_client_id: conversions.iter().filter(|c| c.client_id.is_none()).count()
            as u64,
    }
}

/// Imported rows by goal (in name order) and stage (in the order they first
/// occur in time), matched to online conversions by transaction ID.
fn imports(mut rows: Vec<ImportRow>) -> Vec<ImportGoal> {
    rows.sort_by(|a, b| {
        a.goal
            .cmp(&b.goal)
            .then(a.ts.cmp(&b.ts))
            .then_with(|| a.stage.cmp(&b.stage))
    });
    /// (stage, rows, matched, value sums)
    type Stage = (String, u64, u64, Sums);
    let mut goals: Vec<(String, Vec<Stage>)> = Vec::new();
    for row in rows {
        if goals.last().map(|g| &g.0) != Some(&row.goal) {
            goals.push((row.goal.clone(), Vec::new()));
        }
        let stages = &mut goals.last_mut().expect("pushed above").1;
        let i = match stages.iter().position(|s| s.0 == row.stage) {
            Some(i) => i,
            None => {
                stages.push((row.stage.clone(), 0, 0, Sums::default()));
                stages.len() - 1
            }
        };
        let s = &mut stages[i];
        s.1 += 1;
        s.2 += u64::from(row.matched);
        s.3.add(&row.currency, row.value);
    }
    goals
        .into_iter()
        .map(|(goal, stages)| ImportGoal {
            goal,
            stages: stages
                .into_iter()
                .map(|(stage, rows, matched, sums)| ImportStage {
                    stage,
                    rows,
                    matched,
                    unmatched: rows - matched,
                    values: sums.money(),
                })
                .collect(),
        })
        .collect()
}

/// The report on `site` for `q` from what a store read: every number is
/// defined here, once, whichever store the rows came from.
pub fn from_rows(q: &Query, site: &str, mut rows: Rows) -> Report {
    let page_views: Vec<PageView> = in_time_order(std::mem::take(&mut rows.page_views))
        .into_iter()
        .map(PageView::of)
        .collect();
    let conversions: Vec<Conversion> = in_time_order(std::mem::take(&mut rows.conversions))
        .into_iter()
        .map(Conversion::of)
        .collect();
    let visits = visits(&page_views, &q.funnel);
    Report {
        site: site.to_string(),
        from: dates::format_date(q.from),
        to: dates::format_date(q.to),
        totals: totals(&page_views, &conversions, &visits),
        goals: goals(&conversions),
        sources: sources(&visits, &conversions),
        landing_pages: landing_pages(&visits, &conversions),
        funnel: funnel(&q.funnel, &visits),
        daily: daily(q, &page_views, &conversions),
        data_quality: data_quality(&rows, &visits, &conversions),
        imports: imports(std::mem::take(&mut rows.imports)),
    }
}

/// The whole report for `q` from `store`. Without a site, the database's only
/// site is used; with several, the caller must choose (the error lists them).
pub async fn build(store: &dyn Store, q: &Query) -> Result<Report, ReportError> {
    let site = match &q.site {
        Some(s) => s.clone(),
        None => {
            let all = store.sites().await.map_err(ReportError::Db)?;
            match all.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ReportError::Bad(
                        "site: required (no events stored yet)".into(),
                    ))
                }
                _ => {
                    return Err(ReportError::Bad(format!(
                        "site: required; sites with events: {}",
                        all.join(", ")
                    )))
                }
            }
        }
    };
    let (start, end) = (q.from * DAY_MS, (q.to + 1) * DAY_MS);
    let rows = store
        .report_rows(&site, start, end)
        .await
        .map_err(ReportError::Db)?;
    Ok(from_rows(q, &site, rows))
}

/// Extra `goaltag-collector report --help` text.
pub const CLI_MANUAL: &str = "\
The same report as GET /report?site=…&from=…&to=…&funnel=… and /dashboard,
read from the database (a SQLite file read-only, so it can run beside the
collector; or a postgres:// URL), changing nothing in it.

DEFINITIONS
  Days are UTC; from and to are both included. A visit is the page views
  sharing a visit ID (or a client ID when there is none); events without any
  ID (no consent) count as page views and conversions but not as visits or
  in the funnel. A funnel step counts visits that viewed the steps before it
  in order.

EXAMPLES
  goaltag-collector report --db data/events.db --site demo-shop
  goaltag-collector report --site demo-shop --from 2024-03-01 --to 2024-03-31 \\
      --funnel /,/product.html,/cart.html,/checkout/confirmation.html
  goaltag-collector report --site demo-shop --json | jq .totals
  goaltag-collector report --db postgres://goaltag@db.internal/goaltag --site demo-shop";

/// `goaltag-collector report`: the report for `params` from `db` as text (or JSON).
pub async fn cli<'a>(db: &Database, params: impl IntoIterator<Item = (&'a str, &'a str)>, json: bool) -> anyhow::Result<String> {
    let today = dates::day_of_ms(crate::store::now_ms());
    let q = Query::parse(params, today).map_err(anyhow::Error::msg)?;
    let store = crate::store::open_for_reports(db).await?;
    let r = build(&*store, &q).await?;
    Ok(if json { serde_json::to_string_pretty(&r)? + "\n" } else { text(&r) })
}

// ---- The terminal rendering -------------------------------------------------

fn money_text(values: &[Money]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let parts: Vec<String> = values
        .iter()
        .map(|m| format!("{:.2} {}", m.value, m.currency.as_deref().unwrap_or("(no currency)")))
        .collect();
    parts.join(", ")
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A table with a header line; columns after the first are right-aligned
/// when every cell in them is a number.
fn table(out: &mut String, title: &str, header: &[&str], rows: &[Vec<String>]) {
    out.push_str(&format!("\n{title}\n"));
    if rows.is_empty() {
        out.push_str("  (none)\n");
        return;
    }
    let cols = header.len();
    let width: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0))
        .collect();
    let numeric: Vec<bool> = (0..cols)
        .map(|i| i > 0 && rows.iter().all(|r| r[i].trim_end_matches('%').parse::<f64>().is_ok()))
        .collect();
    let line = |cells: Vec<&str>| {
        let s: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| if numeric[i] { format!("{c:>w$}", w = width[i]) } else { format!("{c:<w$}", w = width[i]) })
            .collect();
        format!("  {}\n", s.join("  ").trim_end())
    };
    out.push_str(&line(header.to_vec()));
    out.push_str(&format!("  {}\n", width.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  ")));
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
}

/// The report as plain-text tables for a terminal.
pub fn text(r: &Report) -> String {
    let t = &r.totals;
    let mut out = format!(
        "goaltag report for {} from {} to {} (UTC)\n\n  page views {}  visits {}  unique visitors {}\n  conversions {} ({} primary, {} secondary)  value {}\n",
        r.site, r.from, r.to, t.page_views, t.visits, t.unique_visitors, t.conversions, t.primary_conversions,
        t.secondary_conversions, money_text(&t.values)
    );
    let goals: Vec<Vec<String>> = r
        .goals
        .iter()
        .map(|g| {
            vec![
                g.goal.clone(),
                if g.primary { "primary" } else { "secondary" }.into(),
                g.conversions.to_string(),
                g.unique_visitors.to_string(),
                g.conversions_without_id.to_string(),
                money_text(&g.values),
            ]
        })
        .collect();
    table(&mut out, "Goals", &["goal", "kind", "conversions", "visitors", "no ID", "value"], &goals);
    let sources: Vec<Vec<String>> = r
        .sources
        .iter()
        .map(|s| {
            vec![s.source.clone(), s.visits.to_string(), s.conversions.to_string(), s.primary_conversions.to_string(), money_text(&s.values)]
        })
        .collect();
    table(&mut out, "Sources", &["source", "visits", "conversions", "primary", "value"], &sources);
    let landing: Vec<Vec<String>> =
        r.landing_pages.iter().map(|l| vec![l.path.clone(), l.visits.to_string(), l.conversions.to_string()]).collect();
    table(&mut out, "Landing pages", &["path", "visits", "conversions"], &landing);
    let funnel: Vec<Vec<String>> = r
        .funnel
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| vec![format!("{}. {}", i + 1, s.path), s.visits.to_string(), s.drop_off.to_string(), percent(s.rate)])
        .collect();
    table(&mut out, "Funnel (visits)", &["step", "visits", "drop-off", "of previous"], &funnel);
    if r.funnel.page_views_without_id > 0 {
        out.push_str(&format!(
            "  {} page views had no visit or client ID (no consent) and are not in visits, landing pages or the funnel\n",
            r.funnel.page_views_without_id
        ));
    }
    let imports: Vec<Vec<String>> = r
        .imports
        .iter()
        .flat_map(|g| {
            g.stages.iter().map(|s| {
                vec![g.goal.clone(), s.stage.clone(), s.rows.to_string(), s.matched.to_string(), s.unmatched.to_string(), money_text(&s.values)]
            })
        })
        .collect();
    table(&mut out, "Offline conversions (imported)", &["goal", "stage", "rows", "matched", "unmatched", "value"], &imports);
    let days: Vec<Vec<String>> = r
        .daily
        .iter()
        .filter(|d| d.page_views > 0 || d.conversions > 0)
        .map(|d| vec![d.date.clone(), d.page_views.to_string(), d.conversions.to_string(), money_text(&d.values)])
        .collect();
    table(&mut out, "Daily (days with data)", &["date", "page views", "conversions", "value"], &days);
    let q = &r.data_quality;
    let quality = vec![
        vec!["batches received".to_string(), q.batches.to_string()],
        vec!["duplicates absorbed".into(), q.duplicates_absorbed.to_string()],
        vec!["retried batches".into(), q.retried_batches.to_string()],
        vec!["dropped by the tag: overflow".into(), q.dropped_overflow.to_string()],
        vec!["dropped by the tag: refused".into(), q.dropped_poison.to_string()],
        vec!["dropped by the tag: expired".into(), q.dropped_expired.to_string()],
        vec!["bodies rejected (all sites)".into(), q.rejected_bodies.to_string()],
        vec!["page views without ID".into(), q.page_views_without_id.to_string()],
        vec!["conversions without client ID".into(), q.conversions_without_client_id.to_string()],
    ];
    table(&mut out, "Data quality", &["figure", "count"], &quality);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_defaults_and_refusals() {
        let today = dates::parse_date("2024-03-31").unwrap();
        let q = Query::parse([], today).unwrap();
        assert_eq!((dates::format_date(q.from), dates::format_date(q.to)), ("2024-03-02".into(), "2024-03-31".into()));
        assert_eq!(q.funnel.len(), DEFAULT_FUNNEL.len());
        let q = Query::parse([("site", "s"), ("from", "2024-01-01"), ("to", "2024-01-01"), ("funnel", "/a, /b")], today).unwrap();
        assert_eq!((q.site.as_deref(), q.from, q.to, q.funnel), (Some("s"), q.to, q.to, vec!["/a".to_string(), "/b".into()]));
        let err = |p: &[(&str, &str)]| Query::parse(p.iter().copied(), today).unwrap_err();
        assert!(err(&[("from", "2024-02-30")]).starts_with("from: expected a date"));
        assert!(err(&[("from", "2024-02-02"), ("to", "2024-02-01")]).contains("after"));
        assert!(err(&[("from", "2000-01-01")]).contains("at most"));
        assert!(err(&[("funnel", "cart.html")]).contains("not a path"));
        assert!(err(&[("form", "2024-01-01")]).contains("unknown parameter \"form\""));
    }

    #[test]
    fn paths_and_source_labels() {
        assert_eq!(path_of("https://s.example/p.html?id=3#x"), "/p.html");
        assert_eq!(path_of("https://s.example"), "/");
        assert_eq!(path_of("http://127.0.0.1:8080/index.html"), "/");
        assert_eq!(path_of("https://s.example/checkout/index.html"), "/checkout/");
        let mut a = Attribution::default();
        assert_eq!(SourceKey::of(Some(&a)).label(), "direct");
        a.click_ids.insert("fbclid".into(), "x".into());
        a.click_ids.insert("gclid".into(), "y".into());
        a.utm.insert("utm_source".into(), "google".into());
        a.utm.insert("utm_medium".into(), "cpc".into());
        a.utm.insert("utm_campaign".into(), "spring".into());
        assert_eq!(SourceKey::of(Some(&a)).label(), "Google · google / cpc · spring");
        let b = Attribution { referrer_host: Some("news.example".into()), ..Default::default() };
        assert_eq!(SourceKey::of(Some(&b)).label(), "news.example");
        let c = Attribution { click_ids: [("dclid".to_string(), "1".to_string())].into(), ..Default::default() };
        assert_eq!(SourceKey::of(Some(&c)).network.as_deref(), Some("dclid"));
    }
}
