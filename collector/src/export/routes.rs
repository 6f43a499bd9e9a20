//! `GET /export` (the upload file) and `GET /export/platforms` (the
//! dashboard's "Ad platforms" panel), on the collector's [`Store`]. Both are
//! the site owner's: with an admin token they sit behind it (see
//! [`crate::admin`]).

use super::{Goals, Params, Request};
use crate::dates;
use crate::error::{AppError, OrInternal};
use crate::model::now_ms;
use crate::query::Params as QueryParams;
use crate::report::routes::no_cache;
use crate::state::{AppState, GoalsFile};
use crate::store::Store;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// The header `GET /export` states its summary in (what went, what was left out and why).
pub const SUMMARY_HEADER: &str = "goaltag-export-summary";

impl GoalsFile {
    /// The goal file, read for each request (so an edited file counts at once); none: no goals.
    async fn read(&self) -> Result<Goals, AppError> {
        let Some(path) = self.0.clone() else { return Ok(Goals::default()) };
        tokio::task::spawn_blocking(move || Goals::load(&path)).await.or_500("reading the goals file")?.or_500("reading the goals file")
    }
}

/// The export routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/export", get(export)).route("/export/platforms", get(platforms))
}

/// `GET /export?site=…&platform=…[&goal=…][&from=…&to=…][&name=GOAL=Name][&window_days=…][&since_last=true]`.
async fn export(
    State(store): State<Arc<dyn Store>>,
    State(goals): State<GoalsFile>,
    QueryParams(p): QueryParams<Params>,
) -> Result<Response, AppError> {
    let req = Request::new(p).map_err(AppError::bad)?;
    let (platform, site) = (req.platform, req.site.clone());
    let goals = goals.read().await?;
    let file = Arc::new(Mutex::new(String::new()));
    let delivered = file.clone();
    let summary = super::run(&*store, &req, &goals, now_ms(), move |f| {
        *delivered.lock().unwrap_or_else(|e| e.into_inner()) = f;
        Ok(())
    })
    .await
    .or_500("the export")?;
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
/// exported before. Dates default like the report's (the last 30 days); it
/// takes the report's parameters, and ignores `funnel`.
async fn platforms(
    State(store): State<Arc<dyn Store>>,
    State(goals): State<GoalsFile>,
    QueryParams(p): QueryParams<crate::report::Params>,
) -> Result<Response, AppError> {
    let p = crate::report::Params { funnel: None, ..p };
    let query = crate::report::Query::new(p, dates::day_of_ms(now_ms())).map_err(AppError::bad)?;
    let site = query.site.clone().ok_or_else(|| AppError::bad("site: required, as in /export/platforms?site=demo-shop"))?;
    crate::import::check_site(&site).map_err(AppError::bad)?;
    let goals = goals.read().await?;
    let rows = super::panel(&*store, &site, query.from, query.to, &goals, now_ms()).await.or_500("reading the database")?;
    let platforms: Vec<_> = rows.iter().map(|r| json!(r)).collect();
    Ok(no_cache(Json(json!({ "platforms": platforms })).into_response()))
}
