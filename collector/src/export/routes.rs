//! `GET /export` (the upload file) and `GET /export/platforms` (the
//! dashboard's "Ad platforms" panel). Both are the site owner's: with an
//! admin token they sit behind it (see [`crate::admin`]).

use super::{Goals, Request};
use crate::dates;
use crate::error::{blocking, AppError};
use crate::store::now_ms;
use axum::extract::{Query, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// The header `GET /export` states its summary in (what went, what was left out and why).
pub const SUMMARY_HEADER: &str = "goaltag-export-summary";

struct Files {
    db: PathBuf,
    goals: Option<PathBuf>,
}

impl Files {
    fn goals(&self) -> Result<Goals, AppError> {
        match &self.goals {
            None => Ok(Goals::default()),
            Some(p) => Goals::load(p).map_err(|e| AppError::db("reading the goals file", e)),
        }
    }

    fn open(&self) -> Result<rusqlite::Connection, AppError> {
        let conn = rusqlite::Connection::open(&self.db).map_err(|e| AppError::db("opening the database", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| AppError::db("opening the database", e))?;
        Ok(conn)
    }
}

/// The export routes on the SQLite file `db`; `goals` is the site's goal configuration, if given.
pub fn routes(db: PathBuf, goals: Option<PathBuf>) -> Router {
    Router::new().route("/export", get(export)).route("/export/platforms", get(platforms)).with_state(Arc::new(Files { db, goals }))
}

fn pairs(q: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    q.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// `GET /export?site=…&platform=…[&goal=…][&from=…&to=…][&name=GOAL=Name][&window_days=…][&since_last=true]`.
async fn export(State(files): State<Arc<Files>>, Query(q): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    let req = Request::parse(pairs(&q)).map_err(AppError::bad)?;
    let platform = req.platform;
    let site = req.site.clone();
    let (file, summary) = blocking("the export", move || {
        let goals = files.goals()?;
        let mut conn = files.open()?;
        let mut file = String::new();
        let summary = super::run(&mut conn, &req, &goals, now_ms(), |f| {
            file = f;
            Ok(())
        })
        .map_err(|e| AppError::db("the export", e))?;
        Ok((file, summary))
    })
    .await?;
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
async fn platforms(State(files): State<Arc<Files>>, Query(q): Query<Vec<(String, String)>>) -> Result<Response, AppError> {
    let today = dates::day_of_ms(now_ms());
    let query = crate::report::Query::parse(pairs(&q).filter(|(k, _)| *k != "funnel"), today).map_err(AppError::bad)?;
    let site = query.site.clone().ok_or_else(|| AppError::bad("site: required, as in /export/platforms?site=demo-shop"))?;
    crate::import::check_site(&site).map_err(AppError::bad)?;
    let rows = blocking("the ad platforms panel", move || {
        let goals = files.goals()?;
        let conn = files.open()?;
        super::panel(&conn, &site, query.from, query.to, &goals, now_ms()).map_err(|e| AppError::db("reading the database", e))
    })
    .await?;
    let platforms: Vec<_> = rows.iter().map(|r| json!(r)).collect();
    let mut resp = Json(json!({ "platforms": platforms })).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(resp)
}
