//! JS values into the core's [`Val`]. A direct walk with js-sys instead of
//! serde-wasm-bindgen: it does the same job here in a fraction of the bytes.

use crate::core::val::Val;
use js_sys::{Array, Object};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

/// Deep enough for any config; stops a cyclic object from recursing forever.
const MAX_DEPTH: u32 = 8;

/// Functions, symbols and anything deeper than [`MAX_DEPTH`] become null,
/// which validation then reports for the field that needed a value.
pub fn to_val(v: &JsValue) -> Val {
    walk(v, 0)
}

fn walk(v: &JsValue, depth: u32) -> Val {
    // Each test is a call into JS: the most common kinds of argument first.
    if let Some(s) = v.as_string() {
        Val::Str(s)
    } else if let Some(n) = v.as_f64() {
        Val::Num(n)
    } else if v.is_undefined() {
        Val::Null
    } else if let Some(b) = v.as_bool() {
        Val::Bool(b)
    } else if depth >= MAX_DEPTH || v.is_function() || !v.is_object() {
        Val::Null
    } else if Array::is_array(v) {
        Val::List(Array::from(v).iter().map(|x| walk(&x, depth + 1)).collect())
    } else {
        let obj: &Object = v.unchecked_ref();
        let entries = Object::entries(obj);
        Val::Map(
            entries
                .iter()
                .filter_map(|pair| {
                    let pair: Array = pair.unchecked_into();
                    Some((pair.get(0).as_string()?, walk(&pair.get(1), depth + 1)))
                })
                .collect(),
        )
    }
}
