//! `GET /report` (the report as JSON, what the dashboard draws) and
//! `GET /report/sites`, on the collector's [`Store`]. The site owner's: with
//! an admin token they sit behind it (see [`crate::admin`]).

use super::{Params, Query};
use crate::dates;
use crate::error::{AppError, OrInternal};
use crate::model::now_ms;
use crate::query::Params as QueryParams;
use crate::state::AppState;
use crate::store::Store;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// The report routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/report", get(report_json)).route("/report/sites", get(sites))
}

/// `GET /report?site=…&from=…&to=…&funnel=…`.
async fn report_json(State(store): State<Arc<dyn Store>>, QueryParams(p): QueryParams<Params>) -> Result<Response, AppError> {
    let query = Query::new(p, dates::day_of_ms(now_ms())).map_err(AppError::bad)?;
    let r = super::build(&*store, &query).await?;
    Ok(no_cache(Json(r).into_response()))
}

/// `GET /report/sites`: the sites with events, most events first.
async fn sites(State(store): State<Arc<dyn Store>>) -> Result<Response, AppError> {
    let s = store.sites().await.or_500("reading the database")?;
    Ok(no_cache(Json(json!({ "sites": s })).into_response()))
}

/// The answer with `Cache-Control: no-cache`: figures change with every beacon.
pub fn no_cache(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
