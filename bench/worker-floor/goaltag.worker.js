// The worker of the Worker-mode floor (see goaltag.js beside it): compiles
// and instantiates the real wasm beside it (its imports as functions that do
// nothing: the floor runs none of its code), then builds a page view, asks
// the page to store it, sends it, and asks the page to clear it.
self.onmessage = function (e) {
  var m = e.data;
  if (m.t !== 'start') return;
  WebAssembly.compileStreaming(fetch('goaltag_bg.wasm')).then(function (mod) {
    var imports = {};
    WebAssembly.Module.imports(mod).forEach(function (i) {
      (imports[i.module] = imports[i.module] || {})[i.name] = function () {};
    });
    return WebAssembly.instantiate(mod, imports);
  }).then(function () {
    var view = { id: crypto.randomUUID(), kind: 'page_view', at: m.at, url: m.url, referrer: m.ref, title: m.title };
    var body = JSON.stringify({ site: m.attrs.site, sent_at: Date.now(), events: [view] });
    self.postMessage({ t: 'store', k: 'gt.q', v: body });
    self.postMessage({ t: 'unsent', b: body });
    return fetch(m.attrs.collector, { method: 'POST', body: body, credentials: 'omit' }).then(function () {
      self.postMessage({ t: 'store', k: 'gt.q', v: '' });
      self.postMessage({ t: 'unsent', b: '' });
    });
  });
};
