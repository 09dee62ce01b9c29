"""Functions of a traced file that no frame runs but the raising function depends on.

A fix is often in another function of the file the trace reaches. This module finds two kinds
from the raising line alone, with ``ast``, as a careful reader of the trace would open them:

- **outer**: the function around a nested raising function (a closure, a decorator's
  wrapper): it made the values the closure reads and decides what the wrapper is given;
- **writers**: the function of the file that assigns an attribute the raising statement reads
  as a value, directly or through a local it was assigned from (``used = scope[name].used``
  then ``used[0]``: the method that stored a ``bool`` in ``.used``): where the bad value came
  from, wherever it was written, not only in ``__init__``.

- **class attributes**: the class-level statements (assignments, annotated fields) of the class
  whose method a frame runs: the pattern, constant or flag the method reads through
  ``self.NAME`` (or a base class's code reads, as a plugin's ``FILE_INFO_PATTERN``), headed by the
  class line;
- **bindings**: the module-level statement that binds a name a caller's line calls to the
  function the next frame ran (``_get_win_folder = _get_win_folder_with_pywin32`` inside
  ``if sys.platform == "win32": try: … except ImportError:``): the choice of implementation a
  fix of the wrong one edits.

Each finder returns 1-based inclusive line ranges inside the file, never the raising function
itself. Beside them, the block helpers both localization and the context use: the ``def`` or
``class`` block by indentation (a file ``ast`` cannot parse), the functions of a name, and the
``try`` statements around a line. Pure: it reads the parsed module and nothing else.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MAX_OUTER_LINES = 60  # a longer enclosing function is not shown by this step
MAX_WRITERS = 1
MAX_WRITER_LINES = 100
MAX_CLASS_ATTRIBUTE_LINES = 30  # of a class's attribute statements shown, the class line included
MAX_BINDING_LINES = 20  # a longer top-level statement shows the innermost block holding the binding
_DUNDER = frozenset({"__class__", "__dict__", "__name__", "__module__", "__doc__"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEF_LINE = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+\w")


def assigned(stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> list[ast.expr]:
    """The target expressions of an assignment (``a, self.b = …``, ``x: int = …``, ``n += 1``)."""
    return stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]


def indented_range(lines: Sequence[str], line: int) -> tuple[int, int] | None:
    """The ``def`` or ``class`` block around ``line`` by indentation alone: for a file ``ast``
    cannot parse (older or newer Python than the runtime's), so it is not shown as bare windows."""
    if not 1 <= line <= len(lines):
        return None

    def indent(text: str) -> int:
        return len(text) - len(text.lstrip())

    here = indent(lines[line - 1]) if lines[line - 1].strip() else 1 << 30
    for start in range(line, 0, -1):
        match = _DEF_LINE.match(lines[start - 1])
        if match and (len(match.group(1)) < here or start == line):
            own = len(match.group(1))
            end = start
            for n in range(start + 1, len(lines) + 1):
                text = lines[n - 1]
                if text.strip() and indent(text) <= own and not text.lstrip().startswith((")", "]", "}", "#")):
                    break
                if text.strip():
                    end = n
            return (start, end) if end >= line else None
    return None


def named_functions(lines: Sequence[str], tree: ast.Module | None, name: str) -> list[tuple[int, int]]:
    """The functions named ``name``: by ``ast`` (decorators included), or in a file ``ast`` cannot
    parse (``tree`` is None: Python 2 code, newer syntax) by their ``def`` line and indentation."""
    if not name.isidentifier():
        return []
    if tree is not None:
        return [_span(n) for n in ast.walk(tree) if isinstance(n, _FUNCTIONS) and n.name == name]
    pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
    return [s for n, text in enumerate(lines, start=1) if pattern.match(text) and (s := indented_range(lines, n))]


def tries_around(scope: ast.AST, line: int, after: int = 0) -> list[ast.Try]:
    """The ``try`` statements of ``scope`` with handlers whose body holds ``line`` (starting after
    line ``after``), innermost first: the handlers the exception passed through."""
    found = []
    for node in ast.walk(scope):
        if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))) and node.body and node.handlers:
            body_end = node.body[-1].end_lineno or node.body[-1].lineno
            if node.body[0].lineno <= line <= body_end and node.lineno > after:
                found.append(node)
    return sorted(found, key=lambda n: -n.lineno)


def _span(node: ast.AST) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
    return start, node.end_lineno or node.lineno  # type: ignore[attr-defined]


def _holds(node: ast.AST, line: int) -> bool:
    start, end = _span(node)
    return start <= line <= end


def _raising(tree: ast.Module, line: int) -> tuple[ast.AST | None, ast.ClassDef | None]:
    """The innermost function holding ``line`` and the class it is a method of (the class of the
    outermost method around it: a closure inside a method shares its ``self``)."""
    function: ast.AST | None = None
    klass: ast.ClassDef | None = None
    node: ast.AST = tree
    while True:
        inner = next(
            (
                child
                for child in ast.iter_child_nodes(node)
                if isinstance(child, (*_FUNCTIONS, ast.ClassDef)) and _holds(child, line)
            ),
            None,
        )
        if inner is None:
            return function, klass
        if isinstance(inner, ast.ClassDef):
            klass, function = inner, None
        else:
            function = inner
        node = inner


def _read_attrs(node: ast.AST) -> set[str]:
    """The attribute names ``node`` reads as values (``x.used``, ``self.table``), not the methods
    it calls (``x.get(...)``): a value some other code stored there."""
    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    return {
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load) and id(sub) not in called
    }


def _stored_attrs(node: ast.AST) -> set[str]:
    """The attribute names ``node`` assigns (``x.used = ...``, ``self.table[k] = ...`` stores
    into ``table``)."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            found.add(sub.attr)
        elif isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store) and isinstance(sub.value, ast.Attribute):
            found.add(sub.value.attr)
    return found


def _statement(function: ast.AST, line: int) -> ast.stmt | None:
    """The innermost statement of ``function`` holding ``line``."""
    best: ast.stmt | None = None
    for sub in ast.walk(function):
        if isinstance(sub, ast.stmt) and sub is not function and _holds(sub, line):
            if best is None or sub.lineno >= best.lineno:
                best = sub
    return best


def _read_on_line(function: ast.AST, line: int) -> set[str]:
    """The attribute names the raising statement reads as values, and those of the values its
    local variables were assigned earlier in the function (``used = scope[name].used`` then
    ``used[0]``)."""
    stmt = _statement(function, line)
    if stmt is None:
        return set()
    header = [
        n
        for name, value in ast.iter_fields(stmt)
        if name not in ("body", "orelse", "finalbody", "handlers", "cases")
        for n in (value if isinstance(value, list) else [value])
        if isinstance(n, ast.AST)
    ]
    attrs: set[str] = set()
    local: set[str] = set()
    for part in header:
        attrs |= _read_attrs(part)
        local |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for sub in ast.walk(function):
        if isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and sub.lineno < stmt.lineno:
            if sub.value is not None and any(
                isinstance(n, ast.Name) and n.id in local for t in assigned(sub) for n in ast.walk(t)
            ):
                attrs |= _read_attrs(sub.value)
    return attrs


def _methods(klass: ast.ClassDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in klass.body if isinstance(n, _FUNCTIONS)]


def _units(tree: ast.Module) -> Iterable[ast.AST]:
    """Top-level functions and the methods of top-level classes."""
    for node in tree.body:
        if isinstance(node, _FUNCTIONS):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _methods(node)


def writers(tree: ast.Module, line: int) -> list[tuple[int, int]]:
    """The functions of the file that assign an attribute the raising statement reads as a value
    (``x.used = ...`` where the raising line reads ``scope[name].used``; ``self.table`` filled
    outside ``__init__``): any writer, not only the constructor. Methods of the raising class
    first, then the nearest to the raising line (related code sits together); each at most
    ``MAX_WRITER_LINES`` long; at most ``MAX_WRITERS``."""
    function, klass = _raising(tree, line)
    if function is None:
        return []
    wanted = _read_on_line(function, line) - _DUNDER
    if not wanted:
        return []
    own = set(map(id, _methods(klass))) if klass is not None else set()
    found = [
        u
        for u in _units(tree)
        if not _holds(u, line) and _span(u)[1] - _span(u)[0] + 1 <= MAX_WRITER_LINES and _stored_attrs(u) & wanted
    ]
    found.sort(key=lambda u: (id(u) not in own, min(abs(_span(u)[0] - line), abs(_span(u)[1] - line))))
    return [_span(u) for u in found[:MAX_WRITERS]]


def outer(tree: ast.Module, line: int) -> list[tuple[int, int]]:
    """The function around a nested raising function (a closure, a decorator's wrapper): it
    made the values the closure reads and decides what the wrapper is given. Whole when
    short, else nothing."""
    found: list[ast.AST] = []
    node: ast.AST = tree
    while True:
        inner = next(
            (c for c in ast.iter_child_nodes(node) if isinstance(c, (*_FUNCTIONS, ast.ClassDef)) and _holds(c, line)),
            None,
        )
        if inner is None:
            break
        found.append(inner)
        node = inner
    if len(found) < 2 or not isinstance(found[-1], _FUNCTIONS) or not isinstance(found[-2], _FUNCTIONS):
        return []
    start, end = _span(found[-2])
    return [(start, end)] if end - start + 1 <= MAX_OUTER_LINES else []


_ATTRIBUTES = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def _read_members(function: ast.AST, klass: ast.ClassDef) -> set[str]:
    """The names ``function`` reads as ``self.NAME``, ``cls.NAME`` or ``Klass.NAME``."""
    owners = {"self", "cls", klass.name}
    return {
        sub.attr
        for sub in ast.walk(function)
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in owners
    }


def _targets(stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> set[str]:
    return {n.id for t in assigned(stmt) for n in ast.walk(t) if isinstance(n, ast.Name)}


def class_attributes(tree: ast.Module, line: int, limit: int = MAX_CLASS_ATTRIBUTE_LINES) -> list[tuple[int, int]]:
    """The attribute statements of the class whose method holds ``line`` (assignments and
    annotated fields of its body, not its methods, nested classes or docstring) and its class
    line: a pattern, constant or flag the method reads through ``self``, which a fix edits in
    the class rather than in the method. Those the method reads as ``self.NAME`` / ``cls.NAME`` /
    ``Klass.NAME`` first, then in the order of the class; ``limit`` lines in all. A function
    outside any class, or a class with no such statement, gives nothing."""
    function, klass = _raising(tree, line)
    if function is None or klass is None:
        return []
    statements = [s for s in klass.body if isinstance(s, _ATTRIBUTES)]
    if not statements:
        return []
    read = _read_members(function, klass)
    statements.sort(key=lambda s: (not (_targets(s) & read), s.lineno))
    found = [(klass.lineno, klass.lineno)]
    used = 1
    for stmt in statements:
        start, end = stmt.lineno, stmt.end_lineno or stmt.lineno
        if used + end - start + 1 > limit:
            continue
        found.append((start, end))
        used += end - start + 1
    return sorted(found) if len(found) > 1 else []


def _binds(stmt: ast.stmt, called: set[str], ran: set[str]) -> bool:
    """Whether ``stmt`` is an assignment of a name in ``called`` from a name in ``ran``."""
    if not isinstance(stmt, _ATTRIBUTES) or stmt.value is None or not _targets(stmt) & called:
        return False
    return any(
        (isinstance(n, ast.Name) and n.id in ran) or (isinstance(n, ast.Attribute) and n.attr in ran)
        for n in ast.walk(stmt.value)
    )


def bindings(tree: ast.Module, called: set[str], ran: set[str]) -> list[tuple[int, int]]:
    """The module-level statements that bind a name in ``called`` (the names a caller's line
    calls) to a function in ``ran`` (the functions the frames ran), when the two differ:
    ``_get_win_folder = _get_win_folder_with_pywin32``, usually inside an ``if sys.platform …`` /
    ``try: import … except ImportError:`` block choosing an implementation. The whole top-level
    statement holding it when it is at most ``MAX_BINDING_LINES`` long, else the innermost block
    holding it that is, else the assignment itself."""
    called = called - ran
    if not called:
        return []
    found: list[tuple[int, int]] = []
    for top in tree.body:
        if isinstance(top, (*_FUNCTIONS, ast.ClassDef)):
            continue
        for stmt in ast.walk(top):
            if not (isinstance(stmt, ast.stmt) and _binds(stmt, called, ran)):
                continue
            holders = [
                n
                for n in ast.walk(top)
                if isinstance(n, ast.stmt) and n.lineno <= stmt.lineno and (n.end_lineno or n.lineno) >= stmt.lineno
            ]
            short = [n for n in holders if (n.end_lineno or n.lineno) - n.lineno + 1 <= MAX_BINDING_LINES]
            best = min(short, key=lambda n: n.lineno) if short else stmt
            found.append((best.lineno, best.end_lineno or best.lineno))
    return sorted(set(found))
