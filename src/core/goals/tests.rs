//! The goal engine's tests: what each kind of goal matches, what a conversion
//! carries, and how often it may convert.

use super::*;
use crate::core::id::is_uuid;
use crate::core::test_fixtures::{fired, goals, ids, trigger, SITE, VISIT};
use goaltag_wire::{Consent, Signal};

fn url_goal(op: &str, value: &str) -> Goals {
    goals(&format!(r#"[{{"id":"g","when":{{"type":"url","op":"{op}","value":{}}}}}]"#, serde_json::to_string(value).unwrap()))
}

#[test]
fn url_rule_table() {
    let page = "https://www.Shop.example/Checkout/Confirmation/?order=7";
    let cases: &[(&str, &str, bool)] = &[
        ("equals", "/checkout/confirmation", true),
        ("equals", "/CHECKOUT/CONFIRMATION/", true),
        ("equals", "shop.example/checkout/confirmation", true),
        ("equals", "https://www.shop.example/checkout/confirmation", true),
        ("equals", "http://shop.example/checkout/confirmation", true),
        ("equals", "/checkout", false),
        ("equals", "other.example/checkout/confirmation", false),
        ("begins_with", "/checkout", true),
        ("begins_with", "/Checkout/Conf", true),
        ("begins_with", "www.shop.example/checkout/", true),
        ("begins_with", "/confirmation", false),
        ("contains", "confirmation", true),
        ("contains", "ORDER=7", true),
        ("contains", "https://shop.example/check", true),
        ("contains", "order=8", false),
        ("regex", r"^/checkout/confirmation/?(\?|$)", true),
        ("regex", r"shop\.example/checkout", true),
        ("regex", r"^https://www\.shop\.example/", true),
        ("regex", "CONFIRMATION", true),
        ("regex", r"^/confirmation", false),
    ];
    for &(op, value, want) in cases {
        let g = url_goal(op, value);
        assert_eq!(!fired(&g, &Fact::Page { url: page }).is_empty(), want, "{op} {value}");
    }
    let g = url_goal("equals", "/thanks");
    assert!(fired(&g, &Fact::Event { category: None, action: Some("/thanks"), label: None, value: None }).is_empty());
}

#[test]
fn event_rule_table() {
    let ev = |c: Option<&'static str>, a: Option<&'static str>, l: Option<&'static str>, v: Option<f64>| Fact::Event {
        category: c,
        action: a,
        label: l,
        value: v,
    };
    let cases: &[(&str, Fact, bool)] = &[
        (r#"{"action":"signup"}"#, ev(None, Some("SignUp"), None, None), true),
        (r#"{"action":"signup"}"#, ev(None, Some("signup2"), None, None), false),
        (r#"{"action":"signup"}"#, ev(None, None, None, None), false),
        (r#"{"action":{"op":"equals","value":"Signup"}}"#, ev(None, Some("signup"), None, None), true),
        (r#"{"category":{"op":"begins_with","value":"news"}}"#, ev(Some("Newsletter"), None, None, None), true),
        (r#"{"category":{"op":"begins_with","value":"news"}}"#, ev(Some("the news"), None, None, None), false),
        (r#"{"label":{"op":"contains","value":"pro"}}"#, ev(None, None, Some("Plan: PRO yearly"), None), true),
        (r#"{"label":{"op":"contains","value":"pro"}}"#, ev(None, None, Some("basic"), None), false),
        (r#"{"label":{"op":"regex","value":"^plan-\\d+$"}}"#, ev(None, None, Some("PLAN-42"), None), true),
        (r#"{"label":{"op":"regex","value":"^plan-\\d+$"}}"#, ev(None, None, Some("plan-x"), None), false),
        (r#"{"value":{"op":"eq","value":10}}"#, ev(None, None, None, Some(10.0)), true),
        (r#"{"value":{"op":"eq","value":10}}"#, ev(None, None, None, Some(10.5)), false),
        (r#"{"value":{"op":"gt","value":10}}"#, ev(None, None, None, Some(10.0)), false),
        (r#"{"value":{"op":"gt","value":10}}"#, ev(None, None, None, Some(10.01)), true),
        (r#"{"value":{"op":"gte","value":10}}"#, ev(None, None, None, Some(10.0)), true),
        (r#"{"value":{"op":"lt","value":10}}"#, ev(None, None, None, Some(10.0)), false),
        (r#"{"value":{"op":"lt","value":10}}"#, ev(None, None, None, Some(-1.0)), true),
        (r#"{"value":{"op":"lte","value":10}}"#, ev(None, None, None, Some(10.0)), true),
        (r#"{"value":{"op":"lte","value":10}}"#, ev(None, None, None, None), false),
        (
            r#"{"category":"shop","action":"purchase","value":{"op":"gte","value":100}}"#,
            ev(Some("shop"), Some("purchase"), None, Some(150.0)),
            true,
        ),
        (
            r#"{"category":"shop","action":"purchase","value":{"op":"gte","value":100}}"#,
            ev(Some("shop"), Some("purchase"), None, Some(50.0)),
            false,
        ),
        (
            r#"{"category":"shop","action":"purchase","value":{"op":"gte","value":100}}"#,
            ev(Some("blog"), Some("purchase"), None, Some(150.0)),
            false,
        ),
    ];
    for (when, fact, want) in cases {
        let mut w = String::from(r#"{"type":"event","#);
        w.push_str(&when[1..]);
        let g = goals(&format!(r#"[{{"id":"g","when":{w}}}]"#));
        assert_eq!(!fired(&g, fact).is_empty(), *want, "{when} {fact:?}");
    }
    let g = goals(r#"[{"id":"g","when":{"type":"event","action":"signup"}}]"#);
    assert!(fired(&g, &Fact::Page { url: "/signup" }).is_empty());
}

#[test]
fn click_and_form_selectors() {
    let g = goals(
        r##"[
        {"id":"buy","when":{"type":"click","selector":"#buy"}},
        {"id":"cta","when":{"type":"click","selector":".cta"}},
        {"id":"buy2","when":{"type":"click","selector":"#buy"}},
        {"id":"signup","when":{"type":"form_submit","selector":"form.signup"}},
        {"id":"thanks","when":{"type":"url","op":"equals","value":"/thanks"}}
    ]"##,
    );
    assert_eq!(g.click_selectors(), ["#buy", ".cta"], "distinct, in goal order");
    assert_eq!(g.form_selectors(), ["form.signup"]);
    assert_eq!(fired(&g, &Fact::Click { matched: &[0] }), ["buy", "buy2"]);
    assert_eq!(fired(&g, &Fact::Click { matched: &[1] }), ["cta"]);
    assert_eq!(fired(&g, &Fact::Click { matched: &[0, 1] }), ["buy", "cta", "buy2"]);
    assert!(fired(&g, &Fact::Click { matched: &[] }).is_empty());
    assert_eq!(fired(&g, &Fact::Submit { matched: &[0] }), ["signup"]);
    assert!(fired(&g, &Fact::Submit { matched: &[1] }).is_empty(), "form indices are their own list");
}

#[test]
fn duration_and_pages() {
    let g = goals(
        r#"[
        {"id":"read","when":{"type":"duration","min_seconds":30}},
        {"id":"deep","when":{"type":"duration","min_seconds":120.5}},
        {"id":"browse","when":{"type":"pages_per_visit","min_pages":3}}
    ]"#,
    );
    assert!(fired(&g, &Fact::Engaged { ms: 29_999 }).is_empty());
    assert_eq!(fired(&g, &Fact::Engaged { ms: 30_000 }), ["read"]);
    assert_eq!(fired(&g, &Fact::Engaged { ms: 120_500 }), ["read", "deep"]);
    assert!(fired(&g, &Fact::Pages { count: 2 }).is_empty());
    assert_eq!(fired(&g, &Fact::Pages { count: 3 }), ["browse"]);
    assert_eq!(g.next_duration(0), Some(30_000));
    assert_eq!(g.next_duration(30_000), Some(120_500));
    assert_eq!(g.next_duration(120_500), None);
    assert_eq!(goals("[]").next_duration(0), None);

    // Once per visit, by themselves: the tracker reports these facts repeatedly.
    let mut mem = Memory::new();
    let t = trigger(Kind::PageView);
    let mut new_id = ids();
    let mut run = |fact: Fact, visit: &str, mem: &mut Memory| g.evaluate(&fact, &t, SITE, visit, mem, &mut new_id).len();
    assert_eq!(run(Fact::Pages { count: 3 }, "v1", &mut mem), 1);
    assert_eq!(run(Fact::Pages { count: 4 }, "v1", &mut mem), 0);
    assert_eq!(run(Fact::Engaged { ms: 40_000 }, "v1", &mut mem), 1);
    assert_eq!(run(Fact::Engaged { ms: 50_000 }, "v1", &mut mem), 0);
    assert_eq!(run(Fact::Pages { count: 3 }, "v2", &mut mem), 1, "a new visit converts again");
}

fn one(g: &Goals, t: &Event, mem: &mut Memory) -> Option<Event> {
    let mut evs = g.evaluate(&Fact::Page { url: "https://shop.example/thanks" }, t, SITE, VISIT, mem, &mut ids());
    assert!(evs.len() <= 1);
    evs.pop()
}

#[test]
fn revenue_kinds() {
    let goal =
        |rev: &str, cur: &str| goals(&format!(r#"[{{"id":"g","when":{{"type":"url","op":"equals","value":"/thanks"}}{rev}{cur}}}]"#));
    let plain = trigger(Kind::PageView);
    let mut priced = trigger(Kind::PageView);
    priced.value = Some(49.95);
    let mut priced_eur = priced.clone();
    priced_eur.currency = Some("EUR".into());
    let mut mem = Memory::new();
    let vc = |e: Option<Event>| e.map(|e| (e.value, e.currency));

    let none = goal("", r#","currency":"USD""#);
    assert_eq!(vc(one(&none, &priced, &mut mem)), Some((None, None)), "none is the default");
    let none = goal(r#","revenue":{"kind":"none"}"#, "");
    assert_eq!(vc(one(&none, &priced_eur, &mut mem)), Some((None, None)));

    let fixed = goal(r#","revenue":{"kind":"fixed","value":5}"#, r#","currency":"USD""#);
    assert_eq!(vc(one(&fixed, &plain, &mut mem)), Some((Some(5.0), Some("USD".into()))));
    assert_eq!(vc(one(&fixed, &priced, &mut mem)), Some((Some(5.0), Some("USD".into()))), "fixed ignores the event value");
    assert_eq!(vc(one(&fixed, &priced_eur, &mut mem)), Some((Some(5.0), Some("EUR".into()))), "the event's currency wins");

    let var = goal(r#","revenue":{"kind":"variable","default":10}"#, r#","currency":"USD""#);
    assert_eq!(vc(one(&var, &priced, &mut mem)), Some((Some(49.95), Some("USD".into()))));
    assert_eq!(vc(one(&var, &priced_eur, &mut mem)), Some((Some(49.95), Some("EUR".into()))));
    assert_eq!(vc(one(&var, &plain, &mut mem)), Some((Some(10.0), Some("USD".into()))), "default");
    let mut nan = trigger(Kind::PageView);
    nan.value = Some(f64::NAN);
    assert_eq!(vc(one(&var, &nan, &mut mem)), Some((Some(10.0), Some("USD".into()))));

    let var_no_default = goal(r#","revenue":{"kind":"variable"}"#, "");
    assert_eq!(vc(one(&var_no_default, &plain, &mut mem)), Some((None, None)));
    assert_eq!(vc(one(&var_no_default, &priced, &mut mem)), Some((Some(49.95), None)));
}

#[test]
fn conversion_event_fields() {
    let g = goals(
        r#"[{"id":"purchase","primary":false,"when":{"type":"url","op":"equals","value":"/thanks"}},
                      {"id":"any","when":{"type":"url","op":"contains","value":"thanks"}}]"#,
    );
    let mut t = trigger(Kind::PageView);
    t.url = Some("https://shop.example/thanks".into());
    t.client_id = Some("c1".into());
    t.visit_id = Some("v1".into());
    t.gpc = Some(true);
    t.title = Some("Thanks".into());
    t.consent = Some(Consent {
        analytics_storage: Signal::Granted,
        ad_storage: Signal::Denied,
        ad_user_data: Signal::Denied,
        ad_personalization: Signal::Denied,
    });
    let mut mem = Memory::new();
    let evs = g.evaluate(&Fact::Page { url: "https://shop.example/thanks" }, &t, SITE, VISIT, &mut mem, &mut ids());
    assert_eq!(evs.len(), 2);
    let e = &evs[0];
    assert_eq!((e.id.as_str(), e.kind, e.ts), ("new-1", Kind::Conversion, t.ts));
    assert_eq!(e.goal.as_deref(), Some("purchase"));
    assert_eq!(e.primary, Some(false));
    assert_eq!(evs[1].primary, Some(true), "primary by default");
    assert_eq!(evs[1].id, "new-2");
    assert_eq!(e.trigger.as_deref(), Some("trigger-1"));
    assert_eq!(e.url, t.url);
    assert_eq!((e.client_id.as_deref(), e.visit_id.as_deref(), e.gpc, e.consent), (Some("c1"), Some("v1"), Some(true), t.consent));
    assert_eq!((e.title.as_ref(), e.transaction_id.as_ref(), e.attribution.as_ref()), (None, None, None));
}

#[test]
fn count_policies() {
    let g = goals(
        r#"[
        {"id":"all","when":{"type":"url","op":"contains","value":"/p"}},
        {"id":"visit","count":"once_per_visit","when":{"type":"url","op":"contains","value":"/p"}},
        {"id":"user","count":"once_per_user","when":{"type":"url","op":"contains","value":"/p"}}
    ]"#,
    );
    let t = trigger(Kind::PageView);
    let mut new_id = ids();
    let mut run = |visit: &str, mem: &mut Memory| -> Vec<String> {
        g.evaluate(&Fact::Page { url: "/p" }, &t, SITE, visit, mem, &mut new_id).into_iter().map(|e| e.goal.unwrap()).collect()
    };
    let mut mem = Memory::new();
    assert_eq!(run("v1", &mut mem), ["all", "visit", "user"]);
    assert_eq!(run("v1", &mut mem), ["all"]);
    assert_eq!(run("v2", &mut mem), ["all", "visit"]);
    assert_eq!(run("v2", &mut mem), ["all"]);

    // Stored and restored (storage consent): the same holds on the next page.
    let mut back = Memory::restore(&mem.serialise());
    assert_eq!(back, mem);
    assert_eq!(run("v2", &mut back), ["all"]);
    assert_eq!(run("v3", &mut back), ["all", "visit"]);
    // Without storage, every page starts from an empty memory: once_per_user
    // is then once per page.
    assert_eq!(run("v3", &mut Memory::new()), ["all", "visit", "user"]);
}

#[test]
fn transactions_convert_once_with_a_deterministic_id() {
    let g = goals(
        r#"[
        {"id":"purchase","when":{"type":"event","action":"purchase"},"revenue":{"kind":"variable"},"currency":"USD"},
        {"id":"big","when":{"type":"event","action":"purchase","value":{"op":"gt","value":100}}}
    ]"#,
    );
    let fact = Fact::Event { category: None, action: Some("purchase"), label: None, value: Some(120.0) };
    let mut t = trigger(Kind::Event);
    t.transaction_id = Some("T-1001".into());
    t.value = Some(120.0);
    let mut mem = Memory::new();
    let first = g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids());
    assert_eq!(first.len(), 2);
    let id = &first[0].id;
    assert_eq!(id, &transaction_event_id(SITE, "purchase", "T-1001"));
    assert!(is_uuid(id) && &id[14..15] == "5", "{id}");
    assert_ne!(first[0].id, first[1].id, "another goal, another ID");
    assert_eq!(first[0].transaction_id.as_deref(), Some("T-1001"));
    assert_eq!(first[0].value, Some(120.0));

    // The confirmation page reloaded: nothing again, in this visit or any other.
    assert!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).is_empty());
    assert!(g.evaluate(&fact, &t, SITE, "visit-9", &mut mem, &mut ids()).is_empty());
    let mut stored = Memory::restore(&mem.serialise());
    assert!(g.evaluate(&fact, &t, SITE, "visit-9", &mut stored, &mut ids()).is_empty());

    // Without storage the browser forgets, but the ID is the same, so the
    // collector stores the conversion once.
    let again = g.evaluate(&fact, &t, SITE, VISIT, &mut Memory::new(), &mut ids());
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[1].id, first[1].id);

    // Another transaction converts; an empty transaction ID is none.
    t.transaction_id = Some("T-1002".into());
    assert_eq!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).len(), 2);
    t.transaction_id = Some(String::new());
    let evs = g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids());
    assert_eq!((evs[0].id.as_str(), evs[0].transaction_id.as_ref()), ("new-1", None));
}
