//! The reference collector: accepts goaltag beacons, validates them, and stores
//! every event once (the event ID is the primary key), so the tag's
//! at-least-once delivery becomes exactly-once storage.
//!
//! - [`model`]: the bottom layer, the rows stores hand up and the clock (the
//!   layers, bottom to top, are listed there; `tests/layers.rs` checks them);
//! - [`config`]: what it can be told at start-up;
//! - [`ingest`]: what a valid batch is ([`ingest::routes`]: `POST /collect`, `GET /health`);
//! - [`decode`]: gzip bodies (`POST /collect?c=gzip`), decoded within caps;
//! - [`store`]: where events go (the [`Store`] trait; SQLite with its writer
//!   thread, PostgreSQL with its connection pool);
//! - [`origins`]: which pages may send for which site;
//! - [`ratelimit`]: per-IP and per-site token buckets;
//! - [`http`]: the router, every feature's `routes` on one [`state::AppState`];
//! - [`query`]: the typed query-string extractor of the owner's routes;
//! - [`report`]: the numbers (JSON, dashboard and CLI share one builder);
//! - [`dashboard`]: the dashboard page (its figures: [`report::routes`]);
//! - [`import`]: offline conversions from a CRM, joined by transaction ID;
//! - [`export`]: conversions back to the ad platforms (upload files);
//! - [`spend`]: ad spend from the platforms' report files (rows in [`model::spend`]);
//! - [`admin`]: the admin token in front of the site owner's routes;
//! - [`error`]: [`error::AppError`], what handlers answer when they fail.

#![deny(missing_docs)]

pub mod admin;
pub mod config;
pub mod dashboard;
pub mod dates;
pub mod decode;
pub mod error;
pub mod export;
pub mod http;
pub mod import;
pub mod ingest;
pub mod model;
pub mod origins;
pub mod query;
pub mod ratelimit;
pub mod report;
pub mod spend;
pub mod state;
pub mod store;

pub use config::Config;
pub use http::{router, router_with_store, serve, serve_with_shutdown};
pub use store::{Accepted, Database, PgStore, Rejected, SqliteStore, Store, Stored};
