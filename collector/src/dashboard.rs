//! The reporting routes: `GET /report` (JSON), `GET /report/sites`, the
//! `/dashboard` page with its script and the vendored chart library, and
//! `POST /import` for offline conversions.
//!
//! Reports and imports go through the [`Store`] (SQLite: a connection of
//! their own on a blocking thread, beside the beacon writer; PostgreSQL: the
//! pool). These routes are for the site owner: with `--admin-token` they
//! answer only requests carrying it (see [`crate::admin`]).

use crate::error::AppError;
use crate::model::now_ms;
use crate::report;
use crate::store::Store;
use crate::{dates, import};
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// uPlot's version, in the asset URLs so a new version is never mixed with a cached old one.
pub const UPLOT_VERSION: &str = "1.6.32";

const PAGE: &str = include_str!("../assets/dashboard.html");
/// Served assets: (name, content type, bytes).
const ASSETS: [(&str, &str, &str); 5] = [
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("../assets/dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_str!("../assets/dashboard.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_str!("../assets/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_str!("../assets/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_str!("../assets/uPlot.LICENSE")),
];

/// Everything the page loads comes from the collector itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The reporting routes on `store`.
pub fn routes(store: Arc<dyn Store>) -> Router {
    Router::new()
        .route("/report", get(report_json))
        .route("/report/sites", get(sites))
        .route("/dashboard", get(page))
        .route("/dashboard/", get(page))
        .route("/dashboard/assets/{file}", get(asset))
        .route("/import", post(import_rows))
        .with_state(store)
}

fn params(q: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// A failed read for a report: logged, answered 500.
fn db_failure(e: anyhow::Error) -> AppError {
    AppError::db("reading the database", format!("{e:#}"))
}

async fn report_json(State(store): State<Arc<dyn Store>>, Query(q): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    let today = dates::day_of_ms(now_ms());
    let query = report::Query::parse(params(&q), today).map_err(AppError::bad)?;
    let r = report::build(&*store, &query).await?;
    Ok(no_cache(Json(r).into_response()))
}

async fn sites(State(store): State<Arc<dyn Store>>) -> Result<Response, AppError> {
    let s = store.sites().await.map_err(db_failure)?;
    Ok(no_cache(Json(json!({ "sites": s })).into_response()))
}

fn no_cache(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn page() -> Response {
    let html = PAGE.replace("{{UPLOT_VERSION}}", UPLOT_VERSION);
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    no_cache(r)
}

async fn asset(UrlPath(file): UrlPath<String>) -> Result<Response, AppError> {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ct, body)) => Ok(no_cache(([(header::CONTENT_TYPE, *ct)], *body).into_response())),
        None => Err(AppError::new(StatusCode::NOT_FOUND, format!("no dashboard asset {file:?}"))),
    }
}

/// `POST /import?site=…`: a CSV or JSON-lines file of offline conversions.
async fn import_rows(
    State(store): State<Arc<dyn Store>>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<import::Imported>, AppError> {
    let mut site = None;
    for (k, v) in params(&q) {
        match k {
            "site" => site = Some(v.to_string()),
            _ => return Err(AppError::bad(format!("unknown parameter {k:?}: expected site"))),
        }
    }
    let site = site.ok_or_else(|| AppError::bad("site: required, as in POST /import?site=demo-shop"))?;
    import::check_site(&site).map_err(AppError::bad)?;
    let bytes = axum::body::to_bytes(body, import::MAX_BYTES).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the file is larger than {} MiB; split it", import::MAX_BYTES >> 20))
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| AppError::bad("the file is not UTF-8 text"))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let rows = import::parse(text, import::Format::detect(content_type, text)).map_err(AppError::bad)?;
    let d = store.import(&site, rows, now_ms()).await.map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), %site, "storing an import failed");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "storing the import failed; nothing was stored")
    })?;
    tracing::info!(rows = d.rows, new = d.new, updated = d.updated, "imported offline conversions");
    Ok(Json(d))
}
