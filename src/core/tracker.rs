//! The tracker: the one object the browser shell drives. It turns commands and
//! observed page facts into wire events and conversions, keeps the visit,
//! campaign and goal memory, and hands batches to send back to the shell.
//! Everything the shell needs from the browser comes in through [`Host`].

use crate::core::attribution::{self, Campaign};
use crate::core::capture;
use crate::core::command::{Command, EventParams, PageOverrides};
use crate::core::config::Config;
use crate::core::consent::{Consent, Effect, Env, Held, Partial, Purpose, Route};
use crate::core::error::ConfigError;
use crate::core::goals::{parse_goals, Fact, Goals, Memory, Patterns};
use crate::core::id::uuid_v4;
use crate::core::outbox::{Item, Outbox, Outcome, Policy, Send};
use crate::core::passthrough;
use crate::core::url;
use crate::core::val::Val;
use crate::core::visit::Visits;
use crate::prelude::*;
use goaltag_wire::{is_uuid, Element, Event, Form, Kind};

/// What the tracker reads from its surroundings: the clock, randomness, the
/// current page, first-party storage and the regex engine. The browser
/// implements it with `Date.now()`, `crypto.getRandomValues`, `document`,
/// `localStorage` and `RegExp`; tests with fixed values and a map.
///
/// Storage is only ever touched through [`Tracker`], which asks consent first:
/// the one gate for every read and write.
pub trait Host: Patterns {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> u64;
    /// 16 cryptographically random bytes.
    fn random(&mut self) -> [u8; 16];
    fn page(&self) -> Page;
    /// The page's URL alone: a custom event needs no more, and reading the
    /// title and referrer too would cost every one of them.
    fn url(&self) -> String {
        self.page().url
    }
    fn load(&self, key: &str) -> Option<String>;
    fn save(&mut self, key: &str, value: &str);
    fn remove(&mut self, key: &str);
    /// Stored keys that start with `prefix`.
    fn keys(&self, prefix: &str) -> Vec<String>;
}

/// When and at which URL a click, submit or SPA navigation happened. The
/// shell records them a task after its handler (which INP counts) saw them,
/// so it hands over the handler's own time and URL rather than those of the
/// recording task.
#[derive(Debug, Clone, PartialEq)]
pub struct At {
    pub ms: u64,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub url: String,
    pub referrer: String,
    pub title: String,
}

/// The collector's limits for URLs and titles, in characters.
pub const MAX_URL: usize = 4096;
pub const MAX_TITLE: usize = 2048;

/// Every key the tag writes with consent, with the purpose it needs (a key
/// ending in `.` is a prefix: one key per page). Revocation removes exactly
/// these; an opt-out removes them all.
pub const STORED: [(&str, Purpose); 5] = [
    (CLIENT_KEY, Purpose::Analytics),
    (VISIT_KEY, Purpose::Analytics),
    (GOALS_KEY, Purpose::Analytics),
    (OUTBOX_PREFIX, Purpose::Analytics),
    (CAMPAIGN_KEY, Purpose::Ads),
];
/// Each page (tab) persists its unacknowledged events under its own key,
/// `goaltag_outbox.<tab>`, as `<lease ms>\n<outbox text>`, so two tabs never
/// write one queue. A page adopts (reads, removes, resends) the queues of
/// pages that are gone: released on page hide (lease 0), a lease older than
/// [`LEASE_MS`], or (in the shell) a Web Lock its owner no longer holds.
pub const OUTBOX_PREFIX: &str = "goaltag_outbox.";
/// A live page with unacknowledged events renews its lease a third of this often.
pub const LEASE_MS: u64 = 15_000;
pub const CLIENT_KEY: &str = "goaltag_cid";
pub const VISIT_KEY: &str = "goaltag_visit";
pub const GOALS_KEY: &str = "goaltag_goals";
pub const CAMPAIGN_KEY: &str = "goaltag_campaign";
/// The one exception to the consent gate: `goaltag('opt_out')` writes it
/// without consent because it records a refusal, and it must outlive every
/// purge. It is read at [`Tracker::begin`] and written or removed only by
/// [`Tracker::opt_out`] / [`Tracker::opt_in`].
pub const OPT_OUT_KEY: &str = "goaltag_optout";

/// Storage writes are coalesced: at most one round this long after a change
/// (and at once when the page hides), never on the click path itself.
pub const SAVE_DELAY_MS: u64 = 1000;

/// Cuts `s` to at most `max` characters, on a character boundary.
fn cut(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

/// Removes the [`STORED`] keys of the purposes `which` selects; a prefix
/// entry removes every page's key.
fn remove_keys(host: &mut dyn Host, which: impl Fn(Purpose) -> bool) {
    for (key, purpose) in STORED {
        if !which(purpose) {
            continue;
        }
        if key.ends_with('.') {
            for k in host.keys(key) {
                host.remove(&k);
            }
        } else {
            host.remove(key);
        }
    }
}

/// What an observed event is, for the goals.
enum Seen<'a> {
    /// `landing`: the URL and referrer a real page load (not an SPA
    /// navigation) came with, whose campaign parameters and referrer mean a
    /// new touch; usually the page view's own.
    Page {
        landing: Option<Landing>,
    },
    Event,
    Click(&'a [usize]),
    Submit(&'a [usize]),
}

/// The URL and referrer of a page load, as the browser gave them (redacted
/// when observed).
#[derive(Debug, Clone, PartialEq)]
struct Landing {
    url: String,
    referrer: String,
}

/// The current page's view, kept in memory only, when consent kept it from
/// being recorded: it is recorded once, at the moment consent is granted on
/// this page (see [`Tracker::observe`]). Never stored, never sent as it is.
#[derive(Debug, Clone)]
struct Unrecorded {
    /// The last page view seen (an SPA navigation replaces it).
    view: Event,
    /// The page load's URL and referrer, when the load itself went unrecorded:
    /// the campaign touch is taken from it at the grant.
    landing: Option<Landing>,
    /// The view is also among the held events (consent unknown), so
    /// releasing them records it.
    held: bool,
}

pub struct Tracker {
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
    goals: Goals,
    /// What the goals already counted (per visit, per user, per transaction).
    memory: Memory,
    visits: Visits,
    campaign: Campaign,
    /// Pseudonymous browser ID: only while analytics storage is granted.
    client_id: Option<String>,
    /// Stored state was read since analytics / ad storage became allowed.
    loaded: (bool, bool),
    /// When the coalesced storage write is due.
    save_at: Option<u64>,
    /// The page is visible since then (engaged time is accruing).
    visible_since: Option<u64>,
    /// Engaged ms of the visit at `visible_since`.
    engaged: u64,
    /// The last page view, the trigger of `duration` conversions.
    last_view: Option<Event>,
    /// This page's outbox key, and when its lease was last written.
    outbox_key: String,
    lease_at: u64,
    /// Other pages' outbox keys whose owners may still be alive: the shell
    /// asks Web Locks about them (see [`Tracker::take_probes`]).
    probes: Vec<String>,
    /// The page view consent has not let through yet, if any.
    unrecorded: Option<Unrecorded>,
    /// The URL this page loaded with: the campaign parameters `url_passthrough` carries.
    loaded_url: String,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
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
            client_id: None,
            loaded: (false, false),
            save_at: None,
            visible_since: None,
            engaged: 0,
            last_view: None,
            outbox_key: String::new(),
            lease_at: 0,
            probes: Vec::new(),
            unrecorded: None,
            loaded_url: String::new(),
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

    /// Removes every key of [`STORED`] and the identifiers read from them.
    fn forget_stored(&mut self, host: &mut dyn Host) {
        remove_keys(host, |_| true);
        self.client_id = None;
        self.loaded = (false, false);
        self.save_at = None;
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
                }
                Effect::Narrowed => match self.consent.route() {
                    Route::Drop => self.outbox.withdraw(),
                    Route::Send { identifiers, ad_data } => {
                        let snapshot = self.consent.snapshot();
                        self.outbox.rewrite(|j| goaltag_wire::json::narrow(j, identifiers, ad_data, &snapshot));
                    }
                    Route::Hold => {}
                },
                Effect::PurgeStorage { analytics, ads } => {
                    remove_keys(host, |p| (analytics && p == Purpose::Analytics) || (ads && p == Purpose::Ads));
                    if analytics {
                        self.client_id = None;
                        self.loaded.0 = false;
                    }
                    if ads {
                        self.loaded.1 = false;
                    }
                }
                Effect::WarnNoConsent => self.warnings.push(
                    "goaltag: no consent state was set, so nothing is sent. Set one with data-consent=\"granted\" \
                     on the script tag or goaltag('consent', 'default', {analytics_storage: 'granted', …})"
                        .into(),
                ),
            }
        }
    }

    /// Reads stored state once storage is allowed, and forgets the client ID
    /// when it no longer is. State that began in memory (before a banner
    /// answered) wins over stored state of the same kind.
    fn sync(&mut self, host: &mut dyn Host) {
        let now = host.now();
        if !self.consent.may_store(Purpose::Analytics) {
            self.client_id = None;
            self.loaded.0 = false;
        } else if !self.loaded.0 {
            self.loaded.0 = true;
            let cid = match host.load(CLIENT_KEY).filter(|c| is_uuid(c)) {
                Some(c) => c,
                None => {
                    let c = uuid_v4(host.random());
                    host.save(CLIENT_KEY, &c);
                    c
                }
            };
            self.client_id = Some(cid);
            if self.visits.current(now).is_none() {
                if let Some(s) = host.load(VISIT_KEY) {
                    self.visits.restore(&s, now);
                }
            }
            if self.memory == Memory::new() {
                if let Some(s) = host.load(GOALS_KEY) {
                    self.memory = Memory::restore(&s);
                }
            }
            if self.outbox_key.is_empty() {
                let r = host.random();
                self.outbox_key.push_str(OUTBOX_PREFIX);
                for b in &r[..4] {
                    for n in [b >> 4, b & 15] {
                        self.outbox_key.push(char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 }));
                    }
                }
            }
            self.adopt_gone(host, now);
            self.lease_at = now;
            // What began in memory is stored soon.
            self.changed(now);
        }
        if !self.consent.may_store(Purpose::Ads) {
            self.loaded.1 = false;
        } else if !self.loaded.1 {
            self.loaded.1 = true;
            if self.campaign.current(now).is_none() {
                if let Some(s) = host.load(CAMPAIGN_KEY) {
                    self.campaign.restore(&s, now);
                }
            }
            self.changed(now);
        }
    }

    /// Consent now lets events through: the page view it kept back is
    /// recorded now, at the moment of the grant, with the page's URL,
    /// referrer and title, and (when the page load itself was kept back) the
    /// campaign touch of the URL the page loaded with, exactly as a page load
    /// under consent would have taken it. Held page views were just released
    /// and need nothing more.
    fn record_unrecorded(&mut self, host: &mut dyn Host, now: u64) {
        let Some(u) = self.unrecorded.take() else {
            return;
        };
        if u.held {
            return;
        }
        let mut e = u.view;
        e.id = uuid_v4(host.random());
        e.ts = now;
        self.observe(host, e, Seen::Page { landing: u.landing });
    }

    /// Adopts the outboxes of pages that are gone by their lease; the others
    /// wait in `probes` for the shell's Web Locks check.
    fn adopt_gone(&mut self, host: &mut dyn Host, now: u64) {
        for key in host.keys(OUTBOX_PREFIX) {
            if key == self.outbox_key {
                continue;
            }
            let lease = host.load(&key).and_then(|t| t.split('\n').next().and_then(crate::core::visit::parse_u64));
            match lease {
                Some(at) if at != 0 && now.saturating_sub(at) < LEASE_MS => self.probes.push(key),
                _ => self.adopt(host, &key),
            }
        }
    }

    /// Other pages' outbox keys that only Web Locks can tell are orphaned:
    /// for each, the shell asks `navigator.locks.request(key, {ifAvailable:
    /// true})` and calls [`Tracker::adopt`] when granted (the owner is gone).
    pub fn take_probes(&mut self) -> Vec<String> {
        ::core::mem::take(&mut self.probes)
    }

    /// This page's outbox key (the shell holds a Web Lock of that name for the
    /// page's lifetime), once storage is allowed.
    pub fn outbox_key(&self) -> &str {
        &self.outbox_key
    }

    /// Takes over another page's persisted events: read, remove, queue with
    /// their IDs (events it had beaconed are sent once more; the collector
    /// dedups). Only with analytics storage allowed.
    pub fn adopt(&mut self, host: &mut dyn Host, key: &str) {
        if !self.loaded.0 || !key.starts_with(OUTBOX_PREFIX) || key == self.outbox_key {
            return;
        }
        if let Some(text) = host.load(key) {
            host.remove(key);
            let body = text.split_once('\n').map_or("", |(_, b)| b);
            if self.outbox.restore(body, host.now()) > 0 {
                self.changed(host.now());
            }
        }
    }

    /// Writes the visit, goal memory, campaign and this page's outbox where
    /// consent allows. The shell calls it when the page hides; otherwise it
    /// runs from [`Tracker::tick`], [`SAVE_DELAY_MS`] after a change.
    pub fn persist(&mut self, host: &mut dyn Host) {
        let now = host.now();
        self.save(host, now);
    }

    /// One write of everything, the outbox under the given lease.
    fn save(&mut self, host: &mut dyn Host, lease: u64) {
        self.save_at = None;
        self.sync(host);
        if self.loaded.0 {
            host.save(VISIT_KEY, &self.visits.serialise());
            host.save(GOALS_KEY, &self.memory.serialise());
            self.write_outbox(host, lease);
        }
        if self.loaded.1 {
            match self.campaign.serialise() {
                c if c.is_empty() => host.remove(CAMPAIGN_KEY),
                c => host.save(CAMPAIGN_KEY, &c),
            }
        }
    }

    /// The outbox under this page's key with a lease (`0`: released, the
    /// page is going away), or no key when nothing is unacknowledged.
    fn write_outbox(&mut self, host: &mut dyn Host, lease: u64) {
        self.lease_at = lease;
        if self.outbox.is_empty() {
            host.remove(&self.outbox_key);
        } else {
            let mut text = String::new();
            crate::core::visit::push_u64(&mut text, lease);
            text.push('\n');
            text.push_str(&self.outbox.persist());
            host.save(&self.outbox_key, &text);
        }
        self.outbox.mark_clean();
    }

    /// The page is going away (after its beacons): everything is written
    /// now, the outbox released for the next page to adopt at once.
    pub fn release(&mut self, host: &mut dyn Host) {
        self.save(host, 0);
    }

    /// `online` / `offline`: sending pauses and resumes (with a fresh jittered delay).
    pub fn set_online(&mut self, online: bool, now: u64, rand: u32) {
        self.outbox.set_online(online, now, rand);
    }

    fn changed(&mut self, now: u64) {
        if self.save_at.is_none() && (self.loaded.0 || self.loaded.1) {
            self.save_at = Some(now + SAVE_DELAY_MS);
        }
    }

    /// Runs what is due by the clock (consent waits and warnings, engaged
    /// time, the coalesced storage write); returns console warnings to print.
    pub fn tick(&mut self, host: &mut dyn Host) -> Vec<String> {
        let now = host.now();
        let fx = self.consent.tick(now);
        self.apply(host, fx);
        self.accrue(host, now);
        if self.save_at.is_some_and(|t| t <= now) || self.lease_due().is_some_and(|t| t <= now) {
            self.persist(host);
        }
        core::mem::take(&mut self.warnings)
    }

    /// The page became visible or hidden: engaged time accrues only while
    /// visible. Back in view, what the hide beaconed is sent again from here.
    pub fn visibility(&mut self, host: &mut dyn Host, visible: bool) {
        let now = host.now();
        self.accrue(host, now);
        self.visible_since = visible.then_some(now);
        if visible {
            self.outbox.shown();
            if self.outbox.dirty() {
                self.changed(now);
            }
        }
    }

    /// Adds the visible time since the last call to the visit, and converts
    /// `duration` goals it reaches.
    fn accrue(&mut self, host: &mut dyn Host, now: u64) {
        let Some(since) = self.visible_since else {
            return;
        };
        if now <= since {
            return;
        }
        self.visible_since = Some(now);
        let mut new_id = || uuid_v4(host.random());
        let (v, _) = self.visits.engaged(now - since, now, &mut new_id);
        let (engaged, visit_id) = (v.engaged_ms, v.id.clone());
        self.engaged = engaged;
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

    /// When a page still holding unacknowledged events must renew its lease
    /// (not once it has released it: it is going away).
    fn lease_due(&self) -> Option<u64> {
        (self.loaded.0 && self.lease_at != 0 && !self.outbox.is_empty()).then_some(self.lease_at + LEASE_MS / 3)
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
            Command::Event(p) => self.event(host, p),
            Command::Flush => self.handle_flush(),
            Command::Consent { update: true, partial, .. } => self.consent_update(host, partial),
            Command::Consent { update: false, partial, wait_for_update_ms } => self.consent_default(host, partial, wait_for_update_ms),
            Command::OptOut => self.opt_out(host),
            Command::OptIn => self.opt_in(host),
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
    /// had when it was left again) or else the page's by now.
    pub fn navigated(&mut self, host: &mut dyn Host, at: At, title: Option<String>) {
        self.view(host, at.ms, PageOverrides { url: Some(at.url), title }, true);
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
                    view: e.clone(),
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
            *h = url::redact(h, redact);
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
            let found =
                attribution::capture(&url::redact(&landing.url, redact), &url::redact(&landing.referrer, redact), &self.config.click_ids);
            if found.landing_url.is_some() {
                e.attribution = Some(found.clone());
            }
            self.campaign.land(found, now);
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

    /// Records conversions with the campaign touch that earned them.
    fn convert(&mut self, conversions: Vec<Event>, now: u64) {
        for mut c in conversions {
            c.attribution = self.campaign.current(now).cloned();
            self.changed(now);
            self.record(c, now);
        }
    }

    /// Routes an event through consent: held while consent is unknown, queued
    /// (stamped with the consent it was recorded under and the identifiers it
    /// allows, serialised once so every retry sends the same bytes) when
    /// allowed, dropped otherwise.
    pub fn record(&mut self, mut e: Event, now: u64) {
        let (identifiers, ad_data) = match self.consent.route() {
            Route::Hold => {
                self.held.push(e);
                return;
            }
            Route::Drop => return,
            Route::Send { identifiers, ad_data } => (identifiers, ad_data),
        };
        if identifiers {
            if e.client_id.is_none() {
                e.client_id = self.client_id.clone();
            }
        } else {
            // A cookieless ping: nothing that links it to other events.
            e.client_id = None;
            e.visit_id = None;
        }
        if !ad_data {
            if let Some(a) = &mut e.attribution {
                a.click_ids.clear();
            }
        }
        // Page facts are not the site owner's input: a huge URL or title is
        // cut to what the collector accepts rather than poison the batch.
        for (field, max) in [(&mut e.url, MAX_URL), (&mut e.referrer, MAX_URL), (&mut e.title, MAX_TITLE)] {
            if let Some(t) = field {
                cut(t, max);
            }
        }
        if let Some(el) = &mut e.element {
            if let Some(h) = &mut el.href {
                cut(h, MAX_URL);
            }
        }
        if let Some(a) = &mut e.attribution {
            if let Some(l) = &mut a.landing_url {
                cut(l, MAX_URL);
            }
        }
        e.consent = Some(self.consent.snapshot());
        if self.consent.gpc() {
            e.gpc = Some(true);
        }
        let item = Item { conversion: e.kind == Kind::Conversion, json: e.to_json(), id: e.id, created_ms: now, beacon_sent: false };
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

    /// The next batch to send, if one is due.
    pub fn poll(&mut self, now: u64) -> Option<Send> {
        if !self.ready() {
            return None;
        }
        self.outbox.poll(now)
    }

    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now: u64, rand: u32) {
        self.outbox.on_outcome(batch, outcome, now, rand);
        if self.outbox.dirty() {
            // Acknowledged events leave the persisted copy soon.
            self.changed(now);
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

    /// `url_passthrough` for a link followed from `page`: the URL to follow
    /// instead, or None to leave the link alone (see [`passthrough::decorate`]).
    /// Forms sent by POST are decorated through their action the same way.
    pub fn decorate(&self, target: &str, page: &str) -> Option<String> {
        if !self.passthrough_active() {
            return None;
        }
        let landing = self.passthrough_landing();
        passthrough::decorate(target, page, &passthrough::params(&landing, &self.config.click_ids))
    }

    /// `url_passthrough` for a GET form sent to `action`: hidden fields to
    /// add (see [`passthrough::fields`]).
    pub fn passthrough_fields(&self, action: &str, page: &str, has: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        if !self.passthrough_active() {
            return Vec::new();
        }
        let landing = self.passthrough_landing();
        passthrough::fields(action, page, &passthrough::params(&landing, &self.config.click_ids), has)
    }

    /// When [`Tracker::tick`] or [`Tracker::poll`] should next be called, if ever.
    pub fn wake_at(&self) -> Option<u64> {
        let duration = self.visible_since.zip(self.goals.next_duration(self.engaged)).map(|(since, at)| since + (at - self.engaged));
        let outbox = if self.ready() { self.outbox.wake_at() } else { None };
        [self.consent.wake_at(), outbox, self.save_at, duration, self.lease_due()].into_iter().flatten().min()
    }

    pub fn pending(&self) -> usize {
        self.outbox.len()
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::core::command::parse;
    use crate::core::val::json;
    use goaltag_wire::{is_uuid, Batch};

    /// A deterministic host: a settable clock and a counter for randomness.
    pub struct FakeHost {
        pub now: u64,
        pub counter: u8,
        pub page: Page,
        /// Stands in for localStorage.
        pub storage: std::collections::BTreeMap<String, String>,
    }

    impl FakeHost {
        pub fn new() -> Self {
            FakeHost {
                now: 1_764_000_000_000,
                counter: 0,
                page: Page { url: "https://shop.example/".into(), referrer: "https://news.example/a".into(), title: "Home".into() },
                storage: Default::default(),
            }
        }
    }

    impl Host for FakeHost {
        fn now(&self) -> u64 {
            self.now
        }
        fn random(&mut self) -> [u8; 16] {
            self.counter += 1;
            [self.counter; 16]
        }
        fn page(&self) -> Page {
            self.page.clone()
        }
        fn load(&self, key: &str) -> Option<String> {
            self.storage.get(key).cloned()
        }
        fn save(&mut self, key: &str, value: &str) {
            self.storage.insert(key.into(), value.into());
        }
        fn remove(&mut self, key: &str) {
            self.storage.remove(key);
        }
        fn keys(&self, prefix: &str) -> Vec<String> {
            self.storage.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
        }
    }

    impl Patterns for FakeHost {
        fn compile(&self, p: &str) -> Result<Box<dyn crate::core::goals::Pattern>, String> {
            crate::core::goals::tests::Re.compile(p)
        }
    }

    fn run(t: &mut Tracker, h: &mut FakeHost, call: &str) -> Vec<ConfigError> {
        let (cmd, mut errs) = parse(json(call).as_list().unwrap()).unwrap();
        errs.extend(t.handle(cmd, h));
        errs
    }

    fn send_all(t: &mut Tracker, h: &mut FakeHost) -> Vec<Batch> {
        let mut out = Vec::new();
        while let Some(s) = t.poll(h.now) {
            out.push(serde_json::from_str::<Batch>(&s.body).unwrap());
            t.on_outcome(s.batch, Outcome::Status { code: 204, retry_after_ms: None }, h.now, 0);
        }
        out
    }

    /// A click or submit happening now, where the fake page is.
    fn at(h: &FakeHost) -> At {
        At { ms: h.now(), url: h.url() }
    }

    fn ready() -> (Tracker, FakeHost) {
        let mut t = Tracker::new();
        let mut h = FakeHost::new();
        t.begin(&mut h, Env::default());
        assert!(t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h).is_empty());
        t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
        (t, h)
    }

    fn unset() -> (Tracker, FakeHost) {
        let mut t = Tracker::new();
        let mut h = FakeHost::new();
        t.begin(&mut h, Env::default());
        t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
        (t, h)
    }

    #[test]
    fn with_consent_unknown_events_are_held_then_sent_once_on_grant() {
        let (mut t, mut h) = unset();
        run(&mut t, &mut h, r#"["event","early"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        assert!(t.poll(h.now).is_none(), "nothing is sent while consent is unknown");
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
        assert_eq!(events.len(), 1);
        let c = events[0].consent.unwrap();
        assert_eq!(c.analytics_storage, goaltag_wire::Signal::Granted);
        assert_eq!(c.ad_storage, goaltag_wire::Signal::Denied, "types never named count as denied");
        assert!(send_all(&mut t, &mut h).is_empty());
    }

    #[test]
    fn basic_mode_denial_discards_held_events_and_a_later_grant_resumes() {
        let (mut t, mut h) = unset();
        run(&mut t, &mut h, r#"["event","held"]"#);
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
        run(&mut t, &mut h, r#"["event","while-denied"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        assert!(send_all(&mut t, &mut h).is_empty());
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
        run(&mut t, &mut h, r#"["event","after-grant"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let actions: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).filter_map(|e| e.action).collect();
        assert_eq!(actions, ["after-grant"]);
    }

    #[test]
    fn one_warning_when_no_consent_is_ever_set() {
        let (mut t, mut h) = unset();
        let start = h.now;
        h.now = start + 9_999;
        assert!(t.tick(&mut h).is_empty());
        assert_eq!(t.wake_at(), Some(start + 10_000));
        h.now = start + 10_000;
        let w = t.tick(&mut h);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("data-consent"));
        h.now = start + 60_000;
        assert!(t.tick(&mut h).is_empty());
    }

    #[test]
    fn huge_page_urls_and_titles_are_cut_to_what_the_collector_accepts() {
        let (mut t, mut h) = ready();
        h.page.url = format!("https://shop.example/?q={}", "é".repeat(5000));
        h.page.title = "t".repeat(3000);
        t.page_view(&mut h, PageOverrides::default(), false);
        run(&mut t, &mut h, r#"["flush"]"#);
        let e = &send_all(&mut t, &mut h)[0].events[0];
        assert_eq!(e.url.as_ref().unwrap().chars().count(), MAX_URL);
        assert_eq!(e.title.as_ref().unwrap().chars().count(), MAX_TITLE);
    }

    #[test]
    fn gpc_is_stamped_on_events() {
        let (mut t, mut h) = ready();
        t.begin(&mut h, Env { gpc: true, ..Env::default() });
        t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
        run(&mut t, &mut h, r#"["event","x"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let e = &send_all(&mut t, &mut h)[0].events[0];
        assert_eq!(e.gpc, Some(true));
        assert_eq!(e.consent.unwrap().ad_storage, goaltag_wire::Signal::Denied, "GPC denies ad storage");
    }

    #[test]
    fn page_view_goes_on_the_wire_with_the_page_fields() {
        let (mut t, mut h) = ready();
        t.page_view(&mut h, PageOverrides::default(), false);
        run(&mut t, &mut h, r#"["flush"]"#);
        let batches = send_all(&mut t, &mut h);
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!((b.v, b.site.as_str(), b.sent_at), (1, "demo-shop", h.now));
        let e = &b.events[0];
        assert_eq!(e.kind, Kind::PageView);
        assert!(is_uuid(&e.id) && e.id.as_bytes()[14] == b'4', "a v4 UUID: {}", e.id);
        let cid = e.client_id.as_deref().expect("a client ID with analytics storage granted");
        assert!(is_uuid(cid) && cid != e.id);
        assert!(e.visit_id.is_some());
        assert_eq!(e.url.as_deref(), Some("https://shop.example/"));
        assert_eq!(e.referrer.as_deref(), Some("https://news.example/a"));
        assert_eq!(e.title.as_deref(), Some("Home"));
        assert_eq!(e.ts, h.now);
    }

    #[test]
    fn custom_event_carries_its_parameters() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","purchase",{"category":"shop","value":49.95,"currency":"USD","transaction_id":"T-9"}]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let e = &send_all(&mut t, &mut h)[0].events[0];
        assert_eq!(e.kind, Kind::Event);
        assert_eq!(e.action.as_deref(), Some("purchase"));
        assert_eq!(e.value, Some(49.95));
        assert_eq!(e.currency.as_deref(), Some("USD"));
        assert_eq!(e.transaction_id.as_deref(), Some("T-9"));
        assert_eq!(e.url.as_deref(), Some("https://shop.example/"));
    }

    #[test]
    fn nothing_is_sent_until_site_and_collector_are_known_and_nothing_is_lost() {
        let mut t = Tracker::new();
        let mut h = FakeHost::new();
        t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
        run(&mut t, &mut h, r#"["event","early"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        assert!(t.poll(h.now).is_none());
        assert!(t.poll(h.now + 60_000).is_none());
        run(&mut t, &mut h, r#"["config",{"site":"s","collector":"https://c.example/collect"}]"#);
        let b = send_all(&mut t, &mut h);
        assert_eq!(b[0].events[0].action.as_deref(), Some("early"));
        assert_eq!(b[0].site, "s");
    }

    #[test]
    fn spa_navigation_to_the_same_url_counts_once_and_has_a_referrer() {
        let (mut t, mut h) = ready();
        t.page_view(&mut h, PageOverrides::default(), false);
        t.page_view(&mut h, PageOverrides::default(), true);
        h.page.url = "https://shop.example/specials".into();
        t.page_view(&mut h, PageOverrides::default(), true);
        t.page_view(&mut h, PageOverrides::default(), true);
        run(&mut t, &mut h, r#"["flush"]"#);
        let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].url.as_deref(), Some("https://shop.example/specials"));
        assert_eq!(events[1].referrer.as_deref(), Some("https://shop.example/"));
        // Distinct IDs.
        assert_ne!(events[0].id, events[1].id);
    }

    #[test]
    fn fragment_changes_are_one_page_unless_hash_routing() {
        let (mut t, mut h) = ready();
        t.page_view(&mut h, PageOverrides::default(), false);
        h.page.url = "https://shop.example/#reviews".into();
        t.page_view(&mut h, PageOverrides::default(), true);
        assert_eq!(t.pending(), 1);
        t.configure(&json(r#"{"hash_routing":true}"#), &mut h);
        h.page.url = "https://shop.example/#/cart".into();
        t.page_view(&mut h, PageOverrides::default(), true);
        assert_eq!(t.pending(), 2);
    }

    #[test]
    fn clicks_and_submits_carry_their_descriptors() {
        let (mut t, mut h) = ready();
        let el =
            Element { tag: "a".into(), href: Some("https://partner.example/".into()), text: Some("Partner".into()), ..Default::default() };
        let a = at(&h);
        t.click(&mut h, a, el, &[]);
        let a = at(&h);
        t.submit(&mut h, a, Form { id: Some("newsletter".into()), fields: 2, ..Default::default() }, &[]);
        run(&mut t, &mut h, r#"["flush"]"#);
        let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
        assert_eq!(events[0].kind, Kind::Click);
        assert_eq!(events[0].element.as_ref().unwrap().outbound, Some(true));
        assert_eq!(events[0].url.as_deref(), Some("https://shop.example/"));
        assert_eq!(events[1].kind, Kind::FormSubmit);
        assert_eq!(events[1].form.as_ref().unwrap().fields, 2);
    }

    #[test]
    fn a_click_recorded_later_keeps_the_time_and_url_it_happened_at() {
        // The shell records a click a task after its handler; an SPA may have
        // navigated meanwhile (a router link), and the clock has moved on.
        let (mut t, mut h) = ready();
        let a = At { ms: h.now - 40, url: "https://shop.example/list".into() };
        h.page.url = "https://shop.example/item/7".into();
        let el = Element { tag: "a".into(), href: Some("/item/7".into()), ..Default::default() };
        t.click(&mut h, a, el, &[]);
        run(&mut t, &mut h, r#"["flush"]"#);
        let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
        assert_eq!(events[0].kind, Kind::Click);
        assert_eq!(events[0].ts, h.now - 40);
        assert_eq!(events[0].url.as_deref(), Some("https://shop.example/list"));
    }

    #[test]
    fn an_spa_navigation_recorded_later_keeps_its_url_and_time_and_takes_the_new_title() {
        let (mut t, mut h) = ready();
        t.page_view(&mut h, PageOverrides::default(), false);
        // The router pushed /item/7 and set the title in the same task; by the
        // time the tag records it the app has moved on to /item/7/reviews.
        let a = At { ms: h.now - 5, url: "https://shop.example/item/7".into() };
        h.page = Page { url: "https://shop.example/item/7/reviews".into(), referrer: String::new(), title: "Item 7".into() };
        t.navigated(&mut h, a, None);
        // The same URL again (a replaceState) is no second page view.
        let a = At { ms: h.now, url: "https://shop.example/item/7".into() };
        t.navigated(&mut h, a, Some("Item 7 (again)".into()));
        run(&mut t, &mut h, r#"["flush"]"#);
        let views: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).filter(|e| e.kind == Kind::PageView).collect();
        assert_eq!(views.len(), 2);
        assert_eq!(views[1].url.as_deref(), Some("https://shop.example/item/7"));
        assert_eq!(views[1].ts, h.now - 5);
        assert_eq!(views[1].title.as_deref(), Some("Item 7"));
        assert_eq!(views[1].referrer.as_deref(), Some("https://shop.example/"));
    }

    #[test]
    fn a_hiding_page_beacons_everything_unacknowledged_including_what_is_in_flight() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","a"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let in_flight = t.poll(h.now).unwrap();
        run(&mut t, &mut h, r#"["event","b"]"#);
        let beacons = t.beacon_bodies(h.now);
        let ids: Vec<String> = beacons.iter().flat_map(|(_, ids)| ids.clone()).collect();
        assert!(ids.contains(&in_flight.ids[0]));
        assert_eq!(ids.len(), 2);
        let b: Batch = serde_json::from_str(&beacons[0].0).unwrap();
        assert_eq!(b.site, "demo-shop");
        // A second hide in the same page sends nothing new.
        assert!(t.beacon_bodies(h.now).is_empty());
    }

    #[test]
    fn a_page_back_in_view_resends_what_its_hide_beaconed() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","a"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let lost = t.poll(h.now).unwrap();
        t.on_outcome(lost.batch, Outcome::NetworkError, h.now, 0);
        t.visibility(&mut h, false);
        assert_eq!(t.beacon_bodies(h.now).len(), 1);
        h.now += 60_000;
        assert!(send_all(&mut t, &mut h).is_empty(), "held while hidden");
        t.visibility(&mut h, true);
        let again = send_all(&mut t, &mut h);
        assert_eq!(again.iter().flat_map(|b| b.events.iter().map(|e| e.id.clone())).collect::<Vec<_>>(), lost.ids);
        assert_eq!(again[0].attempt, 3, "fetch, beacon, fetch");
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn a_failed_send_is_retried_with_the_same_ids() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","x"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let first = t.poll(h.now).unwrap();
        t.on_outcome(first.batch, Outcome::NetworkError, h.now, 0);
        assert!(t.poll(h.now).is_none(), "no immediate retry storm");
        let mut second = None;
        for _ in 0..10 {
            h.now = t.wake_at().unwrap();
            t.tick(&mut h);
            second = t.poll(h.now);
            if second.is_some() {
                break;
            }
        }
        let second = second.expect("a retry within a few wake-ups");
        assert_eq!(first.ids, second.ids);
        assert_eq!(serde_json::from_str::<Batch>(&second.body).unwrap().attempt, 2);
    }

    const GOALS: &str = r#"{"goals":[
        {"id":"purchase","primary":true,"when":{"type":"event","action":{"op":"equals","value":"purchase"}},
         "revenue":{"kind":"variable","default":1},"currency":"EUR"},
        {"id":"specials","primary":false,"when":{"type":"url","op":"begins_with","value":"/specials"},"count":"once_per_visit"},
        {"id":"cta","when":{"type":"click","selector":".cta"}},
        {"id":"read","when":{"type":"duration","min_seconds":5}}]}"#;

    fn with_goals() -> (Tracker, FakeHost) {
        let (mut t, mut h) = ready();
        assert!(t.configure(&json(GOALS), &mut h).is_empty());
        (t, h)
    }

    fn sent(t: &mut Tracker, h: &mut FakeHost) -> Vec<Event> {
        run(t, h, r#"["flush"]"#);
        send_all(t, h).into_iter().flat_map(|b| b.events).collect()
    }

    fn conversions(events: &[Event]) -> Vec<&Event> {
        events.iter().filter(|e| e.kind == Kind::Conversion).collect()
    }

    #[test]
    fn a_landing_touch_is_credited_to_a_later_url_conversion() {
        let (mut t, mut h) = with_goals();
        h.page.url = "https://shop.example/?utm_source=news&utm_campaign=spring&gclid=abc".into();
        t.page_view(&mut h, PageOverrides::default(), false);
        h.page.url = "https://www.shop.example/Specials.html".into();
        t.page_view(&mut h, PageOverrides::default(), true);
        t.page_view(&mut h, PageOverrides { url: Some("https://shop.example/specials?x".into()), title: None }, true);
        let events = sent(&mut t, &mut h);
        let landing = events[0].attribution.as_ref().expect("the landing page view carries its touch");
        assert_eq!(landing.utm.get("utm_source").map(String::as_str), Some("news"));
        let conv = conversions(&events);
        assert_eq!(conv.len(), 1, "once per visit");
        let c = conv[0];
        assert_eq!(c.goal.as_deref(), Some("specials"));
        assert_eq!(c.primary, Some(false));
        assert_eq!(c.trigger.as_deref(), Some(events[1].id.as_str()));
        assert_eq!((c.value, c.currency.as_deref()), (None, None), "revenue none");
        let a = c.attribution.as_ref().unwrap();
        assert_eq!(a.click_ids.get("gclid").map(String::as_str), Some("abc"));
        assert_eq!(a.utm.get("utm_campaign").map(String::as_str), Some("spring"));
        assert_eq!(c.client_id, events[0].client_id);
        assert_eq!(c.visit_id, events[1].visit_id);
        assert!(c.consent.is_some());
    }

    #[test]
    fn a_reloaded_confirmation_converts_once_with_a_deterministic_id() {
        let purchase = r#"["event","purchase",{"value":49.5,"currency":"USD","transaction_id":"T-1"}]"#;
        let (mut t, mut h) = with_goals();
        run(&mut t, &mut h, purchase);
        let first = sent(&mut t, &mut h);
        let c = conversions(&first)[0].clone();
        assert_eq!((c.value, c.currency.as_deref()), (Some(49.5), Some("USD")), "the event's value and currency win");
        assert_eq!(c.transaction_id.as_deref(), Some("T-1"));
        assert_eq!(c.id, crate::core::name_id::transaction_event_id("demo-shop", "purchase", "T-1"));
        t.persist(&mut h);

        // The reload: a new tag on the same storage.
        let mut t2 = Tracker::new();
        t2.begin(&mut h, Env::default());
        t2.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
        t2.configure(&json(GOALS), &mut h);
        t2.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
        run(&mut t2, &mut h, purchase);
        let again = sent(&mut t2, &mut h);
        assert_eq!(again.len(), 1, "the event again, no second conversion");
        assert_eq!(again[0].client_id, first[0].client_id, "same browser, same client ID");

        // Storage lost: the conversion comes again, with the same ID, for the collector to absorb.
        let (mut t3, mut h3) = with_goals();
        run(&mut t3, &mut h3, purchase);
        assert_eq!(conversions(&sent(&mut t3, &mut h3))[0].id, c.id);
    }

    #[test]
    fn clicks_convert_by_selector_index() {
        let (mut t, mut h) = with_goals();
        assert_eq!(t.click_selectors(), [".cta"]);
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "span".into(), ..Default::default() }, &[]);
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
        let events = sent(&mut t, &mut h);
        assert_eq!(events.len(), 3);
        assert_eq!(conversions(&events)[0].trigger.as_deref(), Some(events[1].id.as_str()));
    }

    #[test]
    fn duration_goals_fire_after_visible_time_only() {
        let (mut t, mut h) = with_goals();
        t.page_view(&mut h, PageOverrides::default(), false);
        let start = h.now;
        t.visibility(&mut h, true);
        h.now = start + 3_000;
        t.visibility(&mut h, false);
        h.now = start + 60_000;
        t.tick(&mut h);
        assert!(conversions(&sent(&mut t, &mut h)).is_empty(), "3 s visible is not 5");
        t.visibility(&mut h, true);
        assert!(t.wake_at().unwrap() <= h.now + 2_000, "wakes by the time the threshold is reached");
        h.now += 2_000;
        t.tick(&mut h);
        h.now += 10_000;
        t.tick(&mut h);
        let conv: Vec<_> = sent(&mut t, &mut h).into_iter().filter(|e| e.kind == Kind::Conversion).collect();
        assert_eq!(conv.len(), 1);
        assert_eq!(conv[0].goal.as_deref(), Some("read"));
    }

    #[test]
    fn urls_are_redacted_before_anything_sees_them() {
        let (mut t, mut h) = ready();
        t.configure(&json(r#"{"redact_params":["token"]}"#), &mut h);
        h.page.url = "https://shop.example/u/jane@mail.example/?token=s3cret&ref=a%40b.example&q=1".into();
        h.page.referrer = "https://mail.example/?to=jane@mail.example".into();
        t.page_view(&mut h, PageOverrides::default(), false);
        let e = &sent(&mut t, &mut h)[0];
        assert_eq!(e.url.as_deref(), Some("https://shop.example/u/[email]/?ref=[email]&q=1"));
        assert_eq!(e.referrer.as_deref(), Some("https://mail.example/?to=[email]"));
    }

    #[test]
    fn nothing_is_stored_until_consent_allows_and_revocation_removes_everything() {
        let (mut t, mut h) = unset();
        t.configure(&json(GOALS), &mut h);
        h.page.url = "https://shop.example/?gclid=abc".into();
        t.page_view(&mut h, PageOverrides::default(), false);
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
        h.now += 5_000;
        t.tick(&mut h);
        t.persist(&mut h);
        assert!(h.storage.is_empty(), "consent unknown: nothing stored, {:?}", h.storage);

        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted"}]"#);
        assert!(h.storage.contains_key(CLIENT_KEY), "the client ID is stored when granted");
        assert!(!h.storage.contains_key(VISIT_KEY), "other writes wait for the coalesced save");
        h.now += SAVE_DELAY_MS;
        t.tick(&mut h);
        let keys: Vec<_> = h.storage.keys().map(|k| if k.starts_with(OUTBOX_PREFIX) { OUTBOX_PREFIX } else { k }).collect();
        assert_eq!(keys, [CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, OUTBOX_PREFIX, VISIT_KEY], "the unsent events too");
        let held = sent(&mut t, &mut h);
        assert_eq!(held.len(), 3, "held page view, click and conversion arrive once");
        assert!(held.iter().all(|e| e.client_id.is_some()));

        run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"denied"}]"#);
        assert!(!h.storage.contains_key(CAMPAIGN_KEY), "ad storage revoked: the campaign goes");
        assert!(h.storage.contains_key(CLIENT_KEY));
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
        assert!(h.storage.is_empty(), "revoked: {:?}", h.storage);
        run(&mut t, &mut h, r#"["event","after"]"#);
        h.now += 5_000;
        t.tick(&mut h);
        t.persist(&mut h);
        assert!(h.storage.is_empty());
        assert!(sent(&mut t, &mut h).is_empty(), "basic mode: nothing sent while denied");
    }

    fn keys(h: &FakeHost) -> Vec<&str> {
        h.storage.keys().map(String::as_str).collect()
    }

    #[test]
    fn opt_out_keeps_only_the_marker_sends_nothing_more_and_holds_across_page_loads() {
        let (mut t, mut h) = with_goals();
        h.page.url = "https://shop.example/?gclid=abc".into();
        t.page_view(&mut h, PageOverrides::default(), false);
        h.now += SAVE_DELAY_MS;
        t.tick(&mut h);
        let stored: Vec<&str> = keys(&h).into_iter().map(|k| if k.starts_with(OUTBOX_PREFIX) { OUTBOX_PREFIX } else { k }).collect();
        assert_eq!(stored, [CAMPAIGN_KEY, CLIENT_KEY, GOALS_KEY, OUTBOX_PREFIX, VISIT_KEY], "the unsent page view too");
        run(&mut t, &mut h, r#"["event","queued before the opt-out"]"#);

        assert!(run(&mut t, &mut h, r#"["opt_out"]"#).is_empty());
        assert_eq!(keys(&h), [OPT_OUT_KEY], "only the marker is left");
        run(&mut t, &mut h, r#"["event","after"]"#);
        t.page_view(&mut h, PageOverrides::default(), true);
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
        h.now += 60_000;
        t.tick(&mut h);
        t.persist(&mut h);
        assert!(sent(&mut t, &mut h).is_empty(), "nothing leaves, not even what was queued before");
        assert!(t.beacon_bodies(h.now).is_empty(), "nor as a beacon when the page hides");
        assert_eq!(keys(&h), [OPT_OUT_KEY]);

        // The next page load finds the marker: a granted default changes nothing.
        let mut t2 = Tracker::new();
        t2.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
        t2.begin(&mut h, Env::default());
        t2.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
        t2.page_view(&mut h, PageOverrides::default(), false);
        h.now += 60_000;
        t2.tick(&mut h);
        assert!(sent(&mut t2, &mut h).is_empty());
        assert_eq!(keys(&h), [OPT_OUT_KEY]);

        // Opting back in resumes under the consent given; what happened while
        // opted out was dropped, not held: the page is recorded at the moment
        // of the opt-in, like any page on which consent is granted.
        let opted_in = h.now;
        run(&mut t2, &mut h, r#"["opt_in"]"#);
        assert!(!h.storage.contains_key(OPT_OUT_KEY));
        assert!(h.storage.contains_key(CLIENT_KEY), "granted: the client ID comes back (a new one)");
        h.now += 5;
        run(&mut t2, &mut h, r#"["event","back"]"#);
        let events = sent(&mut t2, &mut h);
        let got: Vec<_> = events.iter().map(|e| (e.kind, e.action.as_deref(), e.ts)).collect();
        assert_eq!(got, [(Kind::PageView, None, opted_in), (Kind::Event, Some("back"), opted_in + 5)]);
        assert!(events[0].client_id.is_some());
    }

    #[test]
    fn opt_out_removes_what_an_earlier_visit_stored_even_while_denied() {
        let mut h = FakeHost::new();
        h.storage.insert(CLIENT_KEY.into(), "6f1c2b9e-1d2a-4c3b-8a4d-5e6f7a8b9c0d".into());
        h.storage.insert(CAMPAIGN_KEY.into(), "x".into());
        let mut t = Tracker::new();
        t.begin(&mut h, Env::default());
        run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"denied"}]"#);
        assert_eq!(keys(&h), [CAMPAIGN_KEY, CLIENT_KEY], "a denial keeps them for a later grant");
        run(&mut t, &mut h, r#"["opt_out"]"#);
        assert_eq!(keys(&h), [OPT_OUT_KEY]);
        run(&mut t, &mut h, r#"["opt_out"]"#);
        assert_eq!(keys(&h), [OPT_OUT_KEY], "twice is once");

        // A key that appears later (another tab) is gone at the next start.
        h.storage.insert(VISIT_KEY.into(), "v".into());
        let mut t = Tracker::new();
        t.begin(&mut h, Env::default());
        assert_eq!(keys(&h), [OPT_OUT_KEY]);
        // Opting in without being opted out touches nothing.
        h.storage.clear();
        let (mut t, mut h) = unset();
        run(&mut t, &mut h, r#"["opt_in"]"#);
        assert!(h.storage.is_empty());
        run(&mut t, &mut h, r#"["event","held"]"#);
        assert!(sent(&mut t, &mut h).is_empty(), "consent still unknown: held");
    }

    #[test]
    fn advanced_mode_sends_cookieless_pings_while_denied() {
        let (mut t, mut h) = unset();
        t.configure(&json(r#"{"mode":"advanced"}"#), &mut h);
        h.page.url = "https://shop.example/?gclid=abc&utm_source=x".into();
        run(&mut t, &mut h, r#"["consent","default",{"analytics_storage":"denied","ad_storage":"denied"}]"#);
        t.page_view(&mut h, PageOverrides::default(), false);
        let e = &sent(&mut t, &mut h)[0];
        assert_eq!((e.client_id.as_ref(), e.visit_id.as_ref()), (None, None));
        let a = e.attribution.as_ref().unwrap();
        assert!(a.click_ids.is_empty(), "click IDs dropped with ad_storage denied");
        assert_eq!(a.utm.len(), 1);
        t.persist(&mut h);
        assert!(h.storage.is_empty());
    }

    #[test]
    fn a_click_writes_nothing_to_storage_on_its_own_path() {
        let (mut t, mut h) = with_goals();
        t.page_view(&mut h, PageOverrides::default(), false);
        h.now = t.wake_at().unwrap();
        t.tick(&mut h);
        let before = h.storage.clone();
        h.now += 60_000;
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "a".into(), ..Default::default() }, &[0]);
        assert_eq!(h.storage, before, "the click itself writes nothing");
        assert_eq!(t.save_at, Some(h.now + SAVE_DELAY_MS));
        h.now += SAVE_DELAY_MS;
        t.tick(&mut h);
        assert_ne!(h.storage, before, "the coalesced save a moment later");
    }

    /// A new page of the same site on the same storage.
    fn next_page(h: &mut FakeHost) -> Tracker {
        let mut t = Tracker::new();
        t.begin(h, Env::default());
        t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), h);
        t.consent_default(h, Partial::all(goaltag_wire::Signal::Granted), None);
        t
    }

    fn ids(events: &[Event]) -> Vec<String> {
        let mut v: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        v.sort();
        v
    }

    fn outbox_keys(h: &FakeHost) -> Vec<String> {
        h.storage.keys().filter(|k| k.starts_with(OUTBOX_PREFIX)).cloned().collect()
    }

    #[test]
    fn unacknowledged_events_survive_the_page_with_their_ids() {
        let (mut t, mut h) = ready();
        for a in ["a", "b", "c"] {
            run(&mut t, &mut h, &format!(r#"["event","{a}"]"#));
        }
        run(&mut t, &mut h, r#"["flush"]"#);
        let s = t.poll(h.now).unwrap();
        t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
        let sent_ids = {
            let mut v = s.ids.clone();
            v.sort();
            v
        };
        t.release(&mut h);
        assert_eq!(outbox_keys(&h).len(), 1);

        h.now += 60_000;
        let mut t2 = next_page(&mut h);
        assert!(outbox_keys(&h).is_empty(), "adopted: the released key is gone");
        let resent = sent(&mut t2, &mut h);
        assert_eq!(ids(&resent), sent_ids, "the same IDs, once");
        h.now += SAVE_DELAY_MS;
        t2.tick(&mut h);
        assert!(outbox_keys(&h).is_empty(), "acknowledged: nothing left to persist");
    }

    #[test]
    fn beaconed_events_are_resent_once_by_the_next_page() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","purchase",{"transaction_id":"T-5"}]"#);
        let beacons = t.beacon_bodies(h.now);
        assert_eq!(beacons.len(), 1);
        t.release(&mut h);
        t.tick(&mut h);
        assert!(h.storage.values().any(|v| v.starts_with("0\n")), "a released queue stays released");
        let mut t2 = next_page(&mut h);
        let again = sent(&mut t2, &mut h);
        assert_eq!(ids(&again), {
            let mut v = beacons[0].1.clone();
            v.sort();
            v
        });
        let mut t3 = next_page(&mut h);
        assert!(sent(&mut t3, &mut h).is_empty(), "once, not on every page");
    }

    #[test]
    fn a_live_tab_keeps_its_queue_and_a_gone_one_is_adopted() {
        let (mut a, mut h) = ready();
        run(&mut a, &mut h, r#"["event","from-a"]"#);
        run(&mut a, &mut h, r#"["flush"]"#);
        let s = a.poll(h.now).unwrap();
        a.on_outcome(s.batch, Outcome::Status { code: 503, retry_after_ms: Some(60_000) }, h.now, 0);
        h.now += SAVE_DELAY_MS;
        a.tick(&mut h);
        let a_key = a.outbox_key().to_string();
        assert_eq!(outbox_keys(&h), [a_key.clone()]);

        // Tab B opens while A lives: A's lease is fresh, so B only probes it.
        h.counter = 100;
        let mut b = next_page(&mut h);
        assert_eq!(b.take_probes(), [a_key.clone()], "Web Locks decide about a live lease");
        assert!(sent(&mut b, &mut h).is_empty(), "B does not send A's events");
        // A renews its lease while it waits for the collector.
        h.now += LEASE_MS;
        a.tick(&mut h);
        h.counter = 200;
        let mut c = next_page(&mut h);
        assert!(sent(&mut c, &mut h).is_empty(), "a renewed lease is still live");
        // A dies without a word (a crash): after the lease, the next page adopts.
        h.now += LEASE_MS + 1;
        h.counter = 50;
        let mut d = next_page(&mut h);
        let adopted = sent(&mut d, &mut h);
        assert_eq!(adopted.iter().filter_map(|e| e.action.as_deref()).collect::<Vec<_>>(), ["from-a"]);
        assert!(!h.storage.contains_key(&a_key));
        // The shell's lock check: granted means gone, so B adopts only what is still there.
        b.adopt(&mut h, &a_key);
        assert!(sent(&mut b, &mut h).is_empty());
    }

    #[test]
    fn revocation_removes_every_page_queue_and_delivery_is_configurable() {
        let (mut t, mut h) = ready();
        assert!(t.configure(&json(r#"{"delivery":{"max_events":2,"max_delay_ms":60000}}"#), &mut h).is_empty());
        run(&mut t, &mut h, r#"["event","a"]"#);
        assert!(t.poll(h.now).is_none(), "one event: the batch stays open");
        run(&mut t, &mut h, r#"["event","b"]"#);
        let s = t.poll(h.now).expect("max_events 2 closes the batch");
        assert_eq!(s.ids.len(), 2);
        t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
        h.storage.insert(format!("{OUTBOX_PREFIX}deadbeef"), "0\ngt1\t0\t0\t0".into());
        t.release(&mut h);
        assert_eq!(outbox_keys(&h).len(), 2);
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
        assert!(h.storage.is_empty(), "{:?}", h.storage);
        let errs = t.configure(&json(r#"{"delivery":{"max_events":0,"speed":1}}"#), &mut h);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["delivery.max_events", "delivery.speed"]);
    }

    // --- Consent after landing (issue 13): the ad click survives the banner ---

    const AD_URL: &str = "https://shop.example/?utm_source=bing&utm_medium=cpc&msclkid=abc123";
    const BING: &str = "https://www.bing.com/";
    const PURCHASE: &str = r#"["event","purchase",{"value":12.5,"currency":"EUR","transaction_id":"T-9"}]"#;

    /// A page load at `url` from `referrer`, tag configured with the goals and
    /// `extra` config, under the consent default `default` (None: unknown).
    fn load(h: &mut FakeHost, url: &str, referrer: &str, default: Option<&str>, extra: &str) -> Tracker {
        h.page = Page { url: url.into(), referrer: referrer.into(), title: "Shop".into() };
        let mut t = Tracker::new();
        t.begin(h, Env::default());
        assert!(t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), h).is_empty());
        assert!(t.configure(&json(GOALS), h).is_empty());
        assert!(t.configure(&json(extra), h).is_empty());
        if let Some(d) = default {
            run(&mut t, h, &["[\"consent\",\"default\",", d, "]"].concat());
        }
        t.page_view(h, PageOverrides::default(), false);
        t
    }

    const DENIED: &str = r#"{"analytics_storage":"denied","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#;
    const ACCEPT_ALL: &str = r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}]"#;

    fn click_id(a: Option<&goaltag_wire::Attribution>) -> Option<&str> {
        a.and_then(|a| a.click_ids.get("msclkid")).map(String::as_str)
    }

    #[test]
    fn denied_then_granted_on_the_landing_page_records_it_at_the_grant_with_its_campaign() {
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, Some(DENIED), "{}");
        h.now += 4_000;
        assert!(sent(&mut t, &mut h).is_empty(), "denied: nothing is sent");
        assert!(h.storage.is_empty(), "denied: nothing is stored");
        let granted_at = h.now;
        run(&mut t, &mut h, ACCEPT_ALL);
        let events = sent(&mut t, &mut h);
        assert_eq!(events.len(), 1, "{events:?}");
        let view = &events[0];
        assert_eq!((view.kind, view.ts), (Kind::PageView, granted_at), "recorded at the moment of the grant");
        assert_eq!((view.url.as_deref(), view.referrer.as_deref(), view.title.as_deref()), (Some(AD_URL), Some(BING), Some("Shop")));
        let a = view.attribution.as_ref().expect("the landing view carries the touch");
        assert_eq!(click_id(Some(a)), Some("abc123"));
        assert_eq!(a.utm.get("utm_source").map(String::as_str), Some("bing"));
        assert_eq!(a.referrer_host.as_deref(), Some("bing.com"));
        assert!(view.client_id.is_some() && view.visit_id.is_some());
        t.persist(&mut h);
        assert!(h.storage.contains_key(CAMPAIGN_KEY), "ad storage granted: the touch is kept for the next pages");
        // Nothing more at the next grant: the page was recorded once.
        run(&mut t, &mut h, ACCEPT_ALL);
        assert!(sent(&mut t, &mut h).is_empty());

        // The next page of the visit, then the purchase: credited to the ad.
        t.persist(&mut h);
        h.now += 10_000;
        let mut t2 = load(&mut h, "https://shop.example/cart.html", AD_URL, Some(DENIED), "{}");
        run(&mut t2, &mut h, ACCEPT_ALL);
        run(&mut t2, &mut h, PURCHASE);
        let events = sent(&mut t2, &mut h);
        let conv = conversions(&events);
        assert_eq!(conv.len(), 1);
        assert_eq!(click_id(conv[0].attribution.as_ref()), Some("abc123"));
        assert_eq!(conv[0].visit_id, view.visit_id, "one visit");
        assert_eq!(events[0].kind, Kind::PageView);
        assert!(events[0].attribution.is_none(), "a page inside the site is no new touch");
    }

    #[test]
    fn unknown_then_granted_sends_the_held_landing_view_once_at_its_own_time() {
        let mut h = FakeHost::new();
        let loaded_at = h.now;
        let mut t = load(&mut h, AD_URL, BING, None, "{}");
        h.now += 2_000;
        run(&mut t, &mut h, ACCEPT_ALL);
        run(&mut t, &mut h, PURCHASE);
        let events = sent(&mut t, &mut h);
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Kind::PageView, Kind::Event, Kind::Conversion], "the held view once, not again at the grant");
        assert_eq!(events[0].ts, loaded_at, "held, so sent with its own time");
        assert_eq!(click_id(events[0].attribution.as_ref()), Some("abc123"));
        assert_eq!(click_id(events[2].attribution.as_ref()), Some("abc123"));
    }

    #[test]
    fn unknown_then_denied_then_granted_records_the_page_once_at_the_grant() {
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, None, "{}");
        h.now += 1_000;
        run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
        assert!(sent(&mut t, &mut h).is_empty());
        h.now += 1_000;
        let granted_at = h.now;
        run(&mut t, &mut h, ACCEPT_ALL);
        let events = sent(&mut t, &mut h);
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].kind, events[0].ts), (Kind::PageView, granted_at));
        assert_eq!(click_id(events[0].attribution.as_ref()), Some("abc123"));
    }

    #[test]
    fn spa_navigations_while_denied_record_only_the_current_page_with_the_landing_touch() {
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, Some(DENIED), "{}");
        for path in ["https://shop.example/specials.html", "https://shop.example/product.html?sku=coffee"] {
            h.now += 1_000;
            h.page.title = path.into();
            let a = At { ms: h.now, url: path.into() };
            t.navigated(&mut h, a, None);
        }
        h.now += 1_000;
        run(&mut t, &mut h, ACCEPT_ALL);
        run(&mut t, &mut h, PURCHASE);
        let events = sent(&mut t, &mut h);
        let views: Vec<_> = events.iter().filter(|e| e.kind == Kind::PageView).collect();
        assert_eq!(views.len(), 1, "only the current page, once");
        assert_eq!(views[0].url.as_deref(), Some("https://shop.example/product.html?sku=coffee"));
        assert_eq!(views[0].referrer.as_deref(), Some("https://shop.example/specials.html"));
        let a = views[0].attribution.as_ref().expect("the touch of the URL the page loaded with");
        assert_eq!(a.landing_url.as_deref(), Some(AD_URL));
        assert_eq!(click_id(conversions(&events)[0].attribution.as_ref()), Some("abc123"));
    }

    #[test]
    fn granted_only_on_the_second_page_keeps_the_campaign_only_with_url_passthrough() {
        for passthrough in [false, true] {
            let mut h = FakeHost::new();
            let extra = if passthrough { r#"{"url_passthrough":true}"# } else { "{}" };
            let t = load(&mut h, AD_URL, BING, Some(DENIED), extra);
            // The visitor follows a link to the specials, still denied.
            let link = "https://shop.example/specials.html#top";
            let next = t.decorate(link, AD_URL);
            assert_eq!(next.is_some(), passthrough);
            let next = next.unwrap_or(link.into());
            assert!(h.storage.is_empty(), "nothing stored for the passthrough");
            h.now += 5_000;
            let mut t2 = load(&mut h, &next, AD_URL, Some(DENIED), extra);
            assert!(sent(&mut t2, &mut h).is_empty());
            run(&mut t2, &mut h, ACCEPT_ALL);
            run(&mut t2, &mut h, PURCHASE);
            let events = sent(&mut t2, &mut h);
            assert_eq!(events[0].kind, Kind::PageView);
            let conv = conversions(&events);
            if passthrough {
                assert_eq!(next, "https://shop.example/specials.html?utm_source=bing&utm_medium=cpc&msclkid=abc123#top");
                assert_eq!(click_id(events[0].attribution.as_ref()), Some("abc123"), "the landing of the grant");
                assert_eq!(click_id(conv[0].attribution.as_ref()), Some("abc123"));
                assert_eq!(conv[0].attribution.as_ref().unwrap().utm.get("utm_source").map(String::as_str), Some("bing"));
                assert_eq!(t2.decorate(link, &next), None, "ad storage granted: links are left alone");
            } else {
                assert!(events[0].attribution.is_none(), "an internal referrer is no touch");
                assert!(conv[0].attribution.is_none(), "without passthrough the campaign is gone");
            }
        }
    }

    #[test]
    fn url_passthrough_only_while_ad_storage_is_not_granted_and_never_after_an_opt_out() {
        let mut h = FakeHost::new();
        let link = "https://shop.example/cart.html";
        let t = load(&mut h, AD_URL, BING, None, "{}");
        assert_eq!(t.decorate(link, AD_URL), None, "off by default");
        let on = r#"{"url_passthrough":true,"redact_params":["utm_medium"]}"#;
        let mut t = load(&mut h, AD_URL, BING, None, on);
        assert_eq!(
            t.decorate(link, AD_URL).as_deref(),
            Some("https://shop.example/cart.html?utm_source=bing&msclkid=abc123"),
            "unknown, redacted"
        );
        assert_eq!(t.decorate("https://other.example/", AD_URL), None);
        let mut fields = t.passthrough_fields("https://shop.example/search", AD_URL, |n| n == "utm_source");
        fields.sort();
        assert_eq!(fields, [("msclkid".to_string(), "abc123".to_string())]);
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted","ad_storage":"denied"}]"#);
        assert!(t.passthrough_active(), "analytics alone does not end it");
        run(&mut t, &mut h, r#"["consent","update",{"ad_storage":"granted"}]"#);
        assert!(!t.passthrough_active());
        let mut t = load(&mut h, AD_URL, BING, Some(DENIED), on);
        run(&mut t, &mut h, r#"["opt_out"]"#);
        assert!(!t.passthrough_active());
        let t = load(&mut h, "https://shop.example/?q=1", "", Some(DENIED), on);
        assert!(!t.passthrough_active(), "a landing without campaign parameters has nothing to carry");
    }

    #[test]
    fn advanced_mode_pings_then_a_grant_still_credits_the_landing_touch() {
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, Some(DENIED), r#"{"mode":"advanced"}"#);
        let pings = sent(&mut t, &mut h);
        assert_eq!(pings.len(), 1);
        assert!(pings[0].client_id.is_none() && pings[0].visit_id.is_none());
        assert_eq!(click_id(pings[0].attribution.as_ref()), None, "ad storage denied: no click IDs");
        run(&mut t, &mut h, ACCEPT_ALL);
        run(&mut t, &mut h, PURCHASE);
        let events = sent(&mut t, &mut h);
        assert!(events.iter().all(|e| e.kind != Kind::PageView), "the page was recorded (as a ping) already");
        assert_eq!(click_id(conversions(&events)[0].attribution.as_ref()), Some("abc123"));
    }

    #[test]
    fn basic_mode_revocation_drops_what_was_not_sent_and_counts_it() {
        let (mut t, mut h) = ready();
        t.page_view(&mut h, PageOverrides::default(), false);
        assert_eq!(sent(&mut t, &mut h).len(), 1);
        // Recorded in the same task as the revocation (a click on "Reject all").
        let a = at(&h);
        t.click(&mut h, a, Element { tag: "button".into(), ..Default::default() }, &[]);
        run(&mut t, &mut h, r#"["event","same-task"]"#);
        run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
        h.now += 60_000;
        t.tick(&mut h);
        assert!(sent(&mut t, &mut h).is_empty(), "nothing recorded before the revocation leaves");
        assert!(t.beacon_bodies(h.now).is_empty(), "not even when the page hides");
        assert_eq!(t.outbox.dropped().consent, 2);
        // A later grant sends only what comes after it, and says what was dropped.
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"granted"}]"#);
        run(&mut t, &mut h, r#"["event","after"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let batches = send_all(&mut t, &mut h);
        let events: Vec<_> = batches.iter().flat_map(|b| &b.events).map(|e| e.action.as_deref()).collect();
        assert_eq!(events, [Some("after")]);
        assert_eq!(batches.first().map(|b| b.dropped.consent), Some(2));
    }

    #[test]
    fn a_batch_in_flight_at_the_revocation_is_never_retried() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","a"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let s = t.poll(h.now).expect("a batch in flight");
        run(&mut t, &mut h, r#"["consent","update",{"analytics_storage":"denied"}]"#);
        t.on_outcome(s.batch, Outcome::NetworkError, h.now, 0);
        h.now += 600_000;
        assert!(t.poll(h.now).is_none());
        assert_eq!(t.outbox.dropped().consent, 0, "it left while allowed: not counted as dropped");
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn advanced_mode_revocation_strips_what_is_queued_like_what_comes_after() {
        let mut h = FakeHost::new();
        let mut t = load(&mut h, AD_URL, BING, None, r#"{"mode":"advanced"}"#);
        run(&mut t, &mut h, ACCEPT_ALL);
        run(&mut t, &mut h, PURCHASE);
        run(&mut t, &mut h, &["[\"consent\",\"update\",", DENIED, "]"].concat());
        run(&mut t, &mut h, r#"["event","after"]"#);
        let events = sent(&mut t, &mut h);
        assert_eq!(events.len(), 4, "view, purchase, conversion, after: {events:?}");
        for e in &events {
            assert!(e.client_id.is_none() && e.visit_id.is_none(), "{e:?}");
            assert_eq!(click_id(e.attribution.as_ref()), None);
            assert_eq!(e.consent.unwrap().analytics_storage, goaltag_wire::Signal::Denied);
        }
        let conv = conversions(&events)[0];
        assert_eq!(conv.attribution.as_ref().unwrap().utm.get("utm_source").map(String::as_str), Some("bing"), "utm is no ad data");
        assert_eq!(conv.value, Some(12.5));
    }
}
