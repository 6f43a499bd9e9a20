//! `GET /export` (the upload file) and `GET /export/platforms` (the
//! dashboard's "Ad platforms" panel), on the collector's [`Store`]. Both are
//! the site owner's: with an admin token they sit behind it (see
//! [`crate::admin`]).

use super::{Goals, Request};
use crate::dates;
use crate::error::AppError;
use crate::model::now_ms;
use crate::store::Store;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The header `GET /export` states its summary in (what went, what was left out and why).
pub const SUMMARY_HEADER: &str = "goaltag-export-summary";

struct Exports {
    store: Arc<dyn Store>,
    goals: Option<PathBuf>,
}

impl Exports {
    /// The goal file, read for each request (so an edited file counts at once).
    async fn goals(&self) -> Result<Goals, AppError> {
        let Some(path) = self.goals.clone() else { return Ok(Goals::default()) };
        tokio::task::spawn_blocking(move || Goals::load(&path))
            .await
            .map_err(|e| AppError::db("reading the goals file", e))?
            .map_err(|e| AppError::db("reading the goals file", format!("{e:#}")))
    }
}

/// The export routes on `store`; `goals` is the site's goal configuration, if given.
pub fn routes(store: Arc<dyn Store>, goals: Option<PathBuf>) -> Router {
    Router::new().route("/export", get(export)).route("/export/platforms", get(platforms)).with_state(Arc::new(Exports { store, goals }))
}

fn pairs(q: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// `GET /export?site=…&platform=…[&goal=…][&from=…&to=…][&name=GOAL=Name][&window_days=…][&since_last=true]`.
async fn export(State(x): State<Arc<Exports>>, Query(q): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    let req = Request::parse(pairs(&q)).map_err(AppError::bad)?;
    let (platform, site) = (req.platform, req.site.clone());
    let goals = x.goals().await?;
    let file = Arc::new(Mutex::new(String::new()));
    let delivered = file.clone();
    let summary = super::run(&*x.store, &req, &goals, now_ms(), move |f| {
        *delivered.lock().unwrap_or_else(|e| e.into_inner()) = f;
        Ok(())
    })
    .await
    .map_err(|e| AppError::db("the export", format!("{e:#}")))?;
    let file = std::mem::take(&mut *file.lock().unwrap_or_else(|e| e.into_inner()));
    tracing::info!(%site, summary = %summary, "exported conversions");
    let mut resp = ([(header::CONTENT_TYPE, platform.content_type())], file).into_response();
    let h = resp.headers_mut();
    let disposition = format!("attachment; filename=\"goaltag-{site}-{}.{}\"", platform.name(), platform.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // The summary names no goal, only counts and fixed words: always a valid header.
    if let Ok(v) = HeaderValue::from_str(&summary.to_string()) {
        h.insert(HeaderName::from_static(SUMMARY_HEADER), v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `GET /export/platforms?site=…&from=…&to=…`: per platform, the primary
/// goals' conversions in the range with its click ID, exportable now, and
/// exported before. Dates default like the report's (the last 30 days).
async fn platforms(State(x): State<Arc<Exports>>, Query(q): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    let today = dates::day_of_ms(now_ms());
    let query = crate::report::Query::parse(pairs(&q).filter(|(k, _)| *k != "funnel"), today).map_err(AppError::bad)?;
    let site = query.site.clone().ok_or_else(|| AppError::bad("site: required, as in /export/platforms?site=demo-shop"))?;
    crate::import::check_site(&site).map_err(AppError::bad)?;
    let goals = x.goals().await?;
    let rows = super::panel(&*x.store, &site, query.from, query.to, &goals, now_ms())
        .await
        .map_err(|e| AppError::db("reading the database", format!("{e:#}")))?;
    let platforms: Vec<_> = rows.iter().map(|r| json!(r)).collect();
    let mut resp = Json(json!({ "platforms": platforms })).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}
