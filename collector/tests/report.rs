//! Reports and imports against a seeded data set with known answers (see
//! seed/mod.rs), sent through POST /collect to the real collector on a free
//! loopback port; the CLI is checked against the same database. Each test runs
//! on both stores, SQLite and PostgreSQL, against the same expected figures.

mod common;
mod pg;
#[macro_use]
mod stores;
mod seed;

use common::{agent, Server};
use stores::start;

use serde_json::{json, Value};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");

on_both_stores!(the_report_adds_up_figure_by_figure, the_report_adds_up_figure_by_figure_on_postgres, report_adds_up);
on_both_stores!(imports_join_by_transaction_id_and_never_double_count, imports_join_on_postgres, imports_join);
on_both_stores!(bad_questions_get_a_reason, bad_questions_get_a_reason_on_postgres, bad_questions);
on_both_stores!(the_return_counts_primary_conversions_once, the_return_counts_primary_conversions_once_on_postgres, primary_value);
on_both_stores!(match_keys_per_network_count_each_primary_conversion_once, match_keys_on_postgres, match_keys);
on_both_stores!(a_visit_landed_where_its_touch_says, a_visit_landed_where_its_touch_says_on_postgres, landing_of_the_touch);

/// A visit landed on its touch's `landing_url`, not on its first recorded
/// page, when the two differ: the tag records a landing page it did not see
/// as the next page's view, carrying the landing page's touch.
fn landing_of_the_touch(s: Server) {
    let (day0, from, to) = days();
    let mut seed = seed::Seed::new(day0);
    let bing =
        json!({"utm": {"utm_source": "bing", "utm_medium": "cpc"}, "landing_url": "https://shop.example/?utm_source=bing&utm_medium=cpc"});
    let news = json!({"referrer_host": "news.example", "landing_url": "https://shop.example/"});
    // L1 landed on / (not recorded), first recorded on the specials, and bought.
    let mut events = seed.visit(0, Some("L1"), Some("c1"), Some(bing.clone()), &["/specials.html", "/cart.html"]);
    events.push(seed.conversion(0, Some("L1"), Some("c1"), "purchase", true, Some((14.0, "EUR")), Some("T-L1"), Some(bing)));
    // L2 landed on the specials with no touch; L3 on / from a referral.
    events.extend(seed.visit(0, Some("L2"), Some("c2"), None, &["/specials.html"]));
    events.extend(seed.visit(0, Some("L3"), Some("c3"), Some(news), &["/", "/specials.html"]));
    seed::send(&s.base, &seed::batch("lost", &events, 1, json!({})), r#"{"duplicates":0,"stored":6}"#);
    let r = s.json(&format!("/report?site=lost&from={from}&to={to}&funnel=/,/specials.html"));
    // Hand-counted: / has L1 and L3 (L1's purchase); the specials L2 alone.
    assert_eq!(
        r["landing_pages"],
        json!([{"path": "/", "visits": 2, "conversions": 1}, {"path": "/specials.html", "visits": 1, "conversions": 0}])
    );
    // The funnel counts recorded pages: only L3 viewed / and then the specials.
    let steps: Vec<(&str, u64)> =
        r["funnel"]["steps"].as_array().unwrap().iter().map(|s| (s["path"].as_str().unwrap(), s["visits"].as_u64().unwrap())).collect();
    assert_eq!(steps, [("/", 1), ("/specials.html", 1)]);
}

/// The exports' expected match coverage (issue 27): per ad network, the
/// primary conversions with its click ID, else its hashed email or phone,
/// else neither; hashes sent without `ad_user_data` are not kept, so count
/// as none; a name alone is no email or phone.
fn match_keys(s: Server) {
    let (day0, from, to) = days();
    let mut e = seed::Seed::new(day0);
    let h = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f";
    let consent = |ad_user_data: &str| json!({"analytics_storage": "granted", "ad_storage": "granted", "ad_user_data": ad_user_data, "ad_personalization": "granted"});
    let click = |param: &str| json!({"click_ids": {param: "x1"}});
    let mut purchase = |attribution: Option<Value>, user_data: Option<Value>, ad_user_data: &str, primary: bool| {
        let mut c = e.conversion(1, Some("v"), Some("c"), "purchase", primary, Some((10.0, "EUR")), None, attribution);
        c["consent"] = consent(ad_user_data);
        if let Some(u) = user_data {
            c["user_data"] = u;
        }
        c
    };
    let events = vec![
        // P1: an msclkid, hashed emails for Microsoft and Meta.
        purchase(Some(click("msclkid")), Some(json!({"microsoft": {"em": h}, "meta": {"em": h}})), "granted", true),
        // P2: a gclid alone.
        purchase(Some(click("gclid")), None, "granted", true),
        // P3: no click, email and phone for every network.
        purchase(None, Some(json!({"google": {"em": h}, "microsoft": {"ph": h}, "meta": {"em": h, "ph": h}})), "granted", true),
        // P4: no click, hashes under ad_user_data denied: not kept.
        purchase(None, Some(json!({"google": {"em": h}, "microsoft": {"em": h}, "meta": {"em": h}})), "denied", true),
        // P5: an fbclid and Google's hashed phone.
        purchase(Some(click("fbclid")), Some(json!({"google": {"ph": h, "city": "Menlo Park"}})), "granted", true),
        // P6: no click, Meta's hashed first name only.
        purchase(None, Some(json!({"meta": {"fn": h}})), "granted", true),
        // A secondary conversion with everything: not counted.
        purchase(Some(click("msclkid")), Some(json!({"microsoft": {"em": h}})), "granted", false),
    ];
    seed::send(&s.base, &seed::batch(seed::SITE, &events, 1, json!({})), r#"{"duplicates":0,"stored":7}"#);
    let r = s.json(&format!("/report?site=shop&from={from}&to={to}"));
    assert_eq!(r["totals"]["primary_conversions"], 6);
    assert_eq!(
        r["match_keys"],
        json!([
            {"platform": "microsoft-ads", "network": "Microsoft Advertising", "click_id": 1, "hashed_email_or_phone": 1, "neither": 4},
            {"platform": "google-ads", "network": "Google Ads", "click_id": 1, "hashed_email_or_phone": 2, "neither": 3},
            {"platform": "meta", "network": "Meta", "click_id": 1, "hashed_email_or_phone": 2, "neither": 3},
        ])
    );
    let out = Command::new(BIN)
        .args(["report", "--db", s.db.to_str().unwrap(), "--site", "shop", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Match keys (primary conversions, per ad network) network click ID hashed email/phone neither"), "{text}");
    assert!(text.contains("Microsoft Advertising 1 1 4") && text.contains("Google Ads 1 2 3") && text.contains("Meta 1 2 3"), "{text}");
}

/// The return to weigh against spend counts primary conversions only: an
/// add-to-cart (secondary) worth what the purchase after it is worth must
/// not double the ad's return. `values` keeps every conversion's value.
fn primary_value(s: Server) {
    let (day0, from, to) = days();
    let mut e = seed::Seed::new(day0);
    let ad = json!({"click_ids": {"msclkid": "abc123"}, "utm": {"utm_source": "bing", "utm_medium": "cpc"}});
    let mut events = e.visit(1, Some("v"), Some("c"), Some(ad.clone()), &["/", "/cart.html"]);
    events.push(e.conversion(1, Some("v"), Some("c"), "add_to_cart", false, Some((14.0, "USD")), None, Some(ad.clone())));
    events.push(e.conversion(1, Some("v"), Some("c"), "purchase", true, Some((14.0, "USD")), Some("T-1"), Some(ad)));
    seed::send(&s.base, &seed::batch(seed::SITE, &events, 1, json!({})), r#"{"duplicates":0,"stored":4}"#);
    let r = s.json(&format!("/report?site=shop&from={from}&to={to}"));
    let usd = |v: f64| vec![(Some("USD".to_string()), v)];
    assert_eq!((money(&r["totals"]["values"]), money(&r["totals"]["primary_values"])), (usd(28.0), usd(14.0)));
    let bing = source(&r, "Microsoft · bing / cpc");
    assert_eq!((money(&bing["values"]), money(&bing["primary_values"])), (usd(28.0), usd(14.0)));
    let out = Command::new(BIN)
        .args(["report", "--db", s.db.to_str().unwrap(), "--site", "shop", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("value 28.00 USD (primary 14.00 USD)"), "{text}");
    assert!(text.contains("Microsoft · bing / cpc 1 2 1 14.00 USD 28.00 USD"), "{text}");
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match r {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

impl Server {
    fn get(&self, path: &str) -> (u16, String) {
        answer(agent().get(&format!("{}{path}", self.base)).call())
    }
    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }
    fn import(&self, query: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
        let mut req = agent().post(&format!("{}/import{query}", self.base));
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        let (status, body) = answer(req.send_string(body));
        (status, serde_json::from_str(&body).unwrap_or_else(|_| json!(body)))
    }
}

/// Today's UTC day number, and the range the tests ask for: the seed's
/// three days plus tomorrow, so a test that crosses midnight still sees
/// every batch it sent today.
fn days() -> (i64, String, String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let today = now.div_euclid(seed::DAY_MS);
    let day0 = today - 3; // three whole past days: every event is in the past and within the age limit
    (day0, goaltag_collector::dates::format_date(day0), goaltag_collector::dates::format_date(today))
}

type Amounts = Vec<(Option<String>, f64)>;

fn money(v: &Value) -> Amounts {
    v.as_array().unwrap().iter().map(|m| (m["currency"].as_str().map(String::from), m["value"].as_f64().unwrap())).collect()
}

fn eur_usd(eur: f64, usd: f64) -> Amounts {
    vec![(Some("EUR".into()), eur), (Some("USD".into()), usd)]
}

fn source<'a>(r: &'a Value, label: &str) -> &'a Value {
    r["sources"].as_array().unwrap().iter().find(|s| s["source"] == label).unwrap_or_else(|| panic!("no source {label}: {}", r["sources"]))
}

fn report_adds_up(s: Server) {
    let (day0, from, to) = days();
    seed::seed(&s.base, day0);
    let r = s.json(&format!("/report?site=shop&from={from}&to={to}"));
    assert_eq!((r["site"].as_str(), r["from"].as_str(), r["to"].as_str()), (Some("shop"), Some(from.as_str()), Some(to.as_str())));

    let t = &r["totals"];
    assert_eq!(
        (&t["page_views"], &t["visits"], &t["unique_visitors"], &t["conversions"], &t["primary_conversions"], &t["secondary_conversions"]),
        (&json!(17), &json!(5), &json!(4), &json!(5), &json!(4), &json!(1))
    );
    assert_eq!(money(&t["values"]), eur_usd(80.0, 30.0));

    // Goals: primary first.
    let goals = r["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 2);
    let p = &goals[0];
    assert_eq!((&p["goal"], &p["primary"], &p["conversions"]), (&json!("purchase"), &json!(true), &json!(4)));
    assert_eq!((&p["unique_visitors"], &p["conversions_without_id"]), (&json!(2), &json!(1)), "c1 twice, c3, and T4 without ID");
    assert_eq!(money(&p["values"]), eur_usd(80.0, 30.0));
    let n = &goals[1];
    assert_eq!(
        (&n["goal"], &n["primary"], &n["conversions"], &n["unique_visitors"]),
        (&json!("newsletter"), &json!(false), &json!(1), &json!(1))
    );
    assert_eq!(money(&n["values"]), vec![]);

    // Sources: visits by the landing attribution, conversions by their own.
    let sources = r["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 5, "{sources:?}");
    assert_eq!(sources[0]["source"], "direct", "most conversions, then most visits");
    let direct = source(&r, "direct");
    assert_eq!((&direct["visits"], &direct["conversions"]), (&json!(2), &json!(1)));
    assert_eq!(money(&direct["values"]), vec![(Some("EUR".into()), 20.0)]);
    let google = source(&r, "Google · google / cpc · spring");
    assert_eq!(
        (
            &google["network"],
            &google["utm_source"],
            &google["utm_medium"],
            &google["utm_campaign"],
            &google["visits"],
            &google["conversions"],
            &google["primary_conversions"]
        ),
        (&json!("Google"), &json!("google"), &json!("cpc"), &json!("spring"), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(money(&google["values"]), vec![(Some("EUR".into()), 50.0)]);
    let news = source(&r, "news / email · march");
    assert_eq!(
        (&news["network"], &news["visits"], &news["conversions"], &news["primary_conversions"]),
        (&Value::Null, &json!(1), &json!(1), &json!(0))
    );
    let blog = source(&r, "blog.example");
    assert_eq!((&blog["referrer_host"], &blog["visits"], &blog["conversions"]), (&json!("blog.example"), &json!(1), &json!(1)));
    assert_eq!(money(&blog["values"]), vec![(Some("USD".into()), 30.0)]);
    let meta = source(&r, "Meta");
    assert_eq!((&meta["visits"], &meta["conversions"]), (&json!(0), &json!(1)), "a conversion without ID still has its click");

    // Landing pages: V1, V2, V4 (/index.html), V5 on /; V3 on the product page.
    assert_eq!(
        r["landing_pages"],
        json!([{"path": "/", "visits": 4, "conversions": 3}, {"path": "/product.html", "visits": 1, "conversions": 1}])
    );

    // Funnel: V1 all 5 steps, V2 3, V3 2 (product before / does not count), V4 1 (skips specials), V5 2.
    let steps: Vec<(String, u64, u64, f64)> = r["funnel"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().into(),
                s["visits"].as_u64().unwrap(),
                s["drop_off"].as_u64().unwrap(),
                s["rate"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("/".into(), 5, 0, 1.0),
            ("/specials.html".into(), 4, 1, 0.8),
            ("/product.html".into(), 2, 2, 0.5),
            ("/cart.html".into(), 1, 1, 0.5),
            ("/checkout/confirmation.html".into(), 1, 0, 1.0),
        ]
    );
    assert_eq!(r["funnel"]["page_views_without_id"], 2);

    // Daily series: every day of the range, the last one empty.
    let daily: Vec<(u64, u64, Amounts)> = r["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["page_views"].as_u64().unwrap(), d["conversions"].as_u64().unwrap(), money(&d["values"])))
        .collect();
    assert_eq!(
        daily,
        vec![
            (8, 2, vec![(Some("EUR".into()), 50.0)]),
            (5, 2, eur_usd(20.0, 30.0)),
            (4, 1, vec![(Some("EUR".into()), 10.0)]),
            (0, 0, vec![]),
        ]
    );
    assert_eq!(r["daily"][0]["date"], from);

    assert_eq!(
        r["data_quality"],
        json!({"batches": 6, "duplicates_absorbed": 6, "retried_batches": 1, "dropped_overflow": 2, "dropped_poison": 1,
               "dropped_expired": 3, "dropped_consent": 4, "rejected_bodies": 2, "page_views_without_id": 2, "conversions_without_client_id": 1})
    );
    assert_eq!(r["imports"], json!([]));

    // A narrower range and another funnel.
    let one = s.json(&format!("/report?site=shop&from={from}&to={from}&funnel=/product.html,/cart.html"));
    assert_eq!((&one["totals"]["page_views"], &one["totals"]["conversions"]), (&json!(8), &json!(2)));
    assert_eq!(one["funnel"]["steps"][0]["visits"], 2);
    assert_eq!(one["funnel"]["steps"][1]["visits"], 1);
    assert_eq!(one["daily"].as_array().unwrap().len(), 1);

    // The CLI prints the same numbers from the same builder.
    let out = Command::new(BIN)
        .args(["report", "--db", s.db.to_str().unwrap(), "--site", "shop", "--from", &from, "--to", &to, "--json"])
        .env_remove("GOALTAG_DB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), r, "report --json equals GET /report");
    let out = Command::new(BIN)
        .args(["report", "--db", s.db.to_str().unwrap(), "--site", "shop", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    println!("{text}");
    let squeezed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = squeezed(&text);
    for needle in [
        "page views 17 visits 5 unique visitors 4",
        "conversions 5 (4 primary, 1 secondary) value 80.00 EUR, 30.00 USD (primary 80.00 EUR, 30.00 USD)",
        "purchase primary 4 2 1 80.00 EUR, 30.00 USD",
        "newsletter secondary 1 1 0 -",
        "Google · google / cpc · spring 1 1 1 50.00 EUR 50.00 EUR",
        "dropped by the tag: consent withdrawn 4",
        "1. / 5 0 100.0%",
        "2. /specials.html 4 1 80.0%",
        "3. /product.html 2 2 50.0%",
        "duplicates absorbed 6",
        "retried batches 1",
        "bodies rejected (all sites) 2",
        "2 page views had no visit or client ID",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

fn imports_join(s: Server) {
    let (day0, from, to) = days();
    seed::seed(&s.base, day0);
    let csv = seed::import_csv(day0);

    let (status, done) = s.import("?site=shop", Some("text/csv"), &csv);
    assert_eq!((status, &done), (200, &json!({"rows": 4, "new": 4, "updated": 0, "unchanged": 0})));
    let report = |s: &Server| s.json(&format!("/report?site=shop&from={from}&to={to}"))["imports"].clone();
    let expected = json!([{"goal": "purchase", "stages": [
        {"stage": "shipped", "rows": 3, "matched": 2, "unmatched": 1,
         "values": [{"currency": "EUR", "value": 65.0}, {"currency": "USD", "value": 30.0}]},
        {"stage": "refunded", "rows": 1, "matched": 1, "unmatched": 0, "values": [{"currency": "EUR", "value": -50.0}]},
    ]}]);
    assert_eq!(report(&s), expected);

    // The same file again (sniffed, no content type): nothing changes.
    let (status, done) = s.import("?site=shop", None, &csv);
    assert_eq!((status, &done), (200, &json!({"rows": 4, "new": 0, "updated": 0, "unchanged": 4})));
    assert_eq!(report(&s), expected);

    // A bad row refuses the whole file, naming line and field; nothing is stored.
    let bad = format!("{csv}T5,purchase,shipped,lots,EUR,{}\n", day0 * seed::DAY_MS);
    let (status, err) = s.import("?site=shop", Some("text/csv"), &bad);
    assert_eq!(status, 400);
    assert_eq!(err["error"], "line 6, field value: expected a number like 49.90, got \"lots\"");
    assert_eq!(report(&s), expected);

    // JSON lines: T3 shipped (matches), and T9 corrected to 16 EUR.
    let ts = (day0 + 1) * seed::DAY_MS;
    let lines = format!(
        "{{\"transaction_id\":\"T3\",\"goal\":\"purchase\",\"stage\":\"shipped\",\"value\":20,\"currency\":\"EUR\",\"ts\":{ts}}}\n\
         {{\"transaction_id\":\"T9\",\"goal\":\"purchase\",\"stage\":\"shipped\",\"value\":16,\"currency\":\"EUR\",\"ts\":\"{}\"}}\n",
        goaltag_collector::dates::format_date(day0 + 1)
    );
    let (status, done) = s.import("?site=shop", Some("application/x-ndjson"), &lines);
    assert_eq!((status, &done), (200, &json!({"rows": 2, "new": 1, "updated": 1, "unchanged": 0})));
    let imports = report(&s);
    let shipped = &imports[0]["stages"][0];
    assert_eq!((&shipped["rows"], &shipped["matched"], &shipped["unmatched"]), (&json!(4), &json!(3), &json!(1)));
    assert_eq!(money(&shipped["values"]), eur_usd(86.0, 30.0));

    // Other sites see none of it.
    assert_eq!(s.json(&format!("/report?site=other&from={from}&to={to}"))["imports"], json!([]));

    // Refusals a site owner can act on.
    assert_eq!(s.import("", Some("text/csv"), &csv).1["error"], "site: required, as in POST /import?site=demo-shop");
    assert!(s.import("?site=a/b", Some("text/csv"), &csv).1["error"].as_str().unwrap().starts_with("site:"));
    assert_eq!(
        s.import("?site=shop", Some("text/csv"), "transaction_id,goal,stage\n").1["error"],
        "line 1: the header has no ts column (required: transaction_id, goal, stage, ts)"
    );

    // The CLI imports a file the same way.
    let file = s._dir.path().join("crm.csv");
    std::fs::write(
        &file,
        format!("transaction_id,goal,stage,ts\nT2,purchase,refunded,{}\n", goaltag_collector::dates::format_date(day0 + 2)),
    )
    .unwrap();
    let out =
        Command::new(BIN).args(["import", "--db", s.db.to_str().unwrap(), "--site", "shop", file.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "imported 1 rows for shop: 1 new, 0 updated, 0 unchanged");
    let refunded = &report(&s)[0]["stages"][1];
    assert_eq!((&refunded["stage"], &refunded["rows"], &refunded["matched"]), (&json!("refunded"), &json!(2), &json!(2)));
}

fn bad_questions(s: Server) {
    let (day0, _, _) = days();
    let (status, body) = s.get("/report");
    assert_eq!((status, body.as_str()), (400, r#"{"error":"site: required (no events stored yet)"}"#));
    seed::seed(&s.base, day0);
    let err = |q: &str| {
        let (status, body) = s.get(&format!("/report{q}"));
        assert_eq!(status, 400, "{q}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()["error"].as_str().unwrap().to_string()
    };
    assert_eq!(err(""), "site: required; sites with events: shop, other");
    assert_eq!(err("?site=shop&from=2024-02-30"), "from: expected a date as YYYY-MM-DD (UTC), got \"2024-02-30\"");
    assert_eq!(err("?site=shop&from=2024-03-02&to=2024-03-01"), "from (2024-03-02) is after to (2024-03-01)");
    assert_eq!(
        err("?site=shop&funnel=cart.html"),
        "funnel: \"cart.html\" is not a path; steps are URL paths starting with /, like /cart.html"
    );
    assert_eq!(err("?site=shop&form=2024-01-01"), "unknown field \"form\", expected one of \"site\", \"from\", \"to\", \"funnel\", \"model\", \"by\", \"lookback_days\", \"ad_group_param\"");
    // Defaults: the last 30 days up to today, the demo shop's funnel.
    let r = s.json("/report?site=shop");
    assert_eq!(r["daily"].as_array().unwrap().len(), 30);
    assert_eq!(r["funnel"]["steps"].as_array().unwrap().len(), 5);
    assert_eq!(r["totals"]["page_views"], 18, "the 17 plus the one 5 days before");
    assert_eq!(s.json("/report/sites"), json!({"sites": ["shop", "other"]}));

    // The CLI says the same, and exits non-zero.
    let out = Command::new(BIN).args(["report", "--db", s.db.to_str().unwrap(), "--from", "yesterday"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("from: expected a date as YYYY-MM-DD"));
    if s.db.to_string_lossy().starts_with("postgres://") {
        return;
    }
    let missing = s._dir.path().join("nope.db");
    let out = Command::new(BIN).args(["report", "--db", missing.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!missing.exists(), "a report never creates a database");
}

#[test]
fn the_dashboard_and_its_assets_are_served_locally() {
    let s = start();
    let (status, page) = s.get("/dashboard");
    assert_eq!(status, 200);
    assert!(page.contains("/dashboard/assets/uPlot.iife.min.js?v=1.6.32"), "{page}");
    assert!(!page.contains("https://"), "no CDN: everything comes from the collector");
    let csp = agent().get(&format!("{}/dashboard", s.base)).call().unwrap().header("content-security-policy").map(String::from);
    assert!(csp.unwrap().contains("script-src 'self'"));
    for (file, needle) in [
        ("uPlot.iife.min.js", "uPlot (v1.6.32)"),
        ("uPlot.min.css", ".uplot"),
        ("uPlot.LICENSE", "MIT"),
        ("dashboard.js", "/report"),
        ("dashboard.css", ".kpi"),
    ] {
        let (status, body) = s.get(&format!("/dashboard/assets/{file}"));
        assert_eq!(status, 200, "{file}");
        assert!(body.contains(needle), "{file} lacks {needle}");
    }
    assert_eq!(s.get("/dashboard/assets/../../Cargo.toml").0, 404);
    assert_eq!(s.get("/dashboard/assets/secret.db").0, 404);
}

/// A database written by the previous collector (schema version 1, no
/// imports table) is reported on read-only as it is, and gains the new
/// tables (imports, exports, spend) when a collector opens it.
#[test]
fn an_older_database_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE events(id TEXT PRIMARY KEY, site TEXT NOT NULL, kind TEXT NOT NULL, ts INTEGER NOT NULL,
           received_at INTEGER NOT NULL, url TEXT, goal TEXT, value REAL, currency TEXT,
           transaction_id TEXT, client_id TEXT, visit_id TEXT, json TEXT NOT NULL);
         CREATE TABLE batches(site TEXT NOT NULL, received_at INTEGER NOT NULL, attempt INTEGER NOT NULL,
           events INTEGER NOT NULL, stored INTEGER NOT NULL, duplicates INTEGER NOT NULL,
           dropped_overflow INTEGER NOT NULL, dropped_poison INTEGER NOT NULL, dropped_expired INTEGER NOT NULL);
         CREATE TABLE rejections(received_at INTEGER NOT NULL, reason TEXT NOT NULL);
         INSERT INTO events VALUES('00000000-0000-4000-8000-000000000001', 'old', 'page_view', 1709280000000, 1709280000000,
           'https://s.example/', NULL, NULL, NULL, NULL, 'c', 'v', '{}');
         INSERT INTO events VALUES('00000000-0000-4000-8000-000000000002', 'old', 'conversion', 1709280001000, 1709280001000,
           NULL, 'buy', 10, 'EUR', NULL, NULL, NULL,
           '{\"primary\":true,\"attribution\":{\"utm\":{\"utm_source\":\"bing\",\"utm_campaign\":\"Spring\"}}}');
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let out = Command::new(BIN)
        .args(["report", "--db", db.to_str().unwrap(), "--from", "2024-03-01", "--to", "2024-03-01", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&r["site"], &r["totals"]["page_views"], &r["imports"]), (&json!("old"), &json!(1), &json!([])));
    // Read from the JSON: the conversion is primary and, without a client
    // ID, credited to the campaign of the attribution it carries.
    assert_eq!((&r["totals"]["primary_conversions"], &r["attribution"]["rows"][0]["campaign"]), (&json!(1), &json!("Spring")));

    drop(goaltag_collector::SqliteStore::open(&db, 1).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE name IN ('imports', 'exports', 'spend')", [], |r| r.get(0)).unwrap();
    let consent: i64 =
        conn.query_row("SELECT count(*) FROM pragma_table_info('batches') WHERE name = 'dropped_consent'", [], |r| r.get(0)).unwrap();
    let ad_data: i64 = conn
        .query_row("SELECT count(*) FROM pragma_table_info('events') WHERE name IN ('user_agent', 'client_ip', 'user_data')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!((v, tables, consent, ad_data), (8, 3, 1, 3));
    // Version 7's columns, filled from the JSON of the rows already there.
    let parts: Vec<(Option<String>, Option<i64>)> = conn
        .prepare("SELECT attribution, is_primary FROM events ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(parts, [(None, None), (Some(r#"{"utm":{"utm_source":"bing","utm_campaign":"Spring"}}"#.into()), Some(1))]);
    let out = Command::new(BIN)
        .args(["report", "--db", db.to_str().unwrap(), "--from", "2024-03-01", "--to", "2024-03-01", "--json"])
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again, r, "the same report from the columns as from the JSON");
}
