//! What an export reads from the store and what it records there, as plain
//! values: each [`crate::Store`] answers a [`Want`] with a [`Read`] (SQLite in
//! `store/sqlite/export.rs`, PostgreSQL in `store/postgres/export.rs`), and
//! which conversions go, and how, is decided once, in Rust ([`crate::export::select()`]),
//! as the reports are. Events come back from their `json` column as the wire
//! type: the columns are only for finding them.

use goaltag_wire::Event;
use std::collections::{HashMap, HashSet};

/// A range of event times in ms, start included, end excluded.
pub type Range = (i64, i64);

/// What to read for an export or the "Ad platforms" panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Want {
    /// Site key.
    pub site: String,
    /// Conversion times (and imported stages' times) to read.
    pub range: Range,
    /// Read the site's conversions in `range` (for online goals).
    pub conversions: bool,
    /// Imported stages to read in `range`, as (goal, stage), each row with its online conversion.
    pub stages: Vec<(String, String)>,
    /// Click-ID parameters (`gclid`, …) whose first sightings to read.
    pub click_params: Vec<&'static str>,
    /// Platforms (`google-ads`, …) whose export records to read.
    pub platforms: Vec<&'static str>,
}

/// One imported row of a stage, with the online conversion it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// The goal the stage is of.
    pub goal: String,
    /// The stage (`shipped`, `qualified`, …).
    pub stage: String,
    /// The transaction ID that joins it to its online conversion.
    pub transaction_id: String,
    /// Its value, if the import gave one.
    pub value: Option<f64>,
    /// Its currency, if the import gave one.
    pub currency: Option<String>,
    /// Its time, in ms.
    pub ts: i64,
    /// The site's conversion with that transaction ID, of the same goal if
    /// there is one (else the first); None when no conversion carries it.
    pub conversion: Option<Event>,
}

/// What a store read for a [`Want`], from one consistent snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    /// The site's conversions in the range, oldest first (then by ID); empty unless asked for.
    pub conversions: Vec<Event>,
    /// The imported rows of the stages asked for, stage by stage in the
    /// [`Want`]'s order, each stage's oldest first (then by transaction ID).
    pub stages: Vec<StageRow>,
    /// By click-ID parameter, when the collector first saw each of its values
    /// on the site: the earliest page view or conversion (at any time, not
    /// only in the range) whose attribution carries it. That is the click
    /// time the platforms' windows and Meta's `fbc` count from.
    pub first_seen: HashMap<String, HashMap<String, i64>>,
    /// By platform, the keys exported to it before (see [`Record::key`]).
    pub exported: HashMap<String, HashSet<String>>,
    /// By event ID, the request data kept with the conversions read (in
    /// `conversions` and `stages`): only conversions whose consent granted
    /// `ad_user_data` have any (`store::Accepted::ad_data`).
    pub ad_data: HashMap<String, AdData>,
}

/// What the collector kept of a conversion's `/collect` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdData {
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// The client's IP address (`serve --keep-client-ip` only).
    pub client_ip: Option<String>,
    /// Enhanced conversions' hashed match keys, until `serve
    /// --user-data-days` erases them.
    pub user_data: Option<goaltag_wire::UserData>,
}

impl AdData {
    /// Reads the stored columns; a `user_data` that is not the wire's shape
    /// (it always is: the collector wrote it) counts as none.
    pub fn from_columns(user_agent: Option<String>, client_ip: Option<String>, user_data: Option<&str>) -> AdData {
        AdData { user_agent, client_ip, user_data: user_data.and_then(|u| serde_json::from_str(u).ok()) }
    }
}

impl Read {
    /// The IDs of the conversions read, whose [`AdData`] a store looks up.
    pub fn conversion_ids(&self) -> Vec<String> {
        let stages = self.stages.iter().filter_map(|s| s.conversion.as_ref());
        self.conversions.iter().chain(stages).map(|e| e.id.clone()).collect()
    }
}

/// One exported row for the `exports` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The conversion's event ID, or `import:GOAL:STAGE:TRANSACTION` for an imported stage.
    pub key: String,
    /// The conversion name it was exported under.
    pub name: String,
    /// The conversion time, in ms.
    pub conversion_ts: i64,
}

/// What an export does with what it read, inside the store's transaction:
/// picks the rows, delivers the file, and returns the rows to record. An
/// error records nothing.
pub type Decide = Box<dyn FnOnce(Read) -> anyhow::Result<Vec<Record>> + Send + 'static>;

/// The JSON path SQLite's `json_extract` reads a click-ID parameter at.
pub fn click_path(param: &str) -> String {
    format!("$.attribution.click_ids.{param}")
}

/// The text every stored event carrying `param` in its JSON contains (a
/// cheap test before the JSON is parsed).
pub fn click_needle(param: &str) -> String {
    format!("\"{param}\"")
}
