//! `goaltag('consent', 'source', …)`: which adapter follows which banner, and
//! the command an adapter's answer becomes.

use super::cookie::valid_cookie_name;
use super::{parse_category_map, CategoryMap, ConsentType, Partial};
use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;

/// Where consent updates come from: `goaltag('consent', 'source', …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `'tcf'`: the IAB TCF v2.2 CMP's `__tcfapi`.
    Tcf,
    /// `'gcm'`: Google Consent Mode, the `gtag('consent', …)` commands on
    /// `window.dataLayer` (see [`Gcm`]).
    Gcm,
    /// `{cookie: 'cc_cookie', categories: {...}}`: an orestbida/cookieconsent v3 banner.
    Cookie {
        /// The banner's cookie name (`cc_cookie`).
        name: String,
        /// Which accepted category grants which types.
        categories: CategoryMap,
    },
}

/// Parses the third argument of `goaltag('consent', 'source', …)`. The cookie
/// name defaults to `cc_cookie`, the categories to [`CategoryMap::default`].
pub fn parse_source(v: &Val) -> Result<Source, ConfigError> {
    const FIELD: &str = "goaltag('consent', 'source', …)";
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
                        _ => return Err(ConfigError::new("consent.source.cookie", Msg::CookieName, val)),
                    },
                    "categories" => categories = parse_category_map(val)?,
                    _ => {
                        return Err(ConfigError::msg(
                            crate::core::error::cat(&["consent.source.", key]),
                            Msg::CookieSourceFields,
                            "an unknown field",
                        ))
                    }
                }
            }
            Ok(Source::Cookie { name, categories })
        }
        _ => Err(ConfigError::new(FIELD, Msg::ConsentSource, v)),
    }
}

/// An adapter's answer as the call a page would make:
/// `goaltag('consent', 'update', {...})`. The shell runs it like any call, so
/// an answer that arrives while the tag is busy (a CMP calling back at once,
/// inside the `source` command) is deferred, never lost.
pub fn update_args(p: &Partial) -> Vec<Val> {
    consent_args("update", p, None)
}

/// `goaltag('consent', command, {...types, wait_for_update})`.
pub(super) fn consent_args(command: &str, p: &Partial, wait_for_update_ms: Option<u64>) -> Vec<Val> {
    // Loops rather than collect(): each collect into a new Vec type is its own copy of the code.
    let mut fields: Vec<(String, Val)> = Vec::new();
    for t in ConsentType::ALL {
        if let Some(s) = p.get(t) {
            fields.push((t.name().to_owned(), Val::Str(s.as_str().to_owned())));
        }
    }
    if let Some(ms) = wait_for_update_ms {
        fields.push(("wait_for_update".to_owned(), Val::Num(ms as f64)));
    }
    vec![Val::Str("consent".to_owned()), Val::Str(command.to_owned()), Val::Map(fields)]
}

#[cfg(test)]
mod tests;
