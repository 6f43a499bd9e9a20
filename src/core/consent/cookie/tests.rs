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
