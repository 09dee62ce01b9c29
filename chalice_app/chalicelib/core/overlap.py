"""Which lines of the base a fix changes, and whether two fixes change the same ones. Pure.

Two pull requests that change the same lines of the same file are duplicates in effect: the second
cannot merge after the first without a conflict, and usually fixes the same fault another way. A
fix's changed lines are kept per file as ranges of the base's line numbers (1-based, inclusive):
the lines it replaces or deletes, and for an insertion the two lines around the insertion point
(git, too, calls edits that touch a conflict). Stored on the group as JSON.
"""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Ranges = dict[str, list[tuple[float, float]]]  # path → [(first, last)] lines of the base (k + 0.5: after k)


def changed_ranges(before: Mapping[str, str], after: Mapping[str, str]) -> Ranges:
    """The base's line ranges each changed file's new text changes (``after`` holds the changed
    files only; a file absent from ``before`` is new: its range is its first line)."""
    out: Ranges = {}
    for path in sorted(after):
        old, new = before.get(path, "").splitlines(), after[path].splitlines()
        ranges: list[tuple[float, float]] = []
        for op, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if op in ("replace", "delete"):
                ranges.append((i1 + 1, i2))
            elif op == "insert":
                ranges.append((i1 + 0.5, i1 + 0.5))
        if ranges:
            out[path] = ranges
    return out


def overlaps(
    a: Mapping[str, Sequence[tuple[float, float]]], b: Mapping[str, Sequence[tuple[float, float]]]
) -> list[str]:
    """The files in which ``a`` and ``b`` change a common line, sorted."""
    return sorted(
        path for path in set(a) & set(b) if any(s1 <= e2 and s2 <= e1 for s1, e1 in a[path] for s2, e2 in b[path])
    )


def encode(ranges: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """The group's ``pr_ranges``: compact JSON."""
    return json.dumps({p: [list(r) for r in rs] for p, rs in sorted(ranges.items())}, separators=(",", ":"))


def decode(text: str) -> Ranges:
    """``encode``'s inverse; {} for text that is not such a document (an old or damaged value)."""
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(doc, dict):
        return {}
    out: Ranges = {}
    for path, ranges in doc.items():
        if not isinstance(path, str) or not isinstance(ranges, list):
            continue
        try:
            out[path] = [(_line(r[0]), _line(r[1])) for r in ranges if isinstance(r, list) and len(r) == 2]  # noqa: PLR2004
        except (TypeError, ValueError):
            continue
    return out


def _line(value: object) -> float:
    """A stored line position: a whole line, or k + 0.5 (TypeError / ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    number = float(value)
    return int(number) if number.is_integer() else number


def describe(ranges: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """``path:a-b, path:c, path:after d`` for people."""
    return ", ".join(f"{p}:{_words(s, e)}" for p, rs in sorted(ranges.items()) for s, e in rs)


def _words(first: float, last: float) -> str:
    if first != int(first):
        return f"after {int(first)}" if first > 1 else "before 1"
    return f"{int(first)}" if first == last else f"{int(first)}-{int(last)}"
