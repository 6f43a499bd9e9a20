//! The collector's modules point one way: each imports only from its own
//! layer or the ones below, and no two modules import each other, however
//! indirectly. This test reads every `crate::…` path (and the `super::…` and
//! child-module paths of `use` lines) in `src/**/*.rs`, maps both ends to the
//! table below (the longest matching module path wins) and fails on an
//! import from a higher layer, on a circle, or on a module missing from the
//! table (a new module must say where it sits).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → layer, bottom (0) to top. See `src/model/mod.rs` for the why.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: no domain, no storage.
    ("dates", 0),
    ("model", 0),
    // Storage: reads and writes the rows of `model`.
    ("store", 1),
    // Domain: what a batch, a report, an import and an export are.
    ("ingest", 2),
    ("decode", 2),
    ("origins", 2),
    ("ratelimit", 2),
    ("report", 2),
    ("import", 2),
    ("export", 2),
    ("spend", 2),
    // The HTTP face and start-up: answers, routes, the admin guard, the configuration.
    ("error", 3),
    ("state", 3),
    ("query", 3),
    ("ingest::routes", 3),
    ("report::routes", 3),
    ("import::routes", 3),
    ("export::routes", 3),
    ("spend::routes", 3),
    ("dashboard", 3),
    ("admin", 3),
    ("http", 3),
    ("config", 3),
];

/// The crate root's module: `crate::Config` and friends are re-exports, resolved through lib.rs.
const ROOT: &str = "";

fn unit(module: &str) -> Option<&'static str> {
    LAYERS.iter().map(|(m, _)| *m).filter(|m| module == *m || module.starts_with(&format!("{m}::"))).max_by_key(|m| m.len())
}

fn layer(unit: &str) -> u8 {
    LAYERS.iter().find(|(m, _)| *m == unit).map(|(_, l)| *l).unwrap()
}

/// The module a source file is: `src/report/mod.rs` → `report`, `src/store/sqlite/export.rs` → `store::sqlite::export`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The paths that follow `prefix` in `line`, with `{a, b::c}` groups expanded (one level of nesting is enough here).
fn paths_after(line: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let head: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        let segs: Vec<String> = head.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
        let after = &rest[head.len()..];
        if (head.is_empty() || head.ends_with("::")) && after.starts_with('{') {
            let group: String = after[1..].chars().take_while(|c| *c != '}' && *c != ';').collect();
            for item in group.split(',') {
                let item: Vec<String> = item.trim().split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                let mut p = segs.clone();
                p.extend(item.into_iter().take_while(|s| s.chars().all(|c| c.is_alphanumeric() || c == '_')));
                out.push(p);
            }
        } else {
            out.push(segs);
        }
    }
    out
}

/// Names the crate root re-exports (`pub use config::Config;` → `Config` is in `config`).
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in lib.lines().filter(|l| l.starts_with("pub use ")) {
        for p in paths_after(line, "pub use ") {
            if let [m, .., name] = p.as_slice() {
                map.insert(name.clone(), m.clone());
            }
        }
    }
    map
}

/// Every (from-unit, to-unit, where) the crate's source imports across units.
fn imports(src: &Path) -> Vec<(&'static str, &'static str, String)> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let module = module_of(src, &file);
        if module.is_empty() || module == "main" || module.starts_with("bin") {
            continue; // lib.rs declares the tree; the binary is above everything.
        }
        let from = unit(&module).unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS in tests/layers.rs"));
        let text = std::fs::read_to_string(&file).unwrap();
        let children: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
            .filter_map(|l| l.strip_suffix(';'))
            .map(String::from)
            .collect();
        let parent = module.rsplit_once("::").map_or(ROOT.to_string(), |(p, _)| p.to_string());
        let mut in_inline_module = false;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue; // doc links are not imports
            }
            if code.starts_with("mod ") && code.ends_with('{') {
                in_inline_module = true; // `super` now means this file's module; such blocks are tests, at the end
            }
            let mut targets: Vec<String> = Vec::new();
            for p in paths_after(line, "crate::") {
                let Some(first) = p.first() else { continue };
                targets.push(match reexports.get(first) {
                    Some(m) => m.clone(),
                    None => p.join("::"),
                });
            }
            if !in_inline_module {
                for p in paths_after(line, "super::") {
                    targets.push(if parent.is_empty() { p.join("::") } else { format!("{parent}::{}", p.join("::")) });
                }
            }
            if let Some(u) = code.strip_prefix("use ").or_else(|| code.strip_prefix("pub use ")) {
                let first: String = u.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if children.contains(&first) {
                    targets.push(format!("{module}::{}", u.trim_end_matches(';')));
                }
            }
            for t in targets {
                let Some(to) = unit(&t) else { continue }; // the crate root itself, or a name it defines
                if to != from {
                    found.push((from, to, format!("{}:{}: {}", file.strip_prefix(src).unwrap().display(), n + 1, line.trim())));
                }
            }
        }
    }
    found
}

/// A circle among `edges`, if there is one, as the units around it.
fn circle(edges: &BTreeMap<&'static str, BTreeSet<&'static str>>) -> Option<Vec<&'static str>> {
    fn visit(
        n: &'static str,
        edges: &BTreeMap<&'static str, BTreeSet<&'static str>>,
        state: &mut BTreeMap<&'static str, u8>,
        stack: &mut Vec<&'static str>,
    ) -> Option<Vec<&'static str>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|m| *m == n).unwrap();
                let mut c = stack[at..].to_vec();
                c.push(n);
                return Some(c);
            }
            _ => {}
        }
        state.insert(n, 1);
        stack.push(n);
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    edges.keys().find_map(|n| visit(n, edges, &mut state, &mut Vec::new()))
}

#[test]
fn imports_point_down_and_form_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = imports(&src);
    assert!(found.len() > 20, "the scan found only {} imports: is it reading the source?", found.len());
    let upward: Vec<String> = found
        .iter()
        .filter(|(from, to, _)| layer(to) > layer(from))
        .map(|(from, to, at)| format!("{from} (layer {}) imports {to} (layer {}): {at}", layer(from), layer(to)))
        .collect();
    assert!(upward.is_empty(), "imports from a higher layer:\n{}", upward.join("\n"));
    let mut edges: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for (from, to, _) in &found {
        edges.entry(from).or_default().insert(to);
    }
    if let Some(c) = circle(&edges) {
        let lines: Vec<&String> =
            c.windows(2).filter_map(|w| found.iter().find(|(f, t, _)| *f == w[0] && *t == w[1]).map(|(_, _, at)| at)).collect();
        panic!("the imports go round: {}\n{}", c.join(" → "), lines.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"));
    }
}

#[test]
fn the_scan_sees_grouped_and_aliased_paths() {
    let p = paths_after("use crate::{dates, import::{self, Row}};", "crate::");
    assert!(p.iter().any(|p| p == &["dates"]), "{p:?}");
    assert!(p.iter().any(|p| p.first().map(String::as_str) == Some("import")), "{p:?}");
    assert_eq!(paths_after("x = crate::store::open(&db)", "crate::"), vec![vec!["store".to_string(), "open".into()]]);
    assert!(paths_after("let my_crate::x = 1;", "crate::").is_empty());
    assert_eq!(unit("export::routes::x"), Some("export::routes"));
    assert_eq!(unit("export::google"), Some("export"));
    assert_eq!(unit("exports"), None);
}
