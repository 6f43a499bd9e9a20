//! Errors a site owner reads on the console. Each names the field and says what
//! was expected, so a typo in a config object is a one-line fix.

use crate::core::val::Val;
use crate::prelude::*;
use core::fmt;

/// A problem with one field of the configuration or of a command's arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `goals[2].when.op`.
    pub field: String,
    /// What would have been accepted, e.g. `one of equals, begins_with, contains, regex`.
    pub expected: String,
    /// What was given, short: a type name or a quoted short value.
    pub got: String,
}

impl ConfigError {
    /// A field whose value `got` is not what was expected.
    pub fn new(field: impl Into<String>, expected: impl Into<String>, got: &Val) -> Self {
        ConfigError { field: field.into(), expected: expected.into(), got: describe(got) }
    }

    /// For errors that are not about a value's type, e.g. an invalid pattern.
    pub fn msg(field: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        ConfigError { field: field.into(), expected: expected.into(), got: got.into() }
    }
}

/// A short description of a value for an error message: strings are quoted
/// (cut to 40 characters), other values are named by type.
pub fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => {
            let cut: String = s.chars().take(40).collect();
            let more = if cut.len() < s.len() { "…\"" } else { "\"" };
            cat(&["\"", &cut, more])
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
    /// The console line: `goaltag: <field>: expected <expected>, got <got>`.
    /// Built by concatenation: `format!` would pull `core::fmt` into the download.
    pub fn message(&self) -> String {
        cat(&["goaltag: ", &self.field, ": expected ", &self.expected, ", got ", &self.got])
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Joins string pieces: `[..].concat()` and `format!` both cost more wasm.
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
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
        let e = ConfigError::new("config.collector", "a URL starting with http:// or https://", &Val::Num(3.0));
        assert_eq!(e.to_string(), "goaltag: config.collector: expected a URL starting with http:// or https://, got 3");
        let long = Val::Str("x".repeat(50));
        assert_eq!(describe(&long), format!("\"{}…\"", "x".repeat(40)));
    }
}
