//! Tag configuration: what the `data-*` attributes and `goaltag('config', {...})`
//! may set, validated field by field. A bad field is reported and ignored; the
//! valid fields still apply, so one typo never takes the whole tag down.

use crate::core::attribution::DEFAULT_WINDOW_DAYS;
use crate::core::consent::{parse_mode, Mode};
use crate::core::error::ConfigError;
use crate::core::fields;
use crate::core::messages::Msg;
use crate::core::url::parse_names;
use crate::core::val::Val;
use crate::core::visit::DEFAULT_VISIT_TIMEOUT_MS;
use crate::prelude::*;

#[derive(Debug, Clone, PartialEq)]
/// The validated configuration (see README "Configuration fields").
pub struct Config {
    /// The site key, sent with every batch. Not a secret.
    pub site: Option<String>,
    /// Where batches are POSTed: an absolute http(s) URL or a path on this origin.
    pub collector: Option<String>,
    /// Track SPA navigations through the History API.
    pub spa: bool,
    /// Also count `#fragment` changes as page views (hash-routed SPAs).
    pub hash_routing: bool,
    /// Send a `page_view` automatically when the tag starts.
    pub auto_page_view: bool,
    /// Query parameters removed from every URL and referrer before queueing.
    pub redact_params: Vec<String>,
    /// Click-ID parameters captured beside the built-in ones (gclid, msclkid, …).
    pub click_ids: Vec<String>,
    /// Inactivity that ends a visit.
    pub visit_timeout_ms: u64,
    /// How long a campaign touch is credited with conversions.
    pub attribution_window_days: u32,
    /// Consent mode: basic sends nothing without analytics consent, advanced sends cookieless pings.
    pub mode: Mode,
    /// GPC denies the three ad consent types.
    pub honor_gpc: bool,
    /// DNT denies everything.
    pub honor_dnt: bool,
    /// While ad storage is denied or unanswered, same-site links and forms the
    /// visitor follows carry the landing URL's click IDs and `utm_*` parameters.
    pub url_passthrough: bool,
    /// The country calling code (digits, like `1` or `44`) of
    /// `goaltag('user_data', {phone})` numbers written without `+` or `00`.
    pub phone_country_code: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            site: None,
            collector: None,
            spa: true,
            hash_routing: false,
            auto_page_view: true,
            redact_params: Vec::new(),
            click_ids: Vec::new(),
            visit_timeout_ms: DEFAULT_VISIT_TIMEOUT_MS,
            attribution_window_days: DEFAULT_WINDOW_DAYS,
            mode: Mode::Basic,
            honor_gpc: true,
            honor_dnt: false,
            url_passthrough: false,
            phone_country_code: None,
        }
    }
}

/// The fields the script tag's `data-*` attributes set (`data-site`, …),
/// as strings; `data-consent` and `data-config` are read on their own.
pub const ATTRIBUTES: [&str; 3] = ["site", "collector", "spa"];

/// Every field `goaltag('config', …)` knows, for the unknown-field message.
pub const FIELDS: &str = "one of site, collector, spa, hash_routing, auto_page_view, goals, delivery, redact_params, \
     click_ids, visit_timeout_minutes, attribution_window_days, mode, honor_gpc, honor_dnt, url_passthrough, phone_country_code";

impl Config {
    /// Merges one config object into this config. Returns every problem found;
    /// fields without problems are applied regardless.
    pub fn apply(&mut self, v: &Val) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let fields = match fields::object(v, "config", Msg::ConfigObject) {
            Ok(f) => f,
            Err(e) => return vec![e],
        };
        for (key, val) in fields {
            if val.is_null() {
                continue;
            }
            let field = || crate::core::error::cat(&["config.", key]);
            match key.as_str() {
                "site" => match val.as_str() {
                    Some(s) if goaltag_wire::is_site_key(s) => self.site = Some(s.to_owned()),
                    _ => errors.push(ConfigError::new(field(), Msg::SiteKey, val)),
                },
                "collector" => match val.as_str() {
                    Some(s) if valid_collector(s) => self.collector = Some(s.to_owned()),
                    _ => errors.push(ConfigError::new(field(), Msg::CollectorUrl, val)),
                },
                "spa" => bool_field(&mut self.spa, field(), val, &mut errors),
                "hash_routing" => bool_field(&mut self.hash_routing, field(), val, &mut errors),
                "auto_page_view" => bool_field(&mut self.auto_page_view, field(), val, &mut errors),
                "honor_gpc" => bool_field(&mut self.honor_gpc, field(), val, &mut errors),
                "honor_dnt" => bool_field(&mut self.honor_dnt, field(), val, &mut errors),
                "url_passthrough" => bool_field(&mut self.url_passthrough, field(), val, &mut errors),
                // Goals need the shell's RegExp and delivery belongs to the
                // outbox: the tracker applies both.
                "goals" | "delivery" => {}
                "redact_params" | "click_ids" => {
                    let (names, errs) = parse_names(val, &field());
                    errors.extend(errs);
                    if key == "redact_params" {
                        self.redact_params = names
                    } else {
                        self.click_ids = names
                    }
                }
                "visit_timeout_minutes" => match fields::number_in(val, &field(), "minutes", 1, 1440, false) {
                    Ok(m) => self.visit_timeout_ms = (m * 60_000.0) as u64,
                    Err(e) => errors.push(e),
                },
                "attribution_window_days" => match fields::number_in(val, &field(), "days", 1, 365, true) {
                    Ok(d) => self.attribution_window_days = d as u32,
                    Err(e) => errors.push(e),
                },
                "phone_country_code" => {
                    // A number or a string, with or without its "+".
                    let code = match val {
                        Val::Num(n) => {
                            let mut s = String::new();
                            crate::core::text::push_u64(&mut s, *n as u64);
                            Some(s).filter(|_| (*n as u64) as f64 == *n && *n >= 1.0)
                        }
                        _ => val.as_str().map(|s| {
                            let s = s.trim();
                            s.strip_prefix('+').unwrap_or(s).to_owned()
                        }),
                    };
                    match code {
                        Some(c)
                            if (1..=3).contains(&c.len())
                                && !c.starts_with('0')
                                && crate::core::text::all_bytes(&c, |b| b.is_ascii_digit()) =>
                        {
                            self.phone_country_code = Some(c)
                        }
                        _ => errors.push(ConfigError::new(field(), Msg::CountryCode, val)),
                    }
                }
                "mode" => match parse_mode(val, &field()) {
                    Ok(m) => self.mode = m,
                    Err(e) => errors.push(e),
                },
                _ => errors.push(fields::unknown(&field(), Msg::ConfigFields)),
            }
        }
        errors
    }

    /// What keeps the tag from working at all, if anything.
    pub fn missing(&self) -> Option<ConfigError> {
        if self.collector.is_none() {
            return Some(ConfigError::msg("config.collector", Msg::CollectorMissing, "none; the tag is off"));
        }
        if self.site.is_none() {
            return Some(ConfigError::msg("config.site", Msg::SiteMissing, "none; the tag is off"));
        }
        None
    }
}

/// Attributes arrive as strings (`data-spa="off"`): [`fields::boolean`] takes both.
fn bool_field(slot: &mut bool, field: String, v: &Val, errors: &mut Vec<ConfigError>) {
    match fields::boolean(v, &field) {
        Ok(b) => *slot = b,
        Err(e) => errors.push(e),
    }
}

fn valid_collector(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).filter(|r| !r.is_empty() && !r.starts_with('/'));
    (rest.is_some() || (s.starts_with('/') && !s.starts_with("//"))) && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::val::json;

    #[test]
    fn valid_fields_apply() {
        let mut c = Config::default();
        let errs = c.apply(&json(r#"{"site":"demo-shop","collector":"https://c.example/collect","spa":"off","auto_page_view":false}"#));
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(c.site.as_deref(), Some("demo-shop"));
        assert_eq!(c.collector.as_deref(), Some("https://c.example/collect"));
        assert!(!c.spa);
        assert!(!c.auto_page_view);
        assert_eq!(c.missing(), None);
    }

    #[test]
    fn bad_fields_are_named_and_the_rest_still_applies() {
        let mut c = Config::default();
        let errs = c.apply(&json(r#"{"site":"demo shop!","collector":"/collect","spa":3,"colector":"x"}"#));
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["config.site", "config.spa", "config.colector"]);
        assert_eq!(
            errs[0].to_string(),
            "goaltag: config.site: expected a site key of 1 to 100 letters, digits, '.', '_' or '-', got \"demo shop!\""
        );
        assert_eq!(errs[1].got, "3");
        assert_eq!(c.collector.as_deref(), Some("/collect"));
        assert!(c.spa, "a bad value leaves the default");
    }

    #[test]
    fn collector_urls() {
        for ok in ["http://127.0.0.1:8080/collect", "https://x.example", "/collect"] {
            assert!(valid_collector(ok), "{ok}");
        }
        for bad in ["", "ftp://x", "//x.example/c", "https://", "collect", "https:///x", "https://a b"] {
            assert!(!valid_collector(bad), "{bad}");
        }
    }

    #[test]
    fn not_an_object() {
        let mut c = Config::default();
        let errs = c.apply(&Val::Str("demo".into()));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "config");
        assert_eq!(errs[0].got, "\"demo\"");
    }

    #[test]
    fn missing_collector_or_site_turns_the_tag_off() {
        let mut c = Config::default();
        assert_eq!(c.missing().unwrap().field, "config.collector");
        c.collector = Some("/c".into());
        assert_eq!(c.missing().unwrap().field, "config.site");
    }

    #[test]
    fn visit_attribution_privacy_and_consent_fields() {
        let mut c = Config::default();
        let errs = c.apply(&json(
            r#"{"redact_params":["Email","token"],"click_ids":["ScCid"],"visit_timeout_minutes":45,
                "attribution_window_days":7,"mode":"advanced","honor_gpc":false,"honor_dnt":"on","goals":[]}"#,
        ));
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(c.redact_params, ["email", "token"]);
        assert_eq!(c.click_ids, ["sccid"]);
        assert_eq!(c.visit_timeout_ms, 45 * 60_000);
        assert_eq!(c.attribution_window_days, 7);
        assert_eq!(c.mode, Mode::Advanced);
        assert!(!c.honor_gpc && c.honor_dnt);
        let errs = c.apply(&json(r#"{"redact_params":"email","visit_timeout_minutes":0,"attribution_window_days":1.5,"mode":"strict"}"#));
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["config.redact_params", "config.visit_timeout_minutes", "config.attribution_window_days", "config.mode"]);
        assert_eq!(c.visit_timeout_ms, 45 * 60_000, "a bad value keeps the last good one");
    }

    #[test]
    fn phone_country_code_is_one_to_three_digits() {
        for (given, want) in [(r#""1""#, "1"), (r#"" +44 ""#, "44"), ("49", "49"), (r#""358""#, "358")] {
            let mut c = Config::default();
            assert!(c.apply(&json(&format!(r#"{{"phone_country_code":{given}}}"#))).is_empty(), "{given}");
            assert_eq!(c.phone_country_code.as_deref(), Some(want));
        }
        for bad in [r#""""#, r#""0044""#, r#""1-2""#, "1.5", "0", r#""US""#, "true"] {
            let mut c = Config::default();
            let errs = c.apply(&json(&format!(r#"{{"phone_country_code":{bad}}}"#)));
            assert_eq!((errs.len(), c.phone_country_code.clone()), (1, None), "{bad}");
            assert_eq!(errs[0].code, Msg::CountryCode);
        }
    }

    #[test]
    fn null_means_not_given() {
        let mut c = Config::default();
        assert!(c.apply(&json(r#"{"site":null}"#)).is_empty());
        assert_eq!(c.site, None);
    }
}
