//! Test fixtures shared by more than one module's tests, in one place: the
//! stand-in for the browser's `RegExp`, the goal helpers the goal engine's,
//! memory's and parser's tests share, and the tracker's deterministic host
//! ([`tracker`]).

pub(crate) mod tracker;

use crate::core::goals::{parse_goals, Fact, Goals, Memory, Pattern, Patterns};
use crate::core::val::json;
use goaltag_wire::{Event, Kind};

/// Test double for the browser's `RegExp(pattern, "i")`: the `regex` crate,
/// case-insensitive; every invalid pattern gives the message "Unterminated group".
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

/// The site the goal tests convert for.
pub(crate) const SITE: &str = "demo-shop";
/// The visit the goal tests convert in, unless a test names another.
pub(crate) const VISIT: &str = "visit-1";

/// The goals of the JSON list `j`, which must parse without an error.
pub(crate) fn goals(j: &str) -> Goals {
    let (g, errs) = parse_goals(&json(j), &Re);
    assert!(errs.is_empty(), "{errs:?}");
    g
}

/// A triggering event of `kind` at `https://shop.example/x`, ID `trigger-1`.
pub(crate) fn trigger(kind: Kind) -> Event {
    let mut e = Event::new("trigger-1".into(), kind, 1_700_000_000_000);
    e.url = Some("https://shop.example/x".into());
    e
}

/// New event IDs: `new-1`, `new-2`, …
pub(crate) fn ids() -> impl FnMut() -> String {
    let mut n = 0;
    move || {
        n += 1;
        format!("new-{}", n)
    }
}

/// The goal IDs that `fact` converts, with a fresh memory.
pub(crate) fn fired(g: &Goals, fact: &Fact) -> Vec<String> {
    let mut mem = Memory::new();
    let t = trigger(Kind::Event);
    g.evaluate(fact, &t, SITE, VISIT, &mut mem, &mut ids()).into_iter().map(|e| e.goal.unwrap()).collect()
}
