// goaltag's start-up, one path for both ways in: the script tag (loader.js)
// and the npm package's ES module (module.js). build.sh puts it after the
// glue and describe.js, in the same scope. Loads the wasm at `wasmUrl`, waits
// for `config` (a value or a promise of one: the configuration applied
// before the first page view), starts the tag with `attrs` (the data-*
// attributes: site, collector, spa, consent), which runs the calls queued on
// the stub `window.goaltag` and replaces it. Resolves once running or failed.
//
// Each step of start-up (src/browser/mod.rs: prepare, begin, run, listen)
// runs in a task of its own, so that none holds the page's main thread for
// long; calls made meanwhile wait on the stub, as before the wasm arrived.
function goaltagStart(wasmUrl, attrs, config) {
  // Clicks, submits and navigations (History API calls, popstate,
  // hashchange) made before the tag listens are kept as they came, with the
  // time and the page's address then: the last step records them as if it
  // had been listening, in the task that stops this keeping. The page view
  // takes the time and address at which this script ran (a router may
  // rewrite the address before the wasm is ready).
  var d = goaltagDescribe, early = (d.early = []), on = true, h = history;
  d.loaded = [Date.now(), document.URL];
  var keep = function (e) {
    if (on) early.push([e, Date.now(), document.URL]);
  };
  var kinds = ['click', 'submit', 'popstate', 'hashchange'];
  var each = function (add) {
    kinds.forEach(function (kind, i) {
      (i < 2 ? document : window)[add ? 'addEventListener' : 'removeEventListener'](kind, keep, add ? { capture: true, passive: true } : true);
    });
  };
  // A History API call is kept after the router's own call, as null for the
  // event. A wrapper another script put over this one stays in place, and
  // this one stops keeping.
  var calls = ['pushState', 'replaceState'].map(function (name) {
    var f = h[name], w = function () {
      var r = f.apply(this, arguments);
      keep(null);
      return r;
    };
    h[name] = w;
    return function () {
      if (h[name] === w) h[name] = f;
    };
  });
  var stop = function () {
    on = false;
    each();
    calls.forEach(function (restore) {
      restore();
    });
  };
  each(1);
  return Promise.all([wasm_bindgen({ module_or_path: wasmUrl }), config]).then(function (loaded) {
    // The texts of the tag's console messages sit beside the wasm too.
    goaltagDescribe.messages = new URL('goaltag.messages.json', wasmUrl);
    var steps = ['prepare', 'begin', 'run', 'listen'];
    return new Promise(function (done) {
      (function next() {
        setTimeout(function () {
          var step = steps.shift();
          if (!steps.length) stop();
          try {
            // Each step takes what it needs of these.
            wasm_bindgen[step](attrs, loaded[1], goaltagDescribe);
          } catch (e) {
            stop();
            return done();
          }
          if (steps.length) return next();
          var api = window.goaltag;
          // A call that fails inside the tag must never throw into the page that made it.
          window.goaltag = function () {
            try {
              return api.apply(this, arguments);
            } catch (e) {}
          };
          done();
        });
      })();
    });
  }, function (e) {
    stop();
    console.error('goaltag: could not load ' + wasmUrl + ': ' + e);
  });
}
