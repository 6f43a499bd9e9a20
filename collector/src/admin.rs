//! The admin token (`--admin-token`, `GOALTAG_ADMIN_TOKEN`): with it, the
//! site owner's routes (`/report`, `/report/sites`, `/dashboard` and its
//! assets, `/import`, `/spend`, `/export`) answer only a request that carries the token
//! as `Authorization: Bearer <token>`, or the session cookie the dashboard's
//! login form sets. Without it they stay open (the demo). `/collect`,
//! `/health` and the static folder are never behind it: browsers must reach them.
//!
//! The cookie does not carry the token: it is a session, `NONCE.EXPIRES.MAC`,
//! a random nonce and an expiry ([`SESSION_SECS`] after login) signed with
//! HMAC-SHA256 under the token. Any collector started with the same token
//! accepts it (N instances behind a proxy need no shared session store); a
//! new token ends every session. `POST /logout` clears the cookie and revokes
//! its nonce on the collector that answered (kept in memory until the
//! session would have expired anyway).
//!
//! The token and the MAC are compared in constant time (`subtle`, `hmac`),
//! so the time of a refusal does not tell how much of a guess was right. The
//! cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other
//! site's page can make the browser send it, so a cross-site form cannot post
//! an import), `Path=/`, and `Secure` when the login came over HTTPS (an
//! `https://` Origin, or `X-Forwarded-Proto: https` from a proxy); the browser
//! drops it when it closes.

use crate::model::now_ms;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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

/// How long a login lasts: a working day. After it the dashboard shows the login form again.
pub const SESSION_SECS: i64 = 12 * 3600;

/// What is signed, so a MAC made for anything else never passes as a session.
const SESSION_CONTEXT: &[u8] = b"goaltag-admin-session:";

/// The admin token and the sessions it signed: what [`protect`] guards with.
pub struct Admin {
    token: String,
    /// Logged-out nonces, with the time (s) their session would have expired.
    revoked: Mutex<HashMap<String, i64>>,
}

impl Admin {
    /// The guard for `token` (checked by [`check_token`] at start-up).
    pub fn new(token: String) -> Admin {
        Admin { token, revoked: Mutex::new(HashMap::new()) }
    }

    fn matches(&self, given: &str) -> bool {
        self.token.as_bytes().ct_eq(given.as_bytes()).into()
    }

    fn mac(&self, nonce: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.token.as_bytes()).expect("HMAC takes a key of any length");
        mac.update(SESSION_CONTEXT);
        mac.update(format!("{nonce}.{expires}").as_bytes());
        mac
    }

    /// A new session cookie value, valid until `now_s + SESSION_SECS`.
    fn issue(&self, now_s: i64) -> String {
        let mut nonce = [0u8; 16];
        // The OS's generator; without one no session can be made safely.
        getrandom::fill(&mut nonce).expect("the operating system's random number generator failed");
        let nonce = hex(&nonce);
        let expires = now_s + SESSION_SECS;
        let mac = hex(&self.mac(&nonce, expires).finalize().into_bytes());
        format!("{nonce}.{expires}.{mac}")
    }

    /// The nonce and expiry of `cookie` when it is a session this token
    /// signed that has not expired by `now_s` nor been logged out.
    fn session(&self, cookie: &str, now_s: i64) -> Option<(String, i64)> {
        let mut parts = cookie.split('.');
        let (nonce, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        let mac = unhex(mac)?;
        self.mac(nonce, expires).verify_slice(&mac).ok()?;
        if expires <= now_s || self.revoked.lock().unwrap_or_else(|e| e.into_inner()).contains_key(nonce) {
            return None;
        }
        Some((nonce.to_string(), expires))
    }

    /// Ends the session of `cookie` (if it is a live one) on this collector.
    fn revoke(&self, cookie: &str, now_s: i64) {
        if let Some((nonce, expires)) = self.session(cookie, now_s) {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            revoked.retain(|_, until| *until > now_s);
            revoked.insert(nonce, expires);
        }
    }

    /// True when the request carries the token in the header, or a live session cookie.
    fn admits(&self, headers: &HeaderMap, now_s: i64) -> bool {
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110).
            .filter_map(|v| v.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer ")).map(|_| v[7..].trim()));
        // Every candidate is checked, so the time does not say which one failed.
        let by_header = bearer.fold(false, |ok, given| self.matches(given) | ok);
        let by_cookie = cookies(headers).fold(false, |ok, c| self.session(c, now_s).is_some() | ok);
        by_header | by_cookie
    }
}

/// The values of every `goaltag_admin` cookie the request carries.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn now_s() -> i64 {
    now_ms().div_euclid(1000)
}

/// Puts the routes of `owner` behind `admin` (none: leaves them open) and
/// adds `GET`/`POST /login` for the dashboard's form and `POST /logout`.
/// Only the routes of `owner` are guarded: a path it does not have falls
/// through unguarded.
pub fn protect<S: Clone + Send + Sync + 'static>(owner: Router<S>, admin: Option<Arc<Admin>>) -> Router<S> {
    let Some(admin) = admin else { return owner };
    let guarded = owner.route_layer(axum::middleware::from_fn_with_state(admin.clone(), require));
    let login = Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout)).with_state(admin);
    guarded.merge(login)
}

async fn require(State(admin): State<Arc<Admin>>, req: Request, next: Next) -> Response {
    if admin.admits(req.headers(), now_s()) {
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

/// `POST /login` (a form with `token`): the right token sets a session
/// cookie and goes on to the dashboard; a wrong one shows the form again with 401.
async fn login(State(admin): State<Arc<Admin>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if !admin.matches(form.token.trim()) {
        tracing::warn!("a login with a wrong admin token");
        return page(StatusCode::UNAUTHORIZED, "That token is not the admin token.");
    }
    let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{}", admin.issue(now_s()), secure(&headers));
    with_cookie(Redirect::to("/dashboard").into_response(), &cookie)
}

/// `POST /logout`: ends the session of the cookie sent (on this collector),
/// clears the cookie, and goes to the login form.
async fn logout(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    for c in cookies(&headers) {
        admin.revoke(c, now_s());
    }
    let cookie = format!("{COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/{}", secure(&headers));
    with_cookie(Redirect::to("/login").into_response(), &cookie)
}

/// `; Secure` when the browser came over HTTPS.
fn secure(headers: &HeaderMap) -> &'static str {
    if over_https(headers) {
        "; Secure"
    } else {
        ""
    }
}

fn with_cookie(mut resp: Response, cookie: &str) -> Response {
    // Hex, digits and fixed attributes: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(cookie) {
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
    const NOW: i64 = 1_800_000_000;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_header_or_a_session_admits_and_nothing_else_does() {
        let a = Admin::new(T.into());
        let session = a.issue(NOW);
        let cookie = |v: &str| headers(&[(header::COOKIE, &format!("a=b; {COOKIE}={v}; c=d"))]);
        assert!(a.admits(&headers(&[(header::AUTHORIZATION, &format!("Bearer {T}"))]), NOW));
        assert!(a.admits(&cookie(&session), NOW));
        assert!(!session.contains(T), "the cookie does not carry the token");
        assert!(!a.admits(&cookie(T), NOW), "nor does the raw token work as a cookie");
        assert!(!a.admits(&headers(&[]), NOW));
        assert!(a.admits(&headers(&[(header::AUTHORIZATION, &format!("bearer {T}"))]), NOW), "the scheme is case-insensitive");
        assert!(!a.admits(&headers(&[(header::AUTHORIZATION, &format!("Basic {T}"))]), NOW));
        assert!(!a.admits(&headers(&[(header::AUTHORIZATION, "Bearer")]), NOW));
        assert!(!a.admits(&headers(&[(header::AUTHORIZATION, &format!("Bearer {T}x"))]), NOW));
        assert!(!a.admits(&headers(&[(header::COOKIE, &format!("x{COOKIE}={session}"))]), NOW));
        // A wrong header does not hide a right cookie.
        let both = headers(&[(header::AUTHORIZATION, "Bearer nope"), (header::COOKIE, &format!("{COOKIE}={session}"))]);
        assert!(a.admits(&both, NOW));
    }

    #[test]
    fn sessions_expire_cannot_be_forged_and_end_at_logout() {
        let a = Admin::new(T.into());
        let session = a.issue(NOW);
        assert!(a.session(&session, NOW + SESSION_SECS - 1).is_some());
        assert!(a.session(&session, NOW + SESSION_SECS).is_none(), "expired");
        // Moving the expiry breaks the MAC.
        let (nonce, rest) = session.split_once('.').unwrap();
        let mac = rest.split_once('.').unwrap().1;
        assert!(a.session(&format!("{nonce}.{}.{mac}", NOW + 10 * SESSION_SECS), NOW).is_none());
        // Another token's session is not this one's.
        assert!(Admin::new("another-token-0123456789".into()).session(&session, NOW).is_none());
        assert!(a.session("garbage", NOW).is_none());
        let other = a.issue(NOW);
        a.revoke(&session, NOW + 1);
        assert!(a.session(&session, NOW + 1).is_none(), "logged out");
        assert!(a.session(&other, NOW + 1).is_some(), "another login stays");
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
