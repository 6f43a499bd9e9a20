//! The walk over a file's records: report-header lines, the column row,
//! the rows, the platforms' totals and footer lines. Every row is checked;
//! the first one that cannot be read refuses the file.

use super::header::{self, Columns, Currency, Format};
use super::numbers;
use super::{Parsed, Refused, MAX_ROWS};
use crate::ingest::MAX_TEXT;
use crate::model::spend::SpendRow;
use std::collections::HashMap;

/// Most lines looked at for the column row (Microsoft's report header has 10).
pub const MAX_PREAMBLE: usize = 20;

enum State {
    /// Before the column row: lines seen, and the first one that was not blank.
    Preamble {
        seen: usize,
        first: Option<(u64, Vec<String>)>,
        aggregation: Option<(u64, String)>,
    },
    Rows(Box<Columns>, u64),
    /// After Microsoft's `©… Microsoft Corporation` line, at this line.
    Footer(u64),
}

/// Reads `text`, fields separated by `delimiter`.
pub fn read(text: &str, delimiter: u8) -> Result<Parsed, Refused> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        // Lines end at \n only (a \r before it is trimmed off the last field), so line numbers count CRLF lines right.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes());
    let mut state = State::Preamble { seen: 0, first: None, aggregation: None };
    let mut points = Points::default();
    let mut rows: Vec<SpendRow> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut read = 0usize;
    let mut record = csv::StringRecord::new();
    loop {
        let more = rdr.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Refused { line: (line > 0).then_some(line), why: format!("not CSV: {e}") }
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        match &mut state {
            State::Preamble { seen, first, aggregation } => {
                let names: Vec<String> = cells.iter().map(|c| header::normalise(c)).collect();
                if let Some(format) = header::detect(&names) {
                    let cols = header::columns(format, &record.iter().map(str::to_string).collect::<Vec<_>>())
                        .map_err(|why| Refused::at(line, why))?;
                    if let (Format::Microsoft, Some((l, agg))) = (format, aggregation.take()) {
                        if !agg.eq_ignore_ascii_case("daily") {
                            return Err(Refused::at(l, format!("the report is aggregated {agg:?}; run it with Daily aggregation")));
                        }
                    }
                    state = State::Rows(Box::new(cols), line);
                    continue;
                }
                if let [one] = cells[..] {
                    if let Some(agg) = one.strip_prefix("Report Aggregation:") {
                        *aggregation = Some((line, agg.trim().to_string()));
                    }
                }
                *seen += 1;
                first.get_or_insert((line, record.iter().map(|c| c.trim().to_string()).collect()));
                if *seen >= MAX_PREAMBLE {
                    break;
                }
            }
            State::Rows(cols, _) => {
                if cols.format == Format::Microsoft && is_microsoft_footer(&cells) {
                    state = State::Footer(line);
                    continue;
                }
                if skipped_total(cols, &cells) {
                    continue;
                }
                if cells.len() != cols.names.len() {
                    return Err(Refused::at(line, format!("{} fields, but the header has {}", cells.len(), cols.names.len())));
                }
                let row = row(cols, &cells).map_err(|(col, why)| Refused::at(line, format!("column {:?}: {why}", cols.names[col])))?;
                points.see(line, cells[cols.cost]);
                read += 1;
                if read > MAX_ROWS {
                    return Err(Refused::at(line, format!("more than {MAX_ROWS} rows; split the file (by date range)")));
                }
                add(&mut rows, &mut index, row);
            }
            State::Footer(at) => {
                return Err(Refused::at(line, format!("a row after the Microsoft Corporation footer on line {at}")));
            }
        }
    }
    if matches!(state, State::Rows(..) | State::Footer(_)) && !rows.is_empty() {
        points.check()?;
    }
    match state {
        State::Preamble { first: None, .. } => Err(Refused::file("the file is empty")),
        State::Preamble { first: Some((line, cells)), .. } => Err(Refused::at(
            line,
            format!(
                "no spend header found (columns {}); expected the columns date, network, campaign, cost, currency \
                 or a Microsoft Advertising, Google Ads or Meta Ads Manager report (see docs/spend.md)",
                cells.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ")
            ),
        )),
        State::Rows(cols, header_line) => {
            if rows.is_empty() {
                return Err(Refused::at(header_line, "the header has no rows under it; nothing to import"));
            }
            Ok(Parsed { format: cols.format, rows, read })
        }
        State::Footer(_) if rows.is_empty() => Err(Refused::file("the report has no rows; nothing to import")),
        State::Footer(_) => Ok(Parsed { format: Format::Microsoft, rows, read }),
    }
}

/// How a file's costs use the point, to catch a file written with points
/// as thousands separators (German, French, … number formatting): there
/// `1.234` is 1234, which the US reading takes for 1.234, a cost a thousand
/// times too small with no error. A point followed by exactly three digits
/// (`1.234`, `12.500`) could be either; a cost with another number of
/// decimals (`12.50`) or a comma thousands separator (`1,234`) shows the
/// US reading, and the file is read so. A file whose every pointed cost has
/// three decimals is refused instead of guessed.
#[derive(Default)]
struct Points {
    /// The first cost with a point and exactly three digits after it, and its line.
    three: Option<(u64, String)>,
    /// A cost written the US way beyond doubt.
    us: bool,
}

impl Points {
    fn see(&mut self, line: u64, cost: &str) {
        if cost.contains(',') {
            self.us = true;
        } else if let Some((_, decimals)) = cost.split_once('.') {
            if decimals.len() == 3 {
                self.three.get_or_insert((line, cost.to_string()));
            } else {
                self.us = true;
            }
        }
    }

    fn check(self) -> Result<(), Refused> {
        match self.three {
            Some((line, cost)) if !self.us => Err(Refused::at(
                line,
                format!(
                    "cost {cost:?} could be {cost} or {} (a point as thousands separator), and no cost in the file \
                     tells which: download reports with English (US) number formatting (1,234.00)",
                    cost.replace('.', "")
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// `"©2026 Microsoft Corporation. All rights reserved."` (Microsoft's own
/// example writes `@2020`; a file saved in the wrong encoding `Â©`).
fn is_microsoft_footer(cells: &[&str]) -> bool {
    let text: Vec<&&str> = cells.iter().filter(|c| !c.is_empty()).collect();
    text.len() == 1 && text[0].contains("Microsoft Corporation")
}

/// The totals a Google Ads download ends with (`Total: Account`, `Total:
/// Campaigns`) and the summary row of a Meta export (no campaign, ad set or ad
/// name): sums of rows above, not spend of their own.
fn skipped_total(cols: &Columns, cells: &[&str]) -> bool {
    let cell = |i: Option<usize>| i.and_then(|i| cells.get(i)).copied().unwrap_or("");
    match cols.format {
        Format::Google => cells.first().is_some_and(|c| c.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("total:"))),
        Format::Meta => cell(Some(cols.campaign)).is_empty() && cell(cols.ad_group).is_empty() && cell(cols.ad).is_empty(),
        _ => false,
    }
}

/// One row, or (the column, what is wrong).
fn row(cols: &Columns, cells: &[&str]) -> Result<SpendRow, (usize, String)> {
    let vendor = cols.format != Format::Documented;
    let text = |i: usize, required: bool| -> Result<String, (usize, String)> {
        let v = cells[i];
        let v = if vendor && v == "--" { "" } else { v };
        if required && v.is_empty() {
            return Err((i, "required, and empty".into()));
        }
        if v.chars().count() > MAX_TEXT {
            return Err((i, format!("longer than {MAX_TEXT} characters")));
        }
        Ok(v.to_string())
    };
    let optional = |i: Option<usize>| i.map(|i| text(i, false)).transpose().map(Option::unwrap_or_default);
    let day = |i: usize| {
        let parse = if cols.format == Format::Microsoft { numbers::iso_or_us_day } else { numbers::iso_day };
        parse(cells[i]).map_err(|e| (i, e))
    };
    let date = day(cols.date)?;
    if let Some(end) = cols.date_end {
        let last = day(end)?;
        if last != date {
            return Err((
                end,
                format!(
                    "the row covers {} to {}; export with Breakdown > By time > Day so that each row is one day",
                    cells[cols.date], cells[end]
                ),
            ));
        }
    }
    let network = match (cols.format.network(), cols.network) {
        (Some(n), _) => n.to_string(),
        (None, Some(i)) => text(i, true)?,
        (None, None) => unreachable!("the documented format requires a network column"),
    };
    let campaign = text(cols.campaign, true)?;
    let ad_group = optional(cols.ad_group)?;
    let ad = optional(cols.ad)?;
    let mut keyword = optional(cols.keyword)?;
    if cols.format == Format::Google {
        keyword = bare_keyword(&keyword).to_string();
    }
    let currency = match &cols.currency {
        Currency::Fixed(c) => c.clone(),
        Currency::Column(i) => {
            let c = cells[*i];
            if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err((*i, format!("expected a 3-letter ISO 4217 code like EUR, got {c:?}")));
            }
            c.to_ascii_uppercase()
        }
    };
    let cost = match cells[cols.cost] {
        c if vendor && numbers::is_none(c) => 0.0,
        c => numbers::amount(c).map_err(|e| (cols.cost, e))?,
    };
    let count = |i: Option<usize>| -> Result<Option<u64>, (usize, String)> {
        match i {
            None => Ok(None),
            Some(i) if numbers::is_none(cells[i]) => Ok(None),
            Some(i) => numbers::count(cells[i]).map(Some).map_err(|e| (i, e)),
        }
    };
    Ok(SpendRow {
        date,
        network,
        campaign,
        ad_group,
        ad,
        keyword,
        currency,
        cost,
        clicks: count(cols.clicks)?,
        impressions: count(cols.impressions)?,
    })
}

/// A Google Ads keyword without its match-type marks: `[red shoes]` (exact)
/// and `"red shoes"` (phrase) are the keyword `red shoes` that `{keyword}` puts in `utm_term`.
fn bare_keyword(k: &str) -> &str {
    let inner = k.strip_prefix('[').and_then(|r| r.strip_suffix(']')).or_else(|| k.strip_prefix('"').and_then(|r| r.strip_suffix('"')));
    inner.map(str::trim).unwrap_or(k)
}

type Key = (i64, String, String, String, String, String, String);

/// Adds `r` to the rows: a row with the same key as an earlier one (a report
/// broken down by device or hour) adds its cost, clicks and impressions to it.
fn add(rows: &mut Vec<SpendRow>, index: &mut HashMap<Key, usize>, r: SpendRow) {
    let key = (r.date, r.network.clone(), r.campaign.clone(), r.ad_group.clone(), r.ad.clone(), r.keyword.clone(), r.currency.clone());
    match index.get(&key) {
        Some(&i) => {
            let a = &mut rows[i];
            a.cost += r.cost;
            let sum = |x: Option<u64>, y: Option<u64>| match (x, y) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0).saturating_add(y.unwrap_or(0))),
            };
            a.clicks = sum(a.clicks, r.clicks);
            a.impressions = sum(a.impressions, r.impressions);
        }
        None => {
            index.insert(key, rows.len());
            rows.push(r);
        }
    }
}
