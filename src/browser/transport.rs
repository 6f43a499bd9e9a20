//! Sending batches: `fetch` with a CORS-simple `text/plain` body (no
//! preflight), credentials omitted, and the timeout the outbox gives with
//! each request (its policy's), so a hung request cannot block the queue
//! forever; gzip-compressed by the browser when the outbox says so
//! (`?c=gzip`). Page hides use `sendBeacon` (see [`beacon`]).

use crate::core::outbox::{gzip_url, Outcome, Send};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// A promise, for `then` with plain functions.
    type Pending;
    #[wasm_bindgen(method)]
    fn then(p: &Pending, ok: &js_sys::Function, err: &js_sys::Function);
}

/// The loader's transport helpers (src/browser/describe.js
/// `goaltagDescribe.send` and `.beacon`): one call from the wasm per request,
/// instead of a binding per fetch option, header and response field.
static SEND: super::Local<core::cell::OnceCell<(js_sys::Function, js_sys::Function)>> = super::Local(core::cell::OnceCell::new());

/// Keeps the loader's transport helpers, and tells whether this browser can
/// compress (`CompressionStream`; a browser fact the core decides with).
pub fn set_gzip(describe: &JsValue) -> bool {
    let has_stream = web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"CompressionStream".into()).unwrap_or(false));
    let f = |k: &str| js_sys::Reflect::get(describe, &k.into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let (Some(send), Some(beacon)) = (f("send"), f("beacon")) {
        let _ = SEND.set((send, beacon));
    }
    has_stream && f("gzip").is_some()
}

/// POSTs one batch; its outcome goes to [`super::on_outcome`] exactly once,
/// tagged with the boot `generation` that sent it. A batch the outbox
/// compresses goes to its `c=gzip` URL, compressed by the loader's helper
/// first (plain to the plain URL if the browser could not compress).
pub fn post(url: &str, send: Send, generation: u32) {
    let batch = JsValue::from_f64(send.batch as f64);
    let generation = JsValue::from_f64(generation as f64);
    let Some((f, _)) = SEND.get() else {
        settle(generation, batch, JsValue::UNDEFINED);
        return;
    };
    let gz = if send.gzip { JsValue::from_str(&gzip_url(url)) } else { JsValue::UNDEFINED };
    // A body to compress goes as its UTF-8 bytes (copied out of the wasm's
    // memory), not as text the helper would have to encode again.
    let body: JsValue = if send.gzip { js_sys::Uint8Array::from(send.body.as_bytes()).into() } else { send.body.as_str().into() };
    let args = js_sys::Array::of4(&url.into(), &gz, &body, &(send.timeout_ms as f64).into());
    let Ok(promise) = f.apply(&JsValue::NULL, &args) else {
        settle(generation, batch, JsValue::UNDEFINED);
        return;
    };
    // One callback for every request and both ends of the promise, its
    // batch bound in: no closure made per request. A rejection's error lands
    // after the bound undefined, so it reads as a network error.
    SETTLE.with(|f| {
        let f = f.get_or_init(|| Settle::new(settle));
        let f: &super::Callback = f.as_ref().unchecked_ref();
        promise
            .unchecked_ref::<Pending>()
            .then(&f.bind_2(&JsValue::NULL, &generation, &batch), &f.bind_3(&JsValue::NULL, &generation, &batch, &JsValue::UNDEFINED));
    });
}

/// The one callback every request settles through: generation, batch, answer.
type Settle = super::Callback3;

static SETTLE: super::Local<core::cell::OnceCell<Settle>> = super::Local(core::cell::OnceCell::new());

/// `answer` is the helper's `[status, Retry-After, Date.parse(Retry-After)]`
/// (the header as sent and as the browser reads a date: the core decides
/// what they mean), or undefined for a network error.
fn settle(generation: JsValue, batch: JsValue, answer: JsValue) -> JsValue {
    let outcome = match js_sys::Reflect::get(&answer, &0.into()).ok().and_then(|s| s.as_f64()) {
        Some(status) => {
            let retry_after = js_sys::Reflect::get(&answer, &1.into()).ok().and_then(|h| h.as_string());
            // NaN for anything but a date; a date before 1970 is long past.
            let date = js_sys::Reflect::get(&answer, &2.into()).ok().and_then(|d| d.as_f64()).filter(|d| *d >= 0.0);
            Outcome::answer(status as u16, retry_after.as_deref(), date.map(|d| d as u64), super::host::now())
        }
        None => Outcome::NetworkError,
    };
    let num = |v: JsValue| v.as_f64().unwrap_or(0.0);
    super::on_outcome(num(generation) as u32, num(batch) as u64, outcome);
    JsValue::UNDEFINED
}

/// Queues `body` with `navigator.sendBeacon` (sent as text/plain, outlives the
/// page), or a keepalive fetch when the beacon is refused and the core says
/// the body may go that way (`keepalive`). False when neither could be started.
pub fn beacon(url: &str, body: &str, keepalive: bool) -> bool {
    let Some((_, f)) = SEND.get() else { return false };
    let fits = JsValue::from_bool(keepalive);
    f.call3(&JsValue::NULL, &url.into(), &body.into(), &fits).ok().and_then(|b| b.as_bool()) == Some(true)
}
