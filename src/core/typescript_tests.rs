//! The TypeScript declarations (src/browser/types/api.d.ts, shipped in the
//! npm package and beside goaltag.js) name every command, configuration field
//! and delivery field the core accepts, and nothing else: a field added here
//! without its type, or a type left behind, fails this test.

use crate::prelude::*;

const API: &str = include_str!("../browser/types/api.d.ts");

/// The body of `export interface <name> … {` up to its closing brace.
fn interface(name: &str) -> &'static str {
    let head = ["export interface ", name, " "].concat();
    let start = API.find(&head).unwrap_or_else(|| panic!("api.d.ts has no interface {name}"));
    let body = &API[start..];
    let open = body.find("{\n").unwrap() + 2;
    &body[open..open + body[open..].find("\n}").unwrap()]
}

/// The optional and required property names declared in an interface body.
fn properties(body: &str) -> Vec<String> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('/') && !l.starts_with('*') && !l.starts_with('('))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim_end_matches('?').to_string()))
        .filter(|k| !k.is_empty() && k.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
        .collect()
}

/// The names of a "one of a, b, c" list.
fn one_of(list: &str) -> Vec<String> {
    list.trim_start_matches("one of ").split(", ").map(String::from).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn config_declares_every_field_the_core_accepts() {
    assert_eq!(sorted(properties(interface("Config"))), sorted(one_of(crate::core::config::FIELDS)));
}

#[test]
fn delivery_policy_declares_every_delivery_field() {
    let keys = crate::core::outbox::policy_key_names().map(str::to_string).collect();
    assert_eq!(sorted(properties(interface("DeliveryPolicy"))), sorted(keys));
}

#[test]
fn goaltag_declares_every_command() {
    let mut declared: Vec<String> = interface("Goaltag")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("(command: '"))
        .filter_map(|l| l.split_once('\'').map(|(c, _)| c.to_string()))
        .collect();
    declared.dedup();
    assert_eq!(sorted(declared), sorted(one_of(crate::core::command::COMMANDS)));
}

#[test]
fn consent_types_are_the_cores() {
    let names = crate::core::consent::ConsentType::ALL.iter().map(|t| t.name().to_string()).collect();
    assert_eq!(sorted(properties(interface("ConsentState"))), sorted(names));
}
