//! `setTimeout` as a value that cancels the timeout when dropped: the part of
//! gloo-timers the shell used, without its std dependency (see `std` in
//! Cargo.toml).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: JsValue);
}

/// A scheduled callback; dropping it before it fires cancels it.
pub struct Timeout {
    id: Option<JsValue>,
    _closure: Closure<dyn FnMut()>,
}

impl Timeout {
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Timeout {
        let closure = Closure::once(f);
        let id = set_timeout(closure.as_ref().unchecked_ref(), ms as i32);
        Timeout { id: Some(id), _closure: closure }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            clear_timeout(id);
        }
    }
}
