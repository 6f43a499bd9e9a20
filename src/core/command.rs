//! The public JS API: `goaltag(name, ...args)` calls, parsed into commands.
//! Parsing is strict about names and types but forgiving about the rest: a bad
//! parameter is reported and dropped, and the command still runs.

use crate::core::error::{cat, ConfigError};
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;

#[derive(Debug, Clone, PartialEq)]
/// One `goaltag(...)` call, parsed and validated.
pub enum Command {
    /// `goaltag('config', {...})`: merge configuration.
    Config(Val),
    /// `goaltag('page_view', {url?, title?})`: record a page view now.
    PageView(PageOverrides),
    /// `goaltag('event', action, {category, label, value, currency, transaction_id})`.
    Event(EventParams),
    /// `goaltag('flush')`: send what is batched now rather than after the batch delay.
    Flush,
    /// `goaltag('consent', 'default' | 'update', {...})`.
    Consent {
        /// `update` (the visitor's choice) rather than `default`.
        update: bool,
        /// The types the call names.
        partial: crate::core::consent::Partial,
        /// `wait_for_update`, in ms (a default's only).
        wait_for_update_ms: Option<u64>,
    },
    /// `goaltag('consent', 'source', 'tcf' | {cookie, categories})`: a banner
    /// adapter, which the shell installs (src/browser/adapters.rs).
    ConsentSource(crate::core::consent::Source),
    /// `goaltag('opt_out')`: nothing is sent or stored on this site any more.
    OptOut,
    /// `goaltag('opt_in')`: undoes `opt_out`.
    OptIn,
    /// `goaltag('user_data', {email, phone, …})`: the buyer's details for
    /// this page's conversions (enhanced conversions), raw until the
    /// tracker hashes them at once.
    UserData(crate::core::user_data::Input),
}

/// Lets an SPA report a virtual page with its own URL or title.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageOverrides {
    /// The virtual page's URL instead of the page's own.
    pub url: Option<String>,
    /// The virtual page's title instead of the document's.
    pub title: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
/// The parameters of `goaltag('event', action, {...})`.
pub struct EventParams {
    /// What happened (`purchase`, `add_to_cart`): the one required parameter.
    pub action: String,
    /// A grouping the site owner chooses.
    pub category: Option<String>,
    /// A free label.
    pub label: Option<String>,
    /// The event's value (revenue for a purchase).
    pub value: Option<f64>,
    /// ISO 4217 code of `value`, upper case.
    pub currency: Option<String>,
    /// The order's ID: a transaction converts a goal once.
    pub transaction_id: Option<String>,
}

/// Longest action, category or label kept; longer text is an error, not a silent cut.
pub const MAX_TEXT: usize = 500;
/// Largest absolute `value` accepted (the collector enforces the same bound).
pub const MAX_VALUE: f64 = 1e12;

/// Every command `goaltag(...)` knows, for the unknown-command message.
pub const COMMANDS: &str = "one of config, page_view, event, flush, consent, opt_out, opt_in, user_data";

/// Parses one call. `Err` means the command cannot run at all; the `Vec` lists
/// parameters that were dropped from a command that still runs.
pub fn parse(args: &[Val]) -> Result<(Command, Vec<ConfigError>), ConfigError> {
    let name = args.first().unwrap_or(&Val::Null);
    let arg = |i: usize| args.get(i).unwrap_or(&Val::Null);
    let mut errors = Vec::new();
    let cmd = match name.as_str() {
        Some("config") => {
            if arg(1).as_map().is_none() {
                return Err(ConfigError::new("goaltag('config', …)", Msg::ConfigArgument, arg(1)));
            }
            Command::Config(arg(1).clone())
        }
        Some("page_view") => {
            let mut p = PageOverrides::default();
            for_each_param("page_view", arg(1), &mut errors, |key, v, errors| {
                match key {
                    "url" => p.url = text(v, &["page_view.url"], 4096, errors),
                    "title" => p.title = text(v, &["page_view.title"], MAX_TEXT, errors),
                    _ => return false,
                }
                true
            });
            Command::PageView(p)
        }
        Some("event") => {
            let action = match arg(1) {
                Val::Str(s) if !s.trim().is_empty() && s.len() <= MAX_TEXT => s.clone(),
                other => return Err(ConfigError::new("goaltag('event', action, …) action", Msg::EventAction, other)),
            };
            let mut p = EventParams { action, ..Default::default() };
            for_each_param("event", arg(2), &mut errors, |key, v, errors| {
                // The field's path is joined only for an error message.
                let f = &["event.", key];
                match key {
                    "category" => p.category = text(v, f, MAX_TEXT, errors),
                    "label" => p.label = text(v, f, MAX_TEXT, errors),
                    "transaction_id" => p.transaction_id = text(v, f, 200, errors),
                    "value" | "revenue" => p.value = number(v, f, errors).or(p.value),
                    "currency" => p.currency = currency(v, f, errors),
                    _ => return false,
                }
                true
            });
            Command::Event(p)
        }
        Some("user_data") => {
            let mut input = crate::core::user_data::Input::default();
            for_each_param("user_data", arg(1), &mut errors, |key, v, errors| match input.field(key) {
                Some(slot) => {
                    *slot = text(v, &["user_data.", key], MAX_TEXT, errors);
                    if slot.is_none() {
                        // The buyer's details are never quoted back on the console.
                        if let Some(e) = errors.last_mut() {
                            e.got = v.type_name().into();
                        }
                    }
                    true
                }
                None => false,
            });
            Command::UserData(input)
        }
        Some("flush") => Command::Flush,
        Some("opt_out") => Command::OptOut,
        Some("opt_in") => Command::OptIn,
        Some("consent") if arg(1).as_str() == Some("source") => Command::ConsentSource(crate::core::consent::parse_source(arg(2))?),
        Some("consent") => {
            let which = arg(1).as_str().unwrap_or("");
            let (partial, wait) = crate::core::consent::parse_partial(arg(2), which)?;
            Command::Consent { update: which == "update", partial, wait_for_update_ms: wait }
        }
        _ => return Err(ConfigError::new("goaltag(command, …)", Msg::Commands, name)),
    };
    Ok((cmd, errors))
}

/// Runs `f` on every key of an optional params object; `f` returns false for an
/// unknown key, which is then reported.
fn for_each_param(cmd: &str, v: &Val, errors: &mut Vec<ConfigError>, mut f: impl FnMut(&str, &Val, &mut Vec<ConfigError>) -> bool) {
    match v {
        Val::Null => {}
        Val::Map(m) => {
            for (k, x) in m {
                if !x.is_null() && !f(k, x, errors) {
                    errors.push(ConfigError::msg(crate::core::error::cat(&[cmd, ".", k]), Msg::KnownParameter, "an unknown field"));
                }
            }
        }
        other => errors.push(ConfigError::new(cmd, Msg::Parameters, other)),
    }
}

fn text(v: &Val, field: &[&str], max: usize, errors: &mut Vec<ConfigError>) -> Option<String> {
    match v {
        Val::Str(s) if s.len() <= max => Some(s.clone()),
        // Numbers are common in labels and IDs; keep them as text.
        Val::Num(n) if n.is_finite() => Some(format_num(*n)),
        _ => {
            errors.push(ConfigError::new(cat(field), if max == MAX_TEXT { Msg::Text500 } else { Msg::ShortString }, v));
            None
        }
    }
}

fn number(v: &Val, field: &[&str], errors: &mut Vec<ConfigError>) -> Option<f64> {
    let n = match v {
        Val::Num(n) => Some(*n),
        // Templates often print prices as strings: "49.95".
        Val::Str(s) => parse_decimal(s),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && n.abs() <= MAX_VALUE => Some(n),
        _ => {
            errors.push(ConfigError::new(cat(field), Msg::FiniteNumber, v));
            None
        }
    }
}

fn currency(v: &Val, field: &[&str], errors: &mut Vec<ConfigError>) -> Option<String> {
    match v.as_str() {
        Some(s) if s.len() == 3 && crate::core::text::all_bytes(s, |c| c.is_ascii_alphabetic()) => Some(s.to_ascii_uppercase()),
        _ => {
            errors.push(ConfigError::new(cat(field), Msg::Currency, v));
            None
        }
    }
}

fn format_num(n: f64) -> String {
    let mut s = String::new();
    goaltag_wire::json::write_num(&mut s, n);
    s
}

/// Parses a plain decimal like `49.95` or `-3` (what shop templates print).
/// Hand-written because Rust's float parser costs about 10 KB of wasm;
/// exponents and more than 18 digits are refused rather than guessed at.
pub fn parse_decimal(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, s.get(1..).unwrap_or("")),
        b'+' => (false, s.get(1..).unwrap_or("")),
        _ => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty()) || int.len() + frac.len() > 18 {
        return None;
    }
    let mut m: u64 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m * 10 + (c - b'0') as u64;
    }
    let mut v = m as f64;
    for _ in 0..frac.len() {
        v /= 10.0;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::val::json;

    fn p(s: &str) -> Result<(Command, Vec<ConfigError>), ConfigError> {
        parse(json(s).as_list().unwrap())
    }

    #[test]
    fn event_with_every_parameter() {
        let (cmd, errs) =
            p(r#"["event","purchase",{"category":"shop","label":7,"value":"49.95","currency":"eur","transaction_id":"T-1"}]"#).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            cmd,
            Command::Event(EventParams {
                action: "purchase".into(),
                category: Some("shop".into()),
                label: Some("7".into()),
                value: Some(49.95),
                currency: Some("EUR".into()),
                transaction_id: Some("T-1".into()),
            })
        );
    }

    #[test]
    fn bad_parameters_are_dropped_and_named() {
        let (cmd, errs) = p(r#"["event","buy",{"value":"lots","currency":"dollars","colour":"red","label":{}}]"#).unwrap();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["event.value", "event.currency", "event.colour", "event.label"]);
        let Command::Event(e) = cmd else { panic!() };
        assert_eq!((e.action.as_str(), e.value, e.currency), ("buy", None, None));
    }

    #[test]
    fn commands_that_cannot_run() {
        assert_eq!(p(r#"["evnt","x"]"#).unwrap_err().field, "goaltag(command, …)");
        assert_eq!(p(r#"[]"#).unwrap_err().got, "null");
        assert_eq!(p(r#"["event"]"#).unwrap_err().expected(), "a non-empty string of at most 500 characters");
        assert_eq!(p(r#"["event",""]"#).unwrap_err().got, "\"\"");
        assert!(p(r#"["config","x"]"#).is_err());
        assert!(p(r#"["event","x","not an object"]"#).unwrap().1.len() == 1);
    }

    #[test]
    fn values_out_of_range_are_refused() {
        for bad in ["1e13", "\"NaN\"", "true"] {
            let (_, errs) = p(&format!(r#"["event","x",{{"value":{bad}}}]"#)).unwrap();
            assert_eq!(errs.len(), 1, "{bad}");
        }
    }

    #[test]
    fn decimals_parse_like_a_shop_prints_them() {
        assert_eq!(parse_decimal("49.95"), Some(49.95));
        assert_eq!(parse_decimal(" -3 "), Some(-3.0));
        assert_eq!(parse_decimal("+.5"), Some(0.5));
        assert_eq!(parse_decimal("7."), Some(7.0));
        for bad in ["", ".", "1e3", "1,5", "abc", "--1", "1234567890123456789"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn consent_commands() {
        let (c, _) = p(r#"["consent","default",{"analytics_storage":"denied","wait_for_update":500}]"#).unwrap();
        assert!(matches!(c, Command::Consent { update: false, wait_for_update_ms: Some(500), .. }));
        let (c, _) = p(r#"["consent","update",{"analytics_storage":"granted"}]"#).unwrap();
        assert!(matches!(c, Command::Consent { update: true, .. }));
        assert!(p(r#"["consent","update",{"analytics_storage":"yes"}]"#).unwrap_err().field.contains("analytics_storage"));
        assert!(p(r#"["consent","maybe",{}]"#).is_err());
    }

    #[test]
    fn opt_out_opt_in_and_consent_sources() {
        assert_eq!(p(r#"["opt_out"]"#).unwrap().0, Command::OptOut);
        assert_eq!(p(r#"["opt_in"]"#).unwrap().0, Command::OptIn);
        use crate::core::consent::Source;
        assert_eq!(p(r#"["consent","source","tcf"]"#).unwrap().0, Command::ConsentSource(Source::Tcf));
        assert_eq!(p(r#"["consent","source","gcm"]"#).unwrap().0, Command::ConsentSource(Source::Gcm));
        let (c, _) = p(r#"["consent","source",{"cookie":"cc_cookie"}]"#).unwrap();
        assert!(matches!(c, Command::ConsentSource(Source::Cookie { ref name, .. }) if name == "cc_cookie"));
        let e = p(r#"["consent","source","onetrust"]"#).unwrap_err();
        assert_eq!((e.field.as_str(), e.got.as_str()), ("goaltag('consent', 'source', …)", "\"onetrust\""));
        assert_eq!(p(r#"["consent","source"]"#).unwrap_err().got, "null");
        assert!(p(r#"["opt-out"]"#).unwrap_err().expected().contains("opt_out"));
    }

    #[test]
    fn user_data_takes_its_nine_fields() {
        let (c, errs) = p(r#"["user_data",{"email":"A@b.example","phone":6505551212,"country":"US","colour":"red","city":{}}]"#).unwrap();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["user_data.colour", "user_data.city"]);
        let (_, errs) = p(&format!(r#"["user_data",{{"email":"{}@b.example"}}]"#, "x".repeat(600))).unwrap();
        assert_eq!(errs[0].got, "a string", "never the value");
        let Command::UserData(i) = c else { panic!() };
        assert_eq!(
            (i.0[0].as_deref(), i.0[1].as_deref(), i.0[8].as_deref(), &i.0[5]),
            (Some("A@b.example"), Some("6505551212"), Some("US"), &None)
        );
        assert_eq!(p(r#"["user_data"]"#).unwrap().0, Command::UserData(Default::default()));
    }

    #[test]
    fn simple_commands() {
        assert_eq!(p(r#"["flush"]"#).unwrap().0, Command::Flush);
        assert_eq!(p(r#"["page_view"]"#).unwrap().0, Command::PageView(PageOverrides::default()));
        let (c, _) = p(r#"["page_view",{"url":"/v","title":"T"}]"#).unwrap();
        assert_eq!(c, Command::PageView(PageOverrides { url: Some("/v".into()), title: Some("T".into()) }));
        assert!(matches!(p(r#"["config",{"site":"s"}]"#).unwrap().0, Command::Config(_)));
    }
}
