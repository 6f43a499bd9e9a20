//! Which pages may send beacons for which site, checked on the server from the
//! `Origin` header (CORS headers alone only stop a browser from *reading* the
//! answer; the batch would still be stored).
//!
//! This is not authentication. The site key is in every page's HTML, and
//! anything that is not a browser can send any `Origin` it likes. What the
//! check does stop is the cheap abuse: another site's pages making their
//! visitors' browsers post into your numbers. A forger has to run their own
//! clients from their own addresses, where the rate limits meet them.

use crate::ingest::Rejection;
use axum::http::{HeaderValue, StatusCode};
use std::collections::HashMap;
use std::str::FromStr;

/// `SITE=ORIGIN`, as given to `--site-origin`: pages on ORIGIN may send for SITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOrigin {
    /// The site key.
    pub site: String,
    /// The origin its pages are on (`https://shop.example`, no path).
    pub origin: String,
}

impl FromStr for SiteOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (site, origin) =
            s.split_once('=').ok_or_else(|| format!("{s:?}: expected SITE=ORIGIN, like demo-shop=https://shop.example"))?;
        let (site, origin) = (site.trim(), origin.trim());
        if !crate::ingest::is_site_key(site) {
            return Err(format!("{s:?}: the site key {site:?} is not one the tag could send (letters, digits, '.', '_', '-')"));
        }
        check_origin(origin).map_err(|e| format!("{s:?}: {e}"))?;
        Ok(SiteOrigin { site: site.into(), origin: origin.into() })
    }
}

/// An origin as browsers send it in the `Origin` header: `scheme://host[:port]`.
pub fn check_origin(o: &str) -> Result<(), String> {
    let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
    let ok = HeaderValue::from_str(o).is_ok() && rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', ' ']));
    if ok {
        Ok(())
    } else {
        Err(format!("origin {o:?}: expected scheme://host[:port] with no path or trailing slash, like \"https://shop.example\""))
    }
}

/// The origin rules: a site named by `--site-origin` takes beacons only from
/// its own origins; any other site from the global `--allowed-origin` list
/// (or from anywhere when that list is empty).
#[derive(Debug, Clone, Default)]
pub struct Origins {
    global: Vec<String>,
    per_site: HashMap<String, Vec<String>>,
}

impl Origins {
    /// From `--allowed-origin` (any site) and `--site-origin` (one site each).
    pub fn new(global: &[String], per_site: &[SiteOrigin]) -> Origins {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for so in per_site {
            map.entry(so.site.clone()).or_default().push(so.origin.clone());
        }
        Origins { global: global.to_vec(), per_site: map }
    }

    /// Every origin some site accepts, for the CORS answer; empty means any
    /// (no global list, so unlisted sites take any origin).
    pub fn cors_list(&self) -> Vec<String> {
        if self.global.is_empty() {
            return Vec::new();
        }
        let mut all = self.global.clone();
        all.extend(self.per_site.values().flatten().cloned());
        all.sort();
        all.dedup();
        all
    }

    /// Whether a batch for `site` may be stored when sent with this `Origin`
    /// header. No header at all is let through: browsers always send one on a
    /// POST, so its absence means a server-side sender, which could have
    /// written any origin anyway.
    pub fn check(&self, site: &str, origin: Option<&[u8]>) -> Result<(), Rejection> {
        let Some(origin) = origin else { return Ok(()) };
        let (allowed, whose) = match self.per_site.get(site) {
            Some(list) => (list.as_slice(), format!("site {site:?} accepts beacons only from")),
            None if self.global.is_empty() => return Ok(()),
            None => (self.global.as_slice(), "this collector accepts beacons only from".to_string()),
        };
        if allowed.iter().any(|a| a.as_bytes() == origin) {
            return Ok(());
        }
        let shown = String::from_utf8_lossy(origin);
        Err(Rejection { status: StatusCode::FORBIDDEN, reason: format!("origin {shown:?} is not allowed: {whose} {}", allowed.join(", ")) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn so(s: &str) -> SiteOrigin {
        s.parse().unwrap()
    }

    #[test]
    fn site_origin_flags_parse_or_say_what_is_wrong() {
        assert_eq!(
            so(" demo-shop = https://shop.example "),
            SiteOrigin { site: "demo-shop".into(), origin: "https://shop.example".into() }
        );
        let err = |s: &str| s.parse::<SiteOrigin>().unwrap_err();
        assert!(err("https://shop.example").contains("expected SITE=ORIGIN"));
        assert!(err("demo shop=https://shop.example").contains("site key \"demo shop\""));
        assert!(err("demo=https://shop.example/").contains("no path or trailing slash"));
    }

    #[test]
    fn listed_sites_take_only_their_origins_and_others_the_global_list() {
        let o = Origins::new(
            &["https://other.example".into()],
            &[so("shop=https://shop.example"), so("shop=https://www.shop.example"), so("blog=https://blog.example")],
        );
        assert!(o.check("shop", Some(b"https://shop.example")).is_ok());
        assert!(o.check("shop", Some(b"https://www.shop.example")).is_ok());
        let r = o.check("shop", Some(b"https://other.example")).unwrap_err();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            r.reason,
            "origin \"https://other.example\" is not allowed: site \"shop\" accepts beacons only from https://shop.example, https://www.shop.example"
        );
        assert!(o.check("blog", Some(b"https://shop.example")).is_err());
        // An unlisted site falls back to the global list.
        assert!(o.check("misc", Some(b"https://other.example")).is_ok());
        assert!(o.check("misc", Some(b"https://shop.example")).unwrap_err().reason.contains("this collector accepts"));
        // No Origin header: not a browser.
        assert!(o.check("shop", None).is_ok());
        assert!(o.check("shop", Some(b"null")).is_err());
        assert_eq!(o.cors_list().len(), 4);
    }

    #[test]
    fn without_a_global_list_only_listed_sites_are_checked() {
        let o = Origins::new(&[], &[so("shop=https://shop.example")]);
        assert!(o.check("anything", Some(b"https://evil.example")).is_ok());
        assert!(o.check("shop", Some(b"https://evil.example")).is_err());
        assert!(o.cors_list().is_empty(), "CORS stays open to any origin");
    }
}
