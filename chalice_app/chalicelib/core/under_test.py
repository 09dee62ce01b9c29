"""The module under test: the code a test frame of the trace exercises.

Many real traces run through a test (``twisted/names/test/test_tap.py``, ``tests/test_utils.py``,
``foo_test.py``). When the test's own line raised, or the test called into code the fix does not
touch, an engineer opens the module the test is named after:

1. **Which module.** ``test_tap.py`` and ``tap_test.py`` test ``tap``. The module is looked for
   beside the test, then in the test directory's parent, then its grand-parent (``tap.py``, then
   a private ``_tap.py``); else it is the one non-test ``tap.py`` (else ``_tap.py``) under the
   parent (the package tree: ``twisted/conch/ssh/filetransfer.py`` for
   ``twisted/conch/test/test_filetransfer.py``), then under the grand-parent, then in the
   repository. Two candidates at the nearest of those that holds one are ambiguous: no module. A test file is never
   the answer. The test's own path need not be in the repository (a snapshot without tests):
   each directory is anchored by the longest suffix of it that is a repository directory, as
   frames are mapped.
2. **What of it.** The definitions the test's printed line names: ``transport._generateX`` names
   ``_generateX`` of ``transport.py`` (the definition of that name and those most like it); the
   line's other names bring the module's definitions most like them. ``getattr(module, name)``
   (or ``vars(module)``, ``module.__dict__``) reads the module's constants: its runs of top-level
   upper-case assignments. Then its head: the statements before its first definition
   (docstring, imports, module-level tables). Exact names come first, then the constants, the
   head, and the look-alikes last, so a small share keeps the surer part.

Pure: the repository is reached through the paths and a ``read`` callable.
"""

from __future__ import annotations

import builtins
import io
import keyword
import posixpath
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

TEST_DIRS = frozenset({"test", "tests", "testing", "unittests", "unit_tests"})
LEVELS = 3  # the test's own directory, its parent, its grand-parent
MAX_NAMED = 3  # definitions the printed line's names bring
HEAD_LINES = 40  # of the module's head, at most
MAX_DEFINITION_LINES = 60  # a longer definition is shown by its first HEAD_OF_LONG lines
HEAD_OF_LONG = 25
MAX_CONSTANT_LINES = 80  # of one run of constants
MAX_FILE_BYTES = 300_000  # a larger module is not read
EXACT = 100  # the score of a definition the line names exactly (a look-alike scores far less)
MIN_SCORE = 2  # a shared word, or a common prefix of 3 characters
MIN_WORD = 3  # shorter words (``x``, ``to``) say nothing about a name

_CHAIN = re.compile(r"[A-Za-z_]\w*+(?:\s*+\.\s*+[A-Za-z_]\w*+)*+")
_IGNORED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls"}


@dataclass(frozen=True)
class Shown:
    """A range of the module under test: ``kind`` is ``named`` (a definition the printed line
    names), ``constants`` (a run of constants a dynamic ``getattr`` reads) or ``head``."""

    name: str
    start: int
    end: int
    kind: Literal["named", "constants", "head"]


def _parts(path: str) -> list[str]:
    return [p for p in path.replace("\\", "/").split("/") if p and p != "."]


def is_test_file(path: str) -> bool:
    """Whether ``path`` is a test's file: a test's name (``is_test_name``), or any
    file under a ``test``/``tests``/``testing`` directory."""
    parts = _parts(path)
    if not parts:
        return False
    return is_test_name(parts[-1]) or any(p.lower() in TEST_DIRS for p in parts[:-1])


def listed_tests(paths: Iterable[str]) -> frozenset[str]:
    """The test files of a repository, read from its listing: a file with a test's name, and
    every file under a test directory (``TEST_DIRS``) whose tree holds a test's file outside any
    inner test directory. Library code kept in a directory so named (``django/test/client.py``,
    ``numpy/testing/_private/utils.py``, whose own tests are in ``numpy/testing/tests/``) is not
    a test's."""
    listed = [_parts(p) for p in paths]
    holding: set[tuple[str, ...]] = set()  # test directories whose tree holds a test's file
    for parts in listed:
        if parts and is_test_name(parts[-1]):
            for n in range(len(parts) - 2, -1, -1):  # the innermost test directory above it
                if parts[n].lower() in TEST_DIRS:
                    holding.add(tuple(parts[: n + 1]))
                    break
    found = set()
    for parts in listed:
        if not parts:
            continue
        above = [tuple(parts[: n + 1]) for n in range(len(parts) - 1)]
        if is_test_name(parts[-1]) or any(d in holding for d in above):
            found.add("/".join(parts))
    return frozenset(found)


def is_test_name(name: str) -> bool:
    """Whether a file name is a test's: ``test_*.py``, ``*_test.py``, ``*_tests.py`` (pywikibot's
    ``api_tests.py``), ``tests.py`` (a Django app's), ``conftest.py``."""
    return name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name in ("tests.py", "conftest.py")


def name_tested_by(path: str) -> str | None:
    """The module name a test file is named after (``test_tap.py``, ``tap_test.py``,
    ``tap_tests.py`` → ``tap``)."""
    parts = _parts(path)
    name = parts[-1] if parts else ""
    if not name.endswith(".py"):
        return None
    stem = name[: -len(".py")]
    if stem.startswith("test_"):
        stem = stem[len("test_") :]
    elif stem.endswith(("_test", "_tests")):
        stem = stem[: stem.rindex("_")]
    else:
        return None
    return stem if stem.isidentifier() else None


def module_tested_by(test_path: str, paths: Iterable[str]) -> str | None:
    """The repository module the test file ``test_path`` tests, or None (see the module doc).

    ``test_path`` is a repository path or a frame's file as logged (any prefix)."""
    name = name_tested_by(test_path)
    if name is None:
        return None
    files = {"/".join(p) for p in map(_parts, paths) if p}
    dirs = {posixpath.dirname(f) for f in files}
    wanted = (f"{name}.py", f"_{name}.py")
    modules = {f for f in files if posixpath.basename(f) in wanted and not is_test_file(f)}
    if not modules:
        return None
    here = _parts(test_path)[:-1]
    trees: list[str] = []  # the anchored folders, nearest first: the package trees searched next
    for level in range(min(LEVELS, len(here) + 1)):
        within = here[: len(here) - level]
        if within and within[-1].lower() in TEST_DIRS:
            continue  # a test directory holds tests, not the module
        folder = _anchor(within, dirs)
        trees.append(folder)
        for file in wanted:
            path = posixpath.join(folder, file) if folder else file
            if path in modules:
                return path
    for folder in [*[t for t in trees if t], ""]:
        for file in wanted:
            found = [m for m in modules if posixpath.basename(m) == file and _under(m, folder)]
            if len(found) > 1:
                return None  # ambiguous: two modules of that name, none nearer the test
            if found:
                return found[0]
    return None


def _under(path: str, folder: str) -> bool:
    return not folder or path.startswith(folder + "/")


def _anchor(folder: Sequence[str], dirs: set[str]) -> str:
    """The longest suffix of ``folder`` that is a repository directory ("" for the root)."""
    for n in range(len(folder), 0, -1):
        candidate = "/".join(folder[-n:])
        if candidate in dirs:
            return candidate
    return ""


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return {w for w in spaced.split("_") if len(w) >= MIN_WORD}


def similarity(wanted: str, name: str) -> int:
    """How much definition ``name`` looks like the name a line uses: a common prefix of 3
    characters or more, plus twice the words (of 3 letters or more) both share."""
    prefix = len(posixpath.commonprefix([wanted, name]))
    return (prefix if prefix >= MIN_WORD else 0) + 2 * len(_words(wanted) & _words(name))


@dataclass(frozen=True)
class _Statement:
    """A top-level statement: ``kind`` is ``def`` (a function or class, with its decorators),
    ``assign`` (``NAME = …``) or ``other``."""

    kind: str
    name: str
    start: int
    end: int


def _statements(text: str) -> list[_Statement]:
    """The module's top-level statements, read with ``tokenize``: Python 2 code (``0x8L``,
    ``print x``), which ``ast`` cannot parse, is segmented too. Empty when it cannot be read."""
    starts: list[tuple[int, list[str]]] = []  # (line, first tokens)
    depth, fresh = 0, True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.INDENT:
                depth += 1
            elif tok.type == tokenize.DEDENT:
                depth -= 1
            elif tok.type == tokenize.NEWLINE:
                fresh = True
            elif tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            elif depth == 0 and fresh:
                starts.append((tok.start[0], [tok.string]))
                fresh = False
            elif depth == 0 and starts and len(starts[-1][1]) < 3:
                starts[-1][1].append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    lines = text.splitlines()
    out: list[_Statement] = []
    pending: int | None = None  # a decorator's line, waiting for its definition
    for n, (line, first) in enumerate(starts):
        end = (starts[n + 1][0] - 1) if n + 1 < len(starts) else len(lines)
        while end > line and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
            end -= 1
        if first[0] == "@":
            pending = line if pending is None else pending
            continue
        head = first[1:] if first[0] == "async" else first
        if head[0] in ("def", "class") and len(head) > 1:
            out.append(_Statement("def", head[1], line if pending is None else pending, end))
        elif len(first) > 1 and first[1] in ("=", ":") and first[0].isidentifier() and not keyword.iskeyword(first[0]):
            out.append(_Statement("assign", first[0], line, end))
        else:
            out.append(_Statement("other", "", line, end))
        pending = None
    return out


def _bounded(st: _Statement) -> tuple[int, int]:
    return st.start, (st.end if st.end - st.start + 1 <= MAX_DEFINITION_LINES else st.start + HEAD_OF_LONG - 1)


def _constants(statements: Sequence[_Statement]) -> list[Shown]:
    """The module's runs of consecutive top-level upper-case assignments (two or more)."""
    runs: list[Shown] = []
    run: list[_Statement] = []
    for st in [*statements, None]:
        if st is not None and st.kind == "assign" and st.name.isupper():
            run.append(st)
            continue
        if len(run) > 1:
            start = run[0].start
            runs.append(Shown("constants", start, min(run[-1].end, start + MAX_CONSTANT_LINES - 1), "constants"))
        run = []
    return runs


def _head(statements: Sequence[_Statement]) -> Shown | None:
    """The statements before the module's first function or class, at most ``HEAD_LINES``."""
    before = []
    for st in statements:
        if st.kind == "def":
            break
        before.append(st)
    if not before:
        return None
    return Shown("head", 1, min(before[-1].end, HEAD_LINES), "head")


def _reads_dynamically(line: str, module: str) -> bool:
    """Whether the line reads the module's attributes by a computed name."""
    m = re.escape(module)
    return bool(
        re.search(rf"\bgetattr\(\s*{m}\s*,\s*(?![\"'])", line)
        or re.search(rf"\bvars\(\s*{m}\s*\)|\bdir\(\s*{m}\s*\)|\b{m}\.__dict__\b", line)
    )


def shown(module_path: str, printed: str, read: Callable[[str], str | None]) -> list[Shown]:
    """What to show of the module under test for a test frame's printed line, best first: the
    definitions the line names exactly, the constants a dynamic ``getattr`` reads, the module's
    head, then the definitions most like the line's names (``MAX_NAMED`` named in all): a
    look-alike is a guess, the head is what a reader opening the module sees first."""
    text = read(module_path)
    if text is None or len(text) > MAX_FILE_BYTES:
        return []
    statements = _statements(text)
    stem = posixpath.basename(module_path)[: -len(".py")]
    aliases = {stem, stem.lstrip("_")}
    strong: list[str] = []  # `module.name`: a name of the module itself
    weak: list[str] = []
    for chain in _CHAIN.findall(printed):
        parts = [p.strip() for p in chain.split(".")]
        if parts[0] in aliases:
            strong += parts[1:2]
            continue
        weak += [p for p in parts if p not in _IGNORED and not p.startswith(("assert", "fail"))]
    out: list[Shown] = []
    if any(_reads_dynamically(printed, a) for a in aliases):
        out += _constants(statements)
    scored = []
    for st in statements:
        if st.kind == "other":
            continue
        score = max(
            [10 * EXACT * (st.name == w) + 10 * similarity(w, st.name) for w in strong]
            + [EXACT * (st.name == w) + similarity(w, st.name) for w in weak]
            + [0]
        )
        if score >= MIN_SCORE:
            scored.append((score, st))
    ranked = sorted(scored, key=lambda p: (-p[0], p[1].start))[:MAX_NAMED]
    named = set(strong) | set(weak)  # a look-alike never counts as exact, however long the shared prefix
    exact = [Shown(st.name, *_bounded(st), "named") for _, st in ranked if st.name in named]
    alike = [Shown(st.name, *_bounded(st), "named") for _, st in ranked if st.name not in named]
    head = _head(statements)
    return [*exact, *out, *([head] if head is not None else []), *alike]
