//! Test fixtures of the tracker: a deterministic [`Host`] and the steps the
//! tests repeat (a configured tracker, running a command, sending what is due).

use crate::core::command::parse;
use crate::core::command::PageOverrides;
use crate::core::consent::{Env, Partial};
use crate::core::error::ConfigError;
use crate::core::goals::Patterns;
use crate::core::outbox::Outcome;
use crate::core::tracker::*;
use crate::core::val::json;
use crate::prelude::*;
use goaltag_wire::Batch;
use goaltag_wire::{Event, Kind};

/// A deterministic host: a settable clock and a counter for randomness.
pub(crate) struct FakeHost {
    /// The clock, ms since the epoch.
    pub now: u64,
    pub counter: u64,
    pub page: Page,
    /// Stands in for localStorage.
    pub storage: std::collections::BTreeMap<String, String>,
    /// Every write to `storage`, in order: the key written, or `-` and the
    /// key removed.
    pub writes: Vec<String>,
}

impl FakeHost {
    pub fn new() -> Self {
        FakeHost {
            now: 1_764_000_000_000,
            counter: 0,
            page: Page { url: "https://shop.example/".into(), referrer: "https://news.example/a".into(), title: "Home".into() },
            storage: Default::default(),
            writes: Vec::new(),
        }
    }
}

impl Host for FakeHost {
    fn now(&self) -> u64 {
        self.now
    }
    /// Distinct for every draw: the counter's low byte repeated (the
    /// IDs tests know), its higher bytes mixed in past 255 draws.
    fn random(&mut self) -> [u8; 16] {
        self.counter += 1;
        let mut b = [self.counter as u8; 16];
        for (x, h) in b.iter_mut().zip(self.counter.to_le_bytes().into_iter().skip(1)) {
            *x ^= h;
        }
        b
    }
    fn page(&self) -> Page {
        self.page.clone()
    }
    fn load(&self, key: &str) -> Option<String> {
        self.storage.get(key).cloned()
    }
    fn save(&mut self, key: &str, value: &str) {
        self.writes.push(key.into());
        self.storage.insert(key.into(), value.into());
    }
    fn remove(&mut self, key: &str) {
        self.writes.push(["-", key].concat());
        self.storage.remove(key);
    }
    fn keys(&self, prefix: &str) -> Vec<String> {
        self.storage.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }
}

impl Patterns for FakeHost {
    fn compile(&self, p: &str) -> Result<Box<dyn crate::core::goals::Pattern>, String> {
        super::Re.compile(p)
    }
}

pub(crate) fn run(t: &mut Tracker, h: &mut FakeHost, call: &str) -> Vec<ConfigError> {
    let (cmd, mut errs) = parse(json(call).as_list().unwrap()).unwrap();
    errs.extend(t.handle(cmd, h));
    errs
}

pub(crate) fn send_all(t: &mut Tracker, h: &mut FakeHost) -> Vec<Batch> {
    let mut out = Vec::new();
    while let Some(s) = t.poll(h.now) {
        out.push(serde_json::from_str::<Batch>(&s.body).unwrap());
        t.on_outcome(s.batch, Outcome::Status { code: 204, retry_after_ms: None }, h.now, 0);
    }
    out
}

/// A click or submit happening now, where the fake page is.
pub(crate) fn at(h: &FakeHost) -> At {
    At { ms: h.now(), url: h.url() }
}

pub(crate) fn ready() -> (Tracker, FakeHost) {
    let mut t = Tracker::new();
    let mut h = FakeHost::new();
    t.begin(&mut h, Env::default());
    assert!(t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h).is_empty());
    t.consent_default(&mut h, Partial::all(goaltag_wire::Signal::Granted), None);
    (t, h)
}

pub(crate) fn unset() -> (Tracker, FakeHost) {
    let mut t = Tracker::new();
    let mut h = FakeHost::new();
    t.begin(&mut h, Env::default());
    t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), &mut h);
    (t, h)
}

pub(crate) const GOALS: &str = r#"{"goals":[
    {"id":"purchase","primary":true,"when":{"type":"event","action":{"op":"equals","value":"purchase"}},
     "revenue":{"kind":"variable","default":1},"currency":"EUR"},
    {"id":"specials","primary":false,"when":{"type":"url","op":"begins_with","value":"/specials"},"count":"once_per_visit"},
    {"id":"cta","when":{"type":"click","selector":".cta"}},
    {"id":"read","when":{"type":"duration","min_seconds":5}}]}"#;

pub(crate) fn with_goals() -> (Tracker, FakeHost) {
    let (mut t, mut h) = ready();
    assert!(t.configure(&json(GOALS), &mut h).is_empty());
    (t, h)
}

pub(crate) fn sent(t: &mut Tracker, h: &mut FakeHost) -> Vec<Event> {
    run(t, h, r#"["flush"]"#);
    send_all(t, h).into_iter().flat_map(|b| b.events).collect()
}

pub(crate) fn conversions(events: &[Event]) -> Vec<&Event> {
    events.iter().filter(|e| e.kind == Kind::Conversion).collect()
}

pub(crate) fn keys(h: &FakeHost) -> Vec<&str> {
    h.storage.keys().map(String::as_str).collect()
}

/// A new page of the same site on the same storage.
pub(crate) fn next_page(h: &mut FakeHost) -> Tracker {
    let mut t = Tracker::new();
    t.begin(h, Env::default());
    t.configure(&json(r#"{"site":"demo-shop","collector":"/collect"}"#), h);
    t.consent_default(h, Partial::all(goaltag_wire::Signal::Granted), None);
    t
}

pub(crate) fn ids(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    v.sort();
    v
}

pub(crate) fn outbox_keys(h: &FakeHost) -> Vec<String> {
    h.storage.keys().filter(|k| k.starts_with(OUTBOX_PREFIX)).cloned().collect()
}

pub(crate) const AD_URL: &str = "https://shop.example/?utm_source=bing&utm_medium=cpc&msclkid=abc123";

pub(crate) const BING: &str = "https://www.bing.com/";

pub(crate) const PURCHASE: &str = r#"["event","purchase",{"value":12.5,"currency":"EUR","transaction_id":"T-9"}]"#;

/// A page load at `url` from `referrer`, tag configured with the goals and
/// `extra` config, under the consent default `default` (None: unknown).
pub(crate) fn load(h: &mut FakeHost, url: &str, referrer: &str, default: Option<&str>, extra: &str) -> Tracker {
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

pub(crate) const DENIED: &str =
    r#"{"analytics_storage":"denied","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#;

/// A consent default that grants all four types: the visitor answered the
/// banner on an earlier visit, or the site does not need one.
pub(crate) const GRANTED: &str =
    r#"{"analytics_storage":"granted","ad_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}"#;

pub(crate) const ACCEPT_ALL: &str = r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}]"#;

pub(crate) fn click_id(a: Option<&goaltag_wire::Attribution>) -> Option<&str> {
    a.and_then(|a| a.click_ids.get("msclkid")).map(String::as_str)
}
