#!/usr/bin/env python3
"""Offline check of the README and the manual (the mdBook in docs/).

Checks, with nothing but the files of this repository:

* every relative link in README.md and docs/src/**/*.md points to a file or directory that
  exists (inline links, images and reference definitions; http(s), mailto and other URLs with a
  scheme are skipped, and so is anything inside fenced code blocks or inline code);
* every #anchor, in the same file or in another Markdown file, names a heading of that file
  under mdBook's rule: the heading's text (code spans kept, links reduced to their text, HTML
  tags dropped) lower-cased, whitespace turned into '-', every character other than letters,
  digits, '-' and '_' removed; a heading text that occurs again gets '-1', '-2', ...;
* every chapter file under docs/src is listed in docs/src/SUMMARY.md, and every entry of
  SUMMARY.md exists (draft entries, `[title]()`, are allowed);
* README.md is at most 200 lines.

Prints each problem as `file:line: message` and exits 1 if there is any; otherwise prints a
one-line summary and exits 0.

    python3 scripts/check-docs.py
    python3 scripts/check-docs.py --self-test   # plants each kind of problem in a copy, expects each reported
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(os.environ.get("CHECK_DOCS_ROOT") or Path(__file__).resolve().parent.parent)
README = ROOT / "README.md"
BOOK_SRC = ROOT / "docs" / "src"
SUMMARY = BOOK_SRC / "SUMMARY.md"
README_MAX_LINES = 200

FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(
    r"(!?)\[((?:[^\[\]\\]|\\.|\[(?:[^\[\]\\]|\\.)*\])*)\]"
    r"\(\s*(<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
)
REFERENCE_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:[ \t]*(<[^<>\n]*>|\S+)", re.MULTILINE)
HTML_TAG = re.compile(r"<[^<>]*>")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class Report:
    def __init__(self):
        self.problems = []

    def add(self, path, line, message):
        self.problems.append(f"{rel(path)}:{line}: {message}")


def rel(path):
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def fenced_lines(lines):
    """For each line, whether it belongs to a fenced code block (fences included)."""
    inside = [False] * len(lines)
    fence = None
    for i, line in enumerate(lines):
        if fence is None:
            m = FENCE_OPEN.match(line)
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                inside[i] = True
        else:
            inside[i] = True
            stripped = line.strip()
            if (
                len(line) - len(line.lstrip(" ")) <= 3
                and stripped
                and set(stripped) == {fence[0]}
                and len(stripped) >= len(fence)
            ):
                fence = None
    return inside


def prose(text):
    """The file's text with fenced blocks and code spans blanked out (offsets and lines kept)."""
    lines = text.split("\n")
    inside = fenced_lines(lines)
    kept = "\n".join(" " * len(line) if code else line for line, code in zip(lines, inside))
    return CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), kept)


def heading_text(raw):
    """A heading's text as mdBook sees it once rendered: code spans kept as their content,
    links and images as their text, HTML tags and emphasis markers dropped."""
    parts = []
    pos = 0
    for m in CODE_SPAN.finditer(raw):
        parts.append(("text", raw[pos : m.start()]))
        parts.append(("code", m.group(2).strip() if m.group(2).strip() else m.group(2)))
        pos = m.end()
    parts.append(("text", raw[pos:]))
    out = []
    for kind, chunk in parts:
        if kind == "code":
            out.append(chunk)
            continue
        chunk = INLINE_LINK.sub(lambda m: m.group(2), chunk)
        chunk = HTML_TAG.sub("", chunk)
        chunk = re.sub(r"\\(.)", r"\1", chunk)
        for entity in ("&lt;", "&gt;", "&amp;", "&#39;", "&quot;"):
            chunk = chunk.replace(entity, "")
        out.append(chunk)
    return "".join(out).strip()


def anchor_of(text):
    """mdBook's normalize_id."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in "-_":
            out.append(ch.lower() if ch.isascii() else ch)
        elif ch.isspace():
            out.append("-")
    return "".join(out)


_anchor_cache = {}


def anchors(path):
    """The ids mdBook gives the headings of a Markdown file, duplicates numbered."""
    if path in _anchor_cache:
        return _anchor_cache[path]
    lines = path.read_text(encoding="utf-8").split("\n")
    inside = fenced_lines(lines)
    seen = {}
    ids = set()

    def add(raw):
        base = anchor_of(heading_text(raw))
        n = seen.get(base, 0)
        ids.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1

    for i, line in enumerate(lines):
        if inside[i]:
            continue
        m = ATX_HEADING.match(line)
        if m:
            add(m.group(2) or "")
            continue
        if (
            i > 0
            and not inside[i - 1]
            and SETEXT_UNDERLINE.match(line)
            and lines[i - 1].strip()
            and not ATX_HEADING.match(lines[i - 1])
            and not re.match(r"^ {0,3}([-*+>|]|\d+[.)])", lines[i - 1])
        ):
            add(lines[i - 1].strip())
    _anchor_cache[path] = ids
    return ids


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def check_target(report, path, line, target, counts, allow_empty=False):
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1]
    if not target:
        if not allow_empty:
            report.add(path, line, "empty link target")
        return
    if SCHEME.match(target) or target.startswith("//"):
        return
    counts["links"] += 1
    file_part, _, fragment = target.partition("#")
    file_part = unquote(file_part)
    fragment = unquote(fragment)
    if file_part:
        if file_part.startswith("/"):
            report.add(path, line, f"absolute link '{target}': use a relative one")
            return
        dest = (path.parent / file_part).resolve()
        if not dest.exists():
            what = "SUMMARY entry" if path == SUMMARY else "link to"
            report.add(path, line, f"{what} '{file_part}': no such file")
            return
    else:
        dest = path
    if fragment:
        counts["anchors"] += 1
        if dest.is_dir() or dest.suffix.lower() != ".md":
            report.add(path, line, f"anchor '#{fragment}' on '{file_part}', which is not a Markdown file")
            return
        if fragment not in anchors(dest):
            where = "this file" if dest == path else rel(dest)
            report.add(path, line, f"anchor '#{fragment}': no such heading in {where}")


def check_links(report, path, counts):
    text = path.read_text(encoding="utf-8")
    scan = prose(text)
    for m in INLINE_LINK.finditer(scan):
        # The target is read from the original text: code spans were blanked in the scan.
        target = text[m.start(3) : m.end(3)]
        check_target(report, path, line_of(text, m.start()), target, counts, allow_empty=path == SUMMARY)
    for m in REFERENCE_DEF.finditer(scan):
        target = text[m.start(2) : m.end(2)]
        check_target(report, path, line_of(text, m.start()), target, counts)


def check_summary(report, chapters):
    if not SUMMARY.exists():
        report.add(SUMMARY, 1, "missing: the book has no SUMMARY.md")
        return 0
    text = SUMMARY.read_text(encoding="utf-8")
    listed = set()
    for m in INLINE_LINK.finditer(prose(text)):
        target = text[m.start(3) : m.end(3)].strip("<>")
        if not target or SCHEME.match(target):
            continue
        file_part = unquote(target.partition("#")[0])
        dest = (SUMMARY.parent / file_part).resolve()
        if dest.exists():
            listed.add(dest)
        # A missing entry is reported by the link check.
    for chapter in chapters:
        if chapter.resolve() not in listed:
            report.add(chapter, 1, "chapter not listed in docs/src/SUMMARY.md")
    return len(listed)


def main():
    report = Report()
    counts = {"links": 0, "anchors": 0}
    if not README.exists():
        report.add(README, 1, "missing")
        files = []
    else:
        files = [README]
        n = len(README.read_text(encoding="utf-8").splitlines())
        if n > README_MAX_LINES:
            report.add(README, n, f"README.md has {n} lines, more than {README_MAX_LINES}")
    book = sorted(BOOK_SRC.rglob("*.md")) if BOOK_SRC.is_dir() else []
    if not BOOK_SRC.is_dir():
        report.add(BOOK_SRC, 1, "missing: no docs/src")
    files += book
    for path in files:
        check_links(report, path, counts)
    chapters = [p for p in book if p.resolve() != SUMMARY.resolve()]
    listed = check_summary(report, chapters)

    if report.problems:
        for problem in report.problems:
            print(problem)
        print(f"check-docs: {len(report.problems)} problem(s)", file=sys.stderr)
        return 1
    readme_lines = len(README.read_text(encoding="utf-8").splitlines())
    print(
        f"check-docs: ok: {len(files)} files, {counts['links']} relative links, "
        f"{counts['anchors']} anchors, {listed} SUMMARY entries for {len(chapters)} chapters, "
        f"README.md {readme_lines} lines"
    )
    return 0


def self_test():
    """Plants a broken link, a broken anchor, an unlisted chapter and a long README in a copy of
    the README and the book; the check must fail and name each."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(README, root / "README.md")
        shutil.copytree(ROOT / "docs" / "src", root / "docs" / "src")
        chapter = sorted(p for p in (root / "docs" / "src").glob("*.md") if p.name != "SUMMARY.md")[0]
        with chapter.open("a", encoding="utf-8") as f:
            f.write("\nSee [nowhere](no-such-chapter.md) and [a heading](#no-such-heading).\n")
        (root / "docs" / "src" / "unlisted.md").write_text("# Unlisted\n", encoding="utf-8")
        with (root / "README.md").open("a", encoding="utf-8") as f:
            f.write("\n" * (README_MAX_LINES + 1))
        out = subprocess.run(
            [sys.executable, __file__],
            env={**os.environ, "CHECK_DOCS_ROOT": tmp},
            capture_output=True,
            text=True,
        )
        wanted = ["no-such-chapter.md", "no-such-heading", "unlisted.md", "README.md has"]
        missed = [w for w in wanted if w not in out.stdout]
        if out.returncode != 1 or missed:
            print(f"check-docs: the self-test planted problems and the check said (exit {out.returncode}):")
            print(out.stdout + out.stderr)
            print(f"check-docs: not reported: {missed}")
            return 1
    print("check-docs: self-test ok (each planted problem reported)")
    return 0


if __name__ == "__main__":
    sys.exit(self_test() if sys.argv[1:] == ["--self-test"] else main())
