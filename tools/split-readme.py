#!/usr/bin/env python3
"""Split goaltag's full README (the manual) into a front door and docs/ by topic.

Issue 26, "README as a front door". The README grew into a manual of ~1 600
lines; this script turns it into

* README.md: the front door, from the template tools/readme-front.md (what
  goaltag is, the two commands, the snippet, the demo walk, the architecture
  in brief, and a "read on" list of every docs/*.md), and
* docs/<topic>.md: every other section of the manual, unchanged but for its
  links, in the order it had, chosen by its `##` heading (a `###` goes with
  its `##` unless MAPPING names it).

It is deterministic and re-runnable: run it on the full manual (the README as
it is in main before the split, with whatever sections other branches added)
and it writes the same files for the same input. A `##` heading it does not
know goes to the file of the section before it, with a warning, so a section
added since this script was written is never lost; add it to MAPPING.

Links: `[x](#anchor)` becomes `[x](docs/file.md#anchor)` (or `#anchor` in the
same file), relative paths are re-rooted for files in docs/, and the manual's
quoted cross references (`see "Consent"`) become links to the heading they
name. Files in docs/ that this script did not write (spend.md,
privacy-notes.md, ...) are never touched; they are listed in the front
door's "read on" list. A file it would write that exists without its marker
is refused.

Checks (exit status 1 when one fails):

* every non-empty line of the input survives in some output, compared with
  link targets, brackets and double quotes left out (the only things the
  rewriting changes); the counts are printed;
* every relative link and `#anchor` in the written files resolves (the same
  check tests/docs.rs makes in `./build.sh test`).

Usage:

    python3 tools/split-readme.py                       # README.md -> README.md + docs/*.md, in place
    python3 tools/split-readme.py --root /tmp/scratch   # the same inside a copy of the repository
    python3 tools/split-readme.py --input manual.md --dry-run   # report only, write nothing

Standard library only.
"""

import argparse
import collections
import os
import re
import sys
import unicodedata

# Marks the files this script writes: the front door (refused as input) and
# its docs files (which it may overwrite on a re-run; any other file is left alone).
FRONT_MARKER = "<!-- README front door: written by tools/split-readme.py from the full manual and tools/readme-front.md. -->"
DOC_MARKER = "<!-- Split out of the README by tools/split-readme.py (issue 26); edit it here. -->"

# The docs files this script writes: file -> (title, one line for the "read on" list).
# The order is the order of the "read on" list.
FILES = collections.OrderedDict(
    [
        ("docs/tag.md", ("The tag and its API", "the snippet in full, bundlers (npm, React, Vue), tag managers, every command and configuration field, what is captured automatically")),
        ("docs/goals.md", ("Goals and attribution", "conversion goals decided in the browser, visits and attribution")),
        ("docs/consent.md", ("Consent and privacy", "Consent Mode names, banners (TCF, Google Consent Mode, cookieconsent), click IDs under `ad_storage`, storage, revocation, the demo's banner")),
        ("docs/delivery.md", ("Delivery and the wire format", "the wire format (version 1), batching, retries, persistence, tab handover, proof under faults")),
        ("docs/collector.md", ("The collector and its stores", "`goaltag-collector serve`, its flags and answers, origins, rate limits, durability, SQLite or PostgreSQL, the admin token")),
        ("docs/reports.md", ("Reports, offline conversions and ROI", "`/report`, the dashboard, `report`, what each figure means, CRM imports")),
        ("docs/exports.md", ("Exports to ad platforms", "upload files for Microsoft Advertising, Google Ads and Meta: which conversions go, names, re-runs")),
        ("docs/size.md", ("Size and benchmarks", "the side-by-side benchmark, the download size and what keeps it there")),
        ("docs/architecture.md", ("Architecture: dependencies and layout", "every crate and why, every folder and file and what it holds")),
    ]
)
FRONT = "README.md"

# `##` heading -> file; a `###` goes with its `##` unless it is named here.
# FRONT means: kept in the front door, where the template says {{section:...}}.
MAPPING = {
    "The two commands": FRONT,
    "Putting the tag on a page": "docs/tag.md",
    "Using goaltag from a bundler": "docs/tag.md",
    "Deploying through a tag manager": "docs/tag.md",
    "JavaScript API": "docs/tag.md",
    "What is captured automatically": "docs/tag.md",
    "Goals": "docs/goals.md",
    "Wire format (version 1)": "docs/delivery.md",
    "Delivery: guarantees and limits": "docs/delivery.md",
    "Consent": "docs/consent.md",
    "The reference collector": "docs/collector.md",
    "Choosing a store: SQLite or PostgreSQL": "docs/collector.md",
    "Reports": "docs/reports.md",
    "Offline conversions": "docs/reports.md",
    "Admin token": "docs/collector.md",
    "Enhanced conversions": "docs/exports.md",
    # Names a spend or ROI section may get (issue 26 lists "reports and ROI" as one topic).
    "Ad spend": "docs/reports.md",
    "Spend": "docs/reports.md",
    "Return on ad spend": "docs/reports.md",
    "ROAS": "docs/reports.md",
    "Spend and ROAS": "docs/reports.md",
    "Sending conversions to ad platforms": "docs/exports.md",
    "Benchmarks": "docs/size.md",
    "Size": "docs/size.md",
    "Dependencies": "docs/architecture.md",
    "Layout": "docs/architecture.md",
    "Architecture": "docs/architecture.md",
}

TEMPLATE = "tools/readme-front.md"

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def slug(text):
    """GitHub's anchor for a heading: the rendered text lower-cased, every
    character but letters, digits, spaces, '-' and '_' dropped, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    out = []
    for ch in text.lower():
        if ch == " ":
            out.append("-")
        elif ch in "-_" or unicodedata.category(ch)[0] in "LN":
            out.append(ch)
    return "".join(out)


def fenced_flags(lines):
    """For each line, whether it is part of a fenced code block (fences included)."""
    flags, fence = [], None
    for line in lines:
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
            flags.append(fence is not None)
        else:
            flags.append(True)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and line.strip() == m.group(1):
                fence = None
    return flags


def headings(lines):
    """(line index, level, text) of every heading outside code blocks."""
    out = []
    for i, (line, fenced) in enumerate(zip(lines, fenced_flags(lines))):
        m = None if fenced else HEADING.match(line)
        if m:
            out.append((i, len(m.group(1)), m.group(2)))
    return out


def anchors(lines):
    """The anchors GitHub gives the headings of a file, repeated ones suffixed -1, -2, ...
    Returns [(line index, anchor)]."""
    seen, out = collections.Counter(), []
    for i, _, text in headings(lines):
        base = slug(text)
        a = base if seen[base] == 0 else "%s-%d" % (base, seen[base])
        seen[base] += 1
        out.append((i, a))
    return out


class Block:
    """One `##` or `###` section of the manual (or the part before the first `##`)."""

    def __init__(self, level, title, start):
        self.level, self.title, self.start, self.lines, self.target = level, title, start, [], None


def split_blocks(lines):
    blocks = [Block(1, None, 0)]
    heads = {i: (lvl, text) for i, lvl, text in headings(lines)}
    for i, line in enumerate(lines):
        h = heads.get(i)
        if h and h[0] in (2, 3):
            blocks.append(Block(h[0], h[1], i))
        blocks[-1].lines.append(line)
    return blocks


def assign(blocks, warn):
    """Sets each block's target file; warns about `##` headings MAPPING does not name."""
    first_doc = next(iter(FILES))
    parent = prev_doc = None
    blocks[0].target = FRONT
    for b in blocks[1:]:
        known = MAPPING.get(b.title)
        if b.level == 2:
            if known is None:
                known = prev_doc or first_doc
                warn("line %d: unknown heading '## %s': put into %s (after the section before it); name it in MAPPING"
                     % (b.start + 1, b.title, known))
            parent = known
        elif known is None:
            known = parent or first_doc
        b.target = known
        if known != FRONT:
            prev_doc = known


def mask_code(text):
    """The text with inline code spans and fenced blocks blanked (same length,
    newlines kept), so links and quotes are only looked for in prose."""
    lines = text.split("\n")
    flags = fenced_flags(lines)
    text = "\n".join(" " * len(l) if f else l for l, f in zip(lines, flags))

    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))

    return re.sub(r"(`+)(?:(?!\1).)+?\1", blank, text, flags=re.S)


def trim(rows):
    """Rows without their trailing empty lines (the template has its own)."""
    rows = list(rows)
    while rows and rows[-1][0] == "":
        rows.pop()
    return rows


class Splitter:
    def __init__(self, manual_lines, template_text, existing_docs, warn):
        self.warn = warn
        self.blocks = split_blocks(manual_lines)
        assign(self.blocks, warn)
        self.template = template_text
        self.existing_docs = existing_docs  # docs/*.md present and not written by this script
        # The manual's anchors -> the block holding that heading.
        self.anchor_block = {}
        starts = {b.start: b for b in self.blocks}
        for i, a in anchors(manual_lines):
            block = starts.get(i) or self.block_at(i)
            self.anchor_block[a] = (block, i)
        # Headings by their whitespace-normalised text, for quoted references.
        self.heading_text = {}
        for i, _, text in headings(manual_lines):
            self.heading_text.setdefault(" ".join(text.split()), i)
        self.line_anchor = {}  # manual line index of a heading -> (file, anchor in that file)

    def block_at(self, i):
        found = self.blocks[0]
        for b in self.blocks:
            if b.start <= i:
                found = b
        return found

    # -- assembling -------------------------------------------------------

    def outputs(self):
        """{file: [(text, manual line index or None)]}: what each file holds, before links are rewritten."""
        files = collections.OrderedDict()
        for f, (title, blurb) in FILES.items():
            if any(b.target == f for b in self.blocks):
                head = [DOC_MARKER, "# " + title, "", "Part of goaltag's manual: %s. Start at the [README](README.md)." % blurb, ""]
                files[f] = [(l, None) for l in head]
        for b in self.blocks:
            if b.target == FRONT:
                continue
            if b.target not in files:
                files[b.target] = [(DOC_MARKER, None), ("# " + b.target, None), ("", None)]
            body = [(l, b.start + k) for k, l in enumerate(b.lines)]
            if files[b.target][-1][0] != "" and body and body[0][0] != "":
                files[b.target].append(("", None))
            files[b.target].extend(body)
        files[FRONT] = self.front(files)
        files.move_to_end(FRONT, last=False)
        for f, rows in files.items():
            while rows and rows[-1][0] == "":
                rows.pop()
        return files

    def front(self, doc_files):
        rows, used = [], set()
        for line in self.template.split("\n"):
            m = re.fullmatch(r"\{\{(preamble|section:(.+)|read-on)\}\}", line.strip())
            if not m:
                rows.append((line, None))
            elif m.group(1) == "preamble":
                rows.extend(trim((l, k) for k, l in enumerate(self.blocks[0].lines)))
                used.add(0)
            elif m.group(1) == "read-on":
                rows.extend((l, None) for l in self.read_on(doc_files))
            else:
                name = m.group(2).strip()
                found = False
                for n, b in enumerate(self.blocks):
                    if b.level == 2 and b.title == name:
                        found = True
                        k = n
                        while k < len(self.blocks) and (k == n or self.blocks[k].level > 2):
                            if self.blocks[k].target == FRONT:
                                rows.extend(trim((l, self.blocks[k].start + j) for j, l in enumerate(self.blocks[k].lines)))
                                used.add(k)
                            k += 1
                if not found:
                    self.warn("template: {{section:%s}} names no `##` section of the manual; left out" % name)
        for n, b in enumerate(self.blocks):
            if b.target == FRONT and n not in used:
                self.warn("line %d: '%s' is kept in the front door but the template places it nowhere: appended" % (b.start + 1, b.title))
                rows.extend((l, b.start + j) for j, l in enumerate(b.lines))
        return rows

    def read_on(self, doc_files):
        out = []
        for f in doc_files:
            title, blurb = FILES.get(f, (f, ""))
            out.append("- [%s](%s): %s%s" % (title, f, blurb, "." if blurb else ""))
        for f, title in sorted(self.existing_docs.items()):
            out.append("- [%s](%s)" % (title, f))
        return out

    # -- links ------------------------------------------------------------

    def place_headings(self, files):
        """Where each manual heading ends up: its file and its anchor there."""
        for f, rows in files.items():
            texts = [t for t, _ in rows]
            for i, a in anchors(texts):
                src = rows[i][1]
                if src is not None:
                    self.line_anchor[src] = (f, a)

    def link_to(self, here, target_file, anchor):
        if target_file == here:
            return "#" + anchor
        return os.path.relpath(target_file, os.path.dirname(here) or ".").replace(os.sep, "/") + "#" + anchor

    def rewrite_target(self, here, target):
        """A link target written for the manual (at the repository's root), as seen from `here`."""
        if SCHEME.match(target):
            return target
        if target.startswith("#"):
            hit = self.anchor_block.get(target[1:])
            if hit is None:
                self.warn("%s: link to #%s, which no heading of the manual has; left as it is" % (here, target[1:]))
                return target
            f, a = self.line_anchor[hit[1]] if hit[1] in self.line_anchor else (None, None)
            if f is None:
                return target
            return self.link_to(here, f, a)
        path, sep, frag = target.partition("#")
        if not path:
            return target
        slash = path.endswith("/")
        new = os.path.relpath(os.path.normpath(path), os.path.dirname(here) or ".").replace(os.sep, "/")
        return new + ("/" if slash and not new.endswith("/") else "") + sep + frag

    def quoted_ref(self, here, quoted):
        """The link a quoted cross reference (`see "Delivery"`) stands for, or None."""
        name = " ".join(quoted.split())
        i = self.heading_text.get(name)
        if i is None:
            cands = [j for t, j in self.heading_text.items() if re.match(re.escape(name) + r"(:| \()", t)]
            i = cands[0] if len(cands) == 1 else None
        if i is None or i not in self.line_anchor:
            return None
        f, a = self.line_anchor[i]
        return self.link_to(here, f, a)

    def rewrite(self, here, rows):
        """The file's text with its links rewritten for where it now lives."""
        text = "\n".join(t for t, _ in rows)
        masked = mask_code(text)
        edits = []
        for m in re.finditer(r"\]\(([^)\s]+)\)", masked):
            new = self.rewrite_target(here, m.group(1))
            if new != m.group(1):
                edits.append((m.start(1), m.end(1), new))
        for m in re.finditer(r"(?:\b[Ss]ee|\bunder)\s+\"([^\"\n]+(?:\n[ \t]*[^\"\n]+)?)\"", masked):
            link = self.quoted_ref(here, m.group(1))
            if link:
                q0, q1 = m.start(1) - 1, m.end(1) + 1
                edits.append((q0, q1, "[%s](%s)" % (text[m.start(1):m.end(1)], link)))
        for a, b, new in sorted(edits, reverse=True):
            text = text[:a] + new + text[b:]
        return text + "\n"


# -- checks ---------------------------------------------------------------


def normalise(line):
    """A line as the survival check compares it: link targets, brackets and
    double quotes (all the rewriting may change) left out, spaces trimmed."""
    line = re.sub(r"\]\([^)\s]*\)", "", line)
    return re.sub(r"[\[\]\"]", "", line).strip()


def survival(manual_lines, written):
    have = collections.Counter()
    exact = collections.Counter()
    for text in written.values():
        for l in text.split("\n"):
            have[normalise(l)] += 1
            exact[l] += 1
    need = collections.Counter(normalise(l) for l in manual_lines if l.strip())
    missing = [l for l, n in need.items() if have[l] < n]
    verbatim = sum(1 for l in manual_lines if l.strip() and exact[l] > 0)
    total = sum(1 for l in manual_lines if l.strip())
    return total, verbatim, missing


def check_links(files):
    """Broken relative links and anchors in `files` ({path: text}, paths relative to the root),
    looked up in `files` first, then on disk by the caller's resolver."""
    problems = []
    anchor_cache = {}

    def anchors_of(path):
        if path not in anchor_cache:
            text = files[path][0] if path in files else None
            anchor_cache[path] = None if text is None else {a for _, a in anchors(text.split("\n"))}
        return anchor_cache[path]

    for path, (text, _) in files.items():
        if text is None or not path.endswith(".md"):
            continue
        masked = mask_code(text)
        for m in re.finditer(r"\]\(([^)\s]+)\)", masked):
            target = m.group(1)
            if SCHEME.match(target) or target.startswith("//"):
                continue
            p, _, frag = target.partition("#")
            dest = path if not p else os.path.normpath(os.path.join(os.path.dirname(path), p)).replace(os.sep, "/")
            line = text.count("\n", 0, m.start()) + 1
            if dest not in files:
                problems.append("%s:%d: %s: no such file" % (path, line, target))
            elif frag and dest.endswith(".md"):
                known = anchors_of(dest)
                if known is not None and frag not in known:
                    problems.append("%s:%d: %s: no heading with that anchor" % (path, line, target))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="the repository to write into (default: this script's repository)")
    ap.add_argument("--input", help="the full manual (default: ROOT/README.md)")
    ap.add_argument("--template", help="the front door's template (default: ROOT/tools/readme-front.md, else this script's)")
    ap.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    manual_path = args.input or os.path.join(root, "README.md")
    template_path = args.template or os.path.join(root, TEMPLATE)
    if not os.path.exists(template_path):
        template_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "readme-front.md")
    with open(manual_path, encoding="utf-8") as f:
        manual = f.read()
    with open(template_path, encoding="utf-8") as f:
        template = f.read().rstrip("\n")
    if FRONT_MARKER in manual:
        sys.exit("%s is already the front door; give the full manual with --input "
                 "(e.g. `git show <commit before the split>:README.md > /tmp/manual.md`)" % manual_path)
    manual_lines = manual.rstrip("\n").split("\n")

    warnings = []

    def warn(msg):
        warnings.append(msg)
        print("warning: " + msg, file=sys.stderr)

    docs_dir = os.path.join(root, "docs")
    existing = {}
    for name in sorted(os.listdir(docs_dir)) if os.path.isdir(docs_dir) else []:
        path = os.path.join(docs_dir, name)
        if not name.endswith(".md") or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if DOC_MARKER in text:
            continue  # written by an earlier run: rewritten below
        title = next((m.group(2) for m in map(HEADING.match, text.split("\n")) if m and len(m.group(1)) == 1), name)
        existing["docs/" + name] = title

    sp = Splitter(manual_lines, template, existing, warn)
    clash = [b.target for b in sp.blocks if b.target in existing]
    if clash:
        sys.exit("refusing to overwrite %s: not written by this script" % ", ".join(sorted(set(clash))))
    files = sp.outputs()
    sp.place_headings(files)
    written = collections.OrderedDict((f, sp.rewrite(f, rows)) for f, rows in files.items())
    written[FRONT] = FRONT_MARKER + "\n" + written[FRONT]

    # Report: where each section went.
    print("sections:")
    for b in sp.blocks[1:]:
        print("  %-4s %-45s -> %s" % ("#" * b.level, b.title[:45], b.target))
    print("files:")
    for f, t in written.items():
        print("  %-22s %5d lines" % (f, t.count("\n")))
    for f in sorted(existing):
        print("  %-22s (not written by this script: left alone, linked from the front door)" % f)

    total, verbatim, missing = survival(manual_lines, written)
    print("survival: %d non-empty lines of the manual; %d found verbatim, %d with only link targets, brackets or quotes changed, %d missing"
          % (total, verbatim, total - verbatim - len(missing), len(missing)))
    for l in missing[:20]:
        print("  missing: " + l, file=sys.stderr)

    # Link check over the result, with the rest of the repository on disk.
    universe = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", "target", "node_modules")]
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            universe[rel] = None
        for d in dirnames:
            universe[os.path.relpath(os.path.join(dirpath, d), root).replace(os.sep, "/")] = None
    md = {}
    for f in list(written) + sorted(existing):
        if f in written:
            md[f] = (written[f], True)
        else:
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                md[f] = (fh.read(), False)
    checked = dict((k, (None, False)) for k in universe)
    checked.update(md)
    problems = check_links({k: v for k, v in checked.items()})
    problems = [p for p in problems if p.split(":")[0] in md]
    print("links: %d broken" % len(problems))
    for p in problems:
        print("  " + p, file=sys.stderr)

    if missing or problems:
        sys.exit(1)
    if args.dry_run:
        print("dry run: nothing written")
        return
    os.makedirs(docs_dir, exist_ok=True)
    for f, t in written.items():
        with open(os.path.join(root, f), "w", encoding="utf-8") as fh:
            fh.write(t)
    print("wrote %s" % ", ".join(written))
    if warnings:
        print("%d warning(s), see above" % len(warnings))


if __name__ == "__main__":
    main()
