"""Structural candidates of the ranked search: code linked to the trace by the repository's structure.

Words alone miss code whose link to the crash is structural. Beside the lexical ranking
(``retrieve.py``), the parsed repository is read for six kinds of evidence:

- **template**: a string literal whose constant text matches the exception's message, its
  placeholders (``%s``, ``%(name)r``, ``{}``, ``{0!r:>4}``, an f-string's values) read as
  wildcards: the code that wrote the message (a raise site the trace does not show, in a REPL
  reproduction or when the raising frame is missing). A literal needs ``MIN_TEMPLATE_CHARS`` of
  constant text and two words, so ``"%s: %s"`` matches nothing;
- **caller**: a call (``name(`` or ``.name(``) of a traced function in another file, when the name
  is specific (not ``get``, ``run``, a dunder) and called from few places: a caller may pass the
  bad value;
- **subclass**: a class of another file deriving from the class of a traced method, and its
  override of that method: the object's class may be the subclass;
- **importer**: for ``ImportError: cannot import name 'X' from 'Y'`` (``cannot import name X`` in
  Python 2), the other files importing ``X`` from that module: they break the same way, and a fix
  that moves or renames ``X`` must change them too. Without the module in the message, the module
  of the traced file's own import of ``X``. None when more than ``MAX_CALL_SITES`` files do;
- **key**: a string key the raising line reads (``config.setting["caa_image_types"]``,
  ``d.get("key")``, a ``KeyError: 'key'``) where the repository declares it: a dict display's
  key, a store ``x["key"] = …``, a call passing it (``TextOption("setting", "caa_image_types",
  "front")``), not a read (``get*``, ``has*``, ``pop*``). The declaration holds the key's default
  and type. None when more than ``MAX_CALL_SITES`` files do;
- **registration**: a call ``register*(…, X, …)`` / ``X.register*(…)`` (with the ``mapping``
  kind, a dict mapping to ``X`` too), where ``X`` is a traced class or function or the error's
  type: the module that plugs a handler, a transform or a plugin in (astroid's brains
  ``register_transform(nodes.ClassDef, …)``). The candidates are what is registered: the
  functions that module defines and passes to the call, the function a ``@register(X)``
  decorates (the registering statement alone shows too little to be worth its tokens).

Each candidate is a line range (a short enclosing function, else a window around the evidence).
Pure: works on parsed trees handed in; no I/O.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

Kind = Literal["importer", "key", "template", "caller", "subclass", "registration"]
# Strongest evidence first: how candidates of different kinds are ordered.
KIND_RANK: Mapping[str, int] = {"importer": 0, "template": 1, "subclass": 2, "registration": 3, "key": 4, "caller": 5}
KINDS = frozenset({*KIND_RANK, "mapping"})  # "mapping": a dict mapping to X counts as a registration
MIN_TEMPLATE_CHARS = 12  # constant characters a literal needs to be compared with a message
MIN_TEMPLATE_WORDS = 2
MIN_NAME_CHARS = 6  # a traced function name shorter than this is too common to follow
MAX_CALL_SITES = 3  # a name called from more places (in other files) tells nothing
WINDOW = 8  # lines either side of the evidence when its function is long
# %-format conversions (``%s``, ``%(name)r``, ``%-8.3f``) and str.format fields (``{}``, ``{0!r:>4}``)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsab]")
_FIELD = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{2,}")
_COMMON = frozenset({
    "get", "set", "run", "main", "call", "load", "save", "read", "write", "open", "close", "update", "start",
    "stop", "apply", "parse", "process", "execute", "handle", "render", "create", "delete", "wrapper", "inner",
    "decorator", "invoke", "dispatch", "send", "emit", "visit", "infer", "setup", "teardown",
})  # fmt: skip
WILD = None  # a placeholder in a template's pieces
IMPORT_CONTEXT = 3  # lines either side of another file's import of an unimportable name
_READS = ("get", "has", "pop", "is_", "setdefault", "remove", "discard", "__getitem__", "__contains__")
_CANNOT_IMPORT = re.compile(
    r"cannot import name '?([A-Za-z_]\w*)'?(?: from (?:partially initialized module )?'?([A-Za-z_][\w.]*)'?)?"
)


@dataclass(frozen=True)
class Traced:
    """A traced frame: its repository ``path``, its ``line`` there and its ``function``."""

    path: str
    line: int
    function: str


@dataclass(frozen=True)
class Candidate:
    """Lines ``start``..``end`` of ``path`` that structure links to the trace, and why (``kind``)."""

    path: str
    start: int
    end: int
    name: str
    kind: Kind
    strength: float = 0.0  # within a kind: more is stronger (a template's constant characters)


# --- templates -----------------------------------------------------------------------------------


def template_pieces(node: ast.AST) -> list[str | None] | None:
    """A string literal as constant pieces and placeholders (``WILD``): ``"no %s in {}"`` →
    ``["no ", WILD, " in ", WILD]``; an f-string's values are placeholders. None for any other node."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _split_placeholders(node.value)
    if isinstance(node, ast.JoinedStr):
        pieces: list[str | None] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(value.value)
            else:
                pieces.append(WILD)
        return pieces
    return None


def _split_placeholders(text: str) -> list[str | None]:
    pieces: list[str | None] = []
    pos = 0
    for match in re.finditer(rf"%%|\{{\{{|\}}\}}|{_PERCENT.pattern}|{_FIELD.pattern}", text):
        pieces.append(text[pos : match.start()])
        token = match.group()
        pieces.append({"%%": "%", "{{": "{", "}}": "}"}.get(token, WILD))
        pos = match.end()
    pieces.append(text[pos:])
    merged: list[str | None] = []
    for piece in pieces:  # adjacent constants join: "100%% sure" → "100% sure"
        if piece is not WILD and merged and merged[-1] is not WILD:
            merged[-1] = f"{merged[-1]}{piece}"
        elif piece is WILD or piece:
            merged.append(piece)
    return merged


def constant_text(pieces: Sequence[str | None]) -> str:
    """The constant characters of a template, placeholders left out."""
    return "".join(p for p in pieces if p is not WILD)


def meaningful(pieces: Sequence[str | None]) -> bool:
    """Enough constant text to tell one message from another: ``MIN_TEMPLATE_CHARS`` characters
    (spaces not counted) and ``MIN_TEMPLATE_WORDS`` words."""
    text = constant_text(pieces)
    return len(text.replace(" ", "")) >= MIN_TEMPLATE_CHARS and len(_WORD.findall(text)) >= MIN_TEMPLATE_WORDS


def template_matches(pieces: Sequence[str | None], message: str) -> bool:
    """Whether ``message`` holds the template's text, any text standing for each placeholder."""
    constants = [p for p in pieces if p is not WILD]
    if not constants or max(constants, key=len) not in message:
        return False  # the cheap test first: the longest constant piece is in the message
    pattern = ".*?".join(re.escape(p) if p is not WILD else "" for p in pieces)
    return re.search(pattern, message, re.DOTALL) is not None


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring constants (they describe, they are never a message)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, (ast.Constant, ast.JoinedStr)):
                out.add(id(first.value))
    return out


def _templates(messages: Sequence[str], trees: Mapping[str, ast.Module]) -> Iterator[Candidate]:
    """Literals whose text matches a message, the raise sites first."""
    messages = [m for m in messages if m.strip()]
    if not messages:
        return
    for path, tree in trees.items():
        skip = _docstrings(tree)
        raised = {id(n) for r in ast.walk(tree) if isinstance(r, ast.Raise) for n in ast.walk(r)}
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, (ast.Constant, ast.JoinedStr)):
                continue
            pieces = template_pieces(node)
            if not pieces or not meaningful(pieces) or not any(template_matches(pieces, m) for m in messages):
                continue
            strength = len(constant_text(pieces)) + (1_000 if id(node) in raised else 0)
            start, end, name = _evidence_range(tree, node.lineno)
            yield Candidate(path, start, end, name, "template", strength)


# --- importers of a name that cannot be imported ------------------------------------------------


def absolute_module(path: str, level: int, module: str | None) -> str:
    """The dotted name of a (possibly relative) import made in ``path`` (``from ..utils import x``
    in ``pkg/network/hoster.py`` imports from ``pkg.utils``)."""
    if level == 0:
        return module or ""
    package = [p for p in posixpath.dirname(path.replace("\\", "/")).split("/") if p and p != "."]
    if level > 1:
        package = package[: len(package) - (level - 1)]
    return ".".join([*package, *([module] if module else [])])


def _imports_of(path: str, tree: ast.Module, name: str) -> Iterator[tuple[str, ast.ImportFrom]]:
    """The ``from M import … name …`` statements of a module, with ``M`` as a dotted name (a
    relative import resolved against ``path``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            yield absolute_module(path, node.level, node.module), node


def _same_module(written: str, module: str) -> bool:
    """Whether an import's dotted module can be ``module``: the same, or the same under a source
    root (``src.pkg.util`` for ``pkg.util``), or Python 2's implicit relative import of it
    (``convert`` for ``pkg.utils.convert``)."""
    return bool(written) and (written == module or written.endswith(f".{module}") or module.endswith(f".{written}"))


def _importers(
    messages: Sequence[str], traced: Sequence[Traced], trees: Mapping[str, ast.Module]
) -> Iterator[Candidate]:
    """Other files importing a name the messages say cannot be imported, when few do."""
    paths = list(dict.fromkeys(t.path for t in traced))  # the trace's order: the innermost file first
    for message in messages:
        found = _CANNOT_IMPORT.search(message)
        if found is None:
            continue
        name, module = found.group(1), found.group(2)
        if module is None:  # Python 2 names no module: the traced file's own import of the name does
            module = next((w for p in paths if p in trees for w, _ in _imports_of(p, trees[p], name) if w), None)
        if module is None:
            continue
        sites = [
            (path, node)
            for path, tree in trees.items()
            if path not in paths
            for written, node in _imports_of(path, tree, name)
            if _same_module(written, module)
        ]
        if 0 < len({p for p, _ in sites}) <= MAX_CALL_SITES:
            for path, node in sites:
                start, end = _span(node)
                last = max(n.end_lineno or n.lineno for n in trees[path].body)
                yield Candidate(
                    path, max(1, start - IMPORT_CONTEXT), min(last, end + IMPORT_CONTEXT), name, "importer", 1.0
                )


# --- the declaration of a key the raising line reads --------------------------------------------


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _declarations(tree: ast.Module, keys: set[str]) -> Iterator[tuple[str, int, bool]]:
    """Where a module declares one of ``keys``: a dict display's key or a call passing it (with
    its value or default: ``True``), a store (``False``); a read (``get*``/``has*``/``pop*``) is none."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found = [(k, n.lineno, True) for n in node.keys if n is not None and (k := _string(n)) in keys]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            found = [(k, node.lineno, False)] if (k := _string(node.slice)) in keys else []
        elif isinstance(node, ast.Call) and not _callee(node).startswith(_READS):
            found = [(k, a.lineno, True) for a in node.args if (k := _string(a)) in keys]
        else:
            found = []
        yield from found


def _keys(keys: Collection[str], trees: Mapping[str, ast.Module]) -> Iterator[Candidate]:
    """The declarations of ``keys`` (read by the raising lines), each when few files declare it;
    one with its value (a dict display, a call) before a store."""
    wanted = set(keys)
    if not wanted:
        return
    sites: dict[str, list[tuple[str, int, bool]]] = {key: [] for key in wanted}
    for path, tree in trees.items():
        for key, line, valued in _declarations(tree, wanted):
            sites[key].append((path, line, valued))
    for key, found in sites.items():
        if 0 < len({p for p, _, _ in found}) <= MAX_CALL_SITES and len(found) <= 2 * MAX_CALL_SITES:
            for path, line, valued in found:
                start, end, owner = _evidence_range(trees[path], line)
                name = owner if owner != "<module>" else f"declares '{key}'"
                yield Candidate(path, start, end, name, "key", (2.0 if valued else 1.0) / len(found))


# --- callers, subclasses, registrations ---------------------------------------------------------


def _callee(node: ast.AST) -> str:
    """The name a call or reference ends with: ``f`` for ``f``, ``x.y.f`` and ``f(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _specific(name: str) -> bool:
    return (
        name.isidentifier()
        and len(name) >= MIN_NAME_CHARS
        and not (name.startswith("__") and name.endswith("__"))
        and name.lower().strip("_") not in _COMMON
        and not name.startswith("test")
    )


def _callers(traced: Sequence[Traced], trees: Mapping[str, ast.Module]) -> Iterator[Candidate]:
    """Calls of a specific traced function from other files, when few."""
    names = {t.function: t.path for t in traced if _specific(t.function)}
    sites: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (name := _callee(node)) in sites and names[name] != path:
                sites[name].append((path, node.lineno))
    for found in sites.values():
        if 0 < len(found) <= MAX_CALL_SITES:
            for path, line in found:
                start, end, owner = _evidence_range(trees[path], line)
                yield Candidate(path, start, end, owner, "caller", 1.0 / len(found))


def _traced_classes(traced: Sequence[Traced], trees: Mapping[str, ast.Module]) -> dict[str, str]:
    """Class name → method name, for each traced line inside a method."""
    out: dict[str, str] = {}
    for t in traced:
        tree = trees.get(t.path)
        if tree is None:
            continue
        for klass in ast.walk(tree):
            if isinstance(klass, ast.ClassDef) and klass.lineno <= t.line <= (klass.end_lineno or klass.lineno):
                for method in klass.body:
                    if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                        method.lineno <= t.line <= (method.end_lineno or method.lineno)
                    ):
                        out.setdefault(klass.name, method.name)
    return out


def _subclasses(
    classes: Mapping[str, str], traced_paths: set[str], trees: Mapping[str, ast.Module]
) -> Iterator[Candidate]:
    """Overrides of a traced method in subclasses (in other files) of its class."""
    for path, tree in trees.items():
        if path in traced_paths:
            continue  # the traced file's own subclasses are shown by the trace's steps
        for klass in ast.walk(tree):
            if not isinstance(klass, ast.ClassDef):
                continue
            for base in klass.bases:
                method = classes.get(_callee(base))
                override = next(
                    (
                        m
                        for m in klass.body
                        if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name == method
                    ),
                    None,
                )
                if override is not None:
                    start, end = _span(override)
                    yield Candidate(path, start, end, f"{klass.name}.{override.name}", "subclass", 1.0)


def _names(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Name, ast.Attribute)):
            yield _callee(sub)


def _registrations(
    subjects: set[str], traced_paths: set[str], trees: Mapping[str, ast.Module], mappings: bool
) -> Iterator[Candidate]:
    """Where a subject is registered: ``register*(…, X, …)``, ``X.register*(…)``, and with
    ``mappings`` a dict mapping to X; in the files the trace does not run, and not in the file
    defining X (a file registering its own class tells nothing new)."""
    for path, tree in trees.items():
        if path in traced_paths:
            continue
        defined = {
            n.name: _span(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        decorated = {  # ``@register(X)`` over a function: the function is what is registered
            id(d): _span(f)
            for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            for d in f.decorator_list
        }
        for node in ast.walk(tree):
            hit: str | None = None
            args: list[ast.AST] = []
            if isinstance(node, ast.Call) and "register" in _callee(node).lower():
                args = [*node.args, *(k.value for k in node.keywords)]
                owner = node.func.value if isinstance(node.func, ast.Attribute) else None
                named = {n for a in args for n in _names(a)} | (set(_names(owner)) if owner is not None else set())
                hit = next((s for s in sorted(subjects) if s in named), None)
            elif mappings and isinstance(node, ast.Dict):
                values = {_callee(v) for v in node.values if v is not None}
                hit = next((s for s in sorted(subjects) if s in values), None)
            if hit is None or hit in defined:
                continue
            callbacks = [defined[n] for a in args for n in [_callee(a)] if n in defined and n != hit]
            if id(node) in decorated:
                callbacks.append(decorated[id(node)])
            if isinstance(node, ast.Dict):
                start, end, _ = _evidence_range(tree, node.lineno)
                callbacks.append((start, end))
            for start, end in callbacks:
                yield Candidate(path, start, end, f"registered for {hit}", "registration", 1.0)


# --- ranges --------------------------------------------------------------------------------------


def _span(node: ast.AST) -> tuple[int, int]:
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    return start, node.end_lineno or node.lineno  # type: ignore[attr-defined]


def _evidence_range(tree: ast.Module, line: int, head_lines: int = 40) -> tuple[int, int, str]:
    """The innermost function holding ``line`` when short, else a window around ``line`` inside it;
    at module level, the top-level statement holding it (a window when long)."""
    best: tuple[int, int, str] | None = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start, end = _span(node)
            if start <= line <= end and (best is None or start >= best[0]):
                best = (start, end, node.name)
    if best is None:
        stmt = next((s for s in tree.body if s.lineno <= line <= (s.end_lineno or s.lineno)), None)
        best = (stmt.lineno, stmt.end_lineno or stmt.lineno, "<module>") if stmt is not None else (line, line, "")
    start, end, name = best
    if end - start + 1 > head_lines:
        start, end = max(start, line - WINDOW), min(end, line + WINDOW)
    return start, end, name


def candidates(
    messages: Sequence[str],
    traced: Sequence[Traced],
    subjects: Iterable[str],
    trees: Mapping[str, ast.Module],
    kinds: Iterable[str] = KINDS,
    keys: Collection[str] = (),
) -> list[Candidate]:
    """The structural candidates of ``kinds``, strongest kind first, and within a kind the
    strongest first. ``subjects`` are names a registration may plug in beside the traced classes
    and functions (the custom exception types); ``keys`` the string keys the raising lines read."""
    kinds = set(kinds)
    classes = _traced_classes(traced, trees)
    names = {t.function for t in traced if _specific(t.function)}
    paths = {t.path for t in traced}
    found = [
        *(_importers(messages, traced, trees) if "importer" in kinds else ()),
        *(_keys(keys, trees) if "key" in kinds else ()),
        *(_templates(messages, trees) if "template" in kinds else ()),
        *(_subclasses(classes, paths, trees) if "subclass" in kinds else ()),
        *(
            _registrations(set(subjects) | set(classes) | names, paths, trees, "mapping" in kinds)
            if kinds & {"registration", "mapping"}
            else ()
        ),
        *(_callers(traced, trees) if "caller" in kinds else ()),
    ]
    unique = {(c.path, c.start, c.end): c for c in reversed(found)}  # the first reason for a range wins
    return sorted(unique.values(), key=lambda c: (KIND_RANK[c.kind], -c.strength, c.path, c.start))
