// The goaltag dashboard: asks /report for the numbers and draws them with
// uPlot. No build step, no framework. Everything from the report goes into the
// page as text (textContent), never as HTML: utm values and referrers come from
// visitors' URLs and could carry markup.
'use strict';

// Errors are kept where a test (or a curious owner) can read them.
window.dashboardErrors = [];
window.addEventListener('error', function (e) { window.dashboardErrors.push(String(e.message || e)); });
window.addEventListener('unhandledrejection', function (e) { window.dashboardErrors.push(String(e.reason)); });
document.addEventListener('securitypolicyviolation', function (e) {
  window.dashboardErrors.push('CSP blocked ' + e.blockedURI + ' (' + e.violatedDirective + ')');
});

(function () {
  var COLORS = ['#3559e0', '#e0771f', '#1f9d74', '#b8418f', '#7a5cd6', '#c9a21a'];
  var charts = [];

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function fmt(n, digits) {
    return Number(n).toLocaleString('en-US', {minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0});
  }

  // A number cell: its text is what the report says at `path`, so a test can compare the two.
  function num(n, path, digits) {
    return el('span', {cls: 'num', 'data-figure': path, text: fmt(n, digits)});
  }

  function money(values, path) {
    if (!values.length) return el('span', {cls: 'muted', text: '–'});
    var parts = [];
    values.forEach(function (m, i) {
      if (i) parts.push(el('br'));
      parts.push(el('span', {cls: 'money'}, [num(m.value, path + '.' + i + '.value', 2), ' ' + (m.currency || '(no currency)')]));
    });
    return el('span', {}, parts);
  }

  function pct(rate) { return (rate * 100).toFixed(1) + '%'; }

  // rows: arrays of cells (a string or a node); numeric columns align right.
  function table(id, headers, rows, numeric) {
    var t = $(id);
    t.textContent = '';
    var head = el('tr', {}, headers.map(function (h, i) { return el('th', {cls: numeric[i] ? 'r' : '', text: h}); }));
    t.appendChild(el('thead', {}, [head]));
    var body = el('tbody');
    if (!rows.length) body.appendChild(el('tr', {}, [el('td', {colspan: headers.length, cls: 'muted', text: 'Nothing in this range.'})]));
    rows.forEach(function (r) {
      body.appendChild(el('tr', {}, r.map(function (c, i) {
        return el('td', {cls: numeric[i] ? 'r' : ''}, [c]);
      })));
    });
    t.appendChild(body);
  }

  function kpis(r) {
    var t = r.totals, box = $('kpis');
    box.textContent = '';
    function card(label, node, sub) {
      box.appendChild(el('div', {cls: 'kpi'}, [el('div', {cls: 'label', text: label}), el('div', {cls: 'value'}, [node]),
        el('div', {cls: 'sub'}, sub ? [sub] : [])]));
    }
    card('Page views', num(t.page_views, 'totals.page_views'));
    card('Visits', num(t.visits, 'totals.visits'));
    card('Unique visitors', num(t.unique_visitors, 'totals.unique_visitors'), 'with a client ID');
    card('Conversions', num(t.conversions, 'totals.conversions'),
      el('span', {}, [num(t.primary_conversions, 'totals.primary_conversions'), ' primary · ',
        num(t.secondary_conversions, 'totals.secondary_conversions'), ' secondary']));
    card('Primary value', money(t.primary_values, 'totals.primary_values'),
      el('span', {}, ['all conversions: ', money(t.values, 'totals.values')]));
  }

  function width(id) { return Math.max(280, $(id).clientWidth); }

  function daily(r) {
    var xs = r.daily.map(function (d) { return Date.parse(d.date + 'T00:00:00Z') / 1000; });
    var currencies = [];
    r.daily.forEach(function (d) { d.values.forEach(function (m) { if (currencies.indexOf(m.currency) < 0) currencies.push(m.currency); }); });
    var data = [xs, r.daily.map(function (d) { return d.page_views; }), r.daily.map(function (d) { return d.conversions; })];
    var series = [{},
      {label: 'Page views', scale: 'n', stroke: COLORS[0], fill: 'rgba(53,89,224,0.10)', width: 2},
      {label: 'Conversions', scale: 'n', stroke: COLORS[1], width: 2, points: {show: true, size: 6}}];
    // One tick per day (or per week on long ranges), labelled with the UTC date.
    var axes = [{incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400],
      values: function (u, splits) { return splits.map(function (s) { return new Date(s * 1000).toISOString().slice(5, 10); }); }},
      {scale: 'n', label: 'count', size: 50}];
    currencies.forEach(function (c, i) {
      data.push(r.daily.map(function (d) {
        var m = d.values.filter(function (v) { return v.currency === c; })[0];
        return m ? m.value : 0;
      }));
      series.push({label: 'Value ' + (c || '(no currency)'), scale: 'v', stroke: COLORS[2 + i % 4], width: 2, dash: [6, 4],
        value: function (u, v) { return v == null ? '–' : fmt(v, 2); }});
    });
    if (currencies.length) axes.push({scale: 'v', side: 1, label: 'value', size: 60, grid: {show: false}});
    var opts = {width: width('chart-daily'), height: 260, series: series, axes: axes,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      scales: {x: {time: true}, n: {range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; }},
        v: {range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; }}}};
    charts.push([new uPlot(opts, data, $('chart-daily')), 'chart-daily']);
  }

  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

  // Bars over categories: x is the category's index, labelled below.
  function bars(id, labels, sets, height) {
    var xs = labels.map(function (_, i) { return i; });
    // Labels cut to what fits under one bar group (about 8 px a character).
    var chars = Math.max(6, Math.floor((width(id) - 100) / Math.max(1, labels.length) / 8));
    var n = sets.length;
    var series = [{label: 'step', value: function (u, i) { return i == null ? '–' : labels[i]; }}];
    sets.forEach(function (s, i) {
      series.push({label: s.label, scale: s.scale || 'y', fill: COLORS[s.color], stroke: COLORS[s.color], width: 0,
        points: {show: false},
        paths: uPlot.paths.bars({size: [n > 1 ? 0.4 : 0.6, 70], align: n > 1 ? (i === 0 ? -1 : 1) : 0})});
    });
    var axes = [{
      splits: function () { return xs; },
      values: function (u, splits) { return splits.map(function (i) { return labels[i] === undefined ? '' : short(labels[i], chars); }); },
      grid: {show: false}, size: 40, gap: 6,
    }, {scale: 'y', size: 50, label: sets[0].label.toLowerCase()}];
    var scales = {x: {time: false, range: [-0.5, labels.length - 0.5]},
      y: {range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; }}};
    if (sets.some(function (s) { return s.scale === 'c'; })) {
      axes.push({scale: 'c', side: 1, size: 50, grid: {show: false}, label: 'conversions'});
      scales.c = {range: function (u, min, max) { return [0, Math.max(1, max * 1.15)]; }};
    }
    var data = [xs].concat(sets.map(function (s) { return s.values; }));
    var opts = {width: width(id), height: height, series: series, axes: axes, scales: scales,
      cursor: {points: {show: false}}, legend: {show: true}};
    charts.push([new uPlot(opts, data, $(id)), id]);
  }

  function funnel(r) {
    var steps = r.funnel.steps;
    bars('chart-funnel', steps.map(function (s) { return s.path; }),
      [{label: 'Visits', values: steps.map(function (s) { return s.visits; }), color: 0}], 240);
    table('table-funnel', ['Step', 'Visits', 'Drop-off', 'Of previous'], steps.map(function (s, i) {
      return [(i + 1) + '. ' + s.path, num(s.visits, 'funnel.steps.' + i + '.visits'),
        num(s.drop_off, 'funnel.steps.' + i + '.drop_off'), pct(s.rate)];
    }), [false, true, true, true]);
    var none = r.funnel.page_views_without_id;
    $('funnel-note').textContent = none ? none + ' page views had no visit or client ID (no consent) and cannot be followed through the funnel.' : '';
  }

  function sources(r) {
    var top = r.sources.slice(0, 8);
    bars('chart-sources', top.map(function (s) { return s.source; }), [
      {label: 'Visits', values: top.map(function (s) { return s.visits; }), color: 0},
      {label: 'Conversions', values: top.map(function (s) { return s.conversions; }), color: 1, scale: 'c'}], 240);
    table('table-sources', ['Source', 'Network', 'utm_source', 'utm_medium', 'utm_campaign', 'Referrer', 'Visits', 'Conversions', 'Primary', 'Primary value', 'All value'],
      r.sources.map(function (s, i) {
        var p = 'sources.' + i;
        return [s.source, s.network || '–', s.utm_source || '–', s.utm_medium || '–', s.utm_campaign || '–', s.referrer_host || '–',
          num(s.visits, p + '.visits'), num(s.conversions, p + '.conversions'), num(s.primary_conversions, p + '.primary_conversions'),
          money(s.primary_values, p + '.primary_values'), money(s.values, p + '.values')];
      }), [false, false, false, false, false, false, true, true, true, true, true]);
  }

  function tables(r) {
    table('table-goals', ['Goal', 'Kind', 'Conversions', 'Unique visitors', 'Without ID', 'Value'], r.goals.map(function (g, i) {
      var p = 'goals.' + i;
      return [g.goal, el('span', {cls: g.primary ? 'tag primary' : 'tag', text: g.primary ? 'primary' : 'secondary'}),
        num(g.conversions, p + '.conversions'), num(g.unique_visitors, p + '.unique_visitors'),
        num(g.conversions_without_id, p + '.conversions_without_id'), money(g.values, p + '.values')];
    }), [false, false, true, true, true, true]);
    table('table-landing', ['Landing page', 'Visits', 'Conversions'], r.landing_pages.map(function (l, i) {
      return [l.path, num(l.visits, 'landing_pages.' + i + '.visits'), num(l.conversions, 'landing_pages.' + i + '.conversions')];
    }), [false, true, true]);
    var q = r.data_quality;
    var rows = [
      ['Batches received', 'batches'], ['Duplicates absorbed', 'duplicates_absorbed'], ['Retried batches', 'retried_batches'],
      ['Dropped by the tag: buffer full', 'dropped_overflow'], ['Dropped by the tag: refused by the collector', 'dropped_poison'],
      ['Dropped by the tag: too old to retry', 'dropped_expired'],
      ['Dropped by the tag: consent withdrawn', 'dropped_consent'], ['Bodies rejected by validation (all sites)', 'rejected_bodies'],
      ['Page views without ID', 'page_views_without_id'], ['Conversions without client ID', 'conversions_without_client_id']];
    table('table-quality', ['Figure', 'Count'], rows.map(function (x) { return [x[0], num(q[x[1]], 'data_quality.' + x[1])]; }), [false, true]);
    var imp = [];
    r.imports.forEach(function (g, gi) {
      g.stages.forEach(function (s, si) {
        var p = 'imports.' + gi + '.stages.' + si;
        imp.push([g.goal, s.stage, num(s.rows, p + '.rows'), num(s.matched, p + '.matched'), num(s.unmatched, p + '.unmatched'), money(s.values, p + '.values')]);
      });
    });
    table('table-imports', ['Goal', 'Stage', 'Rows', 'Matched online', 'Not matched', 'Value'], imp, [false, false, true, true, true, true]);
    table('table-match-keys', ['Network', 'Click ID', 'Hashed email or phone, no click ID', 'Neither'], r.match_keys.map(function (m, i) {
      var p = 'match_keys.' + i;
      return [m.network, num(m.click_id, p + '.click_id'), num(m.hashed_email_or_phone, p + '.hashed_email_or_phone'), num(m.neither, p + '.neither')];
    }), [false, true, true, true]);
  }

  // ---- Return on ad spend: the report's `attribution` object ----------------

  var MODELS = ['last_non_direct', 'last_touch', 'first_touch', 'linear', 'position_based', 'time_decay', 'data_driven'];
  var LEVELS = ['network', 'campaign', 'ad_group', 'keyword'];
  var sortBy = {col: null, dir: -1};

  // The key's name at the report's level: "Google · Spring · red shoes".
  function keyLabel(row, by) {
    var parts = [row.network];
    LEVELS.slice(1, LEVELS.indexOf(by) + 1).forEach(function (l) { parts.push(row[l] == null ? '–' : row[l]); });
    return parts.join(' · ');
  }

  // The first currency's amount of a per-currency list, for sorting and charts (null: none).
  function first(values) { return values && values.length ? values[0].value : null; }

  function optMoney(values, path) {
    return values == null ? el('span', {cls: 'muted', text: 'no spend'}) : money(values, path);
  }

  function attribution(r) {
    var a = r.attribution;
    if (!a) return;
    var by = a.by, levels = LEVELS.slice(0, LEVELS.indexOf(by) + 1);
    $('attribution-note').textContent = 'primary conversions credited by ' + a.model.replace(/_/g, ' ') + ', by ' +
      by.replace('_', ' ') + ', ' + a.lookback_days + '-day lookback, against imported spend';
    var cols = levels.map(function (l) { return {h: (l.charAt(0).toUpperCase() + l.slice(1)).replace('_', ' '), key: function (x) { return x[l] == null ? '' : String(x[l]).toLowerCase(); }}; })
      .concat([
        {h: 'Visits', n: true, key: function (x) { return x.visits; }, cell: function (x, p) { return num(x.visits, p + '.visits'); }},
        {h: 'Conversions', n: true, key: function (x) { return x.conversions; }, cell: function (x, p) { return num(x.conversions, p + '.conversions', 2); }},
        {h: 'Value', n: true, key: function (x) { return first(x.values); }, cell: function (x, p) { return money(x.values, p + '.values'); }},
        {h: 'Cost', n: true, key: function (x) { return first(x.cost); }, cell: function (x, p) { return optMoney(x.cost, p + '.cost'); }},
        {h: 'ROAS', n: true, key: function (x) { return first(x.roas); }, cell: function (x, p) { return optMoney(x.roas, p + '.roas'); }},
        {h: 'CPA', n: true, key: function (x) { return first(x.cpa); }, cell: function (x, p) { return optMoney(x.cpa, p + '.cpa'); }}]);
    var order = a.rows.map(function (_, i) { return i; });
    if (sortBy.col != null && sortBy.col < cols.length) {
      var c = cols[sortBy.col];
      order.sort(function (i, j) {
        var x = c.key(a.rows[i]), y = c.key(a.rows[j]);
        if (x === y) return i - j;
        if (x == null) return 1;
        if (y == null) return -1;
        return (x < y ? -1 : 1) * sortBy.dir;
      });
    }
    table('table-attribution', cols.map(function (c) { return c.h; }), order.map(function (i) {
      var x = a.rows[i], p = 'attribution.rows.' + i;
      return cols.map(function (c, ci) { return c.cell ? c.cell(x, p) : (ci === 0 ? x.network : (x[levels[ci]] == null ? '–' : x[levels[ci]])); });
    }), cols.map(function (c) { return !!c.n; }));
    var ths = $('table-attribution').querySelectorAll('th');
    Array.prototype.forEach.call(ths, function (th, i) {
      if (i === sortBy.col) th.setAttribute('aria-sort', sortBy.dir > 0 ? 'ascending' : 'descending');
      th.addEventListener('click', function () {
        sortBy = {col: i, dir: sortBy.col === i ? -sortBy.dir : (cols[i].n ? -1 : 1)};
        attribution(r);
      });
    });
    // Cost against credited value, for the keys that spent or earned most.
    var top = a.rows.filter(function (x) { return first(x.cost) || first(x.values); })
      .sort(function (x, y) { return (first(y.cost) || 0) + (first(y.values) || 0) - (first(x.cost) || 0) - (first(x.values) || 0); })
      .slice(0, 12);
    var old = charts.filter(function (c) { return c[1] === 'chart-roas'; });
    old.forEach(function (c) { c[0].destroy(); charts.splice(charts.indexOf(c), 1); });
    $('chart-roas').textContent = '';
    if (top.length) {
      bars('chart-roas', top.map(function (x) { return keyLabel(x, by); }), [
        {label: 'Cost', values: top.map(function (x) { return first(x.cost) || 0; }), color: 1},
        {label: 'Credited value', values: top.map(function (x) { return first(x.values) || 0; }), color: 2}], 260);
    } else {
      $('chart-roas').appendChild(el('p', {cls: 'muted', text: 'No cost or credited value in this range.'}));
    }
    // The keys to compare across models (keeps the current choice).
    var pick = $('compare-key'), was = pick.value;
    pick.textContent = '';
    pick.appendChild(el('option', {value: '', text: 'choose a ' + by.replace('_', ' ') + '…'}));
    a.rows.forEach(function (x) { pick.appendChild(el('option', {value: keyLabel(x, by), text: keyLabel(x, by)})); });
    pick.value = was;
    compare();
  }

  // Every model's figures for the chosen key: one /report per model, same range and level.
  function compare() {
    var key = $('compare-key').value, r = window.dashboardReport;
    if (!key || !r) { table('table-compare', ['Model', 'Conversions', 'Value', 'Cost', 'ROAS', 'CPA'], [], [false, true, true, true, true, true]); return; }
    var p = params();
    return Promise.all(MODELS.map(function (m) {
      p.set('model', m);
      return fetch('/report?' + p.toString()).then(function (resp) { return resp.json(); });
    })).then(function (reports) {
      window.dashboardCompare = reports;
      table('table-compare', ['Model', 'Conversions', 'Value', 'Cost', 'ROAS', 'CPA'], reports.map(function (rep, i) {
        var a = rep.attribution || {rows: []};
        var x = a.rows.filter(function (row) { return keyLabel(row, a.by) === key; })[0];
        var label = MODELS[i].replace(/_/g, ' ');
        if (!x) return [label, '–', '–', '–', '–', '–'];
        var path = 'compare.' + i;
        return [label, num(x.conversions, path + '.conversions', 2), money(x.values, path + '.values'),
          optMoney(x.cost, path + '.cost'), optMoney(x.roas, path + '.roas'), optMoney(x.cpa, path + '.cpa')];
      }), [false, true, true, true, true, true]);
      // These figures come from other answers than /report: their own attribute.
      Array.prototype.forEach.call($('table-compare').querySelectorAll('[data-figure]'), function (e) {
        e.setAttribute('data-compare-figure', e.dataset.figure);
        e.removeAttribute('data-figure');
      });
    });
  }

  // The "Ad platforms" panel, from /export/platforms (not part of /report:
  // its figures carry data-platform-figure, checked against that answer).
  function platforms(body) {
    window.dashboardPlatforms = body;
    function figure(n, path) { return el('span', {cls: 'num', 'data-platform-figure': path, text: fmt(n)}); }
    table('table-platforms', ['Platform', 'With its click ID', 'Exportable now', 'Exported before'], body.platforms.map(function (x, i) {
      var p = 'platforms.' + i + '.';
      return [x.label, figure(x.with_click_id, p + 'with_click_id'), figure(x.exportable, p + 'exportable'), figure(x.exported, p + 'exported')];
    }), [false, true, true, true]);
  }

  function loadPlatforms(r) {
    var p = new URLSearchParams({site: r.site, from: r.from, to: r.to});
    return fetch('/export/platforms?' + p.toString()).then(function (resp) {
      return resp.json().then(function (body) {
        if (!resp.ok) throw new Error(body.error || ('HTTP ' + resp.status));
        return body;
      });
    }).then(platforms).catch(function (e) {
      var t = $('table-platforms');
      t.textContent = '';
      t.appendChild(el('tbody', {}, [el('tr', {}, [el('td', {cls: 'error', text: 'No figures: ' + e.message})])]));
    });
  }

  function render(r) {
    charts.forEach(function (c) { c[0].destroy(); });
    charts = [];
    kpis(r);
    daily(r);
    funnel(r);
    sources(r);
    tables(r);
    attribution(r);
    $('status').textContent = r.site + ' · ' + r.from + ' to ' + r.to + ' (UTC)';
  }

  function params() {
    var p = new URLSearchParams();
    ['site', 'from', 'to', 'funnel', 'model', 'by', 'lookback_days'].forEach(function (k) { var v = $(k).value.trim(); if (v) p.set(k, v); });
    return p;
  }

  function load(p) {
    document.body.dataset.state = 'loading';
    $('json-link').href = '/report?' + p.toString();
    return fetch('/report?' + p.toString()).then(function (resp) {
      return resp.json().then(function (body) {
        if (!resp.ok) throw new Error(body.error || ('HTTP ' + resp.status));
        return body;
      });
    }).then(function (r) {
      window.dashboardReport = r;
      $('from').value = r.from;
      $('to').value = r.to;
      if (!$('funnel').value) $('funnel').value = r.funnel.steps.map(function (s) { return s.path; }).join(',');
      if ($('site').value !== r.site) $('site').appendChild(el('option', {value: r.site, text: r.site})).selected = true;
      render(r);
      return loadPlatforms(r);
    }).then(function () {
      document.body.dataset.state = 'ready';
    }).catch(function (e) {
      $('status').textContent = 'No report: ' + e.message;
      $('status').className = 'error';
      document.body.dataset.state = 'error';
    });
  }

  function start() {
    var given = new URLSearchParams(location.search);
    ['from', 'to', 'funnel', 'model', 'by', 'lookback_days'].forEach(function (k) { if (given.get(k)) $(k).value = given.get(k); });
    $('compare-key').addEventListener('change', compare);
    fetch('/report/sites').then(function (r) { return r.json(); }).then(function (body) {
      (body.sites || []).forEach(function (s) { $('site').appendChild(el('option', {value: s, text: s})); });
      if (given.get('site')) $('site').value = given.get('site');
      if (!body.sites || !body.sites.length) {
        $('status').textContent = 'No events stored yet: open a page with the tag, then reload.';
        document.body.dataset.state = 'empty';
        return;
      }
      return load(params());
    });
    $('query').addEventListener('submit', function (e) {
      e.preventDefault();
      $('status').className = '';
      var p = params();
      history.replaceState(null, '', '/dashboard?' + p.toString());
      load(p);
    });
    var pending;
    window.addEventListener('resize', function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (c) { c[0].setSize({width: width(c[1]), height: c[0].height}); });
      }, 100);
    });
  }

  // "Import spend": the chosen file goes to POST /spend for the selected site
  // as it is (the collector recognises the format); the answer, or the line
  // it refused, is shown as text, and the report is drawn again.
  function spendUpload() {
    var form = $('spend-upload');
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var file = $('spend-file').files[0];
      var status = $('spend-status');
      status.className = 'note';
      if (!file) { status.textContent = 'Choose a report file first.'; return; }
      if (!$('site').value) { status.textContent = 'No site to import into yet.'; return; }
      status.textContent = 'Importing ' + file.name + '…';
      fetch('/spend?site=' + encodeURIComponent($('site').value), {method: 'POST', body: file, headers: {'Content-Type': 'text/csv'}})
        .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
        .then(function (res) {
          var b = res[1];
          if (!res[0]) throw new Error(b.error || 'refused');
          status.textContent = file.name + ': ' + b.format + ', ' + b.read + ' rows read, ' + b.rows + ' stored: ' +
            b['new'] + ' new, ' + b.replaced + ' replaced, ' + b.unchanged + ' unchanged.';
          return load(params());
        })
        .catch(function (err) {
          status.textContent = file.name + ' was not imported: ' + err.message;
          status.className = 'note error';
        });
    });
  }

  spendUpload();
  start();
})();
