//! Goal parsing: the config's `goals` list, as a [`Val`], to [`Goals`], with a
//! message for every mistake.

use super::{Cmp, Count, Goal, Goals, Patterns, Revenue, Text, When};
use crate::core::error::{describe, ConfigError};
use crate::core::messages::Msg;
use crate::core::url;
use crate::core::val::Val;
use crate::prelude::*;

#[cfg(test)]
mod tests;

const GOAL_KEYS: &[&str] = &["id", "name", "primary", "when", "revenue", "currency", "count"];

/// Parses the `goals` list of the config. Every problem is reported with the
/// goal's index and ID, the field and what was expected.
pub fn parse_goals(v: &Val, patterns: &dyn Patterns) -> (Goals, Vec<ConfigError>) {
    let mut goals = Goals::default();
    let mut errors = Vec::new();
    if v.is_null() {
        return (goals, errors);
    }
    let Some(list) = v.as_list() else {
        errors.push(ConfigError::new("goals", Msg::GoalList, v));
        return (goals, errors);
    };
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let mut cx = Cx { at: String::from("goals["), errors: &mut errors, patterns, ok: true };
        push_usize(&mut cx.at, i);
        cx.at.push(']');
        if let Some(goal) = parse_goal(&mut cx, g, i, &mut seen) {
            goals.goals.push(goal);
        }
    }
    for g in &mut goals.goals {
        let (sel, index, list) = match &mut g.when {
            When::Click(s, i) => (s, i, &mut goals.click),
            When::Submit(s, i) => (s, i, &mut goals.forms),
            _ => continue,
        };
        *index = list.iter().position(|x| x == sel).unwrap_or_else(|| {
            list.push(sel.clone());
            list.len() - 1
        });
    }
    (goals, errors)
}

/// Parsing context for one goal: the field prefix and whether all was well.
struct Cx<'a> {
    at: String,
    errors: &'a mut Vec<ConfigError>,
    patterns: &'a dyn Patterns,
    ok: bool,
}

impl Cx<'_> {
    fn path(&self, field: &str) -> String {
        let mut s = String::with_capacity(self.at.len() + 1 + field.len());
        s.push_str(&self.at);
        if !field.is_empty() {
            s.push('.');
            s.push_str(field);
        }
        s
    }

    fn bad(&mut self, field: &str, expected: Msg, got: &Val) {
        self.bad_msg(field, expected, describe(got));
    }

    fn bad_msg(&mut self, field: &str, expected: Msg, got: String) {
        self.bad_arg(field, expected, String::new(), got);
    }

    /// With `arg` for the `{}` of the code's text ([`Msg::OneOf`]'s names).
    fn bad_arg(&mut self, field: &str, expected: Msg, arg: String, got: String) {
        self.ok = false;
        self.errors.push(ConfigError::msg(self.path(field), expected, got).with(arg));
    }

    /// The fields of an object; None (and an error) for anything else. Keys
    /// outside `allowed` are errors: a typo must not silently change a goal.
    fn object<'v>(&mut self, field: &str, v: &'v Val, expected: Msg, allowed: &[&str]) -> Option<&'v [(String, Val)]> {
        let Some(m) = v.as_map() else {
            self.bad(field, expected, v);
            return None;
        };
        self.keys(field, m, allowed, "");
        Some(m)
    }

    /// Reports every key of `m` outside `allowed` (none when it is empty).
    fn keys(&mut self, field: &str, m: &[(String, Val)], allowed: &[&str], for_what: &str) {
        for (k, x) in m {
            if !allowed.is_empty() && !x.is_null() && !allowed.contains(&k.as_str()) {
                self.bad_arg(&join(field, k), Msg::OneOf, one_of(allowed, for_what), "an unknown field".into());
            }
        }
    }

    fn required<'v>(&mut self, m: &'v [(String, Val)], field: &str, key: &str, expected: Msg) -> Option<&'v Val> {
        let v = get(m, key);
        if v.is_none() {
            self.bad_msg(&join(field, key), expected, "nothing".into());
        }
        v
    }

    /// The index of the string at `field.key` in `options`; an error names them all.
    fn pick(&mut self, m: &[(String, Val)], field: &str, key: &str, options: &[&str]) -> Option<usize> {
        let v = get(m, key);
        let i = v.and_then(Val::as_str).and_then(|s| options.iter().position(|o| *o == s));
        if i.is_none() {
            let got = v.map_or_else(|| "nothing".into(), describe);
            self.bad_arg(&join(field, key), Msg::OneOf, one_of(options, ""), got);
        }
        i
    }

    /// A finite number satisfying `ok`.
    fn number(&mut self, m: &[(String, Val)], field: &str, key: &str, expected: Msg, ok: fn(f64) -> bool) -> Option<f64> {
        let v = self.required(m, field, key, expected)?;
        match v.as_num() {
            Some(n) if n.is_finite() && ok(n) => Some(n),
            _ => {
                self.bad(&join(field, key), expected, v);
                None
            }
        }
    }
}

/// `a, b, c` and a suffix: the `arg` of [`Msg::OneOf`].
fn one_of(options: &[&str], suffix: &str) -> String {
    let mut s = String::new();
    for (i, o) in options.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(o);
    }
    s.push_str(suffix);
    s
}

fn get<'v>(m: &'v [(String, Val)], key: &str) -> Option<&'v Val> {
    m.iter().find(|(k, v)| k == key && !v.is_null()).map(|(_, v)| v)
}

fn join(field: &str, key: &str) -> String {
    let mut s = String::with_capacity(field.len() + 1 + key.len());
    s.push_str(field);
    if !field.is_empty() {
        s.push('.');
    }
    s.push_str(key);
    s
}

fn push_usize(s: &mut String, n: usize) {
    crate::core::text::push_u64(s, n as u64);
}

fn parse_goal<'v>(cx: &mut Cx, g: &'v Val, i: usize, seen: &mut Vec<(&'v str, usize)>) -> Option<Goal> {
    let m = cx.object("", g, Msg::GoalObject, &[])?;
    let id = match get(m, "id") {
        Some(v @ Val::Str(s)) if goaltag_wire::is_goal_id(s) => {
            // Name the goal in every later message: goals[1] ("lead").when.op
            cx.at.push_str(" (\"");
            cx.at.push_str(s);
            cx.at.push_str("\")");
            if let Some((_, first)) = seen.iter().find(|(x, _)| *x == s.as_str()) {
                let mut got = describe(v);
                got.push_str(", already the ID of goals[");
                push_usize(&mut got, *first);
                got.push(']');
                cx.bad_msg("id", Msg::GoalIdUnique, got);
            } else {
                seen.push((s, i));
            }
            Some(s.clone())
        }
        Some(v) => {
            cx.bad("id", Msg::GoalId, v);
            None
        }
        None => {
            cx.bad_msg("id", Msg::GoalId, "nothing".into());
            None
        }
    };
    cx.keys("", m, GOAL_KEYS, "");
    let primary = match get(m, "primary") {
        None => true,
        Some(Val::Bool(b)) => *b,
        Some(v) => {
            cx.bad("primary", Msg::TrueOrFalse, v);
            true
        }
    };
    if let Some(v) = get(m, "name") {
        if v.as_str().is_none() {
            cx.bad("name", Msg::AString, v);
        }
    }
    let when = match get(m, "when") {
        Some(w) => parse_when(cx, w),
        None => {
            cx.bad_msg("when", Msg::WhenObject, "nothing".into());
            None
        }
    };
    let revenue = match get(m, "revenue") {
        None => Some(Revenue::None),
        Some(r) => parse_revenue(cx, r),
    };
    let currency = match get(m, "currency") {
        None => None,
        Some(Val::Str(c)) if c.len() == 3 && crate::core::text::all_bytes(c, |b| b.is_ascii_uppercase()) => Some(c.clone()),
        Some(v) => {
            cx.bad("currency", Msg::GoalCurrency, v);
            None
        }
    };
    let count = match get(m, "count") {
        None => Some(0),
        Some(_) => cx.pick(m, "", "count", &["all", "once_per_visit", "once_per_user"]),
    };
    let count = [Count::All, Count::OncePerVisit, Count::OncePerUser][count.unwrap_or(0)];
    match (cx.ok, id, when, revenue) {
        (true, Some(id), Some(when), Some(revenue)) => Some(Goal { id, primary, when, revenue, currency, count }),
        _ => None,
    }
}

const TYPES: [&str; 6] = ["url", "event", "click", "form_submit", "duration", "pages_per_visit"];
/// The keys each type of `when` takes: a field of another type is a mistake.
const WHEN_KEYS: [&[&str]; 6] = [
    &["type", "op", "value"],
    &["type", "category", "action", "label", "value"],
    &["type", "selector"],
    &["type", "selector"],
    &["type", "min_seconds"],
    &["type", "min_pages"],
];

fn parse_when(cx: &mut Cx, w: &Val) -> Option<When> {
    // Keys are checked once the type is known: they depend on it.
    let m = cx.object("when", w, Msg::WhenObject, &[])?;
    let ty = cx.pick(m, "when", "type", &TYPES)?;
    let mut for_type = String::from(" for type ");
    for_type.push_str(TYPES[ty]);
    cx.keys("when", m, WHEN_KEYS[ty], &for_type);
    Some(match ty {
        0 => When::Url(parse_text(cx, "when", m, true)?),
        1 => {
            let mut cond = |key: &str| -> Result<Option<Text>, ()> {
                let Some(c) = get(m, key) else { return Ok(None) };
                let field = join("when", key);
                let parsed = match c {
                    // Shorthand: "action": "signup" means equals.
                    Val::Str(s) if !s.is_empty() => Some(Text::Equals(s.clone())),
                    Val::Str(_) => {
                        cx.bad(&field, Msg::NonEmptyString, c);
                        None
                    }
                    _ => {
                        let cm = cx.object(&field, c, Msg::EventCondition, &["op", "value"]).ok_or(())?;
                        parse_text(cx, &field, cm, false)
                    }
                };
                parsed.map(Some).ok_or(())
            };
            let (category, action, label) = (cond("category"), cond("action"), cond("label"));
            let value = match get(m, "value") {
                None => Ok(None),
                Some(v) => parse_value_cond(cx, v).map(Some).ok_or(()),
            };
            let (Ok(category), Ok(action), Ok(label), Ok(value)) = (category, action, label, value) else {
                return None;
            };
            if category.is_none() && action.is_none() && label.is_none() && value.is_none() {
                cx.bad_msg("when", Msg::EventConditions, "none of them".into());
                return None;
            }
            When::Event { category, action, label, value }
        }
        2 | 3 => {
            let expected = Msg::Selector;
            let v = cx.required(m, "when", "selector", expected)?;
            let Some(sel) = v.as_str().map(str::trim).filter(|s| !s.is_empty()) else {
                cx.bad("when.selector", expected, v);
                return None;
            };
            if ty == 2 {
                When::Click(sel.to_string(), 0)
            } else {
                When::Submit(sel.to_string(), 0)
            }
        }
        4 => {
            let expected = Msg::MinSeconds;
            let s = cx.number(m, "when", "min_seconds", expected, |n| n > 0.0 && n <= 86_400.0)?;
            When::DurationMs(crate::core::val::round_u64(s * 1000.0))
        }
        _ => {
            let expected = Msg::MinPages;
            let n = cx.number(m, "when", "min_pages", expected, |n| (1.0..=10_000.0).contains(&n) && crate::core::val::is_whole(n))?;
            When::Pages(n as u32)
        }
    })
}

/// A string condition from `field.op` and `field.value` of `m`; `is_url`
/// checks that `equals`/`begins_with` values are a path or host and path.
fn parse_text(cx: &mut Cx, field: &str, m: &[(String, Val)], is_url: bool) -> Option<Text> {
    let op = cx.pick(m, field, "op", &["equals", "begins_with", "contains", "regex"])?;
    let expected = match op {
        3 => Msg::Regex,
        0 | 1 if is_url => Msg::UrlRule,
        _ => Msg::NonEmptyString,
    };
    let v = cx.required(m, field, "value", expected)?;
    let value_field = join(field, "value");
    let s = match v.as_str() {
        Some(s) if !s.is_empty() && (!is_url || op >= 2 || url::valid_rule(s)) => s,
        _ => {
            cx.bad(&value_field, expected, v);
            return None;
        }
    };
    Some(match op {
        0 => Text::Equals(s.to_string()),
        1 => Text::BeginsWith(s.to_string()),
        2 => Text::Contains(s.to_string()),
        _ => match cx.patterns.compile(s) {
            Ok(p) => Text::Regex(p),
            Err(msg) => {
                let mut got = describe(v);
                got.push_str(": ");
                got.push_str(&msg);
                cx.bad_msg(&value_field, Msg::ValidRegex, got);
                return None;
            }
        },
    })
}

fn parse_value_cond(cx: &mut Cx, v: &Val) -> Option<(Cmp, f64)> {
    let m = cx.object("when.value", v, Msg::ValueCondition, &["op", "value"])?;
    let op = cx.pick(m, "when.value", "op", &["eq", "gt", "lt", "gte", "lte"])?;
    let cmp = [Cmp::Eq, Cmp::Gt, Cmp::Lt, Cmp::Gte, Cmp::Lte][op];
    Some((cmp, cx.number(m, "when.value", "value", Msg::ANumber, |_| true)?))
}

fn parse_revenue(cx: &mut Cx, r: &Val) -> Option<Revenue> {
    const KINDS: [&str; 3] = ["none", "fixed", "variable"];
    const KEYS: [&[&str]; 3] = [&["kind"], &["kind", "value"], &["kind", "default"]];
    const AMOUNT: Msg = Msg::Amount;
    let m = cx.object("revenue", r, Msg::RevenueObject, &[])?;
    let kind = cx.pick(m, "revenue", "kind", &KINDS)?;
    let mut for_kind = String::from(" for kind ");
    for_kind.push_str(KINDS[kind]);
    cx.keys("revenue", m, KEYS[kind], &for_kind);
    Some(match kind {
        0 => Revenue::None,
        1 => Revenue::Fixed(cx.number(m, "revenue", "value", AMOUNT, |n| n >= 0.0)?),
        _ => Revenue::Variable(match get(m, "default") {
            None => None,
            Some(_) => Some(cx.number(m, "revenue", "default", AMOUNT, |n| n >= 0.0)?),
        }),
    })
}
