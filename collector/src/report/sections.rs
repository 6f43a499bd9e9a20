//! The report, section by section: from the rows a store read
//! ([`super::Rows`]) to the figures of a [`super::Report`]. Everything a
//! number means is decided here, once, for every store.

use super::*;
use crate::dates;
use crate::model::report::{Event, Events, FastMap, NONE};
use std::collections::{BTreeMap, HashMap, HashSet};

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

/// The key that ties a visit's events together (see the module docs):
/// (true, visit ID) or (false, client ID), as indices into the events' strings.
fn visit_key(e: &Event) -> Option<(bool, u32)> {
    match (e.visit, e.client) {
        (NONE, NONE) => None,
        (NONE, c) => Some((false, c)),
        (v, _) => Some((true, v)),
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

struct Visit {
    /// Index into [`Paths`]: where the visit landed (see [`visits`]).
    landing: u32,
    /// The attribution of its first page view carrying one ([`NONE`]: none yet).
    source: u32,
    /// Funnel steps reached in order.
    reached: usize,
}

/// Page paths by URL, each computed once.
#[derive(Default)]
struct Paths {
    by_url: FastMap<u32, u32>,
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Paths {
    fn of(&mut self, events: &Events, url: u32) -> u32 {
        if let Some(&p) = self.by_url.get(&url) {
            return p;
        }
        let p = self.of_text(events.string(url).unwrap_or_default());
        self.by_url.insert(url, p);
        p
    }

    /// The index of the path of `url`, a URL the events do not intern (an
    /// attribution's `landing_url`).
    fn of_text(&mut self, url: &str) -> u32 {
        let path = path_of(url);
        let n = self.names.len() as u32;
        let p = *self.index.entry(path.clone()).or_insert(n);
        if p == n {
            self.names.push(path);
        }
        p
    }
}

/// Visits by key, from page views in time order; and the page views without
/// any ID, which no visit can hold. A visit landed on the page of its first
/// page view, or, when that view carries a campaign touch, on the touch's
/// `landing_url`: the tag records a landing page it did not see (left before
/// the tag listened, or consented to only on the next page) as the next
/// page's view with the landing page's URL there.
struct Visits {
    by_key: FastMap<(bool, u32), Visit>,
    paths: Paths,
    without_id: u64,
}

fn visits(events: &Events, page_views: &[&Event], funnel: &[String]) -> Visits {
    let funnel_steps: Vec<String> = funnel.iter().map(|s| normalise_path(s)).collect();
    let mut by_key: FastMap<(bool, u32), Visit> = FastMap::default();
    let mut paths = Paths::default();
    let mut without_id = 0u64;
    for pv in page_views {
        let Some(key) = visit_key(pv) else {
            without_id += 1;
            continue;
        };
        let path = paths.of(events, pv.url);
        let v = by_key.entry(key).or_insert_with(|| {
            let touch = events.attribution(pv.attribution).and_then(|a| a.landing_url.as_deref());
            Visit { landing: touch.map_or(path, |u| paths.of_text(u)), source: NONE, reached: 0 }
        });
        if v.source == NONE {
            v.source = pv.attribution;
        }
        if funnel_steps.get(v.reached) == Some(&paths.names[path as usize]) {
            v.reached += 1;
        }
    }
    Visits { by_key, paths, without_id }
}

/// Goals, primary first, then by conversions and name.
fn goals(events: &Events, conversions: &[&Event]) -> Vec<GoalRow> {
    #[derive(Default)]
    struct GoalAcc {
        primary: bool,
        n: u64,
        clients: HashSet<u32>,
        without_id: u64,
        sums: Sums,
    }
    let mut goals: BTreeMap<&str, GoalAcc> = BTreeMap::new();
    for c in conversions {
        let g = goals.entry(events.string(c.goal).unwrap_or("(no goal)")).or_default();
        g.n += 1;
        g.primary |= c.primary;
        match c.client {
            NONE => g.without_id += 1,
            id => drop(g.clients.insert(id)),
        }
        g.sums.add(&currency(events, c), c.value);
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
fn sources(events: &Events, visits: &Visits, conversions: &[&Event]) -> Vec<SourceRow> {
    #[derive(Default)]
    struct SourceAcc {
        visits: u64,
        conversions: u64,
        primary: u64,
        sums: Sums,
        primary_sums: Sums,
    }
    // Sources by attribution, each worked out once.
    let mut keys: HashMap<u32, SourceKey> = HashMap::new();
    let mut key = |a: u32| keys.entry(a).or_insert_with(|| SourceKey::of(events.attribution(a))).clone();
    let mut sources: HashMap<SourceKey, SourceAcc> = HashMap::new();
    let mut visits_by_source: HashMap<u32, u64> = HashMap::new();
    for v in visits.by_key.values() {
        *visits_by_source.entry(v.source).or_default() += 1;
    }
    for (a, n) in visits_by_source {
        sources.entry(key(a)).or_default().visits += n;
    }
    for c in conversions {
        let s = sources.entry(key(c.attribution)).or_default();
        let cur = currency(events, c);
        s.conversions += 1;
        s.primary += u64::from(c.primary);
        s.sums.add(&cur, c.value);
        if c.primary {
            s.primary_sums.add(&cur, c.value);
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
fn landing_pages(visits: &Visits, conversions: &[&Event]) -> Vec<LandingRow> {
    let mut landing: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for v in visits.by_key.values() {
        landing.entry(&visits.paths.names[v.landing as usize]).or_default().0 += 1;
    }
    for c in conversions {
        if let Some(v) = visit_key(c).and_then(|k| visits.by_key.get(&k)) {
            landing.entry(&visits.paths.names[v.landing as usize]).or_default().1 += 1;
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
fn daily(q: &Query, events: &Events, page_views: &[&Event], conversions: &[&Event]) -> Vec<Day> {
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
        sums[index(c.ts)].add(&currency(events, c), c.value);
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

fn totals(events: &Events, page_views: &[&Event], conversions: &[&Event], visits: &Visits) -> Totals {
    let clients: HashSet<u32> = page_views.iter().chain(conversions).map(|e| e.client).filter(|&c| c != NONE).collect();
    let primary = conversions.iter().filter(|c| c.primary).count() as u64;
    let (mut sums, mut primary_sums) = (Sums::default(), Sums::default());
    for c in conversions {
        let cur = currency(events, c);
        sums.add(&cur, c.value);
        if c.primary {
            primary_sums.add(&cur, c.value);
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

fn data_quality(rows: &Rows, visits: &Visits, conversions: &[&Event]) -> DataQuality {
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
        conversions_without_client_id: conversions.iter().filter(|c| c.client == NONE).count() as u64,
    }
}

/// Imported rows by goal (in name order) and stage (in the order they first
/// occur in time), matched to online conversions by transaction ID.
fn imports(rows: &[ImportRow]) -> Vec<ImportGoal> {
    let mut rows: Vec<&ImportRow> = rows.iter().collect();
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

/// A conversion's currency (upper-cased when read).
fn currency(events: &Events, c: &Event) -> Option<String> {
    events.string(c.currency).map(String::from)
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
fn match_keys(events: &Events, conversions: &[&Event]) -> Vec<MatchKeys> {
    NETWORKS
        .iter()
        .map(|(platform, network, params, part)| {
            let mut row = MatchKeys { platform, network, click_id: 0, hashed_email_or_phone: 0, neither: 0 };
            for c in conversions.iter().filter(|c| c.primary) {
                let click = events
                    .attribution(c.attribution)
                    .is_some_and(|a| params.iter().any(|p| a.click_ids.get(p).is_some_and(|v| !v.is_empty())));
                let hashed = events.user_data(c.user_data).is_some_and(|u| part(u).contains_key("em") || part(u).contains_key("ph"));
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
/// defined here, once, whichever store the rows came from. Only the events
/// of the range count (the rows may reach back further, for attribution).
pub fn from_rows(q: &Query, site: &str, rows: &Rows) -> Report {
    let events = &rows.events;
    let in_range = events.between(q.from * dates::DAY_MS, (q.to + 1) * dates::DAY_MS);
    let (conversions, page_views): (Vec<&Event>, Vec<&Event>) = in_range.iter().partition(|e| e.conversion);
    let visits = visits(events, &page_views, &q.funnel);
    Report {
        site: site.to_string(),
        from: dates::format_date(q.from),
        to: dates::format_date(q.to),
        totals: totals(events, &page_views, &conversions, &visits),
        goals: goals(events, &conversions),
        sources: sources(events, &visits, &conversions),
        landing_pages: landing_pages(&visits, &conversions),
        funnel: funnel(&q.funnel, &visits),
        daily: daily(q, events, &page_views, &conversions),
        data_quality: data_quality(rows, &visits, &conversions),
        match_keys: match_keys(events, &conversions),
        imports: imports(&rows.imports),
        attribution: None,
    }
}
