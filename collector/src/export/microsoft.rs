//! Microsoft Advertising: the Bulk file "Offline Conversion" record.
//!
//! Documented at <https://learn.microsoft.com/advertising/bulk-service/offline-conversion>
//! (Offline Conversion Record - Bulk): a CSV whose header names the columns,
//! a `Format Version` row with `6.0` in the `Name` column, then one
//! `Offline Conversion` row per conversion with `Conversion Currency Code`,
//! `Conversion Name`, `Conversion Time`, `Conversion Value` and
//! `Microsoft Click Id`. The page's example writes the time as
//! `4/1/2020 6:50:54 PM`; the time is UTC (the Bing Ads SDK examples:
//! "The date and time must be in UTC"). Microsoft ignores a second upload
//! with the same click ID and conversion time, so re-runs are harmless.

use super::{csv_writer, Row};
use crate::dates;

/// The header row, in the documented order.
pub const HEADER: [&str; 11] = [
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
];

/// The bulk file format version the record belongs to.
pub const FORMAT_VERSION: &str = "6.0";

/// `ms` as the bulk file's UTC time: `4/1/2020 6:50:54 PM`.
pub fn time(ms: i64) -> String {
    dates::format_ms(
        ms,
        time::macros::format_description!(
            "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]"
        ),
    )
}

/// The bulk file for `rows`.
pub fn render(rows: &[Row]) -> anyhow::Result<String> {
    let mut w = csv_writer(false);
    w.write_record(HEADER)?;
    w.write_record(["Format Version", "", "", "", "", FORMAT_VERSION, "", "", "", "", ""])?;
    for r in rows {
        let value = r.value.map(super::number).unwrap_or_default();
        let currency = r.currency.clone().unwrap_or_default();
        let t = time(r.ts);
        w.write_record(["Offline Conversion", "", "", "", "", "", &currency, &r.name, &t, &value, &r.click_id])?;
    }
    super::finish(w)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_in_the_documented_example() {
        // 2020-04-01 18:50:54 UTC, the example on the documentation page.
        assert_eq!(super::time(1_585_767_054_000), "4/1/2020 6:50:54 PM");
        assert_eq!(super::time(1_585_699_200_999), "4/1/2020 12:00:00 AM");
        assert_eq!(super::time(1_585_742_400_000), "4/1/2020 12:00:00 PM");
    }
}
