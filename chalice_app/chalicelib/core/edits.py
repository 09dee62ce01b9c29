"""Apply a model's search/replace edits to files, and check what they produce.

An edit replaces text that occurs exactly once in its file; when the exact text is absent, a
whitespace-tolerant match (indentation and trailing spaces ignored, line by line) is tried, again
only if unique. Untouched code is never reformatted. Validation refuses paths outside the
allowed set, CI/workflow and secret files, diffs over a size limit, Python that no longer parses,
and pyflakes errors the edit introduced (undefined names, unused imports it added).
"""

from __future__ import annotations

import ast
import difflib
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyflakes import checker as pyflakes_checker

from chalicelib.core.models import Edit

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# Paths a fix never touches, whatever the allow-list says.
_FORBIDDEN = re.compile(
    r"(?:^|/)(?:\.github|\.gitlab-ci\.yml|\.circleci|\.buildkite|Jenkinsfile|\.travis\.yml|buildspec\.ya?ml"
    r"|azure-pipelines\.ya?ml|\.pre-commit-config\.yaml|\.git)(?:/|$)"
    r"|(?:^|/)(?:\.env(?:\..*)?|.*\.pem|.*\.key|id_rsa.*|id_ed25519.*|credentials|secrets?\.\w+|\.npmrc|\.pypirc)$",
    re.IGNORECASE,
)


class EditError(ValueError):
    """Edits that do not apply or do not validate; the message is fed back to the model."""


@dataclass(frozen=True)
class EditResult:
    """The files an accepted set of edits produces, and its unified diff."""

    files: dict[str, str]  # path -> new content, changed files only
    diff: str
    lines_added: int
    lines_removed: int


def normalize_path(path: str) -> str:
    """A repository-relative POSIX path; EditError when it escapes the repository."""
    clean = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if clean in ("", ".") or clean.startswith("../") or clean == ".." or "\x00" in clean:
        raise EditError(f"path {path!r} is outside the repository")
    return clean


def _loose(line: str) -> str:
    return line.strip()


def _find_loose(text: str, search: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` whose lines equal ``search``'s lines, whitespace aside."""
    lines = text.splitlines(keepends=True)
    want = [_loose(s) for s in search.strip("\n").splitlines()]
    if not want or not any(want):
        return []
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    spans = []
    for start in range(len(lines) - len(want) + 1):
        if all(_loose(lines[start + k]) == want[k] for k in range(len(want))):
            spans.append((offsets[start], offsets[start + len(want)]))
    return spans


def _reindent(replace: str, original: str) -> str:
    """Give a loosely matched replacement the indentation the file had there."""

    def indent(s: str) -> str:
        return s[: len(s) - len(s.lstrip())]

    orig_first = next((ln for ln in original.splitlines() if ln.strip()), "")
    rep_lines = replace.strip("\n").splitlines()
    rep_first = next((ln for ln in rep_lines if ln.strip()), "")
    have, want = indent(rep_first), indent(orig_first)
    out = []
    for ln in rep_lines:
        out.append(want + ln[len(have) :] if ln.startswith(have) else ln)
    text = "\n".join(out)
    return text + "\n" if original.endswith("\n") else text


def apply_edit(text: str, edit: Edit) -> str:
    """``text`` with ``edit`` applied; EditError when its search text is absent or ambiguous."""
    if not edit.search:
        raise EditError(f"{edit.path}: empty search text (whole-file rewrites are not accepted)")
    count = text.count(edit.search)
    if count == 1:
        return text.replace(edit.search, edit.replace, 1)
    if count > 1:
        raise EditError(f"{edit.path}: search text occurs {count} times; include more lines to make it unique")
    spans = _find_loose(text, edit.search)
    if len(spans) == 1:
        start, end = spans[0]
        return text[:start] + _reindent(edit.replace, text[start:end]) + text[end:]
    if spans:
        raise EditError(f"{edit.path}: search text matches {len(spans)} places; include more lines")
    raise EditError(f"{edit.path}: search text not found in the file")


def _pyflakes_messages(source: str, filename: str) -> set[str]:
    tree = ast.parse(source, filename)
    found = pyflakes_checker.Checker(tree, filename=filename)
    # Compare by message text without line numbers: edits move lines.
    return {m.message % m.message_args for m in found.messages}


def check_python(path: str, before: str, after: str) -> None:
    """EditError when ``after`` does not parse, or has pyflakes errors ``before`` did not."""
    try:
        ast.parse(after, path)
    except SyntaxError as exc:
        raise EditError(f"{path}: the edited file does not parse: {exc.msg} (line {exc.lineno})") from exc
    try:
        old = _pyflakes_messages(before, path)
    except SyntaxError:
        old = set()
    new = _pyflakes_messages(after, path) - old
    if new:
        raise EditError(f"{path}: the edit introduces: " + "; ".join(sorted(new)))


def apply_edits(
    files: Mapping[str, str],
    edits: Iterable[Edit],
    allowed: Iterable[str] | None = None,
    max_changed_lines: int = 200,
) -> EditResult:
    """Apply every edit (in order, several per file allowed) and validate the result.

    ``files`` holds the current content of every file an edit may touch; ``allowed`` limits the
    paths (default: the keys of ``files``). Raises EditError naming the first problem.
    """
    allow = {normalize_path(p) for p in (allowed if allowed is not None else files)}
    current = {normalize_path(p): t for p, t in files.items()}
    changed: dict[str, str] = {}
    edits = list(edits)
    if not edits:
        raise EditError("no edits proposed")
    for edit in edits:
        path = normalize_path(edit.path)
        if _FORBIDDEN.search(path):
            raise EditError(f"{path}: CI, workflow and secret files are never edited")
        if path not in allow:
            raise EditError(f"{path}: not one of the files in the trace ({', '.join(sorted(allow))})")
        if path not in current:
            raise EditError(f"{path}: no such file in the repository")
        text = changed.get(path, current[path])
        changed[path] = apply_edit(text, Edit(path, edit.search, edit.replace))
    diff_parts: list[str] = []
    added = removed = 0
    for path, after in sorted(changed.items()):
        before = current[path]
        if path.endswith(".py"):
            check_python(path, before, after)
        diff = list(
            difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
            )
        )
        added += sum(1 for ln in diff if ln.startswith("+") and not ln.startswith("+++"))
        removed += sum(1 for ln in diff if ln.startswith("-") and not ln.startswith("---"))
        diff_parts.append("".join(diff))
    if added + removed > max_changed_lines:
        raise EditError(f"the edits change {added + removed} lines, more than the {max_changed_lines} allowed")
    changed = {p: t for p, t in changed.items() if t != current[p]}
    if not changed:
        raise EditError("the edits change nothing")
    return EditResult(changed, "".join(diff_parts), added, removed)
