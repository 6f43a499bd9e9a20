//! Goal parsing's tests: every mistake is reported, naming the goal, the
//! field and what was expected, and disables that goal alone.

use super::*;
use crate::core::goals::{Fact, Memory};
use crate::core::test_fixtures::{fired, goals, ids, trigger, Re, SITE, VISIT};
use crate::core::val::json;
use goaltag_wire::Kind;

fn errors(j: &str) -> (Goals, Vec<String>) {
    let (g, errs) = parse_goals(&json(j), &Re);
    (g, errs.iter().map(|e| e.to_string()).collect())
}

#[test]
fn invalid_regex_disables_only_that_goal() {
    let (g, errs) = errors(
        r#"[
        {"id":"ok","when":{"type":"url","op":"contains","value":"thanks"}},
        {"id":"lead","when":{"type":"url","op":"regex","value":"("}},
        {"id":"ev","when":{"type":"event","label":{"op":"regex","value":"[a"}}}
    ]"#,
    );
    assert_eq!(
        errs,
        [
            "goaltag: goals[1] (\"lead\").when.value: expected a valid regular expression, got \"(\": Unterminated group",
            "goaltag: goals[2] (\"ev\").when.label.value: expected a valid regular expression, got \"[a\": Unterminated group",
        ]
    );
    assert_eq!(g.len(), 1);
    assert_eq!(fired(&g, &Fact::Page { url: "/thanks" }), ["ok"]);
}

#[test]
fn validation_names_goal_field_and_expectation() {
    let cases: &[(&str, &str)] = &[
        (r#"{"when":{"type":"url","op":"equals","value":"/x"}}"#, "goals[0].id: expected an ID of 1 to 64 letters, digits, '_', '-' or '.', got nothing"),
        (r#"{"id":"a b","when":{"type":"url","op":"equals","value":"/x"}}"#, "goals[0].id: expected an ID of 1 to 64 letters, digits, '_', '-' or '.', got \"a b\""),
        (r#"{"id":"g"}"#, "goals[0] (\"g\").when: expected an object like {type: \"url\", op: \"equals\", value: \"/thanks\"}, got nothing"),
        (r#"{"id":"g","when":"/x"}"#, "goals[0] (\"g\").when: expected an object like {type: \"url\", op: \"equals\", value: \"/thanks\"}, got \"/x\""),
        (r#"{"id":"g","when":{"type":"page"}}"#, "goals[0] (\"g\").when.type: expected one of url, event, click, form_submit, duration, pages_per_visit, got \"page\""),
        (r#"{"id":"g","when":{"op":"equals"}}"#, "goals[0] (\"g\").when.type: expected one of url, event, click, form_submit, duration, pages_per_visit, got nothing"),
        (r#"{"id":"g","when":{"type":"url","op":"is","value":"/x"}}"#, "goals[0] (\"g\").when.op: expected one of equals, begins_with, contains, regex, got \"is\""),
        (r#"{"id":"g","when":{"type":"url","value":"/x"}}"#, "goals[0] (\"g\").when.op: expected one of equals, begins_with, contains, regex, got nothing"),
        (r#"{"id":"g","when":{"type":"url","op":"equals","value":"thanks"}}"#, "goals[0] (\"g\").when.value: expected a path like \"/thanks\" or a host and path like \"shop.example/thanks\", got \"thanks\""),
        (r#"{"id":"g","when":{"type":"url","op":"contains","value":""}}"#, "goals[0] (\"g\").when.value: expected a non-empty string, got \"\""),
        (r#"{"id":"g","when":{"type":"url","op":"contains"}}"#, "goals[0] (\"g\").when.value: expected a non-empty string, got nothing"),
        (r#"{"id":"g","when":{"type":"url","op":"contains","value":"x","selector":"a"}}"#, "goals[0] (\"g\").when.selector: expected one of type, op, value for type url, got an unknown field"),
        (r#"{"id":"g","when":{"type":"url","op":"contains","value":"x","colour":"a"}}"#, "goals[0] (\"g\").when.colour: expected one of type, op, value for type url, got an unknown field"),
        (r#"{"id":"g","when":{"type":"event"}}"#, "goals[0] (\"g\").when: expected at least one of category, action, label, value, got none of them"),
        (r#"{"id":"g","when":{"type":"event","action":""}}"#, "goals[0] (\"g\").when.action: expected a non-empty string, got \"\""),
        (r#"{"id":"g","when":{"type":"event","action":{"op":"equals"}}}"#, "goals[0] (\"g\").when.action.value: expected a non-empty string, got nothing"),
        (r#"{"id":"g","when":{"type":"event","action":{"op":"eq","value":"x"}}}"#, "goals[0] (\"g\").when.action.op: expected one of equals, begins_with, contains, regex, got \"eq\""),
        (r#"{"id":"g","when":{"type":"event","action":3}}"#, "goals[0] (\"g\").when.action: expected a string or an object like {op: \"equals\", value: \"signup\"}, got 3"),
        (r#"{"id":"g","when":{"type":"event","action":{"op":"equals","value":"x","x":1}}}"#, "goals[0] (\"g\").when.action.x: expected one of op, value, got an unknown field"),
        (r#"{"id":"g","when":{"type":"event","value":{"op":"ge","value":1}}}"#, "goals[0] (\"g\").when.value.op: expected one of eq, gt, lt, gte, lte, got \"ge\""),
        (r#"{"id":"g","when":{"type":"event","value":{"op":"gt","value":"1"}}}"#, "goals[0] (\"g\").when.value.value: expected a number, got \"1\""),
        (r#"{"id":"g","when":{"type":"click"}}"#, "goals[0] (\"g\").when.selector: expected a CSS selector, like \"#buy\" or \"form.signup\", got nothing"),
        (r#"{"id":"g","when":{"type":"form_submit","selector":" "}}"#, "goals[0] (\"g\").when.selector: expected a CSS selector, like \"#buy\" or \"form.signup\", got \" \""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":0}}"#, "goals[0] (\"g\").when.min_seconds: expected a number of seconds greater than 0, up to 86400, got 0"),
        (r#"{"id":"g","when":{"type":"pages_per_visit","min_pages":2.5}}"#, "goals[0] (\"g\").when.min_pages: expected a whole number of pages from 1 to 10000, got 2.5"),
        (r#"{"id":"g","when":{"type":"pages_per_visit","min_pages":0}}"#, "goals[0] (\"g\").when.min_pages: expected a whole number of pages from 1 to 10000, got 0"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"kind":"fixed"}}"#, "goals[0] (\"g\").revenue.value: expected a number, 0 or more, got nothing"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"kind":"fixed","value":-1}}"#, "goals[0] (\"g\").revenue.value: expected a number, 0 or more, got -1"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"kind":"variable","default":"10"}}"#, "goals[0] (\"g\").revenue.default: expected a number, 0 or more, got \"10\""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"kind":"free"}}"#, "goals[0] (\"g\").revenue.kind: expected one of none, fixed, variable, got \"free\""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"value":3}}"#, "goals[0] (\"g\").revenue.kind: expected one of none, fixed, variable, got nothing"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":{"kind":"none","value":3}}"#, "goals[0] (\"g\").revenue.value: expected one of kind for kind none, got an unknown field"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenue":10}"#, "goals[0] (\"g\").revenue: expected an object like {kind: \"variable\", default: 10}, got 10"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"currency":"usd"}"#, "goals[0] (\"g\").currency: expected an ISO 4217 code of 3 upper-case letters, like \"USD\", got \"usd\""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"count":"once"}"#, "goals[0] (\"g\").count: expected one of all, once_per_visit, once_per_user, got \"once\""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"primary":"yes"}"#, "goals[0] (\"g\").primary: expected true or false, got \"yes\""),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"name":1}"#, "goals[0] (\"g\").name: expected a string, got 1"),
        (r#"{"id":"g","when":{"type":"duration","min_seconds":5},"revenu":{"kind":"none"}}"#, "goals[0] (\"g\").revenu: expected one of id, name, primary, when, revenue, currency, count, got an unknown field"),
        (r#""purchase""#, "goals[0]: expected an object like {id: \"purchase\", when: {type: \"url\", op: \"equals\", value: \"/thanks\"}}, got \"purchase\""),
    ];
    for (goal, want) in cases {
        let (g, errs) = errors(&format!("[{goal}]"));
        assert_eq!(errs, [format!("goaltag: {want}")], "{goal}");
        assert!(g.is_empty(), "a goal with an error is disabled: {goal}");
    }
}

#[test]
fn every_error_of_a_goal_is_reported() {
    let (_, errs) = errors(r#"[{"id":"g","when":{"type":"url","op":"equals","value":"/x"},"currency":"usd","count":"x"}]"#);
    assert_eq!(errs.len(), 2);
}

#[test]
fn duplicate_ids_and_bad_lists() {
    let (g, errs) = errors(
        r#"[
        {"id":"lead","when":{"type":"url","op":"equals","value":"/a"}},
        {"id":"x","when":{"type":"url","op":"equals","value":"/b"}},
        {"id":"lead","when":{"type":"url","op":"equals","value":"/c"}}
    ]"#,
    );
    assert_eq!(errs, ["goaltag: goals[2] (\"lead\").id: expected an ID no other goal has, got \"lead\", already the ID of goals[0]"]);
    assert_eq!(g.len(), 2);
    assert_eq!(fired(&g, &Fact::Page { url: "/a" }), ["lead"]);
    assert!(fired(&g, &Fact::Page { url: "/c" }).is_empty());

    let (g, errs) = errors(r#"{"id":"g"}"#);
    assert!(g.is_empty());
    assert_eq!(errs.len(), 1);
    assert!(errs[0] == "goaltag: goals: expected a list of goal objects, got an object", "{}", errs[0]);
    let (g, errs) = parse_goals(&Val::Null, &Re);
    assert!(g.is_empty() && errs.is_empty(), "null means no goals");
}

#[test]
fn nulls_mean_not_given() {
    let g =
        goals(r#"[{"id":"g","name":null,"revenue":null,"count":null,"when":{"type":"url","op":"equals","value":"/x","selector":null}}]"#);
    assert_eq!(g.len(), 1);
}

#[test]
fn issue_example_parses() {
    let g = goals(
        r#"[{"id": "purchase", "name": "Purchase", "primary": true,
             "when": {"type": "url", "op": "begins_with", "value": "/checkout/confirmation"},
             "revenue": {"kind": "variable", "default": 10.0}, "currency": "USD",
             "count": "all"}]"#,
    );
    let mut t = trigger(Kind::PageView);
    t.value = Some(42.5);
    let mut mem = Memory::new();
    let e = g
        .evaluate(&Fact::Page { url: "https://shop.example/checkout/confirmation?o=1" }, &t, SITE, VISIT, &mut mem, &mut ids())
        .pop()
        .unwrap();
    assert_eq!((e.goal.as_deref(), e.value, e.currency.as_deref()), (Some("purchase"), Some(42.5), Some("USD")));
}
