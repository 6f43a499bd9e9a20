// The floor of a Worker mode (issue 28, lever 2): the least the page itself
// would do if the core ran in a dedicated worker, to measure what such a
// mode costs the page's main thread at most. Not a tag: it starts the
// worker, hands it the page's facts and the calls queued on the stub, reads
// the storage a worker cannot, forwards calls, clicks and submits (each
// described, deciding nothing), stores what the worker asks, and beacons
// what is unsent when the page is hidden. The worker (goaltag.worker.js)
// compiles and instantiates the real wasm and sends a page view.
//
//   cp www/goaltag/goaltag_bg.wasm bench/worker-floor/
//   node bench/startup-ab.mjs bench/worker-floor none      (or www/goaltag)
//
// docs/startup.md (What was tried) has its figures.
(function () {
  var s = document.currentScript, stub = window.goaltag, q = (stub && stub.q) || [];
  var url = s.dataset.collector, unsent = '', stored = {}, w, i, k;
  try {
    w = new Worker(new URL('goaltag.worker.js', s.src));
  } catch (e) {
    return;
  }
  try {
    for (i = 0; i < localStorage.length; i++) {
      k = localStorage.key(i);
      if (k.indexOf('gt.') === 0) stored[k] = localStorage.getItem(k);
    }
  } catch (e) {}
  var list = function (a) {
    return [].slice.call(a);
  };
  w.postMessage({ t: 'start', attrs: Object.assign({}, s.dataset), url: document.URL, ref: document.referrer,
    title: document.title, at: Date.now(), stored: stored, q: [].map.call(q, list) });
  w.onmessage = function (e) {
    var m = e.data;
    if (m.t === 'store') {
      try {
        localStorage.setItem(m.k, m.v);
      } catch (x) {}
    } else if (m.t === 'unsent') unsent = m.b;
  };
  // Calls and clicks go to the worker in one message per task: a message
  // each made garbage enough (1 000 calls in a burst) for two full garbage
  // collections on the next page.
  var out = [];
  var post = function (m) {
    if (!out.length) queueMicrotask(function () {
      w.postMessage({ t: 'many', m: out });
      out = [];
    });
    out.push(m);
  };
  window.goaltag = function () {
    post(list(arguments));
  };
  var on = function (e) {
    var el = e.target && e.target.closest && e.target.closest('a,button,[role=button],input[type=submit]');
    if (el) post([e.type, Date.now(), [el.localName, el.id, el.getAttribute('class'), el.href || '', el.textContent].join('\0')]);
  };
  document.addEventListener('click', on, true);
  document.addEventListener('submit', on, true);
  var hide = function () {
    if (unsent) navigator.sendBeacon(url, unsent);
  };
  addEventListener('pagehide', hide);
  addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'hidden') hide();
  });
})();
