// Start-up of two builds of the tag, in pairs of loads (issue 28): a lever
// is told from noise by how often it wins, not by two medians from runs
// minutes apart.
//
//   node bench/startup-ab.mjs DIR_A DIR_B [--pairs N]
//
// DIR_A and DIR_B each hold a build's goaltag.js and goaltag_bg.wasm (e.g.
// a copy of www/goaltag/ from before a change), or are `none` for a page
// without a tag. Each pair loads the same page with A and with B (the order
// alternating), each a first visit in a fresh browser context followed by a
// repeat view in the same context. Per load, over the first 3 s after
// navigation: the renderer main thread's top-level tasks in wall time and
// in thread time (on a CPU), and V8's lazy compilations of wasm functions
// on that thread (count and time). Prints medians and the median paired
// difference A − B with how many pairs A won. Needs bench/scratch
// (./build.sh bench installs it) and Chromium (CHROMIUM, else
// /usr/bin/chromium). Serves on a free loopback port; stops itself.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(BENCH, 'scratch', 'package.json'));
const { chromium } = require('playwright-core');
const args = process.argv.slice(2);
const pairsAt = args.indexOf('--pairs');
const PAIRS = pairsAt >= 0 ? Number(args[pairsAt + 1]) : 12;
const [A, B] = args.filter((a, i) => !a.startsWith('--') && !(pairsAt >= 0 && i === pairsAt + 1));
if (!A || !B || !(PAIRS > 0)) {
  console.error('usage: node bench/startup-ab.mjs DIR_A DIR_B [--pairs N]   (a DIR is a build of goaltag.js + goaltag_bg.wasm, or none)');
  process.exit(2);
}
for (const d of [A, B]) if (d !== 'none' && !fs.existsSync(path.join(d, 'goaltag.js'))) { console.error(`${d}: no goaltag.js there`); process.exit(2); }
const WINDOW_MS = 3000;
// The whole run stops by itself.
setTimeout(() => { console.error('startup-ab: time limit reached, exiting'); process.exit(3); }, 20 * 60e3).unref();

// A page that starts the tag while it parses, as the snippet does.
const page = (v) => `<!doctype html><html><head><meta charset="utf-8"><title>start-up A/B</title>
<script>performance.mark('bench-nav:' + performance.now());window.goaltag=function(){(goaltag.q=goaltag.q||[]).push(arguments)};</script>
${(v === 'a' ? A : B) === 'none' ? '' : `<script async src="/${v}/goaltag.js" data-site="ab" data-collector="/collect" data-consent="granted"></script>`}</head>
<body><h1>A page</h1><p>${'Some text of the page. '.repeat(100)}</p><a id="cta" href="#buy">Buy</a></body></html>`;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'POST') { req.resume(); req.on('end', () => { res.writeHead(204); res.end(); }); return; }
  const m = url.pathname.match(/^\/(a|b)\/([\w.-]+)$/);
  if (url.pathname === '/page/a' || url.pathname === '/page/b') {
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
    return res.end(page(url.pathname.slice(-1)));
  }
  if (m) {
    const f = path.join(m[1] === 'a' ? A : B, m[2]);
    if (!fs.existsSync(f)) { res.writeHead(404); return res.end(); }
    // As a CDN would serve a tag: the repeat view fetches nothing.
    const type = f.endsWith('.wasm') ? 'application/wasm' : f.endsWith('.js') ? 'text/javascript' : 'application/json';
    res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
    return res.end(fs.readFileSync(f));
  }
  res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' });
  res.end('<!doctype html><title>blank</title>');
});
await new Promise(r => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`, '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding', '--disable-extensions', '--disable-component-update', '--no-first-run'],
});
const sleep = ms => new Promise(r => setTimeout(r, ms));

function fromTrace(buf) {
  const evs = JSON.parse(buf.toString('utf8')).traceEvents;
  const nav = evs.find(e => typeof e.name === 'string' && e.name.startsWith('bench-nav:'));
  if (!nav) throw new Error('the navigation mark is missing from the trace');
  const t0 = nav.ts - Number(nav.name.slice(10)) * 1000, t1 = t0 + WINDOW_MS * 1000;
  const r = { wall: 0, cpu: 0, compile: 0, compiled: 0 };
  for (const e of evs) {
    if (e.pid !== nav.pid || e.tid !== nav.tid || e.ph !== 'X' || e.ts < t0 || e.ts >= t1) continue;
    if (e.name === 'RunTask') { r.wall += e.dur / 1000; r.cpu += (e.tdur || 0) / 1000; }
    if (e.name === 'wasm.CompileLazy') { r.compile += e.dur / 1000; r.compiled++; }
  }
  return r;
}

async function load(p, url) {
  await browser.startTracing(p, { categories: ['toplevel', 'disabled-by-default-devtools.timeline', 'devtools.timeline', 'blink.user_timing', 'v8.wasm'] });
  let trace;
  try {
    const t = Date.now();
    await p.goto(url, { waitUntil: 'load', timeout: 15000 });
    await sleep(Math.max(0, t + WINDOW_MS + 200 - Date.now()));
  } finally { trace = await browser.stopTracing(); }
  return fromTrace(trace);
}

const rows = { a: [], b: [] };
try {
  for (let i = 0; i < PAIRS; i++) {
    for (const v of i % 2 ? ['b', 'a'] : ['a', 'b']) {
      const ctx = await browser.newContext();
      try {
        const p = await ctx.newPage();
        // The renderer process started first: its start-up is nobody's.
        await p.goto(`${origin}/blank`);
        const first = await load(p, `${origin}/page/${v}`);
        const repeat = await load(p, `${origin}/page/${v}`);
        rows[v].push({ first, repeat });
      } finally { await ctx.close(); }
    }
    process.stderr.write(`pair ${i + 1} of ${PAIRS}\n`);
  }
} finally {
  await browser.close();
  server.close();
}
const median = xs => { const s = [...xs].sort((x, y) => x - y); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
const names = { wall: 'main thread, wall ms', cpu: 'main thread, on a CPU ms', compile: 'wasm lazy compiles, ms', compiled: 'wasm lazy compiles, count' };
console.log(`A = ${A}, B = ${B}, ${PAIRS} pairs; first ${WINDOW_MS / 1000} s after navigation`);
for (const row of ['first', 'repeat']) {
  for (const [k, name] of Object.entries(names)) {
    const a = rows.a.map(r => r[row][k]), b = rows.b.map(r => r[row][k]), d = a.map((x, i) => x - b[i]);
    console.log(`${row === 'first' ? 'first visit' : 'repeat view'} | ${name.padEnd(26)} | A ${median(a).toFixed(1).padStart(6)} | B ${median(b).toFixed(1).padStart(6)} | A − B ${median(d).toFixed(1).padStart(6)} | A lower in ${d.filter(x => x < 0).length} of ${d.length}`);
  }
}
