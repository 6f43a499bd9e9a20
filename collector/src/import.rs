//! Offline conversion import: rows from a CRM or shop back office (a lead
//! qualified, an order shipped or refunded), keyed by the transaction ID the
//! tag sent with the online conversion, so reports can join the two.
//!
//! A file is CSV with a header row or JSON lines, with the fields
//! `transaction_id, goal, stage, ts` and optionally `value, currency`. It is
//! stored whole or not at all: the first bad row refuses the file, naming its
//! line and field. Rows are keyed by (site, transaction_id, goal, stage):
//! importing the same file again changes nothing, and a corrected row
//! replaces the earlier one. Each [`crate::Store`] stores them (`Store::import`).

use crate::dates;
use crate::ingest::{MAX_SITE, MAX_TEXT, MAX_VALUE};
use crate::store::Database;
use std::path::Path;

pub mod routes;

/// Most rows in one file: one transaction holds SQLite's write lock while it
/// runs, and beacons wait for it.
pub const MAX_ROWS: usize = 100_000;
/// Largest body `POST /import` reads.
pub const MAX_BYTES: usize = 16 << 20;

pub use crate::model::import::{Imported, Row};

/// How an import file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row naming the fields (RFC 4180).
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// From the content type when it says (text/csv; application/x-ndjson,
    /// application/jsonl, application/json), else from the first character
    /// (`{` is JSON lines).
    pub fn detect(content_type: Option<&str>, body: &str) -> Format {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.contains("csv") {
            Format::Csv
        } else if ct.contains("json") || body.trim_start_matches('\u{feff}').trim_start().starts_with('{') {
            Format::JsonLines
        } else {
            Format::Csv
        }
    }
}

const FIELDS: [&str; 6] = ["transaction_id", "goal", "stage", "value", "currency", "ts"];
const REQUIRED: [&str; 4] = ["transaction_id", "goal", "stage", "ts"];

/// Parses and validates a whole file; the error names the line and field.
pub fn parse(body: &str, format: Format) -> Result<Vec<Row>, String> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let rows = match format {
        Format::Csv => parse_csv(body)?,
        Format::JsonLines => parse_json_lines(body)?,
    };
    if rows.is_empty() {
        return Err("no rows to import".into());
    }
    Ok(rows)
}

/// Raw text fields of one record, by name, and the line it starts on.
type Fields = Vec<(String, Option<String>)>;

fn parse_csv(body: &str) -> Result<Vec<Row>, String> {
    let records = csv_records(body)?;
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else { return Err("the file is empty".into()) };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    for h in &header {
        if !FIELDS.contains(&h.as_str()) {
            return Err(format!("line 1: unknown column {h:?}; the columns are {}", FIELDS.join(", ")));
        }
        if header.iter().filter(|x| *x == h).count() > 1 {
            return Err(format!("line 1: column {h:?} appears twice"));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|r| !header.iter().any(|h| h == *r)) {
        return Err(format!("line 1: the header has no {missing} column (required: {})", REQUIRED.join(", ")));
    }
    let mut rows = Vec::new();
    for (line, cells) in it {
        if cells.len() == 1 && cells[0].trim().is_empty() {
            continue; // blank line
        }
        if cells.len() != header.len() {
            return Err(format!("line {line}: {} fields, but the header has {}", cells.len(), header.len()));
        }
        let fields: Fields = header.iter().cloned().zip(cells.into_iter().map(Some)).collect();
        rows.push(row(&fields).map_err(|(f, why)| format!("line {line}, field {f}: {why}"))?);
        check_count(rows.len())?;
    }
    Ok(rows)
}

fn check_count(n: usize) -> Result<(), String> {
    if n > MAX_ROWS {
        return Err(format!("more than {MAX_ROWS} rows; split the file"));
    }
    Ok(())
}

/// RFC 4180 records, read by the `csv` crate: fields separated by commas,
/// optionally in double quotes (`""` is a quote inside), which may hold commas
/// and line breaks; empty lines are skipped. Each record comes with the line
/// number it starts on. A quoted field still open at the end of the file is
/// refused (the reader would otherwise take the rest of the file as its
/// text); a quote inside an unquoted field (`a"b`) is read as it stands.
fn csv_records(body: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body.as_bytes());
    let mut out = Vec::new();
    // The reader's own line number counts from before the line ends and
    // empty lines it skipped: the record's first line is found from its byte offset.
    let line = |pos: Option<&csv::Position>| {
        let at = pos.map_or(0, |p| p.byte() as usize).min(body.len());
        let start = at + body[at..].bytes().take_while(|b| matches!(b, b'\r' | b'\n')).count();
        1 + body.as_bytes()[..start].iter().filter(|b| **b == b'\n').count()
    };
    for record in reader.records() {
        let record = record.map_err(|e| format!("line {}: {e}", line(e.position())))?;
        out.push((line(record.position()), record.iter().map(String::from).collect()));
    }
    if unclosed_quote(body) {
        let start = out.last().map_or(1, |(line, _)| *line);
        return Err(format!(
            "line {start}: a quoted field is not closed (or a double quote stands alone inside an unquoted field); \
             quote whole fields and write a quote inside one as \"\""
        ));
    }
    Ok(out)
}

/// True when the file ends inside a quoted field: an odd number of quotes in
/// all (a quote inside a quoted field is written twice, so closed fields
/// always count even).
fn unclosed_quote(body: &str) -> bool {
    body.bytes().filter(|b| *b == b'"').count() % 2 == 1
}

fn parse_json_lines(body: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (i, text) in body.lines().enumerate() {
        let line = i + 1;
        if text.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("line {line}: not a JSON object: {e}"))?;
        let obj = v.as_object().ok_or_else(|| format!("line {line}: expected a JSON object"))?;
        let mut fields: Fields = Vec::new();
        for (k, v) in obj {
            if !FIELDS.contains(&k.as_str()) {
                return Err(format!("line {line}: unknown field {k:?}; the fields are {}", FIELDS.join(", ")));
            }
            let text = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => return Err(format!("line {line}, field {k}: expected a string or a number")),
            };
            fields.push((k.clone(), text));
        }
        rows.push(row(&fields).map_err(|(f, why)| format!("line {line}, field {f}: {why}"))?);
        check_count(rows.len())?;
    }
    Ok(rows)
}

/// One row from its fields: (field, what is wrong) when invalid.
fn row(fields: &Fields) -> Result<Row, (&'static str, String)> {
    let get = |name: &str| -> Option<&str> {
        fields.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref()).map(str::trim).filter(|v| !v.is_empty())
    };
    let text = |name: &'static str| -> Result<String, (&'static str, String)> {
        let v = get(name).ok_or((name, "required, and empty or missing".to_string()))?;
        if !crate::ingest::is_wire_text(v) {
            return Err((name, crate::ingest::NUL.to_string()));
        }
        if v.chars().count() > MAX_TEXT {
            return Err((name, format!("longer than {MAX_TEXT} characters")));
        }
        Ok(v.to_string())
    };
    let transaction_id = text("transaction_id")?;
    let goal = text("goal")?;
    let stage = text("stage")?;
    let value = match get("value") {
        None => None,
        Some(v) => {
            let x: f64 = v.parse().map_err(|_| ("value", format!("expected a number like 49.90, got {v:?}")))?;
            if !x.is_finite() || x.abs() > MAX_VALUE {
                return Err(("value", format!("must be a finite number within ±{MAX_VALUE:e}")));
            }
            Some(x)
        }
    };
    let currency = match get("currency") {
        None => None,
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
        Some(c) => return Err(("currency", format!("expected a 3-letter ISO 4217 code like EUR, got {c:?}"))),
    };
    let ts = get("ts").ok_or(("ts", "required, and empty or missing".to_string()))?;
    let ts = dates::parse_timestamp(ts).map_err(|e| ("ts", e))?;
    Ok(Row { transaction_id, goal, stage, value, currency, ts })
}

/// Checks a site key the way `/collect` does.
pub fn check_site(site: &str) -> Result<(), String> {
    if goaltag_wire::is_site_key(site) {
        Ok(())
    } else {
        Err(format!("site: expected 1 to {MAX_SITE} letters, digits, '.', '_' or '-'"))
    }
}

/// Extra `goaltag-collector import --help` text.
pub const CLI_MANUAL: &str = "\
FORMAT
  CSV with a header row naming the columns, in any order:
    transaction_id,goal,stage,value,currency,ts
    T-1001,purchase,shipped,49.90,EUR,2024-03-02
    T-1002,purchase,refunded,,,2024-03-03T10:15:00Z
  value and currency may be left out; ts is a date, an ISO 8601 date-time or
  epoch milliseconds. Or JSON lines, one object per line with the same names:
    {\"transaction_id\":\"T-1001\",\"goal\":\"purchase\",\"stage\":\"shipped\",\"ts\":\"2024-03-02\"}

  The whole file is stored or none of it: the first bad row is named
  (line and field). Importing the same rows again changes nothing; a row with
  the same transaction_id, goal and stage replaces the earlier one.

EXAMPLE
  goaltag-collector import --db data/events.db --site demo-shop crm-export.csv
  goaltag-collector import --db postgres://goaltag@db.internal/goaltag \\
      --site demo-shop crm-export.csv";

/// `goaltag-collector import`: reads `file`, stores it in `db` and says what changed.
pub async fn cli(db: &Database, site: &str, file: &Path) -> anyhow::Result<String> {
    check_site(site).map_err(anyhow::Error::msg)?;
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("csv") => Format::Csv,
        Some("jsonl" | "ndjson" | "json") => Format::JsonLines,
        _ => Format::detect(None, &text),
    };
    let rows = parse(&text, format).map_err(|e| anyhow::anyhow!("{}: {e}; nothing was imported", file.display()))?;
    let store = crate::store::open_for_import(db).await?;
    let d = store.import(site, rows, crate::model::now_ms()).await?;
    Ok(format!("imported {} rows for {site}: {} new, {} updated, {} unchanged", d.rows, d.new, d.updated, d.unchanged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_any_column_order_and_optional_fields() {
        let body = "ts,goal,transaction_id,stage,value,currency\r\n\
                    2024-03-01,purchase,\"T-1\",shipped,\"1,5\",eur\n\
                    \n\
                    1709251200000,lead,\"T \"\"2\"\"\",qualified,,\n";
        let err = parse(body, Format::Csv).unwrap_err();
        assert_eq!(err, "line 2, field value: expected a number like 49.90, got \"1,5\"");
        let rows = parse(&body.replace("\"1,5\"", "12.5"), Format::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            Row {
                transaction_id: "T-1".into(),
                goal: "purchase".into(),
                stage: "shipped".into(),
                value: Some(12.5),
                currency: Some("EUR".into()),
                ts: 1_709_251_200_000
            }
        );
        assert_eq!((rows[1].transaction_id.as_str(), rows[1].value, rows[1].ts), ("T \"2\"", None, 1_709_251_200_000));
    }

    #[test]
    fn bad_files_name_the_line_and_field() {
        let csv = |s: &str| parse(s, Format::Csv).unwrap_err();
        assert_eq!(csv(""), "the file is empty");
        assert_eq!(csv("transaction_id,goal,stage,ts\n\n"), "no rows to import");
        assert!(csv("transaction_id,goal,stage\n").contains("no ts column"));
        assert!(csv("transaction_id,goal,stage,ts,vlaue\n").contains("unknown column \"vlaue\""));
        assert_eq!(
            csv("transaction_id,goal,stage,ts\nT,g,s,2024-01-01\nT2,g,,2024-01-01\n"),
            "line 3, field stage: required, and empty or missing"
        );
        let e = csv("transaction_id,goal,stage,ts\nT,g,s,yesterday\n");
        assert!(e.starts_with("line 2, field ts: \"yesterday\": expected epoch"), "{e}");
        assert_eq!(csv("transaction_id,goal,stage,ts\nT,g,s\n"), "line 2: 3 fields, but the header has 4");
        assert!(csv("transaction_id,goal,stage,ts,currency\nT,g,s,2024-01-01,euro\n").starts_with("line 2, field currency"));
        assert!(csv("transaction_id,goal,stage,ts\n\"T,g,s,2024-01-01\n").starts_with("line 2: a quoted field is not closed"));
        let multi = "transaction_id,goal,stage,ts\r\n\r\n\"T\n1\",g,s,2024-01-01\r\nT2,g,,2024-01-01\r\n";
        assert_eq!(
            csv(multi),
            "line 5, field stage: required, and empty or missing",
            "lines count from the file, past blank lines and quoted line breaks"
        );
        let jl = |s: &str| parse(s, Format::JsonLines).unwrap_err();
        assert!(jl("{\"transaction_id\":\"T\",\"goal\":\"g\",\"stage\":\"s\",\"ts\":1709251200000}\nnope\n")
            .starts_with("line 2: not a JSON object"));
        assert!(jl("{\"transaction_id\":\"T\",\"goal\":\"g\",\"stage\":\"s\",\"ts\":1709251200000,\"value\":\"x\"}")
            .starts_with("line 1, field value"));
        assert!(jl("{\"transaction_id\":\"T\",\"goal\":[],\"stage\":\"s\",\"ts\":1709251200000}").starts_with("line 1, field goal"));
        // U+0000, which PostgreSQL cannot store, is refused on both stores alike (as /collect does).
        assert_eq!(
            jl("{\"transaction_id\":\"T\\u0000\",\"goal\":\"g\",\"stage\":\"s\",\"ts\":1709251200000}"),
            "line 1, field transaction_id: holds U+0000 (NUL), which no string on the wire may"
        );
        assert_eq!(
            csv("transaction_id,goal,stage,ts\nT,g,s\0x,2024-01-01\n"),
            "line 2, field stage: holds U+0000 (NUL), which no string on the wire may"
        );
    }

    #[test]
    fn json_lines_and_format_detection() {
        let body = "{\"transaction_id\":\"T\",\"goal\":\"g\",\"stage\":\"won\",\"value\":10,\"currency\":\"USD\",\"ts\":\"2024-01-02T00:00:00Z\"}\n";
        assert_eq!(Format::detect(None, body), Format::JsonLines);
        assert_eq!(Format::detect(Some("text/csv"), body), Format::Csv);
        assert_eq!(Format::detect(Some("application/x-ndjson"), "a,b"), Format::JsonLines);
        assert_eq!(Format::detect(None, "transaction_id,goal"), Format::Csv);
        let rows = parse(body, Format::JsonLines).unwrap();
        assert_eq!(rows[0].value, Some(10.0));
        assert_eq!(rows[0].ts, dates::parse_date("2024-01-02").unwrap() * dates::DAY_MS);
    }
}
