//! The HTTP face: `POST /collect`, `GET /health`, CORS, and the static folder.
//! Handlers only validate and hand batches to the [`Store`].

use crate::config::Config;
use crate::decode;
use crate::error::AppError;
use crate::ingest::{Limits, Rejection};
use crate::origins::Origins;
use crate::ratelimit::{Limited, Limiters};
use crate::store::{now_ms, Accepted, Rejected, Store, StoreError};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
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
    store: Arc<dyn Store>,
    limits: Limits,
    origins: Origins,
    limiters: Limiters,
}

/// The routes on the database `cfg.db` names (SQLite or PostgreSQL, opened
/// and its schema created or migrated first), for [`serve`] and in-process tests.
pub fn router(cfg: Config) -> anyhow::Result<Router> {
    cfg.validate()?;
    let store = crate::store::open(&cfg)?;
    router_with_store(cfg, store)
}

/// The routes on any [`Store`] (another backend, or a test double; `cfg.db`
/// is not used), with the site owner's routes: reports, the dashboard and
/// imports ([`crate::dashboard`]), exports ([`crate::export`]) and spend ([`crate::spend`]), behind
/// `cfg.admin_token` when one is set ([`crate::admin`]).
pub fn router_with_store(cfg: Config, store: Arc<dyn Store>) -> anyhow::Result<Router> {
    cfg.validate()?;
    let owner = crate::dashboard::routes(store.clone())
        .merge(crate::export::routes(store.clone(), cfg.goals.clone()))
        .merge(crate::spend::routes::routes(store.clone()));
    let owner = crate::admin::protect(owner, cfg.admin_token.clone());
    let app = Arc::new(App {
        store,
        limits: cfg.limits(),
        origins: Origins::new(&cfg.allowed_origins, &cfg.site_origins),
        limiters: Limiters::new(&cfg.rate_limits),
    });
    let collect_route = Router::new().route("/collect", post(collect)).layer(cors(&app.origins.cors_list()));
    let api = Router::new().route("/health", get(health)).merge(collect_route).with_state(app).merge(owner);
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
/// Connections carry their peer address, which the per-IP rate limit needs:
/// an embedder serving [`router`] itself should use
/// `into_make_service_with_connect_info::<SocketAddr>()` too.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    cfg: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    warn_if_exposed(listener.local_addr()?, &cfg);
    let app = router(cfg)?;
    tracing::info!(addr = %listener.local_addr()?, "serving");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

/// Says so in the log when the collector listens beyond loopback while its
/// reports, dashboard, imports and exports are open to anyone who reaches it.
pub fn warn_if_exposed(addr: SocketAddr, cfg: &Config) {
    if exposed(addr, cfg) {
        tracing::warn!(
            %addr,
            "listening beyond loopback without --admin-token: /report, /dashboard, /import, /spend and /export are open \
             to anyone who can reach this address (set GOALTAG_ADMIN_TOKEN, or bind 127.0.0.1)"
        );
    }
}

/// True when the owner's routes are open (no admin token) on an address
/// other than loopback.
fn exposed(addr: SocketAddr, cfg: &Config) -> bool {
    cfg.admin_token.is_none() && !addr.ip().is_loopback()
}

/// CORS for `/collect`. The tag sends CORS-simple requests (text/plain, no
/// credentials), so browsers only need `Access-Control-Allow-Origin` on the
/// answer; preflights are answered anyway for `fetch` calls with other types.
fn cors(allowed: &[String]) -> CorsLayer {
    let origins = if allowed.is_empty() {
        AllowOrigin::any()
    } else {
        // Config::validate has checked that every origin is a valid header value.
        AllowOrigin::list(allowed.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        // The tag honours Retry-After on 429/503, so it must be able to read it.
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(24 * 3600))
}

async fn health(State(app): State<Arc<App>>) -> Result<Json<Value>, AppError> {
    match app.store.health().await {
        Ok(()) => Ok(Json(json!({"status": "ok"}))),
        Err(why) => Err(AppError::with_body(StatusCode::SERVICE_UNAVAILABLE, json!({"status": why}))),
    }
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
/// whatever it likes); the bytes are the batch. Checked in order of cost: the
/// client's rate limit, the body, the origin for its site, the site's rate limit.
async fn collect(State(app): State<Arc<App>>, req: Request) -> Result<Json<Value>, AppError> {
    let received_at = now_ms();
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    app.limiters.housekeeping();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    match app.limiters.client_ip(peer, headers) {
        Some(ip) => {
            if let Err(limited) = app.limiters.check_ip(ip) {
                // Read the body all the same (within the limit) so that the
                // browser sees the 429 rather than a reset connection.
                let _ = read_body(body, app.limits.max_body_bytes, declared).await;
                tracing::debug!(%ip, "client rate limit: answered 429");
                return Err(too_many(limited));
            }
        }
        None => no_peer_warning(),
    }
    let parsed = read_body(body, app.limits.max_body_bytes, declared)
        .await
        .and_then(|bytes| decode::parse_at(parts.uri.query(), &bytes, &app.limits, received_at));
    let batch = parsed.map_err(|r| refuse(&app, received_at, r))?;
    app.origins.check(&batch.site, headers.get(header::ORIGIN).map(|v| v.as_bytes())).map_err(|r| refuse(&app, received_at, r))?;
    app.limiters.check_site(&batch.site, batch.events.len()).map_err(|limited| {
        tracing::debug!(site = %batch.site, "site rate limit: answered 429");
        too_many(limited)
    })?;
    let (site, events, attempt) = (batch.site.clone(), batch.events.len(), batch.attempt);
    match app.store.store(Accepted { batch, received_at }).await {
        Ok(r) => {
            tracing::debug!(%site, events, attempt, stored = r.stored, duplicates = r.duplicates, "stored a batch");
            Ok(Json(json!({"stored": r.stored, "duplicates": r.duplicates})))
        }
        Err(StoreError::Busy) => {
            tracing::warn!(%site, events, "write queue full: answered 503");
            Err(AppError::new(StatusCode::SERVICE_UNAVAILABLE, "write queue full, retry later").retry_after(1))
        }
        Err(StoreError::Failed(e)) => {
            tracing::error!(error = %e, %site, "storing a batch failed");
            Err(AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage failed"))
        }
    }
}

/// A refused body: logged, recorded for data-quality reports, answered with its reason.
fn refuse(app: &App, received_at: i64, Rejection { status, reason }: Rejection) -> AppError {
    let reason = truncated(reason);
    tracing::info!(status = status.as_u16(), %reason, "refused a batch");
    app.store.reject(Rejected { received_at, reason: reason.clone() });
    AppError::new(status, reason)
}

/// 429 with `Retry-After` in seconds. Not recorded as a rejection: during a
/// flood that would be the flood's own table; the limiter logs a count instead.
fn too_many(limited: Limited) -> AppError {
    AppError::new(StatusCode::TOO_MANY_REQUESTS, limited.reason).retry_after(limited.retry_after_secs)
}

/// Without the peer address (a router served without connect info) the
/// per-IP limit cannot apply; say so once rather than per request.
fn no_peer_warning() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "no client address on requests: the per-IP rate limit is off \
             (serve with into_make_service_with_connect_info, or use --trust-forwarded-for behind a proxy)"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::truncated;

    #[test]
    fn open_owner_routes_beyond_loopback_are_what_the_start_warns_about() {
        let open = crate::Config::default();
        let locked = crate::Config { admin_token: Some("0123456789abcdef".into()), ..Default::default() };
        let at = |a: &str| a.parse().unwrap();
        assert!(super::exposed(at("0.0.0.0:8080"), &open));
        assert!(super::exposed(at("[::]:8080"), &open));
        assert!(super::exposed(at("192.0.2.7:80"), &open));
        assert!(!super::exposed(at("127.0.0.1:8080"), &open));
        assert!(!super::exposed(at("[::1]:8080"), &open));
        assert!(!super::exposed(at("0.0.0.0:8080"), &locked));
    }

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        let cut = truncated("é".repeat(400));
        assert!(cut.len() <= super::MAX_REASON + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncated("short".into()), "short");
    }
}
