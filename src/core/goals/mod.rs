//! Goal rules: written once in the config, evaluated in the browser, so the
//! collector receives conversions already decided, each with a stable ID.
//!
//! A goal with any error is reported and disabled (counting it wrongly would be
//! worse than not counting it); the other goals keep working. Regexes are
//! compiled by the shell's `RegExp` through [`Patterns`] (a Rust regex engine
//! would cost more wasm than the rest of the tag), and CSS selectors are run by
//! the shell's `Element.closest`: see [`Goals::click_selectors`].

use crate::core::name_id::transaction_event_id;
use crate::core::url;
use crate::prelude::*;
use goaltag_wire::{Event, Kind};

mod memory;
mod parse;
#[cfg(test)]
mod tests;

pub use memory::Memory;
use memory::{remember, txn_key};
pub use parse::parse_goals;

/// Compiles regular expressions. Must compile them case-insensitively (the
/// browser shell: `new RegExp(pattern, "i")`); the error is the engine's message.
pub trait Patterns {
    /// The compiled `pattern`, or the engine's message saying why it is not
    /// a valid regular expression.
    fn compile(&self, pattern: &str) -> Result<Box<dyn Pattern>, String>;
}

/// A compiled regular expression (see [`Patterns`]).
pub trait Pattern {
    /// Whether the expression matches anywhere in `text` (it is not anchored
    /// unless it says so with `^` or `$`).
    fn is_match(&self, text: &str) -> bool;
}

/// Something that happened, as the goals see it. [`Tracker`] passes each fact
/// with the event it belongs to as the trigger: the page view, custom event,
/// click or submit it records; for [`Fact::Engaged`], the last page view,
/// stamped with the current time.
///
/// [`Tracker`]: crate::core::tracker::Tracker
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact<'a> {
    /// A page view (also SPA navigations).
    Page {
        /// The page's URL (redacted, as the event records it).
        url: &'a str,
    },
    /// A custom event.
    Event {
        /// Its category, if it has one.
        category: Option<&'a str>,
        /// Its action, if it has one.
        action: Option<&'a str>,
        /// Its label, if it has one.
        label: Option<&'a str>,
        /// Its value, if it has one.
        value: Option<f64>,
    },
    /// A click.
    Click {
        /// Indices into [`Goals::click_selectors`] that the target or an
        /// ancestor matched (`Element.closest`).
        matched: &'a [usize],
    },
    /// A form submit.
    Submit {
        /// Indices into [`Goals::form_selectors`] the form matched.
        matched: &'a [usize],
    },
    /// Engaged (visible) time in the visit so far.
    Engaged {
        /// Engaged milliseconds, summed across the visit's pages.
        ms: u64,
    },
    /// Pages seen in the visit so far.
    Pages {
        /// How many pages, this one included.
        count: u32,
    },
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
            (When::Event { category, action, label, value }, Fact::Event { category: c, action: a, label: l, value: v }) => {
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
            (When::Click(_, i), Fact::Click { matched }) | (When::Submit(_, i), Fact::Submit { matched }) => matched.contains(i),
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

impl Goal {
    /// Whether it converts at most once per visit: `once_per_visit`, and
    /// `duration` and `pages_per_visit` goals whatever their count.
    fn per_visit(&self) -> bool {
        self.count == Count::OncePerVisit || (self.count == Count::All && matches!(self.when, When::DurationMs(_) | When::Pages(_)))
    }

    /// Whether `mem` says it may not convert again: counted in `mem`'s
    /// visit when it converts once per visit, or at all when once per user.
    fn spent(&self, mem: &Memory) -> bool {
        (self.per_visit() && mem.visit_goals.contains(&self.id)) || (self.count == Count::OncePerUser && mem.user_goals.contains(&self.id))
    }
}

/// The enabled goals of the config.
#[derive(Default)]
pub struct Goals {
    goals: Vec<Goal>,
    click: Vec<String>,
    forms: Vec<String>,
}

impl Goals {
    /// Whether no goal is enabled (none configured, or all had errors).
    pub fn is_empty(&self) -> bool {
        self.goals.is_empty()
    }

    /// How many goals are enabled.
    pub fn len(&self) -> usize {
        self.goals.len()
    }

    /// The distinct CSS selectors of `click` goals. On a click the browser
    /// shell tests each with `target.closest(sel)` and hands the matching
    /// indices to the tracker, which passes them in [`Fact::Click`]. A
    /// selector that `closest` rejects is the site owner's to fix: the shell
    /// reports it once.
    pub fn click_selectors(&self) -> &[String] {
        &self.click
    }

    /// The distinct CSS selectors of `form_submit` goals, for [`Fact::Submit`]
    /// (`form.closest(sel)`).
    pub fn form_selectors(&self) -> &[String] {
        &self.forms
    }

    /// The smallest `duration` threshold above `engaged_ms`, in engaged ms:
    /// when [`Tracker`] should next pass [`Fact::Engaged`] (it wakes then:
    /// [`Tracker::wake_at`]). None when no duration goal is still ahead.
    ///
    /// [`Tracker`]: crate::core::tracker::Tracker
    /// [`Tracker::wake_at`]: crate::core::tracker::Tracker::wake_at
    pub fn next_duration(&self, engaged_ms: u64) -> Option<u64> {
        self.goals
            .iter()
            .filter_map(|g| match g.when {
                When::DurationMs(ms) if ms > engaged_ms => Some(ms),
                _ => None,
            })
            .min()
    }

    /// Whether conversion `e` repeats one `mem` counted: `e` is a
    /// transaction `mem` saw, or its goal converts once per user and `mem`
    /// counted it, or once per visit and `mem` counted it in `e`'s visit.
    /// Such a conversion, held on a page until consent let the tag read
    /// what earlier pages counted, is not sent.
    pub fn counted(&self, e: &Event, mem: &Memory) -> bool {
        if e.kind != Kind::Conversion {
            return false;
        }
        if e.transaction_id.is_some() && mem.transactions.contains(&txn_key(&e.id)) {
            return true;
        }
        let Some(g) = self.goals.iter().find(|g| e.goal.as_deref() == Some(g.id.as_str())) else {
            return false;
        };
        // `mem`'s visit goals are its own visit's: they say nothing of another.
        g.spent(mem) && (!g.per_visit() || e.visit_id.as_deref() == Some(mem.visit.as_str()))
    }

    /// The conversions `fact` causes. `trigger` is the event the fact belongs
    /// to: each conversion takes its `ts` and `url`, names it in `trigger`,
    /// takes `value`, `currency` and `transaction_id` from it as the goal
    /// says, and copies its `client_id`, `visit_id`, `consent` and `gpc`;
    /// the caller attaches attribution. A conversion with a transaction ID gets
    /// the ID `uuid_v5(GOALTAG_NS, "{site}\n{goal}\n{transaction_id}")` and
    /// converts once per transaction while `mem` remembers it (see
    /// [`Memory`]); the collector stores a repeat once, by that ID. Otherwise
    /// its ID is `new_id()`. `duration` and `pages_per_visit` goals convert at
    /// most once per visit; `visit_id` is the visit `fact` happened in.
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
            if g.spent(mem) {
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
            if g.per_visit() {
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
