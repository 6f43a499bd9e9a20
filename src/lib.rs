//! goaltag: a conversion-tracking tag.
//!
//! [`core`] makes every decision in plain Rust (tested natively); [`browser`] is the
//! thin shell that turns browser facts into core inputs and core outputs into I/O.

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod browser;
