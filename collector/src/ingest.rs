//! Validation of a POST body. Everything a browser (or anyone) sends is
//! checked before it reaches storage; a bad batch is refused whole, with a
//! reason that names the field, so the tag (which drops a batch refused with a
//! 4xx as poison) and its developer can tell what was wrong.

use axum::http::StatusCode;
use goaltag_wire::{is_uuid, Batch, Event};

pub mod routes;

/// The limits a body is checked against (from [`crate::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body as received (compressed or not), in bytes.
    pub max_body_bytes: usize,
    /// Largest body once decoded (`?c=gzip`, see [`crate::decode`]), in bytes.
    pub max_decoded_bytes: usize,
    /// Most events in one batch.
    pub max_events: usize,
    /// Oldest accepted event, by its time on the collector's clock (receipt −
    /// (`sent_at` − `ts`)), in ms before receipt: the tag gives up on
    /// events after 24 h by default, after 7 days at most (its highest
    /// `max_age_hours`, [`DEFAULT_MAX_AGE_MS`]), so anything older is a replay
    /// or a broken clock.
    pub max_age_ms: u64,
    /// Furthest accepted event ahead of receipt (on the collector's clock, so
    /// only an event stamped after its batch left), in ms; such an event is
    /// stored at receipt.
    pub max_ahead_ms: u64,
}

/// 264 KiB: the tag's largest plain batch (256 KiB of JSON, sent as it is by
/// browsers without `CompressionStream`) and 8 KiB for the envelope around
/// the events (`v`, `site`, `sent_at`, `attempt`, `dropped`: under 300 bytes).
pub const DEFAULT_MAX_BODY_BYTES: usize = goaltag_wire::limits::MAX_BATCH_BYTES + 8 * 1024;

/// Default cap on a decoded body: 1 MiB. The tag's largest batch is 256 KiB
/// of JSON (at most 500 events), so this is four times that: room for a
/// larger `--max-events` or another sender, while a refused bomb costs at
/// most 1 MiB of memory and a millisecond of inflating.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 1 << 20;

/// 7 days: the contract's ([`goaltag_wire::limits::MAX_EVENT_AGE_MS`]), the
/// tag's highest `max_age_hours`.
pub const DEFAULT_MAX_AGE_MS: u64 = goaltag_wire::limits::MAX_EVENT_AGE_MS;
/// 1 hour ([`goaltag_wire::limits::MAX_EVENT_AHEAD_MS`]).
pub const DEFAULT_MAX_AHEAD_MS: u64 = goaltag_wire::limits::MAX_EVENT_AHEAD_MS;
/// 500 ([`goaltag_wire::limits::MAX_EVENTS`]), the tag's default batch size.
pub const DEFAULT_MAX_EVENTS: usize = goaltag_wire::limits::MAX_EVENTS;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_events: DEFAULT_MAX_EVENTS,
            max_age_ms: DEFAULT_MAX_AGE_MS,
            max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
        }
    }
}

/// Why a body was refused: the HTTP status and a reason naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The answer's status: 400, or 413 for a body too large.
    pub status: StatusCode,
    /// What was wrong, naming the field (the answer's `error`).
    pub reason: String,
}

impl Rejection {
    /// 400: the body is not a valid batch, for `reason`.
    pub fn bad(reason: String) -> Rejection {
        Rejection { status: StatusCode::BAD_REQUEST, reason }
    }

    /// 413: the body (`len` bytes, when known) is over `limit`; the tag splits the batch.
    pub fn too_large(len: Option<usize>, limit: usize) -> Rejection {
        let reason = match len {
            Some(n) => format!("body is {n} bytes, the limit is {limit}"),
            None => format!("body is larger than the limit of {limit} bytes"),
        };
        Rejection { status: StatusCode::PAYLOAD_TOO_LARGE, reason }
    }
}

// The field limits and the site-key rule are the contract's, in wire.
pub use goaltag_wire::limits::{MAX_SITE, MAX_TEXT, MAX_URL, MAX_VALUE};
pub use goaltag_wire::{is_site_key, is_wire_text};

/// Parses and validates one POST body received now. On success the batch is
/// ready to store: event IDs are lower-cased so that a re-send in another case
/// still dedups.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Batch, Rejection> {
    parse_at(body, limits, crate::model::now_ms())
}

/// [`parse`] for a body received at `received_at` (ms since the Unix epoch),
/// which the event timestamps are checked against.
pub fn parse_at(body: &[u8], limits: &Limits, received_at: i64) -> Result<Batch, Rejection> {
    if body.len() > limits.max_body_bytes {
        return Err(Rejection::too_large(Some(body.len()), limits.max_body_bytes));
    }
    let mut batch: Batch = serde_json::from_slice(body).map_err(|e| Rejection::bad(format!("not a goaltag batch: {e}")))?;
    validate(&mut batch, limits, u64::try_from(received_at).unwrap_or(0))?;
    Ok(batch)
}

fn validate(batch: &mut Batch, limits: &Limits, now: u64) -> Result<(), Rejection> {
    if batch.v != goaltag_wire::VERSION {
        return Err(Rejection::bad(format!("v: version {} is not supported (expected {})", batch.v, goaltag_wire::VERSION)));
    }
    if !is_site_key(&batch.site) {
        return Err(Rejection::bad(format!("site: expected 1 to {MAX_SITE} letters, digits, '.', '_' or '-'")));
    }
    if batch.attempt == 0 {
        return Err(Rejection::bad("attempt: counts from 1 (the first attempt), got 0".into()));
    }
    let n = batch.events.len();
    if n == 0 {
        return Err(Rejection::bad(format!("events: expected 1 to {} events, got {n}", limits.max_events)));
    }
    // Too many is a size problem, not a bad batch: 413 makes the tag split
    // it, where 400 would drop it as poison.
    if n > limits.max_events {
        let reason = format!("events: expected 1 to {} events, got {n}", limits.max_events);
        return Err(Rejection { status: StatusCode::PAYLOAD_TOO_LARGE, reason });
    }
    let window = (now.saturating_sub(limits.max_age_ms), now.saturating_add(limits.max_ahead_ms));
    let clock = Clock::new(batch.sent_at, now);
    for (i, e) in batch.events.iter_mut().enumerate() {
        event(e)
            .and_then(|()| in_window(clock.judged(e.ts), now, window, limits))
            .map_err(|(field, why)| Rejection::bad(format!("events[{i}].{field}: {why}")))?;
        e.id.make_ascii_lowercase();
        // Enhanced conversions' hashed match keys, checked above, go on to the
        // store, which keeps them apart from the event and only for a
        // conversion granting ad_user_data (`Accepted::event_columns`), until
        // `serve --user-data-days` erases them.
        if let Some(u) = &mut e.user_data {
            lower_hashes(u);
        }
    }
    // Only once the whole batch is accepted: the stored time.
    for e in &mut batch.events {
        e.ts = clock.stored(e.ts);
    }
    Ok(())
}

/// The hashes of `u` in lower case (the wire takes either; the ad
/// platforms' files want lower-case hex); Google's plain address parts as sent.
fn lower_hashes(u: &mut goaltag_wire::UserData) {
    let lower = |platform: &str, m: &goaltag_wire::Map| -> goaltag_wire::Map {
        m.iter()
            .map(|(k, v)| {
                let plain = platform == "google" && goaltag_wire::user_data::GOOGLE_PLAIN.contains(&k.as_str());
                (k.clone(), if plain { v.clone() } else { v.to_ascii_lowercase() })
            })
            .collect()
    };
    u.google = lower("google", &u.google);
    u.microsoft = lower("microsoft", &u.microsoft);
    u.meta = lower("meta", &u.meta);
}

/// Offsets between a browser's clock and the collector's (receipt −
/// `sent_at`) from 0 up to this, in ms, are time in transit and the drift of
/// a clock kept right, not a wrong clock: the event times are stored as the
/// browser measured them, so that events of one visitor sent in different
/// batches keep their order to the millisecond.
pub const CLOCK_SLACK_MS: u64 = 60_000;

/// One batch's browser clock against the collector's.
///
/// Event times (`ts`) and `sent_at` come from the same browser clock, so
/// their difference (how long an event waited in the browser) is true
/// however wrong that clock is. An event is placed on the collector's clock
/// as receipt − (`sent_at` − `ts`): a browser whose clock is 30 days slow
/// has its events stored when they happened, not 30 days earlier.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// receipt − `sent_at`, in ms: the browser clock's error plus the time in transit.
    offset: i128,
    /// The time of receipt, in ms.
    now: u64,
}

impl Clock {
    fn new(sent_at: u64, now: u64) -> Clock {
        Clock { offset: i128::from(now) - i128::from(sent_at), now }
    }

    /// The event's time on the collector's clock, receipt − (`sent_at` −
    /// `ts`), which the age limits judge: the event's age is the browser's
    /// own measure of it, so an event the tag still sends (by its own
    /// `max_age_hours`) is never refused as too old, whatever its clock says.
    fn judged(&self, ts: u64) -> u64 {
        (i128::from(ts) + self.offset).clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The time stored for the event: [`Clock::judged`], but the browser's
    /// own `ts` when the clock is behind by at most [`CLOCK_SLACK_MS`]
    /// (transit; a right clock); never later than receipt (an event stamped
    /// after its batch left, or by a fast clock, happened before it arrived).
    fn stored(&self, ts: u64) -> u64 {
        let right = (0..=i128::from(CLOCK_SLACK_MS)).contains(&self.offset);
        let t = if right { ts } else { self.judged(ts) };
        t.min(self.now)
    }
}

/// The event time (on the collector's clock) against the time of receipt; the
/// reason says by how much it is off.
fn in_window(ts: u64, now: u64, (oldest, newest): (u64, u64), limits: &Limits) -> Result<(), Failure> {
    if ts < oldest {
        return Err(fail("ts", format!("{} before receipt, older than the limit of {}", human(now - ts), human(limits.max_age_ms))));
    }
    if ts > newest {
        return Err(fail("ts", format!("{} ahead of receipt, more than the limit of {}", human(ts - now), human(limits.max_ahead_ms))));
    }
    Ok(())
}

/// A duration in ms as the largest whole unit that fits: "3 d", "2 h", "90 s".
fn human(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1000, "s")];
    for (size, unit) in UNITS {
        if ms >= size {
            return format!("{} {unit}", ms / size);
        }
    }
    format!("{ms} ms")
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
    if let Some(u) = &e.user_data {
        u.check(MAX_TEXT).map_err(|(platform, field)| {
            fail(
                format!("user_data.{platform}.{field}"),
                format!(
                    "expected a SHA-256 as 64 hex digits (Google's city, region, postal_code, country: text of at most {MAX_TEXT} bytes)"
                ),
            )
        })?;
    }
    Ok(())
}

/// Lengths are in characters, so a non-Latin title gets the same room as an
/// English one; no string may hold U+0000 ([`is_wire_text`]).
fn text(field: &str, v: Option<&str>, max: usize) -> Result<(), Failure> {
    match v {
        Some(s) if !is_wire_text(s) => Err(fail(field, NUL)),
        // A string of at most `max` bytes has at most `max` characters: skip the count.
        Some(s) if s.len() > max && s.chars().count() > max => Err(fail(field, format!("longer than {max} characters"))),
        _ => Ok(()),
    }
}

/// Why a string holding U+0000 is refused (see [`is_wire_text`]).
pub const NUL: &str = "holds U+0000 (NUL), which no string on the wire may";

fn map(field: &str, m: &goaltag_wire::Map) -> Result<(), Failure> {
    for (k, v) in m {
        text(field, Some(k), MAX_TEXT).map_err(|(_, why)| fail(format!("{field} key"), why))?;
        text(&format!("{field}.{k}"), Some(v), MAX_TEXT)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_body_bytes: 128 * 1024,
        max_decoded_bytes: 128 * 1024,
        max_events: 5,
        max_age_ms: DEFAULT_MAX_AGE_MS,
        max_ahead_ms: DEFAULT_MAX_AHEAD_MS,
    };
    const ID: &str = "0F8FAD5B-D9CB-469F-A165-70867728950E";
    /// The time of receipt in these tests, and of sending (a right clock);
    /// events are stamped 1 s before.
    const NOW: i64 = 1_764_000_000_000;

    fn body(event_fields: &str) -> String {
        let ts = NOW - 1000;
        format!(r#"{{"v":1,"site":"demo-shop","sent_at":{NOW},"events":[{{"id":"{ID}","kind":"click","ts":{ts}{event_fields}}}]}}"#)
    }

    fn parse(body: &[u8], limits: &Limits) -> Result<Batch, Rejection> {
        super::parse_at(body, limits, NOW)
    }

    fn reason(event_fields: &str) -> String {
        parse(body(event_fields).as_bytes(), &LIMITS).unwrap_err().reason
    }

    fn with_ts(ts: i64) -> Result<Batch, Rejection> {
        parse(body("").replace(&format!(r#""ts":{}"#, NOW - 1000), &format!(r#""ts":{ts}"#)).as_bytes(), &LIMITS)
    }

    #[test]
    fn a_minimal_event_passes_and_its_id_is_lower_cased() {
        let b = parse(body("").as_bytes(), &LIMITS).unwrap();
        assert_eq!(b.events[0].id, ID.to_ascii_lowercase());
        assert_eq!(b.attempt, 1);
    }

    /// What the tag writes (`Event::to_json`, wire), the collector accepts:
    /// every text field one character over its limit is refused as given
    /// and passes once written, cut to exactly the limit (2048 characters,
    /// 4096 for URLs), maps' keys and values too.
    #[test]
    fn an_event_as_the_tag_writes_it_passes_the_limits() {
        use goaltag_wire::{Attribution, Element, Form, Kind, Map};
        let (t, u) = ("é".repeat(MAX_TEXT + 1), "u".repeat(MAX_URL + 1));
        let map = || Map::from([(t.clone(), t.clone())]);
        let mut e = Event::new(ID.to_ascii_lowercase(), Kind::Click, (NOW - 1000) as u64);
        (e.url, e.referrer) = (Some(u.clone()), Some(u.clone()));
        for f in [&mut e.title, &mut e.action, &mut e.category, &mut e.label, &mut e.goal, &mut e.trigger, &mut e.visit_id] {
            *f = Some(t.clone());
        }
        e.element = Some(Element {
            tag: t.clone(),
            id: Some(t.clone()),
            classes: Some(t.clone()),
            href: Some(u.clone()),
            outbound: None,
            text: Some(t.clone()),
            data: map(),
        });
        e.form = Some(Form { id: Some(t.clone()), name: Some(t.clone()), action: Some(u.clone()), method: Some(t.clone()), fields: 1 });
        e.attribution = Some(Attribution { click_ids: map(), utm: map(), referrer_host: Some(t.clone()), landing_url: Some(u.clone()) });
        assert_eq!(event(&e).unwrap_err().0, "url");
        let mut one = Event::new(ID.to_ascii_lowercase(), Kind::Click, (NOW - 1000) as u64);
        one.attribution = Some(Attribution { utm: map(), ..Default::default() });
        assert_eq!(event(&one).unwrap_err().0, "attribution.utm key");
        let written: Event = serde_json::from_str(&e.to_json()).unwrap();
        event(&written).unwrap();
        assert_eq!(written.url.as_ref().unwrap().chars().count(), MAX_URL);
        assert_eq!(written.form.as_ref().unwrap().action.as_ref().unwrap().chars().count(), MAX_URL);
        assert_eq!(written.action.as_ref().unwrap().chars().count(), MAX_TEXT);
        let utm = &written.attribution.as_ref().unwrap().utm;
        assert_eq!(utm.iter().map(|(k, v)| (k.chars().count(), v.chars().count())).collect::<Vec<_>>(), [(MAX_TEXT, MAX_TEXT)]);
    }

    #[test]
    fn nested_strings_are_limited_and_named() {
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(reason(&format!(r#","element":{{"tag":"a","text":"{long}"}}"#)), "events[0].element.text: longer than 2048 characters");
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
    fn nul_is_refused_in_every_string_naming_it() {
        let nul = |fields: &str| reason(fields);
        let why = "holds U+0000 (NUL), which no string on the wire may";
        assert_eq!(nul(r#","title":"a\u0000b""#), format!("events[0].title: {why}"));
        assert_eq!(nul(r#","element":{"tag":"a\u0000"}"#), format!("events[0].element.tag: {why}"));
        assert_eq!(nul(r#","form":{"fields":1,"method":"\u0000"}"#), format!("events[0].form.method: {why}"));
        assert_eq!(nul(r#","attribution":{"click_ids":{"gclid":"g\u0000"}}"#), format!("events[0].attribution.click_ids.gclid: {why}"));
        assert_eq!(nul(r#","attribution":{"click_ids":{"g\u0000":"g"}}"#), format!("events[0].attribution.click_ids key: {why}"));
        // Other control characters are text like any other.
        assert!(parse(body(r#","title":"a\u0001\u001fb""#).as_bytes(), &LIMITS).is_ok());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let title = "é".repeat(MAX_TEXT);
        assert!(parse(body(&format!(r#","title":"{title}""#)).as_bytes(), &LIMITS).is_ok());
        assert!(reason(&format!(r#","title":"{title}é""#)).starts_with("events[0].title"));
    }

    /// Enhanced conversions' `user_data` (issue 27): checked, its hashes in
    /// lower case; a bad one is a 400 naming the field, never a 500.
    #[test]
    fn user_data_is_checked_and_kept_in_lower_case() {
        let h = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
        let good = format!(
            r#","user_data":{{"google":{{"em":"{h}","city":"Menlo Park"}},"microsoft":{{"em":"{}"}},"meta":{{"ph":"{h}"}},"tiktok":{{"x":1}}}}"#,
            h.to_ascii_uppercase()
        );
        let b = parse(body(&good).as_bytes(), &LIMITS).unwrap();
        let u = b.events[0].user_data.as_ref().expect("checked and kept for the store");
        assert_eq!(u.microsoft["em"], h, "hashes in lower case");
        assert_eq!((u.google["em"].as_str(), u.google["city"].as_str(), u.meta["ph"].as_str()), (h, "Menlo Park", h));
        assert!(parse(body(r#","user_data":{}"#).as_bytes(), &LIMITS).is_ok());
        for (fields, field) in [
            (r#","user_data":{"meta":{"em":"john@example.com"}}"#, "events[0].user_data.meta.em: expected a SHA-256"),
            (&*format!(r#","user_data":{{"microsoft":{{"ph":"{}"}}}}"#, &h[1..]), "events[0].user_data.microsoft.ph"),
            (&*format!(r#","user_data":{{"google":{{"fn":"{h}0"}}}}"#), "events[0].user_data.google.fn"),
            (r#","user_data":{"google":{"country":"US","street":"1 Main St"}}"#, "events[0].user_data.google.street"),
        ] {
            let r = parse(body(fields).as_bytes(), &LIMITS).unwrap_err();
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            assert!(r.reason.starts_with(field), "{}", r.reason);
        }
        for malformed in [r#","user_data":"x""#, r#","user_data":{"google":[1]}"#, r#","user_data":{"meta":{"em":7}}"#] {
            let r = parse(body(malformed).as_bytes(), &LIMITS).unwrap_err();
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{malformed}");
        }
    }

    #[test]
    fn numbers_and_codes_are_checked() {
        assert!(reason(r#","value":1e13"#).starts_with("events[0].value: must be a finite number"));
        assert!(parse(body(r#","value":-1e12"#).as_bytes(), &LIMITS).is_ok());
        assert!(reason(r#","currency":"EURO""#).starts_with("events[0].currency"));
        assert_eq!(with_ts(0).unwrap_err().reason, "events[0].ts: must be milliseconds since 1970, not 0");
        let negative = with_ts(-5).unwrap_err();
        assert!(negative.reason.starts_with("not a goaltag batch: invalid value"), "{}", negative.reason);
        let zero = parse(body("").replace(r#""sent_at""#, r#""attempt":0,"sent_at""#).as_bytes(), &LIMITS);
        assert_eq!(zero.unwrap_err().reason, "attempt: counts from 1 (the first attempt), got 0");
    }

    #[test]
    fn a_wrong_browser_clock_is_cancelled_by_sent_at() {
        let hour = 3_600_000;
        let day = 24 * hour;
        let clock = |off: i64, waited: i64| {
            let b = format!(
                r#"{{"v":1,"site":"s","sent_at":{},"events":[{{"id":"{ID}","kind":"click","ts":{}}}]}}"#,
                NOW + off,
                NOW + off - waited
            );
            parse(b.as_bytes(), &LIMITS)
        };
        assert!(clock(5 * hour, 1000).is_ok(), "a clock 5 h fast");
        assert!(clock(-30 * day, 1000).is_ok(), "a clock 30 days slow");
        assert_eq!(clock(5 * hour, 8 * day).unwrap_err().reason, "events[0].ts: 8 d before receipt, older than the limit of 7 d");
    }

    /// The times stored: placed on the collector's clock when the browser's
    /// is wrong, the browser's own when it is right.
    #[test]
    fn events_are_stored_at_their_time_on_the_collectors_clock() {
        let (sec, day) = (1000, 86_400_000);
        // Two events 5 s and 1 s before sending, by a clock `off` ms from
        // the collector's, the batch arriving `transit` ms after it left.
        let stored = |off: i64, transit: i64| -> Vec<i64> {
            let sent_at = NOW - transit + off;
            let ids = ["0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"];
            let b = format!(
                r#"{{"v":1,"site":"s","sent_at":{sent_at},"events":[{{"id":"{}","kind":"click","ts":{}}},{{"id":"{}","kind":"click","ts":{}}}]}}"#,
                ids[0],
                sent_at - 5 * sec,
                ids[1],
                sent_at - sec
            );
            parse(b.as_bytes(), &LIMITS).unwrap().events.iter().map(|e| e.ts as i64).collect()
        };
        // 30 days slow, 200 ms in transit: 5 s and 1 s before receipt.
        assert_eq!(stored(-30 * day, 200), [NOW - 5000, NOW - 1000]);
        // 5 h fast: the same.
        assert_eq!(stored(5 * 3_600_000, 200), [NOW - 5000, NOW - 1000]);
        // A right clock: the browser's own times, transit not added.
        assert_eq!(stored(0, 200), [NOW - 200 - 5000, NOW - 200 - 1000]);
        // 59.8 s slow with 200 ms transit is within the slack: kept as sent.
        assert_eq!(stored(-59_800, 200), [NOW - 60_000 - 5000, NOW - 60_000 - 1000]);
        // 2 min slow is a wrong clock: corrected.
        assert_eq!(stored(-120_000, 200), [NOW - 5000, NOW - 1000]);
        // 300 ms fast (ahead of receipt by 100 ms): corrected, never after receipt.
        assert_eq!(stored(300, 200), [NOW - 5000, NOW - 1000]);
        // An event stamped after its batch left is stored at receipt.
        let late = format!(r#"{{"v":1,"site":"s","sent_at":{NOW},"events":[{{"id":"{ID}","kind":"click","ts":{}}}]}}"#, NOW + 30 * sec);
        assert_eq!(parse(late.as_bytes(), &LIMITS).unwrap().events[0].ts as i64, NOW);
    }

    /// The age limit judges the event's time on the collector's clock, so
    /// the oldest event a tag still sends passes, however slow its clock.
    #[test]
    fn the_age_limit_judges_the_corrected_time() {
        let day = 86_400_000;
        let week = goaltag_wire::limits::MAX_EVENT_AGE_MS as i64;
        // 30 s slow (within the slack, stored as sent): sent at its 7 days.
        let sent_at = NOW - 30_000;
        let b = |ts: i64| format!(r#"{{"v":1,"site":"s","sent_at":{sent_at},"events":[{{"id":"{ID}","kind":"click","ts":{ts}}}]}}"#);
        let ok = parse(b(sent_at - week).as_bytes(), &Limits::default()).unwrap();
        assert_eq!(ok.events[0].ts as i64, sent_at - week, "stored as the browser measured it");
        let old = parse(b(sent_at - week - 1).as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(old.reason, "events[0].ts: 7 d before receipt, older than the limit of 7 d");
        // 30 days slow: an event 8 days old by that clock is refused, one 6 days old stored 6 days before receipt.
        let slow = NOW - 30 * day;
        let b = |ts: i64| format!(r#"{{"v":1,"site":"s","sent_at":{slow},"events":[{{"id":"{ID}","kind":"click","ts":{ts}}}]}}"#);
        assert!(parse(b(slow - 8 * day).as_bytes(), &Limits::default()).unwrap_err().reason.starts_with("events[0].ts: 8 d before"));
        assert_eq!(parse(b(slow - 6 * day).as_bytes(), &Limits::default()).unwrap().events[0].ts as i64, NOW - 6 * day);
    }

    #[test]
    fn timestamps_must_fall_in_the_window_around_receipt() {
        let day = 86_400_000;
        // The edges are inside.
        assert!(with_ts(NOW - 7 * day).is_ok());
        assert!(with_ts(NOW + 3_600_000).is_ok());
        assert_eq!(with_ts(NOW - 7 * day - 1).unwrap_err().reason, "events[0].ts: 7 d before receipt, older than the limit of 7 d");
        assert_eq!(with_ts(NOW + 3_600_001).unwrap_err().reason, "events[0].ts: 1 h ahead of receipt, more than the limit of 1 h");
        assert_eq!(with_ts(1).unwrap_err().reason, "events[0].ts: 20416 d before receipt, older than the limit of 7 d");
        // Both bounds are settings.
        let tight = Limits { max_age_ms: 60_000, max_ahead_ms: 0, ..LIMITS };
        let at = |ts: i64| parse(body("").replace(&(NOW - 1000).to_string(), &ts.to_string()).as_bytes(), &tight);
        assert!(at(NOW).is_ok());
        assert_eq!(at(NOW + 1).unwrap_err().reason, "events[0].ts: 1 ms ahead of receipt, more than the limit of 0 ms");
        assert_eq!(at(NOW - 90_000).unwrap_err().reason, "events[0].ts: 1 min before receipt, older than the limit of 1 min");
        // One late event sinks the whole batch.
        let two = body("")
            .replace("}]}", &format!(r#"}},{{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","kind":"click","ts":{}}}]}}"#, NOW - 8 * day));
        assert!(parse(two.as_bytes(), &LIMITS).unwrap_err().reason.starts_with("events[1].ts: 8 d before receipt"));
    }

    /// The oldest event the tag sends (its highest `max_age_hours`, the
    /// contract's age) passes a collector at its defaults.
    #[test]
    fn an_event_as_old_as_the_tag_keeps_any_passes_by_default() {
        assert_eq!(Limits::default().max_age_ms, goaltag_wire::limits::MAX_EVENT_AGE_MS);
        let oldest = NOW - goaltag_wire::limits::MAX_EVENT_AGE_MS as i64;
        let at = |ts: i64| parse(body("").replace(&(NOW - 1000).to_string(), &ts.to_string()).as_bytes(), &Limits::default());
        assert!(at(oldest).is_ok());
        assert!(at(oldest - 1).is_err());
    }

    #[test]
    fn the_body_limit_comes_first() {
        let r = parse(&[b' '; 10], &Limits { max_body_bytes: 9, max_events: 1, ..LIMITS }).unwrap_err();
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
