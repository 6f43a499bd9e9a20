#![deny(missing_docs)]
//! The functional core: every decision the tag makes, in plain Rust with no
//! browser types. Time and randomness come in as arguments, so the tests are
//! deterministic and run natively in milliseconds.

pub mod attribution;
pub mod capture;
pub mod command;
pub mod config;
pub mod consent;
pub mod digest;
pub mod error;
pub mod fields;
pub mod goals;
pub mod id;
pub mod messages;
pub mod name_id;
pub mod outbox;
pub mod passthrough;
#[cfg(test)]
pub mod test_fixtures;
pub mod text;
pub mod tracker;
pub mod url;
pub mod user_data;
pub mod val;
pub mod visit;

#[cfg(test)]
mod typescript_tests;
