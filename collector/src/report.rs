//! The report: one function, [`build`], reads the database and makes the
//! numbers that `GET /report` answers as JSON, the dashboard draws and
//! `goaltag-collector report` prints ([`text`]), so the three never disagree.
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
use goaltag_wire::Attribution;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

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
    Db(rusqlite::Error),
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReportError::Bad(s) => f.write_str(s),
            ReportError::Db(e) => write!(f, "reading the database failed: {e}"),
        }
    }
}

impl std::error::Error for ReportError {}

impl From<rusqlite::Error> for ReportError {
    fn from(e: rusqlite::Error) -> Self {
        ReportError::Db(e)
    }
}

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
        .find(|(id, _)| a.click_ids.contains_key(*id))
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

/// Opens the database read-only: reports never take the writer's lock, and
/// WAL mode lets them read while the collector writes.
pub fn open_read_only(db: &Path) -> anyhow::Result<Connection> {
    anyhow::ensure!(db.is_file(), "no database at {} (the collector creates it when it first starts)", db.display());
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Sites with events, most events first.
pub fn sites(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare("SELECT site FROM events GROUP BY site ORDER BY count(*) DESC, site")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

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
            .map(|(c, v)| Money { currency: c.clone(), value: (v * 1e6).round() / 1e6 })
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
    let path_start = if url.contains("://") { after_scheme.find('/').unwrap_or(after_scheme.len()) } else { 0 };
    let path = &after_scheme[path_start..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    normalise_path(if path.is_empty() { "/" } else { path })
}

fn normalise_path(p: &str) -> String {
    p.strip_suffix("index.html").unwrap_or(p).to_string()
}

fn attribution(json: Option<String>) -> Option<Attribution> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

struct PageView {
    key: Option<String>,
    ts: i64,
    path: String,
    client_id: Option<String>,
    attribution: Option<Attribution>,
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

/// The whole report for `q`. Without a site, the database's only site is
/// used; with several, the caller must choose (the error lists them).
pub fn build(conn: &Connection, q: &Query) -> Result<Report, ReportError> {
    let site = match &q.site {
        Some(s) => s.clone(),
        None => {
            let all = sites(conn)?;
            match all.as_slice() {
                [one] => one.clone(),
                [] => return Err(ReportError::Bad("site: required (no events stored yet)".into())),
                _ => return Err(ReportError::Bad(format!("site: required; sites with events: {}", all.join(", ")))),
            }
        }
    };
    let (start, end) = (q.from * DAY_MS, (q.to + 1) * DAY_MS);
    // One consistent snapshot even while the collector writes.
    conn.execute_batch("BEGIN")?;
    let result = build_in(conn, q, &site, start, end);
    let _ = conn.execute_batch("COMMIT");
    result
}

fn build_in(conn: &Connection, q: &Query, site: &str, start: i64, end: i64) -> Result<Report, ReportError> {
    let page_views = {
        let mut st = conn.prepare_cached(
            "SELECT ts, url, client_id, visit_id, json_extract(json, '$.attribution')
             FROM events WHERE site = ?1 AND kind = 'page_view' AND ts >= ?2 AND ts < ?3 ORDER BY ts, id",
        )?;
        let rows = st.query_map(params![site, start, end], |r| {
            let (client_id, visit_id): (Option<String>, Option<String>) = (r.get(2)?, r.get(3)?);
            Ok(PageView {
                ts: r.get(0)?,
                path: path_of(&r.get::<_, Option<String>>(1)?.unwrap_or_default()),
                key: visit_key(&visit_id, &client_id),
                client_id,
                attribution: attribution(r.get(4)?),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let conversions = {
        let mut st = conn.prepare_cached(
            "SELECT ts, goal, json_extract(json, '$.primary'), value, currency, client_id, visit_id,
                    json_extract(json, '$.attribution')
             FROM events WHERE site = ?1 AND kind = 'conversion' AND ts >= ?2 AND ts < ?3 ORDER BY ts, id",
        )?;
        let rows = st.query_map(params![site, start, end], |r| {
            let (client_id, visit_id): (Option<String>, Option<String>) = (r.get(5)?, r.get(6)?);
            Ok(Conversion {
                ts: r.get(0)?,
                goal: r.get::<_, Option<String>>(1)?.unwrap_or_else(|| "(no goal)".into()),
                primary: r.get::<_, Option<i64>>(2)?.unwrap_or(0) != 0,
                value: r.get(3)?,
                currency: r.get::<_, Option<String>>(4)?.map(|c| c.to_ascii_uppercase()),
                key: visit_key(&visit_id, &client_id),
                client_id,
                attribution: attribution(r.get(7)?),
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };

    // Visits, in order of their first page view (page views come sorted by ts).
    struct Visit {
        landing: String,
        source: Option<SourceKey>,
        reached: usize,
    }
    let funnel_steps: Vec<String> = q.funnel.iter().map(|s| normalise_path(s)).collect();
    let mut visits: HashMap<&str, Visit> = HashMap::new();
    let mut without_id = 0u64;
    for pv in &page_views {
        let Some(key) = pv.key.as_deref() else {
            without_id += 1;
            continue;
        };
        let v = visits.entry(key).or_insert_with(|| Visit { landing: pv.path.clone(), source: None, reached: 0 });
        if v.source.is_none() && pv.attribution.is_some() {
            v.source = Some(SourceKey::of(pv.attribution.as_ref()));
        }
        if funnel_steps.get(v.reached) == Some(&pv.path) {
            v.reached += 1;
        }
    }

    // Goals.
    #[derive(Default)]
    struct GoalAcc {
        primary: bool,
        n: u64,
        clients: BTreeSet<String>,
        without_id: u64,
        sums: Sums,
    }
    let mut goals: BTreeMap<&str, GoalAcc> = BTreeMap::new();
    let mut total_sums = Sums::default();
    let (mut primary, mut conversions_without_client) = (0u64, 0u64);
    for c in &conversions {
        let g = goals.entry(&c.goal).or_default();
        g.n += 1;
        g.primary |= c.primary;
        match &c.client_id {
            Some(id) => drop(g.clients.insert(id.clone())),
            None => {
                g.without_id += 1;
                conversions_without_client += 1;
            }
        }
        g.sums.add(&c.currency, c.value);
        total_sums.add(&c.currency, c.value);
        primary += u64::from(c.primary);
    }
    let mut goal_rows: Vec<GoalRow> = goals
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
    goal_rows.sort_by(|a, b| b.primary.cmp(&a.primary).then(b.conversions.cmp(&a.conversions)).then(a.goal.cmp(&b.goal)));

    // Sources: visits by their landing attribution, conversions by their own.
    #[derive(Default)]
    struct SourceAcc {
        visits: u64,
        conversions: u64,
        primary: u64,
        sums: Sums,
    }
    let mut sources: HashMap<SourceKey, SourceAcc> = HashMap::new();
    for v in visits.values() {
        sources.entry(v.source.clone().unwrap_or_default()).or_default().visits += 1;
    }
    for c in &conversions {
        let s = sources.entry(SourceKey::of(c.attribution.as_ref())).or_default();
        s.conversions += 1;
        s.primary += u64::from(c.primary);
        s.sums.add(&c.currency, c.value);
    }
    let mut source_rows: Vec<SourceRow> = sources
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
    source_rows.sort_by(|a, b| {
        (b.conversions, b.visits).cmp(&(a.conversions, a.visits)).then_with(|| a.source.cmp(&b.source))
    });

    // Landing pages.
    let mut landing: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for v in visits.values() {
        landing.entry(&v.landing).or_default().0 += 1;
    }
    for c in &conversions {
        if let Some(v) = c.key.as_deref().and_then(|k| visits.get(k)) {
            landing.entry(&v.landing).or_default().1 += 1;
        }
    }
    let mut landing_rows: Vec<LandingRow> = landing
        .into_iter()
        .map(|(path, (visits, conversions))| LandingRow { path: path.to_string(), visits, conversions })
        .collect();
    landing_rows.sort_by(|a, b| b.visits.cmp(&a.visits).then(b.conversions.cmp(&a.conversions)).then(a.path.cmp(&b.path)));

    // Funnel.
    let mut steps = Vec::with_capacity(q.funnel.len());
    let mut before: Option<u64> = None;
    for (i, path) in q.funnel.iter().enumerate() {
        let n = visits.values().filter(|v| v.reached > i).count() as u64;
        let (drop_off, rate) = match before {
            None => (0, 1.0),
            Some(0) => (0, 0.0),
            Some(b) => (b - n, ((n as f64 / b as f64) * 1e4).round() / 1e4),
        };
        steps.push(FunnelStep { path: path.clone(), visits: n, drop_off, rate });
        before = Some(n);
    }

    // Daily series, every day of the range.
    let days = (q.to - q.from + 1) as usize;
    let mut daily_pv = vec![0u64; days];
    let mut daily_conv = vec![0u64; days];
    let mut daily_sums: Vec<Sums> = (0..days).map(|_| Sums::default()).collect();
    let index = |ts: i64| (dates::day_of_ms(ts) - q.from) as usize;
    for pv in &page_views {
        daily_pv[index(pv.ts)] += 1;
    }
    for c in &conversions {
        daily_conv[index(c.ts)] += 1;
        daily_sums[index(c.ts)].add(&c.currency, c.value);
    }
    let daily = (0..days)
        .map(|i| Day {
            date: dates::format_date(q.from + i as i64),
            page_views: daily_pv[i],
            conversions: daily_conv[i],
            values: daily_sums[i].money(),
        })
        .collect();

    let clients: BTreeSet<&str> = page_views
        .iter()
        .filter_map(|p| p.client_id.as_deref())
        .chain(conversions.iter().filter_map(|c| c.client_id.as_deref()))
        .collect();
    let totals = Totals {
        page_views: page_views.len() as u64,
        visits: visits.len() as u64,
        unique_visitors: clients.len() as u64,
        conversions: conversions.len() as u64,
        primary_conversions: primary,
        secondary_conversions: conversions.len() as u64 - primary,
        values: total_sums.money(),
    };

    let quality = {
        let (batches, duplicates, retried, overflow, poison, expired) = conn.query_row(
            "SELECT count(*), total(duplicates), total(attempt > 1), total(dropped_overflow),
                    total(dropped_poison), total(dropped_expired)
             FROM batches WHERE site = ?1 AND received_at >= ?2 AND received_at < ?3",
            params![site, start, end],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?, r.get::<_, f64>(2)?, r.get::<_, f64>(3)?, r.get::<_, f64>(4)?, r.get::<_, f64>(5)?)),
        )?;
        let rejected: i64 = conn.query_row(
            "SELECT count(*) FROM rejections WHERE received_at >= ?1 AND received_at < ?2",
            params![start, end],
            |r| r.get(0),
        )?;
        DataQuality {
            batches: batches as u64,
            duplicates_absorbed: duplicates as u64,
            retried_batches: retried as u64,
            dropped_overflow: overflow as u64,
            dropped_poison: poison as u64,
            dropped_expired: expired as u64,
            rejected_bodies: rejected as u64,
            page_views_without_id: without_id,
            conversions_without_client_id: conversions_without_client,
        }
    };

    Ok(Report {
        site: site.to_string(),
        from: dates::format_date(q.from),
        to: dates::format_date(q.to),
        totals,
        goals: goal_rows,
        sources: source_rows,
        landing_pages: landing_rows,
        funnel: Funnel { steps, page_views_without_id: without_id },
        daily,
        imports: imports(conn, site, start, end)?,
        data_quality: quality,
    })
}

/// Imported rows in the range by goal and stage, joined to online
/// conversions by transaction ID. Stages come in the order they first occur.
fn imports(conn: &Connection, site: &str, start: i64, end: i64) -> rusqlite::Result<Vec<ImportGoal>> {
    // A database last opened by an older collector has no imports table yet.
    if !table_exists(conn, "imports")? {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(
        "SELECT i.goal, i.stage, i.value, i.currency, i.ts,
                EXISTS(SELECT 1 FROM events e WHERE e.site = i.site AND e.transaction_id = i.transaction_id
                       AND e.kind = 'conversion')
         FROM imports i WHERE i.site = ?1 AND i.ts >= ?2 AND i.ts < ?3 ORDER BY i.goal, i.ts, i.stage",
    )?;
    /// (stage, rows, matched, value sums)
    type Stage = (String, u64, u64, Sums);
    let mut goals: Vec<(String, Vec<Stage>)> = Vec::new();
    let rows = st.query_map(params![site, start, end], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<f64>>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, bool>(5)?))
    })?;
    for row in rows {
        let (goal, stage, value, currency, matched) = row?;
        if goals.last().map(|g| &g.0) != Some(&goal) {
            goals.push((goal, Vec::new()));
        }
        let stages = &mut goals.last_mut().expect("pushed above").1;
        let i = match stages.iter().position(|s| s.0 == stage) {
            Some(i) => i,
            None => {
                stages.push((stage, 0, 0, Sums::default()));
                stages.len() - 1
            }
        };
        let s = &mut stages[i];
        s.1 += 1;
        s.2 += u64::from(matched);
        s.3.add(&currency, value);
    }
    Ok(goals
        .into_iter()
        .map(|(goal, stages)| ImportGoal {
            goal,
            stages: stages
                .into_iter()
                .map(|(stage, rows, matched, sums)| ImportStage { stage, rows, matched, unmatched: rows - matched, values: sums.money() })
                .collect(),
        })
        .collect())
}

/// Extra `goaltag-collector report --help` text.
pub const CLI_MANUAL: &str = "\
The same report as GET /report?site=…&from=…&to=…&funnel=… and /dashboard,
read from the database file (read-only, so it can run beside the collector).

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
  goaltag-collector report --site demo-shop --json | jq .totals";

/// `goaltag-collector report`: the report for `params` as text (or JSON).
pub fn cli<'a>(db: &Path, params: impl IntoIterator<Item = (&'a str, &'a str)>, json: bool) -> anyhow::Result<String> {
    let today = dates::day_of_ms(crate::store::now_ms());
    let q = Query::parse(params, today).map_err(anyhow::Error::msg)?;
    let conn = open_read_only(db)?;
    let r = build(&conn, &q)?;
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
