// goaltag loader: appended to wasm-bindgen's no-modules glue and wrapped in one
// function scope by build.sh, so nothing but `window.goaltag` reaches the page.
var script = document.currentScript;
var attrs = {};
if (script && script.dataset) {
  for (var key in script.dataset) attrs[key] = script.dataset[key];
}
// The wasm sits next to this file, wherever the site serves it from.
var wasmUrl = new URL('goaltag_bg.wasm', (script && script.src) || location.href);
// data-config names a JSON file of configuration (goals, mostly), fetched
// beside the wasm so that goals are known before the first page view. A
// missing or broken file is reported; the tag still starts without it.
var fileConfig = attrs.config && fetch(new URL(attrs.config, location.href)).then(function (r) {
  if (!r.ok) throw new Error('HTTP ' + r.status);
  return r.json();
}).catch(function (e) {
  console.error('goaltag: could not load data-config "' + attrs.config + '": ' + e.message);
});
Promise.all([wasm_bindgen({ module_or_path: wasmUrl }), fileConfig]).then(function (loaded) {
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
