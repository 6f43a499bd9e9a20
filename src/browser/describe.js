// goaltag's click description, in JS: the click handler runs inside the
// dispatch that INP counts, and reading the element here takes one call from
// the wasm instead of a dozen. It only reads; what is kept is decided in
// Rust (src/core/capture.rs from_description), which also hands in the
// selector of actionable elements and the attribute prefix. build.sh puts it
// in the loader's scope (without `export`); the browser tests import it as a
// module. `boot` gets it, and with it the helpers below: `gtag` (the
// adapters' one JS helper), `gzip`, `send` and `beacon` (the transport's),
// `store` and `explain`.
//
// Returns null when the target is not an element, else the fields joined by
// NUL: tag, '1' when the element is the nearest `actionable` one around the
// target (else it is the target itself), id, class, href, text, then
// name/value pairs of the attributes named `prefix`*, without the prefix.
// The text of an element that is not actionable is not even read (the rule
// keeps none, and a click on a large container must not copy the page's text).
export function goaltagDescribe(target, actionable, prefix) {
  if (!target || !target.closest) return null;
  var el = target.closest(actionable), own = !!el;
  el = el || target;
  var names = el.getAttributeNames(), out = [
    el.localName, own ? '1' : '', el.id, el.getAttribute('class'), typeof el.href === 'string' ? el.href : '',
    own ? el.textContent : ''];
  for (var i = 0; i < names.length; i++) {
    if (names[i].indexOf(prefix) === 0) out.push(names[i].slice(prefix.length), el.getAttribute(names[i]));
  }
  for (i = 0; i < out.length; i++) {
    var v = out[i] == null ? '' : String(out[i]);
    out[i] = v.indexOf('\0') < 0 ? v : v.split('\0').join('');
  }
  return out.join('\0');
}

// The Google Consent Mode source's follower of window.dataLayer (created
// if missing, as Google's snippet does; false if it is not an array, which
// is then left alone): calls `cb` with each gtag() call already on it, as an
// array of its arguments, then wraps `push` so each later one reaches `cb`
// too. The push that was there (the array's own, or a wrapper such as Google
// Tag Manager's) still runs, with the same `this`, arguments, result and
// exceptions; a wrapper added later calls through to this one. Like Google's
// tags, only `arguments` objects (what gtag() pushes) are commands: arrays
// and GTM's `{event: …}` objects are not. A throw in `cb` stays here.
goaltagDescribe.gtag = function (cb) {
  var list = window.dataLayer, push, each = function (a) {
    if (Object.prototype.toString.call(a) === '[object Arguments]') {
      try { cb([].slice.call(a)); } catch (e) {}
    }
  };
  if (list == null) list = window.dataLayer = [];
  if (!Array.isArray(list)) return false;
  list.forEach(each);
  push = list.push;
  list.push = function () {
    [].forEach.call(arguments, each);
    return push.apply(this, arguments);
  };
  return true;
};

// Compresses a batch body, its UTF-8 bytes, with the browser's own gzip
// (CompressionStream): a promise of [the compressed bytes, true], or of
// [the bytes as they were, false] when the browser cannot, which the caller
// then sends plain. Bytes, not text: a string would be decoded from the wasm
// and encoded again (a Blob of the text cost ~5 µs of main thread an event
// in a burst). Which bodies are compressed is decided in Rust (the outbox).
goaltagDescribe.gzip = function (bytes) {
  var plain = function () { return [bytes, false]; };
  try {
    var gz = new Response(bytes).body.pipeThrough(new CompressionStream('gzip'));
    return new Response(gz).arrayBuffer().then(function (b) { return [b, true]; }, plain);
  } catch (e) {
    return Promise.resolve(plain());
  }
};

// The transport, one call from the wasm per request (src/browser/transport.rs
// decides what is sent where): POSTs `body` to `url`, credentials and the
// Referer header omitted (the page's address may hold click IDs that
// consent keeps off the wire; a beacon cannot omit it), as a CORS-simple
// text/plain body (no preflight), aborted after `ms` where
// AbortSignal.timeout exists. `body` is the batch's text, or with `gzUrl`
// (the outbox compresses this batch) its UTF-8 bytes, compressed first and
// sent there; if the browser could not compress, they go plain to `url`.
// Resolves to [status, Retry-After, the header as a date in ms or NaN] and cancels the answer's body (an unread
// one keeps holding its request's share of Chromium's 64 KiB keepalive
// budget); rejects on a network error.
goaltagDescribe.send = function (url, gzUrl, body, ms) {
  var go = function (r) {
    var init = { method: 'POST', credentials: 'omit', referrerPolicy: 'no-referrer', body: r[0] };
    // Bytes carry no type of their own; text gets this one from fetch.
    if (typeof r[0] != 'string') init.headers = { 'content-type': 'text/plain;charset=UTF-8' };
    try { init.signal = AbortSignal.timeout(ms); } catch (e) {}
    return fetch(r[1] ? gzUrl : url, init).then(function (r) {
      try { r.body && r.body.cancel(); } catch (e) {}
      var a = r.headers.get('Retry-After');
      return [r.status, a, Date.parse(a)];
    });
  };
  return gzUrl ? goaltagDescribe.gzip(body).then(go) : go([body, false]);
};

// A page going away: navigator.sendBeacon (text/plain, outlives the page),
// or, when the beacon is refused and the body `fits` the keepalive budget,
// a keepalive fetch. False when neither could be started.
goaltagDescribe.beacon = function (url, body, fits) {
  try {
    if (navigator.sendBeacon(url, body)) return true;
  } catch (e) {}
  if (!fits) return false;
  fetch(url, { method: 'POST', credentials: 'omit', referrerPolicy: 'no-referrer', keepalive: true, body: body });
  return true;
};

// localStorage, one call from the wasm per use (what is stored, and when,
// is decided in Rust): `op` 0 reads `key` (null when absent), 1 writes
// `value`, 2 removes `key`, 3 lists the keys that start with `key`.
// Storage that throws (sandboxed frames, a visitor who blocks site data)
// reads as nothing, and the tag works from memory.
goaltagDescribe.store = function (op, key, value) {
  try {
    var s = localStorage, keys = [], i;
    if (op == 0) return s.getItem(key);
    if (op == 1) s.setItem(key, value);
    if (op == 2) s.removeItem(key);
    for (i = 0; op == 3 && i < s.length; i++) if (s.key(i).indexOf(key) == 0) keys.push(s.key(i));
    return keys;
  } catch (e) {}
};

// Unicode for enhanced conversions' normalisation (src/core/user_data),
// with the browser's tables so the wasm carries none: `s` in NFC and lower
// case, or with `strip` decomposed (NFD) and without its combining accents.
goaltagDescribe.fold = function (s, strip) {
  s = s.normalize(strip ? 'NFD' : 'NFC').toLowerCase();
  return strip ? s.replace(/[\u0300-\u036f]/g, '') : s;
};

// The full console line of an error the tag reported with a code
// (src/core/messages.rs): `line` is that line with \x01 where the text goes,
// `code` indexes the texts of goaltag.messages.json at
// `goaltagDescribe.messages` (set by start.js: beside the wasm), fetched
// once into `goaltagDescribe.texts`, when there first is something to
// explain, and `arg` fills the text's {}. Without the file the short line
// the tag printed stands.
goaltagDescribe.explain = function (line, code, arg) {
  var d = goaltagDescribe, put = function (s, a, b) {
    return s.replace(a, function () { return b; });
  };
  if (!d.texts && d.messages) d.texts = fetch(d.messages).then(function (r) { return r.json(); });
  if (d.texts) d.texts.then(function (t) {
    console.error(put(line, '\x01', put(t[code], '{}', arg)));
  }, function () {});
};
