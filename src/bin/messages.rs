//! Prints `goaltag.messages.json`, the texts of the tag's console messages
//! by code (see `src/core/messages.rs`). build.sh writes it beside the tag.

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    print!("{}", goaltag::core::messages::json());
}
