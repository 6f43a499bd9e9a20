#!/usr/bin/env bash
# goaltag's one entry point. Each command installs what it needs that is
# missing (idempotently; quick when everything is there) and then does its job.
#
#   ./build.sh demo    build everything, serve the demo shop on http://127.0.0.1:8080
#   ./build.sh test    native tests, browser tests (Chromium, Firefox), end-to-end tests, size budget
#                      (with a throwaway PostgreSQL for the collector's PostgreSQL store)
#   ./build.sh test-pg only the collector's tests, with that throwaway PostgreSQL
#   ./build.sh build   build the tag (www/goaltag/) and the collector, print the size report
#   ./build.sh bench   build, then measure goaltag beside popular trackers (bench/results.md)
#   ./build.sh deps    only install the tools
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
# A CI run builds once from scratch: incremental caches would only take disk
# (about 0.6 GB of target/debug) on a machine whose linker has run out of it.
[ "${CI:-}" = true ] && export CARGO_INCREMENTAL=0
NPM_TOOLS=$ROOT/tools/npm
BIN=$NPM_TOOLS/node_modules/.bin
BINARYEN_VERSION=132.0.0
TERSER_VERSION=5.51.2
OUT=$ROOT/www/goaltag

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# --- tools ---------------------------------------------------------------

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

deps_build() {
  command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs) first"
  rustup target list --installed | grep -qx wasm32-unknown-unknown || {
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  }
  # The lint gates of ./build.sh test.
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || {
      log "adding the $c component"
      rustup component add "$c"
    }
  done
  command -v wasm-pack >/dev/null || {
    log "installing wasm-pack (first time only; takes a few minutes)"
    cargo install wasm-pack --locked
  }
  command -v twiggy >/dev/null || {
    log "installing twiggy, for the size report (first time only)"
    cargo install twiggy --locked
  }
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  # wasm-pack's own wasm-opt download needs the internet; binaryen and terser
  # come from the npm registry instead, pinned.
  if [ ! -x "$BIN/wasm-opt" ] || [ ! -x "$BIN/terser" ] \
     || ! grep -q "\"version\": \"$BINARYEN_VERSION\"" "$NPM_TOOLS/node_modules/binaryen/package.json" 2>/dev/null \
     || ! grep -q "\"version\": \"$TERSER_VERSION\"" "$NPM_TOOLS/node_modules/terser/package.json" 2>/dev/null; then
    log "installing binaryen $BINARYEN_VERSION and terser $TERSER_VERSION from npm into tools/npm"
    mkdir -p "$NPM_TOOLS"
    npm install --prefix "$NPM_TOOLS" --no-audit --no-fund --loglevel=error \
      "binaryen@$BINARYEN_VERSION" "terser@$TERSER_VERSION" >/dev/null
  fi
}

# TypeScript and esbuild, for the npm package's tests, pinned like binaryen and terser.
TYPESCRIPT_VERSION=5.9.3
ESBUILD_VERSION=0.28.2
deps_npm_tests() {
  if [ ! -x "$BIN/tsc" ] || [ ! -x "$BIN/esbuild" ] \
     || ! grep -q "\"version\": \"$TYPESCRIPT_VERSION\"" "$NPM_TOOLS/node_modules/typescript/package.json" 2>/dev/null \
     || ! grep -q "\"version\": \"$ESBUILD_VERSION\"" "$NPM_TOOLS/node_modules/esbuild/package.json" 2>/dev/null; then
    log "installing typescript $TYPESCRIPT_VERSION and esbuild $ESBUILD_VERSION from npm into tools/npm"
    npm install --prefix "$NPM_TOOLS" --no-audit --no-fund --loglevel=error \
      "typescript@$TYPESCRIPT_VERSION" "esbuild@$ESBUILD_VERSION" >/dev/null
  fi
}

deps_browsers() {
  apt_install chromium chromium-driver firefox-esr
  command -v geckodriver >/dev/null || {
    log "installing geckodriver (first time only)"
    cargo install geckodriver --locked
  }
  export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
  export GECKODRIVER=${GECKODRIVER:-$(command -v geckodriver)}
}

# --- a throwaway PostgreSQL ----------------------------------------------

# Starts a PostgreSQL cluster in a temporary folder on a free loopback port
# (trust authentication: it only listens on 127.0.0.1 and lives for one run),
# exports its URL as GOALTAG_TEST_PG and stops it and removes the folder when
# the script exits. Run as root, the server runs as the postgres user.
PG_DIR=""
pg_stop() {
  [ -n "$PG_DIR" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    $PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}

pg_start() {
  apt_install postgresql
  PG_BIN=$(find /usr/lib/postgresql/*/bin -maxdepth 0 -type d 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
  PG_AS=""
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/goaltag-pg.XXXXXX")
  trap pg_stop EXIT
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PG_DIR"
    PG_AS="runuser -u postgres --"
  fi
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  log "starting a throwaway PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$port in $PG_DIR"
  $PG_AS "$PG_BIN/initdb" -D "$PG_DIR/data" -U goaltag -A trust -E UTF8 --locale=C.UTF-8 --no-instructions >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
  # Durability stays as shipped (fsync on, synchronous_commit on): the tests
  # kill collectors and count what survived.
  $PG_AS "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=300" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
  export GOALTAG_TEST_PG="postgres://goaltag@127.0.0.1:$port/postgres"
}

# --- build ---------------------------------------------------------------

build_tag() {
  log "building the tag (release, wasm)"
  # Rust gives a wasm 1 MiB of stack, all of it in the page's memory from the
  # start. The tag needs under 16 KiB (every browser test passes in a release
  # build with 16 KiB; 4 KiB traps): 128 KiB leaves 8x that and saves 896 KiB
  # of memory on every page. The stack sits below the data, so an overflow
  # traps instead of corrupting anything.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C link-arg=-zstack-size=131072" \
    wasm-pack --quiet build --release --target no-modules --out-dir pkg --no-typescript --no-pack -- --no-default-features
  mkdir -p "$OUT"
  local features="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue"
  # --flatten --rereloop first: binaryen rebuilds each function's control
  # flow from scratch, and the -Oz rounds after it find ~440 B gzip more
  # than -Oz alone (measured on this tag; other pass mixes gained less).
  # --low-memory-unused (~340 B more) lets binaryen fold `p + C` (C < 1024)
  # into a load's or store's offset, which differs from the add only when
  # the add wraps past 2^32 into the lowest 1 KiB; no Rust pointer does.
  # shellcheck disable=SC2086
  "$BIN/wasm-opt" --flatten --rereloop -Oz -Oz --converge --low-memory-unused --strip-debug --strip-producers --strip-target-features $features \
    pkg/goaltag_bg.wasm -o pkg/goaltag_opt.wasm
  # wasm-bindgen names every import and export with a hash (__wbg_fetch_21015a0a…),
  # written once in the wasm and once in the glue: about 2 KB gzip of names.
  # Shorten them in the wasm and rename the glue's uses to match.
  # shellcheck disable=SC2086
  "$BIN/wasm-opt" --minify-imports-and-exports-and-modules $features \
    pkg/goaltag_opt.wasm -o "$OUT/goaltag_bg.wasm" > pkg/names.json
  node - pkg/goaltag.js pkg/names.json "$OUT/goaltag_bg.wasm" pkg/goaltag.names.js <<'JS'
const fs = require('fs');
const [glue, names, wasmFile, out] = process.argv.slice(2);
const map = JSON.parse(fs.readFileSync(names, 'utf8'));
const mod = new WebAssembly.Module(fs.readFileSync(wasmFile));
let js = fs.readFileSync(glue, 'utf8');
const die = (m) => { console.error('build.sh: renaming the glue\'s wasm names: ' + m); process.exit(1); };
const count = (re) => (js.match(re) || []).length;
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// Imports are the keys of the glue's import object, each written exactly once.
const modules = new Set(map.imports.map((i) => i[0]));
const newModules = new Set(WebAssembly.Module.imports(mod).map((i) => i.module));
if (modules.size !== 1 || newModules.size !== 1) die('expected one import module');
for (const [, from, to] of map.imports) {
  const re = new RegExp('\\b' + esc(from) + ':', 'g');
  if (count(re) !== 1) die('import ' + from + ' is not one key of the import object');
  js = js.replace(re, JSON.stringify(to) + ':');
}
const [from] = modules, [to] = newModules, re = new RegExp(esc(JSON.stringify(from)) + ':', 'g');
if (count(re) !== 1) die('module ' + from + ' is not one key');
js = js.replace(re, JSON.stringify(to) + ':');
// Exports are read as wasm.<name>.
for (const [from, to] of map.exports) js = js.replace(new RegExp('\\bwasm\\.' + esc(from) + '\\b', 'g'), 'wasm.' + to);
const left = js.match(/\bwasm\.[A-Za-z_$][\w$]*/g)?.filter((n) => !map.exports.some((e) => 'wasm.' + e[1] === n));
if (left && left.length) die('unknown export uses: ' + [...new Set(left)].join(', '));
fs.writeFileSync(out, js);
JS
  # One function scope around glue + start-up + loader: only window.goaltag reaches the page.
  { echo "(function(){"; cat pkg/goaltag.names.js; sed 's/^export //' src/browser/describe.js
    cat src/browser/start.js src/browser/loader.js; echo "})();"; } > pkg/goaltag.loader.js
  "$BIN/terser" pkg/goaltag.loader.js --compress --mangle --ecma 2017 -o "$OUT/goaltag.js"
  # The texts of the tag's console messages, by code (src/core/messages.rs):
  # fetched beside the wasm only when the tag has something to report.
  cargo run --quiet --bin goaltag-messages > "$OUT/goaltag.messages.json"
  # The script tag's TypeScript declarations: the API's types in the global
  # namespace goaltag, and the global goaltag (window.goaltag).
  { echo "// goaltag's script-tag API: the global goaltag(...) and window.goaltag, and the goaltag.* types."
    echo "declare namespace goaltag {"; cat src/browser/types/api.d.ts; echo "}"
    cat src/browser/types/global.d.ts; } > "$OUT/goaltag.d.ts"
}

# The npm package, pkg/npm, packed into pkg/goaltag-<version>.tgz (nothing is
# published): the same wasm file as the script tag, and the same glue,
# click reader and start-up path as an ES module (src/browser/module.js).
NPM_PKG=$ROOT/pkg/npm
build_npm() {
  log "building the npm package (pkg/npm, packed into pkg/)"
  local version
  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
  rm -rf "$NPM_PKG" pkg/goaltag-*.tgz
  mkdir -p "$NPM_PKG"
  cp "$OUT/goaltag_bg.wasm" "$OUT/goaltag.messages.json" "$NPM_PKG/"
  { echo "// goaltag $version: the conversion-tracking tag as an ES module. import { init, goaltag } from 'goaltag'."
    cat pkg/goaltag.names.js; sed 's/^export //' src/browser/describe.js
    cat src/browser/start.js src/browser/module.js; } > "$NPM_PKG/goaltag.js"
  cat src/browser/types/api.d.ts src/browser/types/module.d.ts > "$NPM_PKG/goaltag.d.ts"
  cp src/browser/npm-readme.md "$NPM_PKG/README.md"
  node - "$NPM_PKG/package.json" "$version" <<'JS'
const [file, version] = process.argv.slice(2);
require('fs').writeFileSync(file, JSON.stringify({
  name: 'goaltag',
  version,
  description: 'A conversion-tracking tag: Rust compiled to WebAssembly. ES module and TypeScript types.',
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  module: './goaltag.js',
  types: './goaltag.d.ts',
  exports: {
    '.': { types: './goaltag.d.ts', import: './goaltag.js', default: './goaltag.js' },
    './goaltag_bg.wasm': './goaltag_bg.wasm',
    './goaltag.messages.json': './goaltag.messages.json',
    './package.json': './package.json',
  },
  files: ['goaltag.js', 'goaltag.d.ts', 'goaltag_bg.wasm', 'goaltag.messages.json'],
}, null, 2) + '\n');
JS
  (cd pkg && npm pack --silent --pack-destination . ./npm >/dev/null)
  [ -f "pkg/goaltag-$version.tgz" ] || die "npm pack did not write pkg/goaltag-$version.tgz"
  cmp -s "$OUT/goaltag_bg.wasm" "$NPM_PKG/goaltag_bg.wasm" || die "the npm package's wasm differs from the script tag's"
  echo "pkg/goaltag-$version.tgz"
}

build_collector() {
  log "building the collector (release)"
  cargo build --quiet --release -p goaltag-collector
}

# Prints raw / gzip -9 / brotli sizes of what a browser downloads and writes
# the total gzip size to pkg/size.gzip for the budget check.
size_report() {
  log "download size (what a browser fetches for the tag)"
  node - "$OUT/goaltag.js" "$OUT/goaltag_bg.wasm" <<'JS'
const fs = require('fs'), zlib = require('zlib');
const rows = process.argv.slice(2).map(f => {
  const b = fs.readFileSync(f);
  return [f.split('/').pop(), b.length, zlib.gzipSync(b, { level: 9 }).length,
    zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length];
});
rows.push(['total', ...[1, 2, 3].map(i => rows.reduce((s, r) => s + r[i], 0))]);
console.log('file'.padEnd(18) + 'raw'.padStart(9) + 'gzip'.padStart(9) + 'brotli'.padStart(9));
for (const r of rows) console.log(r[0].padEnd(18) + r.slice(1).map(n => String(n).padStart(9)).join(''));
fs.writeFileSync('pkg/size.gzip', String(rows[rows.length - 1][2]));
JS
  # Where the bytes are, by part of the code, then the biggest functions, so
  # a size regression names its culprit.
  echo; echo "the wasm by part (twiggy, bytes before wasm-opt; the shipped file is smaller, in about these shares):"
  twiggy top -n 100000 -f csv pkg/goaltag_bg.wasm > pkg/twiggy.csv
  node - pkg/twiggy.csv <<'JS'
const rows = require('fs').readFileSync(process.argv[2], 'utf8').trim().split('\n').slice(1);
const parts = new Map();
const part = (n) => {
  let m;
  if (/^data segment/.test(n)) return 'data (strings, tables)';
  if (/function names|custom section|"producers"|"target_features"/.test(n)) return null; // stripped in the shipped file
  if ((m = n.match(/goaltag::core::(\w+)/))) return 'core::' + m[1];
  if (/goaltag_wire::/.test(n)) return 'wire';
  if (/goaltag::browser::/.test(n)) return 'browser shell';
  if (/wasm_bindgen|js_sys|web_sys|^import |^export |__wbg|__wbindgen|\btable\b|elem/.test(n)) return 'boundary (wasm-bindgen, js-sys, web-sys)';
  if (/talc/.test(n)) return 'allocator';
  if (/^(<)?(alloc|core)(::|\[)|^<\[|^<&|^<\(/.test(n)) return 'generic std code (alloc, core)';
  return 'other';
};
let total = 0;
for (const line of rows) {
  const m = line.match(/^(?:"((?:[^"]|"")*)"|([^,]*)),(\d+),/);
  if (!m) continue;
  const p = part(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]);
  if (!p) continue;
  parts.set(p, (parts.get(p) || 0) + +m[3]);
  total += +m[3];
}
for (const [p, n] of [...parts].sort((a, b) => b[1] - a[1])) {
  console.log('  ' + p.padEnd(42) + String(n).padStart(8) + (100 * n / total).toFixed(1).padStart(7) + ' %');
}
console.log('  ' + 'total'.padEnd(42) + String(total).padStart(8));
JS
  echo; echo "largest functions in the wasm (twiggy, before wasm-opt; names are stripped from the shipped file):"
  twiggy top -n 12 pkg/goaltag_bg.wasm | grep -v 'function names\|Total Rows\|more\.$' | cut -c1-150
}

# Download size is deterministic, so CI gates on it (time figures stay in benchmarks).
size_budget() {
  local budget total
  budget=$(grep -E '^gzip_bytes=' size-budget.txt | cut -d= -f2)
  total=$(cat pkg/size.gzip)
  if [ "$total" -gt "$budget" ]; then
    die "size budget exceeded: loader + wasm are $total bytes gzipped, the budget in size-budget.txt is $budget"
  fi
  echo "size budget: $total of $budget bytes gzipped"
}

build() {
  deps_build
  build_tag
  build_npm
  build_collector
  size_report
}

# The npm package as a user gets it: the packed tarball installed into a
# fresh app (a temporary folder), type-checked with tsc --strict (every
# command and config field; wrong calls rejected), imported in Node without a
# window, and bundled by esbuild into pkg/npm-app/, which the e2e test
# tests/e2e/tests/npm_package.rs runs in real browsers.
NPM_APP=$ROOT/pkg/npm-app
npm_tests() {
  log "npm package: install the packed tarball into a fresh app, tsc --strict, Node import, esbuild bundle"
  local app tarball
  tarball=$(ls pkg/goaltag-*.tgz)
  app=$(mktemp -d "${TMPDIR:-/tmp}/goaltag-npm-app.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$app'" EXIT
  cp tests/npm/* "$app/"
  printf '{"name": "goaltag-npm-app", "private": true, "type": "module"}\n' > "$app/package.json"
  (cd "$app" && npm install --no-audit --no-fund --loglevel=error "$ROOT/$tarball" >/dev/null)
  cmp -s "$OUT/goaltag_bg.wasm" "$app/node_modules/goaltag/goaltag_bg.wasm" \
    || die "the packed package's wasm differs from the script tag's"
  echo "types (bundler resolution): every command and config field; wrong calls rejected (tests/npm/errors.ts)"
  (cd "$app" && "$BIN/tsc" -p tsconfig.json --strict --noEmit)
  echo "types (node16 resolution)"
  (cd "$app" && "$BIN/tsc" -p tsconfig.json --strict --noEmit --module node16 --moduleResolution node16)
  echo "types of the script tag (www/goaltag/goaltag.d.ts)"
  cp "$OUT/goaltag.d.ts" "$app/goaltag.d.ts"
  (cd "$app" && "$BIN/tsc" -p tsconfig.global.json --strict --noEmit)
  (cd "$app" && node ssr.mjs)
  echo "esbuild: bundling the app into pkg/npm-app/"
  rm -rf "$NPM_APP"
  mkdir -p "$NPM_APP"
  "$BIN/esbuild" "$app/main.ts" --bundle --format=esm --target=es2020 --minify --log-level=warning \
    --outfile="$NPM_APP/app.js"
  # esbuild leaves new URL('./goaltag_bg.wasm', import.meta.url) to the
  # bundle's own URL: the wasm goes beside it, and the messages file beside the wasm.
  cp "$app/node_modules/goaltag/goaltag_bg.wasm" "$app/node_modules/goaltag/goaltag.messages.json" "$app/index.html" "$NPM_APP/"
  grep -q 'goaltag_bg.wasm' "$NPM_APP/app.js" || die "the bundle does not name goaltag_bg.wasm"
  rm -rf "$app"
  trap - EXIT
}

# --- commands ------------------------------------------------------------

cmd_demo() {
  build
  mkdir -p data
  # The sample spend file, dated today so it falls in the report's default range (docs/spend.md).
  sed "s/2026-12-01/$(date -u +%Y-%m-%d)/" collector/samples/spend-demo.csv > data/spend-demo.csv
  log "demo shop: http://127.0.0.1:8080/  (events land in data/events.db; Ctrl-C stops)"
  log "ad spend for the demo: target/release/goaltag-collector spend --db data/events.db --site demo-shop data/spend-demo.csv"
  exec target/release/goaltag-collector serve --listen 127.0.0.1:8080 --db data/events.db --www www --goals www/goals.json
}

# Lint gates: formatting (rustfmt.toml) and clippy with warnings as errors,
# for the native targets and for the tag's wasm (with and without std).
lint() {
  log "lint: cargo fmt --check, cargo clippy -D warnings (native, wasm, shipped wasm)"
  cargo fmt --all -- --check || die "cargo fmt --check failed: run cargo fmt --all"
  cargo clippy --quiet --workspace --all-targets --features goaltag-e2e/browsers -- -D warnings
  cargo clippy --quiet -p goaltag --lib --tests --target wasm32-unknown-unknown -- -D warnings
  cargo clippy --quiet -p goaltag --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
}

cmd_test() {
  build
  lint
  deps_browsers
  deps_npm_tests
  npm_tests
  # After npm_tests, which sets and then clears an EXIT trap of its own:
  # pg_start's trap stops the server when the script exits.
  pg_start
  log "native tests (core, wire, collector on SQLite and PostgreSQL, end-to-end in Chromium and Firefox, the npm app)"
  # goaltag-e2e's tests that drive browsers sit behind its `browsers` feature.
  # The PostgreSQL tests are #[ignore]d (a plain cargo test lists them as
  # ignored, with the reason); with the server started above they run here.
  cargo test --workspace --features goaltag-e2e/browsers -- --include-ignored
  # The runner takes whichever driver its environment names (GECKODRIVER
  # first), whatever the flag: each run sees only its own. Its default
  # timeout for the whole suite is 20 s, which the suite outgrew.
  log "browser tests in headless Chromium"
  env -u GECKODRIVER WASM_BINDGEN_TEST_TIMEOUT=90 wasm-pack test --headless --chrome
  log "browser tests in headless Firefox"
  env -u CHROMEDRIVER WASM_BINDGEN_TEST_TIMEOUT=90 wasm-pack test --headless --firefox
  log "size budget"
  size_budget
  log "all tests passed"
}

# The collector's tests alone (both stores), for work on the collector.
cmd_test_pg() {
  command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs) first"
  pg_start
  log "collector tests on SQLite and PostgreSQL"
  # The PostgreSQL tests are #[ignore]d without a server: include them. Extra
  # arguments go to cargo test (a `--` among them starts the harness's own).
  local args=("${@:2}")
  if [[ " ${args[*]} " == *" -- "* ]]; then
    cargo test -p goaltag-collector "${args[@]}" --include-ignored
  else
    cargo test -p goaltag-collector "${args[@]}" -- --include-ignored
  fi
}

# A benchmark, not a test: peers come from npm into bench/scratch (gitignored),
# Chromium runs headless, and bench/run.mjs stops itself: no new page load
# after 3 minutes a round (36 for the default 12), and it exits 5 minutes later.
cmd_bench() {
  build
  command -v chromium >/dev/null || apt_install chromium
  log "installing the benchmark's peers from npm into bench/scratch"
  mkdir -p bench/scratch
  cp bench/package.json bench/scratch/package.json
  npm install --prefix bench/scratch --no-audit --no-fund --loglevel=error >/dev/null
  log "benchmark (about 30 minutes for 12 rounds; results in bench/results.md and bench/charts/)"
  node bench/run.mjs "${@:2}"
  log "collector load benchmark (8 keep-alive clients, 3 s a run, then 10 % re-sends)"
  cargo run --quiet --release -p goaltag-collector --example load
}

case "${1:-}" in
  demo) cmd_demo ;;
  test) cmd_test ;;
  test-pg) cmd_test_pg "$@" ;;
  build) build ;;
  bench) cmd_bench "$@" ;;
  deps) deps_build; deps_browsers ;;
  *) echo "usage: ./build.sh demo | test | test-pg | build | bench | deps" >&2; exit 2 ;;
esac
