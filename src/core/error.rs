//! Errors a site owner reads on the console. Each names the field and says what
//! was expected, so a typo in a config object is a one-line fix.

use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;
#[cfg(feature = "std")]
use core::fmt;

/// A problem with one field of the configuration or of a command's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `goals[2].when.op`.
    pub field: String,
    /// What would have been accepted, as a code: its text (e.g. `one of {}`) is
    /// in [`crate::core::messages`], not in the download.
    pub code: Msg,
    /// The part of the expected text the code computes, for the text's `{}`
    /// (e.g. `equals, begins_with, contains, regex`); often empty.
    pub arg: String,
    /// What was given, short: a type name or a quoted short value.
    pub got: String,
}

impl ConfigError {
    /// A field whose value `got` is not what `code` expects.
    pub fn new(field: impl Into<String>, code: Msg, got: &Val) -> Self {
        ConfigError { field: field.into(), code, arg: String::new(), got: describe(got) }
    }

    /// For errors that are not about a value's type, e.g. an invalid pattern.
    pub fn msg(field: impl Into<String>, code: Msg, got: impl Into<String>) -> Self {
        ConfigError { field: field.into(), code, arg: String::new(), got: got.into() }
    }

    /// With `arg` for the `{}` of the code's text.
    pub fn with(mut self, arg: String) -> Self {
        self.arg = arg;
        self
    }
}

/// A short description of a value for an error message: strings are quoted
/// (cut to 40 characters), other values are named by type.
pub fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => {
            let cut = crate::core::text::first_chars(s, 40);
            let more = if cut.len() < s.len() { "…\"" } else { "\"" };
            cat(&["\"", cut, more])
        }
        Val::Num(n) => {
            let mut s = String::new();
            goaltag_wire::json::write_num(&mut s, *n);
            s
        }
        Val::Bool(b) => if *b { "true" } else { "false" }.to_string(),
        other => other.type_name().to_string(),
    }
}

impl ConfigError {
    /// The console line around a text of what was expected:
    /// `goaltag: <field>: expected <expected>, got <got>`. Built by
    /// concatenation: `format!` would pull `core::fmt` into the download.
    pub fn line(&self, expected: &str) -> String {
        cat(&["goaltag: ", &self.field, ": expected ", expected, ", got ", &self.got])
    }

    /// The line the tag prints at once, with the code in place of the text
    /// (`expected #3, got 5`; the code's `arg` in brackets after it). The
    /// shell prints the full [`ConfigError::message`] once it has the texts.
    pub fn short(&self) -> String {
        let mut code = String::from("#");
        crate::core::text::push_u64(&mut code, self.code as u64);
        if !self.arg.is_empty() {
            code.push_str(" (");
            code.push_str(&self.arg);
            code.push(')');
        }
        self.line(&code)
    }

    /// What was expected, in words: the code's text with `arg` in it.
    #[cfg(feature = "std")]
    pub fn expected(&self) -> String {
        crate::core::messages::text(self.code).replacen("{}", &self.arg, 1)
    }

    /// The full console line: `goaltag: <field>: expected <expected>, got <got>`.
    #[cfg(feature = "std")]
    pub fn message(&self) -> String {
        self.line(&self.expected())
    }
}

#[cfg(feature = "std")]
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Joins string pieces: `[..].concat()` and `format!` both cost more wasm
/// (and so does summing the lengths first for the capacity).
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::new();
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `field[i]`, the path of a list item in an error message (without `format!`).
pub fn indexed(field: &str, i: usize) -> String {
    let mut s = String::with_capacity(field.len() + 4);
    s.push_str(field);
    s.push('[');
    crate::core::text::push_u64(&mut s, i as u64);
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_field_expectation_and_value() {
        let e = ConfigError::new("config.collector", Msg::CollectorUrl, &Val::Num(3.0));
        assert_eq!(e.to_string(), "goaltag: config.collector: expected a URL starting with http://, https:// or /, got 3");
        assert_eq!(e.short(), "goaltag: config.collector: expected #2, got 3");
        let e = ConfigError::msg("goals[0].when.type", Msg::OneOf, "nothing").with("url, event".into());
        assert_eq!(e.to_string(), "goaltag: goals[0].when.type: expected one of url, event, got nothing");
        assert_eq!(e.short(), "goaltag: goals[0].when.type: expected #9 (url, event), got nothing");
        let long = Val::Str("x".repeat(50));
        assert_eq!(describe(&long), format!("\"{}…\"", "x".repeat(40)));
    }
}
