//! Consent given after landing: the page view that consent kept back,
//! recorded once at the grant with the campaign of the URL the page loaded
//! with, and `url_passthrough`, which carries that campaign to the next
//! same-site page while ad storage is not granted (see README "Consent").

use super::{Host, Page, Seen, Tracker};
use crate::core::attribution::{self, Campaign};
use crate::core::config::Config;
use crate::core::consent::Purpose;
use crate::core::id::uuid_v4;
use crate::core::passthrough;
use crate::core::url;
use crate::prelude::*;
use goaltag_wire::{Event, Kind};

/// The URL and referrer of a page load, as the browser gave them (redacted
/// when observed).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Landing {
    pub(super) url: String,
    pub(super) referrer: String,
}

/// The current page's view, kept in memory only, when consent kept it from
/// being recorded: it is recorded once, at the moment consent is granted on
/// this page (see [`Tracker::observe`]). Never stored, never sent as it is.
#[derive(Debug, Clone)]
pub(super) struct Unrecorded {
    /// The page of the last page view seen (an SPA navigation replaces it).
    pub(super) view: Page,
    /// The page load's URL and referrer, when the load itself went unrecorded:
    /// the campaign touch is taken from it at the grant.
    pub(super) landing: Option<Landing>,
    /// The view is also among the held events (consent unknown), so
    /// releasing them records it.
    pub(super) held: bool,
}

impl Tracker {
    /// Consent now lets events through: the page view it kept back is
    /// recorded now, at the moment of the grant, with the page's URL,
    /// referrer and title, and (when the page load itself was kept back) the
    /// campaign touch of the URL the page loaded with, exactly as a page load
    /// under consent would have taken it. Held page views were just released
    /// and need nothing more.
    pub(super) fn record_unrecorded(&mut self, host: &mut dyn Host, now: u64) {
        let Some(u) = self.unrecorded.take() else {
            return;
        };
        if u.held {
            return;
        }
        let mut e = Event::new(uuid_v4(host.random()), Kind::PageView, now);
        e.url = Some(u.view.url);
        e.referrer = Some(u.view.referrer);
        e.title = Some(u.view.title);
        self.observe(host, e, Seen::Page { landing: u.landing });
    }

    /// Called when held events are released, once storage was read: the
    /// page's view was held because consent was unknown when it loaded.
    /// When the visit began with that view (the visit begun in memory joined
    /// no stored one) and analytics storage is allowed, the tag knows the
    /// visit is new, and the view takes its touch as it would have under
    /// consent: from a same-site referrer when its own URL named no source.
    pub(super) fn land_held(&mut self, now: u64) {
        let Some(Unrecorded { landing: Some(l), held: true, .. }) = &self.unrecorded else {
            return;
        };
        let started = self.visits.current(now).map(|v| v.started);
        let Some(view) = self.held.iter_mut().find(|e| e.kind == Kind::PageView) else {
            return;
        };
        if view.attribution.is_none() && started == Some(view.ts) && self.consent.may_store(Purpose::Analytics) {
            land(&self.config, &mut self.campaign, view, l, true);
        }
    }

    /// Whether clicks and submits should carry the landing's campaign
    /// parameters (`url_passthrough`): configured, the page landed with some,
    /// and ad storage is not granted (denied, or not answered yet). Never
    /// after an opt-out. The shell asks before it reads the link or form.
    pub fn passthrough_active(&self) -> bool {
        self.config.url_passthrough
            && !self.consent.may_store(Purpose::Ads)
            && !self.consent.env().opted_out
            && !passthrough::params(&self.loaded_url, &self.config.click_ids).is_empty()
    }

    /// The campaign parameters to carry: the redacted landing URL's.
    fn passthrough_landing(&self) -> String {
        url::redact(&self.loaded_url, &self.config.redact_params)
    }

    /// `url_passthrough` for the link or form `followed` from `page`: what
    /// the shell changes on it, or None to leave it alone (see
    /// [`passthrough::plan`]); `has` says whether a GET form has a field.
    pub fn passthrough(&self, followed: passthrough::Followed, page: &str, has: impl Fn(&str) -> bool) -> Option<passthrough::Decoration> {
        if !self.passthrough_active() {
            return None;
        }
        let landing = self.passthrough_landing();
        passthrough::plan(followed, page, &passthrough::params(&landing, &self.config.click_ids), has)
    }
}

/// The touch of the page load `l` (see [`attribution::capture`], given the
/// redacted URL and referrer): on its view `e` when it names a source, and
/// the campaign's from the view's time.
pub(super) fn land(config: &Config, campaign: &mut Campaign, e: &mut Event, l: &Landing, new_visit: bool) {
    let redact = &config.redact_params;
    let found = attribution::capture(&url::redact(&l.url, redact), &url::redact(&l.referrer, redact), &config.click_ids, new_visit);
    if found.landing_url.is_some() {
        e.attribution = Some(found.clone());
    }
    campaign.land(found, e.ts);
}

#[cfg(test)]
mod tests;
