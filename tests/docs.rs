//! The README and `docs/*.md` link only to what exists: every relative link
//! names a file or folder of the repository, and every `#anchor` (in the same
//! file or another Markdown file) names one of its headings, by GitHub's rules
//! for heading anchors. A section moved from one file to another (issue 26
//! split the README into `docs/`) cannot leave a dead link behind.
//!
//! Native only: `wasm-pack test` builds this file for wasm32 as an empty
//! crate. `GOALTAG_DOCS_ROOT` checks another copy of the repository instead of
//! this one.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

/// GitHub's anchor for a heading's text: the rendered text lower-cased, every
/// character but letters, digits, `-`, `_` and spaces dropped, each space a `-`.
fn slug(heading: &str) -> String {
    let mut out = String::new();
    for c in link_texts(heading).chars().flat_map(char::to_lowercase) {
        if c == ' ' {
            out.push('-');
        } else if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        }
    }
    out
}

/// `[text](target)` replaced by `text`, as a heading is rendered.
fn link_texts(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](").map(|m| open + m) else { break };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else { break };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// For each line, whether it belongs to a fenced code block (its fences included).
fn fenced(lines: &[&str]) -> Vec<bool> {
    let mut open: Option<(char, usize)> = None;
    lines
        .iter()
        .map(|line| {
            let t = line.trim_start();
            let fence = ['`', '~'].into_iter().find_map(|c| {
                let n = t.chars().take_while(|&x| x == c).count();
                (n >= 3).then_some((c, n))
            });
            match (open, fence) {
                (None, Some(f)) => {
                    open = Some(f);
                    true
                }
                (None, None) => false,
                (Some((c, n)), Some((fc, fnn))) if fc == c && fnn >= n && t.trim_end().chars().all(|x| x == c) => {
                    open = None;
                    true
                }
                (Some(_), _) => true,
            }
        })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code blocks), a repeated
/// one suffixed `-1`, `-2`, … as GitHub does, plus explicit `id="…"`/`name="…"`.
fn anchors(text: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    for (line, code) in lines.iter().zip(fenced(&lines)) {
        if code {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with([' ', '\t']) {
            let text = line[hashes..].trim().trim_end_matches('#').trim_end();
            let base = slug(text);
            let n = seen.entry(base.clone()).or_insert(0);
            out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
            *n += 1;
        }
        for attr in ["id=\"", "name=\""] {
            for (at, _) in line.match_indices(attr) {
                let rest = &line[at + attr.len()..];
                if let Some(end) = rest.find('"') {
                    out.insert(rest[..end].to_string());
                }
            }
        }
    }
    out
}

/// The text with inline code spans and fenced blocks blanked (newlines kept),
/// so only the prose's links are looked at.
fn prose(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let kept: Vec<&str> = lines.iter().zip(fenced(&lines)).map(|(l, code)| if code { "" } else { *l }).collect();
    let joined = kept.join("\n");
    let mut out = String::new();
    let mut rest = joined.as_str();
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        out.push_str(&rest[..start]);
        match rest[start + ticks..].find(fence) {
            Some(end) => {
                let span = &rest[start..start + ticks + end + ticks];
                out.extend(span.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
                rest = &rest[start + ticks + end + ticks..];
            }
            None => {
                out.push_str(fence);
                rest = &rest[start + ticks..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every link target of a Markdown text: inline `[x](target)` and reference
/// definitions `[x]: target`, with their line numbers.
fn links(text: &str) -> Vec<(usize, String)> {
    let prose = prose(text);
    let mut out = Vec::new();
    for (at, _) in prose.match_indices("](") {
        let rest = &prose[at + 2..];
        let end = rest.find(|c: char| c == ')' || c.is_whitespace()).unwrap_or(rest.len());
        let target = rest[..end].trim_start_matches('<').trim_end_matches('>');
        out.push((prose[..at].matches('\n').count() + 1, target.to_string()));
    }
    for (n, line) in prose.lines().enumerate() {
        let t = line.trim_start();
        if let (true, Some(close)) = (t.starts_with('['), t.find("]:")) {
            if let Some(target) = t[close + 2..].split_whitespace().next() {
                out.push((n + 1, target.to_string()));
            }
        }
    }
    out
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What is wrong with the links of `file` (a path relative to `root`, holding
/// `text`): each a line naming the file, the line and the target.
fn problems(root: &Path, file: &Path, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let here = file.parent().unwrap_or(Path::new(""));
    for (line, target) in links(text) {
        let is_url = target.starts_with("//")
            || target
                .split_once(':')
                .is_some_and(|(scheme, _)| !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)));
        if is_url || target.is_empty() {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        let dest = if path.is_empty() { file.to_path_buf() } else { normalise(&here.join(path)) };
        let at = format!("{}:{line}: {target}", file.display());
        if !path.is_empty() && (dest.starts_with("..") || !root.join(&dest).exists()) {
            out.push(format!("{at}: no such file in the repository"));
            continue;
        }
        let Some(anchor) = anchor.filter(|a| !a.is_empty()) else { continue };
        if dest.extension().is_some_and(|e| e == "md") {
            let dest_text = if dest == file { text.to_string() } else { std::fs::read_to_string(root.join(&dest)).unwrap_or_default() };
            if !anchors(&dest_text).contains(anchor) {
                out.push(format!("{at}: {} has no heading with that anchor", dest.display()));
            }
        }
    }
    out
}

fn root() -> PathBuf {
    std::env::var_os("GOALTAG_DOCS_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// README.md and every docs/*.md, relative to the root.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .map(|p| Path::new("docs").join(p.file_name().unwrap()))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

#[test]
fn every_relative_link_and_anchor_in_readme_and_docs_resolves() {
    let root = root();
    let mut found = Vec::new();
    let mut checked = 0;
    for file in documents(&root) {
        let text = std::fs::read_to_string(root.join(&file)).unwrap_or_else(|e| panic!("{}: {e}", root.join(&file).display()));
        checked += links(&text).len();
        found.extend(problems(&root, &file, &text));
    }
    assert!(found.is_empty(), "{} broken link(s) of {checked} in {}:\n{}", found.len(), root.display(), found.join("\n"));
}

#[test]
fn anchors_follow_github_rules() {
    // Hand-written from the anchors GitHub gives these headings of the README.
    assert_eq!(slug("Delivery: guarantees and limits"), "delivery-guarantees-and-limits");
    assert_eq!(slug("The demo's cookie banner"), "the-demos-cookie-banner");
    assert_eq!(slug("Wire format (version 1)"), "wire-format-version-1");
    assert_eq!(slug("Choosing a store: SQLite or PostgreSQL"), "choosing-a-store-sqlite-or-postgresql");
    assert_eq!(slug("Two crates the tag does not use, measured"), "two-crates-the-tag-does-not-use-measured");
    assert_eq!(slug("`delivery` config, in [detail](x.md)"), "delivery-config-in-detail");
    assert_eq!(slug("Größe & Ümlaute_x"), "größe--ümlaute_x");
    let doc = "# Consent\n\n## Consent\n\n```sh\n# not a heading\n```\n\n### Consent\n";
    assert_eq!(anchors(doc), ["consent", "consent-1", "consent-2"].map(String::from).into_iter().collect());
}

#[test]
fn a_dead_link_or_anchor_is_reported_and_code_is_not_read() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = "# Title\n\n## Real section\n\n\
        [ok](#real-section) [ok](../README.md) [ok](../wire/) [ok](https://example.invalid/x#y)\n\
        [gone](#no-such-section) [gone](missing.md)\n\
        [gone](../README.md#no-such-heading-anywhere)\n\
        `[code](#not-a-link)`\n\n```md\n[code](#not-a-link-either)\n```\n\n[ref]: ../nowhere.txt\n";
    let found = problems(&root, Path::new("docs/example.md"), text);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found[0].contains("#no-such-section"), "{found:#?}");
    assert!(found[1].contains("missing.md: no such file"), "{found:#?}");
    assert!(found[2].contains("README.md has no heading"), "{found:#?}");
    assert!(found[3].contains("nowhere.txt"), "{found:#?}");
}
