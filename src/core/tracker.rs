//! The tracker: the one object the browser shell drives. It turns commands and
//! observed page facts into wire events, and hands batches to send back to the
//! shell. Everything the shell needs from the browser comes in through [`Host`].

use crate::core::command::{Command, EventParams, PageOverrides};
use crate::core::config::Config;
use crate::core::error::ConfigError;
use crate::core::id::uuid_v4;
use crate::core::outbox::{Item, Outbox, Outcome, Policy, Send};
use crate::core::val::Val;
use crate::core::capture;
use crate::core::consent::{Consent, Effect, Env, Held, Mode, Partial, Route};
use goaltag_wire::{Element, Event, Form, Kind};

/// What the tracker reads from its surroundings: the clock, randomness and the
/// current page. The browser implements it with `Date.now()`,
/// `crypto.getRandomValues` and `document`; tests with fixed values.
pub trait Host {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> u64;
    /// 16 cryptographically random bytes.
    fn random(&mut self) -> [u8; 16];
    fn page(&self) -> Page;
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

/// Cuts `s` to at most `max` characters, on a character boundary.
fn cut(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

pub struct Tracker {
    pub config: Config,
    outbox: Outbox,
    /// URL of the last page view, so an SPA that reports the same path twice in
    /// a row counts it once, and so the next virtual page has a referrer.
    last_page: Option<String>,
    /// Consent decides, for every event recorded, whether it is held in
    /// memory, queued for sending, or dropped: the one gate for sending.
    consent: Consent,
    /// Events recorded while consent is unknown (memory only, bounded).
    held: Held<Event>,
    /// Console warnings for the shell to print.
    warnings: Vec<String>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new()
    }
}

impl Tracker {
    pub fn new() -> Self {
        Tracker {
            config: Config::default(),
            outbox: Outbox::new(String::new(), Policy::default()),
            last_page: None,
            consent: Consent::new(Mode::Basic, Env::default(), 0),
            held: Held::new(),
            warnings: Vec::new(),
        }
    }

    /// Starts the consent clock (the "no consent set" warning comes 10 s
    /// after this) with what the browser signals (GPC, DNT).
    pub fn begin(&mut self, env: Env, now: u64) {
        self.consent = Consent::new(Mode::Basic, env, now);
    }

    /// `data-consent` and `goaltag('consent', 'default', …)`.
    pub fn consent_default(&mut self, p: Partial, wait_ms: Option<u64>, now: u64) {
        let fx = self.consent.set_default(p, wait_ms, now);
        self.apply(fx, now);
    }

    /// `goaltag('consent', 'update', …)`: the visitor's choice.
    pub fn consent_update(&mut self, p: Partial, now: u64) {
        let fx = self.consent.update(p, now);
        self.apply(fx, now);
    }

    fn apply(&mut self, effects: Vec<Effect>, now: u64) {
        for fx in effects {
            match fx {
                Effect::ReleaseHeld => {
                    for e in self.held.drain() {
                        self.record(e, now);
                    }
                }
                Effect::DiscardHeld => self.held.clear(),
                // The tag stores nothing in the browser yet, so there is nothing to purge.
                Effect::PurgeStorage { .. } => {}
                Effect::WarnNoConsent => self.warnings.push(
                    "goaltag: no consent state was set, so nothing is sent. Set one with data-consent=\"granted\" \
                     on the script tag or goaltag('consent', 'default', {analytics_storage: 'granted', …})"
                        .into(),
                ),
            }
        }
    }

    /// Runs what is due by the clock (consent waits and warnings); returns
    /// console warnings to print.
    pub fn tick(&mut self, now: u64) -> Vec<String> {
        let fx = self.consent.tick(now);
        self.apply(fx, now);
        std::mem::take(&mut self.warnings)
    }

    /// True once a site and a collector are configured; until then events are
    /// kept, not sent.
    pub fn ready(&self) -> bool {
        self.config.missing().is_none()
    }

    pub fn configure(&mut self, v: &Val) -> Vec<ConfigError> {
        let errors = self.config.apply(v);
        if let Some(site) = &self.config.site {
            self.outbox.set_site(site.clone());
        }
        errors
    }

    /// Runs one parsed command.
    pub fn handle(&mut self, cmd: Command, host: &mut dyn Host) -> Vec<ConfigError> {
        match cmd {
            Command::Config(v) => return self.configure(&v),
            Command::PageView(o) => self.page_view(host, o, false),
            Command::Event(p) => self.event(host, p),
            Command::Flush => self.handle_flush(),
            Command::Consent { update: true, partial, .. } => self.consent_update(partial, host.now()),
            Command::Consent { update: false, partial, wait_for_update_ms } => {
                self.consent_default(partial, wait_for_update_ms, host.now())
            }
        }
        Vec::new()
    }

    /// Records a page view. `navigation` is true for SPA history changes, where
    /// the same URL twice in a row is one page view, not two.
    pub fn page_view(&mut self, host: &mut dyn Host, o: PageOverrides, navigation: bool) {
        let page = host.page();
        let url = o.url.unwrap_or(page.url);
        if navigation && self.last_page.as_deref().map(|p| self.same_page(p, &url)) == Some(true) {
            return;
        }
        let referrer = match (&self.last_page, navigation) {
            (Some(prev), true) => prev.clone(),
            _ => page.referrer,
        };
        let mut e = self.new_event(host, Kind::PageView);
        e.url = Some(url.clone());
        e.referrer = Some(referrer);
        e.title = Some(o.title.unwrap_or(page.title));
        self.last_page = Some(url);
        self.record(e, host.now());
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

    /// An auto-captured click on `el` (already described by the shell).
    pub fn click(&mut self, host: &mut dyn Host, mut el: Element) {
        let page = host.page().url;
        el.outbound = el.href.as_deref().and_then(|h| capture::is_outbound(h, &page));
        let mut e = self.new_event(host, Kind::Click);
        e.url = Some(page);
        e.element = Some(el);
        self.record(e, host.now());
    }

    /// An auto-captured form submit: the form's identity and field count only.
    pub fn submit(&mut self, host: &mut dyn Host, form: Form) {
        let mut e = self.new_event(host, Kind::FormSubmit);
        e.url = Some(host.page().url);
        e.form = Some(form);
        self.record(e, host.now());
    }

    fn event(&mut self, host: &mut dyn Host, p: EventParams) {
        let mut e = self.new_event(host, Kind::Event);
        e.url = Some(host.page().url);
        e.action = Some(p.action);
        e.category = p.category;
        e.label = p.label;
        e.value = p.value;
        e.currency = p.currency;
        e.transaction_id = p.transaction_id;
        self.record(e, host.now());
    }

    fn new_event(&self, host: &mut dyn Host, kind: Kind) -> Event {
        Event::new(uuid_v4(host.random()), kind, host.now())
    }

    /// Routes an event through consent: held while consent is unknown, queued
    /// (stamped with the consent it was recorded under, serialised once so
    /// every retry sends the same bytes) when allowed, dropped otherwise.
    pub fn record(&mut self, mut e: Event, now: u64) {
        match self.consent.route() {
            Route::Hold => {
                self.held.push(e);
                return;
            }
            Route::Drop => return,
            Route::Send { .. } => {}
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
        e.consent = Some(self.consent.snapshot());
        if self.consent.gpc() {
            e.gpc = Some(true);
        }
        let item = Item {
            conversion: e.kind == Kind::Conversion,
            json: e.to_json(),
            id: e.id,
            created_ms: now,
            beacon_sent: false,
        };
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
    pub fn poll(&mut self, now: u64, rand: u32) -> Option<Send> {
        if !self.ready() {
            return None;
        }
        self.outbox.poll(now, rand)
    }

    pub fn on_outcome(&mut self, batch: u64, outcome: Outcome, now: u64, rand: u32) {
        self.outbox.on_outcome(batch, outcome, now, rand);
    }

    /// When [`Tracker::poll`] should next be called, if ever.
    pub fn wake_at(&self) -> Option<u64> {
        let consent = self.consent.wake_at();
        let outbox = if self.ready() { self.outbox.wake_at() } else { None };
        match (consent, outbox) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
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
    use goaltag_wire::Batch;

    /// A deterministic host: a settable clock and a counter for randomness.
    pub struct FakeHost {
        pub now: u64,
        pub counter: u8,
        pub page: Page,
    }

    impl FakeHost {
        pub fn new() -> Self {
            FakeHost {
                now: 1_764_000_000_000,
                counter: 0,
                page: Page { url: "https://shop.example/".into(), referrer: "https://news.example/a".into(), title: "Home".into() },
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
    }

    fn run(t: &mut Tracker, h: &mut FakeHost, call: &str) -> Vec<ConfigError> {
        let (cmd, mut errs) = parse(json(call).as_list().unwrap()).unwrap();
        errs.extend(t.handle(cmd, h));
        errs
    }

    fn send_all(t: &mut Tracker, h: &mut FakeHost) -> Vec<Batch> {
        let mut out = Vec::new();
        while let Some(s) = t.poll(h.now, 0) {
            out.push(serde_json::from_str::<Batch>(&s.body).unwrap());
            t.on_outcome(s.batch, Outcome::Status { code: 204, retry_after_ms: None }, h.now, 0);
        }
        out
    }

    fn ready() -> (Tracker, FakeHost) {
        let mut t = Tracker::new();
        let h = FakeHost::new();
        t.begin(Env::default(), h.now);
        assert!(t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#)).is_empty());
        t.consent_default(Partial::all(goaltag_wire::Signal::Granted), None, h.now);
        (t, h)
    }

    fn unset() -> (Tracker, FakeHost) {
        let mut t = Tracker::new();
        let h = FakeHost::new();
        t.begin(Env::default(), h.now);
        t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#));
        (t, h)
    }

    #[test]
    fn with_consent_unknown_events_are_held_then_sent_once_on_grant() {
        let (mut t, mut h) = unset();
        run(&mut t, &mut h, r#"["event","early"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        assert!(t.poll(h.now, 0).is_none(), "nothing is sent while consent is unknown");
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
        let actions: Vec<_> =
            send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).filter_map(|e| e.action).collect();
        assert_eq!(actions, ["after-grant"]);
    }

    #[test]
    fn one_warning_when_no_consent_is_ever_set() {
        let (mut t, h) = unset();
        assert!(t.tick(h.now + 9_999).is_empty());
        assert_eq!(t.wake_at(), Some(h.now + 10_000));
        let w = t.tick(h.now + 10_000);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("data-consent"));
        assert!(t.tick(h.now + 60_000).is_empty());
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
        t.begin(Env { gpc: true, ..Env::default() }, h.now);
        t.consent_default(Partial::all(goaltag_wire::Signal::Granted), None, h.now);
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
        assert_eq!(e.id, "01010101-0101-4101-8101-010101010101");
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
        t.consent_default(Partial::all(goaltag_wire::Signal::Granted), None, h.now);
        run(&mut t, &mut h, r#"["event","early"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        assert!(t.poll(h.now, 0).is_none());
        assert_eq!(t.wake_at(), None);
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
        t.configure(&json(r#"{"hash_routing":true}"#));
        h.page.url = "https://shop.example/#/cart".into();
        t.page_view(&mut h, PageOverrides::default(), true);
        assert_eq!(t.pending(), 2);
    }

    #[test]
    fn clicks_and_submits_carry_their_descriptors() {
        let (mut t, mut h) = ready();
        let el = Element { tag: "a".into(), href: Some("https://partner.example/".into()), text: Some("Partner".into()), ..Default::default() };
        t.click(&mut h, el);
        t.submit(&mut h, Form { id: Some("newsletter".into()), fields: 2, ..Default::default() });
        run(&mut t, &mut h, r#"["flush"]"#);
        let events: Vec<_> = send_all(&mut t, &mut h).into_iter().flat_map(|b| b.events).collect();
        assert_eq!(events[0].kind, Kind::Click);
        assert_eq!(events[0].element.as_ref().unwrap().outbound, Some(true));
        assert_eq!(events[0].url.as_deref(), Some("https://shop.example/"));
        assert_eq!(events[1].kind, Kind::FormSubmit);
        assert_eq!(events[1].form.as_ref().unwrap().fields, 2);
    }

    #[test]
    fn a_hiding_page_beacons_everything_unacknowledged_including_what_is_in_flight() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","a"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let in_flight = t.poll(h.now, 0).unwrap();
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
    fn a_failed_send_is_retried_with_the_same_ids() {
        let (mut t, mut h) = ready();
        run(&mut t, &mut h, r#"["event","x"]"#);
        run(&mut t, &mut h, r#"["flush"]"#);
        let first = t.poll(h.now, 0).unwrap();
        t.on_outcome(first.batch, Outcome::NetworkError, h.now, 0);
        assert!(t.poll(h.now, 0).is_none(), "no immediate retry storm");
        h.now = t.wake_at().unwrap();
        let second = t.poll(h.now, 0).unwrap();
        assert_eq!(first.ids, second.ids);
        assert_eq!(serde_json::from_str::<Batch>(&second.body).unwrap().attempt, 2);
    }
}
