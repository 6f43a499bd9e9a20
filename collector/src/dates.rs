//! UTC calendar days as day numbers (days since 1970-01-01, an `i64`) and
//! timestamps, through the `time` crate: reports take `YYYY-MM-DD` days,
//! imports take dates, date-times and epoch milliseconds, exports write times
//! in each platform's format ([`format_ms`]).

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::parsing::Parsed;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Milliseconds in a (UTC) day.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `YYYY-MM-DD`.
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// What [`parse_timestamp`] reads after the date: a time (`T`, `t` or a
/// space first; seconds and their fraction optional) and a zone (`Z`,
/// `±HH:MM`, `±HHMM`, or none for UTC), all optional.
const AFTER_DATE: &[BorrowedFormatItem<'static>] = format_description!(
    version = 2,
    "[optional [[first [T][t][ ]][hour]:[minute][optional [:[second][optional [.[subsecond]]]]][optional [[first [Z][z][[offset_hour sign:mandatory][optional [:]][offset_minute]]]]]]]"
);

/// The Julian day of 1970-01-01: day numbers count from it.
const EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// The UTC day number holding `ms` (milliseconds since the Unix epoch).
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The day number of `date`.
fn day_of(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY
}

/// Parses `YYYY-MM-DD` (years 1970 to 9999; the day must exist) into a day number.
pub fn parse_date(s: &str) -> Option<i64> {
    if s.len() != 10 || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Date::parse(s, DATE).ok().filter(|d| d.year() >= 1970).map(day_of)
}

/// A day number as `YYYY-MM-DD` (the number itself if it is past year 9999).
pub fn format_date(day: i64) -> String {
    i32::try_from(day + EPOCH_JULIAN_DAY)
        .ok()
        .and_then(|jd| Date::from_julian_day(jd).ok())
        .and_then(|d| d.format(DATE).ok())
        .unwrap_or_else(|| day.to_string())
}

/// `ms` (since the Unix epoch, UTC) written as `format` says, to the second
/// (milliseconds are dropped, not rounded).
pub fn format_ms(ms: i64, format: &[BorrowedFormatItem<'_>]) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok().and_then(|t| t.format(format).ok()).unwrap_or_else(|| ms.to_string())
}

/// Milliseconds since the epoch from what a spreadsheet or CRM export holds:
/// epoch milliseconds (`1767225600000`), a date (`2026-01-01`, midnight UTC)
/// or a date-time (`2026-01-01T12:30`, `2026-01-01 12:30:05.250`, with `Z` or
/// `±HH:MM` or no zone, which means UTC). The error says what was expected.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    const EXPECTED: &str = "expected epoch milliseconds, a date like 2026-01-31 or a date-time like 2026-01-31T14:05:00Z";
    let s = s.trim();
    let bad = || format!("{s:?}: {EXPECTED}");
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        let ms: i64 = s.parse().map_err(|_| bad())?;
        // 10-digit values are almost always seconds: 1e11 ms is March 1973.
        if ms < 100_000_000_000 {
            return Err(format!("{s:?} looks like seconds or is before 1973: expected epoch milliseconds"));
        }
        if ms >= parse_date("9999-12-31").unwrap_or(i64::MAX / DAY_MS) * DAY_MS {
            return Err(format!("{s:?}: too far in the future for epoch milliseconds"));
        }
        return Ok(ms);
    }
    let day = parse_date(s.get(..10).ok_or_else(bad)?).ok_or_else(bad)?;
    let mut parsed = Parsed::new();
    let rest = parsed.parse_items(&s.as_bytes()[10..], AFTER_DATE).map_err(|_| bad())?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let Some(hour) = parsed.hour_24() else { return Ok(day * DAY_MS) };
    let minute = parsed.minute().ok_or_else(bad)?;
    let time = Time::from_hms_nano(hour, minute, parsed.second().unwrap_or(0), parsed.subsecond().unwrap_or(0)).map_err(|_| bad())?;
    let offset = match parsed.offset_hour() {
        None => UtcOffset::UTC,
        Some(h) => UtcOffset::from_hms(h, parsed.offset_minute_signed().unwrap_or(0), 0).map_err(|_| bad())?,
    };
    let date = Date::parse(&s[..10], DATE).map_err(|_| bad())?;
    let at = PrimitiveDateTime::new(date, time).assume_offset(offset);
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())
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
