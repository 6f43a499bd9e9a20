//! [`AppState`], the one state of the collector's router. Each handler takes
//! only the part it needs (`State<Arc<dyn Store>>`, `State<Arc<Collect>>`,
//! `State<GoalsFile>`, `State<Option<Arc<Admin>>>`), through axum's `FromRef`.

use crate::admin::Admin;
use crate::ingest::Limits;
use crate::origins::Origins;
use crate::ratelimit::Limiters;
use crate::store::Store;
use axum::extract::FromRef;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything the routes share, cheap to clone (each part is behind an `Arc` or small).
#[derive(Clone)]
pub struct AppState {
    /// The database: beacons, reports, imports, exports.
    pub store: Arc<dyn Store>,
    /// What `POST /collect` checks a batch against: limits, origins, rate limits.
    pub collect: Arc<Collect>,
    /// The goals file `/export` reads.
    pub goals: GoalsFile,
    /// The admin token's guard and sessions, when `--admin-token` is set.
    pub admin: Option<Arc<Admin>>,
}

/// The site's goal configuration file (`--goals`), if given: read for each
/// export request, so an edited file counts at once.
#[derive(Debug, Clone, Default)]
pub struct GoalsFile(pub Option<PathBuf>);

impl FromRef<AppState> for Arc<dyn Store> {
    fn from_ref(s: &AppState) -> Self {
        s.store.clone()
    }
}

impl FromRef<AppState> for Arc<Collect> {
    fn from_ref(s: &AppState) -> Self {
        s.collect.clone()
    }
}

impl FromRef<AppState> for Option<Arc<Admin>> {
    fn from_ref(s: &AppState) -> Self {
        s.admin.clone()
    }
}

impl FromRef<AppState> for GoalsFile {
    fn from_ref(s: &AppState) -> Self {
        s.goals.clone()
    }
}

/// What `POST /collect` checks a batch against (from [`crate::Config`]).
pub struct Collect {
    /// Body, event count and event time limits.
    pub limits: Limits,
    /// Which pages may send for which site.
    pub origins: Origins,
    /// Per-IP and per-site token buckets.
    pub limiters: Limiters,
    /// Keep the client's IP address with conversions whose `ad_user_data`
    /// was granted, for Meta's `client_ip_address` (`serve --keep-client-ip`).
    pub keep_client_ip: bool,
}
