//! The admin token (`--admin-token`, `GOALTAG_ADMIN_TOKEN`): with it, the
//! site owner's routes (`/report`, `/report/sites`, `/dashboard` and its
//! assets, `/import`, `/spend`, `/export`) answer only a request that carries the token,
//! as `Authorization: Bearer <token>` or as the cookie the dashboard's login
//! form sets. Without it they stay open (the demo). `/collect`, `/health` and
//! the static folder are never behind it: browsers must reach them.
//!
//! The token is compared in constant time (the `subtle` crate), so the time
//! of a refusal does not tell how much of a guess was right. The cookie is
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! can make the browser send it, so a cross-site form cannot post an import),
//! `Path=/`, and `Secure` when the login came over HTTPS (an `https://`
//! Origin, or `X-Forwarded-Proto: https` from a proxy); it lasts until the
//! browser closes.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The cookie the login form sets.
pub const COOKIE: &str = "goaltag_admin";
/// Shortest token accepted: guessing one must be hopeless.
pub const MIN_TOKEN: usize = 16;
/// Longest token accepted (it travels in a header and a cookie).
pub const MAX_TOKEN: usize = 256;

/// Checks a token for use: [`MIN_TOKEN`] to [`MAX_TOKEN`] characters that a
/// header and a cookie can carry as they are (visible ASCII but `"`, `,`,
/// `;` and `\`).
pub fn check_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_TOKEN || token.len() > MAX_TOKEN {
        return Err(format!(
            "admin token: expected {MIN_TOKEN} to {MAX_TOKEN} characters, got {} (make one with: openssl rand -hex 32)",
            token.len()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\')) {
        return Err("admin token: only visible ASCII characters other than \" , ; and \\ (openssl rand -hex 32 makes one)".into());
    }
    Ok(())
}

struct Token(String);

impl Token {
    fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }

    /// True when the request carries the token, in the header or the cookie.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110).
            .filter_map(|v| v.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer ")).map(|_| v[7..].trim()));
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='));
        // Every candidate is compared, so the time does not say which one failed.
        bearer.chain(cookies).fold(false, |ok, given| self.matches(given) | ok)
    }
}

/// Puts the routes of `owner` behind `token` (none: leaves them open) and
/// adds `GET`/`POST /login` for the dashboard's form. Only the routes of
/// `owner` are guarded: a path it does not have falls through unguarded.
pub fn protect<S: Clone + Send + Sync + 'static>(owner: Router<S>, token: Option<String>) -> Router<S> {
    let Some(token) = token else { return owner };
    let token = Arc::new(Token(token));
    let guarded = owner.route_layer(axum::middleware::from_fn_with_state(token.clone(), require));
    let login = Router::new().route("/login", get(login_page).post(login)).with_state(token);
    guarded.merge(login)
}

async fn require(State(token): State<Arc<Token>>, req: Request, next: Next) -> Response {
    if token.admits(req.headers()) {
        return next.run(req).await;
    }
    if req.uri().path().starts_with("/dashboard") && req.method() == axum::http::Method::GET {
        // A person at a browser: the login form, which sets the cookie.
        return page(StatusCode::UNAUTHORIZED, "");
    }
    let reason = "this route needs the admin token: send Authorization: Bearer <token> (or log in at /login)";
    crate::error::AppError::new(StatusCode::UNAUTHORIZED, reason)
        .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"goaltag\""))
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login_page() -> Response {
    page(StatusCode::OK, "")
}

/// True when the browser reached the collector over HTTPS (directly, or
/// through a proxy that says so): the cookie is then marked `Secure`.
fn over_https(headers: &HeaderMap) -> bool {
    let said = |name: &str, want: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().to_ascii_lowercase().starts_with(want))
    };
    said("x-forwarded-proto", "https") || said("origin", "https://")
}

/// `POST /login` (a form with `token`): the right token sets the cookie and
/// goes on to the dashboard; a wrong one shows the form again with 401.
async fn login(State(token): State<Arc<Token>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if !token.matches(form.token.trim()) {
        tracing::warn!("a login with a wrong admin token");
        return page(StatusCode::UNAUTHORIZED, "That token is not the admin token.");
    }
    let secure = if over_https(&headers) { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}", token.0);
    let mut resp = Redirect::to("/dashboard").into_response();
    // check_token has made sure the token is a valid header value.
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The login form: plain HTML, nothing loaded, nothing inline to run.
fn page(status: StatusCode, message: &str) -> Response {
    let message = if message.is_empty() { String::new() } else { format!("<p role=\"alert\"><strong>{message}</strong></p>\n") };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>goaltag: log in</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n<body>\n<h1>goaltag dashboard</h1>\n\
         <p>The collector was started with an admin token. Enter it to open the dashboard.</p>\n{message}\
         <form method=\"post\" action=\"/login\">\n<label>Admin token <input type=\"password\" name=\"token\" id=\"token\" \
         autocomplete=\"current-password\" required autofocus></label>\n<button type=\"submit\" id=\"login\">Log in</button>\n</form>\n</body></html>\n"
    );
    let mut resp = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123";

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_header_or_the_cookie_admits_and_nothing_else_does() {
        let t = Token(T.into());
        assert!(t.admits(&headers(&[(header::AUTHORIZATION, &format!("Bearer {T}"))])));
        assert!(t.admits(&headers(&[(header::COOKIE, &format!("a=b; {COOKIE}={T}; c=d"))])));
        assert!(!t.admits(&headers(&[])));
        assert!(t.admits(&headers(&[(header::AUTHORIZATION, &format!("bearer {T}"))])), "the scheme is case-insensitive");
        assert!(!t.admits(&headers(&[(header::AUTHORIZATION, &format!("Basic {T}"))])));
        assert!(!t.admits(&headers(&[(header::AUTHORIZATION, "Bearer")])));
        assert!(!t.admits(&headers(&[(header::AUTHORIZATION, &format!("Bearer {T}x"))])));
        assert!(!t.admits(&headers(&[(header::COOKIE, &format!("x{COOKIE}={T}"))])));
        // A wrong header does not hide a right cookie.
        assert!(t.admits(&headers(&[(header::AUTHORIZATION, "Bearer nope"), (header::COOKIE, &format!("{COOKIE}={T}"))])));
    }

    #[test]
    fn the_cookie_is_secure_when_the_browser_came_over_https() {
        assert!(over_https(&headers(&[(header::ORIGIN, "https://stats.example")])));
        assert!(over_https(&headers(&[(header::HeaderName::from_static("x-forwarded-proto"), "https")])));
        assert!(!over_https(&headers(&[(header::ORIGIN, "http://127.0.0.1:8080")])));
        assert!(!over_https(&headers(&[])));
    }

    #[test]
    fn tokens_must_be_long_and_header_safe() {
        assert!(check_token(T).is_ok());
        assert!(check_token("short").unwrap_err().contains("16 to 256"));
        assert!(check_token("0123456789abcdef;x").is_err());
        assert!(check_token("0123456789 abcdefx").is_err());
    }
}
