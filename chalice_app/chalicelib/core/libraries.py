"""The library that failed, and the repository's files named after it.

A plugin-style repository keeps its code about a library in a file named after it: PyInstaller's
``hooks/hook-cryptography.py`` and ``hooks/hook-lxml.etree.py``, astroid's
``brain/brain_attrs.py``, a project's ``contrib/pyopenssl.py``, ``backends/redis.py`` or
``compat/simplejson.py``. When a trace fails inside a library, that file is what a careful engineer
opens first, although no frame runs it and its words may be rare in the trace. This module reads:

- **the failing libraries** (``failing_modules``): the dotted modules of each exception's failing
  frames, the innermost frames no repository file maps to, innermost first, read from the frame's
  path after its install root (``site-packages/``, ``dist-packages/``, ``lib/python3.x/``,
  ``/var/task/``, a frozen app's ``out00-PYZ.pyz\\``, an ``.egg``), from a frozen app's dotted
  file name (``out00-PYZ.pyz\\cryptography.hazmat.primitives.padding``), or from a Cython module's
  ``init lxml.etree`` frame; then the modules the messages name (``No module named contextlib``,
  ``cannot import name 'x' from 'pkg.mod'``, ``module 'six' has no attribute 'y'``); not the
  standard library's (a repository's ``asyncio.py`` is its own helper far more often than its
  code about ``asyncio``) nor a test's;
- **the files named after them** (``named_after``): a repository file whose name, split at ``-``
  and ``_``, holds one of those modules or a package above it as a word (``hook-lxml.etree`` for
  ``lxml.etree``, ``hook-cryptography`` for ``cryptography.hazmat.primitives.padding``). The
  library's own copy (a file inside a directory of the library's name, or under a vendored or
  installed tree), tests, examples and documentation are never taken.

Pure: works on frames, messages and path names; no I/O.
"""

from __future__ import annotations

import posixpath
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.under_test import is_test_name

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Sequence

    from chalicelib.core.models import Frame, RaisedException

# Where an installed or frozen library's module path starts: the last of these in a frame's path.
_ROOT = re.compile(
    r"(?:^|(?<=/))(?:site-packages|dist-packages)/"
    r"|(?:^|(?<=/))lib(?:64)?/python\d(?:\.\d+)?/"
    r"|(?:^|(?<=/))python\d+/lib/"
    r"|^/var/task/"
    r"|\.(?:pyz|egg|zip|whl)/",
    re.IGNORECASE,
)
_MODULE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_CYTHON_INIT = re.compile(r"^init ([A-Za-z_][\w.]*)$")  # a Cython module's import frame: ``init lxml.etree``
_SOURCE_SUFFIX = re.compile(r"\.(?:py|pyc|pyo|pyx|pxi|pyd|so)$", re.IGNORECASE)
_MESSAGE_MODULES = (
    re.compile(r"No module named ['\"]?([A-Za-z_][\w.]*)"),
    re.compile(r"cannot import name ['\"]?\w+['\"]? from ['\"]?([A-Za-z_][\w.]*)"),
    re.compile(r"^module ['\"]([A-Za-z_][\w.]*)['\"] has no attribute"),
)
_VENDORED_DIRS = frozenset({
    "_vendor", "vendor", "vendored", "third_party", "external", "externals", "site-packages", "dist-packages",
})  # fmt: skip
_TEST_DIRS = frozenset({"test", "tests", "testing"})
# Folders of code no fix of the library's use edits: examples and documentation.
_NOT_CODE_DIRS = frozenset({"example", "examples", "demo", "demos", "sample", "samples", "doc", "docs"})
_WORD_SPLIT = re.compile(r"[-_\s]+")
MIN_WORD_CHARS = 3  # a shorter module name (``os``, ``re``) names too little to match a file by


@dataclass(frozen=True)
class Named:
    """A repository file named after a failing library: ``module`` is the failing module it was
    matched for, ``word`` the part of its name that matched (the module or a package above it)."""

    path: str
    module: str
    word: str
    rank: int  # the module's place among the failing ones (0: the innermost failing frame's)


def frame_module(frame: Frame) -> str | None:
    """The dotted module a library frame runs, when its path says it: after an install root
    (``…/site-packages/lxml/etree.py`` → ``lxml.etree``), a frozen app's dotted name
    (``out00-PYZ.pyz\\cffi.verifier`` → ``cffi.verifier``), or a Cython ``init lxml.etree`` frame."""
    init = _CYTHON_INIT.match(frame.function or "")
    if init is not None and _MODULE.match(init.group(1)):
        return init.group(1)
    path = frame.file.replace("\\", "/")
    roots = list(_ROOT.finditer(path))
    if not roots:
        return None
    rest = _SOURCE_SUFFIX.sub("", path[roots[-1].end() :])
    parts = [p for p in rest.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts:
        return None
    if len(parts) == 1 and "." in parts[0]:  # a frozen archive names the module: ``pkg.sub.mod``
        return parts[0] if _MODULE.match(parts[0]) else None
    dotted = ".".join(parts)
    return dotted if _MODULE.match(dotted) else None


def message_modules(message: str) -> list[str]:
    """The modules a message names: the missing one, the one an import failed from."""
    found = []
    for pattern in _MESSAGE_MODULES:
        found += [m.group(1).rstrip(".") for m in pattern.finditer(message.strip())]
    return [m for m in found if _MODULE.match(m)]


def failing_modules(exceptions: Sequence[RaisedException], mapped: Collection[Frame]) -> tuple[str, ...]:
    """The dotted modules of the failing libraries, best evidence first: for each exception (the
    final one first), its innermost frames no repository file maps to (those after its last
    ``mapped`` frame), innermost first; then the modules the messages name. A test's module (the
    reproduction's own frames) and a standard library module are none."""
    ordered = [e for top in reversed(exceptions) for e in top.with_leaves()]
    out: list[str] = []
    for exc in ordered:
        for frame in reversed(exc.frames):
            if frame in mapped:
                break  # the repository's own code: the frames before it are its callers
            module = frame_module(frame)
            if module is not None:
                out.append(module)
    for exc in ordered:
        out += message_modules(exc.message)
    return tuple(m for m in dict.fromkeys(out) if not _is_test_module(m) and not is_standard(m))


def _is_test_module(module: str) -> bool:
    """A test's module (``tests.test_api``, ``conftest``): the reproduction, no library."""
    return any(p in _TEST_DIRS or p.startswith("test_") or p == "conftest" for p in module.split("."))


def is_standard(module: str) -> bool:
    """A standard library module (``asyncio.base_events``): a repository's ``asyncio.py`` or
    ``json.py`` is its own helper of that name far more often than its code about the module."""
    return module.split(".", 1)[0] in sys.stdlib_module_names


def name_words(path: str) -> list[str]:
    """The words of a file's name a library can be named by: the name without its suffix split at
    ``-``, ``_`` and blanks, dotted words kept whole (``hook-lxml.etree.py`` → ``hook``,
    ``lxml.etree``)."""
    stem = posixpath.basename(path).removesuffix(".py")
    return [w for w in _WORD_SPLIT.split(stem) if w]


def is_own_copy(path: str, module: str) -> bool:
    """Whether ``path`` is not the repository's code about the library: the library's own copy (a
    file inside a directory named after its top-level package, or under a vendored or installed
    tree), a test, an example or documentation."""
    top = module.split(".", 1)[0]
    folders = path.split("/")[:-1]
    skipped = _VENDORED_DIRS | _TEST_DIRS | _NOT_CODE_DIRS
    return top in folders or any(f in skipped for f in folders) or is_test_name(posixpath.basename(path))


def _matches(word: str, module: str) -> bool:
    return len(word) >= MIN_WORD_CHARS and (word == module or module.startswith(word + "."))


def named_after(modules: Sequence[str], paths: Iterable[str]) -> list[Named]:
    """The repository's Python files named after one of ``modules`` (best first), their own
    copies and tests left out: the earlier module first, then the more specific word
    (``lxml.etree`` before ``lxml``), then the shorter path."""
    if not modules:
        return []
    found: dict[str, Named] = {}
    for path in paths:
        if not path.endswith(".py"):
            continue
        words = name_words(path)
        for rank, module in enumerate(modules):
            word = max((w for w in words if _matches(w, module)), key=len, default=None)
            if word is not None and not is_own_copy(path, module):
                found[path] = Named(path, module, word, rank)
                break
    return sorted(found.values(), key=lambda n: (n.rank, -n.word.count("."), len(n.path), n.path))
