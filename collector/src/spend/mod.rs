//! Ad spend import: what each campaign, ad group, ad and keyword cost, day by
//! day, read from the ad platforms' own report files, so reports can set cost
//! against credited conversions (ROAS, CPA).
//!
//! A file is recognised by its column row ([`header`]): goaltag's documented
//! CSV, a Microsoft Advertising performance report, a Google Ads report
//! download or a Meta Ads Manager export (docs/spend.md). It is read whole
//! before anything is stored: the first row that cannot be read refuses the
//! file, naming its line (the file's first line is line 1) and what was
//! expected. Rows of one file with the same key add up (a report broken down
//! by device or hour); the stores then replace the row each key matches, so
//! importing a file again changes no figure.
//!
//! - [`text`]: bytes to text (UTF-8, UTF-16), comma or tab;
//! - [`numbers`]: amounts, counts and days as the platforms write them;
//! - [`header`]: which format, which columns;
//! - [`reader`]: the walk over the records;
//! - [`routes`]: `POST /spend`; [`cli`]: `goaltag-collector spend`.

pub mod cli;
pub mod header;
pub mod numbers;
pub mod reader;
pub mod routes;
pub mod text;

#[cfg(test)]
mod tests;

pub use header::Format;

use crate::model::spend::SpendRow;

/// Largest file read (`POST /spend` answers 413 past it; the CLI refuses it
/// before reading). A year of daily keyword rows for a few hundred keywords
/// fits; a larger export is split by date range.
pub const MAX_BYTES: usize = 32 << 20;

/// Most data rows in one file (before rows with the same key are added up).
/// One file is one transaction, which holds SQLite's write lock while it runs.
pub const MAX_ROWS: usize = 200_000;

/// Why a file was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The line in the file (the first line is 1), when one line is to blame.
    pub line: Option<u64>,
    /// What is wrong, and what was expected.
    pub why: String,
}

impl Refused {
    /// A refusal naming `line`.
    pub fn at(line: u64, why: impl Into<String>) -> Refused {
        Refused { line: Some(line), why: why.into() }
    }

    /// A refusal of the whole file.
    pub fn file(why: impl Into<String>) -> Refused {
        Refused { line: None, why: why.into() }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.why),
            None => f.write_str(&self.why),
        }
    }
}

impl std::error::Error for Refused {}

/// A file read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// What kind of report it was.
    pub format: Format,
    /// One row per key, in the order keys first appear.
    pub rows: Vec<SpendRow>,
    /// Data rows read (more than `rows.len()` when rows were added up).
    pub read: usize,
}

/// Reads a whole spend file. Nothing partial: any unreadable row refuses it.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Refused> {
    if bytes.len() > MAX_BYTES {
        return Err(too_large());
    }
    let text = text::decode(bytes)?;
    reader::read(&text, text::delimiter(&text))
}

/// The refusal of a file larger than [`MAX_BYTES`].
pub fn too_large() -> Refused {
    Refused::file(format!("the file is larger than {} MiB; split it by date range", MAX_BYTES >> 20))
}
