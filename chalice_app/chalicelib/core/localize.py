"""Map a traceback to the repository: the files and lines of its frames, and the definitions they use.

1. **Frames → files.** A deployed path (``/var/task/app/orders.py``, ``/srv/app/src/orders/worker.py``)
   is matched to the repository path that shares the longest suffix of path components with it,
   after configured prefixes are stripped. When several files share that suffix (two
   ``handlers.py``), the one holding the frame's source text wins; when none or several do, the
   frame is left unmapped rather than guessed by basename.
2. **Every exception of the chain**, ranked by evidence: the raising in-app frame of the final
   exception first, then the raising frame of each earlier exception (its ``__cause__`` /
   ``__context__``, newest first, and the leaves of exception groups), then the callers
   (innermost first). A frame seen twice (the same call in the cause and the final exception)
   counts once, at its best rank.
3. **Stale line numbers.** The repository may have moved on since the trace was logged. A frame's
   line is re-found by its printed source text (the match nearest the logged number, inside a
   function of the frame's name when there is one), then by the function's name (via ``ast``),
   before the logged number is trusted.
4. **Beyond the trace.** The names used on the raising lines (the callee, the class, the
   module-level constant, ``self.method``, the ``self.<attr>`` table followed to where a method
   fills it), what they were computed from in the raising function (the locals and ``self``
   attributes the line reads, followed back through up to three assignments above it, to the
   calls that made them), and what the innermost caller passed to the raising function, one step
   back, are resolved with ``ast`` (a ``self`` member the class lacks in its base classes, in
   whichever module they are) through the file's own definitions and imports (a Python 2 file by its
   statements that parse alone), then by a bounded search of the repository's Python files for a
   unique top-level definition. For
   ``'X' object has no attribute 'y'`` (or ``module 'm' …``), the class (or module) the message
   names: its head, its constructor and the definitions most like ``y`` (its siblings); for a
   call's ``TypeError``, the definitions the message can be about, and the base constructor a
   misfit ``__init__`` passes its arguments on to; for ``name 'x' is not defined``, the raising
   module's imports. Across a call, where the bad value was made: in a function too long to show
   whole that returned it, the statements assigning the names the caller bound and its returns;
   in the caller's class, the statement setting the ``self.<attr>`` the caller passed for a
   parameter the raising line reads. Then a
   ranked search (``retrieve.py``, BM25 over identifiers) adds the definitions that best match
   the trace's words, ``found_by="search"``. All their files join the traced ones as files a
   fix may edit.
5. **The module under test.** The innermost test frame (``test_tap.py``) names the module it tests
   (``core/under_test.py``); when no frame traces that module, what the test's printed line
   names of it, the constants a dynamic ``getattr`` reads, and its head are added
   (``found_by="trace"``, ``under_test``: they have their own share of the budget).
6. **Pasted traces.** A reporter's line inside the frames (``>>> call()``, ``...``) splits what
   the reader finds in two; ``rejoin`` joins the halves again, and a logging error's
   ``Call stack:`` frames to the handler's traceback where a reporter's line (``[...]``) kept
   the reader from joining them. ``unwrap`` joins frame headers a console cut at its width and
   puts a header that ends a line of prose on its own line.

Pure: the repository is reached through ``paths`` and ``read`` callables.
"""

from __future__ import annotations

import ast
import builtins
import posixpath
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from chalicelib.core import related, under_test
from chalicelib.core.frames import is_in_app
from chalicelib.core.ipython_tb import find_ipython
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.models import RaisedException, Traceback
from chalicelib.core.pytest_tb import find_pytest
from chalicelib.core.retrieve import SearchLimits, build_query, is_library, search
from chalicelib.core.signature import misfit_definitions
from chalicelib.core.structure import Traced, absolute_module
from chalicelib.core.tracebacks import find_in_text

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

    from chalicelib.core.changes import Changed
    from chalicelib.core.models import ErrorGroup, Frame

MAX_REPORT_TRACEBACKS = 8  # of a pasted report, read for one that runs the repository's code
DEFAULT_PREFIXES = ("/var/task/", "/opt/python/", "/app/", "/usr/src/app/", "/srv/app/", "/workspace/")

Evidence = Literal["raising", "cause", "caller"]
FoundBy = Literal["trace", "search"]
_BUILTINS = frozenset(dir(builtins)) | {"self", "cls"}
_DATA_STEPS = 3  # assignments followed back from a raising line's locals and self attributes
_BASE_DEPTH = 3  # base classes followed up from a class, for an inherited member
# Methods of built-in types: `code.upper()` on an unknown object is searched for in no repository.
_BUILTIN_METHODS = frozenset(
    name for kind in (str, bytes, list, dict, set, tuple, int, float, object) for name in dir(kind)
)


@dataclass(frozen=True)
class Located:
    """A frame and the repository file it runs; ``line`` is where that code is in the file today
    (the logged number, or where its source text was re-found when the file moved on)."""

    frame: Frame
    path: str
    line: int = 0
    evidence: Evidence = "raising"

    @property
    def current_line(self) -> int:
        """The line to show: the re-found one, else the logged one (1 when there is none)."""
        return self.line or self.frame.line or 1


@dataclass(frozen=True)
class Definition:
    """A repository definition (function, class, constant) used on a raising line."""

    name: str
    path: str
    start: int
    end: int
    used_in: str  # the path of the frame whose line uses it ("" when found by search)
    found_by: FoundBy = "trace"  # "search": ranked from the repository, not reached from the trace
    under_test: bool = False  # of the module a test frame tests (``core/under_test.py``): its own share
    kind: str = ""  # of a search's: "named" for the file named after the failing library (``libraries.py``)


@dataclass(frozen=True)
class Limits:
    """Bounds of the search beyond the trace."""

    max_definitions: int = 8  # definitions added in all
    max_scan_files: int = 200  # Python files parsed when searching the repository by name
    max_file_bytes: int = 300_000  # larger files are never parsed
    top_frames: int = 3  # raising lines whose names are resolved
    search_files: int = 600  # Python files the ranked search parses
    search_hits: int = 4  # definitions the ranked search adds (the context takes the further ones last)


@dataclass(frozen=True)
class Localization:
    """What localization found: frames best first, then definitions; ``editable`` lists every
    repository file a fix may edit (traced, defining, and configured extra files that exist)."""

    located: tuple[Located, ...]
    definitions: tuple[Definition, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def editable(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for path in (
            *(loc.path for loc in self.located),
            *(d.path for d in self.definitions),
            *self.extra,
        ):
            seen.setdefault(path)
        return tuple(seen)


def _components(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p and p != "."]


class RepoIndex:
    """The repository's file paths, indexed by file name for suffix matching."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._by_name: dict[str, list[list[str]]] = defaultdict(list)
        self.paths: list[str] = []
        for path in paths:
            parts = _components(path)
            if parts:
                self._by_name[parts[-1]].append(parts)
                self.paths.append("/".join(parts))

    @cached_property
    def own_first(self) -> list[str]:
        """The repository's Python files in the order a bounded search reads them: the project's
        own code before vendored copies, shallow modules before deep ones (a project vendoring a
        library, ``pkg/patched/pip/…``, has hundreds of files sorting before its own
        ``pkg/project.py``), tests after the code. Sorted once for every search of one localization."""
        python = (p for p in self.paths if p.endswith(".py") and is_in_app(p))
        return sorted(python, key=lambda p: (is_library(p), p in self.tests, p.count("/"), p))

    @cached_property
    def tests(self) -> frozenset[str]:
        """The repository's test files (``under_test.listed_tests``): read after the code by a
        bounded search, and never a fault's place for the ranked one."""
        return under_test.listed_tests(self.paths)

    def candidates(self, file: str, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> list[str]:
        """Repository paths sharing the longest component suffix with ``file`` (at least the name).
        A compiled module's file (``picard\\file.pyo`` of a frozen Windows build, a ``.pyc``,
        ``__pycache__/m.cpython-311.pyc``) is its source's: the line numbers it prints are the
        source's."""
        normalized = file.replace("\\", "/")
        for prefix in prefixes:
            if normalized.startswith(prefix):
                normalized = normalized[len(prefix) :]
                break
        parts = _components(normalized)
        if not parts:
            return []
        if parts[-1].endswith((".pyc", ".pyo")):
            stem = parts[-1][:-4]
            if len(parts) > 1 and parts[-2] == "__pycache__":  # PEP 3147: the interpreter's tag
                stem = stem.split(".", 1)[0]
                del parts[-2]
            parts[-1] = f"{stem}.py"
        best, best_len = [], 0
        for candidate in self._by_name.get(parts[-1], []):
            n = 0
            while n < min(len(parts), len(candidate)) and parts[-1 - n] == candidate[-1 - n]:
                n += 1
            if n > best_len:
                best, best_len = [candidate], n
            elif n == best_len:
                best.append(candidate)
        return ["/".join(c) for c in best]

    def modules(self, dotted: str) -> list[str]:
        """Repository files that can be module ``dotted`` (``a.b`` → ``…/a/b.py``, ``…/a/b/__init__.py``)."""
        parts = [p for p in dotted.split(".") if p]
        if not parts:
            return []
        found = []
        for tail in ([*parts[:-1], parts[-1] + ".py"], [*parts, "__init__.py"]):
            for candidate in self._by_name.get(tail[-1], []):
                if candidate[-len(tail) :] == tail:
                    found.append("/".join(candidate))
        return found


# --- line re-finding (stale line numbers) -------------------------------------------------------


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # the last two: too deeply nested
        return None


# A line at column 0 that continues the statement above it rather than starting one.
_CONTINUES = re.compile(r"^(?:[\s#)\]}]|(?:else|elif|except|finally)\b)")


def _parse_partly(text: str) -> ast.Module | None:
    """A file ``ast`` cannot parse whole (Python 2 code: a ``print`` statement, ``exec``, ``ur''``):
    its top-level statements that parse on their own, at their own line numbers, the others left
    blank. The imports and the functions written in the common subset of both Pythons are then
    resolved as in any file (``from .encoding import DEFAULT_ENCODING`` above a function using it)."""
    lines = text.splitlines()
    starts = [
        n
        for n, line in enumerate(lines)
        if line.strip() and not _CONTINUES.match(line) and not (n and lines[n - 1].startswith("@"))
    ]
    kept = [""] * len(lines)
    for start, end in zip(starts, [*starts[1:], len(lines)][: len(starts)], strict=True):
        if _parse("\n".join(lines[start:end])) is not None:
            kept[start:end] = lines[start:end]
    return _parse("\n".join(kept)) if any(kept) else None


def refind_line(text: str, frame: Frame, tree: ast.Module | None = None) -> int:
    """Where the frame's code is in ``text`` today; 0 when the frame has no line and none is found.

    The logged line when it still holds the frame's source text; else the line holding that text
    nearest the logged number (inside a function of the frame's name when one holds it); else,
    when the logged line is not inside a function of that name but one exists, that function's
    first line; else the logged number. In a file ``ast`` cannot parse, the functions of the
    frame's name are found by their ``def`` line and indentation.
    """
    lines = text.splitlines()
    logged = frame.line or 0
    want = frame.source.strip().splitlines()[0].strip() if frame.source.strip() else ""
    if want and 1 <= logged <= len(lines) and lines[logged - 1].strip() == want:
        return logged
    named: list[tuple[int, int]] = []
    if frame.function and frame.function.isidentifier():
        tree = tree or _parse(text)
        named = related.named_functions(lines, tree, frame.function)
    if want:
        hits = [n for n, line in enumerate(lines, start=1) if line.strip() == want]
        inside = [n for n in hits if any(s <= n <= e for s, e in named)]
        if inside or hits:
            return min(inside or hits, key=lambda n: (abs(n - logged), n))
    if named and not any(s <= logged <= e for s, e in named):
        return min(named, key=lambda r: abs(r[0] - logged))[0]
    return min(logged, len(lines)) if lines else logged


def _holds_source(text: str | None, frame: Frame, slack: int | None = 3) -> bool:
    if text is None or not frame.source.strip():
        return False
    lines = text.splitlines()
    want = frame.source.strip().splitlines()[0].strip()
    if slack is not None and frame.line:
        line = frame.line - 1
        lines = lines[max(0, line - slack) : line + slack + 1]
    return any(ln.strip() == want for ln in lines)


# --- frames of the chain, ranked -----------------------------------------------------------------


def ranked_frames(
    exceptions: Sequence[RaisedException],
    maps: Callable[[Frame], bool] | None = None,
    vendored: Callable[[Frame], bool] | None = None,
    installed: Callable[[Frame], bool] | None = None,
) -> list[tuple[Frame, Evidence]]:
    """Every in-app frame of the chain, by evidence: the final exception's raising frame, the
    raising frames of the others (group leaves, then causes, newest first), then the callers.

    With ``maps`` (does the frame's file map to the repository?), a frame that maps to no
    repository file is left out before the raising frame is chosen: when the crash happened in
    an installed library deployed beside the code (``/var/task/setuptools_scm/…``), the
    repository's innermost frame (the call that passed the library the bad value) is the
    raising one, so the names its line uses are resolved.

    With ``vendored`` (does the frame run a library's copy kept in the repository,
    ``pkg/patched/pip/_vendor/…``?), the same holds for such a copy: the project's own innermost
    frame is the raising one, and the copy's frames follow the project's callers.

    With ``installed`` (does a library frame run the repository's own package, installed?), such
    a frame is the repository's code like an in-app one.
    """
    order = [e for exc in reversed(exceptions) for e in exc.with_leaves()]
    raising: list[tuple[Frame, Evidence]] = []
    callers: list[tuple[Frame, Evidence]] = []
    for n, exc in enumerate(order):
        in_app = [
            f
            for f in reversed(exc.frames)
            if (is_in_app(f.file) or (installed is not None and installed(f))) and (maps is None or maps(f))
        ]
        if vendored is not None:
            own = [f for f in in_app if not vendored(f)]
            in_app = own + [f for f in in_app if vendored(f)] if own else in_app
        if not in_app:
            continue
        raising.append((in_app[0], "raising" if n == 0 else "cause"))
        callers.extend((f, "caller") for f in in_app[1:])
    return raising + callers


_SPLIT_GAP = 2  # lines a reporter's note may take between two halves of one pasted traceback
_LOGGING_MESSAGE = "Message"  # the line after a logging error's call stack: ``Message: 'text'``


def rejoin(found: Sequence[Traceback]) -> list[Traceback]:
    """Tracebacks with the halves of a pasted one joined again.

    A reporter's line inside the frames (``>>> call()``, ``...``, a note) ends the reader's
    traceback there: the first half has frames and no exception line, the second starts with a
    frame and no header. Joined, the chain keeps its outer frames and its raising frame alike.

    A logging error (``--- Logging error ---``, the standard library's ``Handler.handleError``)
    prints the traceback of the failing handler, all inside ``logging``, then ``Call stack:`` and
    the frames of the code that logged. The reader joins them as CPython prints them; where a
    reporter's line stands between ``Call stack:`` and the frames (``[...]`` for the frames cut),
    it reads the frames as a second traceback ending in ``Message: '…'``. The logging call (a
    format string its arguments do not fit, a call from a signal handler) is where such a fix
    goes: that traceback's frames are joined in as the outer frames of the handler's exception,
    as the reader joins them.
    """
    out: list[Traceback] = []
    for tb in found:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.final.type
            and tb.final.type == _LOGGING_MESSAGE
            and tb.text.lstrip().startswith("File ")
            and 0 <= tb.origin - (prev.origin + len(prev.text.splitlines())) <= _SPLIT_GAP
        ):
            raised, caller = prev.exceptions[-1], tb.exceptions[-1]
            joined = replace(raised, frames=(*caller.frames, *raised.frames))
            out[-1] = replace(prev, exceptions=(*prev.exceptions[:-1], joined), text=f"{prev.text}\n{tb.text}")
            continue
        if (
            prev is not None
            and prev.truncated
            and not prev.final.type
            and tb.text.lstrip().startswith("File ")
            and 0 <= tb.origin - (prev.origin + len(prev.text.splitlines())) <= _SPLIT_GAP
        ):
            head, first = prev.exceptions[-1], tb.exceptions[0]
            joined = replace(first, frames=(*head.frames, *first.frames))
            out[-1] = replace(
                tb,
                exceptions=(*prev.exceptions[:-1], joined, *tb.exceptions[1:]),
                text=f"{prev.text}\n{tb.text}",
                origin=prev.origin,
            )
            continue
        out.append(tb)
    return out


# A frame header a console cut at its width: `File "…", line 74, in` + `<module>` on the next
# line at column 0, or the path cut: `File "/a/very/long/pa` + `th.py", line 3, in f`.
_CUT_FUNCTION = re.compile(r'^(\s*File "[^"]*", line \d+, in)( \S*)?$')
_FUNCTION_REST = re.compile(r"^[\w<>.]+$")
_CUT_PATH = re.compile(r'^\s*File "[^"]*$')
_PATH_REST = re.compile(r'^[^"\s]*", line \d+, in \S+$')
# A frame header a reporter's prose runs into: `Fixes this error: File "…", line 7, in build`.
_PROSE_HEADER = re.compile(r'^(\S.*?\S) (File "[^"]+", line \d+, in [\w<>.]+)$')
_EXCEPTION_START = re.compile(r"^[\w.]+:(?: |$)")  # an exception line's type: its message may quote a header


def unwrap(text: str) -> str:
    """``text`` with the frame headers a console wrapped at its width joined again.

    A Windows console (and some terminals copied from) breaks a line at 80 columns: the
    function name, or the path, continues at the start of the next line, and the reader then
    stops at that frame. Only a header line followed by a line at column 0 that completes it is
    joined; at column 0 (an unindented paste) only a header cut right after ``in``, since a whole
    one's next line is its source. A whole header one space after a line of prose (``Fixes this
    error: File "…", line 7, in build``; not an exception line quoting one, not a log prefix,
    which the reader strips) is put on a line of its own. Anything else is left as it is."""
    lines = text.split("\n")
    out: list[str] = []
    n = 0
    while n < len(lines):
        line = lines[n].rstrip("\r")
        nxt = lines[n + 1].rstrip("\r") if n + 1 < len(lines) else None
        cut = _CUT_FUNCTION.match(line) if nxt is not None else None
        # at column 0 a whole header's next line is its source (`raise`), not the rest of its name
        if cut and (line[:1].isspace() or not cut.group(2)) and _FUNCTION_REST.match(nxt or ""):
            out.append(line + nxt if cut.group(2) else f"{line} {nxt}")
            n += 2
            continue
        if nxt is not None and _CUT_PATH.match(line) and _PATH_REST.match(nxt):
            out.append(line + nxt)
            n += 2
            continue
        prose = _PROSE_HEADER.match(line)
        if prose and not prose.group(1).startswith("File ") and not _EXCEPTION_START.match(prose.group(1)):
            out.extend([prose.group(1), f"  {prose.group(2)}"])
            n += 1
            continue
        out.append(line)
        n += 1
    return "\n".join(out)


def read_pasted(data: bytes) -> list[Traceback]:
    """The tracebacks of a pasted text (a file, an issue): read as a log file is, the halves a
    reporter's line split joined (``rejoin``); when the console wrapped frame headers, the
    unwrapped text is read too and kept unless its first traceback has fewer frames. A text in
    which that finds no frame is read in IPython's and Jupyter's form (``core/ipython_tb.py``),
    then as pytest reports a failing test (``core/pytest_tb.py``)."""
    found = rejoin(read_tracebacks(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return found
    if not any(e.frames for tb in found for e in tb.exceptions):
        # the forms a reporter pastes that a service's logs do not carry: IPython's or Jupyter's
        # (``----> 1 f(0)``), then pytest's report of a failing test (``mod.py:12: in f``)
        if pasted := find_ipython(text) or find_pytest(text):
            return pasted
    fixed = unwrap(text)
    if fixed == text:
        return found
    again = rejoin(read_tracebacks(fixed.encode("utf-8")))

    def frames(tbs: Sequence[Traceback]) -> int:
        return sum(len(e.frames) for e in tbs[0].exceptions) if tbs else -1

    return again if frames(again) >= frames(found) else found


def primary(
    tracebacks: Sequence[Traceback],
    paths: Collection[str],
    read: Callable[[str], str | None],
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> Traceback | None:
    """The traceback of a pasted report to localize: the first of its ``MAX_REPORT_TRACEBACKS``
    whose chain runs the repository's code outside its tests, else the first that runs a test of
    it, else the first. A report often shows the failure as the reporter met it (``>>> f(x)`` at a
    console: a ``<stdin>`` frame only, or a library's) before the traceback through the code."""
    if len(tracebacks) < 2:  # noqa: PLR2004 - nothing to choose from
        return tracebacks[0] if tracebacks else None
    index = RepoIndex(paths)
    reached = [
        (tb, {loc.path for loc in locate(tb.exceptions, index, read, prefixes)})
        for tb in tracebacks[:MAX_REPORT_TRACEBACKS]
    ]
    code = [tb for tb, files in reached if files - index.tests]
    tests = [tb for tb, files in reached if files]
    return (code or tests or tracebacks)[0]


def group_chain(group: ErrorGroup) -> tuple[RaisedException, ...]:
    """The group's exception chain, read back from its sample trace; the final exception's frames
    alone when the sample does not parse (or was cut before any frame)."""
    found = rejoin(find_in_text(group.sample)) if group.sample else []
    for tb in found:
        if any(e.frames for exc in tb.exceptions for e in exc.with_leaves()):
            return tb.exceptions
    return (RaisedException(group.exception_type, group.message, group.frames),)


MIN_CONTENT_CHARS = 16  # a shorter printed line is too plain to tell which file holds it
MAX_CONTENT_FILES = 600  # repository files read to map a frame by what it runs
_SPECIFIC = re.compile(r"[\w.]++\(|\[|\.")  # a call, an index or an attribute


def _specific(printed: str) -> bool:
    """Whether a printed line says enough to tell which file holds it: ``MIN_CONTENT_CHARS`` or
    more, with a call, an index or an attribute."""
    return len(printed) >= MIN_CONTENT_CHARS and _SPECIFIC.search(printed) is not None


def _mapped_by_content(
    chain: Sequence[RaisedException],
    index: RepoIndex,
    read: Callable[[str], str | None],
    prefixes: Sequence[str],
) -> dict[str, str]:
    """Repository files for frames whose path maps to none, by what they run: a script run
    through a symlink or an entry point (``~/bin/nbconvert`` for ``nbconvert.py``), a module
    deployed under another name. The file holding the most of the frame file's printed lines
    (each at least ``MIN_CONTENT_CHARS`` with a call, index or attribute) is it; a tie maps
    nothing, as a path suffix shared by two files does."""
    wanted: dict[str, set[str]] = defaultdict(set)  # unmapped file -> its printed lines
    for exc in chain:
        for e in exc.with_leaves():
            for f in e.frames:
                text = f.source.strip()
                if _specific(text) and is_in_app(f.file):
                    wanted[f.file].add(text)
    wanted = {file: lines for file, lines in wanted.items() if not index.candidates(file, prefixes)}
    if not wanted:
        return {}
    needed = set().union(*wanted.values())
    holders: dict[str, set[str]] = defaultdict(set)  # printed line -> repository files holding it
    for path in index.own_first[:MAX_CONTENT_FILES]:
        text = read(path)
        if text is not None and len(text) <= Limits.max_file_bytes:
            for line in needed & {raw.strip() for raw in text.splitlines()}:
                holders[line].add(path)
    mapped: dict[str, str] = {}
    for file, lines in wanted.items():
        counts = Counter(path for line in lines for path in holders.get(line, ()))
        best = counts.most_common(2)
        if best and (len(best) == 1 or best[0][1] > best[1][1]):
            mapped[file] = best[0][0]
    return mapped


# Where pip puts an installed package: the last of these in a frame's path starts its module path
# (the standard library's ``lib/python3.x/`` is none: no repository's package is installed there).
_PACKAGE_ROOT = re.compile(r"(?:^|/)(?:site|dist)-packages/|\.egg/", re.IGNORECASE)


def runs_installed_copy(frame: Frame, path: str | None, read: Callable[[str], str | None]) -> bool:
    """Whether a library frame runs the repository's own package, installed: a reporter's
    ``…/site-packages/sympy/core/basic.py`` when the repository is sympy. ``path`` is the
    repository file the frame maps to by its path's longest suffix; it must end with the whole
    path after the package root (``site-packages/``, ``dist-packages/``, an ``.egg``):
    ``sympy/core/basic.py``, not only ``core/basic.py`` (Django's ``django/contrib/auth/
    decorators.py`` is never a service's ``shop/auth/decorators.py``), with nothing above it but a
    source layout's folder (``src/``): an installed ``orders/views.py`` is not the repository's
    ``shop/orders/views.py``, ``shop`` being a package.

    With a package directory in that path, the file holds the frame's printed line, or defines
    the frame's function (an install converted by 2to3 prints ``http.cookies`` where the
    repository has ``Cookie``), or the frame printed no line. A lone module (``site-packages/
    six.py``) names too little: its printed line must be held and specific (``MIN_CONTENT_CHARS``,
    with a call, an index or an attribute, or an import: black's ``from _black_version import
    version as __version__``)."""
    normalized = frame.file.replace("\\", "/")
    roots = list(_PACKAGE_ROOT.finditer(normalized))
    if path is None or not roots:
        return False
    parts = [p for p in normalized[roots[-1].end() :].split("/") if p]
    if parts and parts[-1].endswith((".pyc", ".pyo")):  # Python 2 prints the compiled file it ran
        parts[-1] = parts[-1][:-1]
    repo_parts = path.split("/")
    if not parts or len(repo_parts) < len(parts) or repo_parts[-len(parts) :] != parts:
        return False
    above = repo_parts[: -len(parts)]  # a source layout's src/ or lib/, never a package holding it
    if above and read("/".join([*above, "__init__.py"])) is not None:
        return False
    text = read(path)
    if text is None:
        return False
    held = _holds_source(text, frame, slack=None)
    printed = frame.source.strip()
    if len(parts) == 1:
        an_import = len(printed) >= MIN_CONTENT_CHARS and printed.startswith(("import ", "from "))
        return held and (_specific(printed) or an_import)
    return held or not printed or bool(related.named_functions(text.splitlines(), None, frame.function or ""))


def locate(
    frames: Sequence[Frame] | Sequence[RaisedException],
    index: RepoIndex,
    read: Callable[[str], str | None],
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> list[Located]:
    """The in-app frames that map to one repository file, best evidence first.

    ``frames`` is one exception's frames (outermost first) or a whole chain of exceptions.
    """
    if frames and isinstance(frames[0], RaisedException):
        chain = frames
    else:
        chain = (RaisedException("", "", tuple(frames)),)  # type: ignore[arg-type]
    files: dict[tuple[str, int | None, str], str | None] = {}

    def file_of(frame: Frame) -> str | None:
        """The one repository file the frame runs, or None."""
        key = (frame.file, frame.line, frame.source)
        if key not in files:
            candidates = index.candidates(frame.file, prefixes)
            if len(candidates) > 1:
                # Ambiguous by path: decide by the code near the line, then anywhere in the file
                # (the file may have moved on), never by name alone.
                near = [c for c in candidates if _holds_source(read(c), frame)]
                candidates = near or [c for c in candidates if _holds_source(read(c), frame, slack=None)]
            files[key] = candidates[0] if len(candidates) == 1 else None
        return files[key]

    by_content = _mapped_by_content(chain, index, read, prefixes)

    def file_or_copy(frame: Frame) -> str | None:
        return file_of(frame) or by_content.get(frame.file)

    ranked = ranked_frames(
        chain,  # type: ignore[arg-type]
        lambda f: file_or_copy(f) is not None,
        lambda f: is_library(file_or_copy(f) or ""),
        lambda f: runs_installed_copy(f, file_of(f), read),
    )
    located: list[Located] = []
    seen: set[tuple[str, int]] = set()
    lines: dict[tuple[str, int | None, str, str | None], int] = {}  # a recursion repeats frames
    for frame, evidence in ranked:
        path = file_or_copy(frame)
        if path is None:
            continue
        candidates = [path]
        memo = (candidates[0], frame.line, frame.source, frame.function)
        if memo not in lines:
            text = read(candidates[0])
            lines[memo] = refind_line(text, frame) if text is not None else (frame.line or 0)
        key = (candidates[0], lines[memo])
        if key in seen:
            continue
        seen.add(key)
        located.append(Located(frame, candidates[0], lines[memo], evidence))
    return located


# --- definitions beyond the trace ---------------------------------------------------------------


@dataclass
class _Module:
    path: str
    tree: ast.Module
    top: dict[str, ast.stmt] = field(default_factory=dict)  # name -> defining statement
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias -> (module, name)


def _module_name_of(path: str) -> str:
    parts = _components(path)
    if parts and parts[-1] == "__init__.py":
        parts = parts[:-1]
    elif parts:
        parts[-1] = parts[-1].removesuffix(".py")
    return ".".join(parts)


def _index_module(path: str, tree: ast.Module) -> _Module:
    mod = _Module(path, tree)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            mod.top[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for t in related.assigned(node):
                for name in ast.walk(t):
                    if isinstance(name, ast.Name):
                        mod.top.setdefault(name.id, node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    mod.imports[alias.asname] = (alias.name, None)
                else:
                    head = alias.name.split(".")[0]
                    mod.imports[head] = (head, None)
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(path, node.level, node.module)
            for alias in node.names:
                if alias.name != "*":
                    mod.imports[alias.asname or alias.name] = (base, alias.name)
    return mod


def _span(node: ast.stmt) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)]), node.end_lineno or node.lineno


_BODY_FIELDS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})


def _blocks(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """The statement lists nested directly in ``node`` (bodies, else/finally, handlers, cases)."""
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list):
            yield [s for s in value if isinstance(s, ast.stmt)]
    for part in [*getattr(node, "handlers", []), *getattr(node, "cases", [])]:
        yield part.body


def _statement_at(tree: ast.Module, line: int) -> tuple[ast.stmt | None, list[ast.ClassDef], list[ast.AST]]:
    """The innermost statement holding ``line`` (a compound one when the line is its header), the
    classes around it, and the functions around it."""
    found: ast.stmt | None = None
    classes: list[ast.ClassDef] = []
    functions: list[ast.AST] = []
    node: ast.AST = tree
    while True:
        nxt = next(
            (s for block in _blocks(node) for s in block if s.lineno <= line <= (s.end_lineno or s.lineno)),
            None,
        )
        if nxt is None:
            return found, classes, functions
        found = nxt
        if isinstance(nxt, ast.ClassDef):
            classes.append(nxt)
        elif isinstance(nxt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(nxt)
        node = nxt


def _header_nodes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The expressions of a statement, not those of the statements nested in its body."""
    for name, value in ast.iter_fields(stmt):
        if name in _BODY_FIELDS or name == "decorator_list":
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast.AST):
                yield from ast.walk(item)


def _locals(function: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _uses(stmt: ast.stmt, line: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """(base name, attribute chain) pairs used by a statement, in source order; those on the
    frame's own ``line`` first (in a long call, the argument the printed line passes)."""
    seen: dict[tuple[str, tuple[str, ...]], bool] = {}

    def note(key: tuple[str, tuple[str, ...]], node: ast.AST) -> None:
        on_line = getattr(node, "lineno", 0) == line
        seen[key] = seen.get(key, False) or on_line

    for node in _header_nodes(stmt):
        if isinstance(node, ast.Attribute):
            chain: list[str] = []
            cur: ast.AST = node
            while isinstance(cur, ast.Attribute):
                chain.insert(0, cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name):
                note((cur.id, tuple(chain)), node)
            else:
                note(("", (chain[-1],)), node)  # a method on an unknown object
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            note((node.id, ()), node)
    return sorted(seen, key=lambda k: (not seen[k], k[0] == ""))


def _assigned_uses(
    function: ast.AST,
    uses: Sequence[tuple[str, tuple[str, ...]]],
    local: set[str],
    line: int,
    steps: int = 1,
) -> list[tuple[str, tuple[str, ...]]]:
    """The names the raising line's local variables were computed from: the values assigned to
    them earlier in the function, and their parameters' defaults (``encoding = encoding or
    DEFAULT_ENCODING`` then ``s.decode(encoding)``). With ``steps`` > 1, the data flow is followed
    further back: the locals those values use, and the ``self.<attr>`` the line reads that the
    function filled above it (``self.occurences.append(cursor.blockNumber())``, ``cursor =
    self.__find_first(text)``, ``text = self.get_current_word()``), up to ``steps`` assignments
    from the raising line."""
    wanted = {base for base, _ in uses if base in local and base not in ("self", "cls")}
    attrs = {chain[0] for base, chain in uses if base == "self" and chain} if steps > 1 else set()
    out: list[tuple[str, tuple[str, ...]]] = []
    args = getattr(function, "args", None)
    if wanted and isinstance(args, ast.arguments):
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        for arg, default in pairs:
            if arg.arg in wanted:
                out += _uses(ast.Expr(value=default, lineno=default.lineno, col_offset=0))
    writes = [node for node in ast.walk(function) if isinstance(node, ast.stmt) and node.lineno < line]
    done: set[int] = set()
    for step in range(steps):
        if not wanted and not attrs:
            break
        added: list[tuple[str, tuple[str, ...]]] = []
        for node in writes:
            if id(node) in done:
                continue
            if _writes(node, wanted, set()):
                uses_of = _uses(node) if step == 0 else _call_uses(node, local)
            elif _writes(node, set(), attrs):
                uses_of = _call_uses(node, local)
            else:
                continue
            done.add(id(node))
            added += [u for u in uses_of if u not in out and u not in added]
        out += added
        wanted = {base for base, _ in added if base in local and base not in ("self", "cls")} - wanted
        attrs = set()
    return out


def _call_uses(node: ast.stmt, local: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Of a statement's uses, the functions it calls (what made the value) and the local
    variables it reads (to follow further back); not every constant and argument it names."""
    called = set()
    for sub in _header_nodes(node):
        if isinstance(sub, ast.Call):
            called.update(_uses(ast.Expr(value=sub.func, lineno=sub.lineno, col_offset=0)))
    return [u for u in _uses(node) if u in called or (u[0] in local and not u[1])]


def _writes(node: ast.stmt, names: set[str], attrs: set[str]) -> bool:
    """Whether ``node`` assigns one of the local ``names`` or ``self.<attr>`` of ``attrs``, or
    (for ``attrs``) fills one in place (``self.found.append(x)``)."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return any(
            (isinstance(n, ast.Name) and n.id in names) or _self_attr(n) in attrs
            for target in related.assigned(node)
            for n in ast.walk(target)
        )
    if attrs and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return isinstance(func, ast.Attribute) and _self_attr(func.value) in attrs
    return False


def _handler_uses(scope: ast.AST, line: int) -> list[tuple[str, tuple[str, ...]]]:
    """The names the handlers of the innermost ``try`` around ``line`` test: the exception types
    they catch and the conditions of the ``if`` statements heading their bodies
    (``except OSError as e: if errno_from_exception(e) in _ERRNO_WOULDBLOCK:``). They decide
    whether the exception is caught; a fix that should have caught it edits what they test."""
    tries = related.tries_around(scope, line)
    if not tries:
        return []
    innermost = tries[0]
    out: list[tuple[str, tuple[str, ...]]] = []
    for handler in innermost.handlers:
        tested: list[ast.expr] = [handler.type] if handler.type is not None else []
        tested += [s.test for s in handler.body if isinstance(s, ast.If)]
        for expr in tested:
            out += [u for u in _uses(ast.Expr(value=expr, lineno=expr.lineno, col_offset=0)) if u not in out]
    return out


def _instance_assignment(klass: ast.ClassDef, name: str) -> ast.stmt | None:
    """The statement assigning ``self.<name>`` in a method of ``klass`` (``__init__`` first): the
    table a raising ``self.<name>[key]`` indexes, followed to where it is filled."""
    methods = [n for n in klass.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    methods.sort(key=lambda n: n.name != "__init__")
    for method in methods:
        for node in ast.walk(method):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                if any(_self_attr(t) == name for t in related.assigned(node)):
                    return node
    return None


def _self_attr(node: ast.AST) -> str | None:
    """``x`` when ``node`` is ``self.x``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


class _Resolver:
    """Name → definition, through files' own definitions and imports, then a bounded search."""

    def __init__(self, index: RepoIndex, read: Callable[[str], str | None], limits: Limits) -> None:
        self.index = index
        self.read = read
        self.limits = limits
        self._modules: dict[str, _Module | None] = {}
        self._by_name: dict[str, list[tuple[str, ast.stmt]]] | None = None

    def module(self, path: str) -> _Module | None:
        if path not in self._modules:
            text = self.read(path) if path.endswith(".py") else None
            tree = None
            if text is not None and len(text) <= self.limits.max_file_bytes:
                tree = _parse(text) or _parse_partly(text)
            self._modules[path] = _index_module(path, tree) if tree is not None else None
        return self._modules[path]

    def _module_file(self, dotted: str, near: str) -> str | None:
        files = self.index.modules(dotted)
        if len(files) > 1:  # prefer the copy in the using file's tree
            root = _components(near)[:1]
            files = [f for f in files if _components(f)[:1] == root] or files
        return files[0] if len(files) == 1 else None

    def in_module(self, path: str, name: str, depth: int = 0) -> tuple[str, ast.stmt] | None:
        """The statement defining ``name`` in module file ``path`` (following re-exports once)."""
        mod = self.module(path)
        if mod is None:
            return None
        if name in mod.top:
            return path, mod.top[name]
        if name in mod.imports and depth < 2:
            base, attr = mod.imports[name]
            if attr is not None:
                target = self._module_file(base, path)
                if target is not None:
                    return self.in_module(target, attr, depth + 1)
        return None

    def resolve(
        self, path: str, base: str, chain: tuple[str, ...], klass: ast.ClassDef | None
    ) -> list[tuple[str, ast.stmt]]:
        """Definitions of ``base.chain`` used in ``path``: a class found with its member ``chain[0]``."""
        found = self._resolve(path, base, chain, klass)
        if chain and base not in ("", "self", "cls") and len(found) == 1 and isinstance(found[0][1], ast.ClassDef):
            member = self.member(found[0][0], found[0][1], chain[0])
            if member is not None:
                found.append(member)
        return found

    def _resolve(
        self, path: str, base: str, chain: tuple[str, ...], klass: ast.ClassDef | None, imported: bool = False
    ) -> list[tuple[str, ast.stmt]]:
        """Where ``base.chain`` used in ``path`` is defined; with ``imported``, only through the
        file's imports (``class Client(Client)`` derives from the imported ``Client``)."""
        mod = self.module(path)
        if mod is None:
            return []
        if base in ("self", "cls") and chain and klass is not None:
            return [m for m in [self.member(path, klass, chain[0])] if m is not None]
        if not base:
            return self._unique(chain[0], methods=True)
        if base in mod.top and not imported:
            return [(path, mod.top[base])]
        if base in mod.imports:
            module, attr = mod.imports[base]
            if attr is not None:
                # `from pkg import name`: a definition of pkg, or the submodule pkg/name.py
                found = self._module_file(module, path)
                hit = self.in_module(found, attr) if found else None
                if hit is not None:
                    return [hit]
                sub = self._module_file(f"{module}.{attr}", path)
                return [r for r in [self.in_module(sub, chain[0])] if r] if sub and chain else []
            # `import a.b` then `a.b.name(...)`: the longest module prefix, then the name
            for k in range(len(chain), 0, -1):
                target = self._module_file(".".join([module, *chain[: k - 1]]), path)
                if target is not None:
                    hit = self.in_module(target, chain[k - 1])
                    return [hit] if hit else []
            return []
        if base in _BUILTINS:
            return []
        return self._unique(base, methods=False)

    def member(self, path: str, klass: ast.ClassDef, name: str, depth: int = 0) -> tuple[str, ast.stmt] | None:
        """Where ``klass`` (defined in ``path``) gets its member ``name``: its own body, a
        ``self.<name> = …`` of its methods, else a base class's, followed through the file's
        definitions and imports into another module (``class CodeEditor(TextEditBaseWidget)``
        and ``self.get_current_word()`` → ``sourcecode/base.py``)."""
        for node in klass.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return path, node
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                if any(isinstance(t, ast.Name) and t.id == name for t in related.assigned(node)):
                    return path, node
        own = _instance_assignment(klass, name)
        if own is not None:
            return path, own
        if depth >= _BASE_DEPTH:
            return None
        for base in self.bases(path, klass):
            found = self.member(*base, name, depth + 1)
            if found is not None:
                return found
        return None

    def bases(self, path: str, klass: ast.ClassDef) -> list[tuple[str, ast.ClassDef]]:
        """The repository classes ``klass`` (defined in ``path``) derives from, in its order."""
        out: list[tuple[str, ast.ClassDef]] = []
        for expr in klass.bases:
            chain: list[str] = []
            while isinstance(expr, ast.Attribute):
                chain.insert(0, expr.attr)
                expr = expr.value
            if not isinstance(expr, ast.Name) or expr.id in _BUILTINS:
                continue
            found = self._resolve(path, expr.id, tuple(chain), None, imported=expr.id == klass.name)[-1:]
            if found and isinstance(found[0][1], ast.Assign) and isinstance(found[0][1].value, ast.Name):
                # an alias of another module (``HTTPError = HTTPClientError``)
                found = self._resolve(found[0][0], found[0][1].value.id, (), None)[-1:]
            out += [(p, node) for p, node in found if isinstance(node, ast.ClassDef) and node is not klass]
        return out

    def delegated_init(self, path: str, function: ast.stmt) -> tuple[str, ast.stmt] | None:
        """The base class's ``__init__`` a constructor delegates to (``super().__init__(…)`` or
        ``Base.__init__(self, …)``), when ``function`` is the ``__init__`` of a class of ``path``."""
        mod = self.module(path)
        if mod is None or getattr(function, "name", "") != "__init__":
            return None
        delegates = any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "__init__"
            for n in ast.walk(function)
        )
        _, classes, _ = _statement_at(mod.tree, function.lineno)
        if not delegates or not classes:
            return None
        for base in self.bases(path, classes[-1]):
            found = self.member(*base, "__init__")
            if found is not None:
                return found
        return None

    def _scan(self) -> dict[str, list[tuple[str, ast.stmt]]]:
        """Top-level definitions (and methods) of at most ``max_scan_files`` Python files."""
        if self._by_name is None:
            self._by_name = defaultdict(list)
            for path in self.index.own_first[: self.limits.max_scan_files]:
                mod = self.module(path)
                if mod is None:
                    continue
                for node in mod.tree.body:
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        self._by_name[node.name].append((path, node))
                    if isinstance(node, ast.ClassDef):
                        for member in node.body:
                            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                                self._by_name["." + member.name].append((path, member))
        return self._by_name

    def _unique(self, name: str, methods: bool) -> list[tuple[str, ast.stmt]]:
        if name.startswith("__") or name in (_BUILTIN_METHODS if methods else _BUILTINS):
            return []
        found = self._scan().get(("." if methods else "") + name, [])
        if len(found) > 1:  # a test's double of the name (``class Pricing`` in a test) is no rival
            found = [f for f in found if f[0] not in self.index.tests]
        return found if len(found) == 1 else []


def find_definitions(
    located: Sequence[Located],
    index: RepoIndex,
    read: Callable[[str], str | None],
    limits: Limits = Limits(),  # noqa: B008 - frozen
    resolver: _Resolver | None = None,
) -> list[Definition]:
    """Definitions in the repository of the names used on the raising lines of the chain, and of
    what the innermost caller's arguments to the raising function were computed from."""
    resolver = resolver or _Resolver(index, read, limits)
    found: dict[tuple[str, int], Definition] = {}
    top = [loc for loc in located if loc.evidence != "caller"][: limits.top_frames]
    for loc in top:
        mod = resolver.module(loc.path)
        if mod is None:
            continue
        line = loc.current_line
        stmt, classes, functions = _statement_at(mod.tree, line)
        if stmt is None:
            continue
        local = _locals(functions[-1]) if functions else set()
        uses = _uses(stmt, line)
        if functions:
            uses += [u for u in _assigned_uses(functions[-1], uses, local, line, _DATA_STEPS) if u not in uses]
        uses += [u for u in _handler_uses(functions[-1] if functions else mod.tree, line) if u not in uses]
        _add_resolved(found, resolver, loc, line, (uses, local, classes[-1] if classes else None), limits)
        if len(found) >= limits.max_definitions:
            return list(found.values())[: limits.max_definitions]
    caller = next((loc for loc in located if loc.evidence == "caller"), None)
    if top and caller is not None and (mod := resolver.module(caller.path)) is not None:
        stmt, classes, functions = _statement_at(mod.tree, caller.current_line)
        if stmt is not None and functions and top[0].frame.function:
            local = _locals(functions[-1])
            passed = [(name, ()) for name in _passed_locals(stmt, top[0].frame.function, local)]
            uses = _assigned_uses(functions[-1], passed, local, caller.current_line)
            scope = (uses, local, classes[-1] if classes else None)
            _add_resolved(found, resolver, caller, caller.current_line, scope, limits)
    return list(found.values())[: limits.max_definitions]


def _add_resolved(  # noqa: PLR0913 - the evidence, where it is, and the bounds
    found: dict[tuple[str, int], Definition],
    resolver: _Resolver,
    loc: Located,
    line: int,
    scope: tuple[Sequence[tuple[str, tuple[str, ...]]], set[str], ast.ClassDef | None],
    limits: Limits,
) -> None:
    """Add to ``found`` the definitions of the names ``line`` of ``loc``'s file uses (``scope``:
    the uses, the function's locals, the enclosing class), and those a constant of another module
    is computed by; until ``limits.max_definitions``."""
    uses, local, klass = scope
    for base, chain in uses:
        if base in local and base not in ("self", "cls"):
            if not chain:
                continue
            base, chain = "", chain[:1]  # a method called on a local object
        for path, node in resolver.resolve(loc.path, base, chain, klass):
            start, end = _span(node)
            if path == loc.path and start <= line <= end:
                continue  # the frame's own function
            name = getattr(node, "name", None) or (chain[-1] if base in ("", "self", "cls") else base)
            found.setdefault((path, start), Definition(name, path, start, end, loc.path))
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and path != loc.path:
                # a constant of another module: the definitions its value is computed by
                for sub_base, sub_chain in _uses(node):
                    if sub_base in _BUILTINS:
                        continue
                    for sub_path, sub in resolver.resolve(path, sub_base, sub_chain, None):
                        sub_start, sub_end = _span(sub)
                        sub_name = getattr(sub, "name", None) or sub_base
                        found.setdefault(
                            (sub_path, sub_start), Definition(sub_name, sub_path, sub_start, sub_end, loc.path)
                        )
            if len(found) >= limits.max_definitions:
                return


def _passed_locals(stmt: ast.stmt, callee: str, local: set[str]) -> list[str]:
    """The local variables a caller's statement passes to ``callee`` (``tw.markup(word, **m)``
    → ``word``, ``m``): the values the raising function received, made in the caller."""
    out: list[str] = []
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name != callee:
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            value = arg.value if isinstance(arg, ast.Starred) else arg
            if isinstance(value, ast.Name) and value.id in local and value.id not in out:
                out.append(value.id)
    return out


# --- the bad value across a call -------------------------------------------------------------------

MAX_FLOW_STATEMENTS = 6  # statements shown of a long function that returned the value
FLOW_WINDOW = 2  # lines around each of them
# a longer definition is shown by its head only: ``context.MAX_FUNCTION_LINES`` (context.py reads
# this module's types, so it is not imported here: no import circle)
LONG_DEFINITION_LINES = 150
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of ``function``'s body, not those of the functions and classes nested in it."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        out.append(node)
        if not isinstance(node, _SCOPES):
            todo.extend(ast.iter_child_nodes(node))
    return out


def _bound_names(stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> set[str]:
    """The local names an assignment binds (``a, b = …``; not the index of ``d[k] = …``)."""
    return {
        t.id
        for target in related.assigned(stmt)
        for t in ast.walk(target)
        if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)
    }


def _flowing(nodes: Sequence[ast.AST], local: set[str], stmt: ast.stmt, line: int) -> set[str]:
    """The local variables the raising statement reads, and those they were computed from (up to
    ``_DATA_STEPS`` assignments above ``line``); ``nodes`` are the function's own."""
    local = local - {"self", "cls"}
    wanted = {base for base, _ in _uses(stmt, line) if base in local}
    writes = [n for n in nodes if isinstance(n, ast.stmt) and n.lineno < line]
    for _ in range(_DATA_STEPS):
        more = {b for n in writes if _writes(n, wanted, set()) for b, _ in _uses(n) if b in local} - wanted
        if not more:
            break
        wanted |= more
    return wanted


def _flow_windows(function: ast.stmt, names: set[str]) -> list[tuple[int, int]]:
    """In a long function that returned a value the raising line read: its last ``return``, the
    statements assigning the names the caller bound its result to (the last ones first), then its
    other ``return`` statements, each with ``FLOW_WINDOW`` lines around it, inside the function
    (at most ``MAX_FLOW_STATEMENTS``), overlapping windows merged."""
    start, end = _span(function)
    nodes = _own_nodes(function)
    assigning = [
        n for n in nodes if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and _bound_names(n) & names
    ]
    returns = sorted((n for n in nodes if isinstance(n, ast.Return)), key=lambda n: n.lineno)
    ordered = [*returns[-1:], *sorted(assigning, key=lambda n: -n.lineno), *returns[:-1]]
    spans = sorted(
        (max(start, n.lineno - FLOW_WINDOW), min(end, (n.end_lineno or n.lineno) + FLOW_WINDOW))
        for n in ordered[:MAX_FLOW_STATEMENTS]
    )
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def flow_definitions(located: Sequence[Located], resolver: _Resolver, limits: Limits) -> list[Definition]:
    """Where the bad value the first raising line reads was made, across a call (at most
    ``limits.max_definitions``):

    - a local bound from a call of a repository function too long to be shown whole
      (``a, at = split(text)``): in that function, the statements assigning the same names
      (``at = …``) and its ``return`` statements;
    - a parameter of the raising function the caller passed as ``self.<attr>``: the statement of
      the caller's class that assigns that attribute (``self.location = os.path.join(…)``).
    """
    top = next((loc for loc in located if loc.evidence != "caller"), None)
    mod = resolver.module(top.path) if top is not None else None
    if top is None or mod is None:
        return []
    stmt, classes, functions = _statement_at(mod.tree, top.current_line)
    if stmt is None or not functions:
        return []
    function = functions[-1]
    nodes = _own_nodes(function)
    local = _locals(function)
    wanted = _flowing(nodes, local, stmt, top.current_line)
    out: list[Definition] = []
    for node in sorted((n for n in nodes if isinstance(n, (ast.Assign, ast.AnnAssign))), key=lambda n: n.lineno):
        if node.lineno >= top.current_line:
            continue
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        names = _bound_names(node) & wanted
        if not isinstance(value, ast.Call) or not names:
            continue
        for base, chain in _uses(ast.Expr(value=value.func, lineno=value.lineno, col_offset=0))[:1]:
            if base in local and base not in ("self", "cls"):
                if not chain:
                    continue  # a local function: not defined where it can be found
                base, chain = "", chain[-1:]  # a method called on a local object
            for path, callee in resolver.resolve(top.path, base, chain, classes[-1] if classes else None):
                start, end = _span(callee)
                if isinstance(callee, (ast.FunctionDef, ast.AsyncFunctionDef)) and end - start >= LONG_DEFINITION_LINES:
                    out += [Definition(callee.name, path, a, b, top.path) for a, b in _flow_windows(callee, names)]
    caller = next((loc for loc in located if loc.evidence == "caller"), None)
    if caller is not None:
        out += _argument_writers(top, (function, nodes, stmt), caller, resolver)
    return out[: limits.max_definitions]


def _argument_writers(
    top: Located, scope: tuple[ast.AST, Sequence[ast.AST], ast.stmt], caller: Located, resolver: _Resolver
) -> list[Definition]:
    """The statements of the caller's class assigning the ``self.<attr>`` it passed for a
    parameter the raising line reads (``client.fetch(self.container, self.location)``);
    ``scope`` is the raising function, its own nodes and the raising statement."""
    function, nodes, stmt = scope
    args = getattr(function, "args", None)
    mod = resolver.module(caller.path)
    if not isinstance(args, ast.arguments) or mod is None:
        return []
    read = {base for base, _ in _uses(stmt, top.current_line)}
    assigned_above = {
        name
        for n in nodes
        if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and n.lineno < top.current_line
        for name in _bound_names(n)
    }
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    wanted = (read & {*positional, *(a.arg for a in args.kwonlyargs)}) - assigned_above - {"self", "cls"}
    cstmt, cclasses, _ = _statement_at(mod.tree, caller.current_line)
    if not wanted or cstmt is None or not cclasses:
        return []
    passed: list[ast.expr] = []
    for call in (n for n in ast.walk(cstmt) if isinstance(n, ast.Call)):
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name != top.frame.function:
            continue
        # a bound call (``obj.fetch(a)``) passes ``self`` itself; an unbound one (``Client.fetch(self, a)``) names it
        explicit = bool(call.args) and isinstance(call.args[0], ast.Name) and call.args[0].id in ("self", "cls")
        skip = 1 if isinstance(func, ast.Attribute) and positional[:1] in (["self"], ["cls"]) and not explicit else 0
        for n, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                break  # the positions after ``*args`` are not known
            if n + skip < len(positional) and positional[n + skip] in wanted:
                passed.append(arg)
        passed += [k.value for k in call.keywords if k.arg in wanted]
    out: list[Definition] = []
    for expr in passed:
        attr = _self_attr(expr)
        node = _instance_assignment(cclasses[-1], attr) if attr else None
        if attr and node is not None:
            out.append(Definition(attr, caller.path, *_span(node), caller.path))
    return out


# --- the ranked search ----------------------------------------------------------------------------


def search_definitions(  # noqa: PLR0913 - the search's inputs
    exceptions: Sequence[RaisedException],
    located: Sequence[Located],
    definitions: Sequence[Definition],
    index: RepoIndex,
    read: Callable[[str], str | None],
    limits: Limits = Limits(),  # noqa: B008 - frozen
    changes: Sequence[Changed] = (),
) -> list[Definition]:
    """Definitions a ranked search of the repository finds for the trace's words, beyond what the
    trace and the name lookups already reach (``found_by="search"``); ``changes``, what the latest
    commits changed, scores a changed definition higher (``SearchLimits.recent_boost``)."""
    exclude = [(loc.path, loc.current_line, loc.current_line) for loc in located]
    exclude += [(d.path, d.start, d.end) for d in definitions]
    bounds = SearchLimits(
        max_files=limits.search_files,
        max_file_bytes=limits.max_file_bytes,
        max_hits=limits.search_hits,
        max_total=limits.search_hits + 1,  # hits of every kind: one more than the lexical ones, as before
    )
    traced = [Traced(loc.path, loc.current_line, loc.frame.function) for loc in located]
    query = build_query(exceptions, mapped=frozenset(loc.frame for loc in located))
    hits = search(query, index.paths, read, exclude, bounds, traced=traced, changed=changes)
    return [Definition(h.name, h.path, h.start, h.end, "", "search", kind=h.kind) for h in hits]


# --- the missing name ----------------------------------------------------------------------------

_NO_ATTRIBUTE = re.compile(r"^(?:(module) |type object )?'([\w.]+)'(?: object)? has no attribute '(\w+)'")
# Types whose missing attribute says nothing about the repository's code.
_PLAIN_TYPES = frozenset({"NoneType", "module", "function", "method", "type", "generator", "coroutine"}) | frozenset(
    name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
)
MAX_SIBLINGS = 3
CLASS_HEAD_LINES = 12


def _subtokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return {t for t in spaced.split("_") if t}


def _similarity(missing: str, name: str) -> int:
    """How much ``name`` looks like the sibling ``missing`` belongs beside: the common prefix
    (``visit_try…``) and the shared words of the two names."""
    prefix = len(posixpath.commonprefix([missing, name]))
    return (prefix if prefix >= 3 else 0) + 2 * len(_subtokens(missing) & _subtokens(name))


def _siblings(body: Sequence[ast.stmt], missing: str) -> list[ast.stmt]:
    """The definitions of ``body`` most like ``missing`` (at most ``MAX_SIBLINGS``), best first."""
    scored = [
        (_similarity(missing, node.name), node)
        for node in body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name != missing
    ]
    ranked = sorted((p for p in scored if p[0] > 0), key=lambda p: (-p[0], p[1].lineno))
    return [node for _, node in ranked[:MAX_SIBLINGS]]


def _class_head(klass: ast.ClassDef) -> tuple[int, int]:
    """The class line, its bases and docstring, up to the first method (at most ``CLASS_HEAD_LINES``)."""
    start = _span(klass)[0]
    first = next((n for n in klass.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    end = (_span(first)[0] - 1) if first is not None else (klass.end_lineno or klass.lineno)
    return start, max(klass.lineno, min(end, start + CLASS_HEAD_LINES - 1))


def _find_class(resolver: _Resolver, name: str, located: Sequence[Located]) -> tuple[str, ast.ClassDef] | None:
    """Class ``name``: in the traced files first (nested too), else a unique top-level one."""
    for path in dict.fromkeys(loc.path for loc in located):
        mod = resolver.module(path)
        if mod is not None:
            for node in ast.walk(mod.tree):
                if isinstance(node, ast.ClassDef) and node.name == name:
                    return path, node
    found = resolver._unique(name, methods=False)  # noqa: SLF001 - the resolver's own bounded search
    if found and isinstance(found[0][1], ast.ClassDef):
        return found[0][0], found[0][1]
    return None


def missing_name_definitions(
    exceptions: Sequence[RaisedException],
    located: Sequence[Located],
    index: RepoIndex,
    read: Callable[[str], str | None],
    limits: Limits = Limits(),  # noqa: B008 - frozen
    resolver: _Resolver | None = None,
) -> list[Definition]:
    """For ``'X' object has no attribute 'y'`` (and ``module 'm' …``): the class or module the
    error names, its head and the definitions beside where ``y`` belongs (its siblings sharing a
    prefix or words, as in a visitor's ``visit_*`` methods). A fix that adds the name edits there."""
    if not exceptions:
        return []
    match = _NO_ATTRIBUTE.match(exceptions[-1].message.strip())
    if match is None:
        return []
    is_module, owner, missing = match.groups()
    resolver = resolver or _Resolver(index, read, limits)
    used_in = located[0].path if located else ""
    out: list[Definition] = []
    if is_module:
        files = index.modules(owner)
        mod = resolver.module(files[0]) if len(files) == 1 else None
        if mod is None:
            return []
        for node in _siblings(mod.tree.body, missing):
            out.append(Definition(getattr(node, "name", missing), mod.path, *_span(node), used_in))
        return out
    name = owner.rsplit(".", 1)[-1]
    if name in _PLAIN_TYPES:
        return []
    found = _find_class(resolver, name, located)
    if found is None:
        return []
    path, klass = found
    out.append(Definition(klass.name, path, *_class_head(klass), used_in))
    init = next((n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    # the constructor sets the attributes an instance has: where a missing one is often added
    for node in [*([init] if init is not None else []), *_siblings(klass.body, missing)]:
        out.append(Definition(getattr(node, "name", missing), path, *_span(node), used_in))
    return out


_NOT_DEFINED = re.compile(r"^(?:global )?name '(\w+)' is not defined")
MAX_NAMESPACE_LINES = 120  # a module's imports shown for a name it lacks: longer, they are not shown


def _import_region(tree: ast.Module) -> tuple[int, int] | None:
    """From the module's first top-level import to its last one before its first definition:
    the module's namespace as its head builds it (imports under ``if``/``try`` included)."""
    first = last = 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            break
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node)):
            first, last = first or _span(node)[0], _span(node)[1]
    return (first, last) if first else None


def undefined_name_definitions(
    exceptions: Sequence[RaisedException], located: Sequence[Located], resolver: _Resolver
) -> list[Definition]:
    """For ``NameError: name 'x' is not defined`` raised in the repository: the raising module's
    imports, however many (up to ``MAX_NAMESPACE_LINES``). The name is missing from that module's
    namespace, and a fix that defines it mostly imports it there; the context's own step shows an
    import block of up to ``MAX_IMPORT_LINES`` only."""
    if not exceptions or not located or exceptions[-1].type.rsplit(".", 1)[-1] != "NameError":
        return []
    if not exceptions[-1].frames or located[0].frame != exceptions[-1].frames[-1]:
        return []  # raised in code the repository does not hold (an ``exec``'d string, a library)
    match = _NOT_DEFINED.match(exceptions[-1].message.strip())
    mod = resolver.module(located[0].path) if match else None
    region = _import_region(mod.tree) if mod is not None else None
    if match is None or region is None or region[1] - region[0] + 1 > MAX_NAMESPACE_LINES:
        return []
    return [Definition(match.group(1), located[0].path, *region, located[0].path)]


def misfit_call_definitions(
    exceptions: Sequence[RaisedException],
    located: Sequence[Located],
    index: RepoIndex,
    limits: Limits,
    resolver: _Resolver,
) -> list[Definition]:
    """For a call's ``TypeError`` (``f() takes 2 positional arguments but 3 were given``): the
    definitions of ``f`` the message can be about (``signature.py``)."""
    if not exceptions or not exceptions[-1].message or exceptions[-1].type.rsplit(".", 1)[-1] != "TypeError":
        return []
    traced = list(dict.fromkeys(loc.path for loc in located))
    python = index.own_first[: limits.search_files]

    def tree_of(path: str) -> ast.Module | None:
        mod = resolver.module(path)
        return mod.tree if mod is not None else None

    used_in = located[0].path if located else ""
    found = misfit_definitions(exceptions[-1].message, traced, python, tree_of, _BUILTIN_METHODS)
    out = [Definition(name=f.name, path=f.path, start=f.start, end=f.end, used_in=used_in) for f in found]
    for f in found:  # a constructor that passes its arguments on: the base's, in another module
        mod = resolver.module(f.path)
        stmt = _statement_at(mod.tree, f.start)[2][-1:] if mod is not None else []
        base = resolver.delegated_init(f.path, stmt[0]) if stmt else None
        if base is not None and all((d.path, d.start) != (base[0], _span(base[1])[0]) for d in out):
            start, end = _span(base[1])
            out.append(Definition(name="__init__", path=base[0], start=start, end=end, used_in=f.path))
    return out


def module_under_test(
    exceptions: Sequence[RaisedException],
    located: Sequence[Located],
    index: RepoIndex,
    read: Callable[[str], str | None],
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> list[Definition]:
    """What to show of the module the innermost test frame of the chain tests (the final
    exception's first, ``core/under_test.py``), when no frame already traces that module: the
    definitions the test's printed line names, the constants it reads, else the module's head.
    They are reached from the trace's own path and line, ``found_by="trace"``."""
    traced = {loc.path for loc in located}
    for exc in [e for x in reversed(exceptions) for e in x.with_leaves()]:  # as ranked_frames orders them
        for frame in reversed(exc.frames):
            if not is_in_app(frame.file) or under_test.name_tested_by(frame.file) is None:
                continue
            mapped = index.candidates(frame.file, prefixes)
            test_path = mapped[0] if len(mapped) == 1 else frame.file
            module = under_test.module_tested_by(test_path, index.paths)
            if module is None or module in traced:
                return []
            return [
                Definition(s.name, module, s.start, s.end, test_path, under_test=True)
                for s in under_test.shown(module, frame.source, read)
            ]
    return []


def localize(
    exceptions: Sequence[RaisedException],
    paths: Iterable[str],
    read: Callable[[str], str | None],
    prefixes: Sequence[str] = DEFAULT_PREFIXES,
    extra: Iterable[str] = (),
    limits: Limits = Limits(),  # noqa: B008 - frozen
    retrieve: bool = True,
    changes: Sequence[Changed] = (),
) -> Localization:
    """Frames of the whole chain mapped to files, the definitions their raising lines use (and,
    for a missing attribute, the class or module it is missing from), the definitions a ranked
    search of the repository finds for the error's names (``found_by="search"``), and the
    configured extra files (``allowed_paths``) that exist in the repository. ``changes`` are the
    lines the latest commits changed (``changes.py``): the search scores their definitions higher."""
    index = RepoIndex(paths)
    located = locate(exceptions, index, read, prefixes)
    resolver = _Resolver(index, read, limits)
    definitions = missing_name_definitions(exceptions, located, index, read, limits, resolver)
    definitions += misfit_call_definitions(exceptions, located, index, limits, resolver)
    definitions += undefined_name_definitions(exceptions, located, resolver)
    if located:
        known_defs = {(d.path, d.start) for d in definitions}
        definitions += [
            d for d in find_definitions(located, index, read, limits, resolver) if (d.path, d.start) not in known_defs
        ]
    known_defs = {(d.path, d.start) for d in definitions}
    definitions += [d for d in flow_definitions(located, resolver, limits) if (d.path, d.start) not in known_defs]
    known_defs = {(d.path, d.start) for d in definitions}
    definitions += [
        d for d in module_under_test(exceptions, located, index, read, prefixes) if (d.path, d.start) not in known_defs
    ]
    if retrieve:
        definitions += search_definitions(exceptions, located, definitions, index, read, limits, changes)
    known = set(index.paths)
    extras = []
    for raw in extra:
        clean = posixpath.normpath(raw.replace("\\", "/")).lstrip("/")
        if clean in known and read(clean) is not None:
            extras.append(clean)
    return Localization(tuple(located), tuple(definitions), tuple(extras))
