//! `POST /import?site=…`: a CSV or JSON-lines file of offline conversions,
//! stored whole or not at all (see [`crate::import`]). The site owner's: with
//! an admin token it sits behind it (see [`crate::admin`]).

use super::{check_site, parse, Format, Imported, MAX_BYTES};
use crate::error::{AppError, OrInternal};
use crate::model::now_ms;
use crate::query::Params;
use crate::state::AppState;
use crate::store::Store;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

/// The import route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/import", post(import_rows))
}

/// The parameters of `POST /import`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// The site the rows are of (required).
    pub site: Option<String>,
}

/// `POST /import?site=…`: the body is the file; its type from `Content-Type`, else from its first character.
async fn import_rows(
    State(store): State<Arc<dyn Store>>,
    Params(p): Params<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Imported>, AppError> {
    let site = p.site.ok_or_else(|| AppError::bad("site: required, as in POST /import?site=demo-shop"))?;
    check_site(&site).map_err(AppError::bad)?;
    let bytes = axum::body::to_bytes(body, MAX_BYTES)
        .await
        .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the file is larger than {} MiB; split it", MAX_BYTES >> 20)))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| AppError::bad("the file is not UTF-8 text"))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let rows = parse(text, Format::detect(content_type, text)).map_err(AppError::bad)?;
    // One transaction: a failure stores nothing.
    let d = store.import(&site, rows, now_ms()).await.or_500("storing the import")?;
    tracing::info!(%site, rows = d.rows, new = d.new, updated = d.updated, "imported offline conversions");
    Ok(Json(d))
}
