//! The goal memory: what the goals already counted, and its stored text.

use crate::prelude::*;
use goaltag_wire::is_goal_id;

#[cfg(test)]
mod tests;

/// What was already counted: per visit (reset when the visit ID changes), per
/// user, and per transaction, the latest 100 of each. It does not know where
/// it lives: [`Tracker`] persists [`Memory::serialise`] with
/// `analytics_storage` granted and otherwise keeps it for the page only, so
/// `once_per_user` falls back to once per page.
///
/// [`Tracker`]: crate::core::tracker::Tracker
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The visit `visit_goals` belong to.
    pub(super) visit: String,
    /// Goals counted once per visit that converted in this visit.
    pub(super) visit_goals: Vec<String>,
    /// Goals counted once per user that converted.
    pub(super) user_goals: Vec<String>,
    /// Leading 12 hex digits of the conversion IDs of transactions seen,
    /// oldest first.
    pub(super) transactions: Vec<String>,
}

/// Bounds on what [`Memory`] keeps, so its stored text stays short. Past the
/// transaction bound the oldest could convert again, but with its
/// deterministic ID the collector still stores it once.
const MAX_REMEMBERED: usize = 100;

impl Memory {
    /// An empty memory: nothing counted yet.
    pub fn new() -> Self {
        Memory::default()
    }

    /// Starts remembering for `visit_id`: a new visit forgets the goals
    /// counted once per visit.
    pub(super) fn enter_visit(&mut self, visit_id: &str) {
        if self.visit != visit_id {
            self.visit.clear();
            self.visit.push_str(visit_id);
            self.visit_goals.clear();
        }
    }

    /// The visit `old` continues as `new` (it joined a stored visit): what
    /// it counted once per visit stays counted.
    pub fn rename_visit(&mut self, old: &str, new: &str) {
        if self.visit == old {
            self.visit.clear();
            self.visit.push_str(new);
        }
    }

    /// Adds what `stored` counted (the memory earlier pages left, read once
    /// storage may be used) to what this page counted meanwhile: per user
    /// and per transaction always, per visit when it is the same visit (or
    /// this page counted in none yet). Stored entries stay the older ones.
    pub fn merge(&mut self, stored: Memory) {
        fn join(list: &mut Vec<String>, older: Vec<String>) {
            for key in core::mem::replace(list, older) {
                if !list.contains(&key) {
                    remember(list, &key);
                }
            }
        }
        if self.visit.is_empty() || self.visit == stored.visit {
            self.visit = stored.visit;
            join(&mut self.visit_goals, stored.visit_goals);
        }
        join(&mut self.user_goals, stored.user_goals);
        join(&mut self.transactions, stored.transactions);
    }

    /// Short text for storage: `1|<visit id>|<goal>,…|<goal>,…|<txn key>,…`
    /// (goal IDs cannot hold `|` or `,`: see [`is_goal_id`]).
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
            let mut out = Vec::new();
            if s.is_empty() {
                return Some(out);
            }
            for x in s.split(',') {
                out.push(ok(x).then(|| x.to_string())?);
            }
            Some(out)
        }
        let parse = || {
            let mut it = s.split('|');
            if it.next()? != "1" {
                return None;
            }
            let visit = it.next()?.to_string();
            let visit_goals = list(it.next()?, is_goal_id)?;
            let user_goals = list(it.next()?, is_goal_id)?;
            let transactions = list(it.next()?, |t| t.len() == 12 && crate::core::text::all_bytes(t, |c| c.is_ascii_hexdigit()))?;
            it.next().is_none().then_some(Memory { visit, visit_goals, user_goals, transactions })
        };
        parse().unwrap_or_default()
    }
}

/// Appends `key` to `list`, forgetting the oldest past [`MAX_REMEMBERED`].
pub(super) fn remember(list: &mut Vec<String>, key: &str) {
    if list.len() >= MAX_REMEMBERED {
        list.remove(0);
    }
    list.push(key.to_string());
}

/// 48 bits of a conversion ID: enough to tell a browser's transactions apart.
pub(super) fn txn_key(uuid: &str) -> String {
    let mut k = String::with_capacity(12);
    k.push_str(uuid.get(..8).unwrap_or(""));
    k.push_str(uuid.get(9..13).unwrap_or(""));
    k
}
