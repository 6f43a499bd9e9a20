// The demo shop's cookie banner, not the tag's code: a small stand-in for
// orestbida/cookieconsent v3. It writes the same cookie (cc_cookie: the
// URI-encoded JSON with the accepted `categories`) and dispatches the same
// window events (cc:onFirstConsent, cc:onConsent, cc:onChange with
// detail.cookie), so the tag follows it through
// goaltag('consent', 'source', {cookie: 'cc_cookie'}) exactly as it would
// follow the real banner. "Privacy settings" in the footer reopens it.
(function () {
  var NAME = 'cc_cookie', OPTIONAL = ['analytics', 'marketing'];

  function read() {
    var m = document.cookie.match(/(?:^|;)\s*cc_cookie=([^;]+)/);
    try {
      var v = m && JSON.parse(decodeURIComponent(m[1]));
      return v && Array.isArray(v.categories) ? v : null;
    } catch (e) {
      return null;
    }
  }

  function fire(name, detail) {
    window.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function save(categories) {
    var old = read(), now = new Date().toISOString(), services = {};
    ['necessary'].concat(OPTIONAL).forEach(function (c) { services[c] = []; });
    var value = {
      categories: categories,
      revision: 0,
      data: null,
      consentTimestamp: old ? old.consentTimestamp : now,
      consentId: old ? old.consentId : (crypto.randomUUID ? crypto.randomUUID() : String(Date.now())),
      services: services,
      lastConsentTimestamp: now
    };
    document.cookie = NAME + '=' + encodeURIComponent(JSON.stringify(value)) +
      '; max-age=' + 182 * 86400 + '; path=/; SameSite=Lax';
    if (!old) {
      fire('cc:onFirstConsent', { cookie: value });
      fire('cc:onConsent', { cookie: value });
      return;
    }
    var changed = OPTIONAL.filter(function (c) {
      return (old.categories.indexOf(c) < 0) !== (categories.indexOf(c) < 0);
    });
    if (changed.length) fire('cc:onChange', { cookie: value, changedCategories: changed, changedServices: {} });
  }

  var box = document.createElement('div');
  box.id = 'cc-banner';
  box.className = 'cc';
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', 'Cookies and tracking');
  box.hidden = true;
  box.innerHTML =
    '<p><b>Cookies and tracking.</b> Weekend Goods measures visits and orders with goaltag. ' +
    'Until you accept analytics, the tag sends nothing and stores nothing.</p>' +
    '<div id="cc-prefs" hidden>' +
    '<label><input type="checkbox" checked disabled> Necessary: your cart</label>' +
    '<label><input type="checkbox" id="cc-analytics"> Analytics: page views, clicks and orders (analytics_storage)</label>' +
    '<label><input type="checkbox" id="cc-marketing"> Marketing: campaign and click IDs (ad_storage, ad_user_data, ad_personalization)</label>' +
    '</div><div class="cc-buttons">' +
    '<button class="btn" id="cc-accept">Accept all</button>' +
    '<button class="btn" id="cc-reject">Reject all</button>' +
    '<button class="btn ghost" id="cc-customise">Customise</button>' +
    '<button class="btn" id="cc-save" hidden>Save choices</button></div>';
  document.body.appendChild(box);

  function $(id) { return document.getElementById(id); }
  function open(customise) {
    var c = read(), cats = c ? c.categories : [];
    OPTIONAL.forEach(function (k) { $('cc-' + k).checked = cats.indexOf(k) >= 0; });
    $('cc-prefs').hidden = !customise;
    $('cc-save').hidden = !customise;
    $('cc-customise').hidden = customise;
    box.hidden = false;
  }
  function choose(categories) {
    save(['necessary'].concat(categories));
    box.hidden = true;
  }

  $('cc-accept').addEventListener('click', function () { choose(OPTIONAL); });
  $('cc-reject').addEventListener('click', function () { choose([]); });
  $('cc-customise').addEventListener('click', function () { open(true); });
  $('cc-save').addEventListener('click', function () {
    choose(OPTIONAL.filter(function (k) { return $('cc-' + k).checked; }));
  });
  var settings = $('privacy-settings');
  if (settings) {
    settings.addEventListener('click', function (e) {
      e.preventDefault();
      open(true);
    });
  }

  var saved = read();
  if (saved) fire('cc:onConsent', { cookie: saved }); // as cookieconsent does on every page load
  else open(false);
})();
