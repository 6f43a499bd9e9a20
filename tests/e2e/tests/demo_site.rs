//! The demo shop's files, without a browser: every page carries the tag exactly
//! as documented, nothing is fetched from outside the shop, and www/goals.json
//! is accepted by the tag's goal engine and fires on the shop's own pages.

use goaltag::core::goals::{parse_goals, Fact, Goals, Memory, Pattern, Patterns};
use goaltag::core::val::Val;
use goaltag_e2e::repo_www;
use goaltag_wire::{Event, Kind};

const PAGES: [&str; 5] = ["index.html", "specials.html", "product.html", "cart.html", "checkout/confirmation.html"];

/// As README.md documents it: consent denied until the banner (the real
/// CookieConsent v3, configured in www/consent.js) says otherwise.
const SNIPPET: &str = r#"<script>window.goaltag=window.goaltag||function(){(goaltag.q=goaltag.q||[]).push(arguments)};goaltag('consent','source',{cookie:'cc_cookie'});</script>
<script async src="/goaltag/goaltag.js" data-site="demo-shop" data-collector="/collect" data-config="/goals.json" data-consent="denied"></script>"#;

/// The banner's files as every page loads them: the library (vendored and
/// pinned, the version in the URL so a new one is never mixed with a cached
/// old one), then www/consent.js, deferred so they run in this order.
const BANNER: &str = r#"<link rel="stylesheet" href="/vendor/cookieconsent/cookieconsent.css?v=3.1.0">
<script src="/shop.js" defer></script><script src="/vendor/cookieconsent/cookieconsent.umd.js?v=3.1.0" defer></script><script src="/consent.js" defer></script>"#;

/// The vendored banner library's files (www/vendor/cookieconsent/).
const VENDORED: [&str; 3] = ["cookieconsent.umd.js", "cookieconsent.css", "LICENSE"];

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_www().join(path)).unwrap_or_else(|e| panic!("www/{path}: {e}"))
}

#[test]
fn every_page_carries_the_tag_in_its_head() {
    for page in PAGES {
        let html = read(page);
        let head = &html[..html.find("</head>").unwrap_or_else(|| panic!("{page}: no </head>"))];
        assert_eq!(head.matches(SNIPPET).count(), 1, "{page}: the tag snippet, once, in <head>");
        assert_eq!(html.matches("goaltag.js").count(), 1, "{page}: one tag");
        // The banner: the vendored library's style and script, then its configuration.
        assert_eq!(head.matches(BANNER).count(), 1, "{page}: the banner, once, in <head>");
    }
}

#[test]
fn nothing_is_fetched_from_outside_the_shop() {
    let vendored = ["vendor/cookieconsent/cookieconsent.umd.js", "vendor/cookieconsent/cookieconsent.css"];
    for file in PAGES.iter().copied().chain(["shop.js", "consent.js", "style.css"]).chain(vendored) {
        let mut text = read(file);
        // The library's own banner comment names its home page; it fetches nothing.
        if let Some(end) = text.strip_prefix("/*!").and_then(|_| text.find("*/")) {
            text.replace_range(..end + 2, "");
        }
        for needle in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(!text.contains(needle), "www/{file} refers outside the shop: {needle}");
        }
    }
}

/// The vendored CookieConsent is the release its README names, unchanged:
/// every file's sha256 is the one written there, and the script says its version.
#[test]
fn the_vendored_banner_is_the_pinned_release() {
    use sha2::{Digest, Sha256};
    let dir = repo_www().join("vendor/cookieconsent");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("| 3.1.0 (tarball sha256"), "README.md names the version");
    for file in VENDORED {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("vendor/cookieconsent/{file}: {e}"));
        let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert!(readme.contains(&format!("{hex}  {file}")), "vendor/cookieconsent/{file} is not the file README.md pins (sha256 {hex})");
    }
    assert!(read("vendor/cookieconsent/cookieconsent.umd.js").starts_with("/*!\n* CookieConsent 3.1.0\n"));
    assert!(read("vendor/cookieconsent/LICENSE").starts_with("MIT License"));
}

#[test]
fn the_elements_the_tests_and_goals_use_exist() {
    let ids = [
        ("index.html", &["hero-cta", "newsletter", "newsletter-email", "subscribe", "newsletter-thanks"][..]),
        ("specials.html", &["product-coffee", "product-blanket", "product-books"][..]),
        ("product.html", &["add-to-cart", "go-to-cart", "added", "product-name", "product-price"][..]),
        ("cart.html", &["cart-lines", "cart-total", "place-order"][..]),
        ("checkout/confirmation.html", &["order-id", "order-total", "back-home"][..]),
    ];
    for (page, ids) in ids {
        let html = read(page);
        for id in ids {
            assert!(html.contains(&format!("id=\"{id}\"")), "{page}: no #{id}");
        }
        assert!(html.contains("id=\"cart-count\""), "{page}: no cart count in the header");
        assert!(html.contains("id=\"privacy-settings\""), "{page}: no privacy settings link to reopen the banner");
    }
    assert!(read("index.html").contains(r#"data-goaltag-cta="hero""#));
}

/// Case-insensitive substring "regexes" are enough here: goals.json uses none.
struct NoRegex;
impl Patterns for NoRegex {
    fn compile(&self, p: &str) -> Result<Box<dyn Pattern>, String> {
        Err(format!("goals.json should not need a regex ({p})"))
    }
}

fn goals() -> Goals {
    let config: Val = serde_json::from_str(&read("goals.json")).expect("www/goals.json is JSON");
    let (goals, errors) = parse_goals(config.get("goals").expect("a goals list"), &NoRegex);
    let errors: Vec<String> = errors.iter().map(|e| format!("{e:?}")).collect();
    assert!(errors.is_empty(), "www/goals.json: {errors:#?}");
    goals
}

/// The conversions `fact` produces, as (goal, value, currency).
fn fire(goals: &Goals, fact: Fact, trigger: &Event, mem: &mut Memory) -> Vec<(String, Option<f64>, Option<String>)> {
    let mut n = 0;
    let mut new_id = || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    };
    goals
        .evaluate(&fact, trigger, "demo-shop", "visit-1", mem, &mut new_id)
        .into_iter()
        .map(|c| (c.goal.unwrap(), c.value, c.currency))
        .collect()
}

#[test]
fn goals_json_is_valid_and_fires_on_the_shop() {
    let goals = goals();
    assert_eq!(goals.form_selectors(), ["#newsletter"]);
    let mut mem = Memory::new();
    let base = "http://127.0.0.1:8080";
    let mut page = Event::new("00000000-0000-4000-8000-00000000000a".into(), Kind::PageView, 1);

    for path in ["/", "/product.html?sku=blanket", "/cart.html", "/checkout/confirmation.html?order=T-1&total=59.00"] {
        let url = format!("{base}{path}");
        assert_eq!(fire(&goals, Fact::Page { url: &url }, &page, &mut mem), [], "{path}");
    }
    let url = format!("{base}/specials.html");
    page.url = Some(url.clone());
    assert_eq!(fire(&goals, Fact::Page { url: &url }, &page, &mut mem), [("specials_view".to_string(), None, None)]);
    assert_eq!(fire(&goals, Fact::Page { url: &url }, &page, &mut mem), [], "specials_view: once per visit");

    let mut buy = Event::new("00000000-0000-4000-8000-00000000000d".into(), Kind::Event, 2);
    buy.value = Some(59.0);
    buy.transaction_id = Some("T-1".into());
    let fact = Fact::Event { category: Some("shop"), action: Some("purchase"), label: None, value: Some(59.0) };
    assert_eq!(fire(&goals, fact, &buy, &mut mem), [("purchase".to_string(), Some(59.0), Some("USD".to_string()))]);
    assert_eq!(fire(&goals, fact, &buy, &mut mem), [], "one transaction converts once");

    let mut add = Event::new("00000000-0000-4000-8000-00000000000b".into(), Kind::Event, 2);
    add.value = Some(59.0);
    let fact = Fact::Event { category: Some("shop"), action: Some("add_to_cart"), label: Some("blanket"), value: Some(59.0) };
    assert_eq!(fire(&goals, fact, &add, &mut mem), [("add_to_cart".to_string(), Some(59.0), Some("USD".to_string()))]);

    let submit = Event::new("00000000-0000-4000-8000-00000000000c".into(), Kind::FormSubmit, 3);
    assert_eq!(fire(&goals, Fact::Submit { matched: &[0] }, &submit, &mut mem)[0].0, "newsletter");
    assert_eq!(fire(&goals, Fact::Submit { matched: &[0] }, &submit, &mut mem), [], "newsletter: once per user");

    assert_eq!(fire(&goals, Fact::Engaged { ms: 29_000 }, &page, &mut mem), []);
    assert_eq!(fire(&goals, Fact::Engaged { ms: 30_000 }, &page, &mut mem)[0].0, "engaged_30s");
}
