//! A small string map kept sorted by key, for the few click IDs, UTM
//! parameters and `data-goaltag-*` attributes an event carries. It behaves
//! like the `BTreeMap` it replaces (same order, last insert wins, a JSON
//! object on the wire) at about 2 KB less in the tag's download.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Map(Vec<(String, String)>);

impl Map {
    pub fn new() -> Map {
        Map(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; the previous value, if there was one.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.into_iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl core::ops::Index<&str> for Map {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        self.get(key).expect("no such key in the map")
    }
}

impl<const N: usize> From<[(String, String); N]> for Map {
    fn from(pairs: [(String, String); N]) -> Map {
        pairs.into_iter().collect()
    }
}

impl FromIterator<(String, String)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k, v);
        }
        m
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a String);
    type IntoIter = core::iter::Map<core::slice::Iter<'a, (String, String)>, fn(&'a (String, String)) -> (&'a String, &'a String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Map;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Map, A::Error> {
                let mut m = Map::new();
                while let Some((k, v)) = a.next_entry::<String, String>()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn keeps_keys_sorted_and_the_last_value() {
        let mut m = Map::new();
        assert_eq!(m.insert("utm_source".into(), "a".into()), None);
        m.insert("gclid".into(), "g".into());
        assert_eq!(m.insert("utm_source".into(), "b".into()), Some("a".to_string()));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["gclid", "utm_source"]);
        assert_eq!((m["utm_source"].as_str(), m.get("x"), m.len()), ("b", None, 2));
        assert!(m.contains_key("gclid") && !m.contains_key("fbclid"));
    }

    #[test]
    fn is_a_json_object_both_ways() {
        let m: Map = serde_json::from_str(r#"{"b":"2","a":"1","b":"3"}"#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"1","b":"3"}"#);
        assert!(serde_json::from_str::<Map>(r#"{"a":1}"#).is_err(), "values are strings");
        assert!(serde_json::from_str::<Map>(r#"["a"]"#).is_err());
    }
}
