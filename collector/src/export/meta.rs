//! Meta: Conversions API events, as the JSON body of
//! `POST https://graph.facebook.com/<version>/<pixel id>/events`.
//!
//! Documented at
//! <https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/server-event/>:
//! `event_name`, `event_time` (Unix seconds, GMT; at most 7 days before the
//! upload, or Meta refuses the whole request), `event_id` (with
//! `event_name`, what Meta de-duplicates a pixel's event against: here the
//! goaltag conversion ID), `action_source: "website"`, `event_source_url`,
//! `user_data` and `custom_data` (`value`, `currency`).
//!
//! `user_data.fbc` is built as
//! <https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/fbp-and-fbc/>
//! documents it without a `_fbc` cookie: `fb.1.<creation time>.<fbclid>`,
//! subdomain index 1, the creation time in Unix milliseconds when the fbclid
//! was first observed (here: the first page view or conversion carrying it),
//! the fbclid unchanged (it is case-sensitive). It is sent only for a
//! conversion with an fbclid.
//!
//! Advanced matching (customer information parameters,
//! <https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters>):
//! `em`, `ph`, `fn`, `ln`, `ct`, `st`, `zp` and `country`, each a
//! one-element array of the SHA-256 the tag made with Meta's rules, for the
//! conversions whose hashes the collector keeps. A conversion without an
//! fbclid but with a hashed email or phone is sent too: Meta matches it by
//! them.
//!
//! Meta lists `client_user_agent` as required for website events: it is the
//! `User-Agent` of the conversion's `/collect` request, which the collector
//! keeps only for conversions whose consent granted `ad_user_data`
//! (`store::Accepted::ad_data`), so it is sent for those alone.
//! `client_ip_address` is sent only when the collector kept the address
//! (`serve --keep-client-ip`, off by default), under the same consent.
//! `event_source_url` is the conversion's page as stored (already redacted
//! by the tag) without its query or fragment.

use super::Row;
use serde_json::{json, Map, Value};

/// Most events Meta takes in one request.
pub const MAX_EVENTS: usize = 1000;
/// How old an event may be when it reaches Meta, in ms.
pub const MAX_AGE_MS: i64 = 7 * crate::dates::DAY_MS;

/// The `fbc` value for a click first seen at `click_ms`.
pub fn fbc(click_ms: i64, fbclid: &str) -> String {
    format!("fb.1.{click_ms}.{fbclid}")
}

/// The URL without query and fragment.
fn page(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// The customer information parameters sent, hashed by the tag with Meta's
/// rules (docs/enhanced-conversions.md).
pub const MATCH_KEYS: [&str; 8] = ["em", "ph", "fn", "ln", "ct", "st", "zp", "country"];

/// One server event.
pub fn event(r: &Row) -> Value {
    let mut e = Map::new();
    e.insert("event_name".into(), json!(r.name));
    e.insert("event_time".into(), json!(r.ts.div_euclid(1000)));
    e.insert("event_id".into(), json!(r.event_id));
    e.insert("action_source".into(), json!("website"));
    if let Some(url) = &r.url {
        e.insert("event_source_url".into(), json!(page(url)));
    }
    let mut user = Map::new();
    if r.click_param == "fbclid" && !r.click_id.is_empty() {
        user.insert("fbc".into(), json!(fbc(r.click_ts, &r.click_id)));
    }
    // Advanced matching: each hash as a one-element array, as Meta documents them.
    for k in MATCH_KEYS {
        if let Some(h) = r.user_data.get(k) {
            user.insert(k.into(), json!([h]));
        }
    }
    if let Some(ua) = &r.user_agent {
        user.insert("client_user_agent".into(), json!(ua));
    }
    if let Some(ip) = &r.client_ip {
        user.insert("client_ip_address".into(), json!(ip));
    }
    e.insert("user_data".into(), Value::Object(user));
    if let Some(v) = r.value {
        let mut custom = Map::new();
        custom.insert("value".into(), json!(v));
        if let Some(c) = &r.currency {
            custom.insert("currency".into(), json!(c));
        }
        e.insert("custom_data".into(), Value::Object(custom));
    }
    Value::Object(e)
}

/// The request body for `rows`: `{"data": [...]}`.
pub fn render(rows: &[Row]) -> anyhow::Result<String> {
    let data: Vec<Value> = rows.iter().map(event).collect();
    Ok(serde_json::to_string_pretty(&json!({ "data": data }))? + "\n")
}

#[cfg(test)]
mod tests {
    /// A row as the export selects it, with the request data kept.
    fn row(user_agent: Option<&str>, client_ip: Option<&str>) -> super::Row {
        super::Row {
            key: "k".into(),
            event_id: "e".into(),
            name: "Purchase".into(),
            ts: 1_554_763_742_000,
            click_param: "fbclid",
            click_id: "AbC".into(),
            click_ts: 1_554_763_741_205,
            value: None,
            currency: None,
            url: None,
            user_agent: user_agent.map(String::from),
            client_ip: client_ip.map(String::from),
            user_data: Default::default(),
        }
    }

    #[test]
    fn user_data_carries_what_the_collector_kept() {
        let fbc = "fb.1.1554763741205.AbC";
        assert_eq!(super::event(&row(None, None))["user_data"], serde_json::json!({ "fbc": fbc }));
        assert_eq!(
            super::event(&row(Some("Mozilla/5.0 X"), Some("203.0.113.7")))["user_data"],
            serde_json::json!({"fbc": fbc, "client_user_agent": "Mozilla/5.0 X", "client_ip_address": "203.0.113.7"})
        );
    }

    #[test]
    fn fbc_and_page_are_as_documented() {
        assert_eq!(super::fbc(1_554_763_741_205, "AbCdEf"), "fb.1.1554763741205.AbCdEf");
        assert_eq!(super::page("https://s.example/a?x=1#y"), "https://s.example/a");
        assert_eq!(super::page("https://s.example/a"), "https://s.example/a");
    }
}
