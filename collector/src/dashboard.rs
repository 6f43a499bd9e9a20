//! The reporting routes: `GET /report` (JSON), `GET /report/sites`, the
//! `/dashboard` page with its script and the vendored chart library, and
//! `POST /import` for offline conversions.
//!
//! Reports read through their own read-only connection, opened per request on
//! a blocking thread: WAL mode lets them run beside the beacon writer and
//! they never queue behind it. These routes are for the site owner: put them
//! behind a proxy with authentication before exposing the collector.

// Handlers' helpers return the error answer itself (a Response) as their Err.
#![allow(clippy::result_large_err)]

use crate::report::{self, ReportError};
use crate::store::now_ms;
use crate::{dates, import};
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::path::PathBuf;
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

struct Db(PathBuf);

/// The reporting routes on the SQLite file `db` (which the collector's store has created).
pub fn routes(db: PathBuf) -> Router {
    Router::new()
        .route("/report", get(report_json))
        .route("/report/sites", get(sites))
        .route("/dashboard", get(page))
        .route("/dashboard/", get(page))
        .route("/dashboard/assets/{file}", get(asset))
        .route("/import", post(import_rows))
        .with_state(Arc::new(Db(db)))
}

fn error(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({ "error": reason.into() }))).into_response()
}

fn params(q: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// Runs `f` on a blocking thread; a panic or database failure is a 500.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Response> + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "report task failed");
        Err(error(StatusCode::INTERNAL_SERVER_ERROR, "the report failed; see the collector's log"))
    })
}

fn db_failure(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "reading the database for a report failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "reading the database failed; see the collector's log")
}

async fn report_json(State(db): State<Arc<Db>>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let today = dates::day_of_ms(now_ms());
    let query = match report::Query::parse(params(&q), today) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let built = blocking(move || {
        let conn = report::open_read_only(&db.0).map_err(db_failure)?;
        report::build(&conn, &query).map_err(|e| match e {
            ReportError::Bad(why) => error(StatusCode::BAD_REQUEST, why),
            ReportError::Db(e) => db_failure(e),
        })
    })
    .await;
    match built {
        Ok(r) => no_cache(Json(r).into_response()),
        Err(resp) => resp,
    }
}

async fn sites(State(db): State<Arc<Db>>) -> Response {
    let found = blocking(move || {
        let conn = report::open_read_only(&db.0).map_err(db_failure)?;
        report::sites(&conn).map_err(db_failure)
    })
    .await;
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
    State(db): State<Arc<Db>>,
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
    let done = blocking(move || {
        let mut conn = rusqlite::Connection::open(&db.0).map_err(db_failure)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(db_failure)?;
        import::store(&mut conn, &site, &rows, now_ms()).map_err(|e| {
            tracing::error!(error = %e, %site, "storing an import failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "storing the import failed; nothing was stored")
        })
    })
    .await;
    match done {
        Ok(d) => {
            tracing::info!(rows = d.rows, new = d.new, updated = d.updated, "imported offline conversions");
            Json(d).into_response()
        }
        Err(resp) => resp,
    }
}
