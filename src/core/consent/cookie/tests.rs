use super::*;
use crate::core::consent::*;
use crate::core::val::json;
use goaltag_wire::Signal::{Denied as D, Granted as G};

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn default_category_map() {
    let m = CategoryMap::default();
    assert_eq!(from_categories(&strs(&["necessary"]), &m), Partial::all(D), "reject all");
    assert_eq!(from_categories(&[], &m), Partial::all(D));
    assert_eq!(from_categories(&strs(&["necessary", "analytics", "marketing"]), &m), Partial::all(G), "accept all");
    assert_eq!(from_categories(&strs(&["necessary", "analytics"]), &m), Partial { analytics_storage: Some(G), ..Partial::all(D) });
    assert_eq!(from_categories(&strs(&["ads"]), &m), Partial { analytics_storage: Some(D), ..Partial::all(G) });
    assert_eq!(m.types("functionality"), &[]);
}

#[test]
fn custom_category_map_replaces_the_default() {
    let m = parse_category_map(&json(
        r#"{"analytics":["analytics_storage"],"marketing":["ad_storage","ad_user_data"],"stats":"analytics_storage","none":[]}"#,
    ))
    .unwrap();
    assert_eq!(from_categories(&strs(&["marketing"]), &m), Partial { ad_storage: Some(G), ad_user_data: Some(G), ..Partial::all(D) });
    assert_eq!(from_categories(&strs(&["ads", "none"]), &m), Partial::all(D), "'ads' is no longer mapped");
    assert_eq!(from_categories(&strs(&["stats"]), &m).analytics_storage, Some(G));
    assert_eq!(from_categories(&strs(&["analytics", "marketing"]), &m).ad_personalization, Some(D));
}

#[test]
fn category_map_errors_name_the_field() {
    let e = parse_category_map(&json(r#"{"marketing":["ad_storage","ads_storage"]}"#)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "goaltag: consent.source.categories.marketing[1]: expected one of analytics_storage, ad_storage, \
         ad_user_data, ad_personalization, got \"ads_storage\""
    );
    let e = parse_category_map(&json(r#"{"analytics":true}"#)).unwrap_err();
    assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.source.categories.analytics", "true"));
    let e = parse_category_map(&json(r#"{"analytics":"analytics"}"#)).unwrap_err();
    assert_eq!(e.field, "consent.source.categories.analytics");
    let e = parse_category_map(&json(r#"["analytics"]"#)).unwrap_err();
    assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.source.categories", "a list"));
}

#[test]
fn reads_categories_from_the_cookie_or_event() {
    let cookie = json(r#"{"categories":["necessary","analytics",3],"revision":0,"data":null,"consentId":"x"}"#);
    assert_eq!(cookie_categories(&cookie), Some(strs(&["necessary", "analytics"])));
    assert_eq!(cookie_categories(&json(r#"{"categories":[]}"#)), Some(vec![]));
    assert_eq!(cookie_categories(&json(r#"{"categories":"analytics"}"#)), None);
    assert_eq!(cookie_categories(&json(r#"{}"#)), None);
    assert_eq!(cookie_categories(&Val::Null), None);
}

#[test]
fn finds_the_banner_cookie_among_others() {
    let all = "theme=dark; cc_cookie=%7B%22categories%22%3A%5B%5D%7D;other=1; cc_cookie2=x";
    assert_eq!(cookie_value(all, "cc_cookie"), Some("%7B%22categories%22%3A%5B%5D%7D"));
    assert_eq!(cookie_value(all, "other"), Some("1"));
    assert_eq!(cookie_value(all, "cc"), None, "a prefix is not a match");
    assert_eq!(cookie_value("", "cc_cookie"), None);
    assert_eq!(cookie_value("cc_cookie=", "cc_cookie"), Some(""));
    assert_eq!(cookie_value("xcc_cookie=1", "cc_cookie"), None);
}

#[test]
fn bad_or_foreign_cookie_content_is_no_answer() {
    // What the shell hands over when JSON.parse fails, or the JSON is not the banner's.
    for v in [Val::Null, Val::Str("not json".into()), json("[1,2]"), json(r#"{"categories":{"analytics":true}}"#)] {
        assert_eq!(cookie_categories(&v), None, "{v:?}");
    }
}

#[test]
fn unknown_categories_grant_nothing() {
    let m = CategoryMap::default();
    let got = cookie_categories(&json(r#"{"categories":["necessary","functionality","Analytics","statistics"]}"#));
    assert_eq!(from_categories(&got.unwrap(), &m), Partial::all(D), "names are matched exactly");
}

/// `document.cookie` exactly as the real CookieConsent 3.1.0 (the demo's
/// vendored banner, www/vendor/cookieconsent/) left it in headless Chromium
/// after "Manage preferences", Analytics on, Marketing off, "Save choices"
/// (tests/e2e/tests/ad_walk.rs prints it; Firefox's has the same shape): its
/// `JSON.stringify` of the state, `encodeURIComponent`-ed, categories first.
const REAL_CC_COOKIE: &str = "cc_cookie=%7B%22categories%22%3A%5B%22necessary%22%2C%22analytics%22%5D%2C%22revision%22%3A0%2C%22data%22%3Anull%2C%22consentTimestamp%22%3A%222026-12-06T20%3A36%3A49.573Z%22%2C%22consentId%22%3A%2214691e94-c09f-42e0-bcae-b509b9b1d607%22%2C%22services%22%3A%7B%22necessary%22%3A%5B%5D%2C%22analytics%22%3A%5B%5D%2C%22marketing%22%3A%5B%5D%7D%2C%22languageCode%22%3A%22en%22%2C%22lastConsentTimestamp%22%3A%222026-12-06T20%3A36%3A49.573Z%22%2C%22expirationTime%22%3A1812314209573%7D";

#[test]
fn reads_the_cookie_the_real_cookieconsent_v3_writes() {
    let raw = cookie_value(REAL_CC_COOKIE, "cc_cookie").expect("the cookie is found");
    assert!(raw.starts_with("%7B%22categories%22"), "URI-encoded JSON, not plain or base64: {raw}");
    // The browser decodes with decodeURIComponent; for encodeURIComponent's
    // output (no raw `+`) the query decoder gives the same text.
    let text = crate::core::url::decode_query_value(raw);
    assert!(text.starts_with(r#"{"categories":["necessary","analytics"],"revision":0,"data":null,"#), "{text}");
    let cookie = json(&text);
    assert_eq!(cookie_categories(&cookie), Some(strs(&["necessary", "analytics"])));
    // Analytics only: analytics_storage granted, the three advertising types denied.
    let got = from_categories(&cookie_categories(&cookie).unwrap(), &CategoryMap::default());
    assert_eq!(got, Partial { analytics_storage: Some(G), ..Partial::all(D) });
}
