//! Attribution: where a visitor came from, captured on landing and attached to
//! conversions for `attribution_window_days`. The shell stores
//! [`Campaign::serialise`] only with `ad_storage` granted; without it the data
//! lives as long as the page.

use crate::core::text::{hex_digit, parse_u64, push_u64};
use crate::core::url;
use crate::prelude::*;
use goaltag_wire::Attribution;

/// Click IDs of the ad platforms, always captured (and kept off the wire
/// while `ad_storage` is not granted); `click_ids` in the config adds more.
pub const CLICK_IDS: [&str; 8] = ["gclid", "gbraid", "wbraid", "dclid", "msclkid", "fbclid", "ttclid", "li_fat_id"];

/// How long a campaign touch is credited with conversions unless configured.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// Longer values are not IDs but junk; they would only bloat storage.
const MAX_VALUE: usize = 500;
const MAX_UTM: usize = 10;

/// What a page load's URL and referrer say about its source: click IDs and
/// `utm_*` parameters (names lower-cased, values percent-decoded, full names
/// such as `utm_source` as keys), and the referrer's host when it is another
/// site. `landing_url` is set when anything was found.
///
/// `new_visit`: the page is the first of a visit the tag knows to be new.
/// When such a page's URL names no source and its referrer is a page of the
/// same site, the source is the referrer's own click IDs and `utm_*`
/// parameters, with the referrer as `landing_url`: that page is where the
/// visit landed, and it went unrecorded (left before the tag recorded it,
/// without the tag, or consent came only on this page).
///
/// Give it the URL and referrer after [`url::redact`]; values are also cleared
/// of email addresses here, as a `utm_term` may carry one.
pub fn capture(page_url: &str, referrer: &str, extra_click_ids: &[String], new_visit: bool) -> Attribution {
    let mut a = Attribution::default();
    for (name, raw) in url::query_pairs(page_url) {
        if raw.is_empty() || raw.len() > MAX_VALUE {
            continue;
        }
        let name = name.to_ascii_lowercase();
        let map = match kind_of(&name, extra_click_ids) {
            Some(Param::Utm) if a.utm.len() < MAX_UTM => &mut a.utm,
            Some(Param::ClickId) => &mut a.click_ids,
            _ => continue,
        };
        // The first of a repeated parameter wins.
        if !map.contains_key(&name) {
            map.insert(name, url::redact_emails(&url::decode_query_value(raw)));
        }
    }
    if let Some(from) = url::host(referrer) {
        if url::host(page_url).as_deref() != Some(&from) {
            a.referrer_host = Some(from);
        } else if new_visit && is_empty(&a) {
            return capture(referrer, "", extra_click_ids, false);
        }
    }
    if !is_empty(&a) {
        a.landing_url = Some(page_url.to_string());
    }
    a
}

/// What a query parameter says about the visit's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// An ad platform's click ID ([`CLICK_IDS`] or the config's `click_ids`).
    ClickId,
    /// A `utm_*` campaign parameter.
    Utm,
}

/// Whether the (lower-case) parameter `name` is a campaign parameter, and which.
pub fn kind_of(name: &str, extra_click_ids: &[String]) -> Option<Param> {
    if name.len() > 4 && name.starts_with("utm_") {
        Some(Param::Utm)
    } else if is_click_id(name, extra_click_ids) {
        Some(Param::ClickId)
    } else {
        None
    }
}

/// Whether the parameter `name` (any case) is a click ID: one of
/// [`CLICK_IDS`] or of the config's `click_ids` (given lower-case).
pub fn is_click_id(name: &str, extra_click_ids: &[String]) -> bool {
    CLICK_IDS.iter().any(|c| c.eq_ignore_ascii_case(name)) || extra_click_ids.iter().any(|c| c.eq_ignore_ascii_case(name))
}

fn is_empty(a: &Attribution) -> bool {
    a.click_ids.is_empty() && a.utm.is_empty() && a.referrer_host.is_none()
}

/// The last campaign touch and when it was captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Config `attribution_window_days`: a touch older than this is no longer credited.
    pub window_days: u32,
    at: u64,
    data: Option<Attribution>,
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign::new(DEFAULT_WINDOW_DAYS)
    }
}

impl Campaign {
    /// No touch yet, crediting touches for `window_days`.
    pub fn new(window_days: u32) -> Self {
        Campaign { window_days, at: 0, data: None }
    }

    /// The touch to attach to a conversion at `now`, if still in the window.
    pub fn current(&self, now: u64) -> Option<&Attribution> {
        self.data.as_ref().filter(|_| self.live(now))
    }

    /// The window runs from the capture; its last millisecond is `window_days`
    /// days minus 1 ms later.
    fn live(&self, now: u64) -> bool {
        now.saturating_sub(self.at) < u64::from(self.window_days) * DAY_MS
    }

    /// Records what [`capture`] found on a page load. Click IDs or utm
    /// parameters replace the touch (last click wins). A bare referrer is kept
    /// only when there is no live touch: otherwise the return from a payment
    /// provider would take a paid click's credit for the purchase.
    pub fn land(&mut self, found: Attribution, now: u64) {
        let campaign = !found.click_ids.is_empty() || !found.utm.is_empty();
        let referral = found.referrer_host.is_some();
        if campaign || (referral && self.current(now).is_none()) {
            self.at = now;
            self.data = Some(found);
        }
    }

    /// Short text for storage: `1&.t=<ms>&<name>=<value>…&.r=<host>&.l=<url>`,
    /// `%`, `&`, `=` and control characters escaped as `%XX`. Empty when there
    /// is no touch.
    pub fn serialise(&self) -> String {
        let Some(a) = &self.data else {
            return String::new();
        };
        let mut s = String::with_capacity(64 + a.landing_url.as_ref().map_or(0, String::len));
        s.push_str("1&.t=");
        push_u64(&mut s, self.at);
        for (k, v) in a.click_ids.iter().chain(a.utm.iter()) {
            push_pair(&mut s, k, v);
        }
        if let Some(r) = &a.referrer_host {
            push_pair(&mut s, ".r", r);
        }
        if let Some(l) = &a.landing_url {
            push_pair(&mut s, ".l", l);
        }
        s
    }

    /// Restores what [`serialise`](Self::serialise) wrote; damaged text or an
    /// expired touch leaves none.
    pub fn restore(&mut self, s: &str, now: u64) {
        self.data = None;
        if let Some((at, a)) = parse(s) {
            self.at = at;
            self.data = Some(a);
            if !self.live(now) {
                self.data = None;
            }
        }
    }

    /// Storage could be read only now (consent came after the page load):
    /// the stored touch `s`, then what this page found before landed on it
    /// as [`land`](Self::land) would have had the stored one been read
    /// first. A bare referral seen while consent was unknown (the return
    /// from a payment provider) does not take a stored campaign's place.
    pub fn join_stored(&mut self, s: &str, now: u64) {
        let (at, found) = (self.at, self.data.take());
        self.restore(s, now);
        // This page's touch is taken as the newer, even against one another
        // tab stored since this page loaded (a rare race, not worth its bytes).
        if let Some(f) = found {
            self.land(f, at);
        }
    }
}

fn push_pair(s: &mut String, k: &str, v: &str) {
    s.push('&');
    escape(s, k);
    s.push('=');
    escape(s, v);
}

fn escape(out: &mut String, v: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for c in v.chars() {
        if matches!(c, '%' | '&' | '=') || c.is_ascii_control() {
            out.push('%');
            out.push(HEX[(c as usize) >> 4] as char);
            out.push(HEX[(c as usize) & 15] as char);
        } else {
            out.push(c);
        }
    }
}

/// Undoes [`escape`], which only escapes ASCII: anything else is damage.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut parts = s.split('%');
    out.push_str(parts.next()?);
    for p in parts {
        let b = p.as_bytes();
        let c = hex_digit(*b.first()?)? << 4 | hex_digit(*b.get(1)?)?;
        if !c.is_ascii() {
            return None;
        }
        out.push(c as char);
        out.push_str(p.get(2..).unwrap_or(""));
    }
    Some(out)
}

fn parse(s: &str) -> Option<(u64, Attribution)> {
    let mut it = s.split('&');
    if it.next()? != "1" {
        return None;
    }
    let at = parse_u64(it.next()?.strip_prefix(".t=")?)?;
    let mut a = Attribution::default();
    for pair in it {
        let (k, v) = pair.split_once('=')?;
        let (k, v) = (unescape(k)?, unescape(v)?);
        match k.as_str() {
            ".r" => a.referrer_host = Some(v),
            ".l" => a.landing_url = Some(v),
            _ if k.starts_with('.') || k.is_empty() => return None,
            _ if k.starts_with("utm_") => drop(a.utm.insert(k, v)),
            _ => drop(a.click_ids.insert(k, v)),
        }
    }
    (!is_empty(&a)).then_some((at, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const LANDING: &str =
        "https://www.shop.example/p?GCLID=Cj0KCQ-abc_1&utm_source=google&utm_medium=cpc&utm_campaign=spring+sale%21&q=shoes&yclid=Y1";

    #[test]
    fn captures_click_ids_utm_and_external_referrer() {
        let a = capture(LANDING, "https://www.google.com/search?q=x", &[], false);
        assert_eq!(a.click_ids.len(), 1);
        assert_eq!(a.click_ids["gclid"], "Cj0KCQ-abc_1");
        assert_eq!(a.utm["utm_source"], "google");
        assert_eq!(a.utm["utm_medium"], "cpc");
        assert_eq!(a.utm["utm_campaign"], "spring sale!");
        assert_eq!(a.referrer_host.as_deref(), Some("google.com"));
        assert_eq!(a.landing_url.as_deref(), Some(LANDING));
    }

    #[test]
    fn every_builtin_click_id_and_configured_extras() {
        let mut url = String::from("https://shop.example/?");
        for id in CLICK_IDS {
            url.push_str(id);
            url.push_str("=v-");
            url.push_str(id);
            url.push('&');
        }
        url.push_str("sccid=S1&yclid=Y1");
        let a = capture(&url, "", &["sccid".to_string()], false);
        assert_eq!(a.click_ids.len(), CLICK_IDS.len() + 1);
        for id in CLICK_IDS {
            assert_eq!(a.click_ids[id], format!("v-{id}"));
        }
        assert_eq!(a.click_ids["dclid"], "v-dclid", "Google's display click ID is built in");
        assert_eq!(a.click_ids["sccid"], "S1");
        assert!(!a.click_ids.contains_key("yclid"), "not configured");
        assert!(is_click_id("GCLID", &[]) && is_click_id("ScCid", &["sccid".to_string()]) && !is_click_id("yclid", &[]));
    }

    #[test]
    fn internal_or_missing_referrer_is_not_a_source() {
        for r in ["https://shop.example/cart", "https://www.SHOP.example/", "", "/relative"] {
            let a = capture("https://shop.example/p", r, &[], false);
            assert_eq!(a, Attribution::default(), "{r}");
        }
        let a = capture("https://shop.example/p", "https://blog.shop.example/", &[], false);
        assert_eq!(a.referrer_host.as_deref(), Some("blog.shop.example"));
    }

    #[test]
    fn a_new_visit_from_a_same_site_page_takes_that_pages_source_and_nothing_else_does() {
        let page = "https://shop.example/cart";
        let a = capture(page, LANDING, &[], true);
        assert_eq!((a.click_ids["gclid"].as_str(), a.utm["utm_campaign"].as_str()), ("Cj0KCQ-abc_1", "spring sale!"));
        assert_eq!((a.landing_url.as_deref(), a.referrer_host.as_deref()), (Some(LANDING), None));
        let www = capture("https://www.shop.example/cart", "https://shop.example/?utm_source=x", &[], true);
        assert_eq!(www.utm["utm_source"], "x");
        for r in ["https://shop.example/specials", "", "/?utm_source=x"] {
            assert_eq!(capture(page, r, &[], true), Attribution::default(), "{r}");
        }
        let other = capture(page, "https://other.example/?utm_source=x", &[], true);
        assert_eq!((other.referrer_host.as_deref(), other.utm.len()), (Some("other.example"), 0), "another site is a referral");
        let own = capture("https://shop.example/?utm_source=mail", LANDING, &[], true);
        assert_eq!((own.utm["utm_source"].as_str(), own.click_ids.len()), ("mail", 0), "the page's own source wins");
        assert_eq!(capture(page, LANDING, &[], false), Attribution::default(), "not a new visit: nothing");
    }

    #[test]
    fn values_are_bounded_and_free_of_emails() {
        let long = "x".repeat(MAX_VALUE + 1);
        let url = format!("https://s.example/?gclid={long}&utm_term=bob%40mail.example&utm_source=&fbclid=F&FBCLID=G");
        let a = capture(&url, "", &[], false);
        assert!(!a.click_ids.contains_key("gclid"));
        assert_eq!(a.click_ids["fbclid"], "F", "first one wins");
        assert_eq!(a.utm["utm_term"], "[email]");
        assert!(!a.utm.contains_key("utm_source"), "empty values are skipped");
        let many: String = (0..20).map(|i| format!("utm_k{i}=v&")).collect();
        assert_eq!(capture(&format!("https://s.example/?{many}"), "", &[], false).utm.len(), MAX_UTM);
    }

    #[test]
    fn redacted_landing_url_is_what_is_kept() {
        let raw = "https://s.example/?utm_source=news&email=bob%40x.example";
        let clean = url::redact(raw, &["email".to_string()]);
        let a = capture(&clean, "", &[], false);
        assert_eq!(a.landing_url.as_deref(), Some("https://s.example/?utm_source=news"));
    }

    #[test]
    fn window_expiry() {
        let mut c = Campaign::default();
        c.land(capture(LANDING, "", &[], false), T0);
        assert!(c.current(T0 + 30 * DAY_MS - 1).is_some());
        assert!(c.current(T0 + 30 * DAY_MS).is_none());
        let mut short = Campaign::new(1);
        short.land(capture(LANDING, "", &[], false), T0);
        assert!(short.current(T0 + DAY_MS - 1).is_some());
        assert!(short.current(T0 + DAY_MS).is_none());
        assert!(Campaign::default().current(T0).is_none());
    }

    #[test]
    fn last_click_wins_but_a_bare_referrer_does_not_overwrite() {
        let mut c = Campaign::default();
        c.land(capture("https://s.example/?gclid=A", "", &[], false), T0);
        c.land(capture("https://s.example/done", "https://paypal.example/checkout", &[], false), T0 + 1000);
        assert_eq!(c.current(T0 + 2000).unwrap().click_ids["gclid"], "A");
        c.land(capture("https://s.example/", "", &[], false), T0 + 3000);
        assert_eq!(c.current(T0 + 4000).unwrap().click_ids["gclid"], "A", "direct keeps the touch");
        c.land(capture("https://s.example/?fbclid=B", "", &[], false), T0 + 5000);
        let now = c.current(T0 + 6000).unwrap();
        assert_eq!((now.click_ids.get("gclid"), now.click_ids["fbclid"].as_str()), (None, "B"));
        // Once the touch has expired, a referral is recorded.
        let later = T0 + 5000 + 30 * DAY_MS;
        c.land(capture("https://s.example/", "https://news.example/a", &[], false), later);
        assert_eq!(c.current(later).unwrap().referrer_host.as_deref(), Some("news.example"));
        // And a referral alone is recorded when there is nothing.
        let mut fresh = Campaign::default();
        fresh.land(capture("https://s.example/", "https://news.example/a", &[], false), T0);
        assert!(fresh.current(T0).is_some());
    }

    #[test]
    fn serialise_and_restore() {
        let mut c = Campaign::default();
        assert_eq!(c.serialise(), "");
        let url = "https://s.example/p?gclid=a%26b%3Dc%25&utm_source=x%0Ay&utm_content=%C3%A9";
        c.land(capture(url, "https://news.example/", &[], false), T0);
        let s = c.serialise();
        assert_eq!(
            s,
            "1&.t=1700000000000&gclid=a%26b%3Dc%25&utm_content=é&utm_source=x%0Ay&.r=news.example\
             &.l=https://s.example/p?gclid%3Da%2526b%253Dc%2525%26utm_source%3Dx%250Ay%26utm_content%3D%25C3%25A9"
        );
        let mut back = Campaign::default();
        back.restore(&s, T0 + 29 * DAY_MS);
        assert_eq!(back, c);
        back.restore(&s, T0 + 30 * DAY_MS);
        assert!(back.current(T0).is_none(), "expired while stored");
    }

    #[test]
    fn a_touch_found_before_storage_was_read_lands_on_the_stored_one() {
        let ad = |id: &str| capture(&format!("https://s.example/?gclid={id}"), "", &[], false);
        let referral = capture("https://s.example/done", "https://pay.example/ok", &[], false);
        let stored = |id: &str, at: u64| {
            let mut c = Campaign::default();
            c.land(ad(id), at);
            c.serialise()
        };
        let gclid = |c: &Campaign, now: u64| c.current(now).and_then(|a| a.click_ids.get("gclid").cloned());
        let day = T0 + DAY_MS;
        // (what the page found, at; what storage holds) → the touch after.
        let cases: [(Option<Attribution>, &str, Option<&str>); 4] = [
            (Some(referral.clone()), &stored("old", T0), Some("old")), // a referral fills no live touch's place
            (Some(ad("new")), &stored("old", T0), Some("new")),        // a campaign replaces it
            (Some(referral.clone()), "", None),                        // nothing stored: the referral stays
            (None, &stored("old", T0), Some("old")),
        ];
        for (i, (found, s, want)) in cases.into_iter().enumerate() {
            let mut c = Campaign::default();
            let referred = found.as_ref().is_some_and(|f| f.click_ids.is_empty());
            if let Some(f) = found {
                c.land(f, day);
            }
            c.join_stored(s, day + 2);
            assert_eq!(gclid(&c, day + 2).as_deref(), want, "case {i}");
            if referred && want.is_none() {
                assert_eq!(c.current(day + 2).and_then(|a| a.referrer_host.as_deref()), Some("pay.example"), "case {i}");
            }
        }
    }

    #[test]
    fn damaged_text_restores_nothing() {
        for bad in [
            "",
            "2&.t=1&gclid=a",
            "1&.t=x&gclid=a",
            "1&gclid=a",
            "1&.t=1",
            "1&.t=1&gclid",
            "1&.t=1&gclid=%zz",
            "1&.t=1&.x=1",
            "1&.t=1&gclid=%FF",
        ] {
            let mut c = Campaign::default();
            c.restore(bad, 1);
            assert!(c.current(1).is_none(), "{bad}");
        }
    }
}
