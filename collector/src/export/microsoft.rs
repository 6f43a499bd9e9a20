//! Microsoft Advertising: the Bulk file "Offline Conversion" record.
//!
//! Documented at <https://learn.microsoft.com/advertising/bulk-service/offline-conversion>
//! (Offline Conversion Record - Bulk): a CSV whose header names the columns,
//! a `Format Version` row with `6.0` in the `Name` column, then one
//! `Offline Conversion` row per conversion with `Conversion Currency Code`,
//! `Conversion Name`, `Conversion Time`, `Conversion Value` and
//! `Microsoft Click Id`. The time is UTC (the Bing Ads SDK examples: "The
//! date and time must be in UTC") written as the Bulk SDK writes it and
//! reads it back (`bingads` 13.0.30.1, `bulk_datetime_str`/`parse_datetime`:
//! `%m/%d/%Y %H:%M:%S`): `04/01/2020 18:50:54`, zero-padded, 24-hour. The
//! documentation page's example `4/1/2020 6:50:54 PM` is refused by the
//! SDK's own `BulkFileReader`. Microsoft ignores a second upload
//! with the same click ID and conversion time, so re-runs are harmless.
//!
//! Enhanced conversions: the record's `Hashed Email Address` and `Hashed
//! Phone Number` columns carry the conversion's SHA-256 hashes (Microsoft's
//! normalisation, made by the tag; see docs/enhanced-conversions.md). A
//! conversion without an msclkid but with one of them is a row too, its
//! `Microsoft Click Id` empty: Microsoft matches it by the hash when the
//! conversion goal is an enhanced one.

use super::{csv_writer, Row};
use crate::dates;

/// The header row, in the documented order.
pub const HEADER: [&str; 13] = [
    "Type",
    "Status",
    "Id",
    "Parent Id",
    "Client Id",
    "Name",
    "Conversion Currency Code",
    "Conversion Name",
    "Conversion Time",
    "Conversion Value",
    "Microsoft Click Id",
    "Hashed Email Address",
    "Hashed Phone Number",
];

/// The bulk file format version the record belongs to.
pub const FORMAT_VERSION: &str = "6.0";

/// `ms` as the bulk file's UTC time: `04/01/2020 18:50:54`.
pub fn time(ms: i64) -> String {
    dates::format_ms(ms, time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]"))
}

/// The bulk file for `rows`.
pub fn render(rows: &[Row]) -> anyhow::Result<String> {
    let mut w = csv_writer(false);
    w.write_record(HEADER)?;
    w.write_record(["Format Version", "", "", "", "", FORMAT_VERSION, "", "", "", "", "", "", ""])?;
    for r in rows {
        let value = r.value.map(super::number).unwrap_or_default();
        let currency = r.currency.clone().unwrap_or_default();
        let t = time(r.ts);
        let hash = |k: &str| r.user_data.get(k).map_or("", String::as_str);
        w.write_record(["Offline Conversion", "", "", "", "", "", &currency, &r.name, &t, &value, &r.click_id, hash("em"), hash("ph")])?;
    }
    super::finish(w)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_in_the_documented_example() {
        // 2020-04-01 18:50:54 UTC, the documentation page's example, as the
        // Bulk SDK writes and reads it: `%m/%d/%Y %H:%M:%S`.
        assert_eq!(super::time(1_585_767_054_000), "04/01/2020 18:50:54");
        // Midnight and noon, milliseconds dropped.
        assert_eq!(super::time(1_585_699_200_999), "04/01/2020 00:00:00");
        assert_eq!(super::time(1_585_742_400_000), "04/01/2020 12:00:00");
        // 2026-12-06 04:58:59 UTC, the example: day and hour zero-padded.
        assert_eq!(super::time(1_796_533_139_000), "12/06/2026 04:58:59");
    }
}
