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
  # shellcheck disable=SC2086
  "$BIN/wasm-opt" -Oz --converge --strip-debug --strip-producers --strip-target-features $features \
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
  # One function scope around glue + loader: only window.goaltag reaches the page.
  { echo "(function(){"; cat pkg/goaltag.names.js; sed 's/^export //' src/browser/describe.js; cat src/browser/loader.js; echo "})();"; } > pkg/goaltag.loader.js
  "$BIN/terser" pkg/goaltag.loader.js --compress --mangle --ecma 2017 -o "$OUT/goaltag.js"
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
  # Names the biggest functions, so a size regression has a culprit.
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
  build_collector
  size_report
}

# --- commands ------------------------------------------------------------

cmd_demo() {
  build
  mkdir -p data
  log "demo shop: http://127.0.0.1:8080/  (events land in data/events.db; Ctrl-C stops)"
  exec target/release/goaltag-collector serve --listen 127.0.0.1:8080 --db data/events.db --www www
}

cmd_test() {
  build
  deps_browsers
  pg_start
  log "native tests (core, wire, collector on SQLite and PostgreSQL, end-to-end in Chromium and Firefox)"
  cargo test --workspace
  log "browser tests in headless Chromium"
  wasm-pack test --headless --chrome
  log "browser tests in headless Firefox"
  wasm-pack test --headless --firefox
  log "size budget"
  size_budget
  log "all tests passed"
}

# The collector's tests alone (both stores), for work on the collector.
cmd_test_pg() {
  command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs) first"
  pg_start
  log "collector tests on SQLite and PostgreSQL"
  cargo test -p goaltag-collector "${@:2}"
}

# A benchmark, not a test: peers come from npm into bench/scratch (gitignored),
# Chromium runs headless, and bench/run.mjs stops itself within 14 minutes.
cmd_bench() {
  build
  command -v chromium >/dev/null || apt_install chromium
  log "installing the benchmark's peers from npm into bench/scratch"
  mkdir -p bench/scratch
  cp bench/package.json bench/scratch/package.json
  npm install --prefix bench/scratch --no-audit --no-fund --loglevel=error >/dev/null
  log "benchmark (several minutes; results in bench/results.md and bench/charts/)"
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
