//! The report, section by section: from the rows a store read
//! ([`super::Rows`]) to the figures of a [`super::Report`]. Everything a
//! number means is decided here, once, for every store.

use super::*;
use crate::dates;
use goaltag_wire::Attribution;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
        let mut out: Vec<Money> = self.0.iter().map(|(c, v)| Money { currency: c.clone(), value: (v * 1e6).round() / 1e6 }).collect();
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
    let path_start = if url.contains("://") { after_scheme.find('/').unwrap_or(after_scheme.len()) } else { 0 };
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
    /// The two members, read without building the rest of the event: other
    /// members are skipped, so a report on many events parses fast.
    #[derive(Deserialize)]
    struct Parts {
        #[serde(default)]
        attribution: Option<Attribution>,
        #[serde(default)]
        primary: Option<bool>,
    }
    if let Ok(p) = serde_json::from_str::<Parts>(json) {
        return (p.attribution, p.primary.unwrap_or(false));
    }
    // Something unreadable (an attribution of another shape): read what can be read.
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let attribution = v.get("attribution").and_then(|a| Attribution::deserialize(a).ok());
    let primary = v.get("primary").and_then(serde_json::Value::as_bool).unwrap_or(false);
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
    user_data: Option<goaltag_wire::UserData>,
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
            user_data: r.user_data.as_deref().and_then(|u| serde_json::from_str(u).ok()),
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
        let v = by_key.entry(key).or_insert_with(|| Visit { landing: pv.path.clone(), source: None, reached: 0 });
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
    rows.sort_by(|a, b| b.primary.cmp(&a.primary).then(b.conversions.cmp(&a.conversions)).then(a.goal.cmp(&b.goal)));
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
        primary_sums: Sums,
    }
    let mut sources: HashMap<SourceKey, SourceAcc> = HashMap::new();
    for v in visits.by_key.values() {
        sources.entry(v.source.clone().unwrap_or_default()).or_default().visits += 1;
    }
    for c in conversions {
        let s = sources.entry(SourceKey::of(c.attribution.as_ref())).or_default();
        s.conversions += 1;
        s.primary += u64::from(c.primary);
        s.sums.add(&c.currency, c.value);
        if c.primary {
            s.primary_sums.add(&c.currency, c.value);
        }
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
            primary_values: s.primary_sums.money(),
        })
        .collect();
    rows.sort_by(|a, b| (b.conversions, b.visits).cmp(&(a.conversions, a.visits)).then_with(|| a.source.cmp(&b.source)));
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
    let mut rows: Vec<LandingRow> =
        landing.into_iter().map(|(path, (visits, conversions))| LandingRow { path: path.to_string(), visits, conversions }).collect();
    rows.sort_by(|a, b| b.visits.cmp(&a.visits).then(b.conversions.cmp(&a.conversions)).then(a.path.cmp(&b.path)));
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
        out.push(FunnelStep { path: path.clone(), visits: n, drop_off, rate });
        before = Some(n);
    }
    Funnel { steps: out, page_views_without_id: visits.without_id }
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
    let clients: BTreeSet<&str> =
        page_views.iter().filter_map(|p| p.client_id.as_deref()).chain(conversions.iter().filter_map(|c| c.client_id.as_deref())).collect();
    let primary = conversions.iter().filter(|c| c.primary).count() as u64;
    let (mut sums, mut primary_sums) = (Sums::default(), Sums::default());
    for c in conversions {
        sums.add(&c.currency, c.value);
        if c.primary {
            primary_sums.add(&c.currency, c.value);
        }
    }
    Totals {
        page_views: page_views.len() as u64,
        visits: visits.by_key.len() as u64,
        unique_visitors: clients.len() as u64,
        conversions: conversions.len() as u64,
        primary_conversions: primary,
        secondary_conversions: conversions.len() as u64 - primary,
        values: sums.money(),
        primary_values: primary_sums.money(),
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
        dropped_consent: b.dropped_consent,
        rejected_bodies: rows.rejected_bodies,
        page_views_without_id: visits.without_id,
        conversions_without_client_id: conversions.iter().filter(|c| c.client_id.is_none()).count() as u64,
    }
}

/// Imported rows by goal (in name order) and stage (in the order they first
/// occur in time), matched to online conversions by transaction ID.
fn imports(mut rows: Vec<ImportRow>) -> Vec<ImportGoal> {
    rows.sort_by(|a, b| a.goal.cmp(&b.goal).then(a.ts.cmp(&b.ts)).then_with(|| a.stage.cmp(&b.stage)));
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
                .map(|(stage, rows, matched, sums)| ImportStage { stage, rows, matched, unmatched: rows - matched, values: sums.money() })
                .collect(),
        })
        .collect()
}

/// The ad networks the exports go to: platform, name, click-ID parameters,
/// and its part of a conversion's hashed match keys.
type Network = (&'static str, &'static str, &'static [&'static str], fn(&goaltag_wire::UserData) -> &goaltag_wire::Map);
const NETWORKS: [Network; 3] = [
    ("microsoft-ads", "Microsoft Advertising", &["msclkid"], |u| &u.microsoft),
    ("google-ads", "Google Ads", &["gclid", "wbraid", "gbraid"], |u| &u.google),
    ("meta", "Meta", &["fbclid"], |u| &u.meta),
];

/// Per network, the primary conversions by the best match key they carry:
/// its click ID, else its hashed email or phone, else neither.
fn match_keys(conversions: &[Conversion]) -> Vec<MatchKeys> {
    NETWORKS
        .iter()
        .map(|(platform, network, params, part)| {
            let mut row = MatchKeys { platform, network, click_id: 0, hashed_email_or_phone: 0, neither: 0 };
            for c in conversions.iter().filter(|c| c.primary) {
                let click =
                    c.attribution.as_ref().is_some_and(|a| params.iter().any(|p| a.click_ids.get(p).is_some_and(|v| !v.is_empty())));
                let hashed = c.user_data.as_ref().is_some_and(|u| part(u).contains_key("em") || part(u).contains_key("ph"));
                if click {
                    row.click_id += 1;
                } else if hashed {
                    row.hashed_email_or_phone += 1;
                } else {
                    row.neither += 1;
                }
            }
            row
        })
        .collect()
}

/// The report on `site` for `q` from what a store read: every number is
/// defined here, once, whichever store the rows came from.
pub fn from_rows(q: &Query, site: &str, mut rows: Rows) -> Report {
    let page_views: Vec<PageView> = in_time_order(std::mem::take(&mut rows.page_views)).into_iter().map(PageView::of).collect();
    let conversions: Vec<Conversion> = in_time_order(std::mem::take(&mut rows.conversions)).into_iter().map(Conversion::of).collect();
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
        match_keys: match_keys(&conversions),
        imports: imports(std::mem::take(&mut rows.imports)),
        attribution: None,
    }
}
