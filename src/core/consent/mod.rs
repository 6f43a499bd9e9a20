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
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::{Consent as Snapshot, Identifier, Signal};

mod cookie;
mod gcm;
mod held;
mod source;
mod tcf;
#[cfg(test)]
mod tests;
mod types;

pub use cookie::{cookie_categories, cookie_value, from_categories, parse_category_map, CategoryMap};
pub use gcm::{Gcm, GcmCommand, GCM_REGION_WARNING};
pub use held::{Held, HELD_CAPACITY};
pub use source::{parse_source, update_args, Source};
pub use tcf::from_tcf;
pub use types::{parse_data_consent, parse_partial, parse_signal, ConsentType, Partial};

/// With no consent state this long after start, one console warning says how to set it.
pub const WARN_AFTER_MS: u64 = 10_000;
/// Longest accepted `wait_for_update`: held events are lost if the page closes first.
pub const MAX_WAIT_MS: u64 = 60_000;

/// `basic` sends nothing without analytics consent; `advanced` sends cookieless pings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    /// Nothing is sent while analytics storage is denied (the default).
    Basic,
    /// Cookieless pings while analytics storage is denied.
    Advanced,
}

/// Parses a `mode` setting (`"basic"` or `"advanced"`); `field` names it in the error.
pub fn parse_mode(v: &Val, field: &str) -> Result<Mode, ConfigError> {
    match v.as_str() {
        Some("basic") => Ok(Mode::Basic),
        Some("advanced") => Ok(Mode::Advanced),
        _ => Err(ConfigError::new(field, Msg::Mode, v)),
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
    /// Send, with what the snapshot allows of the identifiers (the wire's
    /// rule, [`Snapshot::allows`], which the tracker applies to each event):
    /// `identifiers: false` is a cookieless ping, no client or visit ID;
    /// `ad_data: false`, no click IDs. Here they tell a narrowing apart.
    Send {
        /// Client and visit IDs may go with the event.
        identifiers: bool,
        /// Click IDs may go with the event.
        ad_data: bool,
    },
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
    PurgeStorage {
        /// The analytics keys.
        analytics: bool,
        /// The ad keys.
        ads: bool,
    },
    /// What may be sent narrowed (analytics or ad storage or ad user data withdrawn, GPC or
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
    /// No default or update yet.
    Unknown,
    /// A `wait_for_update` is running.
    Waiting,
    /// A default or an update decided the state.
    Decided,
    /// The visitor opted out.
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
    /// `ad_user_data` granted and in force: queued conversions may carry user data.
    user_data: bool,
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

    /// What to do with an event recorded now.
    pub fn route(&self) -> Route {
        if self.env.opted_out {
            return Route::Drop;
        }
        if !self.decided || self.wait_until.is_some() {
            return Route::Hold;
        }
        let s = self.snapshot();
        if s.analytics_storage == Signal::Granted || self.mode == Mode::Advanced {
            // What may go with the events is the wire's rule, said once.
            Route::Send { identifiers: s.allows(Identifier::ClientId), ad_data: s.allows(Identifier::ClickIds) }
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

    /// Basic or advanced.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The browser signals and the opt-out in force.
    pub fn env(&self) -> Env {
        self.env
    }

    /// The coarse state, for debugging.
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
        Status {
            route: self.route(),
            analytics: self.may_store(Purpose::Analytics),
            ads: self.may_store(Purpose::Ads),
            user_data: self.may_store(Purpose::UserData),
        }
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
        // Revoking ad_user_data stores nothing to purge, but the queued
        // conversions' user data must not leave: a narrowing too.
        if narrowed(before.route, after.route) || (before.user_data && !after.user_data) {
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
