//! The one field validator: what configuration, the delivery policy, goals
//! and consent commands accept for a field, and the console message when a
//! value is not that. Each check returns the value or a [`ConfigError`]
//! naming the field's path and what was expected, so every parser reports
//! the same way.

use crate::core::error::{cat, ConfigError};
use crate::core::messages::Msg;
use crate::core::text::push_u64;
use crate::core::val::{is_whole, Val};
use crate::prelude::*;

/// An object's fields, or an error showing what the object should look like (`like`).
pub fn object<'a>(v: &'a Val, path: &str, like: Msg) -> Result<&'a [(String, Val)], ConfigError> {
    v.as_map().ok_or_else(|| ConfigError::new(path, like, v))
}

/// `true` or `false`; from an HTML attribute also `"on"`/`"off"`,
/// `"true"`/`"false"` and `"1"`/`"0"`.
pub fn boolean(v: &Val, path: &str) -> Result<bool, ConfigError> {
    match v {
        Val::Bool(b) => Ok(*b),
        Val::Str(s) if matches!(s.as_str(), "on" | "true" | "1") => Ok(true),
        Val::Str(s) if matches!(s.as_str(), "off" | "false" | "0") => Ok(false),
        _ => Err(ConfigError::new(path, Msg::Boolean, v)),
    }
}

/// A number of `unit` from `min` to `max` (inclusive); `whole` refuses fractions.
/// The message reads `a [whole ]number of <unit> from <min> to <max>`.
pub fn number_in(v: &Val, path: &str, unit: &str, min: u64, max: u64, whole: bool) -> Result<f64, ConfigError> {
    match v.as_num() {
        Some(n) if (min as f64..=max as f64).contains(&n) && (!whole || is_whole(n)) => Ok(n),
        _ => Err(ConfigError::new(path, if whole { Msg::WholeNumberOf } else { Msg::NumberOf }, v).with(range_text(unit, min, max))),
    }
}

/// `<unit> from <min> to <max>`, the `arg` of [`Msg::NumberOf`] and [`Msg::WholeNumberOf`].
pub fn range_text(unit: &str, min: u64, max: u64) -> String {
    let mut s = cat(&[unit, " from "]);
    push_u64(&mut s, min);
    s.push_str(" to ");
    push_u64(&mut s, max);
    s
}

/// A field no parser knows: `expected` lists the ones it does.
pub fn unknown(path: &str, expected: Msg) -> ConfigError {
    ConfigError::msg(path, expected, "an unknown field")
}

#[cfg(test)]
mod tests;
