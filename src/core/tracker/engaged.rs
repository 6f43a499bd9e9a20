//! Engaged time: how long the visit's pages were visible, which `duration`
//! goals convert on. It accrues only while the page is in view.

use super::{Host, Tracker};
use crate::core::consent::Route;
use crate::core::goals::{Fact, Goals};
use crate::core::id::uuid_v4;

/// Visible time of the visit, as far as this page has seen it.
#[derive(Debug, Default)]
pub(super) struct Engaged {
    /// The page is visible since then (engaged time is accruing).
    pub(super) since: Option<u64>,
    /// Engaged ms of the visit at `since`.
    pub(super) ms: u64,
}

impl Engaged {
    /// When the next `duration` goal is reached, if the page stays visible.
    pub(super) fn next_duration(&self, goals: &Goals) -> Option<u64> {
        self.since.zip(goals.next_duration(self.ms)).map(|(since, at)| since + (at - self.ms))
    }
}

impl Tracker {
    /// The page became visible or hidden: engaged time accrues only while
    /// visible. Back in view, what the hide beaconed is sent again from here.
    pub fn visibility(&mut self, host: &mut dyn Host, visible: bool) {
        let now = host.now();
        self.accrue(host, now);
        self.engaged.since = visible.then_some(now);
        if visible {
            self.outbox.shown();
            if self.outbox.dirty() {
                self.changed(now);
            }
        }
    }

    /// Adds the visible time since the last call to the visit, and converts
    /// `duration` goals it reaches.
    pub(super) fn accrue(&mut self, host: &mut dyn Host, now: u64) {
        let Some(since) = self.engaged.since else {
            return;
        };
        if now <= since {
            return;
        }
        self.engaged.since = Some(now);
        let mut new_id = || uuid_v4(host.random());
        let (v, _) = self.visits.engaged(now - since, now, &mut new_id);
        let (engaged, visit_id) = (v.engaged_ms, v.id.clone());
        self.engaged.ms = engaged;
        if self.goals.next_duration(0).is_none() || !matches!(self.consent.route(), Route::Send { .. } | Route::Hold) {
            return;
        }
        let Some(mut trigger) = self.last_view.clone() else {
            return;
        };
        trigger.ts = now;
        let site = self.config.site.clone().unwrap_or_default();
        let found = self.goals.evaluate(&Fact::Engaged { ms: engaged }, &trigger, &site, &visit_id, &mut self.memory, &mut new_id);
        self.convert(found, now);
    }
}
