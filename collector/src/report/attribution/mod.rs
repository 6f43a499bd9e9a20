//! Attribution: which network, campaign, ad group and keyword earned the
//! primary conversions, under one of seven models ([`Model`]), against what
//! they cost (spend imported per day), as the report's `attribution` object.
//!
//! - [`channel`]: what a touch is called at each level;
//! - [`path`]: a conversion's touches within the lookback;
//! - [`models`]: the rule models' shares of one conversion;
//! - [`markov`]: `data_driven`, the exact Markov removal effect.
//!
//! Every primary conversion in the range is credited in full, in fractions
//! that sum to 1 (so the rows' conversions sum to the primary conversions);
//! its value is credited in the same fractions, per currency, never
//! converted. A conversion without a client ID, or whose visitor has no
//! visit in the lookback, has no path: every model credits it to the
//! attribution the tag attached to it.

pub mod channel;
pub mod markov;
pub mod models;
pub mod path;

pub use channel::{Key, Level, Naming, Touch};
pub use models::Model;

use super::Money;
pub use crate::model::attribution::{ConversionTouch, Input, PageViewTouch};
use crate::model::report::{Events, FastMap, NONE};
use path::Visit;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Lookback unless `lookback_days=` says otherwise.
pub const DEFAULT_LOOKBACK_DAYS: i64 = 30;
/// Shortest and longest lookback.
pub const LOOKBACK_DAYS: std::ops::RangeInclusive<i64> = 1..=90;

const DAY_MS: i64 = crate::dates::DAY_MS;

/// What the attribution is asked for (`model=`, `by=`, `lookback_days=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How a conversion's credit is shared.
    pub model: Model,
    /// The level rows are keyed at.
    pub level: Level,
    /// Days before a conversion whose visits make its path (1 to 90).
    pub lookback_days: i64,
    /// Which parameter names the ad group.
    pub naming: Naming,
}

impl Default for Options {
    fn default() -> Self {
        Options { model: Model::default(), level: Level::default(), lookback_days: DEFAULT_LOOKBACK_DAYS, naming: Naming::default() }
    }
}

impl Options {
    /// Reads one parameter into the options: `Ok(true)` when `k` is one of
    /// `model`, `by`, `lookback_days`, `ad_group_param`; an error names the field and what it accepts.
    pub fn parse_param(&mut self, k: &str, v: &str) -> Result<bool, String> {
        let list = |names: &mut dyn Iterator<Item = &str>| names.collect::<Vec<_>>().join(", ");
        match k {
            "model" => {
                self.model = Model::parse(v.trim())
                    .ok_or_else(|| format!("model: {v:?} is not a model; expected one of {}", list(&mut Model::ALL.iter().map(|m| m.1))))?
            }
            "by" => {
                self.level = Level::parse(v.trim())
                    .ok_or_else(|| format!("by: {v:?} is not a level; expected one of {}", list(&mut Level::ALL.iter().map(|l| l.1))))?
            }
            "lookback_days" => {
                self.lookback_days = v.trim().parse::<i64>().ok().filter(|d| LOOKBACK_DAYS.contains(d)).ok_or_else(|| {
                    format!(
                        "lookback_days: expected a whole number of days from {} to {}, got {v:?}",
                        LOOKBACK_DAYS.start(),
                        LOOKBACK_DAYS.end()
                    )
                })?
            }
            "ad_group_param" => {
                let v = v.trim().to_ascii_lowercase();
                if !(v.len() > 4 && v.len() <= 50 && v.starts_with("utm_") && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) {
                    return Err(format!("ad_group_param: expected a utm_* parameter name such as utm_content, got {v:?}"));
                }
                self.naming.ad_group_param = v;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// One day's cost of one spend row, names as the platform wrote them
/// (empty = none).
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// UTC day number since 1970-01-01.
    pub day: i64,
    /// The ad network ("Google", "Microsoft", "Meta", …).
    pub network: String,
    /// The campaign's name.
    pub campaign: String,
    /// The ad group's name ("" = none).
    pub ad_group: String,
    /// The keyword ("" = none).
    pub keyword: String,
    /// ISO 4217 code.
    pub currency: String,
    /// What was spent, in `currency`.
    pub cost: f64,
}

/// The `attribution` object of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The model's `model=` name.
    pub model: String,
    /// The level's `by=` name.
    pub by: String,
    /// The lookback in days.
    pub lookback_days: i64,
    /// One row per key at the level: conversions first, then cost, visits, name.
    pub rows: Vec<Row>,
}

/// One key at the report's level. `campaign`, `ad_group` and `keyword`
/// appear down to the level asked for (`null`: not set for this traffic).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The network (or referrer host, `utm_source`, `direct`).
    pub network: String,
    /// The campaign, from `by=campaign` down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Option<String>>,
    /// The ad group, from `by=ad_group` down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group: Option<Option<String>>,
    /// The keyword, at `by=keyword`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<Option<String>>,
    /// Visits that began in the range with this touch.
    pub visits: u64,
    /// Primary conversions credited (fractional).
    pub conversions: f64,
    /// Their value credited, per currency.
    pub values: Vec<Money>,
    /// Spend on the range's days, per currency; `null` without spend.
    pub cost: Option<Vec<Money>>,
    /// Credited value ÷ cost, per currency of the cost; `null` without spend.
    pub roas: Option<Vec<Money>>,
    /// Cost ÷ credited conversions, per currency; `null` without spend,
    /// empty when nothing was credited.
    pub cpa: Option<Vec<Money>>,
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Report keys by index, each with the first spelling met.
#[derive(Default)]
struct Keys {
    index: HashMap<Key, u32>,
    names: Vec<(Key, Touch)>,
}

impl Keys {
    fn id(&mut self, touch: &Touch, level: Level) -> u32 {
        let key = touch.key(level);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(key.clone(), i);
        self.names.push((key, touch.clone()));
        i
    }
}

/// Credit and cost per key.
#[derive(Default, Clone)]
struct Acc {
    visits: u64,
    conversions: f64,
    values: BTreeMap<Option<String>, f64>,
    cost: BTreeMap<String, f64>,
}

fn money<K: Clone + Into<Option<String>>>(m: &BTreeMap<K, f64>) -> Vec<Money> {
    let mut out: Vec<Money> = m.iter().map(|(c, v)| Money { currency: c.clone().into(), value: round6(*v) }).collect();
    out.sort_by_key(|m| m.currency.is_none());
    out
}

/// The attribution of the primary conversions from day `from` to day `to`
/// (UTC, both included) under `opts`, with `spend`'s cost on those days, from
/// events written out row by row ([`attribute_events`] does the work).
pub fn attribute(opts: &Options, from: i64, to: i64, input: Input, spend: &[Cost]) -> Result<Report, String> {
    attribute_events(opts, from, to, &input.into_events(), spend)
}

/// [`attribute`] on the events a store read (from `from − lookback` on, in
/// time order). Visits and paths hold indices, not names: a visitor, a visit
/// and an attribution are each a number into `events`' tables, and a touch is
/// named at the report's level once per distinct attribution.
pub fn attribute_events(opts: &Options, from: i64, to: i64, events: &Events, spend: &[Cost]) -> Result<Report, String> {
    let (start, end) = (from * DAY_MS, (to + 1) * DAY_MS);
    let lookback = opts.lookback_days * DAY_MS;
    let level = opts.level;
    let mut keys = Keys::default();
    let mut acc: Vec<Acc> = Vec::new();
    let grow = |acc: &mut Vec<Acc>, i: u32| {
        if acc.len() <= i as usize {
            acc.resize(i as usize + 1, Acc::default());
        }
    };
    // Spend first: the platforms' spelling names the rows.
    for c in spend.iter().filter(|c| (from..=to).contains(&c.day)) {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let touch = Touch {
            network: c.network.trim().to_string(),
            campaign: opt(&c.campaign),
            ad_group: opt(&c.ad_group),
            keyword: opt(&c.keyword),
        };
        let i = keys.id(&touch, level);
        grow(&mut acc, i);
        *acc[i as usize].cost.entry(c.currency.trim().to_ascii_uppercase()).or_default() += c.cost;
    }

    // Visits, from page views in time order.
    struct VisitAcc {
        client: u32,
        start: i64,
        touch: u32,
    }
    let rows = events.between(start - lookback, end);
    let mut visit_index: FastMap<(bool, u32), usize> = FastMap::default();
    let mut visits: Vec<VisitAcc> = Vec::new();
    for pv in rows.iter().filter(|e| !e.conversion) {
        let vk = match (pv.visit, pv.client) {
            (NONE, NONE) => continue,
            (NONE, c) => (false, c),
            (v, _) => (true, v),
        };
        let i = *visit_index.entry(vk).or_insert_with(|| {
            visits.push(VisitAcc { client: pv.client, start: pv.ts, touch: NONE });
            visits.len() - 1
        });
        let v = &mut visits[i];
        if v.touch == NONE {
            v.touch = pv.attribution;
        }
        if v.client == NONE {
            v.client = pv.client;
        }
    }
    // The key of each attribution at the level, worked out once.
    let mut key_of: Vec<u32> = vec![NONE; events.attributions()];
    let mut key_of_touch = |keys: &mut Keys, a: u32| -> u32 {
        match key_of.get(a as usize) {
            Some(&k) if k != NONE => k,
            Some(_) => {
                let k = keys.id(&Touch::of(events.attribution(a), &opts.naming), level);
                key_of[a as usize] = k;
                k
            }
            None => keys.id(&Touch::direct(), level),
        }
    };
    let direct = keys.id(&Touch::direct(), level);
    grow(&mut acc, direct);
    let mut visit_keys: Vec<u32> = Vec::with_capacity(visits.len());
    let mut by_client: FastMap<u32, Vec<Visit>> = FastMap::default();
    for v in &visits {
        let k = if v.touch == NONE { direct } else { key_of_touch(&mut keys, v.touch) };
        grow(&mut acc, k);
        visit_keys.push(k);
        if (start..end).contains(&v.start) {
            acc[k as usize].visits += 1;
        }
        if v.client != NONE {
            by_client.entry(v.client).or_default().push(Visit { start: v.start, key: k, direct: k == direct });
        }
    }
    let direct_keys: Vec<bool> = keys.names.iter().map(|(k, _)| k.is_direct()).collect();
    for list in by_client.values_mut() {
        list.sort_by_key(|v| v.start);
        for v in list.iter_mut() {
            v.direct = direct_keys[v.key as usize];
        }
    }

    // Primary conversions in the range, credited.
    let mut chain = markov::Chain::default();
    let mut modelled: (f64, BTreeMap<Option<String>, f64>) = (0.0, BTreeMap::new());
    let mut converted: HashSet<u32> = HashSet::new();
    for c in events.between(start, end).iter().filter(|c| c.conversion && c.primary) {
        let currency = events.string(c.currency).map(String::from);
        let window = by_client.get(&c.client).map_or(&[][..], |v| path::window(v, c.ts, lookback));
        if c.client != NONE {
            converted.insert(c.client);
        }
        let steps = path::path(window);
        let credit: Vec<(u32, f64)> = if steps.is_empty() {
            vec![(key_of_touch(&mut keys, c.attribution), 1.0)]
        } else if opts.model == Model::LastTouch {
            let own = visit_index.get(&(true, c.visit)).filter(|_| c.visit != NONE).map(|&i| visit_keys[i]);
            vec![(own.unwrap_or_else(|| window.last().expect("a path has visits").key), 1.0)]
        } else if opts.model == Model::DataDriven {
            chain.add(steps.iter().map(|s| s.key), true);
            modelled.0 += 1.0;
            if let Some(v) = c.value {
                *modelled.1.entry(currency.clone()).or_default() += v;
            }
            continue;
        } else {
            models::shares(opts.model, &steps, c.ts)
        };
        for (k, share) in credit {
            grow(&mut acc, k);
            let a = &mut acc[k as usize];
            a.conversions += share;
            if let Some(v) = c.value {
                *a.values.entry(currency.clone()).or_default() += share * v;
            }
        }
    }
    if opts.model == Model::DataDriven {
        // Visitors without a primary conversion in the range: their path
        // before their last visit, ending in null.
        for (client, list) in &by_client {
            let Some(last) = list.last() else { continue };
            if converted.contains(client) || !(start..end).contains(&last.start) {
                continue;
            }
            chain.add(path::path(path::window(list, last.start, lookback)).into_iter().map(|s| s.key), false);
        }
        for (k, share) in chain.shares()? {
            let a = &mut acc[k as usize];
            a.conversions += share * modelled.0;
            for (cur, v) in &modelled.1 {
                *a.values.entry(cur.clone()).or_default() += share * v;
            }
        }
    }

    let mut rows: Vec<(Row, f64)> = Vec::new();
    for (i, a) in acc.iter().enumerate() {
        if a.visits == 0 && a.conversions == 0.0 && a.cost.is_empty() {
            continue;
        }
        let (_, name) = &keys.names[i];
        let at = |l: Level, s: &Option<String>| (level >= l).then(|| s.clone());
        let (cost, roas, cpa) = if a.cost.is_empty() {
            (None, None, None)
        } else {
            let roas = a
                .cost
                .iter()
                .filter(|(_, c)| **c > 0.0)
                .map(|(cur, c)| (cur.clone(), a.values.get(&Some(cur.clone())).copied().unwrap_or(0.0) / c))
                .collect();
            let cpa = if a.conversions > 0.0 {
                a.cost.iter().map(|(cur, c)| (cur.clone(), c / a.conversions)).collect()
            } else {
                BTreeMap::new()
            };
            (Some(money(&a.cost)), Some(money(&roas)), Some(money(&cpa)))
        };
        let total_cost: f64 = a.cost.values().sum();
        rows.push((
            Row {
                network: name.network.clone(),
                campaign: at(Level::Campaign, &name.campaign),
                ad_group: at(Level::AdGroup, &name.ad_group),
                keyword: at(Level::Keyword, &name.keyword),
                visits: a.visits,
                conversions: round6(a.conversions),
                values: money(&a.values),
                cost,
                roas,
                cpa,
            },
            total_cost,
        ));
    }
    rows.sort_by(|(a, ac), (b, bc)| {
        b.conversions
            .total_cmp(&a.conversions)
            .then(bc.total_cmp(ac))
            .then(b.visits.cmp(&a.visits))
            .then_with(|| (&a.network, &a.campaign, &a.ad_group, &a.keyword).cmp(&(&b.network, &b.campaign, &b.ad_group, &b.keyword)))
    });
    Ok(Report {
        model: opts.model.name().into(),
        by: level.name().into(),
        lookback_days: opts.lookback_days,
        rows: rows.into_iter().map(|(r, _)| r).collect(),
    })
}

#[cfg(test)]
mod tests;
