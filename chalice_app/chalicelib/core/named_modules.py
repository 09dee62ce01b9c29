"""Modules a message names: the repository's own, and where it declares one it cannot import.

Some messages name the code to open by its module, not by a frame:

- **a repository module the message names** (``module_named``): ``Can't load plugin:
  sqlalchemy.dialects:postgres`` names ``sqlalchemy.dialects``, whose ``__init__`` builds the
  plugin registry the failing loader reads; ``cannot import name 'x' from 'pkg.mod'`` names the
  module ``x`` is missing from. A dotted name of two parts or more is read, when exactly one
  repository file is that module (``a/b.py`` or ``a/b/__init__.py``), it is no test and no frame
  already runs it;
- **where the repository declares a module it cannot import** (``declared``): ``No module named
  '_black_version'`` or ``cannot import name 'secure_filename' from 'werkzeug'`` about a module
  the repository does not hold (a dependency, a generated module) is a packaging question: the
  dependency's version bound in ``install_requires``, the module list ``py_modules`` or the
  ``write_to`` of ``setup.py``. The packaging files (``setup.py``, ``setup.cfg``,
  ``pyproject.toml``, ``requirements*.txt``; the shallowest first) are read for the line naming
  the module's top-level package (``Werkzeug>=0.15`` for ``werkzeug``, case and ``-``/``_``
  aside) or the module's file (``"_black_version.py"``). What is shown: in ``setup.py``, the
  top-level statement holding that line (the ``setup(...)`` call) when it has
  ``WHOLE_STATEMENT_LINES`` or fewer, else ``WINDOW`` lines around it; in the other files, the
  window. A module no packaging file names (a library's own dependency: ``packaging``, imported
  by ``pkg_resources``) gets the list its requirement would join (``requirements_list``): the
  ``install_requires`` or ``dependencies`` line, or a requirements file's first requirement. A
  module of the standard library, or one whose top-level name is a package of the repository (a
  missing submodule of its own is the import's bug, which the trace shows), is none.

Pure: works on messages, path names and the text ``read`` returns; no I/O of its own.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from chalicelib.core.libraries import is_standard, message_modules
from chalicelib.core.under_test import is_test_file

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence

# A dotted name in a message: ``sqlalchemy.dialects`` (not a call's ``a.b.c(`` nor a part of it,
# not part of a path; a sentence's full stop after it is no part of it).
_DOTTED = re.compile(r"(?<![\w./\\-])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?!\.?[\w(/\\])")
_PACKAGING = re.compile(r"^(?:setup\.py|setup\.cfg|pyproject\.toml|requirements[\w.-]*\.txt)$")
WHOLE_STATEMENT_LINES = 60  # a ``setup(...)`` call this short is shown whole
WINDOW = 8  # else the lines either side of the declaring line
MAX_NAMES = 50  # distinct dotted names of the messages looked up as modules
MAX_FILE_BYTES = 300_000  # a larger packaging file is not read (as the search parses no larger file)


@dataclass(frozen=True)
class Found:
    """Lines ``start``..``end`` (1-based, inclusive) of ``path`` about ``module``."""

    path: str
    start: int
    end: int
    module: str


def _by_tail(python: Iterable[str]) -> dict[str, list[str]]:
    """The repository files by each of their path's tails (``c.py``, ``b/c.py``, ``a/b/c.py``):
    built once, so that a module name is looked up, not matched against every path."""
    index: dict[str, list[str]] = {}
    for path in python:
        parts = path.split("/")
        for n in range(len(parts)):
            index.setdefault("/".join(parts[n:]), []).append(path)
    return index


def _files_of(dotted: str, by_tail: dict[str, list[str]]) -> list[str]:
    """The repository files that can be module ``dotted``."""
    parts = dotted.split(".")
    tails = ("/".join(parts) + ".py", "/".join([*parts, "__init__.py"]))
    return list(dict.fromkeys(p for t in tails for p in by_tail.get(t, [])))


def module_named(messages: Sequence[str], paths: Iterable[str], traced: Collection[str], limit: int = 1) -> list[Found]:
    """The repository modules the messages name by a dotted name (first named first), each the
    one file that is that module, not a test and not ``traced``; at most ``limit``, from the
    first ``MAX_NAMES`` distinct names (a long message is untrusted text). ``start``/``end`` are
    0: the caller decides how much of the module to show."""
    names = list(dict.fromkeys(d for message in messages for d in _DOTTED.findall(message)))[:MAX_NAMES]
    names = [d for d in names if not is_standard(d)]
    if not names or limit <= 0:
        return []
    by_tail = _by_tail(p for p in paths if p.endswith(".py"))
    found: dict[str, Found] = {}
    for dotted in names:
        files = _files_of(dotted, by_tail)
        if len(files) == 1 and files[0] not in traced and not is_test_file(files[0]):
            found.setdefault(files[0], Found(files[0], 0, 0, dotted))
            if len(found) >= limit:
                break
    return list(found.values())


def missing_modules(messages: Sequence[str], paths: Iterable[str]) -> list[str]:
    """The modules the messages say cannot be imported that the repository does not hold, that
    are no standard module and whose top-level name is no package of the repository."""
    named = [
        m for m in dict.fromkeys(m for message in messages for m in message_modules(message)) if not is_standard(m)
    ]
    if not named:  # the common case: no import failed; the repository's paths are not indexed
        return []
    python = [p for p in paths if p.endswith(".py")]
    own_tops = {p.split("/")[-2] for p in python if p.endswith("/__init__.py")}
    by_tail = _by_tail(python)
    return [m for m in named if m.split(".", 1)[0] not in own_tops and not _files_of(m, by_tail)]


def _naming(module: str) -> re.Pattern[str]:
    """A line naming ``module``: its top-level package as a requirement word (``Werkzeug>=0.15``,
    ``flask_admin`` for ``flask-admin``) or its file name (``_black_version.py``)."""
    top = module.split(".", 1)[0]
    spelled = re.sub(r"\\-|_", "[-_]", re.escape(top))
    return re.compile(rf"(?<![\w.-]){spelled}(?![\w-])", re.IGNORECASE)


def _statement(text: str, line: int) -> tuple[int, int] | None:
    """The top-level statement of a parsed ``text`` holding ``line``."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in tree.body:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            return node.lineno, node.end_lineno or node.lineno
    return None


_KEY = re.compile(r"^\s*([\w.-]+)\s*=(?!=)")
_SECTION = re.compile(r"^\s*\[([^\]]*)\]")


def _declares(path: str, lines: Sequence[str], n: int, pattern: re.Pattern[str]) -> bool:
    """Whether line ``n`` (1-based) of a packaging file names the module as a requirement. In a
    ``.toml`` or ``.cfg`` file, a line whose key is the name (``config = "x"`` under
    ``[tool.black]``) is a setting, not a requirement, unless its section lists dependencies
    (``[tool.poetry.dependencies]``: ``werkzeug = "^2.0"``)."""
    code = lines[n - 1].split("#", 1)[0]
    if not pattern.search(code):
        return False
    key = _KEY.match(code)
    if key is None or not path.endswith((".toml", ".cfg")) or not pattern.fullmatch(key.group(1)):
        return True
    section = next((m.group(1) for line in reversed(lines[: n - 1]) if (m := _SECTION.match(line))), "")
    return "depend" in section.lower() or "require" in section.lower()


def declared(
    modules: Sequence[str], paths: Iterable[str], read: Callable[[str], str | None], limit: int = 1
) -> list[Found]:
    """Where the packaging files declare ``modules`` (the earlier module first, then the shallower
    file): the ``setup(...)`` statement holding the declaring line when short, else a window
    around that line; at most ``limit``."""
    if not modules:
        return []
    files = _packaging_files(paths)
    found: list[Found] = []
    for module in modules:
        shown = _first_shown(files, read, partial(_declares, pattern=_naming(module)))
        if shown is not None:
            found.append(Found(*shown, module))
        if len(found) >= limit:
            break
    return found


def _first_shown(
    files: Sequence[str], read: Callable[[str], str | None], test: Callable[[str, Sequence[str], int], bool]
) -> tuple[str, int, int] | None:
    """What is shown (``_shown``) for the first line passing ``test`` (the path, the file's lines,
    the line's number, 1-based) in the first of ``files`` holding one; files too large are not read."""
    for path in files:
        text = read(path)
        if not text or len(text) > MAX_FILE_BYTES:
            continue
        lines = text.splitlines()
        hit = next((n for n in range(1, len(lines) + 1) if test(path, lines, n)), None)
        if hit is not None:
            return _shown(path, text, hit)
    return None


def _packaging_files(paths: Iterable[str]) -> list[str]:
    """The repository's packaging files, the shallowest first, ``setup.py`` before the others."""
    return sorted(
        (p for p in paths if _PACKAGING.match(posixpath.basename(p)) and not is_test_file(p)),
        key=lambda p: (p.count("/"), not p.endswith(".py"), p),
    )


def _shown(path: str, text: str, line: int) -> tuple[str, int, int]:
    """What is shown of a packaging file for ``line``: in ``setup.py``, the top-level statement
    holding it (the ``setup(...)`` call) when it has ``WHOLE_STATEMENT_LINES`` or fewer, else
    ``WINDOW`` lines around it."""
    span = _statement(text, line) if path.endswith(".py") else None
    if span is None or span[1] - span[0] + 1 > WHOLE_STATEMENT_LINES:
        span = (max(1, line - WINDOW), min(len(text.splitlines()), line + WINDOW))
    return path, span[0], span[1]


# The line opening a list of requirements: ``install_requires=[`` (setup.py, setup.cfg), PEP 621's
# ``dependencies = [``, ``[tool.poetry.dependencies]``.
_REQUIREMENTS = re.compile(r"^\s*(?:install_requires\s*=|dependencies\s*=|\[tool\.poetry\.dependencies\])")


def _lists_requirements(path: str, lines: Sequence[str], n: int) -> bool:
    """Whether line ``n`` (1-based) opens the file's list of requirements; in a requirements file,
    whether it is a requirement (not a comment, a blank nor an option such as ``-r base.txt``)."""
    if path.endswith(".txt"):
        return lines[n - 1].split("#", 1)[0].strip()[:1] not in ("", "-")
    return _REQUIREMENTS.match(lines[n - 1]) is not None


def requirements_list(modules: Sequence[str], paths: Iterable[str], read: Callable[[str], str | None]) -> list[Found]:
    """For a module that cannot be imported and that no packaging file names (a library's own
    dependency: ``packaging``, imported by ``pkg_resources``), the list its requirement would
    join: the first ``install_requires`` / ``dependencies`` line of ``setup.py``, ``setup.cfg`` or
    ``pyproject.toml`` (the shallowest first) and what follows it, else the first requirement of
    ``requirements.txt``, else of another requirements file; one at most, for the first of
    ``modules``."""
    if not modules:
        return []
    files = _packaging_files(paths)
    # the package's own declarations first, then the main requirements file, then the others
    # (``requirements-docs.txt`` lists what the documentation needs, not the code)
    ordered = sorted(files, key=lambda p: (p.endswith(".txt"), posixpath.basename(p) != "requirements.txt"))
    shown = _first_shown(ordered, read, _lists_requirements)
    return [Found(*shown, modules[0])] if shown is not None else []
