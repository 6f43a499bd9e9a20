//! The beacon wire format, version 1, shared by the tag (which writes it) and the
//! collector (which reads it), so the two can never disagree on a field name.
//!
//! The tag writes JSON with the small hand-written writer in [`json`] instead of
//! serde_json: serde_json would cost more download bytes than the whole rest of
//! the tag. The serde derives here are what the collector parses with, and the
//! tests below prove that the writer and the derives agree.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

mod identifiers;
pub mod json;
pub mod limits;
mod map;
pub mod user_data;

pub use identifiers::Identifier;
pub use limits::{is_goal_id, is_site_key, is_wire_text};
pub use map::Map;
pub use user_data::UserData;

/// True for a canonical hyphenated UUID of any version (either case): the
/// tag makes them, the collector refuses anything else as an event ID.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Wire format version; bumped only for an incompatible change.
pub const VERSION: u32 = 1;

/// What kind of thing happened. New kinds may be added; existing ones keep their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    PageView,
    Click,
    FormSubmit,
    Event,
    Conversion,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PageView => "page_view",
            Kind::Click => "click",
            Kind::FormSubmit => "form_submit",
            Kind::Event => "event",
            Kind::Conversion => "conversion",
        }
    }
}

/// One POST body: a batch of events from one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub v: u32,
    pub site: String,
    /// Milliseconds since the Unix epoch when this attempt left the browser.
    pub sent_at: u64,
    /// 1 for the first attempt at sending this batch, 2 for the first retry, ...
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempt: u32,
    /// Events the tag had to drop before sending, by reason, so loss is never silent.
    #[serde(default, skip_serializing_if = "Dropped::is_empty")]
    pub dropped: Dropped,
    pub events: Vec<Event>,
}

fn one() -> u32 {
    1
}
fn is_one(n: &u32) -> bool {
    *n == 1
}

/// Counts of events the tag dropped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Outbox or held-event buffer full: the oldest non-conversions went first.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub overflow: u32,
    /// The collector refused the batch with a non-retryable 4xx.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub poison: u32,
    /// Older than the retry age budget.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expired: u32,
    /// Recorded while consent allowed it, not yet sent when the visitor
    /// withdrew it (basic mode): never sent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consent: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Dropped {
    /// The wire names of the counters, in the order of [`Dropped::counts`].
    pub const NAMES: [&'static str; 4] = ["overflow", "poison", "expired", "consent"];

    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|&n| n == 0)
    }

    /// The counters, in the order of [`Dropped::NAMES`].
    pub fn counts(&self) -> [u32; 4] {
        [self.overflow, self.poison, self.expired, self.consent]
    }

    /// The counters to change, in the order of [`Dropped::NAMES`].
    pub fn counts_mut(&mut self) -> [&mut u32; 4] {
        [&mut self.overflow, &mut self.poison, &mut self.expired, &mut self.consent]
    }
}

/// One event. Every field but `id`, `kind` and `ts` is optional; absent fields are
/// left out of the JSON rather than sent as null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 4122 UUID: random (v4) for ordinary events, name-based (v5) for
    /// conversions with a transaction ID so that a replay carries the same ID.
    pub id: String,
    pub kind: Kind,
    /// Milliseconds since the Unix epoch when the event was recorded.
    pub ts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Conversions: the goal's id, whether it is a primary goal, and the ID of
    /// the event that triggered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Clicks: a compact description of the clicked element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<Element>,
    /// Form submits: the form, never its values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
    /// Pseudonymous IDs, present only when consent allows storing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<String>,
    /// Campaign data attached to conversions (and landing page views).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
    /// The consent state the event was recorded under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// True when the browser sent Global Privacy Control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpc: Option<bool>,
    /// Conversions: the buyer's hashed match keys for enhanced conversions,
    /// per ad platform ([`UserData`]), only while `ad_user_data` is granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<UserData>,
}

impl Event {
    /// An event with only the required fields set.
    pub fn new(id: String, kind: Kind, ts: u64) -> Event {
        Event {
            id,
            kind,
            ts,
            url: None,
            referrer: None,
            title: None,
            action: None,
            category: None,
            label: None,
            value: None,
            currency: None,
            transaction_id: None,
            goal: None,
            primary: None,
            trigger: None,
            element: None,
            form: None,
            client_id: None,
            visit_id: None,
            attribution: None,
            consent: None,
            gpc: None,
            user_data: None,
        }
    }
}

/// The clicked element, described without reading the page's text beyond a
/// trimmed 100 characters of the element itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `data-goaltag-*` attributes, without the prefix.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map,
}

/// A submitted form: identity and field count only, never a field's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub fields: u32,
}

/// Where the visitor came from: click IDs, utm parameters and referrer host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub click_ids: Map,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub utm: Map,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_url: Option<String>,
}

/// A consent snapshot with Google Consent Mode v2 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub analytics_storage: Signal,
    pub ad_storage: Signal,
    pub ad_user_data: Signal,
    pub ad_personalization: Signal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Granted,
    Denied,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Granted => "granted",
            Signal::Denied => "denied",
        }
    }
}
