//! The HTTP face: `POST /collect`, `GET /health`, CORS, and the static folder.
//! Handlers only validate and queue; the writer thread does all storage.

use crate::config::Config;
use crate::ingest::{self, Limits, Rejection};
use crate::store::{now_ms, Accepted, Rejected, SqliteStore, Store, StoreError, Writer};
use anyhow::Context;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

/// Past the body limit, up to this many bytes are still read (and thrown
/// away) so that the client finishes sending and gets the 413: a server that
/// answers mid-upload and closes makes browsers report a network error, and
/// the tag would retry the batch instead of splitting it. Beyond this the
/// connection is simply closed.
const MAX_DRAIN: usize = 4 << 20;

/// Longest reason echoed to the client and recorded: a parser message can
/// quote the sender's input, which must not grow the log or the database.
const MAX_REASON: usize = 300;

struct App {
    writer: Writer,
    limits: Limits,
}

/// The routes with SQLite storage at `cfg.db`, for [`serve`] and in-process tests,
/// with the reporting routes of [`crate::dashboard`].
pub fn router(cfg: Config) -> anyhow::Result<Router> {
    cfg.validate()?;
    let store = SqliteStore::open(&cfg.db).with_context(|| format!("opening the database {}", cfg.db.display()))?;
    // Reports, the dashboard and imports read and write this SQLite file themselves.
    let reporting = crate::dashboard::routes(cfg.db.clone());
    Ok(router_with_store(cfg, store)?.merge(reporting))
}

/// The routes with any [`Store`]: another backend, or a test double. `cfg.db` is not used.
pub fn router_with_store(cfg: Config, store: impl Store) -> anyhow::Result<Router> {
    cfg.validate()?;
    let app = Arc::new(App {
        writer: Writer::start(store, cfg.queue_capacity).context("starting the writer thread")?,
        limits: Limits { max_body_bytes: cfg.max_body_bytes, max_events: cfg.max_events },
    });
    let collect_route = Router::new()
        .route("/collect", post(collect))
        .layer(cors(&cfg));
    let api = Router::new().route("/health", get(health)).merge(collect_route).with_state(app);
    Ok(match cfg.www {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "the static folder {} does not exist", dir.display());
            // ServeDir answers `index.html` for folders and takes content types from
            // the extension (`.wasm` → `application/wasm`, as instantiateStreaming needs).
            api.fallback_service(ServeDir::new(dir))
        }
        None => api,
    })
}

/// Serves until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, cfg: Config) -> anyhow::Result<()> {
    serve_with_shutdown(listener, cfg, std::future::pending()).await
}

/// Serves until `shutdown` completes, then finishes the requests in flight
/// (so every batch already queued is stored and answered) and returns.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    cfg: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(cfg)?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// CORS for `/collect`. The tag sends CORS-simple requests (text/plain, no
/// credentials), so browsers only need `Access-Control-Allow-Origin` on the
/// answer; preflights are answered anyway for `fetch` calls with other types.
fn cors(cfg: &Config) -> CorsLayer {
    let origins = if cfg.allowed_origins.is_empty() {
        AllowOrigin::any()
    } else {
        // Config::validate has checked that every origin is a valid header value.
        AllowOrigin::list(cfg.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        // The tag honours Retry-After on 429/503, so it must be able to read it.
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(24 * 3600))
}

async fn health(State(app): State<Arc<App>>) -> Response {
    if app.writer.is_running() {
        Json(json!({"status": "ok"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "writer stopped"}))).into_response()
    }
}

fn error(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

fn truncated(mut s: String) -> String {
    if s.len() > MAX_REASON {
        let mut end = MAX_REASON;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Reads at most `limit` bytes of the body; a longer body is drained (up to
/// [`MAX_DRAIN`]) and refused with 413 and its size.
async fn read_body(mut body: Body, limit: usize, declared: Option<usize>) -> Result<Vec<u8>, Rejection> {
    if declared.is_some_and(|n| n > MAX_DRAIN.max(limit)) {
        return Err(Rejection::too_large(declared, limit));
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Rejection::bad(format!("could not read the body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= limit {
                buf.extend_from_slice(&data);
            } else if total > MAX_DRAIN.max(limit) {
                return Err(Rejection::too_large(None, limit));
            }
        }
    }
    if total > limit {
        return Err(Rejection::too_large(Some(total), limit));
    }
    Ok(buf)
}

/// `POST /collect`: any content type (browsers send text/plain, sendBeacon
/// whatever it likes); the bytes are the batch.
async fn collect(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let received_at = now_ms();
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    let parsed = read_body(body, app.limits.max_body_bytes, declared)
        .await
        .and_then(|bytes| ingest::parse(&bytes, &app.limits));
    let batch = match parsed {
        Ok(b) => b,
        Err(Rejection { status, reason }) => {
            let reason = truncated(reason);
            tracing::info!(status = status.as_u16(), %reason, "refused a batch");
            app.writer.reject(Rejected { received_at, reason: reason.clone() });
            return error(status, &reason);
        }
    };
    let (site, events, attempt) = (batch.site.clone(), batch.events.len(), batch.attempt);
    match app.writer.store(Accepted { batch, received_at }).await {
        Ok(r) => {
            tracing::debug!(%site, events, attempt, stored = r.stored, duplicates = r.duplicates, "stored a batch");
            Json(json!({"stored": r.stored, "duplicates": r.duplicates})).into_response()
        }
        Err(StoreError::Busy) => {
            tracing::warn!(%site, events, "write queue full: answered 503");
            let mut resp = error(StatusCode::SERVICE_UNAVAILABLE, "write queue full, retry later");
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        Err(StoreError::Failed(e)) => {
            tracing::error!(error = %e, %site, "storing a batch failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "storage failed")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::truncated;

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        let cut = truncated("é".repeat(400));
        assert!(cut.len() <= super::MAX_REASON + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncated("short".into()), "short");
    }
}
