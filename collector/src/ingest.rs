//! Validation of a POST body. Everything a browser (or anyone) sends is
//! checked before it reaches storage; a bad batch is refused whole, with a
//! reason that names the field, so the tag (which drops a batch refused with a
//! 4xx as poison) and its developer can tell what was wrong.

use axum::http::StatusCode;
use goaltag_wire::{is_uuid, Batch, Event};
use std::collections::BTreeMap;

/// The limits a body is checked against (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_events: usize,
}

/// Why a body was refused: the HTTP status and a reason naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub reason: String,
}

impl Rejection {
    pub fn bad(reason: String) -> Rejection {
        Rejection { status: StatusCode::BAD_REQUEST, reason }
    }

    pub fn too_large(len: Option<usize>, limit: usize) -> Rejection {
        let reason = match len {
            Some(n) => format!("body is {n} bytes, the limit is {limit}"),
            None => format!("body is larger than the limit of {limit} bytes"),
        };
        Rejection { status: StatusCode::PAYLOAD_TOO_LARGE, reason }
    }
}

/// Longest free-text field, in characters.
pub const MAX_TEXT: usize = 2048;
/// Longest URL-like field (url, referrer, href, action, landing_url), in characters.
pub const MAX_URL: usize = 4096;
/// Largest `value` magnitude: far above any real order, far below float trouble.
pub const MAX_VALUE: f64 = 1e12;
/// Longest site key, in characters.
pub const MAX_SITE: usize = 100;

/// Parses and validates one POST body. On success the batch is ready to store:
/// event IDs are lower-cased so that a re-send in another case still dedups.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Batch, Rejection> {
    if body.len() > limits.max_body_bytes {
        return Err(Rejection::too_large(Some(body.len()), limits.max_body_bytes));
    }
    let mut batch: Batch =
        serde_json::from_slice(body).map_err(|e| Rejection::bad(format!("not a goaltag batch: {e}")))?;
    validate(&mut batch, limits)?;
    Ok(batch)
}

fn validate(batch: &mut Batch, limits: &Limits) -> Result<(), Rejection> {
    if batch.v != goaltag_wire::VERSION {
        return Err(Rejection::bad(format!(
            "v: version {} is not supported (expected {})",
            batch.v,
            goaltag_wire::VERSION
        )));
    }
    let site_ok = !batch.site.is_empty()
        && batch.site.len() <= MAX_SITE
        && batch.site.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
    if !site_ok {
        return Err(Rejection::bad(format!(
            "site: expected 1 to {MAX_SITE} letters, digits, '.', '_' or '-'"
        )));
    }
    let n = batch.events.len();
    if n == 0 || n > limits.max_events {
        return Err(Rejection::bad(format!("events: expected 1 to {} events, got {n}", limits.max_events)));
    }
    for (i, e) in batch.events.iter_mut().enumerate() {
        event(e).map_err(|(field, why)| Rejection::bad(format!("events[{i}].{field}: {why}")))?;
        e.id.make_ascii_lowercase();
    }
    Ok(())
}

/// A failed check: (field path inside the event, what is wrong).
type Failure = (String, String);

fn fail(field: impl Into<String>, why: impl Into<String>) -> Failure {
    (field.into(), why.into())
}

fn event(e: &Event) -> Result<(), Failure> {
    if !is_uuid(&e.id) {
        return Err(fail("id", "not a UUID"));
    }
    if e.ts == 0 {
        return Err(fail("ts", "must be milliseconds since 1970, not 0"));
    }
    if let Some(v) = e.value {
        if !v.is_finite() || v.abs() > MAX_VALUE {
            return Err(fail("value", format!("must be a finite number within ±{MAX_VALUE:e}")));
        }
    }
    if let Some(c) = &e.currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(fail("currency", "expected a 3-letter ISO 4217 code like \"USD\""));
        }
    }
    let top = [
        ("url", &e.url, MAX_URL),
        ("referrer", &e.referrer, MAX_URL),
        ("title", &e.title, MAX_TEXT),
        ("action", &e.action, MAX_TEXT),
        ("category", &e.category, MAX_TEXT),
        ("label", &e.label, MAX_TEXT),
        ("transaction_id", &e.transaction_id, MAX_TEXT),
        ("goal", &e.goal, MAX_TEXT),
        ("trigger", &e.trigger, MAX_TEXT),
        ("client_id", &e.client_id, MAX_TEXT),
        ("visit_id", &e.visit_id, MAX_TEXT),
    ];
    for (name, v, max) in top {
        text(name, v.as_deref(), max)?;
    }
    if let Some(el) = &e.element {
        text("element.tag", Some(&el.tag), MAX_TEXT)?;
        text("element.id", el.id.as_deref(), MAX_TEXT)?;
        text("element.classes", el.classes.as_deref(), MAX_TEXT)?;
        text("element.href", el.href.as_deref(), MAX_URL)?;
        text("element.text", el.text.as_deref(), MAX_TEXT)?;
        map("element.data", &el.data)?;
    }
    if let Some(f) = &e.form {
        text("form.id", f.id.as_deref(), MAX_TEXT)?;
        text("form.name", f.name.as_deref(), MAX_TEXT)?;
        text("form.action", f.action.as_deref(), MAX_URL)?;
        text("form.method", f.method.as_deref(), MAX_TEXT)?;
    }
    if let Some(a) = &e.attribution {
        map("attribution.click_ids", &a.click_ids)?;
        map("attribution.utm", &a.utm)?;
        text("attribution.referrer_host", a.referrer_host.as_deref(), MAX_TEXT)?;
        text("attribution.landing_url", a.landing_url.as_deref(), MAX_URL)?;
    }
    Ok(())
}

/// Lengths are in characters, so a non-Latin title gets the same room as an English one.
fn text(field: &str, v: Option<&str>, max: usize) -> Result<(), Failure> {
    match v {
        // A string of at most `max` bytes has at most `max` characters: skip the count.
        Some(s) if s.len() > max && s.chars().count() > max => {
            Err(fail(field, format!("longer than {max} characters")))
        }
        _ => Ok(()),
    }
}

fn map(field: &str, m: &BTreeMap<String, String>) -> Result<(), Failure> {
    for (k, v) in m {
        text(field, Some(k), MAX_TEXT).map_err(|(_, why)| fail(format!("{field} key"), why))?;
        text(&format!("{field}.{k}"), Some(v), MAX_TEXT)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_body_bytes: 128 * 1024, max_events: 5 };
    const ID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";

    fn body(event_fields: &str) -> String {
        format!(
            r#"{{"v":1,"site":"demo-shop","sent_at":1,"events":[{{"id":"{ID}","kind":"click","ts":1{event_fields}}}]}}"#
        )
    }

    fn reason(event_fields: &str) -> String {
        parse(body(event_fields).as_bytes(), &LIMITS).unwrap_err().reason
    }

    #[test]
    fn a_minimal_event_passes_and_its_id_is_lower_cased() {
        let b = parse(body("").as_bytes(), &LIMITS).unwrap();
        assert_eq!(b.events[0].id, ID.to_ascii_lowercase());
        assert_eq!(b.attempt, 1);
    }

    #[test]
    fn nested_strings_are_limited_and_named() {
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(
            reason(&format!(r#","element":{{"tag":"a","text":"{long}"}}"#)),
            "events[0].element.text: longer than 2048 characters"
        );
        assert_eq!(
            reason(&format!(r#","element":{{"tag":"a","data":{{"goal":"{long}"}}}}"#)),
            "events[0].element.data.goal: longer than 2048 characters"
        );
        assert_eq!(
            reason(&format!(r#","attribution":{{"utm":{{"{long}":"x"}}}}"#)),
            "events[0].attribution.utm key: longer than 2048 characters"
        );
        assert_eq!(
            reason(&format!(r#","form":{{"fields":1,"action":"{}"}}"#, "y".repeat(MAX_URL + 1))),
            "events[0].form.action: longer than 4096 characters"
        );
        // URLs get the longer limit.
        assert!(parse(body(&format!(r#","url":"{long}""#)).as_bytes(), &LIMITS).is_ok());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let title = "é".repeat(MAX_TEXT);
        assert!(parse(body(&format!(r#","title":"{title}""#)).as_bytes(), &LIMITS).is_ok());
        assert!(reason(&format!(r#","title":"{title}é""#)).starts_with("events[0].title"));
    }

    #[test]
    fn numbers_and_codes_are_checked() {
        assert!(reason(r#","value":1e13"#).starts_with("events[0].value: must be a finite number"));
        assert!(parse(body(r#","value":-1e12"#).as_bytes(), &LIMITS).is_ok());
        assert!(reason(r#","currency":"EURO""#).starts_with("events[0].currency"));
        assert_eq!(
            parse(body("").replace(r#""ts":1"#, r#""ts":0"#).as_bytes(), &LIMITS).unwrap_err().reason,
            "events[0].ts: must be milliseconds since 1970, not 0"
        );
        let negative = parse(body("").replace(r#""ts":1"#, r#""ts":-5"#).as_bytes(), &LIMITS).unwrap_err();
        assert!(negative.reason.starts_with("not a goaltag batch: invalid value"), "{}", negative.reason);
    }

    #[test]
    fn the_body_limit_comes_first() {
        let r = parse(&[b' '; 10], &Limits { max_body_bytes: 9, max_events: 1 }).unwrap_err();
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.reason, "body is 10 bytes, the limit is 9");
    }

    #[test]
    fn site_keys_are_plain() {
        for bad in ["", "a b", "ü", &"s".repeat(101)] {
            let r = parse(body("").replace("demo-shop", bad).as_bytes(), &LIMITS).unwrap_err();
            assert!(r.reason.starts_with("site:"), "{bad}: {}", r.reason);
        }
    }
}
