//! A dynamic value: what a site owner passed to `goaltag(...)` or wrote in a
//! config file, before validation. The shell turns a JS value into a [`Val`]
//! by walking it itself (src/browser/values.rs; no serde in the tag), so the
//! core can validate it field by field and name the exact field that is wrong,
//! without any JS type.

use crate::prelude::*;
// Deserialize is for the native tests' JSON; the shipped wasm (no std) has no serde.
#[cfg(feature = "std")]
use core::fmt;
#[cfg(feature = "std")]
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
/// A JSON-like value as the page passed it.
pub enum Val {
    /// `null` or `undefined`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    List(Vec<Val>),
    /// Keys in the order given; objects are small, so a Vec beats a map here.
    Map(Vec<(String, Val)>),
}

impl Val {
    /// How a site owner would name this kind of value in an error message.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Num(_) => "a number",
            Val::Str(_) => "a string",
            Val::List(_) => "a list",
            Val::Map(_) => "an object",
        }
    }

    /// The value of `key` in an object; None for other values or a missing key.
    pub fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Val::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object's fields in the order given, if this is an object.
    pub fn as_map(&self) -> Option<&[(String, Val)]> {
        match self {
            Val::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is an array.
    pub fn as_list(&self) -> Option<&[Val]> {
        match self {
            Val::List(l) => Some(l),
            _ => None,
        }
    }

    /// `undefined` and `null` both mean "not given".
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
}

/// `n.fract() == 0.0`, which needs std (the shipped wasm is built without it).
pub fn is_whole(n: f64) -> bool {
    // From 2^52 up every finite f64 is whole; below, `as i64` truncates exactly.
    n.is_finite() && (n.abs() >= 4_503_599_627_370_496.0 || n == (n as i64) as f64)
}

/// `x.round() as u64` for `x` from 0 to 2^53, without std.
pub fn round_u64(x: f64) -> u64 {
    let t = x as u64;
    if x - t as f64 >= 0.5 {
        t + 1
    } else {
        t
    }
}

#[cfg(feature = "std")]
impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Val, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

#[cfg(feature = "std")]
struct ValVisitor;

#[cfg(feature = "std")]
impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-like value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Val, E> {
        Ok(Val::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Val::Num(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Val::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val, E> {
        Ok(Val::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
        Val::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(Val::List(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = map.next_entry::<String, Val>()? {
            v.push((k, x));
        }
        Ok(Val::Map(v))
    }
}

/// Test helper: parse JSON text into a [`Val`] (native tests only).
#[cfg(test)]
pub fn json(s: &str) -> Val {
    serde_json::from_str(s).expect("test JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_value() {
        let v = json(r#"{"a":1,"b":[true,null,"x"],"c":{"d":2.5}}"#);
        assert_eq!(v.get("a"), Some(&Val::Num(1.0)));
        assert_eq!(v.get("b").unwrap().as_list().unwrap().len(), 3);
        assert_eq!(v.get("c").unwrap().get("d").unwrap().as_num(), Some(2.5));
        assert_eq!(v.get("zz"), None);
        assert_eq!(Val::Str("s".into()).type_name(), "a string");
    }

    #[test]
    fn whole_and_round_agree_with_std() {
        let xs = [
            0.0,
            -0.0,
            0.5,
            1.0,
            1.5,
            2.5,
            0.49999999999999994,
            59.999,
            1e15 + 0.5,
            4503599627370497.0,
            1e300,
            -3.0,
            -2.5,
            86_400_000.0,
            12_345.499_9,
        ];
        for x in xs.into_iter().chain([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]) {
            assert_eq!(is_whole(x), x.fract() == 0.0, "{x}");
            if (0.0..=9_007_199_254_740_992.0).contains(&x) {
                assert_eq!(round_u64(x), x.round() as u64, "{x}");
            }
        }
    }
}
