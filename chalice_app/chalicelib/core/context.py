"""Choose the code the model sees: the traced functions, not whole files.

For each located frame, the raising one first and then its callers, the enclosing function (or
class, for code at class level) found with ``ast``, plus a window around the traced line; ranges
of one file are merged, so code is sent once. A file short enough is sent whole. Selection stops
at a token budget, but the raising frame's window is always kept.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from chalicelib.core.localize import Located

MAX_FUNCTION_LINES = 150


def estimate_tokens(text: str) -> int:
    """Rough token count for code (about four characters a token)."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Snippet:
    """Lines ``start``..``end`` (1-based, inclusive) of ``path``; ``marks`` are the traced lines."""

    path: str
    start: int
    end: int
    lines: tuple[str, ...]
    marks: frozenset[int]
    whole_file: bool = False

    def render(self) -> str:
        body = "\n".join(
            f"{'>>' if n in self.marks else '  '}{n:>5} | {line}"
            for n, line in zip(range(self.start, self.end + 1), self.lines, strict=False)
        )
        what = "whole file" if self.whole_file else f"lines {self.start}-{self.end}"
        return f"### {self.path} ({what})\n{body}"


@dataclass(frozen=True)
class Context:
    """The selected snippets and their estimated size."""

    snippets: tuple[Snippet, ...]
    tokens: int

    def render(self) -> str:
        return "\n\n".join(s.render() for s in self.snippets)

    def covers(self, path: str, line: int) -> bool:
        return any(s.path == path and s.start <= line <= s.end for s in self.snippets)


def enclosing_range(source: str, line: int) -> tuple[int, int] | None:
    """The smallest function or class (decorators included) that contains ``line``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    best: tuple[int, int] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            if start <= line <= end and (best is None or end - start < best[1] - best[0]):
                best = (start, end)
    return best


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _ranges_for(source: str, line: int, window: int) -> list[tuple[int, int]]:
    total = len(source.splitlines())
    line = min(max(line, 1), max(total, 1))
    around = (max(1, line - window), min(total, line + window))
    enclosing = enclosing_range(source, line)
    if enclosing is None:
        return [around]
    start, end = enclosing
    if end - start + 1 > MAX_FUNCTION_LINES:
        # A huge function: its signature and the window around the line.
        return [(start, min(start + 2, end)), around]
    return [(start, end), around]


def select_context(
    located: Sequence[Located],
    read: Callable[[str], str | None],
    budget_tokens: int = 6_000,
    window: int = 8,
    whole_file_lines: int = 60,
) -> Context:
    """Snippets for the located frames (raising frame first) under ``budget_tokens``."""
    per_file: dict[str, list[tuple[int, int]]] = {}
    marks: dict[str, set[int]] = {}
    sources: dict[str, list[str]] = {}
    whole: set[str] = set()
    for n, loc in enumerate(located):
        source = read(loc.path)
        if source is None:
            continue
        lines = source.splitlines()
        sources[loc.path] = lines
        line = loc.frame.line or 1
        if len(lines) <= whole_file_lines:
            wanted = [(1, max(len(lines), 1))]
            whole.add(loc.path)
        else:
            wanted = _ranges_for(source, line, window)
        trial = {**per_file, loc.path: _merge(per_file.get(loc.path, []) + wanted)}
        if n > 0 and _tokens(trial, sources) > budget_tokens:
            continue  # a caller that does not fit; the raising frame is always kept
        per_file = trial
        marks.setdefault(loc.path, set()).add(line)
    snippets = tuple(
        Snippet(
            path,
            start,
            end,
            tuple(sources[path][start - 1 : end]),
            frozenset(m for m in marks.get(path, ()) if start <= m <= end),
            whole_file=path in whole,
        )
        for path, ranges in per_file.items()
        for start, end in ranges
    )
    return Context(snippets, sum(estimate_tokens(s.render()) for s in snippets))


def _tokens(per_file: dict[str, list[tuple[int, int]]], sources: dict[str, list[str]]) -> int:
    return sum(
        estimate_tokens("\n".join(sources[p][s - 1 : e])) + 10 * (e - s + 1) // 4
        for p, ranges in per_file.items()
        for s, e in ranges
    )
