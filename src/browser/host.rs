//! The browser as the core's [`Host`]: clock, randomness, page facts,
//! `localStorage` and `RegExp`. Storage is reached only through the core's
//! tracker, which asks consent first.

use crate::core::goals::{Pattern, Patterns};
use crate::core::tracker::{Host, Page};
use crate::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The browser as the core sees it.
#[derive(Default)]
pub struct BrowserHost;

/// The page's address right now: `document.URL` (the same string as
/// `location.href`) on a document looked up once, since a click handler
/// reads it inside the dispatch INP counts.
pub fn href() -> String {
    DOC.get_or_init(|| web_sys::window().and_then(|w| w.document()).map(JsValue::from).unwrap_or_default())
        .unchecked_ref::<Doc>()
        .url()
        .unwrap_or_default()
}

/// The page's title right now.
pub fn title() -> String {
    web_sys::window().and_then(|w| w.document()).map(|d| d.title()).unwrap_or_default()
}

static DOC: super::Local<core::cell::OnceCell<JsValue>> = super::Local(core::cell::OnceCell::new());

#[wasm_bindgen]
extern "C" {
    type Doc;
    #[wasm_bindgen(method, getter, js_name = URL)]
    fn url(this: &Doc) -> Option<String>;
}

/// The clock the core's times are on: ms since the Unix epoch (`Date.now()`).
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Random bytes come from `crypto.getRandomValues`, 256 at a time: one call
/// costs about as much as recording an event, so a pool serves 16 event IDs.
struct Pool {
    bytes: [u8; 256],
    used: usize,
}

static POOL: super::Local<core::cell::RefCell<Pool>> = super::Local(core::cell::RefCell::new(Pool { bytes: [0; 256], used: 256 }));

/// 16 cryptographically random bytes; the core formats them into UUIDs.
pub fn random_bytes() -> [u8; 16] {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.used + 16 > p.bytes.len() {
            if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
                let _ = c.get_random_values_with_u8_array(&mut p.bytes);
            }
            p.used = 0;
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(&p.bytes[p.used..p.used + 16]);
        // Used bytes are wiped: a byte is never handed out twice.
        let at = p.used;
        p.bytes[at..at + 16].fill(0);
        p.used += 16;
        b
    })
}

/// A random number, for the outbox's retry jitter.
pub fn random_u32() -> u32 {
    let b = random_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The loader's `localStorage` helper (src/browser/describe.js
/// `goaltagDescribe.store`): one call per use instead of a binding per
/// storage method. Without it, or where storage throws (sandboxed frames, a
/// visitor who blocks site data), the tag works from memory.
static STORE: super::Local<core::cell::OnceCell<js_sys::Function>> = super::Local(core::cell::OnceCell::new());

/// The loader's Unicode helper (`goaltagDescribe.fold`): NFC and lower
/// case by the browser's tables, for enhanced conversions' normalisation.
static FOLD: super::Local<core::cell::OnceCell<js_sys::Function>> = super::Local(core::cell::OnceCell::new());

/// Keeps the loader's storage and Unicode helpers.
pub fn set_store(describe: &JsValue) {
    for (name, cell) in [("store", &STORE), ("fold", &FOLD)] {
        if let Some(f) = js_sys::Reflect::get(describe, &name.into()).ok().and_then(|f| f.dyn_into().ok()) {
            let _ = cell.set(f);
        }
    }
}

/// `op` (0 read, 1 write, 2 remove, 3 the keys that start with `key`) through the helper.
fn store(op: u32, key: &str, value: &str) -> JsValue {
    STORE.get().and_then(|f| f.call3(&JsValue::NULL, &op.into(), &key.into(), &value.into()).ok()).unwrap_or_default()
}

#[wasm_bindgen]
extern "C" {
    /// The browser's RegExp, bound with `catch` so an invalid pattern is an
    /// error value rather than an exception through the wasm.
    #[wasm_bindgen(js_name = RegExp)]
    type Re;
    #[wasm_bindgen(constructor, js_class = "RegExp", catch)]
    fn new(pattern: &str, flags: &str) -> Result<Re, JsValue>;
    #[wasm_bindgen(method)]
    fn test(this: &Re, s: &str) -> bool;
}

impl Pattern for Re {
    fn is_match(&self, text: &str) -> bool {
        self.test(text)
    }
}

impl Patterns for BrowserHost {
    fn compile(&self, pattern: &str) -> Result<Box<dyn Pattern>, String> {
        Re::new(pattern, "i")
            .map(|r| Box::new(r) as Box<dyn Pattern>)
            .map_err(|e| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default())
    }
}

impl Host for BrowserHost {
    fn now(&self) -> u64 {
        now()
    }
    fn random(&mut self) -> [u8; 16] {
        random_bytes()
    }
    fn page(&self) -> Page {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return Page::default();
        };
        Page { url: href(), referrer: doc.referrer(), title: doc.title() }
    }
    fn url(&self) -> String {
        href()
    }
    fn load(&self, key: &str) -> Option<String> {
        store(0, key, "").as_string()
    }
    fn save(&mut self, key: &str, value: &str) {
        store(1, key, value);
    }
    fn remove(&mut self, key: &str) {
        store(2, key, "");
    }
    fn fold(&self, s: &str, strip_accents: bool) -> String {
        FOLD.get()
            .and_then(|f| f.call2(&JsValue::NULL, &s.into(), &strip_accents.into()).ok())
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    }
    fn keys(&self, prefix: &str) -> Vec<String> {
        let keys = store(3, prefix, "");
        if !keys.is_object() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for k in js_sys::Array::from(&keys).iter() {
            out.extend(k.as_string());
        }
        out
    }
}

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks.request(name, callback)`: an error where the browser
    /// has no Web Locks. The promise it returns rejects only if the page goes
    /// away; nothing to do then.
    #[wasm_bindgen(js_namespace = ["navigator", "locks"], js_name = request, catch)]
    fn lock_request(name: &str, callback: &js_sys::Function) -> Result<JsValue, JsValue>;
}

/// Whether the browser has Web Locks (secure contexts of browsers since
/// Chrome 69, Firefox 96, Safari 15.4).
pub fn has_locks() -> bool {
    web_sys::window().and_then(|w| js_sys::Reflect::get(&w.navigator(), &"locks".into()).ok()).is_some_and(|l| l.is_object())
}

/// Asks for the Web Lock `name`, waiting for it (never `ifAvailable` or
/// `steal`); `callback` runs inside the grant, which lasts until the promise
/// it returns settles.
pub fn request_lock(name: &str, callback: &js_sys::Function) {
    let _ = lock_request(name, callback);
}
