//! The reference collector: accepts goaltag beacons, validates them, and stores
//! every event once (the event ID is the primary key), so the tag's
//! at-least-once delivery becomes exactly-once storage.

pub mod ingest;
pub mod store;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

/// Everything the collector can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite file; parent folders are created.
    pub db: PathBuf,
    /// Static folder served at `/` (the demo shop), if any.
    pub www: Option<PathBuf>,
    /// Origins allowed to POST from browsers; empty allows any.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub max_events: usize,
    /// Batches waiting for the writer; past this, 503 + Retry-After.
    pub queue_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: PathBuf::from("data/events.db"),
            www: None,
            allowed_origins: Vec::new(),
            max_body_bytes: 128 * 1024,
            max_events: 500,
            queue_capacity: 64,
        }
    }
}

struct AppState {
    writer: store::Writer,
    limits: ingest::Limits,
}

/// The HTTP routes, for in-process tests and for [`serve`].
pub fn router(cfg: Config) -> anyhow::Result<Router> {
    let writer = store::Writer::start(&cfg.db, cfg.queue_capacity)?;
    let state = Arc::new(AppState {
        writer,
        limits: ingest::Limits { max_body_bytes: cfg.max_body_bytes, max_events: cfg.max_events },
    });
    let origins = if cfg.allowed_origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(cfg.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER]);
    let api = Router::new()
        .route("/collect", post(collect))
        .route("/health", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .layer(cors)
        .with_state(state);
    Ok(match cfg.www {
        Some(dir) => api.fallback_service(ServeDir::new(dir)),
        None => api,
    })
}

/// Serves until the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, cfg: Config) -> anyhow::Result<()> {
    let app = router(cfg)?;
    axum::serve(listener, app).await?;
    Ok(())
}

fn error(status: StatusCode, reason: String) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}

async fn collect(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let _ = headers;
    let batch = match ingest::parse(&body, &st.limits) {
        Ok(b) => b,
        Err(e) => {
            tracing::info!(reason = %e.reason, "rejected batch");
            st.writer.reject(e.reason.clone());
            return error(e.status, e.reason);
        }
    };
    match st.writer.store(batch).await {
        Ok(r) => Json(serde_json::json!({"stored": r.stored, "duplicates": r.duplicates})).into_response(),
        Err(store::StoreError::Busy) => {
            let mut resp = error(StatusCode::SERVICE_UNAVAILABLE, "write queue full, retry later".into());
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        Err(store::StoreError::Failed(e)) => {
            tracing::error!(error = %e, "storing a batch failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "storage failed".into())
        }
    }
}
