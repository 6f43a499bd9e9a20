//! Google Ads: the offline click-conversion import file.
//!
//! Documented at <https://support.google.com/google-ads/answer/7014069>
//! ("Import conversions from ad clicks into Google Ads using files"): an
//! optional `Parameters:TimeZone=` row (a time-zone ID, or a GMT offset such
//! as `+0000`) that applies to every conversion time without its own zone,
//! then the header `Google Click ID,Conversion Name,Conversion Time,
//! Conversion Value,Conversion Currency` (the row Google finds the data by),
//! then one row per conversion. Times are written `yyyy-MM-dd HH:mm:ss`, here
//! in UTC with `Parameters:TimeZone=+0000`.
//!
//! Clicks from iOS may carry `gbraid` or `wbraid` instead of a `gclid`; the
//! Google Ads API (<https://developers.google.com/google-ads/api/docs/conversions/upload-clicks>)
//! takes exactly one of the three per conversion. When any exported
//! conversion has one, the file gains `GBRAID` and `WBRAID` columns beside
//! `Google Click ID`, and each row fills exactly one of the three; a file of
//! gclids only has exactly the template's columns (Google asks for no others).
//!
//! Enhanced conversions for leads: when any exported conversion has a hashed
//! email or phone (Google's normalisation, SHA-256, made by the tag), the
//! file gains the `Email` and `Phone Number` columns of Google's
//! click-conversion template with user-provided data, after the others
//! (Google finds columns by their header), each filled with the hash or
//! left empty. The Google Ads API's equivalent is a `ClickConversion` with
//! `user_identifiers` (`hashed_email`, `hashed_phone_number`) beside its
//! gclid (<https://developers.google.com/google-ads/api/docs/conversions/upload-identifiers>).
//! A conversion still needs its click ID here: without one it is left out.

use super::{csv_writer, Row};
use crate::dates;

/// The template's header.
pub const HEADER: [&str; 5] = ["Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"];
/// The header when some click came with `gbraid` or `wbraid`.
pub const HEADER_BRAID: [&str; 7] =
    ["Google Click ID", "GBRAID", "WBRAID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency"];
/// The columns added when some conversion has a hashed email or phone.
pub const USER_COLUMNS: [&str; 2] = ["Email", "Phone Number"];
/// The time-zone row: every time in the file is UTC.
pub const TIME_ZONE: &str = "Parameters:TimeZone=+0000";

/// `ms` as `yyyy-MM-dd HH:mm:ss` (UTC, to the second).
pub fn time(ms: i64) -> String {
    dates::format_ms(ms, time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
}

/// The import file for `rows`.
pub fn render(rows: &[Row]) -> anyhow::Result<String> {
    let braid = rows.iter().any(|r| r.click_param != "gclid");
    let hashed = rows.iter().any(|r| r.user_data.contains_key("em") || r.user_data.contains_key("ph"));
    let extra = if hashed { USER_COLUMNS.len() } else { 0 };
    let width = if braid { HEADER_BRAID.len() } else { HEADER.len() } + extra;
    // The parameters row is one cell, padded so that every row has the same
    // number of fields, as a spreadsheet saves it.
    let mut w = csv_writer(false);
    let mut params = vec![TIME_ZONE.to_string()];
    params.resize(width, String::new());
    w.write_record(&params)?;
    let mut header: Vec<&str> = if braid { HEADER_BRAID.to_vec() } else { HEADER.to_vec() };
    if hashed {
        header.extend(USER_COLUMNS);
    }
    w.write_record(&header)?;
    for r in rows {
        let value = r.value.map(super::number).unwrap_or_default();
        let currency = r.currency.clone().unwrap_or_default();
        let t = time(r.ts);
        let id = |p: &str| if r.click_param == p { r.click_id.as_str() } else { "" };
        let mut record: Vec<&str> = if braid {
            vec![id("gclid"), id("gbraid"), id("wbraid"), &r.name, &t, &value, &currency]
        } else {
            vec![&r.click_id, &r.name, &t, &value, &currency]
        };
        if hashed {
            record.extend(["em", "ph"].map(|k| r.user_data.get(k).map_or("", String::as_str)));
        }
        w.write_record(&record)?;
    }
    super::finish(w)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(super::time(1_772_446_500_999), "2026-03-02 10:15:00");
        assert_eq!(super::time(0), "1970-01-01 00:00:00");
    }
}
