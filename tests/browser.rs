//! Browser tests of the real shell in headless Chromium and Firefox
//! (`wasm-pack test --headless --chrome` / `--firefox`). `fetch` and
//! `console.error` are replaced by recorders so each test sees exactly what
//! the tag put on the wire and on the console. The tag reports a problem
//! with a short line at once and the full line once it has the texts of
//! `goaltag.messages.json` (here given from the same table, see `next_page`):
//! `ERRORS` has the short lines, `EXPLAINED` the full ones.
#![cfg(target_arch = "wasm32")]

use goaltag::browser::{begin, boot, listen, prepare, run, shutdown};
use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Response, ResponseInit};

wasm_bindgen_test_configure!(run_in_browser);

const COLLECTOR: &str = "https://collector.invalid/collect";

// The loader's click reader, which the shipped loader passes to `boot`.
#[wasm_bindgen(module = "/src/browser/describe.js")]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_name = goaltagDescribe)]
    static DESCRIBE: JsValue;
}

/// One request the tag made: where, and the init dictionary it passed.
struct Sent {
    url: String,
    init: JsValue,
    /// When the request was made (`Date.now()`).
    at: f64,
}

impl Sent {
    fn body(&self) -> JsValue {
        let text = Reflect::get(&self.init, &"body".into()).unwrap().as_string().expect("a string body");
        JSON::parse(&text).expect("the body is JSON")
    }
    fn init_field(&self, k: &str) -> JsValue {
        Reflect::get(&self.init, &k.into()).unwrap()
    }
}

thread_local! {
    static SENT: RefCell<Vec<Sent>> = const { RefCell::new(Vec::new()) };
    static STATUSES: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
    static ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static EXPLAINED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// A `Retry-After` header for the next answer, if any.
    static RETRY_AFTER: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &k.into()).unwrap()
}

fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn args(items: &[JsValue]) -> JsValue {
    items.iter().collect::<Array>().into()
}

/// Fresh tag state, recorders installed, and `window.goaltag` set to the
/// snippet's stub holding `queued` calls.
fn setup(responses: &[u16], queued: &[JsValue]) {
    // Each case starts as a first visit: no state left by an earlier case.
    let ls = window().local_storage().unwrap().unwrap();
    for k in storage_of_the_tag() {
        let _ = ls.remove_item(&k);
    }
    let _ = Reflect::set(&document(), &"cookie".into(), &s("cc_cookie=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/"));
    let _ = Reflect::delete_property(window().unchecked_ref::<Object>(), &"__tcfapi".into());
    let _ = Reflect::delete_property(window().unchecked_ref::<Object>(), &"dataLayer".into());
    next_page(responses, queued);
}

/// A new page load of the same site: the tag starts afresh on what the
/// earlier page left in storage.
fn next_page(responses: &[u16], queued: &[JsValue]) {
    shutdown();
    SENT.with(|s| s.borrow_mut().clear());
    ERRORS.with(|e| e.borrow_mut().clear());
    EXPLAINED.with(|e| e.borrow_mut().clear());
    // What the loader fetches beside the wasm (goaltag.messages.json), from the same table.
    let texts = JSON::parse(&goaltag::core::messages::json()).unwrap();
    Reflect::set(&DESCRIBE.with(JsValue::clone), &"texts".into(), &Promise::resolve(&texts)).unwrap();
    STATUSES.with(|s| *s.borrow_mut() = responses.iter().rev().copied().collect());
    let fetch = Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(|url: JsValue, init: JsValue| {
        SENT.with(|s| s.borrow_mut().push(Sent { url: url.as_string().unwrap_or_default(), init, at: js_sys::Date::now() }));
        let status = STATUSES.with(|s| s.borrow_mut().pop()).unwrap_or(204);
        let ri = ResponseInit::new();
        ri.set_status(status);
        if let Some(h) = RETRY_AFTER.with(|r| r.borrow_mut().take()) {
            ri.set_headers(&obj(&[("Retry-After", h.into())]));
        }
        let resp: JsValue = Response::new_with_opt_str_and_init(None, &ri).unwrap().into();
        Promise::resolve(&resp)
    });
    // A gzip-compressed body (bytes) is decompressed before it is recorded,
    // so every test reads JSON; `gzipped` says it was.
    let unzip = Function::new_with_args(
        "inner",
        "return function (url, init) {
           var b = init && init.body;
           if (!(b instanceof ArrayBuffer || ArrayBuffer.isView(b))) return inner(url, init);
           return new Response(new Response(b).body.pipeThrough(new DecompressionStream('gzip'))).text()
             .then(function (t) { return inner(url, Object.assign({}, init, { body: t, gzipped: true })); });
         };",
    );
    let f = unzip.call1(&JsValue::NULL, fetch.as_ref()).unwrap();
    Reflect::set(&window(), &"fetch".into(), &f).unwrap();
    fetch.forget();
    let console = get(&window(), "console");
    thread_local!(static ORIGINAL: JsValue = get(&get(&window(), "console"), "error"));
    let original: Function = ORIGINAL.with(|o| o.clone()).dyn_into().unwrap();
    // Record what the tag reports, and still show it (and test failures) as usual.
    let error = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| {
        let line = m.as_string().unwrap_or_default();
        let full = line.contains(": expected ") && !line.contains(": expected #");
        let list = if full { &EXPLAINED } else { &ERRORS };
        list.with(|e| e.borrow_mut().push(line));
        let _ = original.call1(&JsValue::NULL, &m);
    });
    Reflect::set(&console, &"error".into(), error.as_ref()).unwrap();
    error.forget();
    let stub = obj(&[("q", queued.iter().collect::<Array>().into())]);
    Reflect::set(&window(), &"goaltag".into(), &stub).unwrap();
}

fn start(site: &str, collector: Option<&str>) {
    start_with(site, collector, Some("granted"));
}

fn start_with(site: &str, collector: Option<&str>, consent: Option<&str>) {
    let mut attrs = vec![("site", JsValue::from_str(site))];
    if let Some(c) = consent {
        attrs.push(("consent", c.into()));
    }
    if let Some(c) = collector {
        attrs.push(("collector", c.into()));
    }
    boot(obj(&attrs), JsValue::UNDEFINED, DESCRIBE.with(JsValue::clone));
}

/// Calls `window.goaltag(...)` the way a page does.
fn goaltag(items: &[JsValue]) {
    let f: Function = get(&window(), "goaltag").dyn_into().expect("window.goaltag is a function after boot");
    f.apply(&JsValue::NULL, &items.iter().collect::<Array>()).expect("goaltag() never throws");
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

/// The full lines of what the tag reported, once the texts are in (bounded wait for `n`).
async fn explained(n: usize) -> Vec<String> {
    for _ in 0..20 {
        if EXPLAINED.with(|e| e.borrow().len()) >= n {
            break;
        }
        sleep(10).await;
    }
    EXPLAINED.with(|e| e.borrow().clone())
}

/// Waits (bounded) until at least `n` requests were made.
async fn requests(n: usize) -> usize {
    for _ in 0..60 {
        if SENT.with(|s| s.borrow().len()) >= n {
            break;
        }
        sleep(50).await;
    }
    SENT.with(|s| s.borrow().len())
}

fn events(i: usize) -> Vec<JsValue> {
    SENT.with(|s| Array::from(&get(&s.borrow()[i].body(), "events")).iter().collect())
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn is_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    id.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && id.bytes().enumerate().all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit())
}

#[wasm_bindgen_test]
async fn queued_commands_run_in_order_and_later_calls_go_straight_in() {
    setup(&[], &[args(&[s("event"), s("first")]), args(&[s("event"), s("second")])]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("event"), s("third")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    let kinds: Vec<String> =
        events(0).iter().map(|e| get(e, "action").as_string().unwrap_or_else(|| get(e, "kind").as_string().unwrap())).collect();
    assert_eq!(kinds, ["page_view", "first", "second", "third"], "the load's view before the first queued event");
}

/// A call made on the stub between two steps of start-up, as a page does
/// while the loader waits for its next task (`(goaltag.q = goaltag.q || []).push(arguments)`).
fn push_on_stub(items: &[JsValue]) {
    let stub = get(&window(), "goaltag");
    let q = get(&stub, "q");
    let q: Array = if q.is_undefined() { Array::new() } else { q.unchecked_into() };
    q.push(&args(items));
    Reflect::set(&stub, &"q".into(), &q).unwrap();
}

#[wasm_bindgen_test]
async fn start_up_in_steps_loses_no_call_and_keeps_the_order() {
    setup(&[], &[args(&[s("event"), s("first")])]);
    let attrs = obj(&[("site", s("demo-shop")), ("collector", s(COLLECTOR)), ("consent", s("granted"))]);
    let describe = DESCRIBE.with(JsValue::clone);
    // Out of turn, a step does nothing: the stub stays and keeps its queue.
    run();
    listen();
    assert!(get(&get(&window(), "goaltag"), "q").is_object(), "the stub is still there");
    prepare(attrs.clone(), JsValue::UNDEFINED, describe);
    push_on_stub(&[s("event"), s("second")]);
    begin(attrs);
    run();
    // After the page view, before the listeners: a call still waits on the stub.
    push_on_stub(&[s("event"), s("third")]);
    listen();
    assert!(get(&window(), "goaltag").is_function(), "the stub is replaced once listening");
    // A second round of steps without a new prepare changes nothing.
    run();
    listen();
    goaltag(&[s("event"), s("fourth")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    let kinds: Vec<String> =
        events(0).iter().map(|e| get(e, "action").as_string().unwrap_or_else(|| get(e, "kind").as_string().unwrap())).collect();
    // The load's view comes before the first queued event (src/core/tracker: `Tracker::loading`).
    assert_eq!(kinds, ["page_view", "first", "second", "third", "fourth"]);
}

/// A click and a submit made while the tag was still starting: the loader
/// keeps each event with its time and the page's address then
/// (src/browser/start.js), and `listen` records them as if it had been
/// listening: at that time and address, with their goals.
#[wasm_bindgen_test]
async fn clicks_and_submits_before_the_tag_listens_are_recorded_at_their_time() {
    setup(&[], &[]);
    let root = mount(
        r#"<div class="buy-box"><button id="early-cta">Add</button></div>
        <form class="signup" action="/s"><input name="email" value="typed.by.visitor@example.org"></form>"#,
    );
    prevent_default_on(root.as_ref(), "submit");
    // As the loader's listeners keep them, before the wasm is ready.
    let (t_click, t_submit) = ((js_sys::Date::now() - 3000.0).floor(), (js_sys::Date::now() - 2000.0).floor());
    // Bubbling and cancelable, as the browser's own: the page's handler cancels the submit.
    let event = |js: &str| -> web_sys::Event { js_sys::eval(js).unwrap().unchecked_into() };
    let click = event("new MouseEvent('click', {bubbles: true, cancelable: true})");
    by_id("early-cta").dispatch_event(&click).unwrap();
    let submit = event("new Event('submit', {bubbles: true, cancelable: true})");
    root.query_selector("form").unwrap().unwrap().dispatch_event(&submit).unwrap();
    let then = s("https://shop.example/early?step=1");
    let early = Array::of2(&Array::of3(&click, &t_click.into(), &then), &Array::of3(&submit, &t_submit.into(), &then));
    let describe = DESCRIBE.with(JsValue::clone);
    Reflect::set(&describe, &"early".into(), &early).unwrap();
    let attrs = obj(&[("site", s("demo-shop")), ("collector", s(COLLECTOR)), ("consent", s("granted"))]);
    prepare(attrs.clone(), obj(&[("goals", JSON::parse(GOALS).unwrap())]), describe.clone());
    // Taken: no other test's start-up sees them.
    Reflect::delete_property(describe.unchecked_ref::<Object>(), &"early".into()).unwrap();
    begin(attrs);
    run();
    listen();
    flush_and_unmount(root).await;
    let (clicks, submits) = (of_kind("click"), of_kind("form_submit"));
    assert_eq!((clicks.len(), submits.len()), (1, 1));
    for (e, t) in [(&clicks[0], t_click), (&submits[0], t_submit)] {
        assert_eq!(get(e, "ts").as_f64(), Some(t), "recorded at the time it happened");
        assert_eq!(get(e, "url").as_string().as_deref(), Some("https://shop.example/early?step=1"));
    }
    assert_eq!(get(&get(&clicks[0], "element"), "text").as_string().as_deref(), Some("Add"));
    let (cta, signup) = (conversions_of("cta"), conversions_of("signup"));
    assert_eq!((cta.len(), signup.len()), (1, 1), "their goals convert");
    assert_eq!(get(&cta[0], "trigger").as_string(), get(&clicks[0], "id").as_string());
    for body in body_texts() {
        assert!(!body.contains("typed.by.visitor"), "a field value leaked: {body}");
    }
}

#[wasm_bindgen_test]
async fn a_page_load_sends_a_page_view_with_the_page_fields() {
    setup(&[], &[]);
    let doc = window().document().unwrap();
    doc.set_title("Weekend specials");
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    let e = &events(0)[0];
    assert_eq!(get(e, "kind").as_string().unwrap(), "page_view");
    assert_eq!(get(e, "url").as_string().unwrap(), doc.location().unwrap().href().unwrap());
    assert_eq!(get(e, "title").as_string().unwrap(), "Weekend specials");
    assert_eq!(get(e, "referrer").as_string().unwrap(), doc.referrer());
    assert!(is_uuid_v4(&get(e, "id").as_string().unwrap()));
    let ts = get(e, "ts").as_f64().unwrap();
    assert!((ts - js_sys::Date::now()).abs() < 60_000.0, "ts is now in ms: {ts}");
}

#[wasm_bindgen_test]
async fn batches_are_posted_as_cors_simple_text_in_the_wire_format() {
    // Plain, whatever the size: gzip has its own test below.
    let plain = obj(&[("delivery", obj(&[("gzip_min_bytes", JsValue::from_f64(4_194_304.0))]))]);
    setup(&[], &[args(&[s("config"), plain])]);
    start("demo-shop", Some(COLLECTOR));
    let params = obj(&[
        ("category", s("shop")),
        ("label", s("sku-1")),
        ("value", JsValue::from_f64(49.95)),
        ("currency", s("USD")),
        ("transaction_id", s("T-42")),
    ]);
    goaltag(&[s("event"), s("purchase"), params]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    SENT.with(|sent| {
        let r = &sent.borrow()[0];
        assert_eq!(r.url, COLLECTOR);
        assert_eq!(r.init_field("method").as_string().unwrap(), "POST");
        assert_eq!(r.init_field("credentials").as_string().unwrap(), "omit");
        // A string body makes fetch send text/plain;charset=UTF-8: no preflight.
        assert!(r.init_field("body").is_string());
        assert!(r.init_field("gzipped").is_undefined(), "not compressed");
        assert!(r.init_field("headers").is_undefined());
        assert_ne!(r.init_field("keepalive").as_bool(), Some(true), "ordinary sends are no keepalive requests");
        let body = r.body();
        assert_eq!(get(&body, "v").as_f64(), Some(1.0));
        assert_eq!(get(&body, "site").as_string().unwrap(), "demo-shop");
        assert!(get(&body, "sent_at").as_f64().unwrap() > 1.7e12);
    });
    let evs = events(0);
    let ids: Vec<String> = evs.iter().map(|e| get(e, "id").as_string().unwrap()).collect();
    assert!(ids.iter().all(|id| is_uuid_v4(id)), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    let p = &evs[1];
    assert_eq!(get(p, "kind").as_string().unwrap(), "event");
    assert_eq!(get(p, "action").as_string().unwrap(), "purchase");
    assert_eq!(get(p, "category").as_string().unwrap(), "shop");
    assert_eq!(get(p, "label").as_string().unwrap(), "sku-1");
    assert_eq!(get(p, "value").as_f64(), Some(49.95));
    assert_eq!(get(p, "currency").as_string().unwrap(), "USD");
    assert_eq!(get(p, "transaction_id").as_string().unwrap(), "T-42");
}

#[wasm_bindgen_test]
async fn bad_config_is_reported_on_the_console_and_never_thrown() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("config"), obj(&[("collector", JsValue::from_f64(5.0)), ("spa", s("maybe"))])]);
    goaltag(&[s("evnt"), s("typo")]);
    goaltag(&[s("event"), s("ok"), obj(&[("value", s("lots"))])]);
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].contains("config.collector"), "{}", errors[0]);
    assert!(errors[1].contains("config.spa"), "{}", errors[1]);
    assert!(errors[2].contains("evnt"), "{}", errors[2]);
    assert!(errors[3].contains("event.value"), "{}", errors[3]);
    // Then each in full, in the same order.
    let full = explained(4).await;
    assert_eq!(full.len(), 4, "{full:?}");
    assert!(full[0].contains("config.collector") && full[0].contains("http"), "{}", full[0]);
    assert!(full[1].contains("config.spa") && full[1].contains("true or false"), "{}", full[1]);
    assert!(full[2].contains("evnt") && full[2].contains("page_view"), "{}", full[2]);
    assert!(full[3].contains("event.value") && full[3].contains("a finite number"), "{}", full[3]);
    // The valid parts still work: the collector kept its good value, the event was sent without its bad value.
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    let evs = events(0);
    assert_eq!(get(&evs[1], "action").as_string().unwrap(), "ok");
    assert!(get(&evs[1], "value").is_undefined());
}

#[wasm_bindgen_test]
async fn without_a_collector_the_tag_says_so_once_and_sends_nothing() {
    setup(&[], &[args(&[s("event"), s("queued")])]);
    start("demo-shop", None);
    goaltag(&[s("flush")]);
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("config.collector"), "{}", errors[0]);
    // Once a collector is given, the first request carries what waited: so
    // nothing was sent before it, and nothing was lost.
    goaltag(&[s("config"), obj(&[("collector", s(COLLECTOR))])]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["queued"]);
}

#[wasm_bindgen_test]
async fn a_failed_post_is_retried_later_with_the_same_event_ids() {
    setup(&[503], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    assert_eq!(requests(2).await, 2);
    let id = |i: usize| get(&events(i)[0], "id").as_string().unwrap();
    assert_eq!(id(0), id(1));
    SENT.with(|sent| {
        let sent = sent.borrow();
        assert!(get(&sent[0].body(), "attempt").is_undefined(), "first attempt leaves attempt out");
        assert_eq!(get(&sent[1].body(), "attempt").as_f64(), Some(2.0));
    });
    sleep(100).await;
    assert_eq!(SENT.with(|s| s.borrow().len()), 2, "acknowledged: no further sends");
}

fn document() -> web_sys::Document {
    window().document().unwrap()
}

/// The mounted element with this id, as an element a test can click.
fn by_id(id: &str) -> web_sys::HtmlElement {
    document().get_element_by_id(id).unwrap().dyn_into().unwrap()
}

/// Sends what is queued, waits for the request and what follows it, and
/// takes the mounted HTML away again.
async fn flush_and_unmount(root: web_sys::Element) {
    goaltag(&[s("flush")]);
    requests(1).await;
    sleep(100).await;
    root.remove();
}

/// The visitor rejects everything through the banner: storage goes at once
/// and nothing more is sent; then accepts everything: sending resumes, and
/// what came in between is not in it. (One request was awaited before.)
async fn reject_then_accept(reject: impl Fn(), accept: impl Fn()) {
    reject();
    assert!(storage_of_the_tag().is_empty(), "{:?}", storage_of_the_tag());
    goaltag(&[s("event"), s("rejected")]);
    goaltag(&[s("flush")]);
    accept();
    goaltag(&[s("event"), s("accepted")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(2).await, 2);
    assert_eq!(actions_in(1), ["accepted"]);
    assert_eq!(consent_of(&events(1)[0]), ["granted"; 4]);
}

/// Adds HTML to the page body and returns the container (removed by `cleanup`).
fn mount(html: &str) -> web_sys::Element {
    let div = document().create_element("div").unwrap();
    div.set_inner_html(html);
    document().body().unwrap().append_child(&div).unwrap();
    div
}

/// The page's own handler cancelling navigation, as a shop's JS would.
fn prevent_default_on(target: &web_sys::EventTarget, kind: &str) {
    let f = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| e.prevent_default());
    target.add_event_listener_with_callback(kind, f.as_ref().unchecked_ref()).unwrap();
    f.forget();
}

fn all_events() -> Vec<JsValue> {
    let n = SENT.with(|s| s.borrow().len());
    (0..n).flat_map(events).collect()
}

fn of_kind(kind: &str) -> Vec<JsValue> {
    all_events().into_iter().filter(|e| get(e, "kind").as_string().as_deref() == Some(kind)).collect()
}

fn body_texts() -> Vec<String> {
    SENT.with(|s| s.borrow().iter().map(|r| get(&r.init, "body").as_string().unwrap_or_default()).collect())
}

#[wasm_bindgen_test]
async fn a_click_inside_a_link_is_described_by_the_link() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    let root = mount(
        r#"<a id="partner" class="btn  big" href="https://partner.example/deal" data-goaltag-cta="hero" data-other="x">
             <span id="inner"><b>Get   the</b> deal</span></a>"#,
    );
    prevent_default_on(root.as_ref(), "click");
    by_id("inner").click();
    goaltag(&[s("flush")]);
    requests(1).await;
    root.remove();
    let clicks = of_kind("click");
    assert_eq!(clicks.len(), 1);
    let el = get(&clicks[0], "element");
    assert_eq!(get(&el, "tag").as_string().unwrap(), "a");
    assert_eq!(get(&el, "id").as_string().unwrap(), "partner");
    assert_eq!(get(&el, "classes").as_string().unwrap(), "btn big");
    assert_eq!(get(&el, "href").as_string().unwrap(), "https://partner.example/deal");
    assert_eq!(get(&el, "outbound").as_bool(), Some(true));
    assert_eq!(get(&el, "text").as_string().unwrap(), "Get the deal");
    assert_eq!(get(&get(&el, "data"), "cta").as_string().unwrap(), "hero");
    assert_eq!(Object::keys(get(&el, "data").unchecked_ref::<Object>()).length(), 1, "only data-goaltag-* attributes");
}

#[wasm_bindgen_test]
async fn a_form_submit_never_puts_a_field_value_on_the_wire() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    let root = mount(
        r#"<form id="newsletter" name="news" action="/subscribe" method="post">
             <input name="email" value="secret.person@example.com"><input type="hidden" name="t" value="tok-98765">
             <button id="go">Subscribe</button></form>"#,
    );
    prevent_default_on(root.as_ref(), "submit");
    let form: web_sys::HtmlFormElement = document().get_element_by_id("newsletter").unwrap().dyn_into().unwrap();
    form.request_submit().unwrap();
    goaltag(&[s("flush")]);
    requests(1).await;
    root.remove();
    let submits = of_kind("form_submit");
    assert_eq!(submits.len(), 1);
    let f = get(&submits[0], "form");
    assert_eq!(get(&f, "id").as_string().unwrap(), "newsletter");
    assert_eq!(get(&f, "name").as_string().unwrap(), "news");
    assert!(get(&f, "action").as_string().unwrap().ends_with("/subscribe"));
    assert_eq!(get(&f, "method").as_string().unwrap(), "post");
    assert_eq!(get(&f, "fields").as_f64(), Some(3.0));
    for body in body_texts() {
        assert!(!body.contains("secret.person"), "a field value leaked: {body}");
        assert!(!body.contains("tok-98765"), "a hidden value leaked: {body}");
    }
}

#[wasm_bindgen_test]
async fn spa_navigations_are_page_views_without_duplicates() {
    setup(&[], &[]);
    let history = window().history().unwrap();
    let start_url = document().location().unwrap().href().unwrap();
    start("demo-shop", Some(COLLECTOR));
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/a")).unwrap();
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/a")).unwrap();
    history.replace_state_with_url(&JsValue::NULL, "", Some("/spa/a")).unwrap();
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/a#section")).unwrap();
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/b")).unwrap();
    history.back().unwrap();
    // popstate arrives asynchronously.
    for _ in 0..40 {
        if document().location().unwrap().pathname().unwrap() == "/spa/a" {
            break;
        }
        sleep(25).await;
    }
    sleep(50).await;
    goaltag(&[s("flush")]);
    requests(1).await;
    history.replace_state_with_url(&JsValue::NULL, "", Some(&start_url)).unwrap();
    let paths: Vec<String> = of_kind("page_view")
        .iter()
        .map(|e| {
            let url = get(e, "url").as_string().unwrap();
            url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default()
        })
        .collect();
    let first = start_url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    assert_eq!(paths, [first.as_str(), "/spa/a", "/spa/b", "/spa/a#section"]);
    let views = of_kind("page_view");
    // An SPA page's referrer is the page before it.
    assert!(get(&views[2], "referrer").as_string().unwrap().ends_with("/spa/a"));
    assert!(get(&views[3], "referrer").as_string().unwrap().ends_with("/spa/b"));
}

/// Routers push the new URL and set the title in the same task (or its
/// microtasks): the page view carries the new page's title, and a page left
/// again within the task keeps the title it had.
#[wasm_bindgen_test]
async fn an_spa_page_view_has_the_title_the_router_sets_after_pushing_state() {
    setup(&[], &[]);
    let history = window().history().unwrap();
    let start_url = document().location().unwrap().href().unwrap();
    let start_title = document().title();
    start("demo-shop", Some(COLLECTOR));
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/title-a")).unwrap();
    document().set_title("Title A");
    history.push_state_with_url(&JsValue::NULL, "", Some("/spa/title-b")).unwrap();
    // ...and this title in a microtask, as routers that await do.
    let later = Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| document().set_title("Title B"));
    let _ = js_sys::Promise::resolve(&JsValue::NULL).then(&later);
    later.forget();
    sleep(50).await;
    goaltag(&[s("flush")]);
    requests(1).await;
    history.replace_state_with_url(&JsValue::NULL, "", Some(&start_url)).unwrap();
    document().set_title(&start_title);
    let views = of_kind("page_view");
    let seen: Vec<(String, String)> = views[1..]
        .iter()
        .map(|e| (get(e, "url").as_string().unwrap().rsplit('/').next().unwrap().to_string(), get(e, "title").as_string().unwrap()))
        .collect();
    assert_eq!(seen, [("title-a".to_string(), "Title A".to_string()), ("title-b".to_string(), "Title B".to_string())]);
}

/// A tag that stops takes every listener with it: page events after that
/// reach nothing of it (a listener left behind would call a dropped closure,
/// which throws into the page).
#[wasm_bindgen_test]
async fn a_stopped_tag_leaves_no_listener_behind() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    requests(1).await;
    shutdown();
    let errors = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = errors.clone();
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| seen.set(seen.get() + 1));
    window().add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref()).unwrap();
    // No link or form: nothing here may navigate, whatever the browser does.
    let root = mount(r#"<span id="gone">x</span>"#);
    by_id("gone").click();
    dispatch(by_id("gone").as_ref(), "submit");
    for kind in ["popstate", "pageshow", "pagehide", "online", "offline"] {
        dispatch(window().as_ref(), kind);
    }
    dispatch(document().as_ref(), "visibilitychange");
    sleep(100).await;
    root.remove();
    window().remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref()).unwrap();
    assert_eq!(errors.get(), 0, "a listener of the stopped tag ran");
    assert_eq!(SENT.with(|s| s.borrow().len()), 1, "nothing sent after the stop");
}

/// Everything the tag could have written in this browser.
fn storage_of_the_tag() -> Vec<String> {
    let mut found = Vec::new();
    for store in [window().local_storage().unwrap().unwrap(), window().session_storage().unwrap().unwrap()] {
        for i in 0..store.length().unwrap() {
            let k = store.key(i).unwrap().unwrap_or_default();
            if k.to_ascii_lowercase().contains("goaltag") || k.starts_with("gt") {
                found.push(k);
            }
        }
    }
    let cookies = js_sys::Reflect::get(&document(), &"cookie".into()).unwrap().as_string().unwrap_or_default();
    if cookies.contains("goaltag") || cookies.contains("gt") {
        found.push(cookies);
    }
    found
}

#[wasm_bindgen_test]
async fn with_consent_unknown_nothing_is_sent_or_stored_until_granted_then_held_events_arrive_once() {
    setup(&[], &[args(&[s("event"), s("before-consent")])]);
    start_with("demo-shop", Some(COLLECTOR), None);
    let root = mount(r#"<button id="b">Buy</button>"#);
    by_id("b").click();
    goaltag(&[s("flush")]);
    root.remove();
    assert!(storage_of_the_tag().is_empty(), "{:?}", storage_of_the_tag());
    // Below, the first request after the grant holds exactly the held events:
    // had anything been sent while unknown, it would be that first request.
    goaltag(&[s("consent"), s("update"), obj(&[("analytics_storage", s("granted"))])]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    sleep(200).await;
    let evs = all_events();
    let kinds: Vec<String> = evs.iter().map(|e| get(e, "kind").as_string().unwrap()).collect();
    assert_eq!(kinds, ["page_view", "event", "click"], "held events arrive once, in order (the load's view before the queued event)");
    for e in &evs {
        assert_eq!(get(&get(e, "consent"), "analytics_storage").as_string().unwrap(), "granted");
    }
    assert!(storage_of_the_tag().contains(&"goaltag_cid".to_string()), "granted: the client ID is stored");
}

#[wasm_bindgen_test]
async fn data_consent_denied_sends_nothing_in_basic_mode() {
    setup(&[], &[args(&[s("event"), s("x")])]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    goaltag(&[s("event"), s("y")]);
    goaltag(&[s("flush")]);
    assert!(storage_of_the_tag().is_empty());
    // Had x or y been sent, they would be in the first request below.
    // A later grant resumes: the queue never stays paused.
    goaltag(&[s("consent"), s("update"), obj(&[("analytics_storage", s("granted"))])]);
    goaltag(&[s("event"), s("z")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    let actions: Vec<String> = all_events().iter().filter_map(|e| get(e, "action").as_string()).collect();
    assert_eq!(actions, ["z"], "x and y were recorded under the denial");
    assert_eq!(of_kind("page_view").len(), 1, "the page itself is recorded at the grant");
}

const GOALS: &str = r#"[
  {"id": "cta", "primary": false, "when": {"type": "click", "selector": ".buy-box"}},
  {"id": "broken", "when": {"type": "url", "op": "regex", "value": "(unclosed"}},
  {"id": "signup", "when": {"type": "form_submit", "selector": "form.signup"}},
  {"id": "purchase", "when": {"type": "event", "action": {"op": "equals", "value": "purchase"}},
   "revenue": {"kind": "variable", "default": 5}, "currency": "EUR"},
  {"id": "read", "when": {"type": "duration", "min_seconds": 1}}
]"#;

fn config_goals() {
    let goals = js_sys::JSON::parse(GOALS).unwrap();
    goaltag(&[s("config"), obj(&[("goals", goals)])]);
}

fn conversions_of(goal: &str) -> Vec<JsValue> {
    of_kind("conversion").into_iter().filter(|c| get(c, "goal").as_string().as_deref() == Some(goal)).collect()
}

#[wasm_bindgen_test]
async fn a_real_click_inside_a_goal_selector_converts_and_a_bad_regex_disables_only_its_goal() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert!(
        errors.iter().any(|e| e.contains("broken") && e.contains(".when.value")),
        "the invalid pattern is reported with its goal: {errors:?}"
    );
    let full = explained(1).await;
    assert!(
        full.iter().any(|e| e.contains("broken") && e.contains("a valid regular expression")),
        "the invalid pattern is reported with its goal: {full:?}"
    );
    let root = mount(r#"<div class="buy-box"><p><span id="deep">Add <b id="deeper">now</b></span></p></div><span id="out">x</span>"#);
    by_id("deeper").click();
    by_id("out").click();
    flush_and_unmount(root).await;
    let conv = conversions_of("cta");
    assert_eq!(conv.len(), 1, "one click inside the selector, one outside");
    let clicks = of_kind("click");
    assert_eq!(clicks.len(), 2);
    assert_eq!(get(&conv[0], "trigger").as_string(), get(&clicks[0], "id").as_string());
    assert_eq!(get(&conv[0], "primary").as_bool(), Some(false));
    assert!(get(&conv[0], "visit_id").as_string().is_some());
    assert_eq!(get(&conv[0], "client_id").as_string(), get(&clicks[0], "client_id").as_string());
}

#[wasm_bindgen_test]
async fn a_form_goal_converts_without_any_field_value_and_a_purchase_carries_its_value() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    let root =
        mount(r#"<form class="signup" action="/s"><input name="email" value="typed.by.visitor@example.org"><button>Go</button></form>"#);
    prevent_default_on(root.as_ref(), "submit");
    let form: web_sys::HtmlFormElement = root.query_selector("form").unwrap().unwrap().dyn_into().unwrap();
    form.request_submit().unwrap();
    goaltag(&[s("event"), s("purchase"), obj(&[("value", 12.5.into()), ("currency", s("USD")), ("transaction_id", s("T-77"))])]);
    flush_and_unmount(root).await;
    assert_eq!(conversions_of("signup").len(), 1);
    for body in body_texts() {
        assert!(!body.contains("typed.by.visitor"), "a field value leaked: {body}");
    }
    let p = conversions_of("purchase");
    assert_eq!(p.len(), 1);
    assert_eq!(get(&p[0], "value").as_f64(), Some(12.5));
    assert_eq!(get(&p[0], "currency").as_string().as_deref(), Some("USD"));
    assert_eq!(get(&p[0], "transaction_id").as_string().as_deref(), Some("T-77"));
    // The same purchase again (a reloaded confirmation page) converts no more.
    goaltag(&[s("event"), s("purchase"), obj(&[("value", 12.5.into()), ("transaction_id", s("T-77"))])]);
    goaltag(&[s("flush")]);
    requests(2).await;
    sleep(100).await;
    assert_eq!(conversions_of("purchase").len(), 1);
}

#[wasm_bindgen_test]
async fn a_duration_goal_converts_after_the_visible_time() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    assert_eq!(document().visibility_state(), web_sys::VisibilityState::Visible, "headless pages count as visible");
    for _ in 0..40 {
        if !conversions_of("read").is_empty() {
            break;
        }
        goaltag(&[s("flush")]);
        sleep(100).await;
    }
    let read = conversions_of("read");
    assert_eq!(read.len(), 1, "one engaged-time conversion after about a second");
    let views = of_kind("page_view");
    assert_eq!(get(&read[0], "trigger").as_string(), get(&views[0], "id").as_string());
}

#[wasm_bindgen_test]
async fn revoking_consent_removes_everything_the_tag_stored() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    goaltag(&[s("consent"), s("update"), obj(&[("ad_storage", s("granted"))])]);
    goaltag(&[s("event"), s("purchase"), obj(&[("transaction_id", s("T-1"))])]);
    // The coalesced save comes a moment after the change.
    for _ in 0..30 {
        if storage_of_the_tag().len() >= 3 {
            break;
        }
        sleep(100).await;
    }
    let mut stored: Vec<String> = storage_of_the_tag().into_iter().filter(|k| !k.starts_with("goaltag_outbox.")).collect();
    stored.sort();
    assert_eq!(stored, ["goaltag_cid", "goaltag_goals", "goaltag_visit"]);
    goaltag(&[s("consent"), s("update"), obj(&[("analytics_storage", s("denied")), ("ad_storage", s("denied"))])]);
    assert!(storage_of_the_tag().is_empty(), "{:?}", storage_of_the_tag());
    goaltag(&[s("event"), s("after")]);
    sleep(1500).await;
    assert!(storage_of_the_tag().is_empty(), "nothing written after the revocation");
}

fn outbox_texts() -> Vec<String> {
    let ls = window().local_storage().unwrap().unwrap();
    storage_of_the_tag().into_iter().filter(|k| k.starts_with("goaltag_outbox.")).filter_map(|k| ls.get_item(&k).unwrap()).collect()
}

fn dispatch(target: &web_sys::EventTarget, kind: &str) {
    target.dispatch_event(&web_sys::Event::new(kind).unwrap()).unwrap();
}

#[wasm_bindgen_test]
async fn unacknowledged_events_are_persisted_and_the_next_page_resends_them_with_the_same_ids() {
    setup(&[503, 503, 503, 503, 503, 503], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("config"), obj(&[("delivery", obj(&[("base_ms", 60_000.into()), ("max_backoff_ms", 60_000.into())]))])]);
    goaltag(&[s("event"), s("keep-me")]);
    goaltag(&[s("flush")]);
    requests(1).await;
    let first: Vec<String> = events(0).iter().map(|e| get(e, "id").as_string().unwrap()).collect();
    // The coalesced save, a moment after the failure.
    for _ in 0..30 {
        if outbox_texts().iter().any(|t| first.iter().all(|id| t.contains(id.as_str()))) {
            break;
        }
        sleep(100).await;
    }
    assert!(outbox_texts().iter().any(|t| first.iter().all(|id| t.contains(id.as_str()))), "{:?}", outbox_texts());
    // The page goes away: its beacons leave, its queue is released.
    dispatch(window().as_ref(), "pagehide");
    let beaconed = SENT.with(|s| s.borrow().len());
    // The next page of the site, with the collector answering again.
    next_page(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    requests(1).await;
    // A later event's arrival, rather than a fixed wait, says everything before it has come.
    goaltag(&[s("event"), s("marker")]);
    goaltag(&[s("flush")]);
    for _ in 0..60 {
        if all_events().iter().any(|e| get(e, "action").as_string().as_deref() == Some("marker")) {
            break;
        }
        sleep(50).await;
    }
    let resent: Vec<String> = all_events().iter().map(|e| get(e, "id").as_string().unwrap()).collect();
    for id in &first {
        assert_eq!(resent.iter().filter(|r| *r == id).count(), 1, "{id} resent once: {resent:?} ({beaconed} beacons before)");
    }
    for _ in 0..30 {
        if outbox_texts().is_empty() {
            break;
        }
        sleep(100).await;
    }
    assert!(outbox_texts().is_empty(), "acknowledged: nothing left persisted: {:?}", outbox_texts());
}

#[wasm_bindgen_test]
async fn offline_pauses_sending_and_online_resumes_it() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    requests(1).await;
    let before = SENT.with(|s| s.borrow().len());
    dispatch(window().as_ref(), "offline");
    goaltag(&[s("event"), s("while-offline")]);
    goaltag(&[s("flush")]);
    sleep(300).await; // a flushed batch would leave at once if the tag ignored offline
    let online_at = js_sys::Date::now();
    dispatch(window().as_ref(), "online");
    assert_eq!(requests(before + 1).await, before + 1);
    let sent_at = SENT.with(|s| s.borrow()[before].at);
    assert!(sent_at >= online_at, "sent while offline: {sent_at} < {online_at}");
    let actions: Vec<String> = all_events().iter().filter_map(|e| get(e, "action").as_string()).collect();
    assert_eq!(actions, ["while-offline"]);
}

/// Every call to `crypto.getRandomValues` while `f` runs (the tag draws its
/// random bytes 256 at a time, so a call is a pool refill).
fn random_calls_during(f: impl FnOnce()) -> u32 {
    let crypto = get(&window(), "crypto");
    let original: Function = get(&crypto, "getRandomValues").dyn_into().unwrap();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let (counted, this) = (calls.clone(), crypto.clone());
    let wrapper = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |a: JsValue| {
        counted.set(counted.get() + 1);
        original.call1(&this, &a).unwrap()
    });
    Reflect::set(&crypto, &"getRandomValues".into(), wrapper.as_ref()).unwrap();
    f();
    Reflect::delete_property(crypto.unchecked_ref::<Object>(), &"getRandomValues".into()).unwrap();
    calls.get()
}

#[wasm_bindgen_test]
async fn sending_spends_no_randomness_only_event_ids_do() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    // Each visibilitychange runs the tag's send pump once; 64 of them once
    // drew 16 bytes each (4 refills of the pool) for an argument nothing used.
    let pumps = random_calls_during(|| {
        for _ in 0..64 {
            dispatch(document().as_ref(), "visibilitychange");
        }
    });
    assert_eq!(pumps, 0, "64 pumps refilled the random pool {pumps} times");
    // The counter does see the tag's draws: 17 event IDs take 272 bytes.
    let ids = random_calls_during(|| {
        for _ in 0..17 {
            goaltag(&[s("event"), s("counted")]);
        }
    });
    assert!(ids >= 1, "17 event IDs drew no random bytes?");
    goaltag(&[s("flush")]);
    requests(2).await;
    assert_eq!(all_events().iter().filter(|e| get(e, "action").as_string().as_deref() == Some("counted")).count(), 17);
}

fn consent_of(e: &JsValue) -> Vec<String> {
    let c = get(e, "consent");
    ["analytics_storage", "ad_storage", "ad_user_data", "ad_personalization"]
        .iter()
        .map(|k| get(&c, k).as_string().unwrap_or_default())
        .collect()
}

fn actions_in(request: usize) -> Vec<String> {
    events(request).iter().map(|e| get(e, "action").as_string().unwrap_or_else(|| get(e, "kind").as_string().unwrap())).collect()
}

/// A stand-in CMP: `__tcfapi('addEventListener', 2, cb)` keeps `cb` for
/// [`tcf_answer`], and calls it at once with `first` (tcData JSON) if given.
fn stub_tcfapi(first: Option<&str>) {
    let now = first.map(|j| format!("cb({j}, true);")).unwrap_or_default();
    let body = format!(
        "if (cmd !== 'addEventListener' || version !== 2) throw new Error('unexpected __tcfapi call ' + cmd);
         window.__tcf_listener = cb; {now}"
    );
    let f = Function::new_with_args("cmd, version, cb", &body);
    Reflect::set(&window(), &"__tcfapi".into(), &f).unwrap();
}

/// The CMP calls the tag's listener, as it does on load and on every choice.
fn tcf_answer(tc_data: &str) {
    let cb: Function = get(&window(), "__tcf_listener").dyn_into().expect("the tag registered a TCF listener");
    cb.call2(&JsValue::NULL, &JSON::parse(tc_data).unwrap(), &true.into()).unwrap();
}

fn tc_data(status: &str, consents: &[u32]) -> String {
    let c: Vec<String> = consents.iter().map(|n| format!(r#""{n}":true"#)).collect();
    format!(
        r#"{{"tcString":"CQ...","eventStatus":"{status}","gdprApplies":true,"purpose":{{"consents":{{{}}},"legitimateInterests":{{"7":true}}}},"vendor":{{"consents":{{"755":true}}}}}}"#,
        c.join(",")
    )
}

#[wasm_bindgen_test]
async fn the_tcf_adapter_follows_the_cmp_through_tcloaded_and_useractioncomplete() {
    setup(&[], &[args(&[s("consent"), s("source"), s("tcf")]), args(&[s("event"), s("before")])]);
    // The CMP's first answer: the UI is shown, no decision. It must not decide anything.
    stub_tcfapi(Some(&tc_data("cmpuishown", &[])));
    start_with("demo-shop", Some(COLLECTOR), None);
    assert!(ERRORS.with(|e| e.borrow().is_empty()), "{:?}", ERRORS.with(|e| e.borrow().clone()));
    assert!(storage_of_the_tag().is_empty(), "held, nothing stored: {:?}", storage_of_the_tag());

    // tcloaded with purpose 1 only: storage, but no conversions data or personalisation.
    tcf_answer(&tc_data("tcloaded", &[1]));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["page_view", "before"], "held events arrive once the CMP answers");
    for e in events(0) {
        assert_eq!(consent_of(&e), ["granted", "granted", "denied", "denied"]);
    }
    assert_eq!(storage_of_the_tag(), ["goaltag_cid"]);

    reject_then_accept(
        || tcf_answer(&tc_data("useractioncomplete", &[])),
        || tcf_answer(&tc_data("useractioncomplete", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
    )
    .await;
}

#[wasm_bindgen_test]
async fn a_cmp_answering_at_once_counts_and_a_missing_cmp_is_reported() {
    // gdprApplies false, answered synchronously inside the 'source' call.
    setup(&[], &[args(&[s("consent"), s("source"), s("tcf")])]);
    stub_tcfapi(Some(r#"{"eventStatus":"tcloaded","gdprApplies":false}"#));
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["page_view"]);
    assert_eq!(consent_of(&events(0)[0]), ["granted"; 4], "GDPR does not apply: granted");

    setup(&[], &[args(&[s("consent"), s("source"), s("tcf")]), args(&[s("event"), s("x")])]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("__tcfapi") && errors[0].contains("tcf"), "{}", errors[0]);
    // The default stays: denied, and the tag still takes later updates.
    goaltag(&[s("consent"), s("update"), obj(&[("analytics_storage", s("granted"))])]);
    goaltag(&[s("event"), s("y")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["page_view", "y"], "the page at the grant, then y; x was recorded under the denial");
}

/// What orestbida/cookieconsent v3 writes: URI-encoded JSON with the accepted categories.
fn set_cc_cookie(categories: &[&str]) {
    let cats: Vec<String> = categories.iter().map(|c| format!(r#""{c}""#)).collect();
    let json = format!(r#"{{"categories":[{}],"revision":0,"data":null,"consentId":"c-1","services":{{}}}}"#, cats.join(","));
    let v = String::from(js_sys::encode_uri_component(&json));
    Reflect::set(&document(), &"cookie".into(), &s(&format!("cc_cookie={v}; path=/; SameSite=Lax"))).unwrap();
}

/// The banner's `cc:onChange` window event, with its `detail.cookie`.
fn dispatch_cc(kind: &str, categories: &[&str]) {
    let f = Function::new_with_args(
        "kind, cats",
        "window.dispatchEvent(new CustomEvent(kind, {detail: {cookie: {categories: cats}, changedCategories: []}}));",
    );
    let cats: Array = categories.iter().map(|c| s(c)).collect();
    f.call2(&JsValue::NULL, &s(kind), &cats).unwrap();
}

#[wasm_bindgen_test]
async fn the_cookie_adapter_reads_the_banner_cookie_and_follows_its_events() {
    // A returning visitor who accepted analytics only.
    setup(&[], &[args(&[s("consent"), s("source"), obj(&[("cookie", s("cc_cookie"))])])]);
    set_cc_cookie(&["necessary", "analytics"]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["page_view"]);
    assert_eq!(consent_of(&events(0)[0]), ["granted", "denied", "denied", "denied"]);
    assert_eq!(storage_of_the_tag(), ["goaltag_cid"]);

    // Privacy settings: everything off, then everything on.
    reject_then_accept(
        || dispatch_cc("cc:onChange", &["necessary"]),
        || dispatch_cc("cc:onChange", &["necessary", "analytics", "marketing"]),
    )
    .await;
}

#[wasm_bindgen_test]
async fn a_first_choice_in_the_banner_arrives_as_cc_on_consent() {
    // No cookie yet: the denied default holds until the visitor accepts.
    setup(&[], &[args(&[s("consent"), s("source"), obj(&[("cookie", s("cc_cookie"))])]), args(&[s("event"), s("before")])]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    dispatch_cc("cc:onConsent", &["necessary", "ads"]);
    goaltag(&[s("event"), s("chosen")]);
    goaltag(&[s("flush")]);
    // Ads without analytics is still no sending in basic mode; analytics now:
    dispatch_cc("cc:onChange", &["necessary", "analytics", "ads"]);
    goaltag(&[s("event"), s("analytics-too")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(actions_in(0), ["page_view", "analytics-too"], "nothing recorded under the denial is sent; the page at the grant");
    assert_eq!(consent_of(&events(0)[0]), ["granted"; 4]);
}

#[wasm_bindgen_test]
async fn opt_out_sends_nothing_more_keeps_only_its_marker_and_opt_in_resumes() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("event"), s("a")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert!(storage_of_the_tag().contains(&"goaltag_cid".to_string()));

    goaltag(&[s("opt_out")]);
    assert_eq!(storage_of_the_tag(), ["goaltag_optout"]);
    goaltag(&[s("event"), s("b")]);
    goaltag(&[s("flush")]);

    // The next page load: the marker is found, whatever data-consent says.
    shutdown();
    Reflect::set(&window(), &"goaltag".into(), &obj(&[("q", args(&[args(&[s("event"), s("c")])]))])).unwrap();
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    sleep(1200).await; // past the coalesced storage write, which must not happen
    assert_eq!(storage_of_the_tag(), ["goaltag_optout"]);

    goaltag(&[s("opt_in")]);
    assert!(!storage_of_the_tag().contains(&"goaltag_optout".to_string()));
    goaltag(&[s("event"), s("d")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(2).await, 2);
    assert_eq!(actions_in(1), ["page_view", "d"], "b and c were never sent; the page is recorded at the opt-in");
    assert_eq!(SENT.with(|s| s.borrow().len()), 2);
}

/// A click's handler only notes the click (what INP counts stays short); the
/// tag records it in a task of its own. A link that leaves at once must not
/// lose it: the page hide records what is pending before it beacons.
#[wasm_bindgen_test]
async fn a_click_on_a_link_that_leaves_at_once_goes_out_in_the_page_hide_beacon() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    sleep(50).await; // the page view's request has left
    let beacons = std::rc::Rc::new(RefCell::new(Vec::<String>::new()));
    let seen = beacons.clone();
    let beacon = Closure::<dyn FnMut(JsValue, JsValue) -> bool>::new(move |_url: JsValue, body: JsValue| {
        seen.borrow_mut().push(body.as_string().unwrap_or_default());
        true
    });
    let navigator = get(&window(), "navigator");
    Reflect::set(&navigator, &"sendBeacon".into(), beacon.as_ref()).unwrap();
    let root = mount(r#"<a id="leave" href="/next">Next page</a>"#);
    prevent_default_on(root.as_ref(), "click");
    let link = by_id("leave");
    let requests_before = SENT.with(|s| s.borrow().len());
    // The click and the page hide in one task, as when a navigation is fast.
    link.click();
    dispatch(window().as_ref(), "pagehide");
    Reflect::delete_property(navigator.unchecked_ref::<Object>(), &"sendBeacon".into()).unwrap();
    root.remove();
    let clicks: Vec<JsValue> = beacons
        .borrow()
        .iter()
        .flat_map(|b| Array::from(&get(&JSON::parse(b).unwrap(), "events")).iter().collect::<Vec<_>>())
        .filter(|e| get(e, "kind").as_string().as_deref() == Some("click"))
        .collect();
    assert_eq!(clicks.len(), 1, "the click is in the page hide's beacon: {:?}", beacons.borrow());
    assert_eq!(get(&get(&clicks[0], "element"), "id").as_string().as_deref(), Some("leave"));
    assert_eq!(SENT.with(|s| s.borrow().len()), requests_before, "the click left by beacon, not by a fetch");
    drop(beacon);
}

/// The loader's click reader keeps to the capture rules: a click on a plain
/// element names it but copies none of its text; an input button gives no
/// text either.
#[wasm_bindgen_test]
async fn a_click_outside_any_link_or_button_copies_no_page_text() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    let root = mount(
        r#"<div id="article" class="long"><p id="para">Private reading, all of it.</p></div>
           <form id="f"><input id="go" type="submit" value="Go now"></form>"#,
    );
    prevent_default_on(root.as_ref(), "click");
    prevent_default_on(root.as_ref(), "submit");
    by_id("para").click();
    by_id("go").click();
    flush_and_unmount(root).await;
    let clicks = of_kind("click");
    assert_eq!(clicks.len(), 2, "{clicks:?}");
    let first = get(&clicks[0], "element");
    assert_eq!(get(&first, "tag").as_string().as_deref(), Some("p"));
    assert_eq!(get(&first, "id").as_string().as_deref(), Some("para"));
    assert!(get(&first, "text").is_undefined(), "no text of a plain element");
    let second = get(&clicks[1], "element");
    assert_eq!(get(&second, "tag").as_string().as_deref(), Some("input"));
    assert!(get(&second, "text").is_undefined(), "no text of an input");
    assert!(body_texts().iter().all(|b| !b.contains("Private reading")), "{:?}", body_texts());
}

// --- Consent after landing (issue 13) ---

/// The test page as if it had loaded from an ad: its URL gets `query`
/// (`history.replaceState`, before the tag boots, so no navigation is seen).
/// Returns the URL to put back with [`leave_landing`].
fn land_with(query: &str) -> String {
    let href = window().location().href().unwrap();
    window().history().unwrap().replace_state_with_url(&JsValue::NULL, "", Some(query)).unwrap();
    href
}

fn leave_landing(href: &str) {
    shutdown();
    window().history().unwrap().replace_state_with_url(&JsValue::NULL, "", Some(href)).unwrap();
}

fn click_id_of(e: &JsValue) -> Option<String> {
    get(&get(&get(e, "attribution"), "click_ids"), "msclkid").as_string()
}

const ALL: [&str; 4] = ["necessary", "analytics", "marketing", "ads"];

/// The demo's main path: denied by default, the visitor arrives from an ad and
/// accepts the banner on the landing page. The landing page is recorded at the
/// grant, with the campaign of the URL it loaded with.
#[wasm_bindgen_test]
async fn accepting_the_banner_on_the_landing_page_records_it_with_its_ad_click() {
    let href = land_with("?utm_source=bing&utm_medium=cpc&msclkid=abc123");
    setup(&[], &[args(&[s("consent"), s("source"), obj(&[("cookie", s("cc_cookie"))])])]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    goaltag(&[s("event"), s("while-denied")]);
    sleep(100).await;
    assert!(storage_of_the_tag().is_empty(), "denied: nothing stored");
    let before_grant = js_sys::Date::now();
    dispatch_cc("cc:onConsent", &ALL);
    goaltag(&[s("event"), s("purchase"), obj(&[("value", 12.5.into())])]);
    goaltag(&[s("flush")]);
    // The grant's batch is the first request: nothing left before it.
    let n = requests(1).await;
    sleep(1200).await; // the coalesced storage write
    let stored = storage_of_the_tag();
    leave_landing(&href);
    assert_eq!(n, 1);
    assert_eq!(actions_in(0), ["page_view", "purchase"], "the page view is recorded at the grant; nothing of the denial");
    let view = &events(0)[0];
    assert!(get(view, "ts").as_f64().unwrap() >= before_grant.floor(), "recorded at the moment of the grant");
    assert!(get(view, "url").as_string().unwrap().ends_with("?utm_source=bing&utm_medium=cpc&msclkid=abc123"));
    assert_eq!(click_id_of(view).as_deref(), Some("abc123"));
    assert_eq!(get(&get(&get(view, "attribution"), "utm"), "utm_source").as_string().as_deref(), Some("bing"));
    assert!(get(view, "client_id").as_string().is_some());
    assert!(stored.contains(&"goaltag_campaign".to_string()), "{stored:?}");
}

/// `url_passthrough`: while ad storage is denied, the link the visitor follows
/// (and a GET form's fields) carry the landing's click ID and utm parameters;
/// other links and other sites are left alone, and nothing is sent or stored.
#[wasm_bindgen_test]
async fn url_passthrough_decorates_only_what_is_followed_while_ad_storage_is_denied() {
    let href = land_with("?utm_source=bing&msclkid=abc123&q=1");
    let config = obj(&[("url_passthrough", true.into())]);
    setup(&[], &[args(&[s("config"), config]), args(&[s("consent"), s("source"), obj(&[("cookie", s("cc_cookie"))])])]);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    let root = mount(
        r#"<a id="next" href="/specials.html?sku=coffee#buy">Specials</a> <a id="other" href="/cart.html">Cart</a>
           <a id="away" href="https://elsewhere.example/">Away</a>
           <form id="search" action="/search" method="get"><input name="q" value="tea"></form>"#,
    );
    prevent_default_on(root.as_ref(), "click");
    prevent_default_on(root.as_ref(), "submit");
    by_id("next").click();
    by_id("away").click();
    let form: web_sys::HtmlFormElement = by_id("search").dyn_into().unwrap();
    form.request_submit().unwrap();
    let link = |id: &str| by_id(id).get_attribute("href").unwrap();
    let next = link("next");
    let (other, away) = (link("other"), link("away"));
    let hidden: Vec<(String, String)> = (0..form.elements().length())
        .filter_map(|i| form.elements().item(i))
        .filter(|e| e.get_attribute("type").as_deref() == Some("hidden"))
        .map(|e| (e.get_attribute("name").unwrap(), e.get_attribute("value").unwrap()))
        .collect();
    // Ad storage granted: nothing is decorated any more.
    dispatch_cc("cc:onConsent", &ALL);
    by_id("other").click();
    let other_after = link("other");
    goaltag(&[s("flush")]);
    let n = requests(1).await;
    root.remove();
    leave_landing(&href);
    assert_eq!(n, 1);
    assert!(next.ends_with("/specials.html?sku=coffee&utm_source=bing&msclkid=abc123#buy"), "{next}");
    assert_eq!((other.as_str(), away.as_str()), ("/cart.html", "https://elsewhere.example/"));
    assert_eq!(hidden, [("utm_source".to_string(), "bing".to_string()), ("msclkid".to_string(), "abc123".to_string())]);
    assert_eq!(other_after, "/cart.html");
    // The first request is the grant's: the clicks while denied were never sent.
    assert_eq!(actions_in(0), ["page_view", "click"]);
    let click = &events(0)[1];
    assert_eq!(get(&get(click, "element"), "id").as_string().as_deref(), Some("other"));
}

/// "Reject all" in the banner's preferences: the tag sees the click a moment
/// before the banner's change event. Neither that click nor an event recorded
/// in the same task may leave afterwards; the drop is counted, not silent.
#[wasm_bindgen_test]
async fn a_click_whose_own_handler_revokes_consent_is_never_sent() {
    setup(&[], &[args(&[s("consent"), s("source"), obj(&[("cookie", s("cc_cookie"))])])]);
    set_cc_cookie(&ALL);
    start_with("demo-shop", Some(COLLECTOR), Some("denied"));
    assert_eq!(requests(1).await, 1, "the page view under the stored choice");
    let root = mount(r#"<button id="reject">Reject all</button>"#);
    let reject = Closure::<dyn FnMut()>::new(|| {
        set_cc_cookie(&["necessary"]);
        dispatch_cc("cc:onChange", &["necessary"]);
    });
    by_id("reject").add_event_listener_with_callback("click", reject.as_ref().unchecked_ref()).unwrap();
    goaltag(&[s("event"), s("same-task")]);
    by_id("reject").click();
    sleep(1200).await; // past the batch delay
                       // The positive signal: after a new grant, the next batch arrives.
    dispatch_cc("cc:onChange", &ALL);
    goaltag(&[s("event"), s("after")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(2).await, 2);
    root.remove();
    drop(reject);
    assert_eq!(actions_in(1), ["after"], "nothing recorded before the revocation");
    assert!(body_texts().iter().all(|b| !b.contains("same-task") && !b.contains("\"reject\"")), "{:?}", body_texts());
    let body = SENT.with(|s| s.borrow()[1].body());
    assert_eq!(get(&get(&body, "dropped"), "consent").as_f64(), Some(2.0), "the click and the event, counted");
}

// --- Defects found in review (issue 14) ---

/// A tag that turned itself off (an internal error) must not keep the page's
/// later calls: a page that calls on forever would grow memory forever.
#[wasm_bindgen_test]
async fn a_stopped_tag_drops_calls_and_says_so_once() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    assert_eq!(requests(1).await, 1, "running: the page view");
    goaltag::browser::turn_off();
    for i in 0..1000 {
        goaltag(&[s("event"), JsValue::from(i)]);
    }
    let deferred = goaltag::browser::deferred_calls();
    let said: Vec<String> = ERRORS.with(|e| e.borrow().iter().filter(|m| m.contains("calls are ignored")).cloned().collect());
    shutdown();
    assert_eq!(deferred, 0, "calls kept by a stopped tag");
    assert_eq!(said.len(), 1, "{said:?}");
}

/// Runs page script, as an inline `<script>` would; returns what it returns.
fn page_js(code: &str) -> JsValue {
    Function::new_no_args(code).call0(&JsValue::NULL).expect("the page's script does not throw")
}

/// Google's gtag snippet, as a page puts it before its banner and its tags.
const GTAG_SNIPPET: &str = "window.dataLayer = window.dataLayer || []; window.gtag = function gtag(){dataLayer.push(arguments);};";

/// The custom events' actions in a request (a page view recorded at a grant is not counted).
fn custom_actions_in(request: usize) -> Vec<String> {
    events(request).iter().filter_map(|e| get(e, "action").as_string()).collect()
}

fn data_layer_len() -> f64 {
    get(&get(&window(), "dataLayer"), "length").as_f64().unwrap()
}

#[wasm_bindgen_test]
async fn the_gcm_source_follows_gtag_consent_commands_from_before_and_after_the_tag() {
    setup(&[], &[args(&[s("consent"), s("source"), s("gcm")]), args(&[s("event"), s("before")])]);
    // The page's head: the snippet, the denied default (with types goaltag does
    // not have), GTM's own push, other gtag commands, and an array, which
    // Google's tags do not take for a command either.
    page_js(&format!(
        "{GTAG_SNIPPET}
         gtag('consent', 'default', {{analytics_storage: 'denied', ad_storage: 'denied', ad_user_data: 'denied',
           ad_personalization: 'denied', functionality_storage: 'granted', security_storage: 'granted'}});
         dataLayer.push({{event: 'gtm.js', 'gtm.start': 1}});
         gtag('js', new Date()); gtag('config', 'G-TEST');
         dataLayer.push(['consent', 'update', {{analytics_storage: 'granted'}}]);"
    ));
    start_with("demo-shop", Some(COLLECTOR), None);
    assert!(ERRORS.with(|e| e.borrow().is_empty()), "{:?}", ERRORS.with(|e| e.borrow().clone()));
    goaltag(&[s("event"), s("while-denied")]);
    goaltag(&[s("flush")]);
    assert!(storage_of_the_tag().is_empty(), "denied by the gtag default: {:?}", storage_of_the_tag());

    // The banner answers after the tag loaded.
    page_js("gtag('consent', 'update', {analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted', ad_personalization: 'denied'});");
    goaltag(&[s("event"), s("granted")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(custom_actions_in(0), ["granted"], "nothing recorded under the gtag default is sent");
    for e in events(0) {
        assert_eq!(consent_of(&e), ["granted", "granted", "granted", "denied"]);
    }
    assert!(storage_of_the_tag().contains(&"goaltag_cid".to_string()));

    reject_then_accept(
        || {
            page_js("gtag('consent', 'update', {analytics_storage: 'denied', ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied'});");
        },
        || {
            page_js("gtag('consent', 'update', {analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted', ad_personalization: 'granted'});");
        },
    )
    .await;
    // Every push landed on the array once: 5 in the head, 3 updates.
    assert_eq!(data_layer_len(), 8.0);
}

#[wasm_bindgen_test]
async fn the_gcm_source_keeps_gtm_wrappers_working_and_honours_wait_for_update() {
    setup(&[], &[args(&[s("consent"), s("source"), s("gcm")])]);
    // A GTM-like wrapper installed before the tag: it calls the push it found,
    // then handles the items, and returns its own value.
    page_js(&format!(
        "{GTAG_SNIPPET}
         window.gtmBefore = [];
         (function (dl) {{ var push = dl.push; dl.push = function () {{
           var r = push.apply(dl, arguments);
           for (var i = 0; i < arguments.length; i++) gtmBefore.push(arguments[i]);
           return r === dl.length ? 'gtm-before' : 'wrong length';
         }}; }})(dataLayer);
         gtag('consent', 'default', {{analytics_storage: 'granted', ad_storage: 'denied', ad_user_data: 'denied',
           ad_personalization: 'denied', wait_for_update: 5000}});"
    ));
    start_with("demo-shop", Some(COLLECTOR), None);
    // Held by wait_for_update, so re-stamped with the update's consent when it comes.
    goaltag(&[s("event"), s("held")]);
    goaltag(&[s("flush")]);
    assert_eq!(
        page_js("return gtag('consent', 'update', {ad_storage: 'granted', ad_user_data: 'granted'}) || dataLayer.push({event: 'after'});")
            .as_string()
            .as_deref(),
        Some("gtm-before"),
        "the page's push returns what GTM's wrapper returns"
    );
    assert_eq!(requests(1).await, 1);
    assert_eq!(custom_actions_in(0), ["held"]);
    for e in events(0) {
        assert_eq!(consent_of(&e), ["granted", "granted", "granted", "denied"], "held until the update");
    }
    assert_eq!(get(&get(&window(), "gtmBefore"), "length").as_f64(), Some(3.0), "GTM saw every push once");

    // A GTM-like wrapper installed after the tag calls through to the tag's.
    page_js(
        "window.gtmAfter = [];
         (function (dl) { var push = dl.push; dl.push = function () {
           for (var i = 0; i < arguments.length; i++) gtmAfter.push(arguments[i]);
           return push.apply(dl, arguments);
         }; })(dataLayer);",
    );
    reject_then_accept(
        || {
            page_js("gtag('consent', 'update', {analytics_storage: 'denied', ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied'});");
        },
        || {
            page_js("gtag('consent', 'update', {analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted', ad_personalization: 'granted'});");
        },
    )
    .await;
    assert_eq!(get(&get(&window(), "gtmAfter"), "length").as_f64(), Some(2.0));
    assert_eq!(get(&get(&window(), "gtmBefore"), "length").as_f64(), Some(5.0));
    assert_eq!(data_layer_len(), 5.0);
}

#[wasm_bindgen_test]
async fn a_region_scoped_gcm_default_only_denies_and_warns_once() {
    setup(&[], &[args(&[s("consent"), s("source"), s("gcm")])]);
    page_js(&format!(
        "window.warned = []; window.realWarn = console.warn;
         console.warn = function (m) {{ warned.push(String(m)); }};
         {GTAG_SNIPPET}
         gtag('consent', 'default', {{analytics_storage: 'denied', ad_storage: 'denied', ad_user_data: 'denied',
           ad_personalization: 'denied', region: ['AT', 'BE', 'DE', 'ES', 'FR']}});
         gtag('consent', 'default', {{analytics_storage: 'granted', ad_storage: 'granted', ad_user_data: 'granted',
           ad_personalization: 'granted'}});
         gtag('consent', 'default', {{analytics_storage: 'granted', region: ['US']}});"
    ));
    start_with("demo-shop", Some(COLLECTOR), None);
    page_js("console.warn = realWarn;");
    goaltag(&[s("event"), s("under-the-defaults")]);
    goaltag(&[s("flush")]);
    page_js("gtag('consent', 'update', {analytics_storage: 'granted'});");
    goaltag(&[s("event"), s("after-the-update")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(custom_actions_in(0), ["after-the-update"], "the region's denial applied to this visitor");
    assert_eq!(consent_of(&events(0)[0]), ["granted", "denied", "denied", "denied"]);
    let warned: Vec<String> = Array::from(&get(&window(), "warned")).iter().filter_map(|w| w.as_string()).collect();
    assert_eq!(warned.iter().filter(|w| w.contains("region")).count(), 1, "{warned:?}");
}

#[wasm_bindgen_test]
async fn a_missing_replaced_or_foreign_data_layer_never_breaks_the_page() {
    // No dataLayer when the tag starts: it creates the array, and the
    // snippet that runs later keeps it.
    setup(&[], &[args(&[s("consent"), s("source"), s("gcm")])]);
    start_with("demo-shop", Some(COLLECTOR), None);
    page_js(&format!("{GTAG_SNIPPET} gtag('consent', 'default', {{analytics_storage: 'granted'}});"));
    goaltag(&[s("event"), s("created")]);
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(custom_actions_in(0), ["created"]);
    // The page replaces the array: its pushes still work; the tag follows the array it had.
    assert_eq!(
        page_js("window.dataLayer = []; gtag('consent', 'update', {analytics_storage: 'denied'}); return dataLayer.length;").as_f64(),
        Some(1.0)
    );

    // Something else than an array: left as it is, said once, and the tag runs on its default.
    setup(&[], &[args(&[s("consent"), s("source"), s("gcm")]), args(&[s("event"), s("x")])]);
    page_js("window.dataLayer = {push: 5};");
    start_with("demo-shop", Some(COLLECTOR), Some("granted"));
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("gcm"), "{}", errors[0]);
    let full = explained(1).await;
    assert!(full.len() == 1 && full[0].contains("dataLayer") && full[0].contains("gcm"), "{full:?}");
    assert_eq!(get(&get(&window(), "dataLayer"), "push").as_f64(), Some(5.0));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1);
    assert_eq!(custom_actions_in(0), ["x"]);
}

// --- Fewer, compressed requests (issue 16) ---

/// A burst of events goes as one large batch, gzip-compressed by the
/// browser (CompressionStream) to the collector's `c=gzip` URL, still a
/// CORS-simple text/plain request without keepalive; a small batch stays plain.
#[wasm_bindgen_test]
async fn a_burst_goes_in_one_gzipped_cors_simple_request_and_a_small_batch_stays_plain() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    goaltag(&[s("flush")]);
    assert_eq!(requests(1).await, 1, "the page view alone");
    for i in 0..300 {
        goaltag(&[s("event"), s("burst"), obj(&[("label", JsValue::from(i))])]);
    }
    goaltag(&[s("flush")]);
    assert_eq!(requests(2).await, 2);
    sleep(300).await; // anything else that would leave
    SENT.with(|sent| {
        let sent = sent.borrow();
        assert_eq!(sent.len(), 2, "300 events in one request");
        assert!(!sent[0].url.contains("c=gzip") && sent[0].init_field("gzipped").is_undefined(), "small: plain");
        let r = &sent[1];
        assert_eq!(r.url, [COLLECTOR, "?c=gzip"].concat());
        assert_eq!(r.init_field("gzipped").as_bool(), Some(true));
        // The one header, and a CORS-safelisted value of it: no preflight.
        let headers = r.init_field("headers");
        assert_eq!(js_sys::Object::keys(headers.unchecked_ref::<js_sys::Object>()).length(), 1);
        let ty = get(&headers, "content-type").as_string().unwrap();
        assert!(ty.starts_with("text/plain"), "CORS-simple: {ty}");
        assert_ne!(r.init_field("keepalive").as_bool(), Some(true));
    });
    let labels: Vec<f64> = events(1).iter().map(|e| get(e, "label").as_string().unwrap().parse().unwrap()).collect();
    assert_eq!(labels, (0..300).map(f64::from).collect::<Vec<_>>(), "all of them, in order, once");
}

// --- Issue 25 ---

/// `analytics_storage` granted, `ad_storage` denied, landing from an ad: no
/// click ID leaves in the page's URL, a link's href, a form's action or any
/// other field; other parameters stay. Granting `ad_storage` lets them through.
#[wasm_bindgen_test]
async fn no_click_id_leaves_while_ad_storage_is_denied() {
    let href = land_with("?gclid=G-1&utm_source=google&msclkid=MS-5&q=shoes&sccid=SC-9");
    let config = obj(&[("click_ids", [s("sccid")].into_iter().collect::<Array>().into())]);
    let default = obj(&[("analytics_storage", s("granted")), ("ad_storage", s("denied"))]);
    setup(&[], &[args(&[s("config"), config]), args(&[s("consent"), s("default"), default])]);
    start_with("demo-shop", Some(COLLECTOR), None);
    let root = mount(
        r#"<a id="ad-link" href="/offer?fbclid=FB-6&ref=nav">Offer</a>
           <form id="ad-form" action="/search?ttclid=TT-7&x=1" method="post"><input name="q" value="tea"></form>"#,
    );
    prevent_default_on(root.as_ref(), "click");
    prevent_default_on(root.as_ref(), "submit");
    by_id("ad-link").click();
    by_id("ad-form").dyn_into::<web_sys::HtmlFormElement>().unwrap().request_submit().unwrap();
    let shared = window().location().href().unwrap();
    goaltag(&[s("event"), s("share"), obj(&[("label", s(&shared))])]);
    goaltag(&[s("flush")]);
    let n = requests(1).await;
    goaltag(&[s("consent"), s("update"), obj(&[("ad_storage", s("granted"))])]);
    goaltag(&[s("event"), s("granted")]);
    goaltag(&[s("flush")]);
    let m = requests(n + 1).await;
    root.remove();
    leave_landing(&href);
    assert!(m > n, "the request after the grant");
    let bodies = body_texts();
    let (denied, granted) = bodies.split_at(n);
    let denied = denied.concat();
    for id in ["gclid", "G-1", "msclkid", "MS-5", "sccid", "SC-9", "fbclid", "FB-6", "ttclid", "TT-7"] {
        assert!(!denied.contains(id), "{id} left while ad_storage was denied: {denied}");
    }
    assert!(denied.contains("?utm_source=google&q=shoes"), "{denied}");
    assert!(denied.contains("/offer?ref=nav") && denied.contains("/search?x=1"), "{denied}");
    let kinds: Vec<String> = all_events().iter().take(4).filter_map(|e| get(e, "kind").as_string()).collect();
    assert_eq!(kinds, ["page_view", "click", "form_submit", "event"]);
    assert!(granted.concat().contains("gclid=G-1"), "granted: sent as they are");
}

/// `Retry-After` as an HTTP-date, read by the real browser: the retry waits
/// until then (the usual first backoff is under 0.5 s).
#[wasm_bindgen_test]
async fn retry_after_as_an_http_date_delays_the_retry_until_then() {
    setup(&[503], &[]);
    let date = page_js("return new Date(Date.now() + 3000).toUTCString();").as_string().unwrap();
    let date_ms = js_sys::Date::parse(&date);
    RETRY_AFTER.with(|r| *r.borrow_mut() = Some(date));
    start("demo-shop", Some(COLLECTOR));
    assert_eq!(requests(1).await, 1);
    for _ in 0..100 {
        if SENT.with(|s| s.borrow().len()) >= 2 {
            break;
        }
        sleep(100).await;
    }
    let at: Vec<f64> = SENT.with(|s| s.borrow().iter().map(|r| r.at).collect());
    shutdown();
    assert_eq!(at.len(), 2, "retried once");
    // Further from the date than the first backoff (at most 0.5 s) reaches.
    assert!(at[0] + 500.0 < date_ms, "answered {} ms before the date", date_ms - at[0]);
    assert!(at[1] >= date_ms && at[1] < date_ms + 1500.0, "retried {} ms after the date", at[1] - date_ms);
}

/// A burst of 1 000 events called before the tag loaded: the load's page
/// view is recorded before the first of them (so a conversion among them is
/// credited to the campaign the page loaded with), so the 1 001 events go
/// in two full compressed batches, the page view first, and a third, small,
/// plain request with the burst's last event (README, "Batching": 1 001
/// events do not fit in two batches of 500).
#[wasm_bindgen_test]
async fn a_burst_queued_before_the_tag_loads_leaves_its_last_event_for_a_third_request() {
    let queued: Vec<JsValue> =
        (0..1000).map(|i| args(&[s("event"), s("bench_event"), obj(&[("category", s("bench")), ("value", JsValue::from(i))])])).collect();
    setup(&[], &queued);
    start("demo-shop", Some(COLLECTOR));
    assert_eq!(requests(3).await, 3);
    sleep(300).await; // nothing else leaves
    let sent: Vec<(u32, bool)> = SENT.with(|sent| {
        sent.borrow().iter().map(|r| (get(&r.body(), "events").unchecked_into::<Array>().length(), r.url.contains("c=gzip"))).collect()
    });
    let (first, third) = (events(0), events(2));
    let size = body_texts()[2].len();
    shutdown();
    assert_eq!(sent, [(500, true), (500, true), (1, false)]);
    assert_eq!(get(&first[0], "kind").as_string().as_deref(), Some("page_view"));
    assert_eq!((get(&third[0], "kind").as_string().as_deref(), get(&third[0], "value").as_f64()), (Some("event"), Some(999.0)));
    assert!((300..500).contains(&size), "{size} bytes");
}

/// Every value the tag keeps in `localStorage`, joined.
fn stored_values() -> String {
    let ls = window().local_storage().unwrap().unwrap();
    storage_of_the_tag().iter().filter_map(|k| ls.get_item(k).ok().flatten()).collect::<Vec<_>>().join("\n")
}

/// The raw details a checkout passes to `goaltag('user_data', …)` in the tests below.
fn user_data_call() -> Vec<JsValue> {
    vec![
        s("user_data"),
        obj(&[
            ("email", s(" John_Smith@gmail.com ")),
            ("phone", s("(650)555-1212")),
            // "Zoë" with a combining diaeresis: the browser's NFC makes it one character.
            ("first_name", s("Zoe\u{0308}")),
        ]),
    ]
}

const RAW: [&str; 6] = ["John_Smith", "john_smith", "(650)555-1212", "6505551212", "Zoe", "zoe"];

/// Enhanced conversions (issue 27): the conversion carries each platform's
/// hashes; the raw email, phone and name are in no request and nowhere in
/// storage (the outbox is persisted here: the collector answers 503 first).
#[wasm_bindgen_test]
async fn user_data_leaves_only_as_hashes_on_the_conversion() {
    setup(&[503], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    goaltag(&[s("config"), obj(&[("phone_country_code", s("1")), ("delivery", obj(&[("base_ms", 300.into())]))])]);
    goaltag(&user_data_call());
    goaltag(&[s("event"), s("purchase"), obj(&[("transaction_id", s("T-27"))])]);
    goaltag(&[s("flush")]);
    // The refused batch is persisted, then retried: wait for the conversion to arrive again.
    for _ in 0..60 {
        if conversions_of("purchase").len() >= 2 {
            break;
        }
        sleep(50).await;
    }
    let p = conversions_of("purchase");
    assert!(p.len() >= 2, "the conversion was sent, refused and sent again: {}", p.len());
    let u = get(&p[0], "user_data");
    let at = |platform: &str, field: &str| get(&get(&u, platform), field).as_string();
    // Meta's published examples, and SHA-256 of the NFC, lower-cased "zoë".
    assert_eq!(at("meta", "em").as_deref(), Some("62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"));
    assert_eq!(at("meta", "ph").as_deref(), Some("e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"));
    assert_eq!(at("google", "fn").as_deref(), Some("2752b88686847fa5c86f47b94ce652b7b3f22a91c37617d451a4db9afa431450"));
    assert_eq!(at("microsoft", "ph").as_deref(), Some("1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8"), "+16505551212");
    for e in all_events() {
        if get(&e, "kind").as_string().as_deref() != Some("conversion") {
            assert!(get(&e, "user_data").is_undefined(), "only conversions carry it");
        }
    }
    let stored = stored_values();
    for raw in RAW {
        for body in body_texts() {
            assert!(!body.contains(raw), "{raw} in a request: {body}");
        }
        assert!(!stored.contains(raw), "{raw} in storage: {stored}");
    }
}

/// The same call while `ad_user_data` is denied: accepted without a word,
/// and the conversion (which must arrive first) carries no `user_data`.
#[wasm_bindgen_test]
async fn with_ad_user_data_denied_no_user_data_is_sent() {
    setup(&[], &[]);
    start("demo-shop", Some(COLLECTOR));
    config_goals();
    goaltag(&[s("config"), obj(&[("phone_country_code", s("1"))])]);
    goaltag(&[s("consent"), s("update"), obj(&[("ad_user_data", s("denied"))])]);
    goaltag(&user_data_call());
    goaltag(&[s("event"), s("purchase"), obj(&[("transaction_id", s("T-28"))])]);
    goaltag(&[s("flush")]);
    for _ in 0..60 {
        if !conversions_of("purchase").is_empty() {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(conversions_of("purchase").len(), 1, "the conversion itself is sent");
    assert!(all_events().iter().all(|e| get(e, "user_data").is_undefined()));
    let errors = ERRORS.with(|e| e.borrow().clone());
    assert!(errors.iter().all(|e| !e.contains("user_data")), "accepted without a word: {errors:?}");
    let stored = stored_values();
    for raw in RAW {
        assert!(body_texts().iter().all(|b| !b.contains(raw)) && !stored.contains(raw), "{raw}");
    }
}
