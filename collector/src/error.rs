//! The one error type of the HTTP handlers. A handler returns
//! `Result<T, AppError>`; [`AppError`]'s `IntoResponse` makes the answer
//! (status, JSON body, extra headers), as in axum's error-handling example.
//! Most errors are `{"error": "reason"}`; the reason says what to change.
//!
//! Every 500 is made by [`AppError::internal`] (or [`OrInternal::or_500`],
//! its shorthand on a `Result`): the cause goes to the log, the client
//! learns what failed. The domain's errors convert with `From`, so handlers
//! use `?`: [`ReportError`] (400 or 500), [`StoreError`] (503 or 500).

use crate::report::ReportError;
use crate::store::StoreError;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An answer other than success: its status, its JSON body and any headers
/// it needs (`Retry-After` on 429 and 503, `WWW-Authenticate` on 401).
#[derive(Debug)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The JSON body; `{"error": reason}` unless made with [`AppError::with_body`].
    pub body: Value,
    /// Headers added to the answer.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl AppError {
    /// `status` with `{"error": reason}`.
    pub fn new(status: StatusCode, reason: impl Into<String>) -> AppError {
        AppError { status, body: json!({ "error": reason.into() }), headers: Vec::new() }
    }

    /// 400 with `{"error": reason}`: the request was wrong, the reason says how.
    pub fn bad(reason: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, reason)
    }

    /// `status` with a body of another shape (`GET /health` answers `{"status": …}`).
    pub fn with_body(status: StatusCode, body: Value) -> AppError {
        AppError { status, body, headers: Vec::new() }
    }

    /// The same error with one more header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> AppError {
        self.headers.push((name, value));
        self
    }

    /// The same error with `Retry-After: secs`.
    pub fn retry_after(self, secs: u64) -> AppError {
        self.header(header::RETRY_AFTER, HeaderValue::from(secs))
    }

    /// 500, the one way: `what` failed (a database read or write, the goals
    /// file); the cause goes to the log (with its chain, `{:#}`), the client
    /// learns only what failed.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %format!("{e:#}"), "{what} failed");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed; see the collector's log"))
    }

    /// The reason of an `{"error": …}` body (empty for other bodies).
    pub fn reason(&self) -> &str {
        self.body.get("error").and_then(Value::as_str).unwrap_or("")
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body)).into_response();
        for (name, value) in self.headers {
            resp.headers_mut().insert(name, value);
        }
        resp
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.body)
    }
}

impl std::error::Error for AppError {}

/// A wrong question is 400 with its reason; a failed read is a 500.
impl From<ReportError> for AppError {
    fn from(e: ReportError) -> AppError {
        match e {
            ReportError::Bad(why) => AppError::bad(why),
            ReportError::Db(e) => AppError::internal("reading the database", e),
        }
    }
}

/// A full write queue is 503 with `Retry-After: 1` (the tag retries then);
/// a failed store is a 500.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Busy => AppError::new(StatusCode::SERVICE_UNAVAILABLE, "write queue full, retry later").retry_after(1),
            StoreError::Failed(e) => AppError::internal("storing the batch", e),
        }
    }
}

/// [`AppError::internal`] on the error of a `Result`: `store.sites().await.or_500("reading the database")?`.
pub trait OrInternal<T> {
    /// `Ok` as it is; an error becomes a 500 saying `what` failed.
    fn or_500(self, what: &str) -> Result<T, AppError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_500(self, what: &str) -> Result<T, AppError> {
        self.map_err(|e| AppError::internal(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_carries_status_body_and_headers() {
        let resp = AppError::new(StatusCode::SERVICE_UNAVAILABLE, "write queue full, retry later").retry_after(1).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(AppError::bad("x").reason(), "x");
        let busy = AppError::from(StoreError::Busy);
        assert_eq!((busy.status, busy.headers.len()), (StatusCode::SERVICE_UNAVAILABLE, 1));
        let failed: Result<(), _> = Err(anyhow::anyhow!("disk full")).or_500("storing the import");
        let failed = failed.unwrap_err();
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.reason(), "storing the import failed; see the collector's log", "the cause stays in the log");
    }
}
