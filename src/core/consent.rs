//! Consent: the one place that decides what the tag may send and store. Pure
//! state machine: the [`Tracker`](crate::core::tracker::Tracker) passes the
//! time in, asks [`Consent::route`] for every event and [`Consent::may_store`]
//! for every storage access, and carries out the [`Effect`]s that each
//! transition returns, so every path is tested natively.
//!
//! The effective state is built in layers, lowest first: the site's defaults;
//! the banner's updates (an update wins over a default whatever order they
//! arrive in, since a CMP may answer before the page's default runs); then the
//! browser's signals (DNT, GPC) and the visitor's opt-out, which no update lifts.
//! A type that no default or update named is denied.

use crate::core::error::ConfigError;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::{Consent as Snapshot, Signal};

/// With no consent state this long after start, one console warning says how to set it.
pub const WARN_AFTER_MS: u64 = 10_000;
/// Events held at most while consent is unknown or awaited; memory is all they may use.
pub const HELD_CAPACITY: usize = 200;
/// Longest accepted `wait_for_update`: held events are lost if the page closes first.
pub const MAX_WAIT_MS: u64 = 60_000;

/// `basic` sends nothing without analytics consent; `advanced` sends cookieless pings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Basic,
    Advanced,
}

/// Parses a `mode` setting (`"basic"` or `"advanced"`); `field` names it in the error.
pub fn parse_mode(v: &Val, field: &str) -> Result<Mode, ConfigError> {
    match v.as_str() {
        Some("basic") => Ok(Mode::Basic),
        Some("advanced") => Ok(Mode::Advanced),
        _ => Err(ConfigError::new(field, "\"basic\" or \"advanced\"", v)),
    }
}

/// What a storage access or a data item needs consent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The tag's first-party state: client ID, visit, persisted outbox, once-per-user memory.
    Analytics,
    /// Stored click IDs and attribution.
    Ads,
    /// User-provided data (none yet; the gate exists so adding some cannot skip it).
    UserData,
}

/// The four consent types, with Google Consent Mode v2 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentType {
    AnalyticsStorage,
    AdStorage,
    AdUserData,
    AdPersonalization,
}

impl ConsentType {
    pub const ALL: [ConsentType; 4] =
        [ConsentType::AnalyticsStorage, ConsentType::AdStorage, ConsentType::AdUserData, ConsentType::AdPersonalization];

    pub fn name(self) -> &'static str {
        match self {
            ConsentType::AnalyticsStorage => "analytics_storage",
            ConsentType::AdStorage => "ad_storage",
            ConsentType::AdUserData => "ad_user_data",
            ConsentType::AdPersonalization => "ad_personalization",
        }
    }

    pub fn from_name(s: &str) -> Option<ConsentType> {
        ConsentType::ALL.into_iter().find(|t| t.name() == s)
    }
}

const TYPE_NAMES: &str = "one of analytics_storage, ad_storage, ad_user_data, ad_personalization";

/// Some of the four types, as one command or adapter gives them; `None` = not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Partial {
    pub analytics_storage: Option<Signal>,
    pub ad_storage: Option<Signal>,
    pub ad_user_data: Option<Signal>,
    pub ad_personalization: Option<Signal>,
}

impl Partial {
    /// All four types set to `s`: what `data-consent="granted"` means.
    pub fn all(s: Signal) -> Partial {
        Partial { analytics_storage: Some(s), ad_storage: Some(s), ad_user_data: Some(s), ad_personalization: Some(s) }
    }

    pub fn get(&self, t: ConsentType) -> Option<Signal> {
        match t {
            ConsentType::AnalyticsStorage => self.analytics_storage,
            ConsentType::AdStorage => self.ad_storage,
            ConsentType::AdUserData => self.ad_user_data,
            ConsentType::AdPersonalization => self.ad_personalization,
        }
    }

    pub fn set(&mut self, t: ConsentType, s: Option<Signal>) {
        match t {
            ConsentType::AnalyticsStorage => self.analytics_storage = s,
            ConsentType::AdStorage => self.ad_storage = s,
            ConsentType::AdUserData => self.ad_user_data = s,
            ConsentType::AdPersonalization => self.ad_personalization = s,
        }
    }

    /// Types given in `over` replace ours; the others are kept (partial updates).
    fn merge(&mut self, over: Partial) {
        for t in ConsentType::ALL {
            if let Some(s) = over.get(t) {
                self.set(t, Some(s));
            }
        }
    }
}

/// `"granted"` or `"denied"`, exactly: a misspelt value must not silently grant or deny.
pub fn parse_signal(v: &Val, field: &str) -> Result<Signal, ConfigError> {
    match v.as_str() {
        Some("granted") => Ok(Signal::Granted),
        Some("denied") => Ok(Signal::Denied),
        _ => Err(ConfigError::new(field, "\"granted\" or \"denied\"", v)),
    }
}

/// The `data-consent` attribute: a default for all four types.
pub fn parse_data_consent(v: &Val) -> Result<Partial, ConfigError> {
    parse_signal(v, "data-consent").map(Partial::all)
}

/// Parses the object of `goaltag('consent', 'default'|'update', {...})` into the
/// types it gives and its `wait_for_update` (ms; only [`Consent::set_default`]
/// uses it, an update's is accepted and ignored). Strict: an unknown key (say a
/// GCM `region`) rejects the whole command rather than apply half of it.
pub fn parse_partial(v: &Val, command: &str) -> Result<(Partial, Option<u64>), ConfigError> {
    if command != "default" && command != "update" {
        return Err(ConfigError::new("goaltag('consent', command, …)", "one of default, update, source", &Val::Str(command.to_owned())));
    }
    let Some(fields) = v.as_map() else {
        return Err(ConfigError::new(
            crate::core::error::cat(&["goaltag('consent', '", command, "', …)"]),
            "an object like {analytics_storage: 'granted', ad_storage: 'denied'}",
            v,
        ));
    };
    let mut p = Partial::default();
    let mut wait = None;
    for (key, val) in fields {
        if val.is_null() {
            continue;
        }
        let field = crate::core::error::cat(&["consent.", key]);
        if let Some(t) = ConsentType::from_name(key) {
            p.set(t, Some(parse_signal(val, &field)?));
        } else if key == "wait_for_update" {
            wait = Some(crate::core::fields::number_in(val, &field, "milliseconds", 0, MAX_WAIT_MS, true)? as u64);
        } else {
            return Err(crate::core::fields::unknown(&field, &crate::core::error::cat(&[TYPE_NAMES, ", wait_for_update"])));
        }
    }
    Ok((p, wait))
}

/// What the browser and the visitor said, outside any banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Env {
    /// `navigator.globalPrivacyControl === true`.
    pub gpc: bool,
    /// Config `honor_gpc` (default true): GPC denies the three ad types.
    pub honor_gpc: bool,
    /// `navigator.doNotTrack == "1"`.
    pub dnt: bool,
    /// Config `honor_dnt` (default false): DNT denies everything.
    pub honor_dnt: bool,
    /// The opt-out marker is stored: nothing is sent or stored.
    pub opted_out: bool,
}

impl Default for Env {
    fn default() -> Self {
        Env { gpc: false, honor_gpc: true, dnt: false, honor_dnt: false, opted_out: false }
    }
}

/// What to do with an event recorded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Consent unknown or awaited: keep in memory ([`Held`]) until an effect says otherwise.
    Hold,
    /// Send. `identifiers: false` is a cookieless ping: no client or visit ID from
    /// storage, no stored click IDs. `ad_data: false` also drops click IDs taken
    /// from the current URL.
    Send { identifiers: bool, ad_data: bool },
    /// Record nothing: basic mode with analytics denied, or opted out.
    Drop,
}

/// What the [`Tracker`](crate::core::tracker::Tracker) must do after a transition, in the order given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Route held events again, re-stamping their snapshot now; also the signal to
    /// resume sending after a denial (a queue must never stay paused).
    ReleaseHeld,
    /// Forget held events: the decision is that they may never be sent.
    DiscardHeld,
    /// Consent for a purpose was withdrawn: remove every key and cookie the tag
    /// wrote for it (analytics: client ID, visit, persisted outbox, once-per-user
    /// memory; ads: click IDs and attribution). Comes before any `ReleaseHeld`.
    PurgeStorage { analytics: bool, ads: bool },
    /// What may be sent narrowed (analytics or ad storage withdrawn, GPC or
    /// DNT turned on, an opt-out): events queued under the wider state must
    /// not leave as they are. Under [`Route::Drop`] every unsent one is
    /// dropped; under [`Route::Send`] each is rewritten as if recorded now.
    /// Comes after `PurgeStorage` and before anything is sent again.
    Narrowed,
    /// Still no consent state [`WARN_AFTER_MS`] after start; say how to set one.
    WarnNoConsent,
}

/// Coarse state, for debug logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unknown,
    Waiting,
    Decided,
    OptedOut,
}

/// The consent state machine; see the module docs for the layers.
#[derive(Debug, Clone)]
pub struct Consent {
    mode: Mode,
    env: Env,
    defaults: Partial,
    updates: Partial,
    /// A default or update was given: the state is no longer unknown.
    decided: bool,
    /// An update was given: the banner has answered, so no default may start a wait.
    updated: bool,
    /// Events are held until then, even if the default already decides them.
    wait_until: Option<u64>,
    /// When the no-consent warning is due; `None` once given.
    warn_at: Option<u64>,
}

/// What a transition compares to find its effects.
#[derive(Clone, Copy)]
struct Status {
    route: Route,
    analytics: bool,
    ads: bool,
}

impl Consent {
    /// Unknown state: events are held until a default or update arrives.
    pub fn new(mode: Mode, env: Env, now_ms: u64) -> Self {
        Consent {
            mode,
            env,
            defaults: Partial::default(),
            updates: Partial::default(),
            decided: false,
            updated: false,
            wait_until: None,
            warn_at: Some(now_ms.saturating_add(WARN_AFTER_MS)),
        }
    }

    /// `goaltag('consent', 'default', …)` or `data-consent`. A later default
    /// replaces an earlier one type by type but never an update. A wait starts
    /// (or is extended, never shortened) only while no update has arrived.
    pub fn set_default(&mut self, p: Partial, wait_for_update_ms: Option<u64>, now_ms: u64) -> Vec<Effect> {
        self.change(Some(now_ms), |c| {
            c.defaults.merge(p);
            c.decided = true;
            if let Some(w) = wait_for_update_ms.filter(|&w| w > 0 && !c.updated) {
                let until = now_ms.saturating_add(w.min(MAX_WAIT_MS));
                c.wait_until = Some(c.wait_until.map_or(until, |u| u.max(until)));
            }
        })
    }

    /// `goaltag('consent', 'update', …)` or an adapter's answer: ends any wait at once.
    pub fn update(&mut self, p: Partial, now_ms: u64) -> Vec<Effect> {
        self.change(Some(now_ms), |c| {
            c.updates.merge(p);
            c.decided = true;
            c.updated = true;
            c.wait_until = None;
        })
    }

    /// `goaltag('opt_out')`: the tracker also stores the marker (the one write without consent).
    pub fn opt_out(&mut self) -> Vec<Effect> {
        self.change(None, |c| c.env.opted_out = true)
    }

    /// `goaltag('opt_in')`: the tracker also removes the marker; consent returns to the layers.
    pub fn opt_in(&mut self, now_ms: u64) -> Vec<Effect> {
        self.change(Some(now_ms), |c| c.env.opted_out = false)
    }

    /// Config arriving after start.
    pub fn set_mode(&mut self, m: Mode) -> Vec<Effect> {
        self.change(None, |c| c.mode = m)
    }

    /// Replaces all five fields, `opted_out` included: pass `env()` with changes.
    pub fn set_env(&mut self, env: Env) -> Vec<Effect> {
        self.change(None, |c| c.env = env)
    }

    /// Ends a `wait_for_update` that has run out (at `now_ms >= deadline`), and
    /// gives the one-time no-consent warning. Call at [`Consent::wake_at`].
    pub fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        let mut out = self.change(Some(now_ms), |_| {});
        if !self.decided && self.warn_at.is_some_and(|at| now_ms >= at) {
            self.warn_at = None;
            out.push(Effect::WarnNoConsent);
        }
        out
    }

    /// When [`Consent::tick`] next has something to do; `None`: nothing scheduled.
    pub fn wake_at(&self) -> Option<u64> {
        self.wait_until.or(if self.decided { None } else { self.warn_at })
    }

    pub fn route(&self) -> Route {
        if self.env.opted_out {
            return Route::Drop;
        }
        if !self.decided || self.wait_until.is_some() {
            return Route::Hold;
        }
        let s = self.snapshot();
        let ad_data = s.ad_storage == Signal::Granted;
        if s.analytics_storage == Signal::Granted {
            Route::Send { identifiers: true, ad_data }
        } else if self.mode == Mode::Advanced {
            Route::Send { identifiers: false, ad_data }
        } else {
            Route::Drop
        }
    }

    /// The gate for every storage read and write. Nothing is stored while the
    /// state is unknown or awaited, even under a granted default.
    pub fn may_store(&self, p: Purpose) -> bool {
        let s = self.snapshot();
        let signal = match p {
            Purpose::Analytics => s.analytics_storage,
            Purpose::Ads => s.ad_storage,
            Purpose::UserData => s.ad_user_data,
        };
        !self.env.opted_out && self.decided && self.wait_until.is_none() && signal == Signal::Granted
    }

    /// The effective state, overrides applied, to stamp on events. All denied
    /// while unknown or opted out.
    pub fn snapshot(&self) -> Snapshot {
        let all = self.env.opted_out || (self.env.honor_dnt && self.env.dnt);
        let ads = all || (self.env.honor_gpc && self.env.gpc);
        let pick = |t: ConsentType, forced: bool| {
            if forced {
                Signal::Denied
            } else {
                self.updates.get(t).or(self.defaults.get(t)).unwrap_or(Signal::Denied)
            }
        };
        Snapshot {
            analytics_storage: pick(ConsentType::AnalyticsStorage, all),
            ad_storage: pick(ConsentType::AdStorage, ads),
            ad_user_data: pick(ConsentType::AdUserData, ads),
            ad_personalization: pick(ConsentType::AdPersonalization, ads),
        }
    }

    /// Whether to stamp `"gpc": true`: the browser sent GPC, honoured or not.
    pub fn gpc(&self) -> bool {
        self.env.gpc
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn env(&self) -> Env {
        self.env
    }

    pub fn state(&self) -> State {
        if self.env.opted_out {
            State::OptedOut
        } else if !self.decided {
            State::Unknown
        } else if self.wait_until.is_some() {
            State::Waiting
        } else {
            State::Decided
        }
    }

    fn status(&self) -> Status {
        Status { route: self.route(), analytics: self.may_store(Purpose::Analytics), ads: self.may_store(Purpose::Ads) }
    }

    /// Runs one transition and derives its effects from what changed, so every
    /// command (and any mix of layers) gets the same rules. A wait that ran out
    /// before `now` ends first, even if no tick came in time.
    fn change(&mut self, now_ms: Option<u64>, f: impl FnOnce(&mut Self)) -> Vec<Effect> {
        let before = self.status();
        if let Some(now) = now_ms {
            if self.wait_until.is_some_and(|t| now >= t) {
                self.wait_until = None;
            }
        }
        f(self);
        let after = self.status();
        let mut out = Vec::new();
        // A purpose that could be stored and now cannot: granted→denied, GPC or DNT
        // turned on, or an opt-out. Denied→denied (or unknown→denied) purges nothing.
        let (analytics, ads) = (before.analytics && !after.analytics, before.ads && !after.ads);
        if analytics || ads {
            out.push(Effect::PurgeStorage { analytics, ads });
        }
        if narrowed(before.route, after.route) {
            out.push(Effect::Narrowed);
        }
        match (before.route, after.route) {
            (Route::Hold, Route::Drop) => out.push(Effect::DiscardHeld),
            (Route::Hold | Route::Drop, Route::Send { .. }) => out.push(Effect::ReleaseHeld),
            _ => {}
        }
        out
    }
}

/// Whether events queued under `before` may not be sent as they are under `after`.
fn narrowed(before: Route, after: Route) -> bool {
    match (before, after) {
        (Route::Send { .. }, Route::Drop) => true,
        (Route::Send { identifiers: i0, ad_data: a0 }, Route::Send { identifiers: i1, ad_data: a1 }) => (i0 && !i1) || (a0 && !a1),
        _ => false,
    }
}

/// Bounded FIFO of events held while consent is unknown or awaited. Memory only:
/// nothing may be stored before consent. Overflow drops the oldest and counts it.
#[derive(Debug, Clone)]
pub struct Held<T> {
    /// A Vec, not a VecDeque: the buffer is small and VecDeque's ring code
    /// costs about 2 KB of wasm.
    items: Vec<T>,
    cap: usize,
    dropped: u32,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held::new()
    }
}

impl<T> Held<T> {
    pub fn new() -> Self {
        Held::with_capacity(HELD_CAPACITY)
    }

    pub fn with_capacity(cap: usize) -> Self {
        Held { items: Vec::new(), cap, dropped: 0 }
    }

    /// Appends; past capacity the oldest goes and is returned.
    pub fn push(&mut self, item: T) -> Option<T> {
        self.push_sparing(item, |_| false)
    }

    /// Like [`Held::push`], but on overflow the oldest item that is not `spare`d
    /// goes first (conversions, like the outbox). With only spared items held, a
    /// newcomer that is not spared is the one dropped, else the oldest.
    pub fn push_sparing(&mut self, item: T, spare: impl Fn(&T) -> bool) -> Option<T> {
        if self.items.len() < self.cap {
            self.items.push(item);
            return None;
        }
        self.dropped = self.dropped.saturating_add(1);
        let out = match self.items.iter().position(|x| !spare(x)) {
            Some(i) => Some(self.items.remove(i)),
            None if !spare(&item) => return Some(item),
            None if self.items.is_empty() => None,
            None => Some(self.items.remove(0)),
        };
        self.items.push(item);
        out
    }

    /// Everything held, oldest first, for routing on `ReleaseHeld`.
    pub fn drain(&mut self) -> Vec<T> {
        core::mem::take(&mut self.items)
    }

    /// For `DiscardHeld`; not counted as overflow.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Items lost to overflow since the last [`Held::take_dropped`]; the
    /// tracker adds them to the outbox's `dropped.overflow` when it releases
    /// the held items, so they reach the wire.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// Returns and resets the overflow count, to report it exactly once.
    pub fn take_dropped(&mut self) -> u32 {
        core::mem::take(&mut self.dropped)
    }
}

/// Maps an IAB TCF v2.2 `tcData` to consent. `None` until the CMP has an answer
/// (`eventStatus` `tcloaded` or `useractioncomplete`): the default stays. Only
/// purpose *consents* count; legitimate interest never grants here.
pub fn from_tcf(tc_data: &Val) -> Option<Partial> {
    match tc_data.get("eventStatus").and_then(Val::as_str) {
        Some("tcloaded" | "useractioncomplete") => {}
        _ => return None,
    }
    if tc_data.get("gdprApplies").and_then(Val::as_bool) == Some(false) {
        return Some(Partial::all(Signal::Granted));
    }
    let consents = tc_data.get("purpose").and_then(|p| p.get("consents"));
    let has = |n: &str| consents.and_then(|c| c.get(n)).and_then(Val::as_bool) == Some(true);
    let sig = |b: bool| Some(if b { Signal::Granted } else { Signal::Denied });
    Some(Partial {
        // Purpose 1: store and/or access information on a device.
        analytics_storage: sig(has("1")),
        ad_storage: sig(has("1")),
        // Purpose 7: measure advertising performance, i.e. send conversions.
        ad_user_data: sig(has("7")),
        // Purposes 3 and 4: create and use a personalised ads profile.
        ad_personalization: sig(has("3") && has("4")),
    })
}

/// Cookie-banner category → the consent types it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryMap {
    entries: Vec<(String, Vec<ConsentType>)>,
}

impl Default for CategoryMap {
    /// orestbida/cookieconsent's usual categories.
    fn default() -> Self {
        let ads = vec![ConsentType::AdStorage, ConsentType::AdUserData, ConsentType::AdPersonalization];
        CategoryMap {
            entries: vec![
                ("analytics".to_owned(), vec![ConsentType::AnalyticsStorage]),
                ("marketing".to_owned(), ads.clone()),
                ("ads".to_owned(), ads),
            ],
        }
    }
}

impl CategoryMap {
    /// The types a category grants; none for an unmapped category.
    pub fn types(&self, category: &str) -> &[ConsentType] {
        self.entries.iter().find(|(c, _)| c == category).map_or(&[], |(_, t)| t)
    }
}

const CATEGORIES_FIELD: &str = "consent.source.categories";

/// A custom mapping like `{"analytics": ["analytics_storage"], "marketing":
/// ["ad_storage", "ad_user_data"]}`. It replaces the default map entirely, so a
/// type it leaves out is never granted. A single string is accepted for one type.
pub fn parse_category_map(v: &Val) -> Result<CategoryMap, ConfigError> {
    let Some(fields) = v.as_map() else {
        return Err(ConfigError::new(
            CATEGORIES_FIELD,
            "an object like {analytics: ['analytics_storage'], marketing: ['ad_storage', 'ad_user_data']}",
            v,
        ));
    };
    let mut entries = Vec::new();
    for (cat, val) in fields {
        let field = crate::core::error::cat(&[CATEGORIES_FIELD, ".", cat]);
        let one =
            |x: &Val, field: String| x.as_str().and_then(ConsentType::from_name).ok_or_else(|| ConfigError::new(field, TYPE_NAMES, x));
        let types = match val {
            Val::Str(_) => vec![one(val, field)?],
            Val::List(l) => l.iter().enumerate().map(|(i, x)| one(x, crate::core::error::indexed(&field, i))).collect::<Result<_, _>>()?,
            _ => return Err(ConfigError::new(field, "a list of consent types like ['ad_storage', 'ad_user_data']", val)),
        };
        entries.push((cat.clone(), types));
    }
    Ok(CategoryMap { entries })
}

/// The accepted categories of a cookie banner mapped to a full decision: every
/// type that no accepted category maps is denied.
pub fn from_categories(accepted: &[String], map: &CategoryMap) -> Partial {
    let mut p = Partial::all(Signal::Denied);
    for t in accepted.iter().flat_map(|c| map.types(c)) {
        p.set(*t, Some(Signal::Granted));
    }
    p
}

/// The `categories` of a parsed `cc_cookie` value (or of `event.detail.cookie` of
/// `cc:onConsent` / `cc:onChange`). `None` when absent or not a list: no answer
/// yet, the default stays. Non-string entries are skipped.
pub fn cookie_categories(cookie: &Val) -> Option<Vec<String>> {
    let list = cookie.get("categories")?.as_list()?;
    Some(list.iter().filter_map(Val::as_str).map(str::to_owned).collect())
}

/// Where consent updates come from: `goaltag('consent', 'source', …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `'tcf'`: the IAB TCF v2.2 CMP's `__tcfapi`.
    Tcf,
    /// `'gcm'`: Google Consent Mode, the `gtag('consent', …)` commands on
    /// `window.dataLayer` (see [`Gcm`]).
    Gcm,
    /// `{cookie: 'cc_cookie', categories: {...}}`: an orestbida/cookieconsent v3 banner.
    Cookie { name: String, categories: CategoryMap },
}

/// Parses the third argument of `goaltag('consent', 'source', …)`. The cookie
/// name defaults to `cc_cookie`, the categories to [`CategoryMap::default`].
pub fn parse_source(v: &Val) -> Result<Source, ConfigError> {
    const FIELD: &str = "goaltag('consent', 'source', …)";
    const EXPECTED: &str = "'tcf', 'gcm' or an object like {cookie: 'cc_cookie'}";
    match v {
        Val::Str(s) if s == "tcf" => Ok(Source::Tcf),
        Val::Str(s) if s == "gcm" => Ok(Source::Gcm),
        Val::Map(fields) => {
            let mut name = "cc_cookie".to_owned();
            let mut categories = CategoryMap::default();
            for (key, val) in fields {
                if val.is_null() {
                    continue;
                }
                match key.as_str() {
                    "cookie" => match val.as_str() {
                        Some(s) if valid_cookie_name(s) => name = s.to_owned(),
                        _ => return Err(ConfigError::new("consent.source.cookie", "a cookie name", val)),
                    },
                    "categories" => categories = parse_category_map(val)?,
                    _ => {
                        return Err(ConfigError::msg(
                            crate::core::error::cat(&["consent.source.", key]),
                            "one of cookie, categories",
                            "an unknown field",
                        ))
                    }
                }
            }
            Ok(Source::Cookie { name, categories })
        }
        _ => Err(ConfigError::new(FIELD, EXPECTED, v)),
    }
}

/// The value of cookie `name` in a `document.cookie` string (`a=1; b=2`), still
/// URI-encoded as the banner wrote it. `None` when the cookie is not set.
pub fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').filter_map(|c| c.split_once('=')).find(|(k, _)| k.trim() == name).map(|(_, v)| v.trim())
}

/// An adapter's answer as the call a page would make:
/// `goaltag('consent', 'update', {...})`. The shell runs it like any call, so
/// an answer that arrives while the tag is busy (a CMP calling back at once,
/// inside the `source` command) is deferred, never lost.
pub fn update_args(p: &Partial) -> Vec<Val> {
    consent_args("update", p, None)
}

/// `goaltag('consent', command, {...types, wait_for_update})`.
fn consent_args(command: &str, p: &Partial, wait_for_update_ms: Option<u64>) -> Vec<Val> {
    let mut fields: Vec<(String, Val)> =
        ConsentType::ALL.into_iter().filter_map(|t| p.get(t).map(|s| (t.name().to_owned(), Val::Str(s.as_str().to_owned())))).collect();
    if let Some(ms) = wait_for_update_ms {
        fields.push(("wait_for_update".to_owned(), Val::Num(ms as f64)));
    }
    vec![Val::Str("consent".to_owned()), Val::Str(command.to_owned()), Val::Map(fields)]
}

/// Said once, at the first Google Consent Mode command scoped to regions.
pub const GCM_REGION_WARNING: &str = "goaltag: gtag('consent', …) with a region: the visitor's region is unknown \
here, so its denials apply to every visitor and its grants are ignored";

/// Google Consent Mode v2 as a consent source: what each
/// `gtag('consent', 'default' | 'update', {...})` the page pushes on
/// `window.dataLayer` means to the tag, read in the order pushed. The four
/// types map one to one and `wait_for_update` on a default is honoured (at
/// most [`MAX_WAIT_MS`]); other keys (`functionality_storage`,
/// `security_storage`, …) are ignored, and so is a command that names none of
/// the four types, which leaves the state as it was.
///
/// A command with a `region` list applies only to visitors in those regions,
/// which the browser cannot tell: such a command can only deny. Its denials
/// apply to every visitor, its grants are ignored, and a default's denials
/// also hold against a default without region, whatever their order (as a
/// region's default wins in Google's tags). An update (the banner's answer)
/// still grants. Denying a visitor outside the region until the banner answers
/// is the error that keeps the promise; granting one inside it would not be.
#[derive(Debug, Clone, Default)]
pub struct Gcm {
    /// The types some region-scoped default denied.
    regional_denied: Partial,
    /// [`GCM_REGION_WARNING`] was given.
    warned: bool,
}

/// What one item on `window.dataLayer` means, from [`Gcm::read`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcmCommand {
    /// The `goaltag(...)` call that does the same; `None` when the item is no
    /// consent command, or changes nothing.
    pub call: Option<Vec<Val>>,
    /// Values that are not `"granted"` or `"denied"`: each type is left out, and reported.
    pub errors: Vec<ConfigError>,
    /// [`GCM_REGION_WARNING`], with the first region-scoped command only.
    pub warning: Option<&'static str>,
}

impl Gcm {
    /// Reads the arguments of one `gtag(...)` call (its `arguments` object as
    /// a list: the shell passes only those, as Google's tags read only those;
    /// arrays and GTM's `{event: …}` objects are no commands).
    pub fn read(&mut self, args: &Val) -> GcmCommand {
        let mut out = GcmCommand::default();
        let list = args.as_list().unwrap_or_default();
        let (Some("consent"), Some(command @ ("default" | "update")), Some(fields)) =
            (list.first().and_then(Val::as_str), list.get(1).and_then(Val::as_str), list.get(2))
        else {
            return out;
        };
        let default = command == "default";
        let regional = fields.get("region").is_some_and(|r| !r.is_null() && r.as_list().is_none_or(|l| !l.is_empty()));
        let mut p = Partial::default();
        for t in ConsentType::ALL {
            let Some(v) = fields.get(t.name()).filter(|v| !v.is_null()) else { continue };
            let field = crate::core::error::cat(&["gtag('consent', '", command, "', …).", t.name()]);
            match parse_signal(v, &field) {
                // A region's command only denies; its denials outlive a later default.
                Ok(Signal::Granted) if regional => {}
                Ok(Signal::Granted) if default && self.regional_denied.get(t).is_some() => p.set(t, Some(Signal::Denied)),
                Ok(s) => p.set(t, Some(s)),
                Err(e) => out.errors.push(e),
            }
        }
        if regional {
            if !self.warned {
                self.warned = true;
                out.warning = Some(GCM_REGION_WARNING);
            }
            if default {
                self.regional_denied.merge(p);
            }
        }
        if p == Partial::default() {
            return out;
        }
        let wait = fields
            .get("wait_for_update")
            .and_then(Val::as_num)
            .filter(|&n| default && n > 0.0)
            .map(|n| crate::core::val::round_u64(n.min(MAX_WAIT_MS as f64)));
        out.call = Some(consent_args(command, &p, wait));
        out
    }
}

/// An RFC 6265 token, short: anything else could never match `document.cookie`.
fn valid_cookie_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::val::json;
    use Effect::*;
    use Signal::{Denied as D, Granted as G};

    const T0: u64 = 1_700_000_000_000;
    const WAIT: u64 = 500;
    const ID: Route = Route::Send { identifiers: true, ad_data: true };
    const PING: Route = Route::Send { identifiers: false, ad_data: false };

    fn new(mode: Mode) -> Consent {
        Consent::new(mode, Env::default(), T0)
    }

    fn granted() -> Partial {
        Partial::all(G)
    }

    fn denied() -> Partial {
        Partial::all(D)
    }

    fn purge(analytics: bool, ads: bool) -> Effect {
        PurgeStorage { analytics, ads }
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum St {
        Unknown,
        /// Default all denied with `wait_for_update: 500` at T0.
        Waiting,
        /// Update all granted.
        Granted,
        /// Update all denied.
        Denied,
        /// Update all granted, then opt_out.
        OptedOut,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Cmd {
        DefaultGranted,
        DefaultDenied,
        DefaultGrantedWait,
        UpdateGranted,
        UpdateDenied,
        OptOut,
        OptIn,
        Tick,
        TickAtExpiry,
        TickAtWarning,
        OtherMode,
        Gpc,
        Dnt,
    }

    const STATES: [St; 5] = [St::Unknown, St::Waiting, St::Granted, St::Denied, St::OptedOut];
    const CMDS: [Cmd; 13] = [
        Cmd::DefaultGranted,
        Cmd::DefaultDenied,
        Cmd::DefaultGrantedWait,
        Cmd::UpdateGranted,
        Cmd::UpdateDenied,
        Cmd::OptOut,
        Cmd::OptIn,
        Cmd::Tick,
        Cmd::TickAtExpiry,
        Cmd::TickAtWarning,
        Cmd::OtherMode,
        Cmd::Gpc,
        Cmd::Dnt,
    ];

    fn build(st: St, mode: Mode) -> Consent {
        let mut c = new(mode);
        match st {
            St::Unknown => {}
            St::Waiting => {
                c.set_default(denied(), Some(WAIT), T0);
            }
            St::Granted => {
                c.update(granted(), T0);
            }
            St::Denied => {
                c.update(denied(), T0);
            }
            St::OptedOut => {
                c.update(granted(), T0);
                c.opt_out();
            }
        }
        c
    }

    fn run(c: &mut Consent, cmd: Cmd) -> Vec<Effect> {
        let now = T0 + 100;
        match cmd {
            Cmd::DefaultGranted => c.set_default(granted(), None, now),
            Cmd::DefaultDenied => c.set_default(denied(), None, now),
            Cmd::DefaultGrantedWait => c.set_default(granted(), Some(WAIT), now),
            Cmd::UpdateGranted => c.update(granted(), now),
            Cmd::UpdateDenied => c.update(denied(), now),
            Cmd::OptOut => c.opt_out(),
            Cmd::OptIn => c.opt_in(now),
            Cmd::Tick => c.tick(now),
            Cmd::TickAtExpiry => c.tick(T0 + WAIT),
            Cmd::TickAtWarning => c.tick(T0 + WARN_AFTER_MS),
            Cmd::OtherMode => {
                let m = if c.mode() == Mode::Basic { Mode::Advanced } else { Mode::Basic };
                c.set_mode(m)
            }
            Cmd::Gpc => c.set_env(Env { gpc: true, ..c.env() }),
            Cmd::Dnt => c.set_env(Env { dnt: true, honor_dnt: true, ..c.env() }),
        }
    }

    /// The transition table: effects and the route afterwards, per state, command
    /// and mode. A literal answer per row; the match makes it exhaustive.
    fn expected(st: St, cmd: Cmd, mode: Mode) -> (Vec<Effect>, Route) {
        let basic = mode == Mode::Basic;
        // What a denial decides from Hold: basic discards, advanced pings.
        let held_denied = if basic { (vec![DiscardHeld], Route::Drop) } else { (vec![ReleaseHeld], PING) };
        let denied_route = if basic { Route::Drop } else { PING };
        use Cmd as C;
        match (st, cmd) {
            (St::Unknown, C::DefaultGranted | C::UpdateGranted) => (vec![ReleaseHeld], ID),
            (St::Unknown, C::DefaultDenied | C::UpdateDenied) => held_denied,
            (St::Unknown, C::DefaultGrantedWait) => (vec![], Route::Hold),
            (St::Unknown, C::OptOut) => (vec![DiscardHeld], Route::Drop),
            (St::Unknown, C::TickAtWarning) => (vec![WarnNoConsent], Route::Hold),
            (St::Unknown, C::OptIn | C::Tick | C::TickAtExpiry | C::OtherMode | C::Gpc | C::Dnt) => (vec![], Route::Hold),

            // A default never ends the wait; an update does.
            (St::Waiting, C::DefaultGranted | C::DefaultDenied | C::DefaultGrantedWait) => (vec![], Route::Hold),
            (St::Waiting, C::UpdateGranted) => (vec![ReleaseHeld], ID),
            (St::Waiting, C::UpdateDenied) => held_denied,
            (St::Waiting, C::OptOut) => (vec![DiscardHeld], Route::Drop),
            (St::Waiting, C::TickAtExpiry | C::TickAtWarning) => held_denied,
            (St::Waiting, C::OptIn | C::Tick | C::OtherMode | C::Gpc | C::Dnt) => (vec![], Route::Hold),

            // Defaults never override an update.
            (St::Granted, C::DefaultGranted | C::DefaultDenied | C::DefaultGrantedWait | C::UpdateGranted) => (vec![], ID),
            // Withdrawing consent also narrows what was queued under it.
            (St::Granted, C::UpdateDenied) => (vec![purge(true, true), Narrowed], denied_route),
            (St::Granted, C::OptOut) => (vec![purge(true, true), Narrowed], Route::Drop),
            (St::Granted, C::OptIn | C::Tick | C::TickAtExpiry | C::TickAtWarning | C::OtherMode) => (vec![], ID),
            (St::Granted, C::Gpc) => (vec![purge(false, true), Narrowed], Route::Send { identifiers: true, ad_data: false }),
            (St::Granted, C::Dnt) => (vec![purge(true, true), Narrowed], denied_route),

            (St::Denied, C::UpdateGranted) => (if basic { vec![ReleaseHeld] } else { vec![] }, ID),
            // Cookieless pings may have been queued; an opt-out drops them.
            (St::Denied, C::OptOut) => (if basic { vec![] } else { vec![Narrowed] }, Route::Drop),
            // Basic → advanced resumes as pings; advanced → basic stops.
            (St::Denied, C::OtherMode) => {
                if basic {
                    (vec![ReleaseHeld], PING)
                } else {
                    (vec![Narrowed], Route::Drop)
                }
            }
            (
                St::Denied,
                C::DefaultGranted
                | C::DefaultDenied
                | C::DefaultGrantedWait
                | C::UpdateDenied
                | C::OptIn
                | C::Tick
                | C::TickAtExpiry
                | C::TickAtWarning
                | C::Gpc
                | C::Dnt,
            ) => (vec![], denied_route),

            (St::OptedOut, C::OptIn) => (vec![ReleaseHeld], ID),
            (
                St::OptedOut,
                C::DefaultGranted
                | C::DefaultDenied
                | C::DefaultGrantedWait
                | C::UpdateGranted
                | C::UpdateDenied
                | C::OptOut
                | C::Tick
                | C::TickAtExpiry
                | C::TickAtWarning
                | C::OtherMode
                | C::Gpc
                | C::Dnt,
            ) => (vec![], Route::Drop),
        }
    }

    #[test]
    fn transition_table_every_command_in_every_state_in_both_modes() {
        for mode in [Mode::Basic, Mode::Advanced] {
            for st in STATES {
                for cmd in CMDS {
                    let mut c = build(st, mode);
                    let effects = run(&mut c, cmd);
                    let route = c.route();
                    assert_eq!((effects, route), expected(st, cmd, mode), "{st:?} + {cmd:?} in {mode:?}");
                    // Identifiers are sent exactly when they may be read from storage.
                    assert_eq!(c.may_store(Purpose::Analytics), matches!(route, Route::Send { identifiers: true, .. }));
                    if let Route::Send { ad_data, .. } = route {
                        assert_eq!(ad_data, c.may_store(Purpose::Ads), "{st:?} + {cmd:?} in {mode:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn states_start_as_named() {
        for mode in [Mode::Basic, Mode::Advanced] {
            let c = build(St::Unknown, mode);
            assert_eq!((c.state(), c.route()), (State::Unknown, Route::Hold));
            let c = build(St::Waiting, mode);
            assert_eq!((c.state(), c.route()), (State::Waiting, Route::Hold));
            let c = build(St::Granted, mode);
            assert_eq!((c.state(), c.route()), (State::Decided, ID));
            let c = build(St::Denied, mode);
            assert_eq!(c.state(), State::Decided);
            assert_eq!(c.route(), if mode == Mode::Basic { Route::Drop } else { PING });
            let c = build(St::OptedOut, mode);
            assert_eq!((c.state(), c.route()), (State::OptedOut, Route::Drop));
        }
    }

    #[test]
    fn nothing_is_stored_while_unknown_waiting_or_opted_out() {
        let purposes = [Purpose::Analytics, Purpose::Ads, Purpose::UserData];
        let mut c = new(Mode::Advanced);
        assert!(purposes.iter().all(|p| !c.may_store(*p)));
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: D, ad_storage: D, ad_user_data: D, ad_personalization: D });
        // Even a granted default stores nothing until its wait ends.
        c.set_default(granted(), Some(WAIT), T0);
        assert!(purposes.iter().all(|p| !c.may_store(*p)));
        assert_eq!(c.snapshot().analytics_storage, G, "the snapshot already shows the default");
        c.tick(T0 + WAIT);
        assert!(purposes.iter().all(|p| c.may_store(*p)));
        c.opt_out();
        assert!(purposes.iter().all(|p| !c.may_store(*p)));
        assert_eq!(c.snapshot().analytics_storage, D);
    }

    #[test]
    fn each_purpose_needs_its_own_type() {
        let mut c = new(Mode::Basic);
        c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0);
        assert!(c.may_store(Purpose::Analytics));
        assert!(!c.may_store(Purpose::Ads));
        assert!(!c.may_store(Purpose::UserData));
        c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0);
        assert!(c.may_store(Purpose::Ads));
        assert!(!c.may_store(Purpose::UserData));
        c.update(Partial { ad_user_data: Some(G), analytics_storage: Some(D), ..Default::default() }, T0);
        assert!(!c.may_store(Purpose::Analytics));
        assert!(c.may_store(Purpose::Ads));
        assert!(c.may_store(Purpose::UserData));
        assert_eq!(c.snapshot().ad_personalization, D, "never named, so denied");
    }

    #[test]
    fn held_keeps_the_newest_200_and_counts_the_rest() {
        let mut h = Held::new();
        for i in 0..201 {
            h.push(i);
        }
        assert_eq!(h.len(), 200);
        assert_eq!(h.dropped(), 1);
        assert_eq!(h.iter().next(), Some(&1), "the oldest went");
        assert_eq!(h.iter().last(), Some(&200));
        assert_eq!(h.push(201), Some(1));
        assert_eq!(h.take_dropped(), 2);
        assert_eq!(h.dropped(), 0);
        let all = h.drain();
        assert_eq!(all.len(), 200);
        assert_eq!((all[0], all[199]), (2, 201));
        assert!(h.is_empty());
        h.push(7);
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.dropped(), 0, "a discard is not an overflow");
    }

    #[test]
    fn held_can_spare_conversions_on_overflow() {
        // (id, is_conversion)
        let conv = |x: &(u32, bool)| x.1;
        let mut h = Held::with_capacity(3);
        for x in [(1, false), (2, true), (3, false)] {
            assert_eq!(h.push_sparing(x, conv), None);
        }
        assert_eq!(h.push_sparing((4, true), conv), Some((1, false)));
        assert_eq!(h.push_sparing((5, true), conv), Some((3, false)));
        // Only conversions held: a non-conversion newcomer is the one to go...
        assert_eq!(h.push_sparing((6, false), conv), Some((6, false)));
        // ...and a conversion newcomer pushes out the oldest conversion.
        assert_eq!(h.push_sparing((7, true), conv), Some((2, true)));
        assert_eq!(h.drain(), vec![(4, true), (5, true), (7, true)]);
        assert_eq!(h.dropped(), 4);
    }

    #[test]
    fn wait_for_update_ends_exactly_at_its_deadline() {
        for mode in [Mode::Basic, Mode::Advanced] {
            let mut c = new(mode);
            assert_eq!(c.set_default(granted(), Some(WAIT), T0), vec![]);
            assert_eq!(c.wake_at(), Some(T0 + WAIT));
            assert_eq!(c.tick(T0 + WAIT - 1), vec![]);
            assert_eq!(c.route(), Route::Hold);
            assert_eq!(c.tick(T0 + WAIT), vec![ReleaseHeld]);
            assert_eq!(c.route(), ID);
            assert_eq!(c.wake_at(), None);
            assert_eq!(c.tick(T0 + WAIT + 1), vec![], "ends once");
        }
    }

    #[test]
    fn an_update_ends_the_wait_at_once_and_no_later_default_restarts_it() {
        let mut c = new(Mode::Basic);
        c.set_default(denied(), Some(WAIT), T0);
        assert_eq!(c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0 + 10), vec![ReleaseHeld]);
        assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false });
        assert_eq!(c.wake_at(), None);
        assert_eq!(c.set_default(denied(), Some(WAIT), T0 + 20), vec![]);
        assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false }, "the update still wins");
        assert_eq!(c.wake_at(), None);
    }

    #[test]
    fn a_second_default_extends_a_wait_but_never_shortens_it() {
        let mut c = new(Mode::Basic);
        c.set_default(denied(), Some(WAIT), T0);
        c.set_default(Partial::default(), Some(100), T0 + 100);
        assert_eq!(c.wake_at(), Some(T0 + WAIT));
        c.set_default(granted(), Some(WAIT), T0 + 200);
        assert_eq!(c.wake_at(), Some(T0 + 200 + WAIT));
        assert_eq!(c.tick(T0 + WAIT), vec![]);
        assert_eq!(c.tick(T0 + 200 + WAIT), vec![ReleaseHeld]);
        assert_eq!(c.route(), ID, "the later default replaced the earlier one");
    }

    #[test]
    fn a_zero_or_absent_wait_decides_at_once_and_waits_are_capped() {
        let mut c = new(Mode::Basic);
        assert_eq!(c.set_default(granted(), Some(0), T0), vec![ReleaseHeld]);
        let mut c = new(Mode::Basic);
        c.set_default(granted(), Some(u64::MAX), T0);
        assert_eq!(c.wake_at(), Some(T0 + MAX_WAIT_MS));
    }

    #[test]
    fn a_wait_that_ran_out_ends_on_the_next_command_even_without_a_tick() {
        let mut c = new(Mode::Advanced);
        c.set_default(denied(), Some(WAIT), T0);
        assert_eq!(c.opt_in(T0 + WAIT + 100), vec![ReleaseHeld]);
        assert_eq!(c.route(), PING);
        let mut c = new(Mode::Basic);
        c.set_default(granted(), Some(WAIT), T0);
        // Held → sent (expiry) → dropped within one call: the held events go.
        assert_eq!(c.update(Partial { analytics_storage: Some(D), ..Default::default() }, T0 + WAIT), vec![DiscardHeld]);
    }

    #[test]
    fn the_no_consent_warning_comes_once_after_ten_seconds() {
        let mut c = new(Mode::Basic);
        assert_eq!(c.wake_at(), Some(T0 + WARN_AFTER_MS));
        assert_eq!(c.tick(T0 + WARN_AFTER_MS - 1), vec![]);
        assert_eq!(c.tick(T0 + WARN_AFTER_MS), vec![WarnNoConsent]);
        assert_eq!(c.wake_at(), None);
        assert_eq!(c.tick(T0 + 2 * WARN_AFTER_MS), vec![]);
        assert_eq!(c.route(), Route::Hold, "still holding");
        // Late in coming, still once.
        let mut c = new(Mode::Basic);
        assert_eq!(c.tick(T0 + 60_000), vec![WarnNoConsent]);
        assert_eq!(c.tick(T0 + 60_001), vec![]);
    }

    #[test]
    fn no_warning_once_any_consent_state_is_set() {
        let mut c = new(Mode::Basic);
        c.set_default(denied(), Some(WAIT), T0 + 9_800);
        assert_eq!(c.wake_at(), Some(T0 + 9_800 + WAIT), "the wait, not the warning");
        assert_eq!(c.tick(T0 + WARN_AFTER_MS), vec![]);
        assert_eq!(c.tick(T0 + 9_800 + WAIT), vec![DiscardHeld]);
        assert_eq!(c.tick(T0 + 20_000), vec![]);
        assert_eq!(c.wake_at(), None);
    }

    #[test]
    fn gpc_denies_ad_types_whatever_the_updates_say() {
        let env = Env { gpc: true, ..Env::default() };
        let mut c = Consent::new(Mode::Basic, env, T0);
        assert_eq!(c.update(granted(), T0), vec![ReleaseHeld]);
        let want = Snapshot { analytics_storage: G, ad_storage: D, ad_user_data: D, ad_personalization: D };
        assert_eq!(c.snapshot(), want);
        assert_eq!(c.route(), Route::Send { identifiers: true, ad_data: false });
        assert!(c.may_store(Purpose::Analytics));
        assert!(!c.may_store(Purpose::Ads));
        assert!(!c.may_store(Purpose::UserData));
        assert!(c.gpc());
        // A later update to granted does not lift it.
        assert_eq!(c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0 + 1), vec![]);
        assert_eq!(c.snapshot(), want);
        // Not honoured: reported on the wire, but no override.
        assert_eq!(c.set_env(Env { honor_gpc: false, ..c.env() }), vec![]);
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: G, ad_personalization: G });
        assert!(c.gpc());
        assert_eq!(c.route(), ID);
    }

    #[test]
    fn dnt_denies_everything_only_when_honoured() {
        let mut c = Consent::new(Mode::Basic, Env { dnt: true, ..Env::default() }, T0);
        c.update(granted(), T0);
        assert_eq!(c.route(), ID, "honor_dnt is off by default");
        assert_eq!(c.set_env(Env { honor_dnt: true, ..c.env() }), vec![purge(true, true), Narrowed]);
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: D, ad_storage: D, ad_user_data: D, ad_personalization: D });
        assert_eq!(c.route(), Route::Drop);
        assert_eq!(c.update(granted(), T0 + 1), vec![], "no update lifts it");
        assert_eq!(c.set_mode(Mode::Advanced), vec![ReleaseHeld]);
        assert_eq!(c.route(), PING);
        let mut c = Consent::new(Mode::Basic, Env { honor_dnt: true, ..Env::default() }, T0);
        c.update(granted(), T0);
        assert_eq!(c.route(), ID, "honoured but not sent");
    }

    #[test]
    fn revocation_purges_exactly_the_purposes_withdrawn() {
        let mut c = new(Mode::Advanced);
        c.update(granted(), T0);
        assert_eq!(c.update(Partial { analytics_storage: Some(D), ..Default::default() }, T0 + 1), vec![purge(true, false), Narrowed]);
        assert_eq!(c.route(), Route::Send { identifiers: false, ad_data: true }, "pings from now on");
        assert_eq!(c.update(Partial { ad_storage: Some(D), ..Default::default() }, T0 + 2), vec![purge(false, true), Narrowed]);
        assert_eq!(c.route(), PING);
        // Denied → denied: nothing left to purge.
        assert_eq!(c.update(denied(), T0 + 3), vec![]);
        // ad_user_data and ad_personalization store nothing, so revoking them purges nothing.
        let mut c = new(Mode::Basic);
        c.update(granted(), T0);
        let p = Partial { ad_user_data: Some(D), ad_personalization: Some(D), ..Default::default() };
        assert_eq!(c.update(p, T0 + 1), vec![]);
        assert!(!c.may_store(Purpose::UserData));
    }

    #[test]
    fn revoking_a_granted_default_purges_too() {
        let mut c = new(Mode::Basic);
        assert_eq!(c.set_default(granted(), None, T0), vec![ReleaseHeld]);
        assert_eq!(c.update(denied(), T0 + 1), vec![purge(true, true), Narrowed]);
        assert_eq!(c.route(), Route::Drop);
    }

    #[test]
    fn a_denied_first_decision_purges_nothing() {
        // The ID from an earlier visit must survive a denied default, so the
        // banner's grant a moment later finds it again.
        let mut c = new(Mode::Basic);
        assert_eq!(c.set_default(denied(), None, T0), vec![DiscardHeld]);
        assert_eq!(c.update(granted(), T0 + 300), vec![ReleaseHeld]);
        let mut c = new(Mode::Basic);
        c.set_default(granted(), Some(WAIT), T0);
        assert_eq!(c.update(denied(), T0 + 100), vec![DiscardHeld], "nothing was stored during the wait");
    }

    #[test]
    fn a_grant_after_a_denial_resumes_every_time() {
        let mut c = new(Mode::Basic);
        assert_eq!(c.update(denied(), T0), vec![DiscardHeld]);
        for i in 1..4 {
            assert_eq!(c.update(granted(), T0 + i), vec![ReleaseHeld]);
            assert_eq!(c.route(), ID);
            assert_eq!(c.update(denied(), T0 + i), vec![purge(true, true), Narrowed]);
            assert_eq!(c.route(), Route::Drop);
        }
        let mut c = new(Mode::Advanced);
        c.update(denied(), T0);
        assert_eq!(c.update(granted(), T0 + 1), vec![]);
        assert_eq!(c.route(), ID, "pings become full events");
    }

    #[test]
    fn opt_out_and_back_in() {
        let mut c = new(Mode::Basic);
        c.update(denied(), T0);
        assert_eq!(c.opt_out(), vec![]);
        assert_eq!(c.opt_out(), vec![]);
        assert_eq!(c.opt_in(T0 + 1), vec![]);
        assert_eq!(c.route(), Route::Drop, "back to the denial");
        // Opted out at load (marker found): nothing, whatever the banner says.
        let mut c = Consent::new(Mode::Advanced, Env { opted_out: true, ..Env::default() }, T0);
        assert_eq!(c.route(), Route::Drop);
        assert_eq!(c.update(granted(), T0), vec![]);
        assert_eq!(c.route(), Route::Drop);
        assert!(!c.may_store(Purpose::Analytics));
        assert_eq!(c.opt_in(T0 + 1), vec![ReleaseHeld]);
        assert_eq!(c.route(), ID);
        // Opting back in with no consent state yet holds again.
        let mut c = Consent::new(Mode::Basic, Env { opted_out: true, ..Env::default() }, T0);
        assert_eq!(c.opt_in(T0), vec![]);
        assert_eq!(c.route(), Route::Hold);
    }

    #[test]
    fn partial_updates_keep_the_other_types() {
        let mut c = new(Mode::Basic);
        c.set_default(Partial { analytics_storage: Some(G), ..Default::default() }, None, T0);
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: D, ad_user_data: D, ad_personalization: D });
        c.update(Partial { ad_storage: Some(G), ..Default::default() }, T0);
        c.update(Partial { ad_personalization: Some(G), ..Default::default() }, T0);
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: D, ad_personalization: G });
        // A default never overrides what an update set, but fills what it did not.
        c.set_default(Partial { ad_storage: Some(D), ad_user_data: Some(G), ..Default::default() }, None, T0);
        assert_eq!(c.snapshot(), Snapshot { analytics_storage: G, ad_storage: G, ad_user_data: G, ad_personalization: G });
    }

    #[test]
    fn an_empty_update_still_decides() {
        let mut c = new(Mode::Basic);
        assert_eq!(c.update(Partial::default(), T0), vec![DiscardHeld]);
        assert_eq!(c.state(), State::Decided);
    }

    #[test]
    fn snapshot_serialises_with_consent_mode_names() {
        let mut c = new(Mode::Basic);
        c.update(Partial { analytics_storage: Some(G), ..Default::default() }, T0);
        assert_eq!(
            serde_json::to_string(&c.snapshot()).unwrap(),
            r#"{"analytics_storage":"granted","ad_storage":"denied","ad_user_data":"denied","ad_personalization":"denied"}"#
        );
    }

    #[test]
    fn parses_default_and_update_objects() {
        let v = json(
            r#"{"analytics_storage":"denied","ad_storage":"granted","ad_user_data":"denied","ad_personalization":"granted","wait_for_update":500}"#,
        );
        let (p, w) = parse_partial(&v, "default").unwrap();
        assert_eq!(p, Partial { analytics_storage: Some(D), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(G) });
        assert_eq!(w, Some(500));
        let (p, w) = parse_partial(&json(r#"{"ad_storage":"denied","analytics_storage":null}"#), "update").unwrap();
        assert_eq!(p, Partial { ad_storage: Some(D), ..Default::default() });
        assert_eq!(w, None);
        assert_eq!(parse_partial(&json("{}"), "update").unwrap(), (Partial::default(), None));
        assert_eq!(parse_partial(&json(r#"{"wait_for_update":0}"#), "default").unwrap().1, Some(0));
    }

    #[test]
    fn parse_errors_name_the_field() {
        let e = parse_partial(&json(r#"{"analytics_storage":"granted","ad_storage":"yes"}"#), "update").unwrap_err();
        assert_eq!(e.to_string(), r#"goaltag: consent.ad_storage: expected "granted" or "denied", got "yes""#);
        let e = parse_partial(&json(r#"{"analytics_storage":"Granted"}"#), "update").unwrap_err();
        assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.analytics_storage", "\"Granted\""));
        let e = parse_partial(&json(r#"{"ad_user_data":true}"#), "default").unwrap_err();
        assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.ad_user_data", "true"));
        let e = parse_partial(&json(r#"{"region":["US-CA"],"ad_storage":"granted"}"#), "default").unwrap_err();
        assert_eq!(e.field, "consent.region");
        assert_eq!(e.got, "an unknown field");
        assert!(e.expected.contains("wait_for_update"));
        for bad in ["-1", "1.5", "\"500\"", "60001"] {
            let e = parse_partial(&json(&format!(r#"{{"wait_for_update":{bad}}}"#)), "default").unwrap_err();
            assert_eq!(e.field, "consent.wait_for_update", "{bad}");
            assert_eq!(e.expected, "a whole number of milliseconds from 0 to 60000");
        }
        let e = parse_partial(&json(r#""granted""#), "default").unwrap_err();
        assert_eq!(e.field, "goaltag('consent', 'default', …)");
        assert_eq!(e.got, "\"granted\"");
        let e = parse_partial(&json("{}"), "defualt").unwrap_err();
        assert_eq!(e.got, "\"defualt\"");
    }

    #[test]
    fn parses_data_consent_and_mode() {
        assert_eq!(parse_data_consent(&Val::Str("granted".into())), Ok(Partial::all(G)));
        assert_eq!(parse_data_consent(&Val::Str("denied".into())), Ok(Partial::all(D)));
        let e = parse_data_consent(&Val::Str("yes".into())).unwrap_err();
        assert_eq!(e.to_string(), r#"goaltag: data-consent: expected "granted" or "denied", got "yes""#);
        assert_eq!(parse_mode(&Val::Str("advanced".into()), "config.consent_mode"), Ok(Mode::Advanced));
        assert_eq!(parse_mode(&Val::Str("basic".into()), "config.consent_mode"), Ok(Mode::Basic));
        assert_eq!(parse_mode(&Val::Num(1.0), "config.consent_mode").unwrap_err().field, "config.consent_mode");
        assert_eq!(Mode::default(), Mode::Basic);
        assert_eq!(Env::default(), Env { gpc: false, honor_gpc: true, dnt: false, honor_dnt: false, opted_out: false });
    }

    fn tcf(status: &str, applies: bool, consents: &[u32]) -> Val {
        let c: Vec<String> = consents.iter().map(|n| format!(r#""{n}":true"#)).collect();
        json(&format!(
            r#"{{"eventStatus":"{status}","gdprApplies":{applies},"tcString":"CP...","purpose":{{"consents":{{{}}},"legitimateInterests":{{"7":true}}}}}}"#,
            c.join(",")
        ))
    }

    #[test]
    fn tcf_acts_only_on_an_answer() {
        assert_eq!(from_tcf(&tcf("cmpuishown", true, &[1, 3, 4, 7])), None);
        assert_eq!(from_tcf(&json(r#"{"gdprApplies":false}"#)), None);
        assert_eq!(from_tcf(&Val::Null), None);
        assert!(from_tcf(&tcf("tcloaded", true, &[])).is_some());
        assert!(from_tcf(&tcf("useractioncomplete", true, &[])).is_some());
    }

    #[test]
    fn tcf_maps_purposes_to_types() {
        let all = Partial::all(G);
        assert_eq!(from_tcf(&tcf("tcloaded", false, &[])), Some(all), "GDPR does not apply");
        assert_eq!(from_tcf(&tcf("useractioncomplete", true, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), Some(all));
        // Legitimate interest for 7 is in every fixture; it never grants.
        assert_eq!(from_tcf(&tcf("tcloaded", true, &[])), Some(Partial::all(D)));
        assert_eq!(
            from_tcf(&tcf("tcloaded", true, &[1])),
            Some(Partial { analytics_storage: Some(G), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(D) })
        );
        assert_eq!(
            from_tcf(&tcf("tcloaded", true, &[7, 3])),
            Some(Partial { analytics_storage: Some(D), ad_storage: Some(D), ad_user_data: Some(G), ad_personalization: Some(D) })
        );
        assert_eq!(from_tcf(&tcf("tcloaded", true, &[3, 4])).unwrap().ad_personalization, Some(G));
        // One row per combination of the purposes that matter: (1, 3, 4, 7) →
        // (analytics_storage, ad_storage, ad_user_data, ad_personalization).
        let row = |a, s, u, p| {
            Some(Partial { analytics_storage: Some(a), ad_storage: Some(s), ad_user_data: Some(u), ad_personalization: Some(p) })
        };
        let table: [(&[u32], _); 8] = [
            (&[3], row(D, D, D, D)),
            (&[4], row(D, D, D, D)),
            (&[7], row(D, D, G, D)),
            (&[1, 7], row(G, G, G, D)),
            (&[1, 3], row(G, G, D, D)),
            (&[1, 3, 4], row(G, G, D, G)),
            (&[3, 4, 7], row(D, D, G, G)),
            (&[2, 5, 6, 8, 9, 10, 11], row(D, D, D, D)),
        ];
        for (purposes, want) in table {
            assert_eq!(from_tcf(&tcf("useractioncomplete", true, purposes)), want, "purposes {purposes:?}");
        }
        // gdprApplies missing: treat as applying; no purpose object: all denied.
        assert_eq!(from_tcf(&json(r#"{"eventStatus":"tcloaded"}"#)), Some(Partial::all(D)));
        let falsy = json(r#"{"eventStatus":"tcloaded","gdprApplies":true,"purpose":{"consents":{"1":false}}}"#);
        assert_eq!(from_tcf(&falsy), Some(Partial::all(D)));
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_category_map() {
        let m = CategoryMap::default();
        assert_eq!(from_categories(&strs(&["necessary"]), &m), Partial::all(D), "reject all");
        assert_eq!(from_categories(&[], &m), Partial::all(D));
        assert_eq!(from_categories(&strs(&["necessary", "analytics", "marketing"]), &m), Partial::all(G), "accept all");
        assert_eq!(from_categories(&strs(&["necessary", "analytics"]), &m), Partial { analytics_storage: Some(G), ..Partial::all(D) });
        assert_eq!(from_categories(&strs(&["ads"]), &m), Partial { analytics_storage: Some(D), ..Partial::all(G) });
        assert_eq!(m.types("functionality"), &[]);
    }

    #[test]
    fn custom_category_map_replaces_the_default() {
        let m = parse_category_map(&json(
            r#"{"analytics":["analytics_storage"],"marketing":["ad_storage","ad_user_data"],"stats":"analytics_storage","none":[]}"#,
        ))
        .unwrap();
        assert_eq!(from_categories(&strs(&["marketing"]), &m), Partial { ad_storage: Some(G), ad_user_data: Some(G), ..Partial::all(D) });
        assert_eq!(from_categories(&strs(&["ads", "none"]), &m), Partial::all(D), "'ads' is no longer mapped");
        assert_eq!(from_categories(&strs(&["stats"]), &m).analytics_storage, Some(G));
        assert_eq!(from_categories(&strs(&["analytics", "marketing"]), &m).ad_personalization, Some(D));
    }

    #[test]
    fn category_map_errors_name_the_field() {
        let e = parse_category_map(&json(r#"{"marketing":["ad_storage","ads_storage"]}"#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "goaltag: consent.source.categories.marketing[1]: expected one of analytics_storage, ad_storage, \
             ad_user_data, ad_personalization, got \"ads_storage\""
        );
        let e = parse_category_map(&json(r#"{"analytics":true}"#)).unwrap_err();
        assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.source.categories.analytics", "true"));
        let e = parse_category_map(&json(r#"{"analytics":"analytics"}"#)).unwrap_err();
        assert_eq!(e.field, "consent.source.categories.analytics");
        let e = parse_category_map(&json(r#"["analytics"]"#)).unwrap_err();
        assert_eq!((e.field.as_str(), e.got.as_str()), ("consent.source.categories", "a list"));
    }

    #[test]
    fn reads_categories_from_the_cookie_or_event() {
        let cookie = json(r#"{"categories":["necessary","analytics",3],"revision":0,"data":null,"consentId":"x"}"#);
        assert_eq!(cookie_categories(&cookie), Some(strs(&["necessary", "analytics"])));
        assert_eq!(cookie_categories(&json(r#"{"categories":[]}"#)), Some(vec![]));
        assert_eq!(cookie_categories(&json(r#"{"categories":"analytics"}"#)), None);
        assert_eq!(cookie_categories(&json(r#"{}"#)), None);
        assert_eq!(cookie_categories(&Val::Null), None);
    }

    #[test]
    fn finds_the_banner_cookie_among_others() {
        let all = "theme=dark; cc_cookie=%7B%22categories%22%3A%5B%5D%7D;other=1; cc_cookie2=x";
        assert_eq!(cookie_value(all, "cc_cookie"), Some("%7B%22categories%22%3A%5B%5D%7D"));
        assert_eq!(cookie_value(all, "other"), Some("1"));
        assert_eq!(cookie_value(all, "cc"), None, "a prefix is not a match");
        assert_eq!(cookie_value("", "cc_cookie"), None);
        assert_eq!(cookie_value("cc_cookie=", "cc_cookie"), Some(""));
        assert_eq!(cookie_value("xcc_cookie=1", "cc_cookie"), None);
    }

    #[test]
    fn bad_or_foreign_cookie_content_is_no_answer() {
        // What the shell hands over when JSON.parse fails, or the JSON is not the banner's.
        for v in [Val::Null, Val::Str("not json".into()), json("[1,2]"), json(r#"{"categories":{"analytics":true}}"#)] {
            assert_eq!(cookie_categories(&v), None, "{v:?}");
        }
    }

    #[test]
    fn unknown_categories_grant_nothing() {
        let m = CategoryMap::default();
        let got = cookie_categories(&json(r#"{"categories":["necessary","functionality","Analytics","statistics"]}"#));
        assert_eq!(from_categories(&got.unwrap(), &m), Partial::all(D), "names are matched exactly");
    }

    #[test]
    fn an_adapter_answer_is_an_update_command() {
        for p in [Partial::all(G), Partial::all(D), Partial { ad_storage: Some(G), ..Default::default() }] {
            let (cmd, errs) = crate::core::command::parse(&update_args(&p)).unwrap();
            assert!(errs.is_empty());
            assert_eq!(cmd, crate::core::command::Command::Consent { update: true, partial: p, wait_for_update_ms: None });
        }
    }

    #[test]
    fn parses_sources() {
        assert_eq!(parse_source(&Val::Str("tcf".into())), Ok(Source::Tcf));
        assert_eq!(parse_source(&Val::Str("gcm".into())), Ok(Source::Gcm));
        assert_eq!(
            parse_source(&json(r#"{"cookie":"cc_cookie"}"#)),
            Ok(Source::Cookie { name: "cc_cookie".into(), categories: CategoryMap::default() })
        );
        assert_eq!(parse_source(&json("{}")), Ok(Source::Cookie { name: "cc_cookie".into(), categories: CategoryMap::default() }));
        let Ok(Source::Cookie { name, categories }) =
            parse_source(&json(r#"{"cookie":"my_cc","categories":{"stats":["analytics_storage"]}}"#))
        else {
            panic!("a cookie source")
        };
        assert_eq!(name, "my_cc");
        assert_eq!(categories.types("stats"), &[ConsentType::AnalyticsStorage]);
        assert_eq!(categories.types("analytics"), &[]);
        assert_eq!(parse_source(&Val::Str("onetrust".into())).unwrap_err().field, "goaltag('consent', 'source', …)");
        assert_eq!(parse_source(&json(r#"{"cookie":"a b"}"#)).unwrap_err().field, "consent.source.cookie");
        assert_eq!(parse_source(&json(r#"{"cookie":""}"#)).unwrap_err().field, "consent.source.cookie");
        assert_eq!(parse_source(&json(r#"{"cooky":"cc"}"#)).unwrap_err().field, "consent.source.cooky");
        let e = parse_source(&json(r#"{"categories":{"x":["y"]}}"#)).unwrap_err();
        assert_eq!(e.field, "consent.source.categories.x[0]");
    }

    /// `gtag(...)`'s arguments as the shell hands them over: a list.
    fn gtag(json_args: &str) -> Val {
        let v = json(json_args);
        assert!(v.as_list().is_some());
        v
    }

    fn call(c: &GcmCommand) -> Option<(bool, Partial, Option<u64>)> {
        let args = c.call.as_ref()?;
        let (cmd, errs) = crate::core::command::parse(args).expect("a valid goaltag call");
        assert!(errs.is_empty(), "{errs:?}");
        match cmd {
            crate::core::command::Command::Consent { update, partial, wait_for_update_ms } => Some((update, partial, wait_for_update_ms)),
            other => panic!("not a consent command: {other:?}"),
        }
    }

    #[test]
    fn gcm_maps_the_four_types_one_to_one_and_ignores_the_others() {
        let mut g = Gcm::default();
        let c = g.read(&gtag(
            r#"["consent","default",{"analytics_storage":"denied","ad_storage":"granted","ad_user_data":"denied",
                "ad_personalization":"granted","functionality_storage":"granted","security_storage":"granted",
                "personalization_storage":"denied","wait_for_update":500}]"#,
        ));
        let want = Partial { analytics_storage: Some(D), ad_storage: Some(G), ad_user_data: Some(D), ad_personalization: Some(G) };
        assert_eq!(call(&c), Some((false, want, Some(500))));
        assert_eq!((c.errors.len(), c.warning), (0, None));
        let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"granted","functionality_storage":"denied"}]"#));
        assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(G), ..Default::default() }, None)));
        for t in ConsentType::ALL {
            let c = g.read(&gtag(&format!(r#"["consent","update",{{"{}":"denied"}}]"#, t.name())));
            let mut p = Partial::default();
            p.set(t, Some(D));
            assert_eq!(call(&c), Some((true, p, None)), "{}", t.name());
        }
    }

    #[test]
    fn gcm_wait_for_update_counts_on_a_default_only_and_is_capped() {
        let mut g = Gcm::default();
        let wait = |g: &mut Gcm, cmd: &str, w: &str| {
            call(&g.read(&gtag(&format!(r#"["consent","{cmd}",{{"ad_storage":"denied","wait_for_update":{w}}}]"#)))).unwrap().2
        };
        assert_eq!(wait(&mut g, "default", "2000"), Some(2000));
        assert_eq!(wait(&mut g, "default", "499.6"), Some(500));
        assert_eq!(wait(&mut g, "default", "600000"), Some(MAX_WAIT_MS), "capped like goaltag's own");
        assert_eq!(wait(&mut g, "default", "0"), None);
        assert_eq!(wait(&mut g, "default", "-5"), None);
        assert_eq!(wait(&mut g, "default", r#""500""#), None);
        assert_eq!(wait(&mut g, "update", "500"), None, "an update's wait means nothing");
    }

    #[test]
    fn gcm_ignores_what_is_no_consent_command() {
        let mut g = Gcm::default();
        for other in [
            r#"["js","2026-01-01"]"#,
            r#"["config","G-XXXX",{"send_page_view":false}]"#,
            r#"["event","purchase",{"value":10}]"#,
            r#"["set","ads_data_redaction",true]"#,
            r#"["consent","reset",{"ad_storage":"granted"}]"#,
            r#"["consent","update"]"#,
            r#"["consent","update","granted"]"#,
            r#"["consent"]"#,
            r#"[]"#,
        ] {
            assert_eq!(g.read(&gtag(other)), GcmCommand::default(), "{other}");
        }
        // GTM's own pushes ({event: 'gtm.js'}) and arrays never reach read as arguments; as values they mean nothing.
        assert_eq!(g.read(&json(r#"{"event":"gtm.js","gtm.start":1}"#)), GcmCommand::default());
        assert_eq!(g.read(&Val::Null), GcmCommand::default());
        // Naming none of the four types leaves the state as it was (unknown stays unknown).
        for nothing in [
            r#"["consent","default",{}]"#,
            r#"["consent","default",{"functionality_storage":"granted","wait_for_update":500}]"#,
            r#"["consent","update",{"security_storage":"granted","analytics_storage":null}]"#,
        ] {
            assert_eq!(g.read(&gtag(nothing)), GcmCommand::default(), "{nothing}");
        }
    }

    #[test]
    fn gcm_reports_a_bad_value_and_keeps_the_others() {
        let mut g = Gcm::default();
        let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"denied","ad_storage":"yes","ad_user_data":true}]"#));
        assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(D), ..Default::default() }, None)));
        let fields: Vec<&str> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["gtag('consent', 'update', …).ad_storage", "gtag('consent', 'update', …).ad_user_data"]);
        assert_eq!(c.errors[0].message(), r#"goaltag: gtag('consent', 'update', …).ad_storage: expected "granted" or "denied", got "yes""#);
    }

    #[test]
    fn gcm_region_scoped_commands_only_deny_whatever_the_order() {
        let regional = r#"["consent","default",{"analytics_storage":"denied","ad_storage":"denied","ad_user_data":"granted","region":["ES","US-CA"],"wait_for_update":500}]"#;
        let global = r#"["consent","default",{"analytics_storage":"granted","ad_storage":"granted","ad_user_data":"granted","ad_personalization":"granted"}]"#;
        let only_denials = Partial { analytics_storage: Some(D), ad_storage: Some(D), ..Default::default() };
        let global_after = Partial { analytics_storage: Some(D), ad_storage: Some(D), ad_user_data: Some(G), ad_personalization: Some(G) };
        // Regional first, then the rest of the world's default.
        let mut g = Gcm::default();
        let c = g.read(&gtag(regional));
        assert_eq!(call(&c), Some((false, only_denials, Some(500))), "its grant is ignored, its wait kept");
        assert_eq!(c.warning, Some(GCM_REGION_WARNING));
        let c = g.read(&gtag(global));
        assert_eq!(call(&c), Some((false, global_after, None)), "the region's denials hold");
        assert_eq!(c.warning, None);
        // The other order ends in the same state.
        let mut g = Gcm::default();
        let mut c = Consent::new(Mode::Basic, Env::default(), T0);
        for cmd in [global, regional] {
            let (_, p, w) = call(&g.read(&gtag(cmd))).unwrap();
            c.set_default(p, w, T0);
        }
        let mut want = Consent::new(Mode::Basic, Env::default(), T0);
        want.set_default(global_after, None, T0);
        assert_eq!(c.snapshot(), want.snapshot());
        // Warned once; an all-granting regional default changes nothing; the banner's update still grants.
        let c = g.read(&gtag(r#"["consent","default",{"analytics_storage":"granted","region":["US"]}]"#));
        assert_eq!(c, GcmCommand::default());
        let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"granted","ad_storage":"granted"}]"#));
        assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(G), ad_storage: Some(G), ..Default::default() }, None)));
        // A regional update can still revoke, never grant; an empty region list is no region.
        let c = g.read(&gtag(r#"["consent","update",{"analytics_storage":"denied","ad_storage":"granted","region":["FR"]}]"#));
        assert_eq!(call(&c), Some((true, Partial { analytics_storage: Some(D), ..Default::default() }, None)));
        let c = g.read(&gtag(r#"["consent","default",{"ad_personalization":"granted","region":[]}]"#));
        assert_eq!(call(&c), Some((false, Partial { ad_personalization: Some(G), ..Default::default() }, None)));
    }

    #[test]
    fn consent_type_names_round_trip() {
        for t in ConsentType::ALL {
            assert_eq!(ConsentType::from_name(t.name()), Some(t));
            let mut p = Partial::default();
            p.set(t, Some(G));
            assert_eq!(p.get(t), Some(G));
        }
        assert_eq!(ConsentType::from_name("analytics"), None);
    }
}
