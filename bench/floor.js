// The hand-written floor: the least a tag can do and still be useful. Events
// (custom ones and auto-captured clicks) go into an array, each with its own
// ID, and leave in one sendBeacon at flush or page hide. No retries, no
// consent, no validation: this is the cost to beat, not a product.
(function () {
  var script = document.currentScript;
  var url = script.getAttribute('data-collector');
  var q = [];
  function rec(name, props) {
    q.push({ id: crypto.randomUUID(), name: name, ts: Date.now(), props: props });
  }
  document.addEventListener('click', function (e) {
    var el = e.target.closest && e.target.closest('a,button');
    if (el) rec('click', { tag: el.tagName, id: el.id, href: el.href, text: el.textContent.trim().slice(0, 100) });
  }, true);
  // One beacon, unless the queue is over what sendBeacon accepts in flight
  // (64 KiB in Chromium): then as few pieces under 60 KB as that takes, and a
  // plain fetch for a piece the browser refuses to beacon.
  function send(body) {
    if (!navigator.sendBeacon(url, body)) fetch(url, { method: 'POST', body: body }).then(function (r) { return r.text(); }, function () {});
  }
  function flush() {
    var parts = [], size = 0;
    for (var i = 0; i < q.length; i++) {
      var s = JSON.stringify(q[i]);
      if (size + s.length > 60000 && parts.length) { send('{"events":[' + parts.join(',') + ']}'); parts = []; size = 0; }
      parts.push(s); size += s.length + 1;
    }
    if (parts.length) send( '{"events":[' + parts.join(',') + ']}');
    q = [];
  }
  addEventListener('pagehide', flush);
  document.addEventListener('visibilitychange', function () { if (document.visibilityState === 'hidden') flush(); });
  window.floor = { event: rec, flush: flush };
  rec('page_view', { url: location.href });
})();
