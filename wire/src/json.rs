//! A minimal JSON writer for the wire types: just enough to write an [`Event`]
//! and a batch envelope, with field names spelled exactly as the serde derives
//! spell them (the tests check that).

use crate::limits::{MAX_TEXT, MAX_URL};
use crate::{Attribution, Consent, Dropped, Element, Event, Form, Identifier, VERSION};
use alloc::string::String;

/// Appends `s` as a JSON string literal. Runs that need no escape are
/// copied whole: most strings have no escape at all. U+0000 is left out:
/// the collector refuses a batch with it in any string ([`crate::is_wire_text`]),
/// so a NUL a page put in a label would otherwise cost the whole batch.
pub fn write_str(out: &mut String, s: &str) {
    write_cut(out, s, usize::MAX);
}

/// [`write_str`] of the first `max` characters of `s`. Every string of an
/// event goes out through this, cut to the contract's limit for its field
/// ([`MAX_URL`] for URLs, [`MAX_TEXT`] for the rest): page facts (a long
/// class list, a link, a `utm_*` value) and a site's labels are not checked
/// before, and one field over its limit would make the collector refuse
/// the whole batch, which the tag then drops.
fn write_cut(out: &mut String, s: &str, max: usize) {
    out.reserve(s.len() + 2);
    out.push('"');
    let b = s.as_bytes();
    let (mut start, mut i) = (0, 0);
    let mut chars = 0;
    while i < b.len() {
        let c = b[i];
        // A character starts at every byte but a UTF-8 continuation byte.
        if c & 0xC0 != 0x80 {
            if chars == max {
                break;
            }
            chars += 1;
        }
        // U+2028/2029 (E2 80 A8/A9) are legal JSON but break naive JS string handling.
        let line_sep = c == 0xE2 && b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9));
        if c >= 0x20 && c != b'"' && c != b'\\' && !line_sep {
            i += 1;
            continue;
        }
        // `i` is at a character boundary: an ASCII byte or a lead byte.
        out.push_str(s.get(start..i).unwrap_or(""));
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0 => {}
            _ => {
                let code = if line_sep { 0x2028 + (b[i + 2] - 0xA8) as usize } else { c as usize };
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(b"0123456789abcdef"[(code >> shift) & 15]));
                }
                if line_sep {
                    i += 2;
                }
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(s.get(start..i).unwrap_or(""));
    out.push('"');
}

/// Appends `n` in decimal (`write!` would pull `core::fmt` into the tag's wasm).
pub fn write_uint(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&c| c as char));
}

/// Appends a number with at most 6 decimal places (`49.95`, `10`, `-0.5`).
///
/// Rust's shortest-float formatting costs about 15 KB of wasm; conversion
/// values are money, for which 6 decimals are exact enough. Magnitudes from
/// 9e12 up are written as whole numbers; non-finite values as `null`.
pub fn write_num(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str("null");
        return;
    }
    let a = v.abs();
    let (int, frac) = if a < 9e12 {
        let scaled = (a * 1e6 + 0.5) as u64;
        (scaled / 1_000_000, scaled % 1_000_000)
    } else {
        (a as u64, 0)
    };
    if v < 0.0 && (int != 0 || frac != 0) {
        out.push('-');
    }
    write_uint(out, int);
    if frac != 0 {
        let mut digits = [b'0'; 6];
        let mut f = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        let end = 6 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.push('.');
        out.extend(digits[..end].iter().map(|&d| d as char));
    }
}

/// Writes `{"k":v,...}` one field at a time, handling the commas.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }
    fn str(&mut self, k: &str, v: &str) {
        write_cut(self.key(k), v, MAX_TEXT);
    }
    fn opt_str(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    fn opt_url(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            write_cut(self.key(k), v, MAX_URL);
        }
    }
    fn raw(&mut self, k: &str, v: &str) {
        self.key(k).push_str(v);
    }
    fn uint(&mut self, k: &str, v: u64) {
        write_uint(self.key(k), v);
    }
    fn opt_bool(&mut self, k: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.raw(k, if v { "true" } else { "false" });
        }
    }
    fn opt_num(&mut self, k: &str, v: Option<f64>) {
        if let Some(v) = v {
            write_num(self.key(k), v);
        }
    }
    fn map(&mut self, k: &str, m: &crate::Map) {
        if m.is_empty() {
            return;
        }
        let mut o = Obj::open(self.key(k));
        for (k, v) in m {
            let out = o.key_dynamic(k);
            write_cut(out, v, MAX_TEXT);
        }
        o.close();
    }
    fn key_dynamic(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_cut(self.out, k, MAX_TEXT);
        self.out.push(':');
        self.out
    }
    fn close(self) {
        self.out.push('}');
    }
}

impl Event {
    /// The event as one JSON object, as it goes on the wire.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        let mut o = Obj::open(&mut out);
        o.str("id", &self.id);
        o.str("kind", self.kind.as_str());
        o.uint("ts", self.ts);
        o.opt_url("url", &self.url);
        o.opt_url("referrer", &self.referrer);
        o.opt_str("title", &self.title);
        o.opt_str("action", &self.action);
        o.opt_str("category", &self.category);
        o.opt_str("label", &self.label);
        o.opt_num("value", self.value);
        o.opt_str("currency", &self.currency);
        o.opt_str("transaction_id", &self.transaction_id);
        o.opt_str("goal", &self.goal);
        o.opt_bool("primary", self.primary);
        o.opt_str("trigger", &self.trigger);
        if let Some(e) = &self.element {
            element(o.key("element"), e);
        }
        if let Some(f) = &self.form {
            form(o.key("form"), f);
        }
        o.opt_str("client_id", &self.client_id);
        o.opt_str("visit_id", &self.visit_id);
        if let Some(a) = &self.attribution {
            attribution(o.key("attribution"), a);
        }
        if let Some(c) = &self.consent {
            consent(o.key("consent"), c);
        }
        o.opt_bool("gpc", self.gpc);
        if let Some(u) = &self.user_data {
            let mut x = Obj::open(o.key("user_data"));
            for (k, m) in u.platforms() {
                x.map(k, m);
            }
            x.close();
        }
        o.close();
        out
    }
}

fn element(out: &mut String, e: &Element) {
    let mut o = Obj::open(out);
    o.str("tag", &e.tag);
    o.opt_str("id", &e.id);
    o.opt_str("classes", &e.classes);
    o.opt_url("href", &e.href);
    o.opt_bool("outbound", e.outbound);
    o.opt_str("text", &e.text);
    o.map("data", &e.data);
    o.close();
}

fn form(out: &mut String, f: &Form) {
    let mut o = Obj::open(out);
    o.opt_str("id", &f.id);
    o.opt_str("name", &f.name);
    o.opt_url("action", &f.action);
    o.opt_str("method", &f.method);
    o.uint("fields", f.fields as u64);
    o.close();
}

fn attribution(out: &mut String, a: &Attribution) {
    let mut o = Obj::open(out);
    o.map("click_ids", &a.click_ids);
    o.map("utm", &a.utm);
    o.opt_str("referrer_host", &a.referrer_host);
    o.opt_url("landing_url", &a.landing_url);
    o.close();
}

/// `c` as a JSON object, as an event's `consent` field carries it.
pub fn consent(out: &mut String, c: &Consent) {
    let mut o = Obj::open(out);
    o.str("analytics_storage", c.analytics_storage.as_str());
    o.str("ad_storage", c.ad_storage.as_str());
    o.str("ad_user_data", c.ad_user_data.as_str());
    o.str("ad_personalization", c.ad_personalization.as_str());
    o.close();
}

/// An event serialised by [`Event::to_json`], narrowed to what the consent
/// `snapshot` now in force allows, exactly as if it had been recorded under
/// it: without the identifiers [`Consent::allows`] refuses (as
/// [`Event::withhold`] removes them), and with `consent` replaced by
/// `snapshot`. Everything else, the event's ID included, stays byte for byte.
///
/// Fails closed: text that is not such an object (or whose object holding
/// an identifier is not) is None, for the caller to drop: what it carries
/// cannot be told, so it cannot be sent.
pub fn narrow(json: &str, snapshot: &Consent) -> Option<String> {
    // The members by their wire names ([`Identifier::path`]), one arm a
    // variant, as [`Event::withhold`] does; the tests hold the two equal
    // under every consent.
    let gone = |id| !snapshot.allows(id);
    let mut out = String::with_capacity(json.len());
    let mut o = Obj::open(&mut out);
    for (k, v) in members(json)? {
        match k {
            "consent" => consent(o.key(k), snapshot),
            "client_id" if gone(Identifier::ClientId) => {}
            "visit_id" if gone(Identifier::VisitId) => {}
            "user_data" if gone(Identifier::UserData) => {}
            "attribution" if gone(Identifier::ClickIds) => {
                let mut inner = Obj::open(o.key(k));
                for (ik, iv) in members(v)? {
                    if ik != "click_ids" {
                        inner.raw(ik, iv);
                    }
                }
                inner.close();
            }
            _ => o.raw(k, v),
        }
    }
    o.close();
    Some(out)
}

/// The members of a JSON object as written here (no white space, keys without
/// escapes): `(key, value as text)` pairs, or None if it is not such an object
/// (a key with an escape could spell a member's name another way).
fn members(json: &str) -> Option<alloc::vec::Vec<(&str, &str)>> {
    let b = json.as_bytes();
    let mut out = alloc::vec::Vec::new();
    if b.first() != Some(&b'{') || b.last() != Some(&b'}') {
        return None;
    }
    let mut i = 1;
    while i < b.len() - 1 {
        if b[i] != b'"' {
            return None;
        }
        // A key ends at its quote; an escape before it is refused.
        let key_end = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
        if b[key_end] != b'"' || b.get(key_end + 1) != Some(&b':') {
            return None;
        }
        let start = key_end + 2;
        let (mut depth, mut in_str, mut j) = (0usize, false, start);
        while j < b.len() - 1 {
            let c = b[j];
            if in_str {
                match c {
                    b'\\' => j += 1,
                    b'"' => in_str = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.checked_sub(1)?,
                    b',' if depth == 0 => break,
                    _ => {}
                }
            }
            j += 1;
        }
        if in_str || depth != 0 || j == start {
            return None;
        }
        out.push((json.get(i + 1..key_end)?, json.get(start..j)?));
        i = j + 1;
    }
    Some(out)
}

/// A whole POST body around events that are already JSON (the outbox keeps
/// events serialised, so a retry re-sends the very same bytes).
pub fn batch_body<'a>(site: &str, sent_at: u64, attempt: u32, dropped: &Dropped, events: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::with_capacity(1024);
    let mut o = Obj::open(&mut out);
    o.uint("v", VERSION as u64);
    o.str("site", site);
    o.uint("sent_at", sent_at);
    if attempt != 1 {
        o.uint("attempt", attempt as u64);
    }
    if !dropped.is_empty() {
        let mut d = Obj::open(o.key("dropped"));
        for (k, n) in Dropped::NAMES.into_iter().zip(dropped.counts()) {
            if n != 0 {
                d.uint(k, n as u64);
            }
        }
        d.close();
    }
    let list = o.key("events");
    list.push('[');
    for (i, e) in events.into_iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(e);
    }
    list.push(']');
    o.close();
    out
}

/// Bytes the envelope adds around the events of a batch, at most, so the outbox
/// can size batches without writing them first.
pub fn envelope_overhead(site: &str) -> usize {
    // {"v":1 ,"site":"…" ,"sent_at":<20> ,"attempt":<10> ,"dropped":{ 4×("expired":<10>,) } ,"events":[ ]}
    // 6 + (10 + 6 per site byte, each escaped at worst as \u00XX) + 31 + 21 + 12 + 88 + 1 + 11 + 2
    182 + site.len() * 6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Batch, Identifier, Kind, Signal};

    fn full_event() -> Event {
        let mut e = Event::new("8b0e8a4e-3c1f-4b8e-9c77-1d2f3a4b5c6d".into(), Kind::Conversion, 1764000000000);
        e.url = Some("https://shop.example/checkout/confirmation?x=\"q\"".into());
        e.referrer = Some(String::new());
        e.title = Some("Thanks \u{1F389} \\ \n\t\u{1}\u{2028}".into());
        e.action = Some("buy".into());
        e.category = Some("shop".into());
        e.label = Some("l".into());
        e.value = Some(49.95);
        e.currency = Some("EUR".into());
        e.transaction_id = Some("T-1".into());
        e.goal = Some("purchase".into());
        e.primary = Some(true);
        e.trigger = Some("abc".into());
        let mut data = crate::Map::new();
        data.insert("goal".into(), "cta\"".into());
        e.element = Some(Element {
            tag: "a".into(),
            id: Some("buy".into()),
            classes: Some("btn big".into()),
            href: Some("/cart".into()),
            outbound: Some(false),
            text: Some("Buy now".into()),
            data,
        });
        e.form = Some(Form { id: Some("f".into()), name: None, action: Some("/s".into()), method: Some("post".into()), fields: 3 });
        e.client_id = Some("c".into());
        e.visit_id = Some("v".into());
        let mut click_ids = crate::Map::new();
        click_ids.insert("gclid".into(), "G1".into());
        e.attribution =
            Some(Attribution { click_ids, utm: crate::Map::new(), referrer_host: Some("news.example".into()), landing_url: None });
        e.consent = Some(Consent {
            analytics_storage: Signal::Granted,
            ad_storage: Signal::Denied,
            ad_user_data: Signal::Denied,
            ad_personalization: Signal::Granted,
        });
        e.gpc = Some(true);
        let mut u = crate::UserData::default();
        u.google.insert("em".into(), "a".repeat(64));
        u.google.insert("city".into(), "Menlo Park".into());
        u.meta.insert("ph".into(), "b".repeat(64));
        e.user_data = Some(u);
        e
    }

    /// Every consent snapshot: all 16 combinations of the four signals.
    fn every_consent() -> impl Iterator<Item = Consent> {
        (0..16u8).map(|bits| {
            let s = |bit: u8| if bits & (1 << bit) != 0 { Signal::Granted } else { Signal::Denied };
            Consent { analytics_storage: s(0), ad_storage: s(1), ad_user_data: s(2), ad_personalization: s(3) }
        })
    }

    /// Consent narrowed after an event was queued: it is rewritten exactly as
    /// if it had been recorded under the new state (the one rule,
    /// [`Event::withhold`]), whatever its strings hold.
    #[test]
    fn narrow_is_what_recording_under_the_narrower_consent_writes() {
        let mut e = full_event();
        // Strings and nested keys that look like the members being removed.
        e.title = Some("\",\"client_id\":\"x\",\"consent\":{}} \\\"".into());
        e.element.as_mut().unwrap().data.insert("client_id".into(), "{\"visit_id\":[1,2]}".into());
        e.attribution.as_mut().unwrap().utm.insert("utm_source".into(), "bing\"},\"click_ids\":{".into());
        e.attribution.as_mut().unwrap().landing_url = Some("https://shop.example/?msclkid=M&x=[{".into());
        for snapshot in every_consent() {
            let mut want = e.clone();
            want.withhold(&snapshot);
            want.consent = Some(snapshot);
            let got = narrow(&e.to_json(), &snapshot).unwrap();
            assert_eq!(got, want.to_json(), "{snapshot:?}");
            assert_eq!(serde_json::from_str::<Event>(&got).unwrap(), want);
        }
        // Only click IDs: the attribution object stays, empty, as recording would write it.
        let mut only = Event::new("i".into(), Kind::PageView, 1);
        only.attribution = Some(Attribution { click_ids: e.attribution.clone().unwrap().click_ids, ..Default::default() });
        only.consent = e.consent;
        let no_ads = Consent { ad_storage: Signal::Denied, ..e.consent.unwrap() };
        let mut want = only.clone();
        want.attribution = Some(Attribution::default());
        want.consent = Some(no_ads);
        assert_eq!(narrow(&only.to_json(), &no_ads).unwrap(), want.to_json());
    }

    /// [`Event::withhold`] names each identifier one by one: every one of
    /// [`Identifier::ALL`] must be gone from the wire when all is denied.
    #[test]
    fn withholding_under_all_denied_leaves_no_identifier_on_the_wire() {
        let denied = every_consent().next().unwrap();
        let at = |v: &serde_json::Value, id: Identifier| match id.path() {
            (outer, None) => v.get(outer).cloned(),
            (outer, Some(inner)) => v.get(outer).and_then(|o| o.get(inner)).cloned(),
        };
        let full = serde_json::to_value(full_event()).unwrap();
        let mut e = full_event();
        e.withhold(&denied);
        let withheld = serde_json::to_value(&e).unwrap();
        for id in Identifier::ALL {
            assert!(at(&full, id).is_some(), "the fixture carries {id:?}");
            assert_eq!(at(&withheld, id), None, "{id:?}");
        }
    }

    /// The defect of issue 26: text `narrow` could not read went on as it was,
    /// identifiers included. Now it fails closed: None, for the caller to drop.
    #[test]
    fn narrow_never_passes_on_what_it_cannot_read() {
        let denied = every_consent().next().unwrap();
        let full = full_event().to_json();
        let cut_short = &full[..full.len() - 1];
        let unbalanced = full.replace("\"click_ids\":{", "\"click_ids\":{{");
        let broken_attribution = full.replace("\"attribution\":{\"click_ids\"", "\"attribution\":{click_ids");
        assert_ne!(broken_attribution, full);
        for bad in [
            "",
            "{",
            "[]",
            "{\"a\":}",
            "{\"a\":\"x}",
            "{\"a\":1}}",
            "{\"client_id\":\"c\",\"x\":}",
            // An escape spells client_id for a JSON parser, not for a byte match.
            "{\"client\\u005fid\":\"c\"}",
            cut_short,
            &unbalanced,
            &broken_attribution,
        ] {
            assert_eq!(narrow(bad, &denied), None, "{bad}");
        }
        // What withholding leaves nothing of is still read: it stays whole.
        let granted = every_consent().last().unwrap();
        assert!(narrow(&broken_attribution, &granted).is_some(), "nothing of the attribution goes, so it is copied");
    }

    #[test]
    fn writer_agrees_with_serde_for_a_full_event() {
        let e = full_event();
        let json = e.to_json();
        let parsed: Event = serde_json::from_str(&json).expect(&json);
        assert_eq!(parsed, e);
        // And byte for byte with serde_json's own output, modulo key order, via Value.
        let ours: serde_json::Value = serde_json::from_str(&json).unwrap();
        let theirs = serde_json::to_value(&e).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn writer_leaves_out_absent_fields() {
        let e = Event::new("id".into(), Kind::PageView, 5);
        assert_eq!(e.to_json(), r#"{"id":"id","kind":"page_view","ts":5}"#);
    }

    #[test]
    fn batch_body_parses_to_the_wire_format() {
        let a = full_event().to_json();
        let b = Event::new("id2".into(), Kind::Click, 6).to_json();
        let dropped = Dropped { overflow: 2, poison: 0, expired: 1, consent: 3 };
        let body = batch_body("demo-shop", 1764000000001, 3, &dropped, [a.as_str(), b.as_str()]);
        let batch: Batch = serde_json::from_str(&body).unwrap();
        assert_eq!(batch.v, 1);
        assert_eq!(batch.site, "demo-shop");
        assert_eq!(batch.sent_at, 1764000000001);
        assert_eq!(batch.attempt, 3);
        assert_eq!(batch.dropped, dropped);
        assert_eq!(batch.events, vec![full_event(), Event::new("id2".into(), Kind::Click, 6)]);
        assert!(body.len() <= a.len() + b.len() + 1 + envelope_overhead("demo-shop"));
    }

    #[test]
    fn first_attempt_and_no_drops_keep_the_envelope_minimal() {
        let body = batch_body("s", 1, 1, &Dropped::default(), []);
        assert_eq!(body, r#"{"v":1,"site":"s","sent_at":1,"events":[]}"#);
    }

    #[test]
    fn numbers_have_at_most_six_decimals() {
        let cases: [(f64, &str); 11] = [
            (0.0, "0"),
            (10.0, "10"),
            (49.95, "49.95"),
            (-0.5, "-0.5"),
            (0.1 + 0.2, "0.3"),
            (1.0e-7, "0"),
            (-1.0e-7, "0"),
            (123456.654321, "123456.654321"),
            (1e12, "1000000000000"),
            (f64::NAN, "null"),
            (2.5e13, "25000000000000"),
        ];
        for (v, want) in cases {
            let mut s = String::new();
            write_num(&mut s, v);
            assert_eq!(s, want, "{v}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        write_str(&mut s, "a\u{1}b\u{1f}c\u{2029}");
        assert_eq!(s, r#""a\u0001b\u001fc\u2029""#);
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "a\u{1}b\u{1f}c\u{2029}");
    }

    #[test]
    fn every_string_round_trips_through_a_json_parser() {
        // Escapes at the start, the end, side by side and between multi-byte
        // characters, and look-alikes of U+2028 that must pass unescaped.
        let cases = [
            "",
            "plain",
            "\"",
            "\\",
            "\"\"",
            "é\u{2028}ü",
            "\u{2028}",
            "x\u{2029}",
            "\u{2027}\u{202a}\u{2080}",
            "\n\r\t\u{7f}",
            "🎉\"🎉",
            "a\\b\"c\nd",
            "\u{e2}\u{80}",
            "end\u{1}",
        ];
        for case in cases {
            let mut s = String::new();
            write_str(&mut s, case);
            assert_eq!(serde_json::from_str::<String>(&s).unwrap(), case, "{s}");
            assert!(!s.contains('\u{2028}') && !s.contains('\u{2029}') && !s.bytes().any(|b| b < 0x20), "{s}");
        }
    }

    /// A NUL a page put in a label, a data-* attribute or a map key never
    /// reaches the wire: the collector refuses a batch with U+0000 in any
    /// string (`is_wire_text`, issue 25 item 7), so the tag writing one would
    /// lose the whole batch, every other event in it too.
    #[test]
    fn a_nul_is_left_out_of_every_string() {
        let mut s = String::new();
        write_str(&mut s, "a\0b\0");
        assert_eq!(s, "\"ab\"");
        let mut e = full_event();
        e.label = Some("cart\0 total".into());
        let mut data = crate::Map::new();
        data.insert("go\0al".into(), "\0x".into());
        e.element.as_mut().unwrap().data = data;
        let out = e.to_json();
        assert!(!out.contains("\\u0000") && crate::is_wire_text(&out), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["label"], "cart total", "{out}");
        assert_eq!(v["element"]["data"]["goal"], "x", "{out}");
    }
}
