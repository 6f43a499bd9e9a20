//! Row types shared by the layers above: what the stores hold and hand back.
//!
//! - [`spend`]: one day's ad spend for one campaign (and ad group, ad, keyword).

pub mod spend;
