//! Sending batches: `fetch` with a CORS-simple `text/plain` body (no
//! preflight), credentials omitted, and a timeout so a hung request cannot
//! block the queue forever; gzip-compressed by the browser when the outbox
//! says so (`?c=gzip`). Page hides use `sendBeacon` (see [`beacon`]).

use crate::core::outbox::{gzip_url, Outcome, Send, KEEPALIVE_MAX};
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, RequestCredentials, RequestInit, Response};

/// Longest a request may take before it counts as a network error.
const TIMEOUT_MS: u32 = 10_000;

#[wasm_bindgen]
extern "C" {
    /// `AbortSignal.timeout(ms)`: a signal that aborts by itself.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn abort_after(ms: u32) -> Result<AbortSignal, JsValue>;
    /// A promise, for `then` with plain functions.
    type Pending;
    #[wasm_bindgen(method)]
    fn then(p: &Pending, ok: &js_sys::Function, err: &js_sys::Function);
}

/// The loader's compressor (src/browser/describe.js `goaltagDescribe.gzip`),
/// when the browser has `CompressionStream`.
static GZIP: super::Local<core::cell::OnceCell<js_sys::Function>> = super::Local(core::cell::OnceCell::new());

/// Keeps the loader's compressor if this browser can compress; true then
/// (a browser fact the core decides with).
pub fn set_gzip(describe: &JsValue) -> bool {
    let has_stream = web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"CompressionStream".into()).unwrap_or(false));
    let f = js_sys::Reflect::get(describe, &"gzip".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match f {
        Some(f) if has_stream => GZIP.with(|g| g.set(f).is_ok() || g.get().is_some()),
        _ => false,
    }
}

/// POSTs one batch; its outcome goes to [`super::on_outcome`] exactly once,
/// tagged with the boot `generation` that sent it. A batch to compress is
/// compressed first, asynchronously, then sent (plain if that failed).
pub fn post(url: &str, send: Send, generation: u32) {
    let batch = JsValue::from_f64(send.batch as f64);
    let generation = JsValue::from_f64(generation as f64);
    let body = JsValue::from_str(&send.body);
    let gzip = if send.gzip { GZIP.with(|g| g.get().cloned()) } else { None };
    let Some(compressed) = gzip.and_then(|f| f.call1(&JsValue::NULL, &body).ok()) else {
        return fetch(generation, batch, JsValue::from_str(url), body);
    };
    COMPRESSED.with(|f| {
        let f = f.get_or_init(|| Compressed::new(fetch));
        let f: &super::Callback = f.as_ref().unchecked_ref();
        let url = JsValue::from_str(url);
        // Fulfilled: the compressed Blob (or the text, when the browser could
        // not compress). Rejected: the text, bound in, sent plain.
        let ok = f.bind_3(&JsValue::NULL, &generation, &batch, &url);
        let err = f.bind_4(&JsValue::NULL, &generation, &batch, &url, &body);
        compressed.unchecked_ref::<Pending>().then(&ok, &err);
    });
}

/// The one callback every compressed body continues through: generation, batch, URL, body.
type Compressed = Closure<dyn FnMut(JsValue, JsValue, JsValue, JsValue)>;

static COMPRESSED: super::Local<core::cell::OnceCell<Compressed>> = super::Local(core::cell::OnceCell::new());

/// Sends `body`: text as it is to `url`, a compressed Blob to its `c=gzip` URL.
fn fetch(generation: JsValue, batch: JsValue, url: JsValue, body: JsValue) {
    let Some(window) = web_sys::window() else {
        return settle(generation, batch, JsValue::UNDEFINED);
    };
    let url = url.as_string().unwrap_or_default();
    let url = if body.is_string() { url } else { gzip_url(&url) };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Omit);
    // No keepalive: a page's keepalive bodies share 64 KiB, and an ordinary
    // send may be far larger. A page that goes away meanwhile beacons what
    // is in flight (see `Tracker::hide`).
    init.set_body(&body);
    // The browser's own timer aborts the request: no timer of ours to set
    // and clear per request. A browser without AbortSignal.timeout (Safari
    // before 16) sends without one.
    if let Ok(signal) = abort_after(TIMEOUT_MS) {
        init.set_signal(Some(&signal));
    }
    let promise = window.fetch_with_str_and_init(&url, &init);
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
type Settle = Closure<dyn FnMut(JsValue, JsValue, JsValue)>;

static SETTLE: super::Local<core::cell::OnceCell<Settle>> = super::Local(core::cell::OnceCell::new());

fn settle(generation: JsValue, batch: JsValue, resp: JsValue) {
    let outcome = match resp.dyn_into::<Response>() {
        Ok(r) => {
            discard_body(&r);
            // The header as sent: the core reads it.
            let retry_after = r.headers().get("Retry-After").ok().flatten();
            Outcome::answer(r.status(), retry_after.as_deref())
        }
        Err(_) => Outcome::NetworkError,
    };
    let num = |v: JsValue| v.as_f64().unwrap_or(0.0);
    super::on_outcome(num(generation) as u32, num(batch) as u64, outcome);
}

/// The answer's body is never needed, but an unread one keeps holding its
/// request's share of the page's 64 KiB keepalive budget in Chromium: after
/// about 64 KiB of batches every fetch would fail at once. Cancelling the
/// stream gives the share back.
fn discard_body(r: &Response) {
    let Ok(body) = js_sys::Reflect::get(r, &"body".into()) else { return };
    if let Some(cancel) = js_sys::Reflect::get(&body, &"cancel".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
        let _ = cancel.call0(&body);
    }
}

/// Queues `body` with `navigator.sendBeacon` (sent as text/plain, outlives the
/// page), or a keepalive fetch when the beacon is refused. False when neither
/// could be started.
pub fn beacon(url: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    if window.navigator().send_beacon_with_opt_str(url, Some(body)).unwrap_or(false) {
        return true;
    }
    if body.len() > KEEPALIVE_MAX {
        return false;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Omit);
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
    init.set_body(&JsValue::from_str(body));
    let _ = window.fetch_with_str_and_init(url, &init);
    true
}
