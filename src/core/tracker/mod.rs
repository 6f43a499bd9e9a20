//! The tracker: the one object the browser shell drives. It turns commands and
//! observed page facts into wire events and conversions, keeps the visit,
//! campaign and goal memory, and hands batches to send back to the shell.
//! Everything the shell needs from the browser comes in through [`Host`].
//!
//! One concept per file: the event pipeline is here (observe, record,
//! convert, commands and consent effects); [`host`] is what it reads from the
//! browser; [`persistence`] is everything stored (one gate, [`Stored`]) and the
//! cross-tab outbox leases; [`engaged`] is visible time for `duration` goals;
//! [`landing`] is the page that consent kept back and `url_passthrough`.

mod engaged;
mod host;
mod landing;
mod persistence;
#[cfg(test)]
mod tests;

use engaged::Engaged;
pub use host::{At, Host, Page};
use landing::{Landing, Unrecorded};
use persistence::{remove_keys, Stored};
pub use persistence::{CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, LEASE_MS, OPT_OUT_KEY, OUTBOX_PREFIX, SAVE_DELAY_MS, STORED, VISIT_KEY};

use crate::core::attribution::{self, Campaign};
use crate::core::capture;
use crate::core::command::{Command, EventParams, PageOverrides};
use crate::core::config::Config;
use crate::core::consent::{Consent, Effect, Env, Held, Partial, Purpose, Route};
use crate::core::error::ConfigError;
use crate::core::goals::{parse_goals, Fact, Goals, Memory};
use crate::core::id::uuid_v4;
use crate::core::outbox::{Item, Outbox, Outcome, Policy, Send, KEEPALIVE_MAX};
use crate::core::url;
use crate::core::val::Val;
use crate::core::visit::Visits;
use crate::prelude::*;
use goaltag_wire::{Element, Event, Form, Kind};

/// A page view's page: its URL, referrer and title.
fn page_of(e: &Event) -> Page {
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    Page { url: text(&e.url), referrer: text(&e.referrer), title: text(&e.title) }
}

/// An event's wire text as it may leave: while `ad_storage` is not granted
/// (`!ad_data`), without the click IDs the tag knows (built in and the
/// config's `click_ids`) in any of its URLs ([`url::strip_click_ids`]). The
/// one gate every queued event's text passes, at recording and at narrowing.
fn without_click_ids(json: String, ad_data: bool, click_ids: &[String]) -> String {
    if ad_data {
        json
    } else {
        url::strip_click_ids(&json, |n| attribution::is_click_id(n, click_ids))
    }
}

/// What an observed event is, for the goals.
enum Seen<'a> {
    /// `landing`: the URL and referrer a real page load (not an SPA
    /// navigation) came with, whose campaign parameters and referrer mean a
    /// new touch; usually the page view's own.
    Page { landing: Option<Landing> },
    /// A custom event (`goaltag('event', …)`).
    Event,
    /// A click; the indices of the click goals' selectors it matched.
    Click(&'a [usize]),
    /// A form submit; the indices of the form goals' selectors it matched.
    Submit(&'a [usize]),
}

/// The one object the browser shell drives (see the module docs).
pub struct Tracker {
    /// The configuration in force.
    pub config: Config,
    outbox: Outbox,
    /// URL of the last page view, so an SPA that reports the same path twice in
    /// a row counts it once, and so the next virtual page has a referrer.
    last_page: Option<String>,
    /// Consent decides, for every event recorded, whether it is held in
    /// memory, queued for sending, or dropped, and whether storage may be
    /// touched: the one gate for sending and storing.
    consent: Consent,
    /// Events recorded while consent is unknown (memory only, bounded).
    held: Held<Event>,
    /// Console warnings for the shell to print.
    warnings: Vec<String>,
    /// The compiled goals.
    goals: Goals,
    /// What the goals already counted (per visit, per user, per transaction).
    memory: Memory,
    /// The current visit.
    visits: Visits,
    /// The last campaign touch.
    campaign: Campaign,
    /// The client ID, what was read from storage, when the next write is due,
    /// and this page's outbox key and lease.
    stored: Stored,
    /// Visible time, for `duration` goals.
    engaged: Engaged,
    /// The last page view, the trigger of `duration` conversions.
    last_view: Option<Event>,
    /// The page view consent has not let through yet, if any.
    unrecorded: Option<Unrecorded>,
    /// The URL this page loaded with: the campaign parameters `url_passthrough` carries.
    loaded_url: String,
    /// The page load's view, due and not recorded yet (see [`Tracker::loading`]).
    load: Option<Option<At>>,
    /// `goaltag('user_data', …)`, hashed: this page's conversions carry it.
    /// Memory only; kept while `ad_user_data` is granted or consent is
    /// still unknown (like held events), dropped when it is not.
    user_data: Option<goaltag_wire::UserData>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    /// A tracker with the default configuration, consent unknown.
    pub fn new() -> Self {
        let config = Config::default();
        Tracker {
            consent: Consent::new(config.mode, Env::default(), 0),
            outbox: Outbox::new(String::new(), Policy::default()),
            last_page: None,
            held: Held::new(),
            warnings: Vec::new(),
            goals: Goals::default(),
            memory: Memory::new(),
            visits: Visits::new(config.visit_timeout_ms),
            campaign: Campaign::new(config.attribution_window_days),
            stored: Stored::default(),
            engaged: Engaged::default(),
            last_view: None,
            unrecorded: None,
            loaded_url: String::new(),
            load: None,
            user_data: None,
            config,
        }
    }

    /// Notes the URL the page loaded with (for `url_passthrough`) and starts
    /// the consent clock (the "no consent set" warning comes 10 s
    /// after this) with what the browser signals (GPC, DNT) and whether the
    /// visitor opted out on an earlier page (the marker, read whatever the
    /// consent: see [`OPT_OUT_KEY`]).
    pub fn begin(&mut self, host: &mut dyn Host, env: Env) {
        self.loaded_url = host.url();
        let opted_out = host.load(OPT_OUT_KEY).is_some();
        let env = Env { honor_gpc: self.config.honor_gpc, honor_dnt: self.config.honor_dnt, opted_out, ..env };
        self.consent = Consent::new(self.config.mode, env, host.now());
        if opted_out {
            // Whatever another tab or an older version left behind goes too.
            self.forget_stored(host);
        }
    }

    /// Start-up, before the calls queued on the stub run: the page load's
    /// view is due, at `loaded` when given (when the tag's script ran, and
    /// the page's URL then: a router may have rewritten the URL, click IDs
    /// and all, before the wasm was ready), else when it is recorded. An
    /// event among the queued calls records it first, so that a conversion
    /// there is credited to the campaign the page loaded with; otherwise
    /// [`Tracker::start`] does.
    pub fn loading(&mut self, loaded: Option<At>) {
        self.load = Some(loaded);
    }

    /// The tag has started (configuration and the queued calls applied):
    /// records the page load's view (see [`Tracker::loading`]) unless an
    /// event recorded it already or `auto_page_view` is off. Returns what
    /// keeps the tag from working at all, if anything (then nothing is
    /// recorded), for the console.
    pub fn start(&mut self, host: &mut dyn Host) -> Option<ConfigError> {
        self.view_of_load(host);
        self.config.missing()
    }

    /// The page load's view, if it is due, `auto_page_view` is on and the
    /// configuration names a site and a collector.
    fn view_of_load(&mut self, host: &mut dyn Host) {
        if self.config.missing().is_some() {
            return;
        }
        if let Some(loaded) = self.load.take().filter(|_| self.config.auto_page_view) {
            let (ms, url) = loaded.map_or_else(|| (host.now(), None), |at| (at.ms, Some(at.url)));
            self.view(host, ms, PageOverrides { url, title: None }, false);
        }
    }

    /// The page came back from the back/forward cache (`pageshow` with
    /// `persisted`): no script ran again, but the visitor is on the page anew,
    /// so it is a new page view, like a load.
    pub fn restored(&mut self, host: &mut dyn Host) {
        self.page_view(host, PageOverrides::default(), false);
    }

    /// The page is hidden (`leaving`: unloading, `pagehide`): every
    /// unacknowledged event goes to `beacon` (the browser's sendBeacon, with a
    /// keepalive fetch behind it when the second argument says the body fits
    /// the page's keepalive budget, [`KEEPALIVE_MAX`]), as bodies the browser
    /// accepts; a body it refuses (false) returns its events to the normal path. Then storage is
    /// written once, at once (the coalesced write cannot wait for its timer
    /// any more), recording the beacon marks; a page that is leaving releases
    /// its queue for the next page to adopt at once, and a hide after that
    /// (browsers fire `visibilitychange` after `pagehide` when a page is
    /// left) keeps it released.
    pub fn hide(&mut self, host: &mut dyn Host, leaving: bool, beacon: &mut dyn FnMut(&str, bool) -> bool) {
        let now = host.now();
        for (body, ids) in self.beacon_bodies(now) {
            if !beacon(&body, body.len() <= KEEPALIVE_MAX) {
                self.beacon_refused(&ids);
            }
        }
        if leaving || (self.stored.loaded.0 && self.stored.lease_at == 0) {
            self.release(host);
        } else {
            self.persist(host);
        }
    }

    /// `goaltag('opt_out')`: stores the marker, removes everything else the
    /// tag stored (whatever the consent: a denied state can still find keys of
    /// an earlier visit), and drops what is held or queued, so nothing more
    /// leaves this browser for the site, on this page or later ones.
    pub fn opt_out(&mut self, host: &mut dyn Host) {
        host.save(OPT_OUT_KEY, "1");
        let fx = self.consent.opt_out();
        self.apply(host, fx);
        self.forget_stored(host);
        self.held.clear();
        self.outbox.clear();
    }

    /// `goaltag('opt_in')`: removes the marker; consent is again what the
    /// defaults and the banner say (held events wait for it as usual).
    pub fn opt_in(&mut self, host: &mut dyn Host) {
        host.remove(OPT_OUT_KEY);
        let fx = self.consent.opt_in(host.now());
        self.apply(host, fx);
    }

    /// `data-consent` and `goaltag('consent', 'default', …)`.
    pub fn consent_default(&mut self, host: &mut dyn Host, p: Partial, wait_ms: Option<u64>) {
        let fx = self.consent.set_default(p, wait_ms, host.now());
        self.apply(host, fx);
    }

    /// `goaltag('consent', 'update', …)`: the visitor's choice.
    pub fn consent_update(&mut self, host: &mut dyn Host, p: Partial) {
        let fx = self.consent.update(p, host.now());
        self.apply(host, fx);
    }

    fn apply(&mut self, host: &mut dyn Host, effects: Vec<Effect>) {
        let now = host.now();
        for fx in effects {
            match fx {
                Effect::ReleaseHeld => {
                    self.sync(host);
                    self.land_held(now);
                    self.outbox.overflowed(self.held.take_dropped());
                    for e in self.held.drain() {
                        self.record(e, now);
                    }
                    self.record_unrecorded(host, now);
                }
                Effect::DiscardHeld => {
                    self.held.clear();
                    if let Some(u) = &mut self.unrecorded {
                        u.held = false;
                    }
                    // What the discarded events did in memory goes with them
                    // (storage was never read while they were held): the
                    // visit they began, and the goals and transactions they
                    // counted, which a later grant on this page would
                    // otherwise take for earlier ones.
                    if !self.stored.loaded.0 {
                        self.visits.end();
                        self.memory = Memory::default();
                    }
                }
                Effect::Narrowed => match self.consent.route() {
                    Route::Drop => self.outbox.withdraw(),
                    Route::Send { .. } => self.narrow_queue(),
                    Route::Hold => {}
                },
                Effect::PurgeStorage { analytics, ads } => {
                    remove_keys(host, |p| (analytics && p == Purpose::Analytics) || (ads && p == Purpose::Ads));
                    self.stored.written = Default::default();
                    if analytics {
                        self.stored.client_id = None;
                        self.stored.loaded.0 = false;
                    }
                    if ads {
                        self.stored.loaded.1 = false;
                    }
                }
                Effect::WarnNoConsent => self.warnings.push(crate::core::messages::line::NO_CONSENT.into()),
            }
        }
        if !self.may_keep_user_data() {
            self.user_data = None;
        }
    }

    /// Whether `user_data` may be kept: `ad_user_data` granted, or consent
    /// not decided yet (then it waits in memory like held events, and goes
    /// the moment the decision lacks `ad_user_data`).
    fn may_keep_user_data(&self) -> bool {
        self.consent.route() == Route::Hold || self.consent.snapshot().allows(goaltag_wire::Identifier::UserData)
    }

    /// `goaltag('user_data', {…})`: hashed at once for each ad platform
    /// ([`crate::core::user_data`]), the raw values dropped here; kept in
    /// memory for the conversions this page records from now on (a later
    /// call replaces it). Without `ad_user_data` the call is accepted and
    /// nothing is kept.
    pub fn user_data(&mut self, host: &mut dyn Host, input: crate::core::user_data::Input) -> Vec<ConfigError> {
        if !self.may_keep_user_data() {
            return Vec::new();
        }
        let fold = |s: &str, a: bool| host.fold(s, a);
        let (u, errors) = crate::core::user_data::build(&input, &fold, self.config.phone_country_code.as_deref());
        self.user_data = (!u.is_empty()).then_some(u);
        errors
    }

    /// Rewrites every queued event as if recorded now (see [`Effect::Narrowed`]):
    /// without the identifiers and click IDs the consent in force no longer
    /// allows, click IDs in its URLs included, with the new consent snapshot.
    fn narrow_queue(&mut self) {
        if let Route::Send { ad_data, .. } = self.consent.route() {
            let snapshot = self.consent.snapshot();
            let click_ids = &self.config.click_ids;
            self.outbox.rewrite(|j| goaltag_wire::json::narrow(j, &snapshot).map(|n| without_click_ids(n, ad_data, click_ids)));
        }
    }

    /// `online` / `offline`: sending pauses and resumes (with a fresh jittered delay).
    pub fn set_online(&mut self, online: bool, now: u64, rand: u32) {
        self.outbox.set_online(online, now, rand);
    }

    /// Runs what is due by the clock (consent waits and warnings, engaged
    /// time, other pages' leases run out, the coalesced storage write);
    /// returns console warnings to print.
    pub fn tick(&mut self, host: &mut dyn Host) -> Vec<String> {
        let now = host.now();
        let fx = self.consent.tick(now);
        self.apply(host, fx);
        self.accrue(host, now);
        if self.watch_due().is_some_and(|t| t <= now) {
            self.recheck(host, now);
        }
        if self.stored.save_at.is_some_and(|t| t <= now) || self.lease_due().is_some_and(|t| t <= now) {
            self.persist(host);
        }
        core::mem::take(&mut self.warnings)
    }

    /// True once a site and a collector are configured; until then events are
    /// kept, not sent.
    pub fn ready(&self) -> bool {
        self.config.missing().is_none()
    }

    /// Merges configuration; `goals` are compiled with the host's regex engine.
    pub fn configure(&mut self, v: &Val, host: &mut dyn Host) -> Vec<ConfigError> {
        let mut errors = self.config.apply(v);
        if let Some(g) = v.get("goals").filter(|g| !g.is_null()) {
            let (goals, errs) = parse_goals(g, &*host);
            self.goals = goals;
            errors.extend(errs);
        }
        if let Some(d) = v.get("delivery").filter(|d| !d.is_null()) {
            let mut policy = self.outbox.policy().clone();
            errors.extend(policy.apply(d));
            self.outbox.set_policy(policy);
        }
        if let Some(site) = &self.config.site {
            self.outbox.set_site(site.clone());
        }
        self.visits.timeout_ms = self.config.visit_timeout_ms;
        self.campaign.window_days = self.config.attribution_window_days;
        let c = &self.config;
        let env = self.consent.env();
        let mut fx = Vec::new();
        if self.consent.mode() != c.mode {
            fx.extend(self.consent.set_mode(c.mode));
        }
        if (env.honor_gpc, env.honor_dnt) != (c.honor_gpc, c.honor_dnt) {
            fx.extend(self.consent.set_env(Env { honor_gpc: c.honor_gpc, honor_dnt: c.honor_dnt, ..env }));
        }
        self.apply(host, fx);
        errors
    }

    /// The CSS selectors of `click` goals, for the shell to test with
    /// `Element.closest` on each click (see [`Goals::click_selectors`]).
    pub fn click_selectors(&self) -> &[String] {
        self.goals.click_selectors()
    }

    /// The CSS selectors of `form_submit` goals.
    pub fn form_selectors(&self) -> &[String] {
        self.goals.form_selectors()
    }

    /// Runs one parsed command.
    pub fn handle(&mut self, cmd: Command, host: &mut dyn Host) -> Vec<ConfigError> {
        match cmd {
            Command::Config(v) => return self.configure(&v, host),
            Command::PageView(o) => self.page_view(host, o, false),
            Command::Event(p) => {
                // The load's view first, if it is due (a call queued on the stub).
                self.view_of_load(host);
                self.event(host, p)
            }
            Command::Flush => self.handle_flush(),
            Command::Consent { update: true, partial, .. } => self.consent_update(host, partial),
            Command::Consent { update: false, partial, wait_for_update_ms } => self.consent_default(host, partial, wait_for_update_ms),
            Command::OptOut => self.opt_out(host),
            Command::OptIn => self.opt_in(host),
            Command::UserData(input) => return self.user_data(host, input),
            // Adapters listen to the page; the shell installs them and feeds
            // their answers back as consent updates.
            Command::ConsentSource(_) => {}
        }
        Vec::new()
    }

    /// Records a page view. `navigation` is true for SPA history changes, where
    /// the same URL twice in a row is one page view, not two.
    pub fn page_view(&mut self, host: &mut dyn Host, o: PageOverrides, navigation: bool) {
        let now = host.now();
        self.view(host, now, o, navigation);
    }

    /// An SPA navigation to `at.url`, recorded after the fact: its time and
    /// URL are those of the navigation; the title is `title` (what the page
    /// had when it was left again) or else the page's by now. A page view
    /// only in SPA mode (`spa`), and only when the URL changed (with
    /// `hash_routing`, the fragment counts).
    pub fn navigated(&mut self, host: &mut dyn Host, at: At, title: Option<String>) {
        if self.config.spa {
            self.view(host, at.ms, PageOverrides { url: Some(at.url), title }, true);
        }
    }

    fn view(&mut self, host: &mut dyn Host, ms: u64, o: PageOverrides, navigation: bool) {
        let page = host.page();
        let url = o.url.unwrap_or(page.url);
        if navigation && self.last_page.as_deref().map(|p| self.same_page(p, &url)) == Some(true) {
            return;
        }
        let referrer = match (&self.last_page, navigation) {
            (Some(prev), true) => prev.clone(),
            _ => page.referrer,
        };
        let landing = (!navigation).then(|| Landing { url: url.clone(), referrer: referrer.clone() });
        let mut e = Event::new(uuid_v4(host.random()), Kind::PageView, ms);
        e.url = Some(url.clone());
        e.referrer = Some(referrer);
        e.title = Some(o.title.unwrap_or(page.title));
        self.last_page = Some(url);
        self.observe(host, e, Seen::Page { landing });
    }

    /// Whether two URLs are one page: the fragment counts only for hash-routed sites.
    fn same_page(&self, a: &str, b: &str) -> bool {
        let strip = |u: &'_ str| -> String {
            if self.config.hash_routing {
                u.to_string()
            } else {
                u.split('#').next().unwrap_or(u).to_string()
            }
        };
        strip(a) == strip(b)
    }

    /// An auto-captured click on `el` (already described by the shell) at
    /// `at`; `matched`: indices of [`Tracker::click_selectors`] the target matched.
    pub fn click(&mut self, host: &mut dyn Host, at: At, mut el: Element, matched: &[usize]) {
        el.outbound = el.href.as_deref().and_then(|h| capture::is_outbound(h, &at.url));
        let mut e = Event::new(uuid_v4(host.random()), Kind::Click, at.ms);
        e.url = Some(at.url);
        e.element = Some(el);
        self.observe(host, e, Seen::Click(matched));
    }

    /// An auto-captured form submit at `at`: the form's identity and field count only.
    pub fn submit(&mut self, host: &mut dyn Host, at: At, form: Form, matched: &[usize]) {
        let mut e = Event::new(uuid_v4(host.random()), Kind::FormSubmit, at.ms);
        e.url = Some(at.url);
        e.form = Some(form);
        self.observe(host, e, Seen::Submit(matched));
    }

    fn event(&mut self, host: &mut dyn Host, p: EventParams) {
        let mut e = self.new_event(host, Kind::Event);
        e.url = Some(host.url());
        e.action = Some(p.action);
        e.category = p.category;
        e.label = p.label;
        e.value = p.value;
        e.currency = p.currency;
        e.transaction_id = p.transaction_id;
        self.observe(host, e, Seen::Event);
    }

    fn new_event(&self, host: &mut dyn Host, kind: Kind) -> Event {
        Event::new(uuid_v4(host.random()), kind, host.now())
    }

    /// Everything that happens to an observed event before it is recorded:
    /// PII redaction, the visit, a landing's campaign touch, and the goals.
    ///
    /// A page view that consent does not let through (dropped, or held while
    /// consent is unknown) is also kept aside as [`Unrecorded`], in memory
    /// only: if consent is granted later on this page, that page is recorded
    /// then, once, and its landing's campaign taken (see
    /// [`Tracker::record_unrecorded`]). An SPA navigation replaces it; the
    /// page load's URL stays as the landing.
    fn observe(&mut self, host: &mut dyn Host, mut e: Event, seen: Seen) {
        let route = self.consent.route();
        if let Seen::Page { landing } = &seen {
            self.unrecorded = match route {
                Route::Send { .. } => None,
                _ => Some(Unrecorded {
                    view: page_of(&e),
                    landing: landing.clone().or_else(|| self.unrecorded.take().and_then(|u| u.landing)),
                    held: route == Route::Hold,
                }),
            };
        }
        if route == Route::Drop {
            return;
        }
        let now = e.ts;
        self.sync(host);
        // Before anything else sees them: goals match redacted URLs, and
        // only redacted URLs are queued.
        let redact = &self.config.redact_params;
        for u in [&mut e.url, &mut e.referrer].into_iter().flatten() {
            *u = url::redact(u, redact);
        }
        if let Some(h) = e.element.as_mut().and_then(|el| el.href.as_mut()) {
            *h = capture::clean_href(h, redact);
        }
        if let Some(a) = e.form.as_mut().and_then(|f| f.action.as_mut()) {
            *a = url::redact(a, redact);
        }
        if let Some(t) = &mut e.title {
            *t = url::redact_emails(t);
        }
        let mut new_id = || uuid_v4(host.random());
        let (v, _) = match seen {
            Seen::Page { .. } => self.visits.page(now, &mut new_id),
            _ => self.visits.touch(now, &mut new_id),
        };
        let (visit_id, pages) = (v.id.clone(), v.pages);
        e.visit_id = Some(visit_id.clone());
        if let Seen::Page { landing: Some(landing) } = &seen {
            // The first page of a visit known to be new (the stored one was
            // read: analytics storage allowed) may take its source from a
            // same-site referrer: the page it landed on went unrecorded.
            let known_new = pages == 1 && self.consent.may_store(Purpose::Analytics);
            landing::land(&self.config, &mut self.campaign, &mut e, landing, known_new);
        }
        let mut found = Vec::new();
        if !self.goals.is_empty() {
            let site = self.config.site.clone().unwrap_or_default();
            let facts = match seen {
                Seen::Page { .. } => [Some(Fact::Page { url: e.url.as_deref().unwrap_or("") }), Some(Fact::Pages { count: pages })],
                Seen::Event => [
                    Some(Fact::Event {
                        category: e.category.as_deref(),
                        action: e.action.as_deref(),
                        label: e.label.as_deref(),
                        value: e.value,
                    }),
                    None,
                ],
                Seen::Click(m) => [Some(Fact::Click { matched: m }), None],
                Seen::Submit(m) => [Some(Fact::Submit { matched: m }), None],
            };
            for f in facts.iter().flatten() {
                found.extend(self.goals.evaluate(f, &e, &site, &visit_id, &mut self.memory, &mut new_id));
            }
        }
        if e.kind == Kind::PageView {
            let mut view = Event::new(e.id.clone(), Kind::PageView, now);
            view.url = e.url.clone();
            view.visit_id = e.visit_id.clone();
            self.last_view = Some(view);
        }
        self.changed(now);
        self.record(e, now);
        self.convert(found, now);
    }

    /// Records conversions (with the campaign touch that earned them, see
    /// [`Tracker::record`]).
    fn convert(&mut self, conversions: Vec<Event>, now: u64) {
        for mut c in conversions {
            // Withheld again at recording unless ad_user_data is granted then.
            c.user_data = self.user_data.clone();
            self.changed(now);
            self.record(c, now);
        }
    }

    /// Routes an event through consent: held while consent is unknown, queued
    /// (stamped with the consent it was recorded under and the identifiers it
    /// allows, serialised once so every retry sends the same bytes) when
    /// allowed, dropped otherwise.
    ///
    /// A conversion takes the campaign touch live at its time when it is
    /// queued: a held one at the release, as if consent had been known when
    /// it converted (the stored touch is read only then, and a held landing
    /// may take its touch then).
    pub fn record(&mut self, mut e: Event, now: u64) {
        let ad_data = match self.consent.route() {
            Route::Hold => {
                // Conversions are the last thing dropped, here as in the outbox.
                self.held.push_sparing(e, |e| e.kind == Kind::Conversion);
                return;
            }
            Route::Drop => return,
            Route::Send { ad_data, .. } => ad_data,
        };
        if e.kind == Kind::Conversion && e.attribution.is_none() {
            e.attribution = self.campaign.current(e.ts).cloned();
        }
        let snapshot = self.consent.snapshot();
        if e.client_id.is_none() {
            e.client_id = self.stored.client_id.clone();
        }
        // The identifiers this consent does not allow go (without analytics
        // storage, a cookieless ping: nothing that links it to other events).
        e.withhold(&snapshot);
        e.consent = Some(snapshot);
        if self.consent.gpc() {
            e.gpc = Some(true);
        }
        // Its age is counted from its time stamp (an event held for consent is
        // older than its queueing), as the collector counts it.
        let created_ms = e.ts.min(now);
        // Every text is cut to the contract's limit as it is written (a huge
        // URL, class list or label would otherwise poison the whole batch).
        let json = without_click_ids(e.to_json(), ad_data, &self.config.click_ids);
        let item = Item { conversion: e.kind == Kind::Conversion, json, id: e.id, created_ms, beacon_sent: false };
        self.outbox.push(item, now);
    }

    /// Closes the open batch so it is sent now (`goaltag('flush')`, page hiding).
    pub fn handle_flush(&mut self) {
        self.outbox.flush();
    }

    /// The page is going away: every unacknowledged event as beacon bodies.
    /// They stay queued (a beacon's fate is unknown); the collector's ID
    /// dedup absorbs a later resend.
    pub fn beacon_bodies(&mut self, now: u64) -> Vec<(String, Vec<String>)> {
        if !self.ready() {
            return Vec::new();
        }
        self.outbox.beacon_bodies(now)
    }

    /// The browser refused a beacon: those events go back to the normal path.
    pub fn beacon_refused(&mut self, ids: &[String]) {
        self.outbox.beacon_refused(ids);
    }

    /// Whether the browser can gzip request bodies (`CompressionStream`): a
    /// browser fact the shell reads once.
    pub fn set_gzip(&mut self, available: bool) {
        self.outbox.set_gzip(available);
    }

    /// The next batch to send, if one is due.
    pub fn poll(&mut self, now: u64) -> Option<Send> {
        if !self.ready() {
            return None;
        }
        self.outbox.poll(now)
    }

    /// The collector's answer (or a network failure) for a request [`Tracker::poll`] gave.
    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now: u64, rand: u32) {
        self.outbox.on_outcome(batch, outcome, now, rand);
        if self.outbox.dirty() {
            // Acknowledged events leave the persisted copy soon.
            self.changed(now);
        }
    }

    /// When [`Tracker::tick`] or [`Tracker::poll`] should next be called, if ever.
    pub fn wake_at(&self) -> Option<u64> {
        let duration = self.engaged.next_duration(&self.goals);
        let outbox = if self.ready() { self.outbox.wake_at() } else { None };
        [self.consent.wake_at(), outbox, self.stored.save_at, duration, self.lease_due(), self.watch_due()].into_iter().flatten().min()
    }

    /// Events not yet acknowledged by the collector.
    pub fn pending(&self) -> usize {
        self.outbox.len()
    }
}
