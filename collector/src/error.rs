//! The one error type of the HTTP handlers. A handler returns
//! `Result<T, AppError>`; [`AppError`]'s `IntoResponse` makes the answer
//! (status, JSON body, extra headers), as in axum's error-handling example.
//! Most errors are `{"error": "reason"}`; the reason says what to change.

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

    /// 500 for a failed database read or write: the cause goes to the log,
    /// the client learns only that it failed.
    pub fn db(what: &str, e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "{what} failed");
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

impl From<crate::report::ReportError> for AppError {
    fn from(e: crate::report::ReportError) -> AppError {
        match e {
            crate::report::ReportError::Bad(why) => AppError::bad(why),
            crate::report::ReportError::Db(e) => AppError::db("reading the database", format!("{e:#}")),
        }
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
    }
}
