"""What the repository's latest commits changed: line ranges of today's files.

A new failure often comes from a recent change: the first thing an engineer on call asks is
what was just deployed. The search (``retrieve.py``) scores a definition holding one of these
lines ``recent_boost`` times more: among the definitions matching the trace's words a changed one
comes first, and one sharing no word with the trace is never shown for having changed.

The adapters ask git for the difference between the head and the commit ``RECENT_COMMITS``
back along the first parents (``git diff -U0``); this module reads that text. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

RECENT_COMMITS = 5  # first-parent commits back from the head whose changes count as recent
MAX_CHANGED_FILES = 200  # a difference touching more files (a reformatting, a vendoring) says nothing

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class Changed:
    """Lines ``start``..``end`` (1-based, inclusive) of ``path`` as the head has it, changed recently.
    A pure deletion is the line after which lines went: the code around it changed."""

    path: str
    start: int
    end: int


def changed_ranges(diff: str, suffix: str = ".py") -> list[Changed]:
    """The lines a unified difference (``git diff --dst-prefix=b/``, any context) adds or changes
    on its new side, as ranges, for files ending in ``suffix``; a pure deletion marks the line it
    follows. Nothing when more than ``MAX_CHANGED_FILES`` files changed. Deleted files have no new
    side and are left out. A hunk's lines are read by its header's counts, so an added line that
    reads ``++ x`` is content, not a file header; lines end at ``\\n`` only, as git's do."""
    out: list[Changed] = []
    path: str | None = None
    files = 0
    old_left = new_left = 0  # lines of the current hunk still to read, on each side
    line_no = 0  # the new side's number of the next line
    deleted = False  # lines went before line_no and no new line replaced them yet

    def flush() -> None:
        nonlocal deleted
        if deleted and path is not None:
            _extend(out, Changed(path, max(1, line_no - 1), max(1, line_no - 1)))
        deleted = False

    for raw in diff.split("\n"):
        line = raw.removesuffix("\r")
        tag = line[:1]
        if (old_left > 0 or new_left > 0) and tag in ("+", "-", " ", "\\"):
            if tag == "+":
                new_left -= 1
                if path is not None:
                    _extend(out, Changed(path, line_no, line_no))
                line_no += 1
                deleted = False  # a replacement: its new lines are the change
            elif tag == "-":
                old_left -= 1
                deleted = True
            elif tag == " ":
                old_left, new_left = old_left - 1, new_left - 1
                flush()
                line_no += 1
            continue  # "\\ No newline at end of file" says nothing of lines
        flush()
        old_left = new_left = 0
        if line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            files += target != "/dev/null"
            path = target[2:] if target.startswith("b/") and target.endswith(suffix) else None
        elif hunk := _HUNK.match(line):
            old_left, new_left = int(hunk.group(1) or 1), int(hunk.group(3) or 1)
            line_no = int(hunk.group(2)) + (new_left == 0)  # "+3,0": nothing new, after line 3
    flush()
    return [] if files > MAX_CHANGED_FILES else out


def _extend(out: list[Changed], change: Changed) -> None:
    """Add ``change``, joined to the last range when they touch."""
    if out and out[-1].path == change.path and out[-1].start <= change.start <= out[-1].end + 1:
        out[-1] = Changed(change.path, out[-1].start, max(out[-1].end, change.end))
    else:
        out.append(change)


def by_path(changes: Iterable[Changed]) -> dict[str, list[tuple[int, int]]]:
    """The ranges of each path, in order."""
    out: dict[str, list[tuple[int, int]]] = {}
    for c in changes:
        out.setdefault(c.path, []).append((c.start, c.end))
    return {p: sorted(r) for p, r in out.items()}
