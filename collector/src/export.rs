//! Conversions back to the ad platforms: offline-conversion upload files for
//! Microsoft Advertising ([`microsoft`]), Google Ads ([`google`]) and Meta
//! ([`meta`]), each module citing the documentation page it follows.
//!
//! Which conversions go ([`select()`]):
//! - of the chosen goals (`--goal ID`; the primary goals by default), and
//!   imported CRM stages (`--goal ID:STAGE`), joined to their online
//!   conversion by transaction ID, with the stage's own time and value;
//! - whose attribution holds the platform's click ID (`msclkid`; `gclid`,
//!   else `wbraid`, else `gbraid`; `fbclid`), or, for Microsoft and Meta,
//!   whose hashed email or phone the collector keeps (enhanced conversions:
//!   no window applies then);
//! - whose consent snapshot (the online conversion's) has `ad_user_data` and
//!   `ad_storage` granted;
//! - within the attribution window counted from the click: the first time
//!   the collector saw that click ID on the site (see [`rows::Read::first_seen`]);
//!   the window is `--window-days`, else the goal file's
//!   `attribution_window_days`, else the tag's default of 30 days;
//! - for Meta, at most 7 days old (Meta refuses older events);
//! - with `--since-last`, not exported to that platform before.
//!
//! Every export is recorded in the `exports` table (first time wins). The
//! rows come through the [`crate::Store`] ([`crate::Store::export`], [`crate::Store::export_rows`]),
//! so exports work alike on SQLite and PostgreSQL; what goes is decided here,
//! once, from what they read ([`rows`]). What
//! is left out is counted by reason in the [`Summary`]. Nothing personal
//! beyond the click ID, the hashed match keys sent under `ad_user_data`,
//! time, value and currency leaves: no client or visit
//! ID, no transaction ID, and for Meta the page URL without its query.
//! Times are the stored ones, to the second (UTC), so the same range
//! exported twice gives the same rows and the platforms de-duplicate them.

pub mod cli;
mod csv_file;
pub mod goals;
pub mod google;
pub mod meta;
pub mod microsoft;
pub mod panel;
pub mod platform;
pub mod request;
pub mod routes;
pub mod select;

pub use crate::model::export as rows;
pub use cli::{cli, CLI_MANUAL};
use csv_file::{csv_writer, finish, number};
pub use goals::Goals;
pub use panel::{panel, PanelRow};
pub use platform::Platform;
pub use request::{Params, Request, MAX_NAME};
pub use select::{preview, render, run, select, want, Reason, Row, Summary, DEFAULT_WINDOW_DAYS};
