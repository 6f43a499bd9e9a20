//! What an import hands a store and what the store answers
//! ([`crate::store::Store::import`]); [`crate::import`] parses and checks the rows.

use serde::Serialize;

/// One validated row of an import file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The transaction ID the tag sent with the online conversion: the join key.
    pub transaction_id: String,
    /// The goal of that conversion (`purchase`, `lead`).
    pub goal: String,
    /// What happened to it offline (`shipped`, `qualified`, `refunded`).
    pub stage: String,
    /// The stage's value, if the file gave one.
    pub value: Option<f64>,
    /// The value's currency (ISO 4217, upper case), if the file gave one.
    pub currency: Option<String>,
    /// When the stage happened, ms since the Unix epoch.
    pub ts: i64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Rows in the file.
    pub rows: usize,
    /// Rows not seen before.
    pub new: usize,
    /// Rows that replaced an earlier import with different value, currency or time.
    pub updated: usize,
    /// Rows identical to an earlier import.
    pub unchanged: usize,
}
