//! A small shop's three days with known answers, sent through the real
//! ingestion path (POST /collect). Shared by the collector's report tests and
//! the dashboard's end-to-end test (which includes this file by path).
//!
//! Visits (site "shop"; day 0 is the first of the three days):
//! - V1 (client c1), day 0: Google ad (gclid, google/cpc/spring) → / →
//!   specials → product → cart → confirmation; purchase T1 50 EUR (primary).
//!   Its batch is sent twice (the second time as attempt 2): 6 duplicates.
//! - V2 (c2), day 0: newsletter (news/email/march) → / → specials → product;
//!   newsletter signup (secondary, no value). Its batch reports dropped
//!   events: overflow 2, poison 1, expired 3, consent withdrawn 4.
//! - V3 (c3), day 1: from blog.example → product → / → specials; purchase T2
//!   30 USD.
//! - V4 (c1 again), day 1: direct → / → cart; purchase T3 20 EUR.
//! - V5 (client c4, no visit ID), day 2: direct → / → specials.
//! - Day 2: two page views of / with no ID at all, and purchase T4 10 EUR with
//!   no ID, attributed to a Meta click (fbclid).
//! - Outside the range or another site: a page view and a purchase 2 days
//!   before day 0; a page view of site "other".
//! - Two bodies refused by validation (rejections), sent first.
//!
//! The expected figures are spelled out in the tests, not computed here.

#![allow(dead_code)]

use serde_json::{json, Value};

pub const SITE: &str = "shop";
pub const DAY_MS: i64 = 86_400_000;

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Builds events with increasing IDs and times.
pub struct Seed {
    next: u32,
    day0: i64,
}

impl Seed {
    pub fn new(day0: i64) -> Seed {
        Seed { next: 1, day0 }
    }

    fn base(&mut self, kind: &str, day: i64) -> serde_json::Map<String, Value> {
        self.next += 1;
        let ts = (self.day0 + day) * DAY_MS + 9 * 3_600_000 + i64::from(self.next) * 1000;
        let mut e = serde_json::Map::new();
        e.insert("id".into(), json!(id(self.next)));
        e.insert("kind".into(), json!(kind));
        e.insert("ts".into(), json!(ts));
        e
    }

    fn ids(e: &mut serde_json::Map<String, Value>, visit: Option<&str>, client: Option<&str>) {
        if let Some(v) = visit {
            e.insert("visit_id".into(), json!(v));
        }
        if let Some(c) = client {
            e.insert("client_id".into(), json!(c));
        }
    }

    /// Page views of `paths` (the first carrying `attribution`).
    pub fn visit(&mut self, day: i64, visit: Option<&str>, client: Option<&str>, attribution: Option<Value>, paths: &[&str]) -> Vec<Value> {
        paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut e = self.base("page_view", day);
                e.insert("url".into(), json!(format!("https://shop.example{p}")));
                Self::ids(&mut e, visit, client);
                if let (0, Some(a)) = (i, &attribution) {
                    e.insert("attribution".into(), a.clone());
                }
                Value::Object(e)
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub fn conversion(
        &mut self,
        day: i64,
        visit: Option<&str>,
        client: Option<&str>,
        goal: &str,
        primary: bool,
        value: Option<(f64, &str)>,
        transaction_id: Option<&str>,
        attribution: Option<Value>,
    ) -> Value {
        let mut e = self.base("conversion", day);
        e.insert("url".into(), json!("https://shop.example/checkout/confirmation.html"));
        e.insert("goal".into(), json!(goal));
        e.insert("primary".into(), json!(primary));
        if let Some((v, c)) = value {
            e.insert("value".into(), json!(v));
            e.insert("currency".into(), json!(c));
        }
        if let Some(t) = transaction_id {
            e.insert("transaction_id".into(), json!(t));
        }
        Self::ids(&mut e, visit, client);
        if let Some(a) = attribution {
            e.insert("attribution".into(), a);
        }
        Value::Object(e)
    }
}

pub fn batch(site: &str, events: &[Value], attempt: u32, dropped: Value) -> String {
    let sent_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    json!({"v": 1, "site": site, "sent_at": sent_at, "attempt": attempt, "dropped": dropped, "events": events}).to_string()
}

fn post(base: &str, body: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(20)).build();
    match agent.post(&format!("{base}/collect")).set("Content-Type", "text/plain").send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
        Err(e) => panic!("POST /collect: {e}"),
    }
}

pub fn send(base: &str, body: &str, expect: &str) {
    let (status, answer) = post(base, body);
    assert_eq!((status, answer.as_str()), (200, expect), "POST /collect");
}

/// Sends the whole data set to the collector at `base`.
pub fn seed(base: &str, day0: i64) {
    // Rejections first: the writer records them before the batches that follow.
    assert_eq!(post(base, "{not json").0, 400);
    assert_eq!(post(base, &batch(SITE, &[json!({"id": "nope", "kind": "click", "ts": 1})], 1, json!({}))).0, 400);

    let mut s = Seed::new(day0);
    let google = json!({"click_ids": {"gclid": "G-1"}, "utm": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring"},
                        "landing_url": "https://shop.example/?gclid=G-1&utm_source=google&utm_medium=cpc&utm_campaign=spring"});
    let news = json!({"utm": {"utm_source": "news", "utm_medium": "email", "utm_campaign": "march"}});
    let blog = json!({"referrer_host": "blog.example", "landing_url": "https://shop.example/product.html?id=2"});
    let meta = json!({"click_ids": {"fbclid": "F-1"}});

    let mut v1 = s.visit(
        0,
        Some("V1"),
        Some("c1"),
        Some(google.clone()),
        &["/", "/specials.html", "/product.html?id=1", "/cart.html", "/checkout/confirmation.html"],
    );
    v1.push(s.conversion(0, Some("V1"), Some("c1"), "purchase", true, Some((50.0, "EUR")), Some("T1"), Some(google)));
    let v1 = batch(SITE, &v1, 1, json!({}));
    send(base, &v1, r#"{"duplicates":0,"stored":6}"#);
    // The same batch again, as a retry would send it.
    send(base, &v1.replace(r#""attempt":1"#, r#""attempt":2"#), r#"{"duplicates":6,"stored":0}"#);

    let mut v2 = s.visit(0, Some("V2"), Some("c2"), Some(news.clone()), &["/?utm_source=news", "/specials.html", "/product.html?id=3"]);
    v2.push(s.conversion(0, Some("V2"), Some("c2"), "newsletter", false, None, None, Some(news)));
    send(base, &batch(SITE, &v2, 1, json!({"overflow": 2, "poison": 1, "expired": 3, "consent": 4})), r#"{"duplicates":0,"stored":4}"#);

    let mut day1 = s.visit(1, Some("V3"), Some("c3"), Some(blog.clone()), &["/product.html?id=2", "/", "/specials.html"]);
    day1.push(s.conversion(1, Some("V3"), Some("c3"), "purchase", true, Some((30.0, "USD")), Some("T2"), Some(blog)));
    day1.extend(s.visit(1, Some("V4"), Some("c1"), None, &["/index.html", "/cart.html"]));
    day1.push(s.conversion(1, Some("V4"), Some("c1"), "purchase", true, Some((20.0, "EUR")), Some("T3"), None));
    send(base, &batch(SITE, &day1, 1, json!({})), r#"{"duplicates":0,"stored":7}"#);

    let mut day2 = s.visit(2, None, Some("c4"), None, &["/", "/specials.html"]);
    day2.extend(s.visit(2, None, None, None, &["/", "/"]));
    day2.push(s.conversion(2, None, None, "purchase", true, Some((10.0, "EUR")), Some("T4"), Some(meta)));
    send(base, &batch(SITE, &day2, 1, json!({})), r#"{"duplicates":0,"stored":5}"#);

    // Outside the range, and another site: none of it may count.
    let mut old = s.visit(-2, Some("V0"), Some("c0"), None, &["/"]);
    old.push(s.conversion(-2, Some("V0"), Some("c0"), "purchase", true, Some((999.0, "EUR")), Some("T0"), None));
    send(base, &batch(SITE, &old, 1, json!({})), r#"{"duplicates":0,"stored":2}"#);
    let other = s.visit(1, Some("X"), Some("x"), None, &["/"]);
    send(base, &batch("other", &other, 1, json!({})), r#"{"duplicates":0,"stored":1}"#);
}

/// The offline conversions file of the tests: T1 and T2 match online
/// purchases, T9 does not; T1 was later refunded.
pub fn import_csv(day0: i64) -> String {
    let d = |n: i64| {
        let ms = (day0 + n) * DAY_MS;
        ms.to_string()
    };
    format!(
        "transaction_id,goal,stage,value,currency,ts\n\
         T1,purchase,shipped,50,EUR,{}\n\
         T2,purchase,shipped,30,usd,{}\n\
         T9,purchase,shipped,15,EUR,{}\n\
         \"T1\",purchase,refunded,-50,EUR,{}\n",
        d(0),
        d(1),
        d(1),
        d(2)
    )
}
