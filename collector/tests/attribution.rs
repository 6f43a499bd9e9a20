//! The report's `attribution` object on both stores, from events sent
//! through POST /collect to the real collector: every model on hand-computed
//! paths (written down below), the lookback, parameters refused with a
//! reason, and `report --json` equal to GET /report.

mod common;
mod pg;
#[macro_use]
mod stores;
mod seed;

use common::{agent, Server};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_goaltag-collector");

on_both_stores!(every_model_credits_the_hand_computed_paths, every_model_on_postgres, models);
on_both_stores!(cost_roas_and_cpa_from_imported_spend, cost_roas_and_cpa_on_postgres, roas);
on_both_stores!(bad_attribution_parameters_get_a_reason, bad_attribution_parameters_on_postgres, bad_parameters);

fn get(s: &Server, path: &str) -> (u16, String) {
    match agent().get(&format!("{}{path}", s.base)).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

/// Three whole past days ago, and today.
fn days() -> (i64, i64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let today = now.div_euclid(seed::DAY_MS);
    (today - 3, today)
}

fn date(d: i64) -> String {
    goaltag_collector::dates::format_date(d)
}

fn ad(source: &str, click: Option<(&str, &str)>, campaign: &str, term: Option<&str>) -> Value {
    let mut utm = json!({"utm_source": source, "utm_campaign": campaign});
    if let Some(t) = term {
        utm["utm_term"] = json!(t);
    }
    let mut a = json!({ "utm": utm });
    if let Some((k, v)) = click {
        a["click_ids"] = json!({ k: v });
    }
    a
}

/// The journeys (day 0 = three days ago; the report runs from day 1, so
/// A's first touch lies before `from`):
/// - A: day 0 Meta "Retarget", day 1 direct, day 2 Google "Spring"
///   (keyword "red shoes") and buys for 120 EUR (and adds to cart, a
///   secondary goal, not credited);
/// - B: day 1 Google "spring " (same campaign, other spelling), buys for 60 EUR;
/// - C: day 1 direct, buys for 10 EUR (an all-direct path);
/// - D: day 2 Meta "Retarget", no purchase (a path ending in null);
/// - a purchase for 50 EUR without client or visit ID, carrying Meta "Prospect".
fn seed_journeys(s: &Server, day0: i64) {
    let mut e = seed::Seed::new(day0);
    let spring = ad("google", Some(("gclid", "g1")), "Spring", Some("red shoes"));
    let retarget = ad("facebook", Some(("fbclid", "f1")), "Retarget", None);
    let mut ev = Vec::new();
    ev.extend(e.visit(0, Some("va1"), Some("ca"), Some(retarget.clone()), &["/"]));
    ev.extend(e.visit(1, Some("va2"), Some("ca"), None, &["/"]));
    ev.extend(e.visit(1, Some("vb1"), Some("cb"), Some(ad("Google", Some(("gclid", "g2")), "spring ", None)), &["/"]));
    ev.push(e.conversion(1, Some("vb1"), Some("cb"), "purchase", true, Some((60.0, "EUR")), Some("T-B"), None));
    ev.extend(e.visit(1, Some("vc1"), Some("cc"), None, &["/"]));
    ev.push(e.conversion(1, Some("vc1"), Some("cc"), "purchase", true, Some((10.0, "EUR")), Some("T-C"), None));
    ev.extend(e.visit(2, Some("va3"), Some("ca"), Some(spring.clone()), &["/", "/cart.html"]));
    ev.push(e.conversion(2, Some("va3"), Some("ca"), "add_to_cart", false, Some((120.0, "EUR")), None, Some(spring.clone())));
    ev.push(e.conversion(2, Some("va3"), Some("ca"), "purchase", true, Some((120.0, "EUR")), Some("T-A"), Some(spring)));
    ev.extend(e.visit(2, Some("vd1"), Some("cd"), Some(retarget), &["/"]));
    ev.push(e.conversion(
        2,
        None,
        None,
        "purchase",
        true,
        Some((50.0, "EUR")),
        Some("T-X"),
        Some(ad("fb", Some(("fbclid", "f2")), "Prospect", None)),
    ));
    let n = ev.len();
    seed::send(&s.base, &seed::batch(seed::SITE, &ev, 1, json!({})), &format!(r#"{{"duplicates":0,"stored":{n}}}"#));
}

/// (network, campaign, conversions, EUR value, visits) of each row.
type Rows = Vec<(String, Option<String>, f64, f64, u64)>;

fn rows(r: &Value) -> Rows {
    r["attribution"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let eur =
                row["values"].as_array().unwrap().iter().find(|m| m["currency"] == "EUR").map_or(0.0, |m| m["value"].as_f64().unwrap());
            (
                row["network"].as_str().unwrap().to_string(),
                row["campaign"].as_str().map(String::from),
                row["conversions"].as_f64().unwrap(),
                eur,
                row["visits"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn r(network: &str, campaign: Option<&str>, conversions: f64, eur: f64, visits: u64) -> (String, Option<String>, f64, f64, u64) {
    (network.into(), campaign.map(String::from), conversions, eur, visits)
}

fn models(s: Server) {
    let (day0, today) = days();
    seed_journeys(&s, day0);
    let q = |extra: &str| format!("/report?site=shop&from={}&to={}{extra}", date(day0 + 1), date(today));
    let report = |extra: &str| {
        let (status, body) = get(&s, &q(extra));
        assert_eq!(status, 200, "{extra}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    // Visits in the range: Spring 2 (B day 1, A day 2), direct 2 (A day 1,
    // C day 1), Retarget 1 (D day 2; A's day-0 visit is before `from`).
    // last_non_direct (the default): A → Spring, B → Spring, C → direct, the
    // purchase without ID → its own attribution, Meta Prospect. Rows: most
    // conversions first, then cost, visits, name; a name is shown as first
    // met in time (B's "spring ", trimmed).
    let default = report("");
    assert_eq!(
        (&default["attribution"]["model"], &default["attribution"]["by"], &default["attribution"]["lookback_days"]),
        (&json!("last_non_direct"), &json!("campaign"), &json!(30))
    );
    assert_eq!(
        rows(&default),
        [
            r("Google", Some("spring"), 2.0, 180.0, 2),
            r("direct", None, 1.0, 10.0, 2),
            r("Meta", Some("Prospect"), 1.0, 50.0, 0),
            r("Meta", Some("Retarget"), 0.0, 0.0, 1)
        ]
    );
    // first_touch: A → Retarget (its day-0 touch, before `from`).
    assert_eq!(
        rows(&report("&model=first_touch")),
        [
            r("Google", Some("spring"), 1.0, 60.0, 2),
            r("direct", None, 1.0, 10.0, 2),
            r("Meta", Some("Retarget"), 1.0, 120.0, 1),
            r("Meta", Some("Prospect"), 1.0, 50.0, 0)
        ]
    );
    // With a 1-day lookback A's path is its day-2 visit alone (day 1 09:00
    // is more than a day before the purchase on day 2 at 09:00 plus a few seconds).
    assert_eq!(rows(&report("&model=first_touch&lookback_days=1"))[0], r("Google", Some("spring"), 2.0, 180.0, 2));
    // linear: A's path Retarget, Spring (direct dropped): half each, 60 EUR each.
    assert_eq!(
        rows(&report("&model=linear")),
        [
            r("Google", Some("spring"), 1.5, 120.0, 2),
            r("direct", None, 1.0, 10.0, 2),
            r("Meta", Some("Prospect"), 1.0, 50.0, 0),
            r("Meta", Some("Retarget"), 0.5, 60.0, 1)
        ]
    );
    // last_touch: A's own visit (Spring), as last_non_direct here.
    assert_eq!(rows(&report("&model=last_touch")), rows(&default));
    // data_driven. Paths: A Retarget→Spring→conv, B Spring→conv, C direct→conv,
    // D Retarget→null. s = (Retarget 1/2, Spring 1/4, direct 1/4); from
    // Retarget: Spring 1/2, null 1/2; Spring and direct always convert.
    // P(conv) = 1/2·1/2 + 1/4 + 1/4 = 3/4. Without Retarget: 1/2 (effect 1/3);
    // without Spring: 1/4 (effect 2/3); without direct: 1/2 (effect 1/3).
    // Shares 1/4, 1/2, 1/4 of the 3 conversions with a path (190 EUR); the
    // purchase without ID goes to Prospect.
    assert_eq!(
        rows(&report("&model=data_driven")),
        [
            r("Google", Some("spring"), 1.5, 95.0, 2),
            r("Meta", Some("Prospect"), 1.0, 50.0, 0),
            r("direct", None, 0.75, 47.5, 2),
            r("Meta", Some("Retarget"), 0.75, 47.5, 1)
        ]
    );
    // By keyword: Spring splits into "red shoes" (A) and none (B).
    let kw = report("&by=keyword");
    let kw_rows = kw["attribution"]["rows"].as_array().unwrap();
    let red = kw_rows.iter().find(|row| row["keyword"] == "red shoes").expect("a keyword row");
    assert_eq!((red["campaign"].as_str(), red["ad_group"].is_null(), red["conversions"].as_f64()), (Some("Spring"), true, Some(1.0)));
    let none = kw_rows.iter().find(|row| row["campaign"] == "spring" && row["keyword"].is_null()).expect("B's row");
    assert_eq!(none["conversions"].as_f64(), Some(1.0));
    // Without spend no row has a cost.
    assert!(kw["attribution"]["rows"].as_array().unwrap().iter().all(|row| row["cost"].is_null() && row["roas"].is_null()));

    // The CLI's --json is GET /report, exactly; its table names the model.
    let db = s.db.to_str().unwrap().to_string();
    let args =
        ["report", "--db", &db, "--site", "shop", "--from", &date(day0 + 1), "--to", &date(today), "--model", "linear", "--by", "network"];
    let out = Command::new(BIN).args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), report("&model=linear&by=network"));
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Attribution (linear, by network, 30-day lookback; primary conversions)"), "{text}");
    let table = &text[text.find("Attribution (").unwrap()..];
    let google = table.lines().find(|l| l.trim_start().starts_with("Google")).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(google, "Google 2 1.50 120.00 EUR - - -");
}

fn bad_parameters(s: Server) {
    let (day0, _) = days();
    seed_journeys(&s, day0);
    let err = |q: &str| {
        let (status, body) = get(&s, &format!("/report?site=shop{q}"));
        assert_eq!(status, 400, "{q}: {body}");
        serde_json::from_str::<Value>(&body).unwrap()["error"].as_str().unwrap().to_string()
    };
    assert_eq!(
        err("&model=shapley"),
        "model: \"shapley\" is not a model; expected one of last_non_direct, last_touch, first_touch, linear, position_based, time_decay, data_driven"
    );
    assert_eq!(err("&by=ad"), "by: \"ad\" is not a level; expected one of network, campaign, ad_group, keyword");
    assert_eq!(err("&lookback_days=0"), "lookback_days: expected a whole number of days from 1 to 90, got \"0\"");
    assert_eq!(err("&lookback_days=91"), "lookback_days: expected a whole number of days from 1 to 90, got \"91\"");
    let out = Command::new(BIN).args(["report", "--db", s.db.to_str().unwrap(), "--model", "best"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model: \"best\" is not a model"));
}

/// Spend imported through POST /spend against the journeys' credit
/// (last_non_direct, by campaign): Spring cost 40 + 40 EUR on days 1 and 2
/// (the 500 EUR of day 0 is before `from`); it earned 120 + 60 EUR from 2
/// conversions: ROAS 180 / 80 = 2.25, CPA 80 / 2 = 40. Microsoft "Brand"
/// spent 25 EUR and converted nothing: its row stays, ROAS 0, no CPA.
/// Direct traffic has no spend: cost, ROAS and CPA are null.
fn roas(s: Server) {
    let (day0, today) = days();
    seed_journeys(&s, day0);
    let csv = format!(
        "date,network,campaign,cost,currency\n{},Google,Spring,500,EUR\n{},Google,Spring,40,EUR\n{},Google, SPRING,40,EUR\n{},Microsoft,Brand,25,EUR\n",
        date(day0),
        date(day0 + 1),
        date(day0 + 2),
        date(day0 + 2)
    );
    let r = agent().post(&format!("{}/spend?site=shop", s.base)).set("Content-Type", "text/csv").send_string(&csv);
    assert_eq!(r.map(|r| r.status()).unwrap_or_else(|e| panic!("{e}")), 200);
    let (status, body) = get(&s, &format!("/report?site=shop&from={}&to={}", date(day0 + 1), date(today)));
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    let rows = report["attribution"]["rows"].as_array().unwrap();
    let eur = |v: f64| json!([{"currency": "EUR", "value": v}]);
    let find = |campaign: &str| rows.iter().find(|r| r["campaign"].as_str().map(str::to_lowercase).as_deref() == Some(campaign)).unwrap();
    let spring = find("spring");
    assert_eq!(
        (&spring["conversions"], &spring["cost"], &spring["roas"], &spring["cpa"]),
        (&json!(2.0), &eur(80.0), &eur(2.25), &eur(40.0))
    );
    let brand = find("brand");
    assert_eq!(
        (&brand["network"], &brand["conversions"], &brand["cost"], &brand["roas"], &brand["cpa"]),
        (&json!("Microsoft"), &json!(0.0), &eur(25.0), &eur(0.0), &json!([]))
    );
    let direct = rows.iter().find(|r| r["network"] == "direct").unwrap();
    assert!(direct["cost"].is_null() && direct["roas"].is_null() && direct["cpa"].is_null(), "{direct}");
}
