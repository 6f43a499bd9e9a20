//! The cookie banner adapter's rules (orestbida/cookieconsent v3): which
//! accepted category grants which types, and how its cookie is read.

use super::{ConsentType, Partial};
use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;
use goaltag_wire::Signal;

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
        return Err(ConfigError::new(CATEGORIES_FIELD, Msg::CategoriesObject, v));
    };
    let mut entries = Vec::new();
    for (cat, val) in fields {
        let field = crate::core::error::cat(&[CATEGORIES_FIELD, ".", cat]);
        let one = |x: &Val, field: String| {
            x.as_str().and_then(ConsentType::from_name).ok_or_else(|| ConfigError::new(field, Msg::ConsentTypes, x))
        };
        let types = match val {
            Val::Str(_) => vec![one(val, field)?],
            Val::List(l) => {
                let mut types = Vec::new();
                for (i, x) in l.iter().enumerate() {
                    types.push(one(x, crate::core::error::indexed(&field, i))?);
                }
                types
            }
            _ => return Err(ConfigError::new(field, Msg::ConsentTypeList, val)),
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
    let mut out = Vec::new();
    for c in cookie.get("categories")?.as_list()? {
        if let Some(c) = c.as_str() {
            out.push(c.to_owned());
        }
    }
    Some(out)
}

/// The value of cookie `name` in a `document.cookie` string (`a=1; b=2`), still
/// URI-encoded as the banner wrote it. `None` when the cookie is not set.
pub fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').filter_map(|c| c.split_once('=')).find(|(k, _)| k.trim() == name).map(|(_, v)| v.trim())
}

/// An RFC 6265 token, short: anything else could never match `document.cookie`.
pub(super) fn valid_cookie_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && crate::core::text::all_bytes(s, |c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

#[cfg(test)]
mod tests;
