//! What a store reads for a report ([`crate::store::Store::report_rows`]): plain rows,
//! which [`crate::report`] turns into numbers once, for every store.

/// One event as a store reads it for a report: the columns every store keeps,
/// and the whole event as JSON (attribution and `primary` are read from it).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The event ID (lower-case UUID).
    pub id: String,
    /// When it happened, ms since the Unix epoch, on the collector's clock:
    /// the tag's `ts` placed there through its batch's `sent_at` at
    /// ingestion (see `ingest`'s `Clock`), so a wrong browser clock does not
    /// move it.
    pub ts: i64,
    /// The page's URL.
    pub url: Option<String>,
    /// The conversion's goal.
    pub goal: Option<String>,
    /// The conversion's value.
    pub value: Option<f64>,
    /// The value's currency, as sent.
    pub currency: Option<String>,
    /// The conversion's transaction ID.
    pub transaction_id: Option<String>,
    /// The browser's client ID, where consent allowed one.
    pub client_id: Option<String>,
    /// The visit's ID, where consent allowed one.
    pub visit_id: Option<String>,
    /// The whole event as the collector stored it.
    pub json: String,
    /// Its hashed match keys (enhanced conversions' `user_data`, as JSON),
    /// while the collector keeps them: see `store::Accepted::event_columns`.
    pub user_data: Option<String>,
}

/// Sums over a site's accepted batches in the range (by arrival).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchFigures {
    /// Batches accepted.
    pub batches: u64,
    /// Events in them that were already stored.
    pub duplicates: u64,
    /// Batches sent on a second or later attempt.
    pub retried: u64,
    /// Events the tag reported dropping: its queue was full.
    pub dropped_overflow: u64,
    /// Events the tag reported dropping: refused by a collector.
    pub dropped_poison: u64,
    /// Events the tag reported dropping: too old to send.
    pub dropped_expired: u64,
    /// Events the tag reported dropping: consent for them was withdrawn.
    pub dropped_consent: u64,
}

/// One imported row of the site in the range.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Its goal.
    pub goal: String,
    /// Its stage (shipped, refunded, …).
    pub stage: String,
    /// Its value.
    pub value: Option<f64>,
    /// The value's currency.
    pub currency: Option<String>,
    /// When it happened, ms since the Unix epoch.
    pub ts: i64,
    /// True when an online conversion of the site (any date) carried its transaction ID.
    pub matched: bool,
}

/// Everything a report reads from a store ([`crate::Store::report_rows`]),
/// in no particular order: the report sorts what it needs sorted, so every
/// store gives the same numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// The site's page views in the range (by event time).
    pub page_views: Vec<EventRow>,
    /// The site's conversions in the range (by event time).
    pub conversions: Vec<EventRow>,
    /// The site's batches in the range (by arrival).
    pub batches: BatchFigures,
    /// Bodies refused in the range, all sites (a refused body may name none).
    pub rejected_bodies: u64,
    /// The site's imported rows in the range (by their time).
    pub imports: Vec<ImportRow>,
}
