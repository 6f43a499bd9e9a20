use super::*;

const LANDING: &str = "https://shop.example/?utm_source=bing&x=1&msclkid=abc%20d&utm_source=dup&mine=7&UTM_Medium=cpc#top";

fn ps(extra: &[&str]) -> Vec<(&'static str, &'static str)> {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    params(LANDING, &extra)
}

#[test]
fn params_are_click_ids_and_utm_only_first_of_each_name() {
    assert_eq!(ps(&[]), vec![("utm_source", "bing"), ("msclkid", "abc%20d"), ("UTM_Medium", "cpc")]);
    assert_eq!(ps(&["mine"]), vec![("utm_source", "bing"), ("msclkid", "abc%20d"), ("mine", "7"), ("UTM_Medium", "cpc")]);
    assert!(params("https://shop.example/specials.html", &[]).is_empty());
    assert!(params("https://shop.example/?gclid=", &[]).is_empty(), "an empty value is no campaign");
}

#[test]
fn same_site_links_get_the_missing_params_before_the_fragment() {
    let p = ps(&[]);
    let page = "https://shop.example/?utm_source=bing";
    assert_eq!(
        decorate("https://shop.example/specials.html", page, &p).as_deref(),
        Some("https://shop.example/specials.html?utm_source=bing&msclkid=abc%20d&UTM_Medium=cpc")
    );
    assert_eq!(
        decorate("https://www.shop.example/p?sku=coffee#buy", page, &p).as_deref(),
        Some("https://www.shop.example/p?sku=coffee&utm_source=bing&msclkid=abc%20d&UTM_Medium=cpc#buy"),
        "own query and fragment kept; www. is the same site"
    );
    assert_eq!(
        decorate("https://shop.example/p?", page, &p).as_deref(),
        Some("https://shop.example/p?utm_source=bing&msclkid=abc%20d&UTM_Medium=cpc")
    );
    assert_eq!(
        decorate("https://shop.example/p?utm_source=own&MSCLKID=x", page, &p).as_deref(),
        Some("https://shop.example/p?utm_source=own&MSCLKID=x&UTM_Medium=cpc"),
        "the link's own values win"
    );
    assert_eq!(decorate("https://shop.example/p?utm_source=a&msclkid=b&utm_medium=c", page, &p), None, "nothing missing");
}

#[test]
fn other_sites_and_other_schemes_are_never_decorated() {
    let p = ps(&[]);
    let page = "https://shop.example/";
    for target in [
        "https://other.example/",
        "https://shop.example:8443/",
        "https://shop.example.evil.example/",
        "mailto:bob@shop.example",
        "javascript:void(0)",
        "tel:+123",
        "/relative",
        "",
    ] {
        assert_eq!(decorate(target, page, &p), None, "{target}");
    }
    assert_eq!(decorate("https://shop.example/", page, &[]), None, "no params, nothing to do");
}

#[test]
fn get_forms_get_hidden_fields_they_lack_decoded() {
    let p = ps(&[]);
    let page = "https://shop.example/";
    let f = fields("https://shop.example/search", page, &p, |n| n == "utm_source");
    assert_eq!(f, vec![("msclkid".to_string(), "abc d".to_string()), ("UTM_Medium".to_string(), "cpc".to_string())]);
    assert!(fields("https://other.example/search", page, &p, |_| false).is_empty());
}

#[test]
fn the_plan_sets_a_link_or_post_form_and_adds_fields_to_a_get_form() {
    let p = ps(&[]);
    let page = "https://shop.example/";
    let to = "https://shop.example/cart";
    let set = |prop, url: &str| Some(Decoration::Set { prop, url: url.to_string() });
    let decorated = "https://shop.example/cart?utm_source=bing&msclkid=abc%20d&UTM_Medium=cpc";
    assert_eq!(plan(Followed::Link { href: to }, page, &p, |_| false), set("href", decorated));
    assert_eq!(plan(Followed::Form { action: to, method: "post" }, page, &p, |_| false), set("action", decorated));
    assert_eq!(
        plan(Followed::Form { action: to, method: "get" }, page, &p, |n| n != "msclkid"),
        Some(Decoration::Fields(vec![("msclkid".into(), "abc d".into())]))
    );
    assert_eq!(plan(Followed::Form { action: to, method: "get" }, page, &p, |_| true), None, "every field there already");
    assert_eq!(plan(Followed::Form { action: to, method: "dialog" }, page, &p, |_| false), None, "a dialog goes nowhere");
    assert_eq!(plan(Followed::Link { href: "https://other.example/" }, page, &p, |_| false), None);
    assert_eq!(LINK, "a[href]");
}
