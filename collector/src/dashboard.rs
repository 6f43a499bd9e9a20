//! The `/dashboard` page with its script and the vendored chart library. The
//! page reads its figures from `GET /report` ([`crate::report::routes`]) and
//! `GET /export/platforms` ([`crate::export::routes`]). For the site owner:
//! with `--admin-token` it answers only requests carrying it (see [`crate::admin`]).

use crate::error::AppError;
use crate::report::routes::no_cache;
use crate::state::AppState;
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// uPlot's version, in the asset URLs so a new version is never mixed with a cached old one.
pub const UPLOT_VERSION: &str = "1.6.32";

/// The page; `{{UPLOT_VERSION}}` is filled in when served.
const PAGE: &str = include_str!("../assets/dashboard.html");
/// Served assets: (name, content type, bytes).
const ASSETS: [(&str, &str, &str); 5] = [
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("../assets/dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_str!("../assets/dashboard.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_str!("../assets/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_str!("../assets/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_str!("../assets/uPlot.LICENSE")),
];

/// Everything the page loads comes from the collector itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// `/dashboard` and its assets (the figures come from [`crate::report::routes`]).
pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(page)).route("/dashboard/", get(page)).route("/dashboard/assets/{file}", get(asset))
}

/// `GET /dashboard`: the page, its chart library's version filled in.
async fn page() -> Response {
    let html = PAGE.replace("{{UPLOT_VERSION}}", UPLOT_VERSION);
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    no_cache(r)
}

/// `GET /dashboard/assets/{file}`: one of [`ASSETS`].
async fn asset(UrlPath(file): UrlPath<String>) -> Result<Response, AppError> {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ct, body)) => Ok(no_cache(([(header::CONTENT_TYPE, *ct)], *body).into_response())),
        None => Err(AppError::new(StatusCode::NOT_FOUND, format!("no dashboard asset {file:?}"))),
    }
}
