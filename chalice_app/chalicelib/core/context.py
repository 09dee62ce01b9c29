"""Choose the code the model sees: the traced functions and what they use, not whole files.

The token budget is spent in order of evidence, each step only while the budget holds:

1. a window around each raising line (the final exception's, then its causes'), inside its
   enclosing function; the first is always kept, whatever the budget;
2. the whole enclosing function (or class, for class-level code, via ``ast``; by indentation for
   a file ``ast`` cannot parse) of those raising lines, the one the frame names when the line has
   moved into a nested ``def``; a function longer than
   ``MAX_FUNCTION_LINES`` gives its signature only, unless the frame's printed line is gone from
   it (then as much of it as the budget holds); the function around a nested raising function
   (a closure, a wrapper); the ``try`` statements with handlers whose body holds the raising
   line (innermost first), handlers included;
3. the imports of the raising files (a fix that needs an import edits them; by their lines in a
   file ``ast`` cannot parse);
4. the definitions the raising lines use (callee, class, constant, the ``self.<attr>`` table and
   where it is filled, the class or module a missing attribute is missing from) — whole when
   short, else their head;
5. beside the first raising function in its file: the overrides of that method in subclasses,
   and the calls of that function elsewhere in the file (a sibling passing the bad value); when
   the raising line is an import, the functions of the file that use the imported name; the
   other copies of the raising statement in the file (a copied bug), with their function;
6. a window around each caller's line (half the raising window, inside its function), innermost
   first, then the ``try`` statement around each caller's line (a handler the exception passed
   through uncaught); the module-level statement of a traced file that binds a name a frame's
   line calls to the function the next frame ran (``f = f_with_pywin32`` inside ``try: import
   …``); the attribute statements of a caller's class when its line calls ``self.NAME(...)``
   and the next frame runs ``NAME`` in another module (a base class's code reading the
   subclass's patterns and constants through ``self``);
7. the callers' whole enclosing functions (the one the frame names), never taking the context
   across ``CALLERS_CEILING`` of the traced files' size;
8. the first raising function whole, however long, when the budget still holds it;
9. the function of the first raising file that assigns an attribute the raising line reads
   (where the bad value came from), while the context stays under ``WRITER_SHARE`` of the
   traced files: trace evidence, so before the search, and what it adds is taken from the
   search's room;
10. the definitions found by the ranked search (``found_by="search"``), within
    ``SEARCH_SHARE`` of the budget, never taking the context across ``SEARCH_CEILING`` of the
    traced files' size, marked "found by search, not in the trace"; the structural finds and the
    first ``SEARCH_FIRST`` lexical hits here, the other lexical hits after step 12;
11. the module a test frame tests (``core/under_test.py``, definitions with ``under_test``): what
    the test's printed line names of it and its head, within ``UNDER_TEST_SHARE`` of the budget;
    last, so that the shares the steps above take of the context are what they were;
12. the imports of every other file shown so far (a caller's, a definition's: a fix there may
    need one too), while the context stays under ``IMPORTS_CEILING`` of the traced files' whole
    size;
13. the search's further lexical hits, in what is left of its share, and only while the context
    stays under ``FURTHER_CEILING`` of the traced files (a context already over it gets none): a
    guess last, so it takes no room a step of the trace would have used;
14. the configured extra files (``allowed_paths``), whole.

A file short enough (``whole_file_lines``) is shown whole the first time it is needed. Ranges of
one file are merged, so code is sent once; a range is "search" only when no trace step asked for
any of it. ``Context.shown`` lists what was selected, for the PR.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core import related
from chalicelib.core.redact import redact
from chalicelib.core.related import indented_range, named_functions
from chalicelib.core.under_test import is_test_name

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from chalicelib.core.localize import Definition, FoundBy, Located

SEARCH_NOTE = "found by search, not in the trace"
SEARCH_SHARE = 0.25  # of the budget, at most, for definitions found by search
SEARCH_CEILING = 0.15  # nor across this share of the traced files' whole size
# search finds on specific evidence (the file named after the failing library, a packaging
# declaration, the other importers of an unimportable name, the declaration of the key the raising
# line reads): short, taken in the search's share whatever the traced files' size
SPECIFIC_KINDS = frozenset({"named", "importer", "key"})
SEARCH_FIRST = 2  # lexical hits taken in the search's room; the further ones come last, under FURTHER_CEILING only
FURTHER_CEILING = 0.125  # of the traced files' whole size: the further hits never take a context across it
CALLERS_CEILING = 0.2  # callers' whole functions never take the context across this share of them
MAX_TRY_LINES = 40  # a longer try statement around a raising line shows its handlers only
MAX_TRY_STATEMENTS = 2  # nested try statements around one line shown, innermost first
MAX_SIBLING_CALLS = 2  # calls of a raising function elsewhere in its file, shown as windows
MAX_IMPORT_USES = 2  # functions, and module-level lines, using the name a raising import binds: 2 of each
MAX_COPIES = 2  # other lines of the raising file holding the raising statement (a copied bug)
MIN_COPY_CHARS = 16  # a shorter raising line is too plain to look for copies of
MAX_COPY_FUNCTION_LINES = 60  # a copy in a longer function is shown as a window
SIBLING_WINDOW = 3
MAX_FUNCTION_LINES = 150
DEFINITION_HEAD_LINES = 25  # shown of a definition longer than MAX_FUNCTION_LINES
MAX_IMPORT_LINES = 40
MERGE_GAP = 3  # ranges this close are shown as one (the blank lines between two functions)
UNDER_TEST_SHARE = 0.125  # of the budget, at most, for the module a test frame tests
IMPORTS_CEILING = 0.125  # other files' imports only while the context stays under this share of the traced files
WRITER_SHARE = 0.2  # a writer is added only while the context stays under this share of the traced files


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
    found_by: FoundBy = "trace"  # "search": found by the ranked search, no frame points here

    def render(self) -> str:
        body = "\n".join(
            f"{'>>' if n in self.marks else '  '}{n:>5} | {line}"
            for n, line in zip(range(self.start, self.end + 1), self.lines, strict=False)
        )
        what = "whole file" if self.whole_file else f"lines {self.start}-{self.end}"
        note = f" - {SEARCH_NOTE}" if self.found_by == "search" else ""
        return f"### {self.path} ({what}){note}\n{body}"


@dataclass(frozen=True)
class Context:
    """The selected snippets and their estimated size."""

    snippets: tuple[Snippet, ...]
    tokens: int

    def render(self) -> str:
        return "\n\n".join(s.render() for s in self.snippets)

    def covers(self, path: str, line: int) -> bool:
        return any(s.path == path and s.start <= line <= s.end for s in self.snippets)

    @property
    def shown(self) -> tuple[tuple[str, int, int], ...]:
        """(path, start, end) of every snippet, 1-based inclusive, in the order shown."""
        return tuple((s.path, s.start, s.end) for s in self.snippets)

    def describe(self) -> str:
        """One line per file: ``path: 3-40, 52-60 (found by search)`` — what the model was shown."""
        per_file: dict[str, list[str]] = {}
        for s in self.snippets:
            what = "whole file" if s.whole_file else f"{s.start}-{s.end}"
            per_file.setdefault(s.path, []).append(what + (" (found by search)" if s.found_by == "search" else ""))
        return "\n".join(f"{path}: {', '.join(ranges)}" for path, ranges in per_file.items())


def shown_section(context: Context) -> str:
    """A short PR-body section listing the files and line ranges the model was shown."""
    lines = ["- `" + line.replace("`", "'") + "`" for line in context.describe().splitlines()]
    return "\n\n## Code shown to the model\n" + "\n".join(lines) if lines else ""


def enclosing_range(source: str | ast.Module, line: int) -> tuple[int, int] | None:
    """The smallest function or class (decorators included) that contains ``line``."""
    if isinstance(source, str):
        try:
            tree: ast.AST = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
    else:
        tree = source
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
        if merged and start <= merged[-1][1] + 1 + MERGE_GAP:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class _Selection:
    """Ranges per file under a budget; a request that does not fit is dropped whole."""

    def __init__(self, read: Callable[[str], str | None], budget: int, whole_file_lines: int) -> None:
        self._read = read
        self.budget = budget
        self.whole_file_lines = whole_file_lines
        self.lines: dict[str, list[str]] = {}
        self.trees: dict[str, ast.Module | None] = {}
        self.ranges: dict[str, list[tuple[int, int]]] = {}
        self.marks: dict[str, set[int]] = {}
        self.from_trace: dict[str, list[tuple[int, int]]] = {}  # what the trace (not the search) asked for

    def source(self, path: str) -> list[str] | None:
        if path not in self.lines:
            text = self._read(path)
            if text is None:
                return None
            self.lines[path] = text.splitlines()
        return self.lines[path]

    def tree(self, path: str) -> ast.Module | None:
        if path not in self.trees:
            try:
                self.trees[path] = ast.parse("\n".join(self.lines.get(path, [])))
            except (SyntaxError, ValueError):
                self.trees[path] = None
        return self.trees[path]

    def whole(self, path: str) -> bool:
        lines = self.lines.get(path)
        return lines is not None and len(lines) <= self.whole_file_lines

    def tokens(self, ranges: dict[str, list[tuple[int, int]]]) -> int:
        return sum(
            estimate_tokens(
                Snippet(
                    path,
                    s,
                    e,
                    tuple(self.lines[path][s - 1 : e]),
                    frozenset(),
                    self.whole(path),
                    self.found_by(path, s, e),
                ).render()
            )
            for path, spans in ranges.items()
            for s, e in spans
        )

    def add(self, path: str, wanted: list[tuple[int, int]], force: bool = False, found_by: FoundBy = "trace") -> bool:
        lines = self.source(path)
        if lines is None:
            return False
        total = max(len(lines), 1)
        if self.whole(path):
            wanted = [(1, total)]
        wanted = [(max(1, s), min(total, e)) for s, e in wanted if s <= total and e >= 1 and s <= e]
        if not wanted:
            return False
        trial = {**self.ranges, path: _merge(self.ranges.get(path, []) + wanted)}
        asked = self.from_trace.get(path, [])
        if found_by == "trace":  # counted as shown: a range the search found carries a longer heading
            self.from_trace[path] = asked + wanted
        if not force and self.tokens(trial) > self.budget:
            self.from_trace[path] = asked
            return False
        self.ranges = trial
        return True

    def used(self) -> int:
        return self.tokens(self.ranges)

    def _shown(self, path: str, start: int, end: int) -> tuple[str, ...]:
        """The lines as the model sees them: a line no trace step asked for is redacted (code the
        search found: a settings module's key is not the traced code the fix must match, and no
        frame asked for it), also when it is merged into a range a trace step asked for (a search
        hit just under the imports shown for the trace)."""
        asked = self.from_trace.get(path, [])
        return tuple(
            line if any(s <= n <= e for s, e in asked) else redact(line)
            for n, line in enumerate(self.lines[path][start - 1 : end], start)
        )

    def found_by(self, path: str, start: int, end: int) -> FoundBy:
        asked = self.from_trace.get(path, [])
        return "trace" if any(s <= end and start <= e for s, e in asked) else "search"

    def context(self) -> Context:
        snippets = tuple(
            Snippet(
                path,
                start,
                end,
                self._shown(path, start, end),
                frozenset(m for m in self.marks.get(path, ()) if start <= m <= end),
                whole_file=self.whole(path),
                found_by=self.found_by(path, start, end),
            )
            for path, spans in self.ranges.items()
            for start, end in spans
        )
        return Context(snippets, sum(estimate_tokens(s.render()) for s in snippets))


def _imports_of(sel: _Selection, path: str) -> list[tuple[int, int]]:
    """The module's leading block of imports (at most ``MAX_IMPORT_LINES``): a fix that needs a
    new import edits it, and the model copies search text only from what it was shown. In a file
    ``ast`` cannot parse, found by its lines."""
    lines = sel.source(path)
    tree = sel.tree(path) if lines is not None else None
    if tree is None:
        return imports_by_lines(lines or [])
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            spans.append((node.lineno, node.end_lineno or node.lineno))
        elif spans and not isinstance(node, ast.Expr):
            break
    if not spans or spans[-1][1] - spans[0][0] + 1 > MAX_IMPORT_LINES:
        return []
    return [(spans[0][0], spans[-1][1])]


_IMPORT_LINE = re.compile(r"^(?:import\s+\w|from\s+[\w.]+\s+import\b)")
_BETWEEN_IMPORTS = re.compile(r"^(?:#|\s|$)")  # a comment, a blank or continued line


def imports_by_lines(lines: Sequence[str]) -> list[tuple[int, int]]:
    """The leading block of imports of a file ``ast`` cannot parse (Python 2 code), by its lines:
    from the first top-level ``import`` / ``from … import`` to the last one before other code
    (comments, blank and continued lines and the module docstring are passed over; a ``try:``
    is other code, as for a parsed file)."""
    first = last = 0
    quote = ""
    depth = 0  # open parentheses of the last import: it goes on to the next line
    continued = False  # or its line ended with a backslash
    for n, text in enumerate(lines, start=1):
        if quote:  # inside the module docstring
            quote = "" if quote in text else quote
            continue
        if not first and text.startswith(('"""', "'''", 'r"""')):
            mark = text.lstrip("r")[:3]
            quote = "" if text.count(mark) >= 2 else mark  # noqa: PLR2004 - opening and closing quotes
            continue
        if _IMPORT_LINE.match(text) or (last == n - 1 and last and (depth > 0 or continued)):
            first, last = first or n, n
            code = text.split("#", 1)[0]
            depth = max(0, depth + code.count("(") - code.count(")"))
            continued = code.rstrip().endswith("\\")
        elif not _BETWEEN_IMPORTS.match(text):
            break
    if not first or last - first + 1 > MAX_IMPORT_LINES:
        return []
    return [(first, last)]


def _named_range(sel: _Selection, path: str, line: int, name: str) -> tuple[int, int] | None:
    """The innermost function named ``name`` holding ``line``: the function a frame runs."""
    lines = sel.source(path)
    if lines is None:
        return None
    holding = [(s, e) for s, e in named_functions(lines, sel.tree(path), name) if s <= line <= e]
    return min(holding, key=lambda r: r[1] - r[0]) if holding else None


def _function_of(sel: _Selection, path: str, line: int, name: str = "") -> list[tuple[int, int]]:
    """The function around ``line`` (its signature when it is longer than ``MAX_FUNCTION_LINES``).
    With the frame's function ``name``: the function of that name holding the line when the
    innermost one is another (a nested ``def`` the line has moved into since the trace was
    logged): the frame ran the named one, and its caller's values are made there."""
    lines = sel.source(path)
    tree = sel.tree(path) if lines is not None else None
    found = enclosing_range(tree, line) if tree is not None else None
    if found is None and lines is not None and tree is None:
        found = indented_range(lines, line)
    named = _named_range(sel, path, line, name) if name else None
    if named is not None and found is not None and named[0] < found[0]:
        found = named
    if found is None:
        return []
    start, end = found
    if end - start + 1 > MAX_FUNCTION_LINES:
        return [(start, min(start + 2, end))]  # a huge function: its signature (the window has the line)
    return [found]


def _moved(sel: _Selection, loc: Located) -> bool:
    """Whether the frame's printed line is not where it was located (the file moved on)."""
    lines = sel.source(loc.path) or []
    want = loc.frame.source.strip().splitlines()[0].strip() if loc.frame.source.strip() else ""
    line = loc.current_line
    return bool(want) and not (1 <= line <= len(lines) and lines[line - 1].strip() == want)


def _long_function(sel: _Selection, path: str, line: int, budget_step: int) -> None:
    """A function too long to show by default, as much of it as the budget holds: whole, else
    ever smaller windows around ``line``."""
    tree = sel.tree(path) if sel.source(path) is not None else None
    found = enclosing_range(tree, line) if tree is not None else None
    if found is None or found[1] - found[0] + 1 <= MAX_FUNCTION_LINES:
        return
    if sel.add(path, [found]):
        return
    for half in (budget_step * 4, budget_step * 2, budget_step):
        if sel.add(path, [(max(found[0], line - half), min(found[1], line + half))]):
            return


def _try_around(sel: _Selection, path: str, line: int) -> list[tuple[int, int]]:
    """The ``try`` statements with handlers whose body holds ``line``, inside its function,
    innermost first (at most ``MAX_TRY_STATEMENTS``): handlers included (the ``except
    ImportError`` fallback of a failing import; a ``try``/``finally`` catches nothing, and an
    outer handler is one the exception also passed through); a long one as its handlers only.
    Each is its own range, so the budget may keep the inner one alone."""
    tree = sel.tree(path) if sel.source(path) is not None else None
    if tree is None:
        return []
    function, _ = _function_node(tree, line)
    floor = function.lineno if function is not None else 0
    spans = []
    for node in related.tries_around(tree, line, after=floor)[:MAX_TRY_STATEMENTS]:
        end = node.end_lineno or node.lineno
        start = node.lineno if end - node.lineno + 1 <= MAX_TRY_LINES else node.handlers[0].lineno
        spans.append((start, min(end, start + MAX_TRY_LINES - 1)))
    return spans


def _function_node(
    tree: ast.Module, line: int
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.ClassDef | None]:
    """The innermost function holding ``line`` and the class directly around it, if any."""
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    klass: ast.ClassDef | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if (
                    isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and member.lineno <= line <= (member.end_lineno or member.lineno)
                    and (found is None or member.lineno >= found.lineno)
                ):
                    found, klass = member, node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.lineno <= line <= (node.end_lineno or node.lineno) and (
                found is None or node.lineno > found.lineno
            ):
                found, klass = node, None
    return found, klass


def _beside(sel: _Selection, path: str, line: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Code of the traced file outside the traced function that the fix may need: windows around
    the calls of that function elsewhere in the file (a sibling passing the bad value), and the
    overrides of that method in the file's subclasses of its class."""
    tree = sel.tree(path) if sel.source(path) is not None else None
    if tree is None:
        return [], []
    function, klass = _function_node(tree, line)
    if function is None:
        return [], []
    own = (function.lineno, function.end_lineno or function.lineno)
    calls: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not own[0] <= node.lineno <= own[1]:
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", None)
            if name == function.name and len(calls) < MAX_SIBLING_CALLS:
                calls.append((node.lineno - SIBLING_WINDOW, (node.end_lineno or node.lineno) + SIBLING_WINDOW))
    overrides: list[tuple[int, int]] = []
    if klass is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id == klass.name)
                or (isinstance(b, ast.Attribute) and b.attr == klass.name)
                for b in node.bases
            ):
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and member.name == function.name:
                        start = min([member.lineno, *(d.lineno for d in member.decorator_list)])
                        end = member.end_lineno or member.lineno
                        overrides.append(
                            (
                                start,
                                min(end, start + DEFINITION_HEAD_LINES - 1)
                                if end - start + 1 > MAX_FUNCTION_LINES
                                else end,
                            )
                        )
    return calls, overrides


def _import_uses(sel: _Selection, path: str, line: int) -> list[tuple[int, int]]:
    """When the raising line is an import (a module that fails to import on this platform), the
    functions of its file that use the imported name (or test for it, ``'name' in globals()``),
    and the lines around its uses at module level (``chunks = _chunks``, a script's
    ``if __name__ == "__main__":`` block): a fix that guards or moves the import must change them
    too. At most ``MAX_IMPORT_USES`` of each, first in the file first; a long function as its head."""
    tree = sel.tree(path) if sel.source(path) is not None else None
    if tree is None:
        return []
    bound: set[str] = set()
    imports: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno <= line <= (node.end_lineno or node.lineno):
            imports.append((node.lineno, node.end_lineno or node.lineno))
            for alias in node.names:
                bound.add(alias.asname or alias.name.split(".")[0])
    bound.discard("*")
    if not bound:
        return []
    used = sorted(
        {
            n.lineno
            for stmt in tree.body
            if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))  # shown whole below
            for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and n.id in bound and not any(a <= n.lineno <= b for a, b in imports)
        }
    )
    at_top = [(max(1, n - SIBLING_WINDOW), n + SIBLING_WINDOW) for n in used[:MAX_IMPORT_USES]]
    found: list[tuple[int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or len(found) >= MAX_IMPORT_USES:
            continue
        uses = any(
            (isinstance(n, ast.Name) and n.id in bound) or (isinstance(n, ast.Constant) and n.value in bound)
            for n in ast.walk(node)
        )
        if uses:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            found.append((start, end if end - start + 1 <= MAX_FUNCTION_LINES else start + DEFINITION_HEAD_LINES - 1))
    return sorted(found + at_top)


def _copies(sel: _Selection, loc: Located) -> list[tuple[int, int]]:
    """The other lines of the raising file holding the same statement as the raising line (a
    copied bug: the fix repairs every copy), each as its enclosing function when that is short,
    else a window; at most ``MAX_COPIES``. A line too plain to tell copies apart (``return x``,
    ``raise``) is not looked for."""
    lines = sel.source(loc.path) or []
    want = loc.frame.source.strip().splitlines()[0].strip() if loc.frame.source.strip() else ""
    if len(want) < MIN_COPY_CHARS or not re.search(r"[\w.]+\(|\[|\.", want):
        return []
    here = loc.current_line
    tree = sel.tree(loc.path)
    own = enclosing_range(tree, here) if tree is not None else indented_range(lines, here)
    found: list[tuple[int, int]] = []
    for n, text in enumerate(lines, start=1):
        if len(found) >= MAX_COPIES:
            break
        if text.strip() != want or n == here or (own is not None and own[0] <= n <= own[1]):
            continue
        span = enclosing_range(tree, n) if tree is not None else indented_range(lines, n)
        if span is None or span[1] - span[0] + 1 > MAX_COPY_FUNCTION_LINES:
            span = (n - SIBLING_WINDOW, n + SIBLING_WINDOW)
        found.append(span)
    return found


def _add_definitions(sel: _Selection, definitions: Sequence[Definition], room: int | None = None) -> None:
    """Definitions whole, or their head when long; with ``room``, within that many tokens on top
    of what is already used (the definitions found by search)."""
    full = sel.budget
    if room is not None:
        sel.budget = min(full, sel.used() + room)
    for d in definitions:
        length = d.end - d.start + 1
        end = d.end if length <= MAX_FUNCTION_LINES else d.start + DEFINITION_HEAD_LINES - 1
        sel.add(d.path, [(d.start, end)], found_by=d.found_by)
    sel.budget = full


def _around(sel: _Selection, path: str, line: int, window: int) -> list[tuple[int, int]]:
    """The window around ``line``, inside its enclosing function when it has one."""
    lines = sel.source(path)
    tree = sel.tree(path) if lines is not None else None
    inside = enclosing_range(tree, line) if tree is not None else None
    if inside is None and lines is not None and tree is None:
        inside = indented_range(lines, line)
    lo, hi = inside or (line - window, line + window)
    return [(max(line - window, lo), min(line + window, hi))]


def _callers_handlers(sel: _Selection, callers: Sequence[Located]) -> None:
    """The ``try`` statement around each shown caller's line: a handler the exception passed
    through without being caught (``except ImportError:`` around a caller's ``import``)."""
    for loc in callers:
        if loc.path in sel.ranges:
            for span in _try_around(sel, loc.path, loc.current_line):
                sel.add(loc.path, [span])


def _outer(sel: _Selection, path: str, line: int) -> list[tuple[int, int]]:
    """The function around a nested raising function (``core/related.py``): a closure's or a
    wrapper's enclosing function."""
    tree = sel.tree(path) if sel.source(path) is not None else None
    return related.outer(tree, line) if tree is not None else []


def _search_room(sel: _Selection, traced: int) -> int:
    """Tokens the definitions found by search may add: ``SEARCH_SHARE`` of the budget, and never
    across ``SEARCH_CEILING`` of the traced files' size. A context under that share stops there; one
    the trace alone took over it (small files, shown whole) or that traced no file has the share."""
    return _room_under(sel, traced, SEARCH_CEILING, int(sel.budget * SEARCH_SHARE))


def _further_room(sel: _Selection, traced: int, spent: int) -> int:
    """Tokens the further search hits may add, after every trace step so that a guess takes no
    trace evidence's room: what is left of ``SEARCH_SHARE`` of the budget once ``spent`` tokens
    were added since the search began, and only under ``FURTHER_CEILING`` of the traced files' size.
    A context already over it gets none; a trace that reaches no file has the share: the search is
    all it has."""
    left = int(sel.budget * SEARCH_SHARE) - spent
    if traced:
        left = min(left, int(traced * FURTHER_CEILING) - sel.used())
    return max(0, left)


def _room_under(sel: _Selection, traced: int, ceiling: float, room: int) -> int:
    """``room``, or less: what keeps a context now under ``ceiling`` of the traced files' size
    under it. A context already over it (the trace alone, small files shown whole) keeps ``room``."""
    under = int(traced * ceiling) - sel.used()
    return min(room, under) if under > 0 else room


def _traced_sizes(sel: _Selection, located: Sequence[Located]) -> dict[str, int]:
    """Each traced file's whole size in tokens: what the shares of the optional steps are taken of.
    The search's ceilings take theirs of the files not named as tests' (``under_test.is_test_name``):
    a test is not the code under repair, and a trace through tests only (an assertion in the test)
    reached none of it, so the search has its share, as for a trace that maps to no file."""
    traced = [p for p in dict.fromkeys(loc.path for loc in located) if sel.source(p) is not None]
    return {p: sel.tokens({p: [(1, len(sel.lines[p]) or 1)]}) for p in traced}


def _writers(sel: _Selection, raising: Sequence[Located], traced: int) -> None:
    """The function of each ``raising`` frame's file that assigns an attribute its raising line
    reads (``core/related.py``), added only while the context stays under ``WRITER_SHARE`` of
    the traced files' whole size: what it adds is likely, not certain, to matter."""
    full = sel.budget
    sel.budget = min(full, int(traced * WRITER_SHARE))
    for loc in raising:
        tree = sel.tree(loc.path) if sel.source(loc.path) is not None else None
        for span in related.writers(tree, loc.current_line) if tree is not None else []:
            sel.add(loc.path, [span])
    sel.budget = full


def _calls(raising: Sequence[Located], callers: Sequence[Located]) -> list[tuple[Located, Located]]:
    """Each caller with the next frame in, the one its printed line called: the raising frame,
    then the callers, innermost first."""
    chain = [*raising[:1], *callers]
    return list(zip(chain[1:], chain, strict=False))


def _inherited_calls(raising: Sequence[Located], callers: Sequence[Located]) -> list[Located]:
    """The callers whose printed line calls ``self.NAME(...)`` when the next frame in runs ``NAME``
    in another file: a method the caller's class inherits from a base class in another module,
    which reads the caller's class's attributes through ``self`` (a plugin's patterns, read by
    the base class's parser)."""
    return [
        outer
        for outer, inner in _calls(raising, callers)
        if inner.frame.function
        and inner.path != outer.path
        and re.search(rf"\bself\.{re.escape(inner.frame.function)}\s*\(", outer.frame.source or "")
    ]


def _class_attributes(sel: _Selection, frames: Sequence[Located]) -> None:
    """The attribute statements of the class of each frame's method (``core/related.py``), once
    per class, innermost frame first: the pattern, constant or flag read through ``self`` that a
    fix edits in the class."""
    seen: set[tuple[str, int]] = set()
    for loc in frames:
        tree = sel.tree(loc.path) if sel.source(loc.path) is not None else None
        spans = related.class_attributes(tree, loc.current_line) if tree is not None else []
        if spans and (loc.path, spans[0][0]) not in seen:
            seen.add((loc.path, spans[0][0]))
            sel.add(loc.path, spans)


_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")  # \b: one try per word, linear on a long untrusted line


def _bindings(sel: _Selection, raising: Sequence[Located], callers: Sequence[Located]) -> None:
    """For each caller whose printed line calls a name other than the function the next frame in
    ran, the module-level statement of either frame's file binding that name to that function
    (``core/related.py``): the choice of implementation that made the call run it."""
    for outer, inner in _calls(raising, callers):
        ran = inner.frame.function
        called = {m.group(1) for m in _CALLED.finditer(outer.frame.source or "")} - {ran}
        if not ran or not called:
            continue
        for path in dict.fromkeys((inner.path, outer.path)):
            tree = sel.tree(path) if sel.source(path) is not None else None
            for span in related.bindings(tree, called, {ran}) if tree is not None else []:
                sel.add(path, [span])


def _other_imports(sel: _Selection, traced: int) -> None:
    """The import block of every file shown so far (a caller's, a definition's), each only while
    the context stays under ``IMPORTS_CEILING`` of the traced files' whole size: a fix there may
    need an import too. A context over that share gets none. The imports of a file only the search
    reached are found by search too."""
    full = sel.budget
    sel.budget = min(full, int(traced * IMPORTS_CEILING))
    for path in [p for p in sel.ranges if not sel.whole(p)]:
        sel.add(path, _imports_of(sel, path), found_by="trace" if sel.from_trace.get(path) else "search")
    sel.budget = full


def select_context(  # noqa: PLR0913 - the budget's knobs
    located: Sequence[Located],
    read: Callable[[str], str | None],
    budget_tokens: int = 6_000,
    window: int = 8,
    whole_file_lines: int = 100,
    definitions: Sequence[Definition] = (),
    extra: Sequence[str] = (),
) -> Context:
    """Snippets for the located frames (best evidence first) and their definitions, under
    ``budget_tokens`` (the first raising window is kept whatever the budget)."""
    sel = _Selection(read, budget_tokens, whole_file_lines)
    top = [loc for loc in located if loc.evidence != "caller"] or list(located[:1])
    callers = [loc for loc in located if loc not in top]
    for loc in located:  # every traced line is marked wherever it ends up shown
        sel.marks.setdefault(loc.path, set()).add(loc.current_line)
    for n, loc in enumerate(top):
        sel.add(loc.path, _around(sel, loc.path, loc.current_line, window), force=n == 0)
    for loc in top:
        sel.add(loc.path, _function_of(sel, loc.path, loc.current_line, loc.frame.function))
        sel.add(loc.path, _outer(sel, loc.path, loc.current_line))
        if _moved(sel, loc):  # the printed line is gone: the window may miss it, show more
            _long_function(sel, loc.path, loc.current_line, window)
        for span in _try_around(sel, loc.path, loc.current_line):
            sel.add(loc.path, [span])
    for path in dict.fromkeys(loc.path for loc in top):
        sel.add(path, _imports_of(sel, path))
    _add_definitions(sel, [d for d in definitions if d.found_by == "trace" and not d.under_test])
    for loc in top[:1]:
        calls, overrides = _beside(sel, loc.path, loc.current_line)
        for span in overrides + calls + _import_uses(sel, loc.path, loc.current_line) + _copies(sel, loc):
            sel.add(loc.path, [span])
    for loc in callers:
        sel.add(loc.path, _around(sel, loc.path, loc.current_line, max(1, window // 2)))
    _callers_handlers(sel, callers)
    _bindings(sel, top, callers)
    _class_attributes(sel, _inherited_calls(top, callers))
    full = sel.budget
    sizes = _traced_sizes(sel, located)
    traced = sum(sizes.values())  # the size the optional steps' ceilings are shares of
    sel.budget = min(full, sel.used() + _room_under(sel, traced, CALLERS_CEILING, full))
    for loc in callers:
        if loc.path in sel.ranges:
            sel.add(loc.path, _function_of(sel, loc.path, loc.current_line, loc.frame.function))
    sel.budget = full
    for loc in top[:1]:  # budget left: the raising function whole, however long
        _long_function(sel, loc.path, loc.current_line, window)
    code = sum(n for p, n in sizes.items() if not is_test_name(posixpath.basename(p)))  # the search's: not tests
    room = _search_room(sel, code)  # what the search may add; the writer, trace evidence, goes first in it
    before = sel.used()
    _writers(sel, top[:1], traced)
    # finds on specific evidence first, in the search's share whatever the traced files' size; the
    # other finds in the room they had, less what the writer and they took
    searched = [d for d in definitions if d.found_by == "search"]
    specific = [d for d in searched if d.kind in SPECIFIC_KINDS]
    _add_definitions(sel, specific, room=int(sel.budget * SEARCH_SHARE))
    further = [d for d in searched if d.kind == "lexical"][SEARCH_FIRST:]
    first = [d for d in searched if d not in specific and d not in further]  # ranked order
    _add_definitions(sel, first, room=max(0, room - (sel.used() - before)))
    spent = sel.used() - before  # by the writer and the search so far
    tested = [d for d in definitions if d.under_test]  # the module a test frame tests: last, so
    _add_definitions(sel, tested, room=int(sel.budget * UNDER_TEST_SHARE))  # no ceiling above moves
    _other_imports(sel, traced)
    _add_definitions(sel, further, room=_further_room(sel, code, spent))
    for path in extra:
        if sel.source(path) is not None:
            sel.add(path, [(1, len(sel.lines[path]) or 1)])
    return sel.context()
