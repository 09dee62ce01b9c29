"""Find code the trace does not point at: a bounded, ranked search of the repository.

The fix of a crash is sometimes in a file no frame runs: the plugin that registers a handler,
the table the failing code reads, the function named in the message. After the trace is
localized, this module ranks the repository's definitions against the trace's words:

- **the query**: the names the messages quote (``'visit_trystar'``, ``module 'os' has no
  attribute 'getcwdu'``), a custom exception's class, the functions of every frame (a library's
  and a test's too: they name what was being done), the identifiers of each raising line, the
  words of the failing library's modules (``sphinx.ext.extlinks``: a project's ``extlinks``
  configuration);
- **the documents**: each top-level function, class head, method and module-level assignment of
  the repository's Python files outside its tests (``under_test.listed_tests``; bounded by
  ``SearchLimits``; a test calls the names the trace holds, and is not where a fault is fixed), as
  identifiers split into words (``visit_tryexcept`` → ``visit``, ``tryexcept``; ``AsString`` →
  ``as``, ``string``) plus the words of its file's name;
- **the ranking**: BM25 over those words; a definition *of* a quoted name scores more; vendored
  or installed library code scores less than the repository's own, a definition the latest
  commits changed more (``changes.py``); what the trace already shows is left out;
- **the structure** (``structure.py``): ranges the repository's structure links to the trace (a
  module registering a traced class, …) come before the lexical hits, within the same caps.

Pure: the repository is reached through ``paths`` and ``read``; no I/O of its own.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.core.changes import by_path
from chalicelib.core.frames import is_in_app
from chalicelib.core.libraries import failing_modules, frame_module, named_after
from chalicelib.core.named_modules import declared, missing_modules, module_named, requirements_list
from chalicelib.core.related import assigned
from chalicelib.core.structure import KIND_RANK, Traced, candidates
from chalicelib.core.under_test import listed_tests

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

    from chalicelib.core.changes import Changed
    from chalicelib.core.models import Frame, RaisedException

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = re.compile(r"""['"`]([A-Za-z_][\w.]*)['"`]""")
# a string key a line reads: x["key"], x.get("key"), x.pop(u'key'); a list display ["git"] is none
_KEY_READ = re.compile(
    r"""(?:(?<=[\w)\]])\s*\[\s*|\.(?:get|pop|setdefault)\(\s*)[uUbB]?(['"])([A-Za-z_][\w.\-]{2,})\1"""
)
_KEY_MESSAGE = re.compile(r"""^[uUbB]?['"]([A-Za-z_][\w.\-]{2,})['"]$""")  # KeyError: 'k', Python 2's u'k'
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_VENDORED = re.compile(r"(^|/)(_vendor|vendor|vendored|third_party|externals?|site-packages|dist-packages)/")
# Words every Python file has: they tell no definition from another.
STOPWORDS = frozenset(keyword.kwlist) | {
    "self", "cls", "none", "true", "false", "args", "kwargs", "return", "def", "class", "len", "str",
    "int", "list", "dict", "isinstance", "object", "value", "name", "get", "set", "the", "and", "not",
    "for", "with", "from", "import", "raise", "error", "exception", "line", "file", "call", "last",
    "most", "recent", "traceback", "module", "has", "attribute", "type", "got", "unexpected",
    "argument", "arguments", "positional", "keyword", "init", "main", "lambda", "wrapper",
    "func", "inner", "run", "test", "tests",
}  # fmt: skip
_BUILTIN_EXCEPTIONS = frozenset(n for n in dir(builtins) if n.endswith(("Error", "Exception", "Warning")))


@dataclass(frozen=True)
class SearchLimits:
    """Bounds of the search: files parsed, their size, and what is returned."""

    max_files: int = 600  # Python files parsed (the repository's own first)
    max_file_bytes: int = 300_000  # larger files are never parsed
    max_hits: int = 2  # definitions returned by the lexical ranking
    max_structural: int = 2  # ranges returned for structural evidence (a template, a caller, ...)
    max_total: int = 3  # of both
    # the structural evidence followed: registrations, other importers of a name that cannot be
    # imported and the declarations of a key the raising line reads found fixed files on the
    # bench; literal templates, callers and subclasses found none there and cost tokens, so they
    # are opt-in
    structural: frozenset[str] = frozenset({"importer", "key", "registration"})
    max_per_file: int = 2  # of them from one file
    max_named: int = 1  # files named after the failing library (``libraries.py``), first of all
    max_declared: int = 1  # packaging declarations of a module that cannot be imported (``named_modules.py``)
    max_message_modules: int = 1  # repository modules a message names (``named_modules.py``)
    named_whole_lines: int = 60  # a named file this short is returned whole, a longer one its best definition
    head_lines: int = 40  # a longer definition is returned as its first lines
    min_share: float = 0.5  # a hit scores at least this share of the best one
    recent_boost: float = 1.5  # a definition the latest commits changed (``changes.py``) scores this much more


@dataclass(frozen=True)
class Query:
    """Weighted words to rank by, and the exact names whose definitions score more."""

    terms: Mapping[str, float]
    names: frozenset[str]
    messages: tuple[str, ...] = ()  # the exceptions' messages, compared with the repository's literals
    kinds: frozenset[str] = frozenset()  # the custom exception types (a registered handler may name one)
    libraries: tuple[str, ...] = ()  # the failing libraries' dotted modules, best first (``libraries.py``)
    keys: tuple[str, ...] = ()  # string keys the raising lines read, and a KeyError's (``structure.py``)
    # the final exception raised in the repository's code or an installed library's, not in a
    # user's script or a REPL: a module it cannot import is the repository's dependency to declare
    raised_in_code: bool = False


def _keys_read(exc: RaisedException) -> list[str]:
    """The string keys an exception's raising line reads, and a ``KeyError``'s own key."""
    found = [key for _, key in _KEY_READ.findall(exc.frames[-1].source)] if exc.frames else []
    if exc.type.rsplit(".", 1)[-1] == "KeyError" and (key := _KEY_MESSAGE.match(exc.message.strip())):
        found.append(key.group(1))
    return found


_IMPORT_MACHINERY = re.compile(r"^<frozen importlib\.|[/\\]importlib[/\\][^/\\]+$")


@dataclass(frozen=True)
class Hit:
    """A definition the search found: lines ``start``..``end`` (1-based, inclusive) of ``path``."""

    path: str
    start: int
    end: int
    name: str
    score: float
    kind: str = "lexical"  # or the structural evidence: importer, key, template, caller, subclass, registration, named


def words(identifier: str) -> list[str]:
    """An identifier and the words it is made of, lower case: ``visitTryStar`` → ``visittrystar``,
    ``visit``, ``try``, ``star``."""
    spaced = _CAMEL.sub(r"\1_\2", identifier).lower()
    parts = [p for p in spaced.split("_") if p]
    full = identifier.lower().strip("_")
    return [full, *(p for p in parts if p != full)] if full else parts


@lru_cache(maxsize=65_536)
def _useful_words(identifier: str) -> tuple[str, ...]:
    return tuple(w for w in words(identifier) if _useful(w))


def _useful(word: str) -> bool:
    return len(word) >= 3 and word not in STOPWORDS and not word.isdigit()


def build_query(exceptions: Sequence[RaisedException], mapped: Collection[Frame] = ()) -> Query:
    """The words of the trace: quoted names and custom exception types (exact names too),
    frame functions, raising lines, and the messages' other words (weaker); and the failing
    libraries' modules (the innermost frames after the last ``mapped`` one, the modules the
    messages name): their words weigh as a message's, and the files named after them are
    candidates of their own."""
    terms: Counter[str] = Counter()
    names: set[str] = set()
    messages: list[str] = []
    kinds: set[str] = set()
    keys: list[str] = []

    def add(text: str, weight: float) -> None:
        for ident in _IDENT.findall(text):
            for w in words(ident):
                if _useful(w):
                    terms[w] = max(terms[w], weight)

    for exc in (e for top in exceptions for e in top.with_leaves()):
        message = " ".join([exc.message, *exc.notes[:3]])
        messages.append(exc.message)
        keys.extend(_keys_read(exc))
        for quoted in _QUOTED.findall(message):
            for part in quoted.split("."):
                if part.isidentifier() and _useful(part.lower()):
                    names.add(part)
                    add(part, 3.0)
        add(message, 1.0)
        kind = exc.type.rsplit(".", 1)[-1]
        if kind.isidentifier() and kind not in _BUILTIN_EXCEPTIONS:
            names.add(kind)
            kinds.add(kind)
            add(kind, 2.0)
        for n, frame in enumerate(reversed(exc.frames)):
            if frame.function and frame.function.isidentifier():
                add(frame.function, 2.0 if n == 0 else 1.0)
            if n < 2 and frame.source:  # noqa: PLR2004 - the raising line and its caller's
                add(frame.source, 1.5 if n == 0 else 1.0)
    libraries = failing_modules(exceptions, mapped)
    for module in libraries:  # the failing libraries' module words: ``extlinks`` finds the config dict of that name
        add(module, 1.0)
    # the frame that ran the failing code: importlib's machinery (``import_module``) runs on its behalf
    frames = exceptions[-1].frames if exceptions else ()
    last = next((f for f in reversed(frames) if not _IMPORT_MACHINERY.search(f.file)), None)
    return Query(
        dict(terms),
        frozenset(names),
        tuple(dict.fromkeys(messages)),
        frozenset(kinds),
        libraries,
        tuple(dict.fromkeys(keys)),
        raised_in_code=last is not None and (last in mapped or frame_module(last) is not None),
    )


@dataclass(frozen=True)
class _Unit:
    path: str
    start: int
    end: int
    name: str
    words: Counter[str]
    length: int


def _spans(tree: ast.Module) -> Iterable[tuple[str, int, int, ast.AST]]:
    """(name, start, end, node) of the module's definitions: functions, class heads, methods and
    module-level assignments."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, _start(node), node.end_lineno or node.lineno, node
        elif isinstance(node, ast.ClassDef):
            methods = [m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            head_end = (_start(methods[0]) - 1) if methods else (node.end_lineno or node.lineno)
            yield node.name, _start(node), max(node.lineno, head_end), node
            for m in methods:
                yield m.name, _start(m), m.end_lineno or m.lineno, m
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            named = [t.id for t in assigned(node) if isinstance(t, ast.Name)]
            if named:
                yield named[0], node.lineno, node.end_lineno or node.lineno, node


def _start(node: ast.AST) -> int:
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]


def units_of(path: str, text: str) -> list[_Unit]:
    """The definitions of one file as bags of words (empty when it does not parse)."""
    tree = _parse(text)
    return [] if tree is None else _units_of_tree(path, tree, text.splitlines())


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _units_of_tree(path: str, tree: ast.Module, lines: Sequence[str]) -> list[_Unit]:
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    file_words = [w for w in words(stem) if _useful(w)]
    out = []
    for name, start, end, _node in _spans(tree):
        bag: Counter[str] = Counter()
        for ident, count in Counter(_IDENT.findall("\n".join(lines[start - 1 : end]))).items():
            for w in _useful_words(ident):
                bag[w] += count
        bag.update(w for w in words(name) if _useful(w))  # the definition's own name counts twice
        bag.update(file_words)
        out.append(_Unit(path, start, end, name, bag, sum(bag.values()) or 1))
    return out


def is_library(path: str) -> bool:
    """Whether a repository path is installed or vendored code rather than the project's own."""
    return not is_in_app(path) or _VENDORED.search(path) is not None


def search(  # noqa: PLR0913 - the search's inputs
    query: Query,
    paths: Iterable[str],
    read: Callable[[str], str | None],
    exclude: Sequence[tuple[str, int, int]] = (),
    limits: SearchLimits = SearchLimits(),  # noqa: B008 - frozen
    k1: float = 1.2,
    b: float = 0.75,
    traced: Sequence[Traced] = (),
    changed: Sequence[Changed] = (),
) -> list[Hit]:
    """The repository's code best linked to the trace, best first: ranges structure links to it
    (``structure.py``: the literal that wrote the message, overrides in subclasses of a traced
    class, the registration of a traced name, callers of a traced function; at most
    ``limits.max_structural``), then the definitions best matching ``query`` (BM25, at most
    ``limits.max_hits``); ``limits.max_total`` in all. A range overlapping an ``exclude`` range
    (already shown) is skipped. A definition holding a line the latest commits ``changed`` scores
    ``limits.recent_boost`` times more: what just changed is where a new failure is looked for first."""
    if not query.terms and not query.messages and not query.libraries:
        return []
    # The repository's own code first, and in it the folders of what is already shown (the traced
    # files) first: a bounded search reads the nearest candidates.
    near = {posixpath.dirname(path) for path, _, _ in exclude}
    listed = list(paths)
    tests = listed_tests(listed)
    paths_list = [p for p in listed if p not in tests]  # a test is not where the fault is fixed
    python = sorted(
        (p for p in paths_list if p.endswith(".py")), key=lambda p: (is_library(p), posixpath.dirname(p) not in near, p)
    )
    units: list[_Unit] = []
    trees: dict[str, ast.Module] = {}
    recent = by_path(changed)
    changed_beyond = [p for p in python[limits.max_files :] if p in recent][: limits.max_files]  # read too
    for path in [*python[: limits.max_files], *changed_beyond]:
        text = read(path)
        if text is not None and len(text) <= limits.max_file_bytes and (tree := _parse(text)) is not None:
            trees[path] = tree
            units.extend(_units_of_tree(path, tree, text.splitlines()))

    def weight(unit: _Unit) -> float:
        """More for a definition the latest commits changed; none for one already shown, whose
        score only sets the bar the others must reach."""
        changed_here = any(s <= unit.end and unit.start <= e for s, e in recent.get(unit.path, ()))
        shown = any(p == unit.path and s <= unit.end and unit.start <= e for p, s, e in exclude)
        return limits.recent_boost if changed_here and not shown else 1.0

    scored = _bm25(query, units, k1, b, weight if recent else None) if units else []
    named = _named(query, python, read, scored, exclude, limits)
    named += _message_modules(query, sorted(paths_list), read, scored, exclude, limits)
    lexical = _pick(scored, exclude, limits) if scored else []
    structural = _structural(query, traced, trees, scored, exclude, limits)
    picked: list[Hit] = []
    for hit in [*named, *structural, *lexical]:
        if len(picked) >= limits.max_total or any(_overlaps(h, hit.path, hit.start, hit.end) for h in picked):
            continue
        if sum(h.path == hit.path for h in picked) < limits.max_per_file:
            picked.append(hit)
    return picked


def _overlaps(hit: Hit, path: str, start: int, end: int) -> bool:
    return hit.path == path and hit.start <= end and start <= hit.end


def _bm25(
    query: Query, units: Sequence[_Unit], k1: float, b: float, weight: Callable[[_Unit], float] | None = None
) -> list[tuple[float, _Unit]]:
    """The units scoring above 0, best first; ``weight`` multiplies a unit's score."""
    if not query.terms:
        return []
    df: Counter[str] = Counter()
    for unit in units:
        df.update(w for w in unit.words if w in query.terms)
    n, avg = len(units), sum(u.length for u in units) / len(units)

    def idf(word: str) -> float:
        return math.log(1 + (n - df[word] + 0.5) / (df[word] + 0.5))

    lowered = {name.lower() for name in query.names}
    scored: list[tuple[float, _Unit]] = []
    for unit in units:
        score = sum(
            weight * idf(word) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * unit.length / avg))
            for word, weight in query.terms.items()
            if (tf := unit.words.get(word, 0))
        )
        if unit.name.lower() in lowered:
            score += 3.0 * idf(unit.name.lower())  # the definition of a name the message quotes
        if score > 0:
            scored.append((score * (0.5 if is_library(unit.path) else 1.0) * (weight(unit) if weight else 1.0), unit))
    scored.sort(key=lambda p: (-p[0], p[1].path, p[1].start))
    return scored


def _named(  # noqa: PLR0913 - the evidence and the bounds
    query: Query,
    paths: Sequence[str],
    read: Callable[[str], str | None],
    scored: Sequence[tuple[float, _Unit]],
    exclude: Sequence[tuple[str, int, int]],
    limits: SearchLimits,
) -> list[Hit]:
    """The files named after the failing libraries (``libraries.named_after``), best first, at most
    ``limits.max_named``: a short one whole (a hook's ``hiddenimports = [...]``), a longer one its
    definition the lexical ranking scores best (none when nothing of it scores). A file the trace
    already shows a line of is left out."""
    hits: list[Hit] = []
    for found in named_after(query.libraries, paths):
        if len(hits) >= limits.max_named:
            break
        if any(p == found.path for p, _, _ in exclude):
            continue
        hit = _file_hit(found.path, found.word, read, scored, limits)
        if hit is not None:
            hits.append(hit)
    return hits


def _file_hit(
    path: str, name: str, read: Callable[[str], str | None], scored: Sequence[tuple[float, _Unit]], limits: SearchLimits
) -> Hit | None:
    """A file named by the evidence: whole when short, else its definition the lexical ranking
    scores best (none when nothing of it scores)."""
    text = read(path)
    if text is None or len(text) > limits.max_file_bytes:
        return None
    length = len(text.splitlines())
    if 0 < length <= limits.named_whole_lines:
        return Hit(path, 1, length, name, 0.0, "named")
    best = next(((s, u) for s, u in scored if u.path == path), None)
    if best is None:
        return None
    score, unit = best
    end = min(unit.end, unit.start + limits.head_lines - 1)
    return Hit(path, unit.start, end, unit.name, round(score, 3), "named")


def _message_modules(  # noqa: PLR0913 - the evidence and the bounds
    query: Query,
    paths: Sequence[str],
    read: Callable[[str], str | None],
    scored: Sequence[tuple[float, _Unit]],
    exclude: Sequence[tuple[str, int, int]],
    limits: SearchLimits,
) -> list[Hit]:
    """The modules the messages name (``named_modules.py``): where the packaging files declare a
    module the messages say cannot be imported, or, when none does and the import failed in the
    repository's code or an installed library's (not a user's script), the list of requirements
    it would join (at most ``limits.max_declared``), then the
    repository module a message names by a dotted name, shown as a named file (at most
    ``limits.max_message_modules``). Kind ``named``: short, specific evidence."""
    shown = {p for p, _, _ in exclude}
    missing = missing_modules(query.messages, paths)
    found = declared(missing, paths, read, limits.max_declared)
    if not found and query.raised_in_code:  # declared nowhere: the list its requirement would join
        found = requirements_list(missing, paths, read)
    hits = [Hit(f.path, f.start, f.end, f.module, 0.0, "named") for f in found[: limits.max_declared]]
    for found in module_named(query.messages, paths, shown, limits.max_message_modules):
        hit = _file_hit(found.path, found.module, read, scored, limits)
        if hit is not None:
            hits.append(hit)
    return hits


def _structural(  # noqa: PLR0913 - the evidence and the bounds
    query: Query,
    traced: Sequence[Traced],
    trees: Mapping[str, ast.Module],
    scored: Sequence[tuple[float, _Unit]],
    exclude: Sequence[tuple[str, int, int]],
    limits: SearchLimits,
) -> list[Hit]:
    """The structural candidates, strongest evidence first; within a kind and strength, the one
    whose definition the lexical ranking scores higher first."""
    if limits.max_structural <= 0 or not limits.structural:
        return []
    by_file: dict[str, list[tuple[float, _Unit]]] = {}
    for score, unit in scored:
        by_file.setdefault(unit.path, []).append((score, unit))

    def lexical(path: str, start: int, end: int) -> float:
        return max((s for s, u in by_file.get(path, ()) if u.start <= end and start <= u.end), default=0.0)

    found = candidates(query.messages, traced, query.kinds, trees, limits.structural, query.keys)
    ranked = sorted(
        found, key=lambda c: (KIND_RANK[c.kind], -c.strength, -lexical(c.path, c.start, c.end), c.path, c.start)
    )
    hits: list[Hit] = []
    per_file: Counter[str] = Counter()
    for c in ranked:
        if len(hits) >= limits.max_structural:
            break
        if per_file[c.path] >= limits.max_per_file or any(
            p == c.path and s <= c.end and c.start <= e for p, s, e in exclude
        ):
            continue
        if any(_overlaps(h, c.path, c.start, c.end) for h in hits):
            continue
        end = min(c.end, c.start + limits.head_lines - 1)
        hits.append(Hit(c.path, c.start, end, c.name, round(lexical(c.path, c.start, c.end), 3), c.kind))
        per_file[c.path] += 1
    return hits


def _pick(
    scored: Sequence[tuple[float, _Unit]], exclude: Sequence[tuple[str, int, int]], limits: SearchLimits
) -> list[Hit]:
    """The best units, bounded: a share of the best score, per file, none already shown or overlapping."""
    hits: list[Hit] = []
    per_file: Counter[str] = Counter()
    best = scored[0][0] if scored else 0.0
    for score, unit in scored:
        if len(hits) >= limits.max_hits or score < best * limits.min_share:
            break
        if per_file[unit.path] >= limits.max_per_file:
            continue
        if any(p == unit.path and s <= unit.end and unit.start <= e for p, s, e in exclude):
            continue
        if any(h.path == unit.path and h.start <= unit.end and unit.start <= h.end for h in hits):
            continue
        end = min(unit.end, unit.start + limits.head_lines - 1)
        hits.append(Hit(unit.path, unit.start, end, unit.name, round(score, 3)))
        per_file[unit.path] += 1
    return hits
