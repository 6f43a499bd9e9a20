//! What the collector can be told at start-up. The binary fills this from
//! flags and environment variables; tests and embedders build it directly.

use axum::http::HeaderValue;
use std::path::PathBuf;

/// Everything the collector can be told at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// SQLite file; parent folders are created.
    pub db: PathBuf,
    /// Static folder served at `/` (the demo shop), if any.
    pub www: Option<PathBuf>,
    /// Origins (`https://shop.example`, no path) whose pages may POST from a
    /// browser; empty allows any. Not authentication: the site key is public.
    pub allowed_origins: Vec<String>,
    /// Larger request bodies get 413, which the tag answers by splitting the batch.
    pub max_body_bytes: usize,
    /// Most events accepted in one batch.
    pub max_events: usize,
    /// Batches queued for or being written by the writer; past this, 503 with
    /// `Retry-After` at once instead of letting requests pile up.
    pub queue_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            db: PathBuf::from("data/events.db"),
            www: None,
            allowed_origins: Vec::new(),
            max_body_bytes: 128 * 1024,
            max_events: 500,
            queue_capacity: 64,
        }
    }
}

impl Config {
    /// Refuses settings that would make the collector silently useless, such as
    /// an origin with a trailing slash that no browser would ever send.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.max_body_bytes > 0, "max_body_bytes must be at least 1");
        anyhow::ensure!(self.max_events > 0, "max_events must be at least 1");
        anyhow::ensure!(self.queue_capacity > 0, "queue_capacity must be at least 1");
        for o in &self.allowed_origins {
            check_origin(o)?;
        }
        Ok(())
    }
}

/// An origin as browsers send it in the `Origin` header: `scheme://host[:port]`.
fn check_origin(o: &str) -> anyhow::Result<()> {
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
    let ok = HeaderValue::from_str(o).is_ok()
        && rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', ' ']));
    anyhow::ensure!(
        ok,
        "allowed origin {o:?}: expected scheme://host[:port] with no path or trailing slash, like \"https://shop.example\""
    );
    Ok(())
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
}
