//! Goal rules: written once in the config, evaluated in the browser, so the
//! collector receives conversions already decided, each with a stable ID.
//!
//! A goal with any error is reported and disabled (counting it wrongly would be
//! worse than not counting it); the other goals keep working. Regexes are
//! compiled by the shell's `RegExp` through [`Patterns`] (a Rust regex engine
//! would cost more wasm than the rest of the tag), and CSS selectors are run by
//! the shell's `Element.closest`: see [`Goals::click_selectors`].

use crate::prelude::*;
use crate::core::error::{describe, ConfigError};
use crate::core::name_id::transaction_event_id;
use crate::core::url;
use crate::core::val::Val;
use goaltag_wire::{Event, Kind};

/// Compiles regular expressions. Must compile them case-insensitively (the
/// browser shell: `new RegExp(pattern, "i")`); the error is the engine's message.
pub trait Patterns {
    fn compile(&self, pattern: &str) -> Result<Box<dyn Pattern>, String>;
}

pub trait Pattern {
    fn is_match(&self, text: &str) -> bool;
}

/// Something that happened, as the goals see it. The shell (or the tracker)
/// passes each fact with the event it belongs to as the trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact<'a> {
    /// A page view (also SPA navigations) at this URL.
    Page { url: &'a str },
    /// A custom event.
    Event { category: Option<&'a str>, action: Option<&'a str>, label: Option<&'a str>, value: Option<f64> },
    /// A click: indices into [`Goals::click_selectors`] that the target or an
    /// ancestor matched (`Element.closest`).
    Click { matched: &'a [usize] },
    /// A form submit: indices into [`Goals::form_selectors`] the form matched.
    Submit { matched: &'a [usize] },
    /// Engaged (visible) milliseconds in the visit so far.
    Engaged { ms: u64 },
    /// Pages seen in the visit so far.
    Pages { count: u32 },
}

/// A string condition; comparisons are ASCII-case-insensitive.
enum Text {
    Equals(String),
    BeginsWith(String),
    Contains(String),
    Regex(Box<dyn Pattern>),
}

impl Text {
    fn url(&self, page: &str) -> bool {
        match self {
            Text::Equals(r) => url::equals(page, r),
            Text::BeginsWith(r) => url::begins_with(page, r),
            Text::Contains(n) => url::contains(page, n),
            Text::Regex(p) => url::regex_texts(page).iter().any(|t| p.is_match(t)),
        }
    }

    fn text(&self, s: Option<&str>) -> bool {
        let Some(s) = s else { return false };
        match self {
            Text::Equals(v) => s.eq_ignore_ascii_case(v),
            Text::BeginsWith(v) => url::starts_with_ci(s, v),
            Text::Contains(v) => url::find_ci(s, v).is_some(),
            Text::Regex(p) => p.is_match(s),
        }
    }
}

#[derive(Clone, Copy)]
enum Cmp {
    Eq,
    Gt,
    Lt,
    Gte,
    Lte,
}

enum When {
    Url(Text),
    Event {
        category: Option<Text>,
        action: Option<Text>,
        label: Option<Text>,
        value: Option<(Cmp, f64)>,
    },
    /// Selector, and its index in the click or form selector list.
    Click(String, usize),
    Submit(String, usize),
    DurationMs(u64),
    Pages(u32),
}

impl When {
    fn matches(&self, fact: &Fact) -> bool {
        match (self, fact) {
            (When::Url(t), Fact::Page { url }) => t.url(url),
            (
                When::Event { category, action, label, value },
                Fact::Event { category: c, action: a, label: l, value: v },
            ) => {
                category.as_ref().is_none_or(|t| t.text(*c))
                    && action.as_ref().is_none_or(|t| t.text(*a))
                    && label.as_ref().is_none_or(|t| t.text(*l))
                    && value.is_none_or(|(op, want)| {
                        v.is_some_and(|v| match op {
                            Cmp::Eq => v == want,
                            Cmp::Gt => v > want,
                            Cmp::Lt => v < want,
                            Cmp::Gte => v >= want,
                            Cmp::Lte => v <= want,
                        })
                    })
            }
            (When::Click(_, i), Fact::Click { matched }) | (When::Submit(_, i), Fact::Submit { matched }) => {
                matched.contains(i)
            }
            (When::DurationMs(min), Fact::Engaged { ms }) => ms >= min,
            (When::Pages(min), Fact::Pages { count }) => count >= min,
            _ => false,
        }
    }
}

enum Revenue {
    None,
    Fixed(f64),
    /// The triggering event's value, else this default.
    Variable(Option<f64>),
}

/// How often a goal may convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    All,
    OncePerVisit,
    OncePerUser,
}

struct Goal {
    id: String,
    primary: bool,
    when: When,
    revenue: Revenue,
    currency: Option<String>,
    count: Count,
}

/// The enabled goals of the config.
#[derive(Default)]
pub struct Goals {
    goals: Vec<Goal>,
    click: Vec<String>,
    forms: Vec<String>,
}

/// What was already counted. Per visit (reset when the visit ID changes), per
/// user, and per transaction forever. It does not know where it lives: the
/// shell persists [`Memory::serialise`] with `analytics_storage` granted and
/// otherwise keeps it for the page only, so `once_per_user` falls back to
/// once per page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    visit: String,
    visit_goals: Vec<String>,
    user_goals: Vec<String>,
    /// Leading 12 hex digits of the conversion IDs of transactions seen,
    /// oldest first.
    transactions: Vec<String>,
}

/// Bounds on what [`Memory`] keeps, so its stored text stays short. Past the
/// transaction bound the oldest could convert again, but with its
/// deterministic ID the collector still stores it once.
const MAX_REMEMBERED: usize = 100;

impl Memory {
    pub fn new() -> Self {
        Memory::default()
    }

    fn enter_visit(&mut self, visit_id: &str) {
        if self.visit != visit_id {
            self.visit.clear();
            self.visit.push_str(visit_id);
            self.visit_goals.clear();
        }
    }

    /// Short text for storage: `1|<visit id>|<goal>,…|<goal>,…|<txn key>,…`
    /// (goal IDs cannot hold `|` or `,`: see `valid_id`).
    pub fn serialise(&self) -> String {
        let mut s = String::with_capacity(64 + 13 * self.transactions.len());
        s.push_str("1|");
        s.push_str(&self.visit);
        for list in [&self.visit_goals, &self.user_goals, &self.transactions] {
            s.push('|');
            for (i, x) in list.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(x);
            }
        }
        s
    }

    /// Restores what [`serialise`](Self::serialise) wrote; damaged text gives
    /// an empty memory.
    pub fn restore(s: &str) -> Memory {
        fn list(s: &str, ok: fn(&str) -> bool) -> Option<Vec<String>> {
            if s.is_empty() {
                return Some(Vec::new());
            }
            s.split(',').map(|x| ok(x).then(|| x.to_string())).collect()
        }
        let parse = || {
            let mut it = s.split('|');
            if it.next()? != "1" {
                return None;
            }
            let visit = it.next()?.to_string();
            let visit_goals = list(it.next()?, valid_id)?;
            let user_goals = list(it.next()?, valid_id)?;
            let transactions = list(it.next()?, |t| t.len() == 12 && t.bytes().all(|c| c.is_ascii_hexdigit()))?;
            it.next().is_none().then_some(Memory { visit, visit_goals, user_goals, transactions })
        };
        parse().unwrap_or_default()
    }
}

fn remember(list: &mut Vec<String>, key: &str) {
    if list.len() >= MAX_REMEMBERED {
        list.remove(0);
    }
    list.push(key.to_string());
}

impl Goals {
    pub fn is_empty(&self) -> bool {
        self.goals.is_empty()
    }

    pub fn len(&self) -> usize {
        self.goals.len()
    }

    /// The distinct CSS selectors of `click` goals. On a click the shell tests
    /// each with `target.closest(sel)` and passes the matching indices in
    /// [`Fact::Click`]. A selector that `closest` rejects is the site owner's
    /// to fix: report it once.
    pub fn click_selectors(&self) -> &[String] {
        &self.click
    }

    /// The distinct CSS selectors of `form_submit` goals, for [`Fact::Submit`]
    /// (`form.closest(sel)`).
    pub fn form_selectors(&self) -> &[String] {
        &self.forms
    }

    /// The smallest `duration` threshold above `engaged_ms`, in engaged ms:
    /// when the shell should next report [`Fact::Engaged`]. None when no
    /// duration goal is still ahead.
    pub fn next_duration(&self, engaged_ms: u64) -> Option<u64> {
        self.goals
            .iter()
            .filter_map(|g| match g.when {
                When::DurationMs(ms) if ms > engaged_ms => Some(ms),
                _ => None,
            })
            .min()
    }

    /// The conversions `fact` causes. `trigger` is the event the fact belongs
    /// to: each conversion takes its `ts` and `url`, names it in `trigger`,
    /// takes `value`, `currency` and `transaction_id` from it as the goal
    /// says, and copies its `client_id`, `visit_id`, `consent` and `gpc`;
    /// the caller attaches attribution. A conversion with a transaction ID gets
    /// the ID `uuid_v5(GOALTAG_NS, "{site}\n{goal}\n{transaction_id}")` and
    /// converts once per browser, forever; otherwise its ID is `new_id()`.
    /// `duration` and `pages_per_visit` goals convert at most once per visit.
    pub fn evaluate(
        &self,
        fact: &Fact,
        trigger: &Event,
        site: &str,
        visit_id: &str,
        mem: &mut Memory,
        new_id: &mut dyn FnMut() -> String,
    ) -> Vec<Event> {
        mem.enter_visit(visit_id);
        let mut out = Vec::new();
        let txn = trigger.transaction_id.as_deref().filter(|t| !t.is_empty());
        for g in &self.goals {
            if !g.when.matches(fact) {
                continue;
            }
            let per_visit = g.count == Count::OncePerVisit
                || (g.count == Count::All && matches!(g.when, When::DurationMs(_) | When::Pages(_)));
            if (per_visit && mem.visit_goals.contains(&g.id))
                || (g.count == Count::OncePerUser && mem.user_goals.contains(&g.id))
            {
                continue;
            }
            let txn_id = txn.map(|t| transaction_event_id(site, &g.id, t));
            if let Some(id) = &txn_id {
                let key = txn_key(id);
                if mem.transactions.contains(&key) {
                    continue;
                }
                remember(&mut mem.transactions, &key);
            }
            if per_visit {
                remember(&mut mem.visit_goals, &g.id);
            }
            if g.count == Count::OncePerUser {
                remember(&mut mem.user_goals, &g.id);
            }

            let mut e = Event::new(txn_id.unwrap_or_else(&mut *new_id), Kind::Conversion, trigger.ts);
            e.url = trigger.url.clone();
            e.goal = Some(g.id.clone());
            e.primary = Some(g.primary);
            e.value = match g.revenue {
                Revenue::None => None,
                Revenue::Fixed(v) => Some(v),
                Revenue::Variable(default) => trigger.value.filter(|v| v.is_finite()).or(default),
            };
            if e.value.is_some() {
                e.currency = trigger.currency.clone().or_else(|| g.currency.clone());
            }
            e.transaction_id = txn.map(str::to_string);
            e.trigger = Some(trigger.id.clone());
            e.client_id = trigger.client_id.clone();
            e.visit_id = trigger.visit_id.clone();
            e.consent = trigger.consent;
            e.gpc = trigger.gpc;
            out.push(e);
        }
        out
    }
}

/// 48 bits of a conversion ID: enough to tell a browser's transactions apart.
fn txn_key(uuid: &str) -> String {
    let mut k = String::with_capacity(12);
    k.push_str(uuid.get(..8).unwrap_or(""));
    k.push_str(uuid.get(9..13).unwrap_or(""));
    k
}

/// Goal IDs: 1 to 64 letters, digits, `_`, `-` or `.`, so they are safe in
/// the stored memory text and in a transaction ID's name.
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

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
        errors.push(ConfigError::new("goals", "a list of goal objects", v));
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

    fn bad(&mut self, field: &str, expected: &str, got: &Val) {
        self.ok = false;
        self.errors.push(ConfigError::new(self.path(field), expected, got));
    }

    fn bad_msg(&mut self, field: &str, expected: &str, got: String) {
        self.ok = false;
        self.errors.push(ConfigError::msg(self.path(field), expected, got));
    }

    /// The fields of an object; None (and an error) for anything else. Keys
    /// outside `allowed` are errors: a typo must not silently change a goal.
    fn object<'v>(&mut self, field: &str, v: &'v Val, expected: &str, allowed: &[&str]) -> Option<&'v [(String, Val)]> {
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
                self.bad_msg(&join(field, k), &one_of(allowed, for_what), "an unknown field".into());
            }
        }
    }

    fn required<'v>(&mut self, m: &'v [(String, Val)], field: &str, key: &str, expected: &str) -> Option<&'v Val> {
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
            let expected = one_of(options, "");
            match v {
                Some(v) => self.bad(&join(field, key), &expected, v),
                None => self.bad_msg(&join(field, key), &expected, "nothing".into()),
            }
        }
        i
    }

    /// A finite number satisfying `ok`.
    fn number(
        &mut self,
        m: &[(String, Val)],
        field: &str,
        key: &str,
        expected: &str,
        ok: fn(f64) -> bool,
    ) -> Option<f64> {
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

/// `one of a, b, c` and a suffix.
fn one_of(options: &[&str], suffix: &str) -> String {
    let mut s = String::from("one of");
    for (i, o) in options.iter().enumerate() {
        s.push_str(if i == 0 { " " } else { ", " });
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
    crate::core::visit::push_u64(s, n as u64);
}

const GOAL_EXAMPLE: &str =
    "an object like {id: \"purchase\", when: {type: \"url\", op: \"equals\", value: \"/thanks\"}}";
const WHEN_EXAMPLE: &str = "an object like {type: \"url\", op: \"equals\", value: \"/thanks\"}";

fn parse_goal<'v>(cx: &mut Cx, g: &'v Val, i: usize, seen: &mut Vec<(&'v str, usize)>) -> Option<Goal> {
    let m = cx.object("", g, GOAL_EXAMPLE, &[])?;
    const ID: &str = "an ID of 1 to 64 letters, digits, '_', '-' or '.'";
    let id = match get(m, "id") {
        Some(v @ Val::Str(s)) if valid_id(s) => {
            // Name the goal in every later message: goals[1] ("lead").when.op
            cx.at.push_str(" (\"");
            cx.at.push_str(s);
            cx.at.push_str("\")");
            if let Some((_, first)) = seen.iter().find(|(x, _)| *x == s.as_str()) {
                let mut got = describe(v);
                got.push_str(", already the ID of goals[");
                push_usize(&mut got, *first);
                got.push(']');
                cx.bad_msg("id", "an ID no other goal has", got);
            } else {
                seen.push((s, i));
            }
            Some(s.clone())
        }
        Some(v) => {
            cx.bad("id", ID, v);
            None
        }
        None => {
            cx.bad_msg("id", ID, "nothing".into());
            None
        }
    };
    cx.keys("", m, GOAL_KEYS, "");
    let primary = match get(m, "primary") {
        None => true,
        Some(Val::Bool(b)) => *b,
        Some(v) => {
            cx.bad("primary", "true or false", v);
            true
        }
    };
    if let Some(v) = get(m, "name") {
        if v.as_str().is_none() {
            cx.bad("name", "a string", v);
        }
    }
    let when = match get(m, "when") {
        Some(w) => parse_when(cx, w),
        None => {
            cx.bad_msg("when", WHEN_EXAMPLE, "nothing".into());
            None
        }
    };
    let revenue = match get(m, "revenue") {
        None => Some(Revenue::None),
        Some(r) => parse_revenue(cx, r),
    };
    let currency = match get(m, "currency") {
        None => None,
        Some(Val::Str(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c.clone()),
        Some(v) => {
            cx.bad("currency", "an ISO 4217 code of 3 upper-case letters, like \"USD\"", v);
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
    let m = cx.object("when", w, WHEN_EXAMPLE, &[])?;
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
                        cx.bad(&field, "a non-empty string", c);
                        None
                    }
                    _ => {
                        let expected = "a string or an object like {op: \"equals\", value: \"signup\"}";
                        let cm = cx.object(&field, c, expected, &["op", "value"]).ok_or(())?;
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
                cx.bad_msg("when", "at least one of category, action, label, value", "none of them".into());
                return None;
            }
            When::Event { category, action, label, value }
        }
        2 | 3 => {
            let expected = "a CSS selector, like \"#buy\" or \"form.signup\"";
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
            let expected = "a number of seconds greater than 0, up to 86400";
            let s = cx.number(m, "when", "min_seconds", expected, |n| n > 0.0 && n <= 86_400.0)?;
            When::DurationMs(crate::core::val::round_u64(s * 1000.0))
        }
        _ => {
            let expected = "a whole number of pages from 1 to 10000";
            let n =
                cx.number(m, "when", "min_pages", expected, |n| (1.0..=10_000.0).contains(&n) && crate::core::val::is_whole(n))?;
            When::Pages(n as u32)
        }
    })
}

/// A string condition from `field.op` and `field.value` of `m`; `is_url`
/// checks that `equals`/`begins_with` values are a path or host and path.
fn parse_text(cx: &mut Cx, field: &str, m: &[(String, Val)], is_url: bool) -> Option<Text> {
    let op = cx.pick(m, field, "op", &["equals", "begins_with", "contains", "regex"])?;
    let expected = match op {
        3 => "a regular expression",
        0 | 1 if is_url => "a path like \"/thanks\" or a host and path like \"shop.example/thanks\"",
        _ => "a non-empty string",
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
                cx.bad_msg(&value_field, "a valid regular expression", got);
                return None;
            }
        },
    })
}

fn parse_value_cond(cx: &mut Cx, v: &Val) -> Option<(Cmp, f64)> {
    let m = cx.object("when.value", v, "an object like {op: \"gte\", value: 100}", &["op", "value"])?;
    let op = cx.pick(m, "when.value", "op", &["eq", "gt", "lt", "gte", "lte"])?;
    let cmp = [Cmp::Eq, Cmp::Gt, Cmp::Lt, Cmp::Gte, Cmp::Lte][op];
    Some((cmp, cx.number(m, "when.value", "value", "a number", |_| true)?))
}

fn parse_revenue(cx: &mut Cx, r: &Val) -> Option<Revenue> {
    const KINDS: [&str; 3] = ["none", "fixed", "variable"];
    const KEYS: [&[&str]; 3] = [&["kind"], &["kind", "value"], &["kind", "default"]];
    const AMOUNT: &str = "a number, 0 or more";
    let m = cx.object("revenue", r, "an object like {kind: \"variable\", default: 10}", &[])?;
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::id::is_uuid;
    use crate::core::val::json;
    use goaltag_wire::{Consent, Signal};

    /// Test double for the browser's `RegExp(pattern, "i")`.
    pub(crate) struct Re;
    struct R(regex::Regex);
    impl Pattern for R {
        fn is_match(&self, text: &str) -> bool {
            self.0.is_match(text)
        }
    }
    impl Patterns for Re {
        fn compile(&self, p: &str) -> Result<Box<dyn Pattern>, String> {
            regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map(|r| Box::new(R(r)) as Box<dyn Pattern>)
                .map_err(|_| "Unterminated group".to_string())
        }
    }

    const SITE: &str = "demo-shop";
    const VISIT: &str = "visit-1";

    fn goals(j: &str) -> Goals {
        let (g, errs) = parse_goals(&json(j), &Re);
        assert!(errs.is_empty(), "{errs:?}");
        g
    }

    fn errors(j: &str) -> (Goals, Vec<String>) {
        let (g, errs) = parse_goals(&json(j), &Re);
        (g, errs.iter().map(|e| e.to_string()).collect())
    }

    fn trigger(kind: Kind) -> Event {
        let mut e = Event::new("trigger-1".into(), kind, 1_700_000_000_000);
        e.url = Some("https://shop.example/x".into());
        e
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("new-{}", n)
        }
    }

    /// The goal IDs that `fact` converts, with a fresh memory.
    fn fired(g: &Goals, fact: &Fact) -> Vec<String> {
        let mut mem = Memory::new();
        let t = trigger(Kind::Event);
        g.evaluate(fact, &t, SITE, VISIT, &mut mem, &mut ids()).into_iter().map(|e| e.goal.unwrap()).collect()
    }

    fn url_goal(op: &str, value: &str) -> Goals {
        goals(&format!(
            r#"[{{"id":"g","when":{{"type":"url","op":"{op}","value":{}}}}}]"#,
            serde_json::to_string(value).unwrap()
        ))
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
        assert!(
            fired(&g, &Fact::Event { category: None, action: Some("/thanks"), label: None, value: None }).is_empty()
        );
    }

    #[test]
    fn event_rule_table() {
        let ev = |c: Option<&'static str>, a: Option<&'static str>, l: Option<&'static str>, v: Option<f64>| {
            Fact::Event { category: c, action: a, label: l, value: v }
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

        // Once per visit, by themselves: the shell reports these facts repeatedly.
        let mut mem = Memory::new();
        let t = trigger(Kind::PageView);
        let mut new_id = ids();
        let mut run =
            |fact: Fact, visit: &str, mem: &mut Memory| g.evaluate(&fact, &t, SITE, visit, mem, &mut new_id).len();
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
        let goal = |rev: &str, cur: &str| {
            goals(&format!(r#"[{{"id":"g","when":{{"type":"url","op":"equals","value":"/thanks"}}{rev}{cur}}}]"#))
        };
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
        assert_eq!(
            vc(one(&fixed, &priced, &mut mem)),
            Some((Some(5.0), Some("USD".into()))),
            "fixed ignores the event value"
        );
        assert_eq!(
            vc(one(&fixed, &priced_eur, &mut mem)),
            Some((Some(5.0), Some("EUR".into()))),
            "the event's currency wins"
        );

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
        assert_eq!(
            (e.client_id.as_deref(), e.visit_id.as_deref(), e.gpc, e.consent),
            (Some("c1"), Some("v1"), Some(true), t.consent)
        );
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
            g.evaluate(&Fact::Page { url: "/p" }, &t, SITE, visit, mem, &mut new_id)
                .into_iter()
                .map(|e| e.goal.unwrap())
                .collect()
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

    #[test]
    fn memory_is_bounded_and_damage_tolerant() {
        let g = goals(r#"[{"id":"p","when":{"type":"event","action":"buy"}}]"#);
        let fact = Fact::Event { category: None, action: Some("buy"), label: None, value: None };
        let mut mem = Memory::new();
        let mut t = trigger(Kind::Event);
        for n in 0..(MAX_REMEMBERED + 5) {
            t.transaction_id = Some(format!("T{n}"));
            assert_eq!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).len(), 1);
        }
        assert_eq!(mem.transactions.len(), MAX_REMEMBERED);
        let s = mem.serialise();
        assert!(s.len() < 13 * MAX_REMEMBERED + 40, "{}", s.len());
        assert_eq!(Memory::restore(&s), mem);
        t.transaction_id = Some("T0".into());
        assert_eq!(g.evaluate(&fact, &t, SITE, VISIT, &mut mem, &mut ids()).len(), 1, "the oldest was forgotten");

        assert_eq!(Memory::new().serialise(), "1||||");
        for bad in ["", "1|v", "2|v|||", "1|v|a b||", "1|v|||xyz", "1|v||||"] {
            assert_eq!(Memory::restore(bad), Memory::new(), "{bad}");
        }
        let m = Memory::restore("1|v|a,b|c|0123456789ab");
        assert_eq!((m.visit_goals.len(), m.user_goals.len(), m.transactions.len()), (2, 1, 1));
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
        let (_, errs) =
            errors(r#"[{"id":"g","when":{"type":"url","op":"equals","value":"/x"},"currency":"usd","count":"x"}]"#);
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
        assert_eq!(
            errs,
            ["goaltag: goals[2] (\"lead\").id: expected an ID no other goal has, got \"lead\", already the ID of goals[0]"]
        );
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
        let g = goals(
            r#"[{"id":"g","name":null,"revenue":null,"count":null,"when":{"type":"url","op":"equals","value":"/x","selector":null}}]"#,
        );
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
            .evaluate(
                &Fact::Page { url: "https://shop.example/checkout/confirmation?o=1" },
                &t,
                SITE,
                VISIT,
                &mut mem,
                &mut ids(),
            )
            .pop()
            .unwrap();
        assert_eq!((e.goal.as_deref(), e.value, e.currency.as_deref()), (Some("purchase"), Some(42.5), Some("USD")));
    }
}
