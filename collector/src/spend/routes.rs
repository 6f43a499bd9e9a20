//! `POST /spend?site=…`: a spend file in the body (any of the formats of
//! [`super::header`]), stored whole or refused (400 with the line, 413 past
//! [`super::MAX_BYTES`]). The site owner's route: with an admin token it sits
//! behind it (see [`crate::admin`]).

use super::{Parsed, MAX_BYTES};
use crate::error::AppError;
use crate::import::check_site;
use crate::model::spend::SpendImported;
use crate::store::{now_ms, Store};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Serialize;
use std::sync::Arc;

/// How much of a too-large body is read and thrown away, so the sender
/// gets the 413 rather than a reset connection (a 50 MB upload is answered).
const MAX_DRAIN: usize = 2 * MAX_BYTES;

/// The spend route on `store`.
pub fn routes(store: Arc<dyn Store>) -> Router {
    Router::new().route("/spend", post(import_spend)).with_state(store)
}

/// What `POST /spend` answers: the file's format, the data rows read, and
/// what storing its rows (one per key) did.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The format recognised ("Microsoft Advertising report", …).
    pub format: &'static str,
    /// Data rows read (rows with one key are added up before storing).
    pub read: usize,
    #[serde(flatten)]
    pub stored: SpendImported,
}

async fn import_spend(
    State(store): State<Arc<dyn Store>>,
    Query(q): Query<Vec<(String, String)>>,
    body: Body,
) -> Result<Json<Answer>, AppError> {
    let mut site = None;
    for (k, v) in &q {
        match k.as_str() {
            "site" => site = Some(v.clone()),
            _ => return Err(AppError::bad(format!("unknown parameter {k:?}: expected site"))),
        }
    }
    let site = site.ok_or_else(|| AppError::bad("site: required, as in POST /spend?site=demo-shop"))?;
    check_site(&site).map_err(AppError::bad)?;
    let bytes = read_capped(body).await?;
    // Parsing 200 000 rows is CPU work: off the runtime's threads.
    let parsed: Parsed = tokio::task::spawn_blocking(move || super::parse(&bytes))
        .await
        .map_err(|e| AppError::db("reading the spend file", e))?
        .map_err(|e| AppError::bad(e.to_string()))?;
    let stored = store.import_spend(&site, parsed.rows, now_ms()).await.map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), %site, "storing spend failed");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "storing the spend failed; nothing was stored")
    })?;
    tracing::info!(%site, format = parsed.format.name(), rows = stored.rows, new = stored.new, replaced = stored.replaced, "imported spend");
    Ok(Json(Answer { format: parsed.format.name(), read: parsed.read, stored }))
}

/// The body, at most [`MAX_BYTES`]; past it 413 (after draining up to [`MAX_DRAIN`]).
async fn read_capped(mut body: Body) -> Result<Vec<u8>, AppError> {
    let too_large = || AppError::new(StatusCode::PAYLOAD_TOO_LARGE, super::too_large().why);
    let mut buf = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| AppError::bad(format!("could not read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= MAX_BYTES {
                buf.extend_from_slice(&data);
            } else if total > MAX_DRAIN {
                return Err(too_large());
            } else {
                buf = Vec::new();
            }
        }
    }
    if total > MAX_BYTES {
        return Err(too_large());
    }
    Ok(buf)
}
