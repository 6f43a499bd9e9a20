//! `url_passthrough`: while ad storage is denied or not yet answered, the
//! campaign parameters a visitor landed with (click IDs and `utm_*`) ride
//! along in the URLs of the same-site links and forms they follow, so the
//! page on which they finally grant consent still knows the campaign. Nothing
//! is stored and nothing is sent: the parameters only move from one of the
//! site's URLs to the next, where they are visible in the address bar.
//!
//! The shell decorates only the link or form being followed, at that moment;
//! every rule of which element, what is carried and how is here ([`plan`]).

use crate::core::attribution::kind_of;
use crate::core::url;
use crate::prelude::*;

/// The campaign parameters of `landing` (the page's URL as loaded, after
/// redaction), raw as they stand in its query, the first of a repeated name only.
pub fn params<'a>(landing: &'a str, extra_click_ids: &[String]) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (name, value) in url::query_pairs(landing) {
        let lower = name.to_ascii_lowercase();
        if !value.is_empty() && kind_of(&lower, extra_click_ids).is_some() && !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            out.push((name, value));
        }
    }
    out
}

/// Whether following `target` from `page` stays on the site: an http(s) URL
/// on the same host and port (a leading `www.` aside).
pub fn same_site(target: &str, page: &str) -> bool {
    let web = |u: &str| url::starts_with_ci(u, "http://") || url::starts_with_ci(u, "https://");
    web(target) && url::host(target).is_some_and(|h| url::host(page).as_deref() == Some(h.as_str()))
}

/// `target` with the `params` it lacks added to its query, before any
/// fragment; its own query and fragment stay as they are. None when `target`
/// leaves the site or already has them all.
pub fn decorate(target: &str, page: &str, params: &[(&str, &str)]) -> Option<String> {
    if !same_site(target, page) {
        return None;
    }
    let frag = target.bytes().position(|c| c == b'#').unwrap_or(target.len());
    let (before, fragment) = (target.get(..frag)?, target.get(frag..)?);
    let mut out = String::with_capacity(target.len() + 64);
    out.push_str(before);
    let mut sep = match before.bytes().position(|c| c == b'?') {
        None => "?",
        Some(q) if q + 1 == before.len() || before.ends_with('&') => "",
        Some(_) => "&",
    };
    for (n, v) in params {
        if !has_param(target, n) {
            out.push_str(sep);
            out.push_str(n);
            out.push('=');
            out.push_str(v);
            sep = "&";
        }
    }
    (out.len() > before.len()).then(|| out + fragment)
}

/// The links `url_passthrough` decorates: the nearest of these around a
/// click's target (a CSS selector, for `Element.closest`).
pub const LINK: &str = "a[href]";

/// The link or form a visitor follows, as the shell read it from the DOM.
#[derive(Debug, Clone, Copy)]
pub enum Followed<'a> {
    /// A link (the nearest [`LINK`]): its `href` property, an absolute URL.
    Link {
        /// The `href` property.
        href: &'a str,
    },
    /// A form being submitted: its `action` property (an absolute URL) and
    /// its `method` property (`get`, `post` or `dialog`).
    Form {
        /// The `action` property.
        action: &'a str,
        /// The `method` property.
        method: &'a str,
    },
}

/// What the shell changes on the followed link or form, at once (the
/// navigation reads it right after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoration {
    /// Sets the element's property `prop` (`href` of a link, `action` of a
    /// POST form) to `url`.
    Set {
        /// The property to set.
        prop: &'static str,
        /// The URL it gets.
        url: String,
    },
    /// Appends a hidden `<input>` for each `(name, value)`: a GET form, whose
    /// own query the browser replaces with its fields.
    Fields(Vec<(String, String)>),
}

/// What `url_passthrough` does to `followed` from `page`, carrying `params`
/// ([`params`]); `has` says whether a GET form already has a field of that
/// name. None: leave it alone (another site, nothing missing, a `dialog`
/// form, which goes nowhere).
pub fn plan(followed: Followed, page: &str, params: &[(&str, &str)], has: impl Fn(&str) -> bool) -> Option<Decoration> {
    let (prop, target) = match followed {
        Followed::Link { href } => ("href", href),
        Followed::Form { action, method: "post" } => ("action", action),
        Followed::Form { action, method: "get" } => {
            let add = fields(action, page, params, has);
            return (!add.is_empty()).then_some(Decoration::Fields(add));
        }
        Followed::Form { .. } => return None,
    };
    Some(Decoration::Set { prop, url: decorate(target, page, params)? })
}

/// Whether `url`'s query names the parameter `name` (any case).
fn has_param(url: &str, name: &str) -> bool {
    url::query_pairs(url).any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// For a GET form submitted to `action` (whose own query the browser
/// replaces with the form's fields): the `(name, value)` pairs to add as
/// hidden fields, values decoded, leaving out names `has` says the form
/// already has. Empty when the form leaves the site.
pub fn fields(action: &str, page: &str, params: &[(&str, &str)], has: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if same_site(action, page) {
        for (n, v) in params {
            if !has(n) {
                out.push((n.to_string(), url::decode_query_value(v)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
