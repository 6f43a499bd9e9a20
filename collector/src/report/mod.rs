//! The report: one function, [`build`], reads a [`Store`] and makes the
//! numbers that `GET /report` answers as JSON, the dashboard draws and
//! `goaltag-collector report` prints ([`text`]), so the three never disagree.
//! A store only reads rows ([`Rows`]); every number is computed here, section
//! by section, so SQLite and PostgreSQL give the same report for the same data.
//!
//! Definitions (the README repeats them for site owners):
//! - Range: `from` and `to` are UTC dates, both included. Events are placed by
//!   their stored `ts` (when they happened, on the collector's clock: the
//!   browser's `ts` corrected at ingestion through the batch's `sent_at`),
//!   batches and rejections by when they arrived, imported rows by their `ts`.
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

/// The demo shop's purchase path (files in `www/`).
pub const DEFAULT_FUNNEL: [&str; 5] = ["/", "/specials.html", "/product.html", "/cart.html", "/checkout/confirmation.html"];
/// Days in the default range, today included.
pub const DEFAULT_DAYS: i64 = 30;
/// Longest range: the daily series has one row per day.
pub const MAX_DAYS: i64 = 1000;
/// Most funnel steps a report follows.
pub const MAX_FUNNEL_STEPS: usize = 12;

/// What a report is about, checked. `site` may be left for [`build`] to pick.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Site key; `None`: the database's only site.
    pub site: Option<String>,
    /// First day, as days since 1970-01-01 (UTC).
    pub from: i64,
    /// Last day (included), as days since 1970-01-01 (UTC).
    pub to: i64,
    /// The funnel's steps: URL paths, in order.
    pub funnel: Vec<String>,
    /// The attribution asked for (model, level, lookback, ad group parameter).
    pub attribution: attribution::Options,
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

/// The parameters of `GET /report` and `goaltag-collector report`, as given;
/// [`Query::new`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Site key; empty or absent: the database's only site.
    pub site: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC); default: [`DEFAULT_DAYS`] days up to `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included; default: today.
    pub to: Option<String>,
    /// Funnel steps, comma-separated paths; default: [`DEFAULT_FUNNEL`].
    pub funnel: Option<String>,
    /// Attribution model (see [`attribution::Model`]); default `last_non_direct`.
    pub model: Option<String>,
    /// Attribution level: `network`, `campaign` (default), `ad_group` or `keyword`.
    pub by: Option<String>,
    /// Days of visits before a conversion that make its path, 1 to 90 (default 30).
    pub lookback_days: Option<String>,
    /// The `utm_*` parameter naming the ad group (default `utm_content`).
    pub ad_group_param: Option<String>,
}

impl Query {
    /// Checks the parameters of `GET /report` (or the CLI). `today` is the UTC
    /// day number the defaults count from: the last [`DEFAULT_DAYS`] days up to today.
    pub fn new(p: Params, today: i64) -> Result<Query, String> {
        let site = p.site.filter(|s| !s.is_empty());
        let from = p.from.map(|v| dates::parse_param("from", &v)).transpose()?;
        let to = p.to.map(|v| dates::parse_param("to", &v)).transpose()?;
        let funnel = p.funnel.map(|v| parse_funnel(&v)).transpose()?;
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - (DEFAULT_DAYS - 1));
        if from > to {
            return Err(format!("from ({}) is after to ({})", dates::format_date(from), dates::format_date(to)));
        }
        if to - from + 1 > MAX_DAYS {
            return Err(format!("the range is {} days; at most {MAX_DAYS} at once", to - from + 1));
        }
        let funnel = funnel.unwrap_or_else(|| DEFAULT_FUNNEL.iter().map(|s| s.to_string()).collect());
        let mut attribution = attribution::Options::default();
        for (k, v) in [("model", &p.model), ("by", &p.by), ("lookback_days", &p.lookback_days), ("ad_group_param", &p.ad_group_param)] {
            if let Some(v) = v {
                attribution.parse_param(k, v)?;
            }
        }
        Ok(Query { site, from, to, funnel, attribution })
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
    /// ISO 4217 code as the events sent it; `None` when they named none.
    pub currency: Option<String>,
    /// The sum.
    pub value: f64,
}

/// The report on one site for a range of days: what `GET /report` answers,
/// the dashboard draws and `goaltag-collector report` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The site key.
    pub site: String,
    /// First day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The whole range in a few numbers.
    pub totals: Totals,
    /// Conversions by goal.
    pub goals: Vec<GoalRow>,
    /// Visits and conversions by source (ad network, UTM tags, referrer).
    pub sources: Vec<SourceRow>,
    /// Visits and conversions by the page a visit began on.
    pub landing_pages: Vec<LandingRow>,
    /// How many visits went through the funnel's steps in order.
    pub funnel: Funnel,
    /// One row per day of the range, days without events included.
    pub daily: Vec<Day>,
    /// Imported offline stages by goal, and how many joined an online conversion.
    pub imports: Vec<ImportGoal>,
    /// What the collector absorbed, refused, or could not follow.
    pub data_quality: DataQuality,
    /// Per ad network, how many primary conversions carry a key it can
    /// match them by: the exports' expected match coverage.
    pub match_keys: Vec<MatchKeys>,
    /// Primary conversions credited to network, campaign, ad group or
    /// keyword under the model asked for, against their cost (see
    /// [`attribution`]). Always set by [`build`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<attribution::Report>,
}

/// The range in a few numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Page views in the range.
    pub page_views: u64,
    /// Visits (see the module's definitions); page views without any ID are in none.
    pub visits: u64,
    /// Distinct client IDs on page views and conversions.
    pub unique_visitors: u64,
    /// Conversions of every goal.
    pub conversions: u64,
    /// Conversions of goals the tag marked primary.
    pub primary_conversions: u64,
    /// Conversions of the other goals.
    pub secondary_conversions: u64,
    /// Value of every conversion, primary and secondary, per currency.
    pub values: Vec<Money>,
    /// Value of the primary conversions alone: the return to weigh against
    /// spend (a secondary goal such as add-to-cart often repeats the value
    /// of the purchase that follows it).
    pub primary_values: Vec<Money>,
}

/// One ad network's match keys on the range's primary conversions: each
/// conversion counts once, under the best key it carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchKeys {
    /// The export platform (`microsoft-ads`, `google-ads`, `meta`).
    pub platform: &'static str,
    /// Its name for people.
    pub network: &'static str,
    /// With the network's click ID in their attribution (`msclkid`;
    /// `gclid`, `wbraid` or `gbraid`; `fbclid`).
    pub click_id: u64,
    /// Without it, but with the network's hashed email or phone (enhanced
    /// conversions), still kept (`serve --user-data-days`).
    pub hashed_email_or_phone: u64,
    /// With neither: no export can match them to an ad.
    pub neither: u64,
}

/// One goal's conversions in the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalRow {
    /// The goal ID.
    pub goal: String,
    /// True when the tag marked this goal's conversions primary.
    pub primary: bool,
    /// Its conversions.
    pub conversions: u64,
    /// Distinct client IDs among them (only where consent allowed an ID).
    pub unique_visitors: u64,
    /// Conversions without a client ID, which `unique_visitors` cannot count.
    pub conversions_without_id: u64,
    /// Their value, per currency.
    pub values: Vec<Money>,
}

/// Where a visit or conversion came from, as its attribution tells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct SourceKey {
    /// Ad network named by a click ID (Google, Microsoft, Meta, TikTok,
    /// LinkedIn, or the click ID's name for one configured on the site).
    pub network: Option<String>,
    /// The referring site's host, when it was another site.
    pub referrer_host: Option<String>,
    /// The `utm_source` tag.
    pub utm_source: Option<String>,
    /// The `utm_medium` tag.
    pub utm_medium: Option<String>,
    /// The `utm_campaign` tag.
    pub utm_campaign: Option<String>,
}

impl SourceKey {
    /// The source an attribution names; none (or `None`) is "direct".
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

/// One source's visits and conversions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    /// Its label ([`SourceKey::label`]).
    pub source: String,
    /// Its parts, flattened into the row in JSON.
    #[serde(flatten)]
    pub key: SourceKey,
    /// Visits whose first attributed page view names this source.
    pub visits: u64,
    /// Conversions whose own attribution names this source.
    pub conversions: u64,
    /// Of those, conversions of primary goals.
    pub primary_conversions: u64,
    /// Value of every conversion credited to the source, per currency.
    pub values: Vec<Money>,
    /// Value of its primary conversions alone (see [`Totals::primary_values`]).
    pub primary_values: Vec<Money>,
}

/// One landing page: visits that began on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LandingRow {
    /// The page's path (no query string; `/x/index.html` is `/x/`).
    pub path: String,
    /// Visits that began on it.
    pub visits: u64,
    /// Conversions in visits that began on this page.
    pub conversions: u64,
}

/// The funnel: visits through its steps, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// One row per step, in the order asked for.
    pub steps: Vec<FunnelStep>,
    /// Page views without visit or client ID, which the funnel cannot follow.
    pub page_views_without_id: u64,
}

/// One funnel step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    /// The step's path.
    pub path: String,
    /// Visits that reached this step after all earlier ones.
    pub visits: u64,
    /// Visits of the step before that did not reach this one (0 for step 1).
    pub drop_off: u64,
    /// `visits` as a share of the step before (1 for step 1; 0 when it had none).
    pub rate: f64,
}

/// One day of the daily series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Page views that day (by event time).
    pub page_views: u64,
    /// Conversions that day.
    pub conversions: u64,
    /// Their value, per currency.
    pub values: Vec<Money>,
}

/// Imported rows of one goal, by stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportGoal {
    /// The goal ID.
    pub goal: String,
    /// Its stages, by name.
    pub stages: Vec<ImportStage>,
}

/// Imported rows of one stage in the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportStage {
    /// The stage (`shipped`, `qualified`, …).
    pub stage: String,
    /// Rows in the range.
    pub rows: u64,
    /// Rows whose transaction ID an online conversion of the site carried (any date).
    pub matched: u64,
    /// Rows no online conversion carried the transaction ID of.
    pub unmatched: u64,
    /// Their value, per currency.
    pub values: Vec<Money>,
}

/// What the collector absorbed, refused, or could not follow.
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
    /// Events the tag dropped because a collector refused them (4xx).
    pub dropped_poison: u64,
    /// Events the tag dropped as too old to send.
    pub dropped_expired: u64,
    /// Events the tag dropped because consent for them was withdrawn.
    pub dropped_consent: u64,
    /// Bodies refused by validation, for all sites (a refused body may name none).
    pub rejected_bodies: u64,
    /// Page views with neither visit nor client ID (no consent): in no visit or funnel.
    pub page_views_without_id: u64,
    /// Conversions without a client ID: in no unique-visitor count.
    pub conversions_without_client_id: u64,
}

pub use crate::model::report::{BatchFigures, Event, EventRef, Events, ImportRow, Rows};

pub mod attribution;
pub mod routes;
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
    let a = &q.attribution;
    // One read serves every section and the attribution: the events from
    // the start of the lookback, each section taking the range's own.
    let rows = store.report_rows(&site, start - a.lookback_days * DAY_MS, start, end).await.map_err(ReportError::Db)?;
    let spend = spend_costs(store, &site, q).await?;
    from_rows_with_spend(q, &site, &rows, &spend)
}

/// The whole report for `q` from what a store read (its events from the
/// start of the lookback) and the spend on the range's days: [`build`]
/// after its reads.
pub fn from_rows_with_spend(q: &Query, site: &str, rows: &Rows, spend: &[attribution::Cost]) -> Result<Report, ReportError> {
    let mut report = from_rows(q, site, rows);
    report.attribution = Some(attribution::attribute_events(&q.attribution, q.from, q.to, &rows.events, spend).map_err(ReportError::Bad)?);
    Ok(report)
}

/// The site's spend on the report's days, as attribution weighs it.
pub async fn spend_costs(store: &dyn Store, site: &str, q: &Query) -> Result<Vec<attribution::Cost>, ReportError> {
    let rows = store.spend_rows(site, q.from, q.to).await.map_err(ReportError::Db)?;
    Ok(rows
        .into_iter()
        .map(|r| attribution::Cost {
            day: r.date,
            network: r.network,
            campaign: r.campaign,
            ad_group: r.ad_group,
            keyword: r.keyword,
            currency: r.currency,
            cost: r.cost,
        })
        .collect())
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
pub async fn cli(db: &Database, params: Params, json: bool) -> anyhow::Result<String> {
    let today = dates::day_of_ms(crate::model::now_ms());
    let q = Query::new(params, today).map_err(anyhow::Error::msg)?;
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
        let q = Query::new(Params::default(), today).unwrap();
        assert_eq!((dates::format_date(q.from), dates::format_date(q.to)), ("2024-03-02".into(), "2024-03-31".into()));
        assert_eq!(q.funnel.len(), DEFAULT_FUNNEL.len());
        let p = |site: &str, from: &str, to: &str, funnel: &str| {
            let some = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
            Query::new(Params { site: some(site), from: some(from), to: some(to), funnel: some(funnel), ..Params::default() }, today)
        };
        let q = p("s", "2024-01-01", "2024-01-01", "/a, /b").unwrap();
        assert_eq!((q.site.as_deref(), q.from, q.to, q.funnel), (Some("s"), q.to, q.to, vec!["/a".to_string(), "/b".into()]));
        assert_eq!(
            Query::new(Params { site: Some(String::new()), ..Params::default() }, today).unwrap().site,
            None,
            "an empty site is no site"
        );
        assert!(p("", "2024-02-30", "", "").unwrap_err().starts_with("from: expected a date"));
        assert!(p("", "2024-02-02", "2024-02-01", "").unwrap_err().contains("after"));
        assert!(p("", "2000-01-01", "", "").unwrap_err().contains("at most"));
        assert!(p("", "", "", "cart.html").unwrap_err().contains("not a path"));
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
