"""Apply a model's search/replace edits to files, and check what they produce.

An edit replaces text that occurs exactly once in its file; when the exact text is absent, a
whitespace-tolerant match (indentation and trailing spaces ignored, line by line) is tried, again
only if unique. Untouched code is never reformatted: edits are applied to the text with its line
endings made ``\n``, then every line the edit did not change gets its original bytes back and the
new lines take the file's own ending (CRLF files stay CRLF), so the diff and its limits are those of
the real change. Validation refuses paths outside the allowed set, CI/workflow and secret files,
diffs over a size limit (lines, characters per added line, characters per edit), Python that no
longer parses, and pyflakes errors the edit introduced (undefined names, unused imports it added).
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


def split_lines(text: str) -> list[str]:
    """``text`` cut after each ``\\n`` only (``str.splitlines`` also cuts at ``\\r``, form feeds and
    U+2028, which would change what counts as a line); endings kept."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def restore_endings(original: str, before: str, after: str) -> str:
    """``after`` (an edit of ``before``, which is ``original`` with CRLF made LF) with the lines the
    edit kept as they were in ``original`` and new lines ending like most of ``original``'s lines."""
    if "\r\n" not in original:
        return after
    crlf = original.count("\r\n") * 2 >= original.count("\n")
    raw, old, new = split_lines(original), split_lines(before), split_lines(after)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(raw[i1:i2])
        else:
            out.extend(ln[:-1] + "\r\n" if crlf and ln.endswith("\n") else ln for ln in new[j1:j2])
    return "".join(out)


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


def _diff(path: str, before: str, after: str) -> list[str]:
    return list(difflib.unified_diff(split_lines(before), split_lines(after), f"a/{path}", f"b/{path}"))


def _changed(diff: list[str], sign: str) -> list[str]:
    """The diff's added (``+``) or removed (``-``) lines: its hunks only, after the two file headers
    (a removed line that reads ``--`` is ``---`` in the diff, and is still a removed line)."""
    return [ln for ln in diff[2:] if ln.startswith(sign)]


def _check_sizes(path: str, before: str, diff: list[str], max_line_chars: int) -> None:
    """EditError when an added line is longer than ``max_line_chars`` and than every line the file had."""
    limit = max(max_line_chars, max((len(ln.rstrip("\r\n")) for ln in split_lines(before)), default=0))
    for line in _changed(diff, "+"):
        size = len(line[1:].rstrip("\r\n"))
        if size > limit:
            raise EditError(f"{path}: an added line has {size} characters, more than the {limit} allowed")


def apply_edits(  # noqa: C901 - one loop per check, in the order the model is told about them
    files: Mapping[str, str],
    edits: Iterable[Edit],
    allowed: Iterable[str] | None = None,
    max_changed_lines: int = 200,
    max_line_chars: int = 400,
    max_edit_chars: int = 20_000,
) -> EditResult:
    """Apply every edit (in order, several per file allowed) and validate the result.

    ``files`` holds the current content of every file an edit may touch; ``allowed`` limits the
    paths (default: the keys of ``files``). Size limits: ``max_changed_lines`` lines added plus
    removed over all files; no added line longer than ``max_line_chars`` characters (or than the
    longest line the file already had); no edit whose replacement exceeds ``max_edit_chars``.
    Line endings are kept (see the module docstring). Raises EditError naming the first problem.
    """
    allow = {normalize_path(p) for p in (allowed if allowed is not None else files)}
    original = {normalize_path(p): t for p, t in files.items()}
    current = {p: t.replace("\r\n", "\n") for p, t in original.items()}
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
        if len(edit.replace) > max_edit_chars:
            raise EditError(
                f"{path}: an edit replaces with {len(edit.replace)} characters, more than the {max_edit_chars} allowed"
            )
        text = changed.get(path, current[path])
        lf = Edit(path, edit.search.replace("\r\n", "\n"), edit.replace.replace("\r\n", "\n"))
        changed[path] = apply_edit(text, lf)
    diff_parts: list[str] = []
    added = removed = 0
    result: dict[str, str] = {}
    for path, after in sorted(changed.items()):
        if path.endswith(".py"):
            check_python(path, current[path], after)
        result[path] = restore_endings(original[path], current[path], after)
        diff = _diff(path, original[path], result[path])
        _check_sizes(path, original[path], diff, max_line_chars)
        added += len(_changed(diff, "+"))
        removed += len(_changed(diff, "-"))
        diff_parts.append("".join(diff))
    if added + removed > max_changed_lines:
        raise EditError(f"the edits change {added + removed} lines, more than the {max_changed_lines} allowed")
    result = {p: t for p, t in result.items() if t != original[p]}
    if not result:
        raise EditError("the edits change nothing")
    return EditResult(result, "".join(diff_parts), added, removed)
