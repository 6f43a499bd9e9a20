//! goaltag: a conversion-tracking tag.
//!
//! [`core`] makes every decision in plain Rust (tested natively); [`browser`] is the
//! thin shell that turns browser facts into core inputs and core outputs into I/O.

pub mod core;
#[cfg(target_arch = "wasm32")]
pub mod browser;

/// Download size is a product feature: talc is a few KB smaller than std's allocator.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
