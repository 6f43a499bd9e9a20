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
  // Clicks and submits made before the tag listens are kept as they came,
  // with the time and the page's address then: the last step records them
  // as if it had been listening, in the task that stops these listeners.
  var early = (goaltagDescribe.early = []);
  var keep = function (e) {
    early.push([e, Date.now(), document.URL]);
  };
  var kinds = ['click', 'submit'];
  var stop = function () {
    kinds.forEach(function (kind) {
      document.removeEventListener(kind, keep, true);
    });
  };
  kinds.forEach(function (kind) {
    document.addEventListener(kind, keep, { capture: true, passive: true });
  });
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
