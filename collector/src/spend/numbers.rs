//! The numbers and dates of report files: amounts with optional comma
//! thousands separators (`1,234.50`), counts (`12,000`), and the days the
//! platforms write (`2026-03-01`; Microsoft also `3/1/2026`).

use crate::dates;
use crate::ingest::MAX_VALUE;

/// What the platforms write for "no figure" (Google Ads: `--`).
pub fn is_none(s: &str) -> bool {
    s.is_empty() || s == "--"
}

/// The digits of `s` with comma thousands separators removed, when they are
/// in groups of three (`1,234,567`); `None` when `s` is not that shape.
fn integer_digits(s: &str) -> Option<String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    if s.contains(',') {
        let mut groups = s.split(',');
        let first = groups.next()?;
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return None;
        }
    }
    Some(s.replace(',', ""))
}

/// A non-negative amount: `1234.5`, `1,234.50`, `.5`. The error says what was expected.
pub fn amount(s: &str) -> Result<f64, String> {
    let expected = || format!("expected an amount like 1234.56 or 1,234.56, got {s:?}");
    if s.starts_with('-') && amount(&s[1..]).is_ok() {
        return Err(format!("must not be negative, got {s:?}"));
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let int = if int.is_empty() && frac.is_some() { "0".to_string() } else { integer_digits(int).ok_or_else(expected)? };
    let text = match frac {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => format!("{int}.{f}"),
        Some(_) => return Err(expected()),
        None => int,
    };
    let x: f64 = text.parse().map_err(|_| expected())?;
    if !x.is_finite() || x > MAX_VALUE {
        return Err(format!("must be at most {MAX_VALUE:e}, got {s:?}"));
    }
    Ok(x)
}

/// A count (clicks, impressions): `12`, `12,000`.
pub fn count(s: &str) -> Result<u64, String> {
    let expected = || format!("expected a whole number like 1200 or 1,200, got {s:?}");
    integer_digits(s).ok_or_else(expected)?.parse().map_err(|_| expected())
}

/// `YYYY-MM-DD`, a day that exists.
pub fn iso_day(s: &str) -> Result<i64, String> {
    dates::parse_date(s).ok_or_else(|| format!("expected a date like 2026-02-28 (YYYY-MM-DD, a day that exists), got {s:?}"))
}

/// `YYYY-MM-DD` or the US `M/D/YYYY` Microsoft Advertising writes in its web reports.
pub fn iso_or_us_day(s: &str) -> Result<i64, String> {
    if let Some(d) = dates::parse_date(s) {
        return Ok(d);
    }
    let expected = || format!("expected a date like 2026-02-28 or 2/28/2026 (a day that exists), got {s:?}");
    let parts: Vec<&str> = s.split('/').collect();
    let [m, d, y] = parts[..] else { return Err(expected()) };
    let ok = |p: &str, n: std::ops::RangeInclusive<usize>| n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
    if !ok(m, 1..=2) || !ok(d, 1..=2) || !ok(y, 4..=4) {
        return Err(expected());
    }
    dates::parse_date(&format!("{y}-{m:0>2}-{d:0>2}")).ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_and_without_thousands_separators() {
        assert_eq!(amount("1234.5"), Ok(1234.5));
        assert_eq!(amount("1,234.50"), Ok(1234.5));
        assert_eq!(amount("12,345,678"), Ok(12_345_678.0));
        assert_eq!(amount("0"), Ok(0.0));
        assert_eq!(amount(".5"), Ok(0.5));
        for bad in ["1,5", "1,23.4", ",123", "12a", "", "1.2.3", "1.", "EUR 5", "1e5", "NaN", "inf", "1 234"] {
            assert!(amount(bad).unwrap_err().starts_with("expected an amount"), "{bad}");
        }
        assert_eq!(amount("-3.20"), Err("must not be negative, got \"-3.20\"".into()));
        assert!(amount("2000000000000").unwrap_err().starts_with("must be at most"));
    }

    #[test]
    fn counts_and_days() {
        assert_eq!(count("12,000"), Ok(12_000));
        assert_eq!(count("7"), Ok(7));
        assert!(count("7.5").is_err() && count("-1").is_err() && count("1,00").is_err());
        assert_eq!(iso_day("2026-02-28"), Ok(dates::parse_date("2026-02-28").unwrap()));
        assert!(iso_day("2026-02-30").unwrap_err().contains("\"2026-02-30\""));
        assert_eq!(iso_or_us_day("2/7/2026"), iso_day("2026-02-07"));
        assert_eq!(iso_or_us_day("12/31/2025"), iso_day("2025-12-31"));
        for bad in ["2/30/2026", "13/1/2026", "2/7/26", "7.2.2026", "2026/02/07"] {
            assert!(iso_or_us_day(bad).is_err(), "{bad}");
        }
        assert!(is_none("--") && is_none("") && !is_none("0"));
    }
}
