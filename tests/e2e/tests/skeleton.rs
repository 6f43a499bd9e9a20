//! The built demo shop in a real headless browser against the real collector.

use goaltag_e2e::{Browser, Harness};

fn is_uuid_v4(id: &str) -> bool {
    id.len() == 36 && id.as_bytes()[14] == b'4' && id.chars().filter(|&c| c == '-').count() == 4
}

fn page_view_lands(browser: Browser) {
    let h = Harness::start(browser);
    h.goto("/");
    let rows = h.wait_rows("select id, url, json from events where kind='page_view' and site='demo-shop'", 1, 20);
    assert_eq!(rows.len(), 1, "{browser:?}: no page_view landed");
    let id = rows[0][0].as_str().unwrap();
    assert!(is_uuid_v4(id), "{id}");
    assert_eq!(rows[0][1].as_str().unwrap(), h.url("/"));
    assert!(rows[0][2].as_str().unwrap().contains(r#""title":"Weekend Goods — home""#));
}

fn walk_the_shop(browser: Browser) {
    let h = Harness::start(browser);
    h.goto("/");
    h.click("#hero-cta");
    h.wait_rows("select 1 from events where kind='page_view' and url like '%/specials.html'", 1, 20);
    h.click("#product-blanket");
    h.wait_rows("select 1 from events where kind='page_view' and url like '%/product.html?sku=blanket'", 1, 20);
    h.click("#add-to-cart");
    h.click("#go-to-cart");
    h.wait_rows("select 1 from events where kind='page_view' and url like '%/cart.html'", 1, 20);
    h.click("#place-order");
    let purchase = h.wait_rows(
        "select value, currency, transaction_id, url from events where kind='event' and json like '%\"action\":\"purchase\"%'",
        1,
        20,
    );
    assert_eq!(purchase.len(), 1, "{browser:?}: no purchase landed");
    assert_eq!(purchase[0][0].as_f64(), Some(59.0));
    assert_eq!(purchase[0][1].as_str(), Some("USD"));
    assert!(purchase[0][2].as_str().unwrap().starts_with("T-"));
    assert!(purchase[0][3].as_str().unwrap().contains("/checkout/confirmation.html?order=T-"));
    let add = h.wait_rows("select json, value from events where json like '%\"action\":\"add_to_cart\"%'", 1, 20);
    assert_eq!(add.len(), 1, "{browser:?}: add_to_cart did not land");
    assert!(add[0][0].as_str().unwrap().contains(r#""label":"blanket""#));
    assert_eq!(add[0][1].as_f64(), Some(59.0));
    // Clicks were auto-captured along the way, with their element.
    let clicks = h.wait_rows("select json from events where kind='click' and json like '%\"id\":\"hero-cta\"%'", 1, 20);
    assert_eq!(clicks.len(), 1, "{browser:?}: the hero click did not land");
    assert!(clicks[0][0].as_str().unwrap().contains(r#""cta":"hero""#));
    let views = h.query("select count(*) from events where kind='page_view'");
    assert!(views[0][0].as_i64().unwrap() >= 5, "{browser:?}: {views:?}");
}

#[test]
fn chromium_page_view_lands_in_the_database() {
    page_view_lands(Browser::Chromium);
}

#[test]
fn firefox_page_view_lands_in_the_database() {
    page_view_lands(Browser::Firefox);
}

#[test]
fn chromium_walk_through_the_shop_to_a_purchase() {
    walk_the_shop(Browser::Chromium);
}

#[test]
fn firefox_walk_through_the_shop_to_a_purchase() {
    walk_the_shop(Browser::Firefox);
}
