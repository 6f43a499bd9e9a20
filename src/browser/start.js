// goaltag's start-up, one path for both ways in: the script tag (loader.js)
// and the npm package's ES module (module.js). build.sh puts it after the
// glue and describe.js, in the same scope. Loads the wasm at `wasmUrl`, waits
// for `config` (a value or a promise of one: the configuration applied
// before the first page view), boots the tag with `attrs` (the data-*
// attributes: site, collector, spa, consent), which runs the calls queued on
// the stub `window.goaltag` and replaces it. Resolves once running or failed.
function goaltagStart(wasmUrl, attrs, config) {
  return Promise.all([wasm_bindgen({ module_or_path: wasmUrl }), config]).then(function (loaded) {
    // The texts of the tag's console messages sit beside the wasm too.
    goaltagDescribe.messages = new URL('goaltag.messages.json', wasmUrl);
    try {
      wasm_bindgen.boot(attrs, loaded[1], goaltagDescribe);
    } catch (e) {
      return;
    }
    var api = window.goaltag;
    // A call that fails inside the tag must never throw into the page that made it.
    window.goaltag = function () {
      try {
        return api.apply(this, arguments);
      } catch (e) {}
    };
  }, function (e) {
    console.error('goaltag: could not load ' + wasmUrl + ': ' + e);
  });
}
