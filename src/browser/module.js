// goaltag as an ES module (the npm package): build.sh puts it after the
// glue, describe.js and start.js. The same engine and commands as the script
// tag: calls made before init() go to the same stub queue (window.goaltag.q)
// the script tag's inline stub fills, and init() boots through the same
// start-up path. Nothing here runs at import, so importing on a server
// (no window) is harmless.

var started;

// The script tag's stub, installed on first use: it queues calls until the
// tag replaces it.
function current() {
  var g = window.goaltag;
  if (typeof g != 'function') {
    g = window.goaltag = function () {
      (g.q = g.q || []).push(arguments);
    };
  }
  return g;
}

export function init(options) {
  if (typeof window == 'undefined') return Promise.resolve(false);
  var o = options || {};
  if (started) {
    if (o.site !== started.o.site || o.collector !== started.o.collector || o.consent !== started.o.consent) {
      console.error('goaltag: init() already ran with other options; these are ignored (change configuration with goaltag(\'config\', …))');
    }
    return started.p;
  }
  // As the script tag's data-* attributes: only those given.
  var attrs = {};
  ['site', 'collector', 'consent'].forEach(function (k) {
    if (o[k] != null) attrs[k] = o[k];
  });
  // The tag runs once it has replaced the stub it drained.
  var stub = current();
  started = {
    o: o,
    p: goaltagStart(new URL('./goaltag_bg.wasm', import.meta.url), attrs, o.config).then(function () {
      return window.goaltag !== stub;
    }),
  };
  return started.p;
}

export function goaltag() {
  if (typeof window != 'undefined') current().apply(window, arguments);
}
