//! `POST /collect` and `GET /health`: the routes browsers reach. Handlers
//! only check (the client's rate limit, the body, its origin, the site's rate
//! limit, in order of cost) and hand batches to the [`Store`].

use crate::decode;
use crate::error::AppError;
use crate::ingest::Rejection;
use crate::model::now_ms;
use crate::ratelimit::Limited;
use crate::state::{AppState, Collect};
use crate::store::{Accepted, Rejected, Store, StoreError};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Past the body limit, up to this many bytes are still read (and thrown
/// away) so that the client finishes sending and gets the 413: a server that
/// answers mid-upload and closes makes browsers report a network error, and
/// the tag would retry the batch instead of splitting it. Beyond this the
/// connection is simply closed.
const MAX_DRAIN: usize = 4 << 20;

/// Longest reason echoed to the client and recorded: a parser message can
/// quote the sender's input, which must not grow the log or the database.
const MAX_REASON: usize = 300;

/// `POST /collect` (with CORS for the origins `collect` allows) and `GET /health`.
pub fn routes(collect: &Collect) -> Router<AppState> {
    let collect_route = Router::new().route("/collect", post(self::collect)).layer(cors(&collect.origins.cors_list()));
    Router::new().route("/health", get(health)).merge(collect_route)
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

async fn health(State(store): State<Arc<dyn Store>>) -> Result<Json<Value>, AppError> {
    match store.health().await {
        Ok(()) => Ok(Json(json!({"status": "ok"}))),
        Err(why) => Err(AppError::with_body(StatusCode::SERVICE_UNAVAILABLE, json!({"status": why}))),
    }
}

/// `s` cut to [`MAX_REASON`] bytes on a character boundary (std's
/// `floor_char_boundary`), with `…` when cut. Not a copy of the tag's `cut`
/// (`src/core/tracker/mod.rs`), which counts characters against the wire's
/// limits: this one bounds bytes for the log and the database.
fn truncated(mut s: String) -> String {
    if s.len() > MAX_REASON {
        s.truncate(s.floor_char_boundary(MAX_REASON));
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
async fn collect(State(app): State<Arc<Collect>>, State(store): State<Arc<dyn Store>>, req: Request) -> Result<Json<Value>, AppError> {
    let received_at = now_ms();
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    app.limiters.housekeeping();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let client_ip = app.limiters.client_ip(peer, headers);
    match client_ip {
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
    let batch = parsed.map_err(|r| refuse(&*store, received_at, r))?;
    app.origins.check(&batch.site, headers.get(header::ORIGIN).map(|v| v.as_bytes())).map_err(|r| refuse(&*store, received_at, r))?;
    app.limiters.check_site(&batch.site, batch.events.len()).map_err(|limited| {
        tracing::debug!(site = %batch.site, "site rate limit: answered 429");
        too_many(limited)
    })?;
    let (site, events, attempt) = (batch.site.clone(), batch.events.len(), batch.attempt);
    // Kept by the store only for conversions with ad_user_data granted (Accepted::ad_data).
    let user_agent = user_agent(headers);
    let client_ip = client_ip.filter(|_| app.keep_client_ip).map(|ip| ip.to_string());
    let r = store.store(Accepted { batch, received_at, user_agent, client_ip }).await.inspect_err(|e| {
        if matches!(e, StoreError::Busy) {
            tracing::warn!(%site, events, "write queue full: answered 503");
        }
    })?;
    tracing::debug!(%site, events, attempt, stored = r.stored, duplicates = r.duplicates, "stored a batch");
    Ok(Json(json!({"stored": r.stored, "duplicates": r.duplicates})))
}

/// The request's `User-Agent` as text (visible ASCII, as browsers send it),
/// cut to the wire's text limit; None when absent, empty or not text.
fn user_agent(headers: &axum::http::HeaderMap) -> Option<String> {
    let ua = headers.get(header::USER_AGENT)?.to_str().ok()?.trim();
    let max = goaltag_wire::limits::MAX_TEXT;
    (!ua.is_empty()).then(|| ua[..ua.len().min(max)].to_string())
}

/// A refused body: logged, recorded for data-quality reports, answered with its reason.
fn refuse(store: &dyn Store, received_at: i64, Rejection { status, reason }: Rejection) -> AppError {
    let reason = truncated(reason);
    tracing::info!(status = status.as_u16(), %reason, "refused a batch");
    store.reject(Rejected { received_at, reason: reason.clone() });
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
    fn long_reasons_are_cut_on_a_character_boundary() {
        let cut = truncated("é".repeat(400));
        assert!(cut.len() <= super::MAX_REASON + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncated("short".into()), "short");
    }
}
