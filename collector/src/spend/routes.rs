//! `POST /spend?site=…`: a spend file in the body (any of the formats of
//! [`super::header`]), stored whole or refused (400 with the line, 413 past
//! [`super::MAX_BYTES`]). The site owner's route: with an admin token it sits
//! behind it (see [`crate::admin`]).

use super::{Parsed, MAX_BYTES};
use crate::error::{AppError, OrInternal};
use crate::import::check_site;
use crate::model::now_ms;
use crate::model::spend::SpendImported;
use crate::query::Params;
use crate::state::AppState;
use crate::store::Store;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How much of a too-large body is read and thrown away, so the sender
/// gets the 413 rather than a reset connection (a 50 MB upload is answered).
const MAX_DRAIN: usize = 2 * MAX_BYTES;

/// The spend route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/spend", post(import_spend))
}

/// The parameters of `POST /spend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendParams {
    /// The site the spend is of (required).
    pub site: Option<String>,
}

/// What `POST /spend` answers: the file's format, the data rows read, and
/// what storing its rows (one per key) did.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The format recognised ("Microsoft Advertising report", …).
    pub format: &'static str,
    /// Data rows read (rows with one key are added up before storing).
    pub read: usize,
    /// What storing the rows did.
    #[serde(flatten)]
    pub stored: SpendImported,
}

async fn import_spend(State(store): State<Arc<dyn Store>>, Params(p): Params<SpendParams>, body: Body) -> Result<Json<Answer>, AppError> {
    let site = p.site.ok_or_else(|| AppError::bad("site: required, as in POST /spend?site=demo-shop"))?;
    check_site(&site).map_err(AppError::bad)?;
    let bytes = read_capped(body).await?;
    // Parsing 200 000 rows is CPU work: off the runtime's threads.
    let parsed: Parsed = tokio::task::spawn_blocking(move || super::parse(&bytes))
        .await
        .or_500("reading the spend file")?
        .map_err(|e| AppError::bad(e.to_string()))?;
    // One transaction: a failure stores nothing.
    let stored = store.import_spend(&site, parsed.rows, now_ms()).await.or_500("storing the spend")?;
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
