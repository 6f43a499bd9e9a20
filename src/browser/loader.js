// goaltag's script-tag loader: build.sh puts it after wasm-bindgen's
// no-modules glue, describe.js and start.js, all in one function scope, so
// nothing but `window.goaltag` reaches the page.
var script = document.currentScript;
// Its data-* attributes (a DOMStringMap's own properties), copied.
var attrs = Object.assign({}, script && script.dataset);
// data-config names a JSON file of configuration (goals, mostly), fetched
// beside the wasm so that goals are known before the first page view. A
// missing or broken file is reported; the tag still starts without it.
goaltagStart(
  // The wasm sits next to this file, wherever the site serves it from.
  new URL('goaltag_bg.wasm', (script && script.src) || location.href),
  attrs,
  attrs.config && fetch(new URL(attrs.config, location.href)).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }).catch(function (e) {
    console.error('goaltag: could not load data-config "' + attrs.config + '": ' + e.message);
  })
);
