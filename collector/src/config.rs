//! What the collector can be told at start-up. The binary fills this from
//! flags and environment variables; tests and embedders build it directly.

use crate::origins::SiteOrigin;
use crate::ratelimit::RateLimits;
use crate::store::{Database, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything the collector can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database: a SQLite file (parent folders are created), or a
    /// PostgreSQL URL (`Database::parse` tells them apart).
    pub db: Database,
    /// Most connections to PostgreSQL this collector keeps (not used with SQLite).
    pub db_connections: usize,
    /// Static folder served at `/` (the demo shop), if any.
    pub www: Option<PathBuf>,
    /// Origins (`https://shop.example`, no path) whose pages may POST from a
    /// browser; empty allows any. Not authentication: the site key is public.
    pub allowed_origins: Vec<String>,
    /// Larger request bodies get 413, which the tag answers by splitting the batch.
    pub max_body_bytes: usize,
    /// A compressed body (`POST /collect?c=gzip`) decoding to more than this
    /// gets 413, and is not decoded further (see [`crate::decode`]).
    pub max_decoded_bytes: usize,
    /// Most events accepted in one batch.
    pub max_events: usize,
    /// Batches queued for or being written by the writer; past this, 503 with
    /// `Retry-After` at once instead of letting requests pile up.
    pub queue_capacity: usize,
    /// Events stamped longer than this before receipt are refused (400).
    pub max_event_age: Duration,
    /// Events stamped further than this ahead of receipt are refused (400).
    pub max_event_ahead: Duration,
    /// Sites that take beacons only from their own origins (`--site-origin`).
    pub site_origins: Vec<SiteOrigin>,
    /// Per-IP and per-site token buckets.
    pub rate_limits: RateLimits,
    /// With a token, `/report`, `/dashboard`, `/import` and `/export` answer
    /// only requests that carry it (see [`crate::admin`]); without, they are open.
    pub admin_token: Option<String>,
    /// The site's goal configuration (the tag's `data-config` JSON), read by
    /// `/export` for goal names, primary flags and the attribution window.
    pub goals: Option<PathBuf>,
    /// Keep the client's IP address with conversions whose consent granted
    /// `ad_user_data`, for the Meta export's `client_ip_address`. Off by
    /// default: an IP address is personal data.
    pub keep_client_ip: bool,
    /// Days a conversion's hashed match keys (enhanced conversions'
    /// `user_data`) are kept after receipt; `serve` erases older ones at
    /// start and every hour ([`crate::store::spawn_user_data_eraser`]).
    pub user_data_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: Database::Sqlite(PathBuf::from("data/events.db")),
            db_connections: 16,
            www: None,
            allowed_origins: Vec::new(),
            max_body_bytes: crate::ingest::DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: crate::ingest::DEFAULT_MAX_DECODED_BYTES,
            max_events: crate::ingest::DEFAULT_MAX_EVENTS,
            queue_capacity: 64,
            max_event_age: Duration::from_millis(crate::ingest::DEFAULT_MAX_AGE_MS),
            max_event_ahead: Duration::from_millis(crate::ingest::DEFAULT_MAX_AHEAD_MS),
            site_origins: Vec::new(),
            rate_limits: RateLimits::default(),
            admin_token: None,
            goals: None,
            keep_client_ip: false,
            user_data_days: crate::store::DEFAULT_USER_DATA_DAYS,
        }
    }
}

impl Config {
    /// Refuses settings that would make the collector silently useless, such as
    /// an origin with a trailing slash that no browser would ever send.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_body_bytes > 0, "max_body_bytes must be at least 1");
        anyhow::ensure!(self.max_decoded_bytes > 0, "max_decoded_bytes must be at least 1");
        anyhow::ensure!(self.max_events > 0, "max_events must be at least 1");
        anyhow::ensure!(self.queue_capacity > 0, "queue_capacity must be at least 1");
        anyhow::ensure!(self.db_connections > 0, "db_connections must be at least 1");
        for o in &self.allowed_origins {
            crate::origins::check_origin(o).map_err(|e| anyhow::anyhow!("allowed {e}"))?;
        }
        for so in &self.site_origins {
            // Built directly (not parsed from a flag), so check it the same way.
            format!("{}={}", so.site, so.origin).parse::<SiteOrigin>().map_err(|e| anyhow::anyhow!("site origin {e}"))?;
        }
        self.rate_limits.validate(self.max_events)?;
        if let Some(t) = &self.admin_token {
            crate::admin::check_token(t).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    }

    /// Opens the database [`Config::db`] names for serving, with this
    /// configuration's queue and pool sizes (see [`crate::store::open`]).
    pub fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        crate::store::open(&self.db, self.queue_capacity, self.db_connections)
    }

    /// The ingest limits these settings make.
    pub fn limits(&self) -> crate::ingest::Limits {
        crate::ingest::Limits {
            max_body_bytes: self.max_body_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
            max_events: self.max_events,
            max_age_ms: u64::try_from(self.max_event_age.as_millis()).unwrap_or(u64::MAX),
            max_ahead_ms: u64::try_from(self.max_event_ahead.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `--max-event-age`'s default as the command line writes it: the contract's
/// [`goaltag_wire::limits::MAX_EVENT_AGE_MS`] (a test holds them equal).
pub const DEFAULT_MAX_EVENT_AGE: &str = "7d";

/// A duration as written on a command line, read by `humantime`: a number
/// and a unit (`7d`, `90s`, `1h`, `250ms`, `1h 30m`); a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(Duration::from_secs).map_err(|_| format!("{s:?}: too long"));
    }
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (write a number and a unit, like 7d, 1h, 90s)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_look_like_what_browsers_send() {
        let with = |o: &str| Config { allowed_origins: vec![o.into()], ..Default::default() }.validate();
        assert!(with("https://shop.example").is_ok());
        assert!(with("http://127.0.0.1:8080").is_ok());
        for bad in ["https://shop.example/", "shop.example", "https://", "https://a.example/x", "ftp://a"] {
            let err = with(bad).unwrap_err().to_string();
            assert!(err.contains("no path or trailing slash"), "{bad}: {err}");
        }
        assert!(Config { max_events: 0, ..Default::default() }.validate().is_err());
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        let e = parse_duration("1x").unwrap_err();
        assert!(e.contains("unknown time unit \"x\"") && e.contains("like 7d"), "{e}");
        assert!(parse_duration("h").unwrap_err().contains("like 7d"));
    }

    /// The tag's highest `max_age_hours` is the contract's oldest event; the
    /// collector's default window (settings and command line) is the same.
    #[test]
    fn the_default_event_age_is_the_contracts() {
        let week = Duration::from_millis(goaltag_wire::limits::MAX_EVENT_AGE_MS);
        assert_eq!(week, Duration::from_secs(7 * 86_400));
        assert_eq!(Config::default().max_event_age, week);
        assert_eq!(parse_duration(DEFAULT_MAX_EVENT_AGE), Ok(week));
        assert_eq!(Config::default().limits().max_events, goaltag_wire::limits::MAX_EVENTS);
    }

    #[test]
    fn site_origins_and_rate_limits_are_checked_at_start() {
        let bad = SiteOrigin { site: "shop".into(), origin: "https://shop.example/".into() };
        let err = Config { site_origins: vec![bad], ..Default::default() }.validate().unwrap_err();
        assert!(err.to_string().contains("no path or trailing slash"), "{err}");
        let tight = RateLimits { site_burst: 10, ..Default::default() };
        assert!(Config { rate_limits: tight, ..Default::default() }.validate().is_err());
    }
}
