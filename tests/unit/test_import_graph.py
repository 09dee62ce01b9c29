"""The package's import graph has no circle.

Read from the source with ``ast`` (nothing is imported), over every module of ``chalicelib``:

- the imports that run when a module is imported (module level, ``if``/``try`` blocks included,
  ``if TYPE_CHECKING:`` blocks and function bodies excluded) form no circle at all: an import
  circle there makes the import order matter, and a name can be missing at cold start;
- every import, function bodies and ``TYPE_CHECKING`` blocks included, forms no circle either: an
  import deferred into a function or kept for annotations still ties two modules into one, which
  cannot be read, tested or moved apart. A new one fails here: give the shared thing its own home
  (as the clock has in ``core/clock.py``, the in-app rule in ``core/frames.py``, a catalog entry in
  ``core/runbooks/entry.py``) or pass the value instead of deferring an import.

``from package import name`` counts as an import of ``package.name`` when that is a module (a
child importing a sibling through its package is not a circle with the package).
"""

from __future__ import annotations

import ast
import warnings
from typing import TYPE_CHECKING

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

PACKAGE_ROOT = ROOT / "chalice_app"


def modules() -> dict[str, Path]:
    """Every chalicelib module by its dotted name (a package by its own name)."""
    found = {}
    for path in sorted((PACKAGE_ROOT / "chalicelib").rglob("*.py")):
        parts = path.relative_to(PACKAGE_ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def parse(path: Path) -> ast.Module:
    """A module's tree (an escape a docstring keeps for its reader is no concern here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(path.read_text())


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imported(tree: ast.Module, known: Iterable[str], *, deferred: bool) -> set[str]:
    """The chalicelib modules ``tree`` imports: at import time only, or (``deferred``) all of them."""
    names = set(known)
    found: set[str] = set()

    def visit(body: Sequence[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in names else node.module)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if deferred:
                    visit(node.body)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.body if deferred else node.orelse)
            else:
                for field in ("body", "orelse", "finalbody"):
                    visit([s for s in getattr(node, field, []) if isinstance(s, ast.stmt)])
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return found & names


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start, edges_of_start in graph.items():
        if start in index:
            continue
        work = [(start, iter(sorted(edges_of_start)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
    return found


def graph(*, deferred: bool) -> dict[str, set[str]]:
    known = modules()
    return {name: imported(parse(path), known, deferred=deferred) - {name} for name, path in known.items()}


def test_the_finder_sees_a_circle_when_there_is_one() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(g) == [frozenset({"a", "b", "c"})]
    source = """
from x import y
if TYPE_CHECKING:
    import t
def f():
    import lazy
try:
    import z
except E:
    import w
"""
    tree = ast.parse(source)
    assert imported(tree, {"x", "x.y", "t", "lazy", "z", "w"}, deferred=False) == {"x.y", "z", "w"}
    assert imported(tree, {"x", "x.y", "t", "lazy", "z", "w"}, deferred=True) == {"x.y", "t", "lazy", "z", "w"}


def test_nothing_imported_at_import_time_forms_a_circle() -> None:
    g = graph(deferred=False)
    assert len(g) > 70  # every module was read
    assert circles(g) == []


def test_no_import_forms_a_circle_not_even_a_deferred_one() -> None:
    g = graph(deferred=True)
    assert len(g) > 70  # every module was read
    found = circles(g)
    assert found == [], f"import circle(s): {[sorted(c) for c in found]}"


def test_the_clock_imports_nothing_from_the_package() -> None:
    known = modules()
    assert imported(parse(known["chalicelib.core.clock"]), known, deferred=True) == set()


def test_the_in_app_rule_imports_nothing_from_the_package() -> None:
    known = modules()
    assert imported(parse(known["chalicelib.core.frames"]), known, deferred=True) == set()


def test_a_catalog_entry_imports_neither_the_catalog_nor_the_registry_nor_a_declaration() -> None:
    known = modules()
    found = imported(parse(known["chalicelib.core.runbooks.entry"]), known, deferred=True)
    assert found == {"chalicelib.core.runbooks.conditions", "chalicelib.core.runbooks.plan"}
