//! Consent adapters (`goaltag('consent', 'source', …)`): listen to the page's
//! consent banner and feed its answers back as `goaltag('consent', 'update',
//! …)` calls. What a TCF purpose or a banner category means is decided in the
//! core ([`consent::from_tcf`], [`consent::from_categories`], [`consent::Gcm`]);
//! here are only the callbacks and the reading of the banner's cookie.

use super::capture::Listeners;
use super::values::to_val;
use crate::core::consent::{self, CategoryMap, Partial, Source};
use crate::core::error::ConfigError;
use crate::core::messages::Msg;
use crate::core::val::Val;
use crate::prelude::*;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Installs the adapter for `source`. Event listeners go to `listeners`, so
/// they are removed with the shell.
pub fn install(source: &Source, listeners: &mut Vec<Listeners>) {
    match source {
        Source::Tcf => tcf(),
        Source::Gcm => gcm(),
        Source::Cookie { name, categories } => cookie(name, categories, listeners),
    }
}

/// An answer goes in like the page's own call: when the shell is busy (a CMP
/// calling back at once, inside the `source` call) it is deferred, not lost.
fn answer(p: Option<Partial>) {
    if let Some(p) = p {
        super::call(consent::update_args(&p));
    }
}

/// IAB TCF v2.2: `__tcfapi('addEventListener', 2, cb)`; the CMP calls `cb`
/// with its tcData now and on every change for the life of the page.
fn tcf() {
    let api = web_sys::window().and_then(|w| Reflect::get(&w, &"__tcfapi".into()).ok()).and_then(|f| f.dyn_into::<Function>().ok());
    let Some(api) = api else {
        return super::report(&[ConfigError::msg(
            "goaltag('consent', 'source', 'tcf')",
            Msg::TcfApi,
            "no __tcfapi on this page, so consent stays on its default",
        )]);
    };
    let generation = super::GENERATION.get();
    let cb = super::Callback3::new(move |tc_data: JsValue, success: JsValue, _: JsValue| {
        if generation == super::GENERATION.get() && success.as_bool() != Some(false) {
            answer(consent::from_tcf(&to_val(&tc_data)));
        }
        JsValue::UNDEFINED
    });
    let _ = api.call3(&JsValue::NULL, &"addEventListener".into(), &2.into(), cb.as_ref());
    // The CMP keeps the callback for the life of the page; so must we.
    cb.forget();
}

/// The loader's `window.dataLayer` follower: `goaltagDescribe.gtag` in
/// src/browser/describe.js, kept at boot.
static GTAG: super::Local<core::cell::OnceCell<Function>> = super::Local(core::cell::OnceCell::new());
/// The boot that follows the `dataLayer` already: a second `source` call adds no second follower.
static FOLLOWING: super::Local<core::cell::Cell<u32>> = super::Local(core::cell::Cell::new(0));

/// Keeps the loader's helpers that adapters use (the first boot's; every boot passes the same).
pub fn set_helpers(describe: &JsValue) {
    if let Some(f) = Reflect::get(describe, &"gtag".into()).ok().and_then(|f| f.dyn_into::<Function>().ok()) {
        let _ = GTAG.set(f);
    }
}

/// Google Consent Mode: the `gtag('consent', 'default' | 'update', {...})`
/// commands on `window.dataLayer`, those already there in order, then each
/// one pushed later. The loader's helper (src/browser/describe.js) creates
/// the array if missing and wraps its `push`, calling through to the push
/// that was there (Google Tag Manager's, say); a wrapper added later calls
/// through to ours. A `dataLayer` that is not an array is left alone,
/// reported. What a command means is decided in the core ([`consent::Gcm`]).
fn gcm() {
    let generation = super::GENERATION.get();
    let Some(follow) = GTAG.with(|g| g.get().cloned()) else { return };
    if FOLLOWING.get() == generation {
        return;
    }
    let mut gcm = consent::Gcm::default();
    let cb = super::Callback3::new(move |args: JsValue, _: JsValue, _: JsValue| {
        if generation == super::GENERATION.get() {
            let c = gcm.read(&to_val(&args));
            if let Some(w) = c.warning {
                web_sys::console::warn_1(&w.into());
            }
            super::report(&c.errors);
            if let Some(call) = c.call {
                super::call(call);
            }
        }
        JsValue::UNDEFINED
    });
    if follow.call1(&JsValue::NULL, cb.as_ref()).ok().and_then(|r| r.as_bool()) != Some(true) {
        return super::report(&[ConfigError::msg("goaltag('consent', 'source', 'gcm')", Msg::DataLayer, "something else")]);
    }
    FOLLOWING.set(generation);
    // The wrapper stays on the page's array for the life of the page; so must the callback.
    cb.forget();
}

/// orestbida/cookieconsent v3: its cookie now (a returning visitor's
/// choice), then its `cc:onConsent` / `cc:onChange` window events, whose
/// `detail.cookie` is the same JSON.
fn cookie(name: &str, categories: &CategoryMap, listeners: &mut Vec<Listeners>) {
    let decide = |v: &Val, map: &CategoryMap| consent::cookie_categories(v).map(|c| consent::from_categories(&c, map));
    answer(decide(&read_cookie(name), categories));
    let Some(window) = web_sys::window() else { return };
    let name = name.to_owned();
    let map = categories.clone();
    let mut on = Listeners::new(move |_, e| {
        let detail = Reflect::get(&e, &"detail".into()).unwrap_or(JsValue::UNDEFINED);
        let from_event = Reflect::get(&detail, &"cookie".into()).map(|c| to_val(&c)).unwrap_or(Val::Null);
        // A banner that dispatches without the detail has written the cookie first.
        let v = if consent::cookie_categories(&from_event).is_some() { from_event } else { read_cookie(&name) };
        answer(decide(&v, &map));
    });
    for kind in ["cc:onConsent", "cc:onChange"] {
        on.add(window.as_ref(), kind, 0);
    }
    listeners.push(on);
}

/// The banner cookie as JSON (`encodeURIComponent(JSON.stringify(…))`);
/// null when absent or unreadable, which leaves consent on its default.
fn read_cookie(name: &str) -> Val {
    let all = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| Reflect::get(&d, &"cookie".into()).ok())
        .and_then(|c| c.as_string())
        .unwrap_or_default();
    consent::cookie_value(&all, name)
        .and_then(|raw| js_sys::decode_uri_component(raw).ok())
        .and_then(|text| js_sys::JSON::parse(&String::from(text)).ok())
        .map_or(Val::Null, |v| to_val(&v))
}
