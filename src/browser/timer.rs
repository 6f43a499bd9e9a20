//! `setTimeout` as a value that cancels the timeout when dropped: the part of
//! gloo-timers the shell needs, without its std dependency (see `std` in
//! Cargo.toml), and with one callback re-armed rather than one made per timeout.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: JsValue);
}

/// The shell's one wake-up timer: a single callback made once and re-armed
/// with `setTimeout` as often as needed, so arming it (after every call and
/// click) allocates nothing and makes no new JS function.
#[must_use = "the timer is cleared when this is dropped"]
pub struct Wake {
    id: Option<JsValue>,
    f: crate::browser::Callback3,
}

impl Wake {
    pub fn new(mut f: impl FnMut() + 'static) -> Wake {
        // The shell's one callback shape (see [`crate::browser::Callback3`]).
        let f = crate::browser::Callback3::new(move |_: JsValue, _: JsValue, _: JsValue| {
            f();
            JsValue::UNDEFINED
        });
        Wake { id: None, f }
    }

    /// Fires the callback in `ms`, instead of whenever it was due before.
    pub fn set(&mut self, ms: u32) {
        self.clear();
        self.id = Some(set_timeout(self.f.as_ref().unchecked_ref(), ms as i32));
    }

    pub fn clear(&mut self) {
        if let Some(id) = self.id.take() {
            clear_timeout(id);
        }
    }

    /// The callback ran: there is nothing left to clear.
    pub fn fired(&mut self) {
        self.id = None;
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        self.clear();
    }
}
