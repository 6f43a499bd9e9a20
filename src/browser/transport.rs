//! Sending batches: `fetch` with a CORS-simple `text/plain` body (no
//! preflight), credentials omitted, and a timeout so a hung request cannot
//! block the queue forever.

use crate::core::outbox::{Outcome, Send, KEEPALIVE_MAX};
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

/// POSTs one batch; its outcome goes to [`super::on_outcome`] exactly once,
/// tagged with the boot `generation` that sent it.
pub fn post(url: &str, send: Send, generation: u32) {
    let batch = JsValue::from_f64(send.batch as f64);
    let generation = JsValue::from_f64(generation as f64);
    let Some(window) = web_sys::window() else {
        return settle(generation, batch, JsValue::UNDEFINED);
    };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Omit);
    // Lets the request outlive the page if the user navigates away meanwhile.
    // (web-sys marks RequestInit.keepalive unstable; it is a plain dictionary field.)
    let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &(send.body.len() <= KEEPALIVE_MAX).into());
    init.set_body(&JsValue::from_str(&send.body));
    // The browser's own timer aborts the request: no timer of ours to set
    // and clear per request. A browser without AbortSignal.timeout (Safari
    // before 16) sends without one.
    if let Ok(signal) = abort_after(TIMEOUT_MS) {
        init.set_signal(Some(&signal));
    }
    let promise = window.fetch_with_str_and_init(url, &init);
    // One callback for every request and both ends of the promise, its
    // batch bound in: no closure made per request. A rejection's error lands
    // after the bound undefined, so it reads as a network error.
    SETTLE.with(|f| {
        let f = f.get_or_init(|| Settle::new(settle));
        let f: &super::Callback = f.as_ref().unchecked_ref();
        promise.unchecked_ref::<Pending>().then(&f.bind_2(&JsValue::NULL, &generation, &batch), &f.bind_3(&JsValue::NULL, &generation, &batch, &JsValue::UNDEFINED));
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
