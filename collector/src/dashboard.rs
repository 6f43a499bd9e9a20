//! The reporting routes: `GET /report` (JSON), `GET /report/sites`, the
//! `/dashboard` page with its script and the vendored chart library, and
//! `POST /import` for offline conversions.
//!
//! Reports and imports go through the [`Store`] (SQLite: a connection of
//! their own on a blocking thread, beside the beacon writer; PostgreSQL: the
//! pool). These routes are for the site owner: put them behind a proxy with
//! authentication before exposing the collector.

// Handlers' helpers return the error answer itself (a Response) as their Err.
#![allow(clippy::result_large_err)]

use crate::report::{self, ReportError};
use crate::store::{now_ms, Store};
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

fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({ "error": reason.into() }))).into_response()
}

fn params(q: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn db_failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "reading the database for a report failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "reading the database failed; see the collector's log")
}

async fn report_json(State(store): State<Arc<dyn Store>>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let today = dates::day_of_ms(now_ms());
    let query = match report::Query::parse(params(&q), today) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let built = report::build(&*store, &query).await.map_err(|e| match e {
        ReportError::Bad(why) => error(StatusCode::BAD_REQUEST, why),
        ReportError::Db(e) => db_failure(format!("{e:#}")),
    });
    match built {
        Ok(r) => no_cache(Json(r).into_response()),
        Err(resp) => resp,
    }
}

async fn sites(State(store): State<Arc<dyn Store>>) -> Response {
    let found = store.sites().await.map_err(|e| db_failure(format!("{e:#}")));
    match found {
        Ok(s) => no_cache(Json(json!({ "sites": s })).into_response()),
        Err(resp) => resp,
    }
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

async fn asset(UrlPath(file): UrlPath<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ct, body)) => no_cache(([(header::CONTENT_TYPE, *ct)], *body).into_response()),
        None => error(StatusCode::NOT_FOUND, format!("no dashboard asset {file:?}")),
    }
}

/// `POST /import?site=…`: a CSV or JSON-lines file of offline conversions.
async fn import_rows(
    State(store): State<Arc<dyn Store>>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut site = None;
    for (k, v) in params(&q) {
        match k {
            "site" => site = Some(v.to_string()),
            _ => return error(StatusCode::BAD_REQUEST, format!("unknown parameter {k:?}: expected site")),
        }
    }
    let Some(site) = site else {
        return error(StatusCode::BAD_REQUEST, "site: required, as in POST /import?site=demo-shop");
    };
    if let Err(e) = import::check_site(&site) {
        return error(StatusCode::BAD_REQUEST, e);
    }
    let bytes = match axum::body::to_bytes(body, import::MAX_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the file is larger than {} MiB; split it", import::MAX_BYTES >> 20),
            )
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return error(StatusCode::BAD_REQUEST, "the file is not UTF-8 text");
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let rows = match import::parse(text, import::Format::detect(content_type, text)) {
        Ok(rows) => rows,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let done = store.import(&site, rows, now_ms()).await.map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), %site, "storing an import failed");
        error(StatusCode::INTERNAL_SERVER_ERROR, "storing the import failed; nothing was stored")
    });
    match done {
        Ok(d) => {
            tracing::info!(rows = d.rows, new = d.new, updated = d.updated, "imported offline conversions");
            Json(d).into_response()
        }
        Err(resp) => resp,
    }
}
