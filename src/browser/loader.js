// goaltag loader: appended to wasm-bindgen's no-modules glue and wrapped in one
// function scope by build.sh, so nothing but `window.goaltag` reaches the page.
var script = document.currentScript;
var attrs = {};
if (script && script.dataset) {
  for (var key in script.dataset) attrs[key] = script.dataset[key];
}
// The wasm sits next to this file, wherever the site serves it from.
var wasmUrl = new URL('goaltag_bg.wasm', (script && script.src) || location.href);
wasm_bindgen({ module_or_path: wasmUrl }).then(function () {
  try {
    wasm_bindgen.boot(attrs);
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
