//! Auto-capture: one delegated listener each for clicks and submits on
//! `document` (never one per element), the History API for SPA page views,
//! and `pageshow` for back/forward-cache restores. Handlers read a few
//! attributes and hand the facts to the core, which decides what of them is
//! kept ([`crate::core::capture`]): no layout reads, no storage.

use crate::core::capture::{FormFacts, ACTIONABLE, DATA_PREFIX};
use crate::prelude::*;
use goaltag_wire::{Element as ElementInfo, Form};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, Element, EventTarget, HtmlFormElement};

/// Listeners that share one Rust closure, whatever the kinds of event it is
/// added for (each closure costs its own glue in the download): each kind
/// gets the closure with its own number bound in. Removed when dropped, so a
/// shut-down tag leaves nothing behind on the page.
#[must_use = "the listeners are removed when this is dropped"]
pub struct Listeners {
    f: super::Callback3,
    added: Vec<(EventTarget, &'static str, js_sys::Function)>,
}

impl Listeners {
    /// No listener yet; `f` gets the number each is added with and the event.
    pub fn new(mut f: impl FnMut(u32, web_sys::Event) + 'static) -> Listeners {
        // The shell's one callback shape (see [`super::Callback3`]): the kind is bound in as a number.
        let f = super::Callback3::new(move |kind: JsValue, e: JsValue, _: JsValue| {
            f(kind.as_f64().unwrap_or(f64::from(u32::MAX)) as u32, e.unchecked_into());
            JsValue::UNDEFINED
        });
        Listeners { f, added: Vec::new() }
    }

    /// Listens for `kind` on `target`; the closure gets `id` with each event.
    pub fn add(&mut self, target: &EventTarget, kind: &'static str, id: u32) {
        let f = self.f.as_ref().unchecked_ref::<super::Callback>().bind_1(&JsValue::NULL, &id.into());
        let opts = AddEventListenerOptions::new();
        // Capture phase: the page's own handlers cannot hide the event from us
        // with stopPropagation. Passive: we never delay scrolling or clicks.
        opts.set_capture(true);
        opts.set_passive(true);
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(kind, &f, &opts);
        self.added.push((target.clone(), kind, f));
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for (target, kind, f) in &self.added {
            let _ = target.remove_event_listener_with_callback_and_bool(kind, f, true);
        }
    }
}

/// A JS function standing in for `pushState` or `replaceState`.
type Wrapper = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>;

/// Wraps `history.pushState` / `replaceState` so SPA navigations are seen,
/// and puts the originals back when dropped.
#[must_use = "the originals are put back when this is dropped"]
pub struct HistoryHook {
    history: JsValue,
    originals: Vec<(&'static str, JsValue)>,
    _wrappers: Vec<Wrapper>,
}

impl HistoryHook {
    /// Wraps both, calling `on_change` after each call of the page's; None
    /// without a window or a History API.
    pub fn install(on_change: impl Fn() + Clone + 'static) -> Option<HistoryHook> {
        let window = web_sys::window()?;
        let history: JsValue = window.history().ok()?.into();
        let mut originals = Vec::new();
        let mut wrappers = Vec::new();
        for name in ["pushState", "replaceState"] {
            let original = js_sys::Reflect::get(&history, &name.into()).ok()?;
            let f: js_sys::Function = original.clone().dyn_into().ok()?;
            let h = history.clone();
            let notify = on_change.clone();
            let wrapper =
                Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>::new(move |state: JsValue, title: JsValue, url: JsValue| {
                    // The page's call must behave exactly as before, errors included.
                    let args =
                        if url.is_undefined() { js_sys::Array::of2(&state, &title) } else { js_sys::Array::of3(&state, &title, &url) };
                    let result = js_sys::Reflect::apply(&f, &h, &args);
                    notify();
                    match result {
                        Ok(v) => v,
                        Err(e) => wasm_bindgen::throw_val(e),
                    }
                });
            let _ = js_sys::Reflect::set(&history, &name.into(), wrapper.as_ref());
            originals.push((name, original));
            wrappers.push(wrapper);
        }
        Some(HistoryHook { history, originals, _wrappers: wrappers })
    }
}

impl Drop for HistoryHook {
    fn drop(&mut self) {
        for (name, f) in &self.originals {
            let _ = js_sys::Reflect::set(&self.history, &(*name).into(), f);
        }
    }
}

/// Describes the clicked element: the nearest actionable ancestor, its tag,
/// id, classes, `data-goaltag-*` attributes, link target and a little text.
/// Also returns the click's own target, for the goals' selectors. The DOM is
/// read by the loader's `goaltagDescribe` in one call (this runs inside the
/// click's dispatch, which INP counts); what is kept of it is decided by
/// [`crate::core::capture::from_description`].
pub fn describe_click(event: &web_sys::Event) -> Option<(Element, ElementInfo)> {
    let target = event.target()?;
    let text = HELPER.with(|h| {
        let h = h.get()?;
        h.describe.call3(&JsValue::NULL, &target, &h.actionable, &h.prefix).ok()?.as_string()
    })?;
    Some((target.unchecked_into(), crate::core::capture::from_description(&text)?))
}

struct Helper {
    describe: js_sys::Function,
    /// [`ACTIONABLE`] and [`DATA_PREFIX`] as JS strings, made once.
    actionable: JsValue,
    prefix: JsValue,
}

static HELPER: super::Local<core::cell::OnceCell<Helper>> = super::Local(core::cell::OnceCell::new());

/// Keeps the loader's click reader (the first boot's; every boot passes the same).
pub fn set_describe(f: JsValue) {
    if let Ok(describe) = f.dyn_into::<js_sys::Function>() {
        let _ = HELPER.set(Helper { describe, actionable: JsValue::from_str(ACTIONABLE), prefix: JsValue::from_str(DATA_PREFIX) });
    }
}

/// Reads a submitted form's facts, never a field's value; what is kept of
/// them is decided by [`crate::core::capture::form`].
pub fn describe_form(event: &web_sys::Event) -> Option<(Element, Form)> {
    let form: HtmlFormElement = event.target()?.dyn_into().ok()?;
    let info = crate::core::capture::form(FormFacts {
        id: form.id(),
        name: form.get_attribute("name"),
        has_action: form.get_attribute("action").is_some(),
        action: form.action(),
        method: form.method(),
        fields: form.elements().length(),
    });
    Some((form.into(), info))
}

/// Indices of the selectors that `el` or an ancestor matches (`Element.closest`).
/// A selector the browser rejects matches nothing; it is reported once.
pub fn matching(el: &Element, selectors: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, sel) in selectors.iter().enumerate() {
        match el.closest(sel) {
            Ok(Some(_)) => out.push(i),
            Ok(None) => {}
            Err(_) => warn_once(sel),
        }
    }
    out
}

fn warn_once(selector: &str) {
    static WARNED: super::Local<core::cell::RefCell<Vec<String>>> = super::Local(core::cell::RefCell::new(Vec::new()));
    WARNED.with(|w| {
        let mut w = w.borrow_mut();
        if !w.iter().any(|s| s == selector) {
            w.push(selector.to_string());
            web_sys::console::error_1(&JsValue::from_str(&crate::core::messages::line::bad_selector(selector)));
        }
    });
}
