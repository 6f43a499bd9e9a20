//! Enhanced conversions: `goaltag('user_data', {email, phone, …})` turned
//! into each ad platform's match keys, normalised by that platform's rules
//! ([`google`], [`microsoft`], [`meta`]) and hashed with SHA-256
//! ([`crate::core::digest`]). The raw values live only for this call: what
//! the tracker keeps (in memory, for this page's conversions) is the wire's
//! [`UserData`] of hashes. docs/enhanced-conversions.md has the rules and
//! their sources.
//!
//! Unicode (NFC, lower case, accents) is the browser's: the shell folds
//! text with `String.prototype.normalize` and `toLowerCase`
//! ([`crate::core::tracker::Host::fold`]), so the download carries no
//! Unicode tables.

pub mod google;
pub mod meta;
pub mod microsoft;

use crate::core::digest::sha256_hex;
use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::prelude::*;
use goaltag_wire::user_data::is_sha256_hex;
use goaltag_wire::{Map, UserData};

/// The fields of `goaltag('user_data', {…})`, as given (trimmed later).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// `email`.
    pub email: Option<String>,
    /// `phone`: with `+` or `00` and the country code, or national with
    /// `config.phone_country_code`.
    pub phone: Option<String>,
    /// `first_name`.
    pub first_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `street`.
    pub street: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `region`: state or province.
    pub region: Option<String>,
    /// `postal_code`.
    pub postal_code: Option<String>,
    /// `country`: ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// Every parameter `goaltag('user_data', …)` knows.
pub const FIELDS: [&str; 9] = ["email", "phone", "first_name", "last_name", "street", "city", "region", "postal_code", "country"];

impl Input {
    /// The field named `key` ([`FIELDS`]), for the parser to fill.
    pub fn field(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "email" => &mut self.email,
            "phone" => &mut self.phone,
            "first_name" => &mut self.first_name,
            "last_name" => &mut self.last_name,
            "street" => &mut self.street,
            "city" => &mut self.city,
            "region" => &mut self.region,
            "postal_code" => &mut self.postal_code,
            "country" => &mut self.country,
            _ => return None,
        })
    }
}

/// Text in the browser's Unicode: NFC and lower case, and with
/// `strip_accents` decomposed and without its combining marks.
pub type Fold<'a> = &'a dyn Fn(&str, bool) -> String;

/// A field trimmed, None when nothing is left: an empty string is never hashed.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The raw value when it already is a SHA-256 (64 hex digits): sent as
/// given, in lower case; the site must then have normalised it for the platform.
pub fn prehashed(v: &Option<String>) -> Option<String> {
    given(v).filter(|s| is_sha256_hex(s)).map(str::to_ascii_lowercase)
}

/// Puts `key` into `out`: the hash of `normalise(raw)`, or the raw value
/// itself when it is a hash already; nothing when the field is absent or
/// normalises to nothing.
pub fn put(out: &mut Map, key: &str, raw: &Option<String>, normalise: impl FnOnce(&str) -> String) {
    let hash = match prehashed(raw) {
        Some(h) => Some(h),
        None => given(raw).map(normalise).filter(|s| !s.is_empty()).map(|s| sha256_hex(&s)),
    };
    if let Some(h) = hash {
        out.insert(key.into(), h);
    }
}

/// `s` without the characters `drop` names.
pub fn without(s: &str, drop: fn(char) -> bool) -> String {
    s.chars().filter(|c| !drop(*c)).collect()
}

/// The phone number as E.164 digits, without the `+` (`16505551212`):
/// written with `+` or `00` and its country code, or national (a leading
/// trunk `0` dropped, except in Italy, and a leading `1` of an 11-digit
/// North American number) with `country_code` before it. Err: why it
/// cannot be, for the console.
pub fn e164(raw: &str, country_code: Option<&str>) -> Result<String, &'static str> {
    let t = raw.trim();
    let digits = without(t, |c| !c.is_ascii_digit());
    let full = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.into()
    } else {
        let cc = country_code.ok_or("a number without its country code, and no config.phone_country_code; dropped")?;
        let mut national = digits.as_str();
        if cc != "39" {
            national = national.strip_prefix('0').unwrap_or(national);
        }
        if cc == "1" && national.len() == 11 {
            national = national.strip_prefix('1').unwrap_or(national);
        }
        [cc, national].concat()
    };
    if (8..=15).contains(&full.len()) && !full.starts_with('0') {
        Ok(full)
    } else {
        Err("not a phone number of 8 to 15 digits with its country code; dropped")
    }
}

/// Every platform's match keys for `input`; `country_code` is
/// `config.phone_country_code`. The errors are for the console and never
/// quote a value.
pub fn build(input: &Input, fold: Fold, country_code: Option<&str>) -> (UserData, Vec<ConfigError>) {
    let mut errors = Vec::new();
    // One phone for all three: E.164 (Google and Microsoft hash it with its `+`).
    let phone = match (prehashed(&input.phone), given(&input.phone)) {
        (Some(h), _) => Some(Phone::Hashed(h)),
        (None, Some(raw)) => match e164(raw, country_code) {
            Ok(d) => Some(Phone::Digits(d)),
            Err(why) => {
                errors.push(ConfigError::msg("user_data.phone", Msg::Phone, why));
                None
            }
        },
        _ => None,
    };
    let mut u = UserData::default();
    google::rules(input, fold, phone.as_ref(), &mut u.google);
    microsoft::rules(input, fold, phone.as_ref(), &mut u.microsoft);
    meta::rules(input, fold, phone.as_ref(), &mut u.meta);
    (u, errors)
}

/// The phone as the platforms get it.
pub enum Phone {
    /// A hash given as the value: sent as it is.
    Hashed(String),
    /// E.164 digits without the `+`.
    Digits(String),
}

impl Phone {
    /// The match key: the given hash, or the hash of the digits, with `+` before them when `plus`.
    pub fn key(&self, plus: bool) -> String {
        match self {
            Phone::Hashed(h) => h.clone(),
            Phone::Digits(d) => sha256_hex(&[if plus { "+" } else { "" }, d].concat()),
        }
    }
}

/// An email (already folded to lower case) by a platform's rule: trimmed;
/// when `dots_plus(domain)`, its local part without a `+suffix` and without
/// `.`s. Nothing (never hashed) without a local part, `@` and a domain.
pub fn email(folded: &str, dots_plus: fn(&str) -> bool) -> String {
    match folded.trim().rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let local = if dots_plus(domain) { without(local.split('+').next().unwrap_or(""), |c| c == '.') } else { local.into() };
            if local.is_empty() {
                String::new()
            } else {
                [&local, "@", domain].concat()
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;

/// What [`crate::core::tracker::Host::fold`] does where there is no
/// browser (native tests): lower case by Rust's tables, no NFC, and only
/// Latin-1's accents removed.
pub fn fold_latin(s: &str, strip_accents: bool) -> String {
    let s = s.to_lowercase();
    if !strip_accents {
        return s;
    }
    s.chars()
        .map(|c| match c {
            'à'..='å' => 'a',
            'ç' => 'c',
            'è'..='ë' => 'e',
            'ì'..='ï' => 'i',
            'ñ' => 'n',
            'ò'..='ö' | 'ø' => 'o',
            'ù'..='ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}
