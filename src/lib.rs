//! goaltag: a conversion-tracking tag.
//!
//! [`core`] makes every decision in plain Rust (tested natively); [`browser`] is the
//! thin shell that turns browser facts into core inputs and core outputs into I/O.
//!
//! Without the default `std` feature (how build.sh builds the shipped wasm) the
//! crate is `no_std`: std's panic machinery alone would pull `core::fmt` into
//! the download. The code is the same either way; [`prelude`] stands in for
//! std's prelude.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

/// The parts of std's prelude the crate uses, from `alloc`.
#[allow(unused_imports)]
pub(crate) mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

#[cfg(target_arch = "wasm32")]
pub mod browser;
pub mod core;

/// Download size is a product feature: talc is a few KB smaller than std's allocator.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
