//! The vocabulary of consent commands: the four Consent Mode types, a
//! partial state naming some of them, and how the page's values parse.

use super::MAX_WAIT_MS;
use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::Signal;

/// The four consent types, with Google Consent Mode v2 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentType {
    /// `analytics_storage`: the client and visit IDs, the persisted outbox, goal memory.
    AnalyticsStorage,
    /// `ad_storage`: click IDs and the campaign touch.
    AdStorage,
    /// `ad_user_data`: sending conversions for ads.
    AdUserData,
    /// `ad_personalization`: ad personalisation.
    AdPersonalization,
}

impl ConsentType {
    /// The four, in Consent Mode's order.
    pub const ALL: [ConsentType; 4] =
        [ConsentType::AnalyticsStorage, ConsentType::AdStorage, ConsentType::AdUserData, ConsentType::AdPersonalization];

    /// The Consent Mode name.
    pub fn name(self) -> &'static str {
        match self {
            ConsentType::AnalyticsStorage => "analytics_storage",
            ConsentType::AdStorage => "ad_storage",
            ConsentType::AdUserData => "ad_user_data",
            ConsentType::AdPersonalization => "ad_personalization",
        }
    }

    /// The type of a Consent Mode name.
    pub fn from_name(s: &str) -> Option<ConsentType> {
        ConsentType::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// Some of the four types, as one command or adapter gives them; `None` = not given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Partial {
    /// `analytics_storage`, if named.
    pub analytics_storage: Option<Signal>,
    /// `ad_storage`, if named.
    pub ad_storage: Option<Signal>,
    /// `ad_user_data`, if named.
    pub ad_user_data: Option<Signal>,
    /// `ad_personalization`, if named.
    pub ad_personalization: Option<Signal>,
}

impl Partial {
    /// All four types set to `s`: what `data-consent="granted"` means.
    pub fn all(s: Signal) -> Partial {
        Partial { analytics_storage: Some(s), ad_storage: Some(s), ad_user_data: Some(s), ad_personalization: Some(s) }
    }

    /// The signal for `t`, if named.
    pub fn get(&self, t: ConsentType) -> Option<Signal> {
        match t {
            ConsentType::AnalyticsStorage => self.analytics_storage,
            ConsentType::AdStorage => self.ad_storage,
            ConsentType::AdUserData => self.ad_user_data,
            ConsentType::AdPersonalization => self.ad_personalization,
        }
    }

    /// Names (or, with None, un-names) `t`.
    pub fn set(&mut self, t: ConsentType, s: Option<Signal>) {
        match t {
            ConsentType::AnalyticsStorage => self.analytics_storage = s,
            ConsentType::AdStorage => self.ad_storage = s,
            ConsentType::AdUserData => self.ad_user_data = s,
            ConsentType::AdPersonalization => self.ad_personalization = s,
        }
    }

    /// Types given in `over` replace ours; the others are kept (partial updates).
    pub(super) fn merge(&mut self, over: Partial) {
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
        _ => Err(ConfigError::new(field, Msg::Signal, v)),
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
        return Err(ConfigError::new("goaltag('consent', command, …)", Msg::ConsentCommands, &Val::Str(command.to_owned())));
    }
    let Some(fields) = v.as_map() else {
        return Err(ConfigError::new(crate::core::error::cat(&["goaltag('consent', '", command, "', …)"]), Msg::ConsentObject, v));
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
            return Err(crate::core::fields::unknown(&field, Msg::ConsentFields));
        }
    }
    Ok((p, wait))
}

#[cfg(test)]
mod tests;
