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
use crate::core::error::{cat, ConfigError};
use crate::core::messages::Msg;
use crate::prelude::*;
use goaltag_wire::user_data::is_sha256_hex;
use goaltag_wire::UserData;

/// Every parameter of `goaltag('user_data', …)`, in the order of [`Input`]'s values.
pub const FIELDS: [&str; 9] = ["email", "phone", "first_name", "last_name", "street", "city", "region", "postal_code", "country"];
/// Indices into [`Input`] ([`FIELDS`]).
pub const EMAIL: usize = 0;
/// `phone`: with `+` or `00` and the country code, or national with `config.phone_country_code`.
pub const PHONE: usize = 1;
/// `first_name`.
pub const FIRST_NAME: usize = 2;
/// `last_name`.
pub const LAST_NAME: usize = 3;
/// `street`.
pub const STREET: usize = 4;
/// `city`.
pub const CITY: usize = 5;
/// `region`: state or province.
pub const REGION: usize = 6;
/// `postal_code`.
pub const POSTAL_CODE: usize = 7;
/// `country`: ISO 3166-1 alpha-2.
pub const COUNTRY: usize = 8;

/// The fields of `goaltag('user_data', {…})` as given, by [`FIELDS`] index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input(pub [Option<String>; 9]);

impl Input {
    /// The field named `key` ([`FIELDS`]), for the parser to fill.
    pub fn field(&mut self, key: &str) -> Option<&mut Option<String>> {
        let i = FIELDS.iter().position(|f| *f == key)?;
        self.0.get_mut(i)
    }
}

/// How a platform normalises a field before hashing it (the platform files
/// say which field gets which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Lower case (NFC), trimmed.
    Trim,
    /// An email, lower case, without white space; at `gmail.com` and
    /// `googlemail.com` without the `.`s and a `+suffix` of its local part.
    GmailEmail,
    /// An email, lower case, without white space and accents, and at every
    /// domain without the `.`s and a `+suffix` of its local part.
    EveryDomainEmail,
    /// An email, trimmed and lower case, nothing else.
    Email,
    /// The phone's E.164 digits, with `+` before them when true.
    Phone(bool),
    /// Lower case, trimmed, without ASCII punctuation.
    NoPunctuation,
    /// Lower case, without ASCII punctuation or white space.
    NoPunctuationOrSpace,
    /// Lower case, without white space or `-`; in the US the first five digits.
    Zip,
    /// Two lower-case letters, else nothing.
    Country,
}

/// A platform's match keys: `(wire name, field, rule)` hashed, and the
/// fields sent plain.
pub struct Platform {
    /// Hashed fields.
    pub hashed: &'static [(&'static str, usize, Rule)],
    /// Plain fields (Google's address parts): `(wire name, field)`.
    pub plain: &'static [(&'static str, usize)],
}

/// Text in the browser's Unicode: NFC and lower case, and with
/// `strip_accents` decomposed and without its combining marks.
pub type Fold<'a> = &'a dyn Fn(&str, bool) -> String;

/// A field trimmed, None when nothing is left: an empty string is never hashed.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Field `i` of `input` trimmed, None when nothing is left ([`given`]).
fn given_at(input: &Input, i: usize) -> Option<&str> {
    given(input.0.get(i)?)
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
        let cc = country_code.ok_or("no country code (+, 00 or config.phone_country_code); dropped")?;
        let mut national = digits.as_str();
        if cc != "39" {
            national = national.strip_prefix('0').unwrap_or(national);
        }
        if cc == "1" && national.len() == 11 {
            national = national.strip_prefix('1').unwrap_or(national);
        }
        cat(&[cc, national])
    };
    if (8..=15).contains(&full.len()) && !full.starts_with('0') {
        Ok(full)
    } else {
        Err("not 8 to 15 digits; dropped")
    }
}

/// An email (already folded to lower case) by a platform's rule: trimmed;
/// when `dots_plus(domain)`, its local part without a `+suffix` and without
/// `.`s. Nothing (never hashed) without a local part, `@` and a domain.
pub fn email(folded: &str, dots_plus: fn(&str) -> bool) -> String {
    // The last `@` (a quoted local part may hold one), found without `rsplit_once`'s memrchr.
    let folded = folded.trim();
    let at = folded.bytes().rposition(|b| b == b'@').unwrap_or(0);
    match (folded.get(..at), folded.get(at + 1..)) {
        (Some(local), Some(domain)) if !local.is_empty() && !domain.is_empty() => {
            let local = if dots_plus(domain) { without(local.split('+').next().unwrap_or(""), |c| c == '.') } else { local.into() };
            if local.is_empty() {
                String::new()
            } else {
                cat(&[&local, "@", domain])
            }
        }
        _ => String::new(),
    }
}

/// `raw` (trimmed, not empty) normalised by `rule`; `phone` is the E.164
/// digits, `country` Meta's country. Empty: nothing to hash.
fn normalise(rule: Rule, raw: &str, fold: Fold, phone: &str, country: &str) -> String {
    let f = || fold(raw, rule == Rule::EveryDomainEmail);
    let punct = |c: char| c.is_ascii_punctuation();
    let punct_space = |c: char| c.is_ascii_punctuation() || c.is_whitespace();
    match rule {
        Rule::Trim => f().trim().into(),
        Rule::GmailEmail => email(&without(&f(), char::is_whitespace), |d| d == "gmail.com" || d == "googlemail.com"),
        Rule::EveryDomainEmail => email(&without(&f(), char::is_whitespace), |_| true),
        Rule::Email => email(&f(), |_| false),
        Rule::Phone(plus) if !phone.is_empty() => cat(&[if plus { "+" } else { "" }, phone]),
        Rule::Phone(_) => String::new(),
        Rule::NoPunctuation => without(f().trim(), punct),
        Rule::NoPunctuationOrSpace => without(&f(), punct_space),
        Rule::Zip => {
            let zp = without(&f(), |c| c == '-' || c.is_whitespace());
            match zp.get(..5) {
                Some(five) if country == "us" && crate::core::text::all_bytes(five, |c| c.is_ascii_digit()) => five.into(),
                _ => zp,
            }
        }
        Rule::Country => {
            let c = without(&f(), punct_space);
            if c.len() == 2 && crate::core::text::all_bytes(&c, |b| b.is_ascii_lowercase()) {
                c
            } else {
                String::new()
            }
        }
    }
}

/// Every platform's match keys for `input`; `country_code` is
/// `config.phone_country_code`. A value that already is a SHA-256 (64 hex
/// digits) is sent as given, in lower case: the site must then have
/// normalised it for the platform. The errors are for the console and
/// never quote a value.
pub fn build(input: &Input, fold: Fold, country_code: Option<&str>) -> (UserData, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let mut phone = String::new();
    if let Some(raw) = given_at(input, PHONE).filter(|s| !is_sha256_hex(s)) {
        match e164(raw, country_code) {
            Ok(d) => phone = d,
            Err(why) => errors.push(ConfigError::msg("user_data.phone", Msg::Phone, why)),
        }
    }
    let country = given_at(input, COUNTRY).map(|c| normalise(Rule::Country, c, fold, "", "")).unwrap_or_default();
    let mut u = UserData::default();
    for (p, out) in [(&google::RULES, &mut u.google), (&microsoft::RULES, &mut u.microsoft), (&meta::RULES, &mut u.meta)] {
        for &(key, field, rule) in p.hashed {
            let Some(raw) = given_at(input, field) else { continue };
            let hash = if is_sha256_hex(raw) {
                raw.to_ascii_lowercase()
            } else {
                let n = normalise(rule, raw, fold, &phone, &country);
                if n.is_empty() {
                    continue;
                }
                sha256_hex(&n)
            };
            out.insert(key.into(), hash);
        }
        for &(key, field) in p.plain {
            if let Some(s) = given_at(input, field) {
                out.insert(key.into(), s.into());
            }
        }
    }
    (u, errors)
}

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

#[cfg(test)]
mod tests;
