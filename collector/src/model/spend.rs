//! One day of ad spend, as imported from an ad platform's report (see
//! [`crate::spend`]) and as the stores hand it to reports.

/// What one campaign (or ad group, ad, keyword) cost on one UTC day, in one
/// currency. Rows are keyed by (site, `date`, `network`, `campaign`,
/// `ad_group`, `ad`, `keyword`, `currency`); an import replaces the row its
/// key matches.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendRow {
    /// The UTC day, as a day number since 1970-01-01 (see [`crate::dates`]).
    pub date: i64,
    /// "Google", "Microsoft", "Meta", or the `network` column's value (trimmed) of the documented format.
    pub network: String,
    /// The campaign's name, trimmed.
    pub campaign: String,
    /// The ad group (Meta: ad set) name; "" when the file has none.
    pub ad_group: String,
    /// The ad's name; "" when the file has none.
    pub ad: String,
    /// The keyword, without match-type punctuation; "" when the file has none.
    pub keyword: String,
    /// ISO 4217 code, upper case (`EUR`).
    pub currency: String,
    /// What was spent, in `currency`; never negative.
    pub cost: f64,
    /// Clicks, when the file says.
    pub clicks: Option<u64>,
    /// Impressions, when the file says.
    pub impressions: Option<u64>,
}

/// What storing one file's spend rows did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SpendImported {
    /// Rows stored (one per key).
    pub rows: usize,
    /// Keys not stored before.
    pub new: usize,
    /// Keys stored before whose cost, clicks or impressions the file changed.
    pub replaced: usize,
    /// Keys stored before with the same figures.
    pub unchanged: usize,
}
