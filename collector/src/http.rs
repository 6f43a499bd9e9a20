//! The router: every feature's routes on one [`AppState`], the site owner's
//! behind the admin token, the static folder as the fallback; and serving it.
//! The routes themselves live with their feature: `POST /collect` and
//! `GET /health` in [`crate::ingest::routes`], reports in
//! [`crate::report::routes`], the dashboard page in [`crate::dashboard`],
//! imports in [`crate::import::routes`], exports in [`crate::export::routes`],
//! login in [`crate::admin`].

use crate::admin::Admin;
use crate::config::Config;
use crate::origins::Origins;
use crate::ratelimit::Limiters;
use crate::state::{AppState, Collect, GoalsFile};
use crate::store::Store;
use axum::http::{header, HeaderValue};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;

/// The caching of the static folder's files: kept, but checked with the
/// collector on every use (`Last-Modified`, a 304 when unchanged). The tag's
/// files have no version in their names, and its script and wasm must come
/// from the same build: a browser that kept one for a while (heuristic
/// freshness, 10 % of the file's age, without this header) could pair an old
/// wasm with a new script after an upgrade. A 304 keeps the browser's cached
/// copy, and with it V8's compiled code for the wasm (docs/startup.md).
pub const STATIC_CACHE: &str = "no-cache";

/// The routes on the database `cfg.db` names (SQLite or PostgreSQL, opened
/// and its schema created or migrated first), for [`serve`] and in-process tests.
pub fn router(cfg: Config) -> anyhow::Result<Router> {
    cfg.validate()?;
    let store = cfg.open_store()?;
    router_with_store(cfg, store)
}

/// The routes on any [`Store`] (another backend, or a test double; `cfg.db`
/// is not used), with the site owner's routes: reports, the dashboard and
/// imports, exports and spend, behind `cfg.admin_token` when one is set ([`crate::admin`]).
pub fn router_with_store(cfg: Config, store: Arc<dyn Store>) -> anyhow::Result<Router> {
    cfg.validate()?;
    let collect = Arc::new(Collect {
        limits: cfg.limits(),
        origins: Origins::new(&cfg.allowed_origins, &cfg.site_origins),
        limiters: Limiters::new(&cfg.rate_limits),
        keep_client_ip: cfg.keep_client_ip,
    });
    let owner = Router::new()
        .merge(crate::report::routes::routes())
        .merge(crate::dashboard::routes())
        .merge(crate::import::routes::routes())
        .merge(crate::export::routes::routes())
        .merge(crate::spend::routes::routes());
    let admin = cfg.admin_token.clone().map(|t| Arc::new(Admin::new(t)));
    let owner = crate::admin::protect(owner, admin.clone());
    let state = AppState { store, collect: collect.clone(), goals: GoalsFile(cfg.goals.clone()), admin };
    let api = crate::ingest::routes::routes(&collect).merge(owner).with_state(state);
    Ok(match cfg.www {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "the static folder {} does not exist", dir.display());
            // ServeDir answers `index.html` for folders, takes content types from
            // the extension (`.wasm` → `application/wasm`, as instantiateStreaming
            // needs) and answers `If-Modified-Since` with 304. Every file is sent
            // `Cache-Control: no-cache` (see [`STATIC_CACHE`]).
            api.fallback_service(SetResponseHeader::overriding(
                ServeDir::new(dir),
                header::CACHE_CONTROL,
                HeaderValue::from_static(STATIC_CACHE),
            ))
        }
        None => api,
    })
}

/// Stops the task it holds when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
    cfg.validate()?;
    let store = cfg.open_store()?;
    let eraser = crate::store::spawn_user_data_eraser(store.clone(), cfg.user_data_days);
    let app = router_with_store(cfg, store)?;
    let _stop_eraser = AbortOnDrop(eraser);
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

#[cfg(test)]
mod tests {
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
}
