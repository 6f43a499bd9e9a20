//! Hand-computed cases: every expected figure below is worked out in the
//! comments from the definitions in the module docs, not from the code.

use super::*;
use crate::dates::parse_date;
use goaltag_wire::Attribution;

const H: i64 = 3600 * 1000;

fn day() -> i64 {
    parse_date("2024-03-10").unwrap()
}

/// ms at `d` days after 2024-03-10 00:00 UTC plus `h` hours.
fn at(d: i64, h: i64) -> i64 {
    (day() + d) * DAY_MS + h * H
}

fn google(campaign: &str) -> Option<Attribution> {
    let mut a = Attribution::default();
    a.click_ids.insert("gclid".into(), "x".into());
    a.utm.insert("utm_source".into(), "google".into());
    a.utm.insert("utm_campaign".into(), campaign.into());
    Some(a)
}

fn utm(source: &str, campaign: &str) -> Option<Attribution> {
    let mut a = Attribution::default();
    a.utm.insert("utm_source".into(), source.into());
    a.utm.insert("utm_campaign".into(), campaign.into());
    Some(a)
}

fn referral(host: &str) -> Option<Attribution> {
    Some(Attribution { referrer_host: Some(host.into()), ..Default::default() })
}

fn pv(client: &str, visit: &str, ts: i64, a: Option<Attribution>) -> PageViewTouch {
    PageViewTouch { ts, client_id: Some(client.into()), visit_id: Some(visit.into()), attribution: a }
}

fn conv(client: Option<&str>, visit: &str, ts: i64, value: f64, a: Option<Attribution>) -> ConversionTouch {
    ConversionTouch {
        ts,
        client_id: client.map(String::from),
        visit_id: Some(visit.into()),
        primary: true,
        value: Some(value),
        currency: Some("eur".into()),
        attribution: a,
    }
}

fn run(model: Model, input: &Input) -> Vec<(String, Option<String>, f64, f64)> {
    run_with(Options { model, ..Default::default() }, input, &[])
        .rows
        .into_iter()
        .filter(|r| r.conversions > 0.0)
        .map(|r| {
            let v = r.values.iter().find(|m| m.currency.as_deref() == Some("EUR")).map_or(0.0, |m| m.value);
            (r.network, r.campaign.flatten(), r.conversions, v)
        })
        .collect()
}

fn run_with(opts: Options, input: &Input, spend: &[Cost]) -> Report {
    attribute(&opts, day(), day() + 9, input.clone(), spend).unwrap()
}

fn row(network: &str, campaign: Option<&str>, conversions: f64, value: f64) -> (String, Option<String>, f64, f64) {
    (network.into(), campaign.map(String::from), conversions, value)
}

fn close(got: &[(String, Option<String>, f64, f64)], want: &[(String, Option<String>, f64, f64)]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!((&g.0, &g.1), (&w.0, &w.1), "{got:?} vs {want:?}");
        assert!((g.2 - w.2).abs() < 1e-6 && (g.3 - w.3).abs() < 1e-4, "{got:?} vs {want:?}");
    }
}

#[test]
fn one_touch_gets_everything_under_every_model() {
    // One visit from Google "Spring" converting for 100 EUR: every model
    // gives that campaign 1 conversion and 100 EUR.
    let input = Input {
        page_views: vec![pv("c1", "v1", at(1, 10), google("Spring"))],
        conversions: vec![conv(Some("c1"), "v1", at(1, 11), 100.0, None)],
    };
    for (m, _) in Model::ALL {
        close(&run(m, &input), &[row("Google", Some("Spring"), 1.0, 100.0)]);
    }
}

#[test]
fn two_touches_under_each_model() {
    // Meta "Retarget" on day 1 at 10:00, Google "Spring" on day 3 at 10:00,
    // the purchase (100 EUR) on day 3 at 11:00.
    let input = Input {
        page_views: vec![pv("c2", "v1", at(1, 10), utm("facebook", "Retarget")), pv("c2", "v2", at(3, 10), google("Spring"))],
        conversions: vec![conv(Some("c2"), "v2", at(3, 11), 100.0, google("Spring"))],
    };
    let spring = |c: f64| row("Google", Some("Spring"), c, 100.0 * c);
    let retarget = |c: f64| row("Meta", Some("Retarget"), c, 100.0 * c);
    close(&run(Model::LastNonDirect, &input), &[spring(1.0)]);
    close(&run(Model::LastTouch, &input), &[spring(1.0)]);
    close(&run(Model::FirstTouch, &input), &[retarget(1.0)]);
    // Ties in conversions are ordered by key: Google before Meta.
    close(&run(Model::Linear, &input), &[spring(0.5), retarget(0.5)]);
    close(&run(Model::PositionBased, &input), &[spring(0.5), retarget(0.5)]);
    // Ages 49 h and 1 h: weights 2^(-49/168) and 2^(-1/168); their ratio is
    // 2^(-48/168) = 2^(-2/7) = 0.820335, so Retarget gets
    // 0.820335 / 1.820335 = 0.450651 and Spring 0.549349.
    close(&run(Model::TimeDecay, &input), &[spring(0.549349), retarget(0.450651)]);
    // One path, start → Retarget → Spring → conversion: removing either
    // channel leaves no conversion, both removal effects are 1, half each.
    close(&run(Model::DataDriven, &input), &[spring(0.5), retarget(0.5)]);
}

#[test]
fn three_touches_reaching_before_from_and_skipping_direct() {
    // Retarget on day -5 (before `from`, within the 30-day lookback), a
    // direct visit on day 2 (dropped), news.example on day 4, Google Spring
    // on day 6; the purchase on day 6, 120 EUR. Path: Retarget, news, Spring.
    let input = Input {
        page_views: vec![
            pv("c3", "v1", at(-5, 10), utm("fb", "Retarget")),
            pv("c3", "v2", at(2, 10), None),
            pv("c3", "v3", at(4, 10), referral("news.example")),
            pv("c3", "v4", at(6, 10), google("Spring")),
        ],
        conversions: vec![conv(Some("c3"), "v4", at(6, 12), 120.0, google("Spring"))],
    };
    let r = |n: &str, c: Option<&str>, share: f64| row(n, c, share, 120.0 * share);
    close(&run(Model::FirstTouch, &input), &[r("Meta", Some("Retarget"), 1.0)]);
    // Position based: 40 % first, 20 % the middle, 40 % last.
    close(
        &run(Model::PositionBased, &input),
        &[r("Google", Some("Spring"), 0.4), r("Meta", Some("Retarget"), 0.4), r("news.example", None, 0.2)],
    );
    close(
        &run(Model::Linear, &input),
        // Equal conversions: more visits in the range first (Retarget's was before it).
        &[r("Google", Some("Spring"), 1.0 / 3.0), r("news.example", None, 1.0 / 3.0), r("Meta", Some("Retarget"), 1.0 / 3.0)],
    );
    // The visits column counts visits that began in the range: the one
    // before `from` is not counted (nor is its row, with nothing credited
    // under last_non_direct); the direct one is.
    let rep = run_with(Options::default(), &input, &[]);
    let visits: Vec<(String, u64)> = rep.rows.iter().map(|r| (r.network.clone(), r.visits)).collect();
    assert_eq!(visits, [("Google".into(), 1), ("direct".into(), 1), ("news.example".into(), 1)]);
}

#[test]
fn a_touch_outside_the_lookback_is_not_in_the_path() {
    // Microsoft on day -40, Google Spring on day 1, purchase on day 1: with
    // 30 days of lookback the path is Spring alone; with 90 it begins with Microsoft.
    let input = Input {
        page_views: vec![pv("c4", "v1", at(-40, 10), utm("bing", "Brand")), pv("c4", "v2", at(1, 10), google("Spring"))],
        conversions: vec![conv(Some("c4"), "v2", at(1, 11), 80.0, google("Spring"))],
    };
    close(&run(Model::FirstTouch, &input), &[row("Google", Some("Spring"), 1.0, 80.0)]);
    let opts = Options { model: Model::FirstTouch, lookback_days: 90, ..Default::default() };
    let rows = run_with(opts, &input, &[]).rows;
    assert_eq!((rows[0].network.as_str(), rows[0].conversions), ("Microsoft", 1.0));
}

#[test]
fn all_direct_and_no_client_id() {
    // c5 came twice directly and bought for 10 EUR: an all-direct path, credited
    // to direct. A conversion without a client ID (50 EUR) carries Meta
    // "Prospect": every model credits it there. A secondary conversion is not credited.
    let mut secondary = conv(Some("c5"), "v2", at(2, 12), 999.0, None);
    secondary.primary = false;
    let input = Input {
        page_views: vec![pv("c5", "v1", at(1, 10), None), pv("c5", "v2", at(2, 10), None)],
        conversions: vec![
            conv(Some("c5"), "v2", at(2, 11), 10.0, None),
            conv(None, "v9", at(3, 11), 50.0, utm("Facebook", "Prospect")),
            secondary,
        ],
    };
    for (m, _) in Model::ALL {
        close(&run(m, &input), &[row("direct", None, 1.0, 10.0), row("Meta", Some("Prospect"), 1.0, 50.0)]);
    }
}

#[test]
fn repeats_collapse_and_last_touch_is_the_own_visit() {
    // Spring, direct, Spring, direct (the converting visit): the path is one
    // Spring touch, so linear gives it all; last_touch gives the conversion's
    // own visit, direct.
    let input = Input {
        page_views: vec![
            pv("c6", "v1", at(1, 10), google("Spring")),
            pv("c6", "v2", at(2, 10), None),
            pv("c6", "v3", at(3, 10), google("spring ")),
            pv("c6", "v4", at(4, 10), None),
        ],
        conversions: vec![conv(Some("c6"), "v4", at(4, 11), 30.0, google("Spring"))],
    };
    close(&run(Model::Linear, &input), &[row("Google", Some("Spring"), 1.0, 30.0)]);
    close(&run(Model::LastTouch, &input), &[row("direct", None, 1.0, 30.0)]);
}

#[test]
fn markov_removal_effects_by_hand() {
    // Paths: A B conv (100 EUR), A null, B conv (50 EUR), B null.
    // Transitions: start→A 2, start→B 2; A→B 1, A→null 1; B→conv 2, B→null 1.
    // So s = (1/2, 1/2); from A: B 1/2, null 1/2; from B: conv 2/3, null 1/3.
    // h_B = 2/3, h_A = 1/2 · 2/3 = 1/3; P(conv) = 1/2 · 1/3 + 1/2 · 2/3 = 1/2.
    // Without A: start→B only, 1/2 · 2/3 = 1/3: effect 1 − (1/3)/(1/2) = 1/3.
    // Without B: nothing converts: effect 1.
    // Normalised: A 1/4, B 3/4 of 2 conversions and 150 EUR:
    // A 0.5 and 37.5 EUR, B 1.5 and 112.5 EUR.
    let input = Input {
        page_views: vec![
            pv("p1", "p1a", at(1, 10), utm("google", "A")),
            pv("p1", "p1b", at(2, 10), utm("google", "B")),
            pv("p2", "p2a", at(1, 10), utm("google", "A")),
            pv("p3", "p3b", at(1, 10), utm("google", "B")),
            pv("p4", "p4b", at(1, 10), utm("google", "B")),
        ],
        conversions: vec![conv(Some("p1"), "p1b", at(2, 11), 100.0, None), conv(Some("p3"), "p3b", at(1, 11), 50.0, None)],
    };
    close(&run(Model::DataDriven, &input), &[row("Google", Some("B"), 1.5, 112.5), row("Google", Some("A"), 0.5, 37.5)]);
}

#[test]
fn markov_with_a_return_to_a_channel() {
    // Paths A B A conv, B null. From A: B 1/2, conv 1/2; from B: A 1/2, null 1/2;
    // s = (1/2, 1/2). h_A = 1/2 + 1/2 h_B, h_B = 1/2 h_A: h_A = 2/3, h_B = 1/3;
    // P(conv) = 1/2 · 2/3 + 1/2 · 1/3 = 1/2.
    // Without A nothing converts: effect 1. Without B: start→A→conv = 1/4:
    // effect 1/2 (and P(reach B) · h_B = (1/2 + 1/2 · 1/2) · 1/3 = 1/4 too).
    // Normalised: A 2/3, B 1/3.
    let mut c = markov::Chain::default();
    c.add([0, 1, 0], true);
    c.add([1], false);
    let mut s = c.shares().unwrap();
    s.sort_by_key(|x| x.0);
    assert!((s[0].1 - 2.0 / 3.0).abs() < 1e-12 && (s[1].1 - 1.0 / 3.0).abs() < 1e-12, "{s:?}");
    // No converting path: no credit.
    let mut none = markov::Chain::default();
    none.add([0, 1], false);
    assert!(none.shares().unwrap().iter().all(|x| x.1 == 0.0));
}

#[test]
fn inverse_diagonal_with_pivoting() {
    // [[0.5, 2], [1, 0.25]]: det = 0.125 − 2 = −1.875, inverse =
    // [[0.25, −2], [−1, 0.5]] / det: diagonal −0.133333…, −0.266666….
    // Partial pivoting swaps the rows (1 > 0.5).
    let a = faer::mat![[0.5, 2.0], [1.0, 0.25]];
    let d = markov::inverse_diagonal_for_test(&a);
    assert!((d[0] + 0.25 / 1.875).abs() < 1e-14 && (d[1] + 0.5 / 1.875).abs() < 1e-14, "{d:?}");
    // A 3×3 with a swap in the second column too: [[1, 0, 2], [0, 0.1, 1], [0, 1, 0]].
    // det = 1·(0.1·0 − 1·1) = −1; cofactors of the diagonal: 0.1·0 − 1 = −1,
    // 1·0 − 2·0 = 0, 1·0.1 − 0 = 0.1: diagonal 1, 0, −0.1.
    let b = faer::mat![[1.0, 0.0, 2.0], [0.0, 0.1, 1.0], [0.0, 1.0, 0.0]];
    let d = markov::inverse_diagonal_for_test(&b);
    assert!((d[0] - 1.0).abs() < 1e-14 && d[1].abs() < 1e-14 && (d[2] + 0.1).abs() < 1e-14, "{d:?}");
}

#[test]
fn cost_roas_and_cpa() {
    // Spring converts twice (100 + 60 EUR) and cost 40 EUR on day 1 and
    // 40 EUR on day 2 (spend outside the range, day 20, is not counted):
    // ROAS 160/80 = 2, CPA 80/2 = 40. "Autumn" spent 25 EUR and never
    // converted: its row stays, ROAS 0, no CPA. Direct traffic has no cost.
    let input = Input {
        page_views: vec![
            pv("a", "a1", at(1, 10), google("Spring")),
            pv("b", "b1", at(2, 10), google("SPRING")),
            pv("d", "d1", at(2, 10), None),
        ],
        conversions: vec![conv(Some("a"), "a1", at(1, 11), 100.0, None), conv(Some("b"), "b1", at(2, 11), 60.0, None)],
    };
    let cost = |day_: i64, campaign: &str, cost: f64| Cost {
        day: day() + day_,
        network: "Google".into(),
        campaign: campaign.into(),
        ad_group: String::new(),
        keyword: String::new(),
        currency: "EUR".into(),
        cost,
    };
    let spend = [cost(1, "Spring", 40.0), cost(2, " spring", 40.0), cost(20, "Spring", 500.0), cost(3, "Autumn", 25.0)];
    let rep = run_with(Options::default(), &input, &spend);
    let eur = |v: f64| vec![Money { currency: Some("EUR".into()), value: v }];
    let spring = &rep.rows[0];
    assert_eq!((spring.campaign.clone().flatten().as_deref(), spring.conversions, spring.visits), (Some("Spring"), 2.0, 2));
    assert_eq!((spring.cost.clone(), spring.roas.clone(), spring.cpa.clone()), (Some(eur(80.0)), Some(eur(2.0)), Some(eur(40.0))));
    let autumn = rep.rows.iter().find(|r| r.campaign == Some(Some("Autumn".into()))).expect("spent, kept");
    assert_eq!(
        (autumn.conversions, autumn.cost.clone(), autumn.roas.clone(), autumn.cpa.clone()),
        (0.0, Some(eur(25.0)), Some(eur(0.0)), Some(vec![]))
    );
    let direct = rep.rows.iter().find(|r| r.network == "direct").unwrap();
    assert_eq!((direct.visits, direct.cost.clone(), direct.roas.clone()), (1, None, None));
    // The JSON: levels below `by` are left out, `null` marks no spend.
    let json = serde_json::to_value(direct).unwrap();
    assert_eq!(json["campaign"], serde_json::Value::Null);
    assert!(json.get("keyword").is_none() && json["cost"].is_null());
}

#[test]
fn channels_and_levels() {
    let naming = Naming::default();
    let touch = |a: Option<Attribution>| Touch::of(a.as_ref(), &naming);
    // A click ID outranks utm_source; aliases are case-insensitive and trimmed.
    let mut a = utm(" Bing ", "x").unwrap();
    assert_eq!(touch(Some(a.clone())).network, "Microsoft");
    a.click_ids.insert("fbclid".into(), "1".into());
    assert_eq!(touch(Some(a.clone())).network, "Meta");
    assert_eq!(touch(utm("IG", "x")).network, "Meta");
    assert_eq!(touch(utm("AdWords", "x")).network, "Google");
    assert_eq!(touch(utm("newsletter", "x")).network, "newsletter");
    assert_eq!(touch(referral("News.Example")).network, "news.example");
    assert_eq!(touch(None), Touch::direct());
    assert_eq!(touch(Some(Attribution::default())), Touch::direct());
    // Levels: utm_content is the ad group unless configured otherwise; keys fold case.
    let mut k = utm("google", " Spring ").unwrap();
    k.utm.insert("utm_content".into(), "Shoes".into());
    k.utm.insert("utm_adgroup".into(), "Boots".into());
    k.utm.insert("utm_term".into(), "Red Shoes".into());
    let t = touch(Some(k.clone()));
    assert_eq!((t.campaign.as_deref(), t.ad_group.as_deref(), t.keyword.as_deref()), (Some("Spring"), Some("Shoes"), Some("Red Shoes")));
    let key = t.key(Level::Campaign);
    assert_eq!((key.network.as_str(), key.campaign.as_deref(), key.ad_group, key.keyword), ("google", Some("spring"), None, None));
    assert_eq!(t.key(Level::Keyword).keyword.as_deref(), Some("red shoes"));
    let other = Naming { ad_group_param: "utm_adgroup".into() };
    assert_eq!(Touch::of(Some(&k), &other).ad_group.as_deref(), Some("Boots"));
}

#[test]
fn parameters_are_checked() {
    let mut o = Options::default();
    assert_eq!(o.parse_param("model", "time_decay"), Ok(true));
    assert_eq!(o.parse_param("by", "keyword"), Ok(true));
    assert_eq!(o.parse_param("lookback_days", "90"), Ok(true));
    assert_eq!((o.model, o.level, o.lookback_days), (Model::TimeDecay, Level::Keyword, 90));
    assert_eq!(o.parse_param("site", "x"), Ok(false));
    let err = |k: &str, v: &str| Options::default().parse_param(k, v).unwrap_err();
    assert!(err("model", "shapley").starts_with("model: \"shapley\" is not a model; expected one of last_non_direct, last_touch"));
    assert!(err("by", "ad").starts_with("by: \"ad\" is not a level; expected one of network, campaign, ad_group, keyword"));
    assert!(err("lookback_days", "0").starts_with("lookback_days: expected a whole number of days from 1 to 90"));
    assert!(err("lookback_days", "91").contains("got \"91\""));
}
