//! UTC calendar days as day numbers (days since 1970-01-01, an `i64`) and
//! timestamps, without a date library: reports take `YYYY-MM-DD` days,
//! imports take dates, date-times and epoch milliseconds.

/// Milliseconds in a (UTC) day.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The UTC day number holding `ms` (milliseconds since the Unix epoch).
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Parses `YYYY-MM-DD` (years 1970 to 9999; the day must exist) into a day number.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&s[0..4])?;
    let m = digits(&s[5..7])?;
    let d = digits(&s[8..10])?;
    if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A day number as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The non-negative number written in `s`, which must be ASCII digits only.
fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch from what a spreadsheet or CRM export holds:
/// epoch milliseconds (`1767225600000`), a date (`2026-01-01`, midnight UTC)
/// or a date-time (`2026-01-01T12:30`, `2026-01-01 12:30:05.250`, with `Z` or
/// `±HH:MM` or no zone, which means UTC). The error says what was expected.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    const EXPECTED: &str = "expected epoch milliseconds, a date like 2026-01-31 or a date-time like 2026-01-31T14:05:00Z";
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        let ms = digits(s).ok_or_else(|| format!("{s:?}: {EXPECTED}"))?;
        // 10-digit values are almost always seconds: 1e11 ms is March 1973.
        if ms < 100_000_000_000 {
            return Err(format!("{s:?} looks like seconds or is before 1973: expected epoch milliseconds"));
        }
        if ms >= parse_date("9999-12-31").unwrap() * DAY_MS {
            return Err(format!("{s:?}: too far in the future for epoch milliseconds"));
        }
        return Ok(ms);
    }
    let bad = || format!("{s:?}: {EXPECTED}");
    if s.len() < 10 {
        return Err(bad());
    }
    let day = parse_date(s.get(..10).ok_or_else(bad)?).ok_or_else(bad)?;
    let rest = &s[10..];
    if rest.is_empty() {
        return Ok(day * DAY_MS);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t')).or_else(|| rest.strip_prefix(' ')).ok_or_else(bad)?;
    // Split off the zone: Z, +HH:MM, -HH:MM (or +HHMM).
    let (clock, offset_min) = if let Some(c) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        if z.len() != 4 {
            return Err(bad());
        }
        let (h, m) = (digits(&z[..2]).ok_or_else(bad)?, digits(&z[2..]).ok_or_else(bad)?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        (c, sign * (h * 60 + m))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let h = digits(parts[0]).ok_or_else(bad)?;
    let m = digits(parts[1]).ok_or_else(bad)?;
    let sec = if parts.len() == 3 { digits(parts[2]).ok_or_else(bad)? } else { 0 };
    if h > 23 || m > 59 || sec > 60 {
        return Err(bad());
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|c| c.is_ascii_digit()) => {
            digits(&format!("{f:0<3}")[..3]).ok_or_else(bad)?
        }
        Some(_) => return Err(bad()),
    };
    Ok(day * DAY_MS + ((h * 60 + m - offset_min) * 60 + sec) * 1000 + ms)
}

/// A day given as the parameter `param` (`from`, `to`): `YYYY-MM-DD`
/// (UTC, surrounding blanks ignored) as days since 1970-01-01; the error
/// names the parameter and the format.
pub fn parse_param(param: &str, v: &str) -> Result<i64, String> {
    parse_date(v.trim()).ok_or_else(|| format!("{param}: expected a date as YYYY-MM-DD (UTC), got {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2024-12-31", "2026-03-01", "9999-12-31"] {
            assert_eq!(format_date(parse_date(s).unwrap()), s);
        }
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(day_of_ms(-1), -1);
        assert_eq!(day_of_ms(DAY_MS), 1);
        for bad in ["2025-02-29", "2025-13-01", "2025-1-01", "25-01-01", "2025/01/01", "1969-12-31", "2025-01-00", "+025-01-01"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_in_the_forms_exports_use() {
        let midnight = parse_date("2026-01-31").unwrap() * DAY_MS;
        assert_eq!(parse_timestamp("2026-01-31"), Ok(midnight));
        assert_eq!(parse_timestamp(" 2026-01-31T14:05 "), Ok(midnight + (14 * 60 + 5) * 60_000));
        assert_eq!(parse_timestamp("2026-01-31T14:05:07Z"), Ok(midnight + ((14 * 60 + 5) * 60 + 7) * 1000));
        assert_eq!(parse_timestamp("2026-01-31 14:05:07.25"), Ok(midnight + ((14 * 60 + 5) * 60 + 7) * 1000 + 250));
        assert_eq!(parse_timestamp("2026-01-31T14:05:00+02:00"), Ok(midnight + (12 * 60 + 5) * 60_000));
        assert_eq!(parse_timestamp("2026-01-31T00:30:00-0100"), Ok(midnight + 90 * 60_000));
        assert_eq!(parse_timestamp(&midnight.to_string()), Ok(midnight));
        assert!(parse_timestamp("1767225600").unwrap_err().contains("looks like seconds"));
        for bad in ["", "yesterday", "2026-01-31T25:00", "2026-01-31X10:00", "2026-01-31T10", "31/01/2026", "2026-01-31T10:00+5"] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
