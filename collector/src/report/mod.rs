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
use serde::Serialize;

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
                    let day = dates::parse_date(v.trim()).ok_or_else(|| format!("{k}: expected a date as YYYY-MM-DD (UTC), got {v:?}"))?;
                    if k == "from" {
                        from = Some(day)
                    } else {
                        to = Some(day)
                    }
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
    /// Value of every conversion, primary and secondary, per currency.
    pub values: Vec<Money>,
    /// Value of the primary conversions alone: the return to weigh against
    /// spend (a secondary goal such as add-to-cart often repeats the value
    /// of the purchase that follows it).
    pub primary_values: Vec<Money>,
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
        if parts.is_empty() {
            "direct".into()
        } else {
            parts.join(" · ")
        }
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
    NETWORKS.iter().find(|(id, _)| a.click_ids.contains_key(id)).map(|(_, n)| n.to_string()).or_else(|| a.click_ids.keys().next().cloned())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    pub source: String,
    #[serde(flatten)]
    pub key: SourceKey,
    pub visits: u64,
    pub conversions: u64,
    pub primary_conversions: u64,
    /// Value of every conversion credited to the source, per currency.
    pub values: Vec<Money>,
    /// Value of its primary conversions alone (see [`Totals::primary_values`]).
    pub primary_values: Vec<Money>,
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
    pub dropped_consent: u64,
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
    /// Events the tag reported dropping: consent for them was withdrawn.
    pub dropped_consent: u64,
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

pub mod attribution;
mod sections;
mod text;

pub use sections::{from_rows, path_of};
pub use text::text;

/// The whole report for `q` from `store`. Without a site, the database's only
/// site is used; with several, the caller must choose (the error lists them).
pub async fn build(store: &dyn Store, q: &Query) -> Result<Report, ReportError> {
    let site = match &q.site {
        Some(s) => s.clone(),
        None => {
            let all = store.sites().await.map_err(ReportError::Db)?;
            match all.as_slice() {
                [one] => one.clone(),
                [] => return Err(ReportError::Bad("site: required (no events stored yet)".into())),
                _ => return Err(ReportError::Bad(format!("site: required; sites with events: {}", all.join(", ")))),
            }
        }
    };
    let (start, end) = (q.from * DAY_MS, (q.to + 1) * DAY_MS);
    let rows = store.report_rows(&site, start, end).await.map_err(ReportError::Db)?;
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
