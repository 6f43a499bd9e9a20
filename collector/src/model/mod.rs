//! The bottom layer of the collector: the rows that pass between the stores
//! and the modules that make numbers and files of them, and the clock. It
//! imports nothing from the rest of the crate, so [`crate::store`] can hand
//! these rows up without depending on the modules that read them:
//!
//! - [`report`]: what a report reads ([`report::Rows`]);
//! - [`attribution`]: attribution's input written out row by row ([`attribution::Input`]);
//! - [`import`]: what an import stores ([`import::Row`]) and what it did ([`import::Imported`]);
//! - [`export`]: what an export reads and records ([`export::Want`], [`export::Read`], [`export::Record`]);
//! - [`spend`]: one day's ad spend of a campaign, ad group, ad or keyword ([`spend::SpendRow`]);
//! - [`now_ms`]: the collector's clock.
//!
//! The layers, bottom to top (a module imports only from its own layer or
//! below, and `tests/layers.rs` checks it): leaves (`dates`, `model`) <
//! `store` < domain (`ingest`, `decode`, `origins`, `ratelimit`, `report`,
//! `import`, `export`) < the HTTP face and the start-up (`error`, the
//! features' `routes`, `http`, `admin`, `config`, the binary).

pub mod attribution;
pub mod export;
pub mod import;
pub mod report;
pub mod spend;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch by the collector's clock (0 if the
/// clock is before 1970): when a batch arrived, an import or export ran, and
/// "today" for the reports' default range.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
