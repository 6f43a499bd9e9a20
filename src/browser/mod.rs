//! The browser shell: the only code that touches the DOM, timers, the network
//! and storage. It turns browser facts into core inputs and executes what the
//! core decides: whether and what to record, send, store, decorate or print
//! is [`crate::core`]'s (texts in [`crate::core::messages`]); here is only how.

#![deny(missing_docs)]

mod adapters;
mod capture;
mod host;
mod timer;
mod transport;
mod values;

use crate::core::command;
use crate::core::error::ConfigError;
use crate::core::tracker::{At, Tracker};
use crate::core::val::Val;
use crate::prelude::*;
use core::cell::{Cell, RefCell};
use host::BrowserHost;
use timer::Wake;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// A JS function, for `bind`: one Rust closure serves many callers, each
    /// with its own arguments bound in, instead of a closure (and its glue) each.
    type Callback;
    /// `f.bind(null, a)`
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_1(f: &Callback, this: &JsValue, a: &JsValue) -> js_sys::Function;
    /// `f.bind(null, a, b)`
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_2(f: &Callback, this: &JsValue, a: &JsValue, b: &JsValue) -> js_sys::Function;
    /// `f.bind(null, a, b, c)`
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_3(f: &Callback, this: &JsValue, a: &JsValue, b: &JsValue, c: &JsValue) -> js_sys::Function;
    /// `f.bind(null, a, b, c, d)`
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_4(f: &Callback, this: &JsValue, a: &JsValue, b: &JsValue, c: &JsValue, d: &JsValue) -> js_sys::Function;
}

/// The one shape of the shell's callbacks with arguments (requests settling,
/// Web Lock grants, the History API hook, the consent adapters): each
/// distinct closure signature costs its own wasm-bindgen glue, so callbacks
/// that need fewer arguments ignore the rest and return undefined.
pub(crate) type Callback3 = Closure<dyn FnMut(JsValue, JsValue, JsValue) -> JsValue>;

/// `window.goaltag` once the tag runs: every call with up to four arguments.
type Api = Closure<dyn Fn(JsValue, JsValue, JsValue, JsValue)>;

/// Everything the running tag holds between calls.
struct Shell {
    tracker: Tracker,
    host: BrowserHost,
    /// When the one pending wake-up fires; replaced, never stacked.
    timer: Option<u64>,
    wake: Wake,
    /// Auto-capture listeners and the History API hook; dropping them removes them.
    listeners: Vec<capture::Listeners>,
    history: Option<capture::HistoryHook>,
    /// The outbox key this page holds a Web Lock for, once it has one.
    locked: String,
    /// Clicks, submits and SPA navigations seen but not yet recorded (see [`on_input`]).
    inputs: Vec<Input>,
    /// The loader's list of clicks, submits and navigations made before
    /// [`listen`] (`goaltagDescribe.early`), read there.
    early: JsValue,
    /// Keeps the `window.goaltag` closure alive.
    _api: Option<Api>,
}

/// A click or submit as the handler saw it: the element's description and
/// the goal selectors it matched (the DOM may change right after), with the
/// time and URL at which it happened.
struct Input {
    at: At,
    what: Seen,
}

enum Seen {
    Click(goaltag_wire::Element, Vec<usize>),
    Submit(goaltag_wire::Form, Vec<usize>),
    /// An SPA navigation: recorded a task later too, which also gives the
    /// router the rest of its task to set the new page's title. The title
    /// is kept here when another navigation follows before the recording.
    Navigate(Option<String>),
}

static SHELL: Local<RefCell<Option<Shell>>> = Local(RefCell::new(None));
/// Calls that arrived while the shell was busy (a console hook or a
/// listener calling back into the tag); run when the shell is free.
static DEFERRED: Local<RefCell<Vec<Vec<Val>>>> = Local(RefCell::new(Vec::new()));
static OFF: Local<Cell<bool>> = Local(Cell::new(false));
/// The "calls are ignored" console line was printed.
static DROPPED_SAID: Local<Cell<bool>> = Local(Cell::new(false));
/// Bumped by every boot, so a request or timer started by an earlier
/// instance (tests boot many) can never touch a later one.
static GENERATION: Local<Cell<u32>> = Local(Cell::new(0));

/// What `thread_local!` gave on wasm (which has one thread), without std:
/// a static with the same `with` and, through `Deref`, `get`/`set`.
pub(crate) struct Local<T>(pub(crate) T);

// SAFETY: wasm32 without the atomics feature has exactly one thread.
#[cfg(not(target_feature = "atomics"))]
unsafe impl<T> Sync for Local<T> {}

impl<T> Local<T> {
    pub(crate) fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0)
    }
}

impl<T> core::ops::Deref for Local<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Starts the tag in one go: the four steps of start-up ([`prepare`],
/// [`begin`], [`run`], [`listen`]) in a row. The loader runs each step in a
/// task of its own instead (src/browser/start.js), so that none holds the
/// page's main thread for long (issue 28: no task over a frame); tests and
/// any embedder that wants the tag running at once call this.
#[wasm_bindgen]
pub fn boot(attrs: JsValue, file_config: JsValue, describe: JsValue) {
    prepare(attrs.clone(), file_config, describe);
    begin(attrs);
    run();
    listen();
}

/// Which step of start-up ran last: each runs once, after the one before
/// it ([`prepare`] starts over). A step out of turn does nothing.
static STEP: Local<Cell<u8>> = Local(Cell::new(0));

/// Whether step `n` may run now (the one before it ran, the tag is on);
/// if so it counts as run.
fn step(n: u8) -> bool {
    if OFF.get() || STEP.get() != n - 1 {
        return false;
    }
    STEP.set(n);
    true
}

/// Start-up, step 1: the loader's helpers, the script tag's `data-*`
/// attributes and the configuration file. Nothing is stored, recorded,
/// listened for or replaced yet: calls still go to the stub's queue.
///
/// `file_config` is the JSON of the `data-config` file when the script tag
/// names one: the loader fetches it beside the wasm, so goals are known
/// before the first page view. `describe` is the loader's click reader
/// (src/browser/describe.js); without it clicks are not captured.
#[wasm_bindgen]
pub fn prepare(attrs: JsValue, file_config: JsValue, describe: JsValue) {
    install_panic_hook();
    STEP.set(0);
    if !step(1) {
        return;
    }
    adapters::set_helpers(&describe);
    host::set_store(&describe);
    if let Ok(f) = js_sys::Reflect::get(&describe, &"explain".into()).and_then(|f| f.dyn_into()) {
        let _ = EXPLAIN.set(f);
    }
    let gzip = transport::set_gzip(&describe);
    let early = js_sys::Reflect::get(&describe, &"early".into()).unwrap_or_default();
    let loaded = js_sys::Reflect::get(&describe, &"loaded".into()).unwrap_or_default();
    capture::set_describe(describe);
    GENERATION.set(GENERATION.get() + 1);
    let mut shell = Shell {
        tracker: Tracker::new(),
        host: BrowserHost,
        timer: None,
        wake: wake(),
        listeners: Vec::new(),
        history: None,
        locked: String::new(),
        inputs: Vec::new(),
        early,
        _api: None,
    };
    shell.tracker.set_gzip(gzip);
    // When the loader script ran, and the page's URL then (start.js): the
    // load's page view takes them.
    shell.tracker.loading(loaded.dyn_into::<js_sys::Array>().ok().map(|l| kept_at(&l, 0)));
    // Attributes are configuration with string values (data-site, …).
    let attrs = values::to_val(&attrs);
    let mut from_attrs = Vec::new();
    for key in crate::core::config::ATTRIBUTES {
        if let Some(v) = attrs.get(key) {
            from_attrs.push((key.to_string(), v.clone()));
        }
    }
    report(&shell.tracker.configure(&Val::Map(from_attrs), &mut shell.host));
    if !file_config.is_undefined() && !file_config.is_null() {
        report(&shell.tracker.configure(&values::to_val(&file_config), &mut shell.host));
    }
    SHELL.with(|s| *s.borrow_mut() = Some(shell));
}

/// Start-up, step 2: consent (the browser's privacy signals, what storage
/// holds from earlier pages, the `data-consent` attribute of `attrs`). The
/// first storage access of a page is the slow one, so it has a task of its own.
#[wasm_bindgen]
pub fn begin(attrs: JsValue) {
    if !step(2) {
        return;
    }
    // Global Privacy Control and Do Not Track are browser facts the core's consent rules use.
    let nav = web_sys::window().map(|w| w.navigator());
    let signal = |name: &str| nav.as_ref().and_then(|n| js_sys::Reflect::get(n, &name.into()).ok());
    let gpc = signal("globalPrivacyControl").and_then(|v| v.as_bool()) == Some(true);
    let dnt = signal("doNotTrack").and_then(|v| v.as_string()).as_deref() == Some("1");
    let consent = js_sys::Reflect::get(&attrs, &"consent".into()).ok().filter(|v| !v.is_undefined()).map(|v| values::to_val(&v));
    peek_shell(|shell| {
        shell.tracker.web_locks(host::has_locks());
        shell.tracker.begin(&mut shell.host, crate::core::consent::Env { gpc, dnt, ..Default::default() });
        if let Some(v) = &consent {
            match crate::core::consent::parse_data_consent(v) {
                Ok(p) => shell.tracker.consent_default(&mut shell.host, p, None),
                Err(e) => report(&[e]),
            }
        }
    });
}

/// Runs the calls the stub `window.goaltag` queued (`arguments` objects),
/// in order, and empties its queue: calls made after this wait there for
/// the next drain.
fn drain(window: &web_sys::Window) {
    let stub = js_sys::Reflect::get(window, &"goaltag".into()).unwrap_or(JsValue::UNDEFINED);
    let queue = js_sys::Reflect::get(&stub, &"q".into()).unwrap_or(JsValue::UNDEFINED);
    if queue.is_undefined() || queue.is_null() {
        return;
    }
    // A fresh queue, for a stub that pushes to `q` without making one.
    let _ = js_sys::Reflect::set(&stub, &"q".into(), &js_sys::Array::new());
    for args in js_sys::Array::from(&queue).iter() {
        call(js_sys::Array::from(&args).iter().map(|a| values::to_val(&a)).collect());
    }
}

/// Start-up, step 3: the calls queued so far, and the page view (before the
/// first queued event, else after them all: [`Tracker::loading`]).
#[wasm_bindgen]
pub fn run() {
    if !step(3) {
        return;
    }
    drain(&web_sys::window().expect("a window"));
    with_shell(|s| {
        if let Some(missing) = s.tracker.start(&mut s.host) {
            report(&[missing]);
        }
    });
}

/// Start-up, step 4: the calls queued since [`run`], then the listeners,
/// and the stub replaced so later calls go straight in: the last drain and
/// the replacement share this task, so no call can fall between them.
#[wasm_bindgen]
pub fn listen() {
    if !step(4) {
        return;
    }
    let window = web_sys::window().expect("a window");
    drain(&window);
    let early = with_shell(|s| {
        install_capture(s);
        s.tracker.visibility(&mut s.host, visible());
        // This page's Web Lock at once; sending, like every send, waits for
        // a task of its own: the page's own start-up work is not held up by
        // the tag's first request. The timer is set for when the core says
        // something is due (the page view's batch: the outbox's delay), not
        // for a task now that would only set it.
        next(s, host::now());
        core::mem::take(&mut s.early)
    });
    // The clicks, submits and navigations the loader kept while the tag was
    // starting (src/browser/start.js: each event, or null for a History API
    // call, its time and the page's address then), as if the listeners just
    // installed had seen them then; the elements are described now. A link
    // such a click followed was not decorated (`url_passthrough`): the
    // browser had followed it already. A navigation's page view takes the
    // page's title now.
    if let Some(early) = early {
        replay(early);
    }
    let api = Api::new(|a: JsValue, b: JsValue, c: JsValue, d: JsValue| {
        call([a, b, c, d].iter().map(values::to_val).collect());
    });
    let _ = js_sys::Reflect::set(&window, &"goaltag".into(), api.as_ref());
    with_shell(|s| s._api = Some(api));
}

/// See [`listen`]: the loader's `early` list, replayed (whether a
/// navigation is a page view is the core's to say: [`Tracker::navigated`]).
fn replay(early: JsValue) {
    let Ok(list) = early.dyn_into::<js_sys::Array>() else { return };
    for entry in list.iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let e = entry.get(0);
        let at = kept_at(&entry, 1);
        let kind = js_sys::Reflect::get(&e, &"type".into()).ok().and_then(|t| t.as_string()).unwrap_or_default();
        match kind.as_str() {
            "click" | "submit" => clicked(kind == "submit", e.unchecked_ref(), at),
            _ => navigated(at),
        }
    }
}

/// The time and address start.js kept at `list[i]` and `list[i + 1]`.
fn kept_at(list: &js_sys::Array, i: u32) -> At {
    At { ms: list.get(i).as_f64().unwrap_or_default() as u64, url: list.get(i + 1).as_string().unwrap_or_default() }
}

/// Runs `f` on the shell from a browser callback, then sends what is due.
fn on_fact(f: impl FnOnce(&mut Shell)) {
    with_shell(|s| {
        f(s);
        pump(s);
    });
}

/// The user's own input (clicks, submits): the handler, which INP counts,
/// only reads what the DOM will not keep (the element, the matched selectors,
/// the time and URL) and leaves recording and sending to a task of its own
/// (see [`pump_soon`]). Every other entry into the shell records pending
/// inputs first, so order holds and a page hide beacons them.
fn on_input(at: At, what: impl FnOnce(&mut Shell) -> Seen) {
    peek_shell(|s| {
        let now = at.ms;
        let what = what(s);
        s.inputs.push(Input { at, what });
        pump_soon(s, now);
    });
}

/// Records the inputs the handlers left, each at its own time and URL.
fn record_inputs(s: &mut Shell) {
    for Input { at, what } in core::mem::take(&mut s.inputs) {
        match what {
            Seen::Click(info, matched) => s.tracker.click(&mut s.host, at, info, &matched),
            Seen::Submit(info, matched) => s.tracker.submit(&mut s.host, at, info, &matched),
            Seen::Navigate(title) => s.tracker.navigated(&mut s.host, at, title),
        }
    }
}

fn install_capture(s: &mut Shell) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(document) = window.document() else {
        return;
    };
    let (win, doc): (&web_sys::EventTarget, &web_sys::EventTarget) = (window.as_ref(), document.as_ref());
    let mut on = capture::Listeners::new(on_event);
    on.add(doc, "click", CLICK);
    on.add(doc, "submit", SUBMIT);
    if s.tracker.config.url_passthrough {
        on.add(doc, "auxclick", AUXCLICK);
    }
    if s.tracker.config.spa {
        s.history = capture::HistoryHook::install(|| navigated(here()));
        on.add(win, "popstate", NAVIGATE);
        if s.tracker.config.hash_routing {
            on.add(win, "hashchange", NAVIGATE);
        }
    }
    on.add(win, "pageshow", PAGESHOW);
    on.add(win, "pagehide", PAGEHIDE);
    on.add(win, "online", ONLINE);
    on.add(win, "offline", OFFLINE);
    on.add(win, "storage", STORAGE);
    on.add(doc, "visibilitychange", VISIBILITY);
    s.listeners.push(on);
    if js_sys::Reflect::get(&window.navigator(), &"onLine".into()).ok().and_then(|v| v.as_bool()) == Some(false) {
        s.tracker.set_online(false, host::now(), host::random_u32());
    }
}

// The page events the tag listens for, as [`on_event`] tells them apart: a
// number bound into each listener, so no string crosses into the wasm on a click.
const CLICK: u32 = 0;
const SUBMIT: u32 = 1;
const NAVIGATE: u32 = 2;
const PAGESHOW: u32 = 3;
const PAGEHIDE: u32 = 4;
const ONLINE: u32 = 5;
const OFFLINE: u32 = 6;
const VISIBILITY: u32 = 7;
const AUXCLICK: u32 = 8;
const STORAGE: u32 = 9;

/// Every page event the tag listens for.
fn on_event(kind: u32, e: web_sys::Event) {
    match kind {
        // Described before any decoration: the event keeps the link as the page had it.
        CLICK | SUBMIT => {
            let submit = kind == SUBMIT;
            clicked(submit, &e, here());
            passthrough(&e, submit);
        }
        // A middle click opens the link too; it is no click event of the tag's.
        AUXCLICK => passthrough(&e, false),
        NAVIGATE => navigated(here()),
        // A page restored from the back/forward cache is a new page view even
        // though no script runs again.
        PAGESHOW if js_sys::Reflect::get(&e, &"persisted".into()).ok().and_then(|p| p.as_bool()) == Some(true) => {
            on_fact(|s| s.tracker.restored(&mut s.host));
        }
        // The page is going away: beacons, and its queue released for the next page.
        PAGEHIDE => on_fact(|s| hide(s, true)),
        ONLINE | OFFLINE => {
            let online = kind == ONLINE;
            on_fact(|s| s.tracker.set_online(online, host::now(), host::random_u32()))
        }
        // Another page of the site changed storage: its outbox may be one to wait for.
        STORAGE => {
            if let Some(key) = js_sys::Reflect::get(&e, &"key".into()).ok().and_then(|k| k.as_string()) {
                on_key(key, false);
            }
        }
        VISIBILITY => {
            let visible = visible();
            on_fact(|s| {
                s.tracker.visibility(&mut s.host, visible);
                if !visible {
                    hide(s, false);
                }
            });
        }
        _ => {}
    }
}

/// `url_passthrough`: the link or form being followed now carries the
/// landing's campaign parameters, as the core plans it (see
/// [`Tracker::passthrough`]): which element ([`passthrough::LINK`] around a
/// click's target, or the submitted form), and what changes on it. It runs
/// in the handler itself, because the navigation reads the URL right after;
/// only the followed link or form changes, never the page's other links.
/// (Properties are read and written through `Reflect`, whose imports the tag
/// has anyway: a typed web-sys call each would add its own glue to the download.)
fn passthrough(e: &web_sys::Event, submit: bool) {
    use crate::core::passthrough::{self, Decoration, Followed};
    use js_sys::{Function, Reflect};
    use wasm_bindgen::JsCast;
    let get = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let text = |o: &JsValue, k: &str| get(o, k).as_string().unwrap_or_default();
    let call = |o: &JsValue, f: &str, a: &JsValue| get(o, f).dyn_into::<Function>().ok().and_then(|f| f.call1(o, a).ok());
    peek_shell(|s| {
        if !s.tracker.passthrough_active() {
            return;
        }
        let page = host::href();
        let Some(target) = e.target().map(JsValue::from) else { return };
        let el = if submit { target } else { call(&target, "closest", &passthrough::LINK.into()).unwrap_or(JsValue::NULL) };
        if el.is_null() {
            return;
        }
        let (url, method) = if submit { (text(&el, "action"), text(&el, "method")) } else { (text(&el, "href"), String::new()) };
        let followed = if submit { Followed::Form { action: &url, method: &method } } else { Followed::Link { href: &url } };
        let controls = get(&el, "elements");
        match s.tracker.passthrough(followed, &page, |n| !get(&controls, n).is_undefined()) {
            Some(Decoration::Set { prop, url }) => {
                let _ = Reflect::set(&el, &prop.into(), &url.into());
            }
            Some(Decoration::Fields(fields)) => {
                let doc = get(&el, "ownerDocument");
                for (name, value) in fields {
                    if let Some(input) = call(&doc, "createElement", &"input".into()) {
                        for (k, v) in [("type", "hidden"), ("name", &name), ("value", &value)] {
                            let _ = Reflect::set(&input, &k.into(), &v.into());
                        }
                        call(&el, "appendChild", &input);
                    }
                }
            }
            None => {}
        }
    });
}

/// Now, and the page's address now.
fn here() -> At {
    At { ms: host::now(), url: host::href() }
}

/// A click, or a form's submit, the visitor made at `at`: the element is
/// described and the goal selectors it matches are read now (see [`on_input`]).
fn clicked(submit: bool, e: &web_sys::Event, at: At) {
    if submit {
        if let Some((form, info)) = capture::describe_form(e) {
            on_input(at, |s| Seen::Submit(info, capture::matching(&form, s.tracker.form_selectors())));
        }
    } else if let Some((target, info)) = capture::describe_click(e) {
        on_input(at, |s| Seen::Click(info, capture::matching(&target, s.tracker.click_selectors())));
    }
}

/// An SPA navigation (History API, popstate, hashchange): a page view. It
/// runs inside the router's own `pushState` call, often in a click's
/// handler, so it is only noted here (see [`on_input`]). `at` is when it
/// happened (now, or when the loader kept it: [`replay`]).
fn navigated(at: At) {
    on_input(at, |s| {
        // The page being left is whatever the router made of it by now.
        for input in &mut s.inputs {
            if let Seen::Navigate(t @ None) = &mut input.what {
                *t = Some(host::title());
            }
        }
        Seen::Navigate(None)
    });
}

/// Whether the page is in view: engaged time for `duration` goals accrues only then.
fn visible() -> bool {
    // Read through Reflect: the typed getter's enum brings its own glue.
    let doc = web_sys::window().and_then(|w| w.document());
    doc.and_then(|d| js_sys::Reflect::get(&d, &"visibilityState".into()).ok()).and_then(|v| v.as_string()).as_deref() == Some("visible")
}

/// Page hidden or unloading (see [`Tracker::hide`]): sendBeacon survives the
/// unload where a fetch may not (Firefox ESR cancels keepalive fetches); a
/// keepalive fetch is the fallback when the beacon is refused.
fn hide(s: &mut Shell, leaving: bool) {
    let url = s.tracker.config.collector.clone().unwrap_or_default();
    s.tracker.hide(&mut s.host, leaving, &mut |body, keepalive| transport::beacon(&url, body, keepalive));
}

/// Cross-tab (see [`crate::core::tracker::OUTBOX_PREFIX`]): once this page
/// has an outbox key, it holds that Web Lock for life, and it waits for the
/// lock of each other page's key the core names; the grant is reported to
/// the core inside it. Without Web Locks there is nothing to do here.
fn locks(s: &mut Shell) {
    let probes = s.tracker.take_probes();
    let key = s.tracker.outbox_key();
    let own = !key.is_empty() && s.locked != key;
    if !own && probes.is_empty() {
        return;
    }
    let f: &Callback = GRANTED.get_or_init(|| Granted::new(granted)).as_ref().unchecked_ref();
    let generation = JsValue::from_f64(GENERATION.get() as f64);
    if own {
        s.locked = key.to_string();
        host::request_lock(key, &f.bind_2(&JsValue::NULL, &generation, &JsValue::UNDEFINED));
    }
    for probe in probes {
        host::request_lock(&probe, &f.bind_2(&JsValue::NULL, &generation, &probe.as_str().into()));
    }
}

/// The one callback of every Web Lock request: generation and key bound in,
/// then the lock.
type Granted = Callback3;

static GRANTED: Local<core::cell::OnceCell<Granted>> = Local(core::cell::OnceCell::new());

/// A Web Lock is granted. This page's own (no key) is held for life.
/// Another page's means that page is gone: the core adopts its queue now,
/// inside the grant, and says whether to keep the lock (see
/// [`Tracker::lock_free`]). A lock is kept by returning a promise that never
/// settles, so the browser frees it only when this page is gone; else the
/// grant ends when this returns.
fn granted(generation: JsValue, key: JsValue, _lock: JsValue) -> JsValue {
    let keep = match key.as_string() {
        None => true,
        Some(key) => generation.as_f64() == Some(GENERATION.get() as f64) && on_key(key, true),
    };
    if keep {
        js_sys::Promise::new(&mut |_, _| {}).into()
    } else {
        JsValue::UNDEFINED
    }
}

/// Another page's storage `key` changed (a `storage` event), or its Web Lock
/// was `granted`: facts for the core. True if the core keeps a granted lock.
fn on_key(key: String, granted: bool) -> bool {
    with_shell(|s| {
        let keep = if granted {
            s.tracker.lock_free(&mut s.host, &key)
        } else {
            s.tracker.storage_changed(&mut s.host, &key);
            false
        };
        pump(s);
        keep
    })
    .unwrap_or(false)
}

/// Resets the tag for a fresh `boot`: drops the running instance (its
/// listeners and History hook are removed with it), its state and any
/// deferred calls, and clears the "turned off" mark. Tests start each case
/// with it; a page never needs it.
#[doc(hidden)]
pub fn shutdown() {
    SHELL.with(|s| s.borrow_mut().take());
    STEP.set(0);
    OFF.set(false);
    DROPPED_SAID.set(false);
    DEFERRED.with(|d| d.borrow_mut().clear());
}

/// Turns the tag off as an internal error does (tests of the stopped tag).
#[doc(hidden)]
pub fn turn_off() {
    OFF.set(true);
}

/// How many calls wait for the shell to be free (tests: it stays bounded).
#[doc(hidden)]
pub fn deferred_calls() -> usize {
    DEFERRED.with(|d| d.borrow().len())
}

/// Runs one `goaltag(...)` call, never throwing into the page.
fn call(mut args: Vec<Val>) {
    // A tag that turned itself off never runs again: keeping its calls would
    // grow memory for as long as the page keeps calling.
    if OFF.get() {
        if !DROPPED_SAID.replace(true) {
            web_sys::console::error_1(&JsValue::from_str(crate::core::messages::line::TAG_OFF));
        }
        return;
    }
    while matches!(args.last(), Some(Val::Null)) {
        args.pop();
    }
    let (cmd, errors) = match command::parse(&args) {
        Ok(ok) => ok,
        Err(e) => return report(&[e]),
    };
    report(&errors);
    let ran = with_shell(|s| {
        if let command::Command::ConsentSource(source) = &cmd {
            adapters::install(source, &mut s.listeners);
        }
        report(&s.tracker.handle(cmd, &mut s.host));
        pump_soon(s, host::now());
    });
    if ran.is_none() {
        DEFERRED.with(|d| d.borrow_mut().push(args));
    }
}

/// Runs `f` on the shell if the tag is running and not already busy.
fn with_shell<R>(f: impl FnOnce(&mut Shell) -> R) -> Option<R> {
    if OFF.get() {
        return None;
    }
    let r = peek_shell(|s| {
        record_inputs(s);
        f(s)
    });
    if r.is_some() {
        let deferred = DEFERRED.with(|d| core::mem::take(&mut *d.borrow_mut()));
        for args in deferred {
            call(args);
        }
    }
    r
}

/// The shell as it is, pending inputs left pending: for the input handlers
/// themselves, which must stay short.
fn peek_shell<R>(f: impl FnOnce(&mut Shell) -> R) -> Option<R> {
    if OFF.get() {
        return None;
    }
    SHELL.with(|s| s.try_borrow_mut().ok()?.as_mut().map(f))
}

/// Sends whatever the core says is due, then sets one timer for the next
/// time something will be due.
fn pump(s: &mut Shell) {
    let now = host::now();
    for w in s.tracker.tick(&mut s.host) {
        web_sys::console::warn_1(&JsValue::from_str(&w));
    }
    while let Some(send) = s.tracker.poll(now) {
        let url = s.tracker.config.collector.clone().unwrap_or_default();
        transport::post(&url, send, GENERATION.get());
    }
    next(s, now);
}

/// The Web Locks the core asks for, and the one wake-up timer set for the
/// next time something will be due (none when nothing will).
fn next(s: &mut Shell, now: u64) {
    locks(s);
    match s.tracker.wake_at() {
        None => {
            s.timer = None;
            s.wake.clear();
        }
        Some(at) if s.timer == Some(at) => {}
        Some(at) => arm(s, at, now),
    }
}

/// A request's answer (or its failure), for the boot that sent it.
fn on_outcome(generation: u32, batch: u64, outcome: crate::core::outbox::Outcome) {
    if generation == GENERATION.get() {
        with_shell(|s| {
            s.tracker.on_outcome(batch, outcome, host::now(), host::random_u32());
            pump(s);
        });
    }
}

/// A page call or a click only records: the sending and bookkeeping run in
/// a task of their own right after, so a click's handler (what INP counts)
/// never waits for a `fetch`, and a loop of calls pumps once, not per call.
/// Nothing is at risk meanwhile: the event is already in the outbox, and a
/// page that unloads first beacons it.
fn pump_soon(s: &mut Shell, now: u64) {
    if s.timer.is_some_and(|at| at <= now) {
        return;
    }
    arm(s, now, now);
}

/// Sets the one wake-up timer for `at`, replacing any other.
fn arm(s: &mut Shell, at: u64, now: u64) {
    s.timer = Some(at);
    s.wake.set(at.saturating_sub(now).min(i32::MAX as u64) as u32);
}

/// The wake-up callback of one boot of the tag.
fn wake() -> Wake {
    let generation = GENERATION.get();
    Wake::new(move || {
        if generation != GENERATION.get() {
            return;
        }
        with_shell(|s| {
            s.wake.fired();
            s.timer = None;
            pump(s)
        });
    })
}

/// The loader's `goaltagDescribe.explain` (src/browser/describe.js), kept at boot.
static EXPLAIN: Local<core::cell::OnceCell<js_sys::Function>> = Local(core::cell::OnceCell::new());

/// Each error as a short line at once (the field, the code of what was
/// expected and what was given), then, through the loader's helper, as the
/// full line once the texts of `goaltag.messages.json` are in (see
/// [`crate::core::messages`]).
fn report(errors: &[ConfigError]) {
    for e in errors {
        web_sys::console::error_1(&JsValue::from_str(&e.short()));
        if let Some(f) = EXPLAIN.get() {
            let _ = f.call3(&JsValue::NULL, &e.line("\u{1}").into(), &(e.code as u32).into(), &e.arg.as_str().into());
        }
    }
}

/// A panic is a bug in the tag, never the page's problem: say so once and
/// turn the tag off so it cannot fail again.
#[cfg(feature = "std")]
fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if !OFF.replace(true) {
                // The message and place only: formatting the whole PanicHookInfo
                // would pull std's formatting machinery into the download.
                let p = info.payload();
                let what = p.downcast_ref::<&str>().copied().or(p.downcast_ref::<String>().map(String::as_str)).unwrap_or("a bug");
                panic_message(what, info.location());
            }
        }));
    });
}

/// Without std there is no hook to install: [`panic`] is the handler itself.
#[cfg(not(feature = "std"))]
fn install_panic_hook() {}

/// The shipped wasm's panic handler: the same one console line as the std
/// hook (the message only when it is a plain string), then the tag is off and
/// the call traps, as std's abort does.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !OFF.replace(true) {
        panic_message(info.message().as_str().unwrap_or("a bug"), info.location());
    }
    core::arch::wasm32::unreachable()
}

fn panic_message(what: &str, at: Option<&core::panic::Location>) {
    let mut msg = String::from(crate::core::messages::line::INTERNAL_ERROR);
    msg.push_str(what);
    if let Some(at) = at {
        msg.push_str(" at ");
        msg.push_str(at.file());
    }
    web_sys::console::error_1(&JsValue::from_str(&msg));
}
