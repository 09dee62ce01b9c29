"""Tracebacks as pytest prints a failing test, read from a pasted text (an issue, a commit message).

A bug found by a test run is often reported with pytest's report of it, not CPython's traceback:

    _____________________ test_filesystem_completion _____________________
    tests/unit/completion/test_models.py:469: in test_filesystem_completion
        model.set_pattern(text)
    qutebrowser/completion/models/filepathcategory.py:52: in _contract_user
        return str(head / pathlib.Path(path).relative_to(head.expanduser()))
    _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

        def relative_to(self, *other):
    >       raise ValueError("{!r} does not start with {!r}".format(str(self), formatted))
    E       ValueError: '/home/runneradmin' does not start with '/home/runner'

    /usr/lib/python3.9/pathlib.py:939: ValueError

Two kinds of entries, outermost first, in any mix (``--tb=auto`` prints the first and the last
long, the others short):

- short: ``FILE:LINE: in FUNCTION`` and the line's code below it (``???`` when the source is
  not available);
- long: the function's code, the failing line marked ``>``, then ``FILE:LINE:`` with the
  exception's type on the last entry. The function is the ``def`` above the ``>`` line.

The exception is read from the first ``E`` line (``E   TypeError: message``; a bare
``E   assert …`` is an ``AssertionError``), else from the last entry's ``FILE:LINE: Type``. A
``____ name ____`` header starts another test's failure; ``During handling of the above
exception…`` and ``The above exception was the direct cause…`` chain exceptions as CPython's
form does. Colour codes are removed first. A listing whose location the reporter cut is left out.

Pure: text in, ``Traceback`` values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.core.models import ChainLink, Frame, RaisedException, Traceback
from chalicelib.core.tracebacks import ANSI_CODE, CHAIN_LINKS, exception_line

_LOCATION = re.compile(
    r"^(?P<file>(?:[A-Za-z]:)?[^\s:>][^:]*?\.pyx?|<[^>]+>):(?P<line>\d+):"
    r"(?: in (?P<function>[\w.<>-]+)\s*$|(?P<rest>.*)$)"
)
_HEADER = re.compile(r"^_{3,} .+ _{3,}$")
_SEPARATOR = re.compile(r"^(?:_ ){3,}_?$")
_RULE = re.compile(r"^={3,}.*={3,}$")
_MARKED = re.compile(r"^>\s+(?P<code>\S.*)$")
_DEF = re.compile(r"^(?:async\s+)?def\s+(?P<name>\w+)\s*\(")
_E_LINE = re.compile(r"^E\s+(?P<text>\S.*)$")
_EXCEPTION_NAME = re.compile(r"(?:Error|Exception|Warning|Exit|Interrupt|Iteration|Failed)$|^[A-Z]\w*$")
FORM = "pytest"
MAX_LOCATION_CHARS = 2_000  # a longer line is no location: its regex would backtrack over it


@dataclass
class _Exception:
    frames: list[Frame] = field(default_factory=list)
    type: str = ""
    message: str = ""
    link: ChainLink | None = None


@dataclass
class _Failure:
    start: int
    chain: list[_Exception] = field(default_factory=lambda: [_Exception()])
    marked: str | None = None  # the ``>`` line of the long entry being read
    function: str | None = None  # the ``def`` around it
    defs: list[tuple[int, str]] = field(default_factory=list)  # the listing's ``def`` lines: (column, name)

    def reset(self) -> None:
        """Forget the long entry being read (a location, a separator or a chain link ends it)."""
        self.marked = self.function = None
        self.defs = []

    @property
    def current(self) -> _Exception:
        return self.chain[-1]


def _typed(text: str) -> tuple[str, str] | None:
    """(type, message) of an ``E`` line or a location's rest naming an exception, else None."""
    text = text.strip()
    if text.startswith("assert ") or text == "assert":
        return "AssertionError", text
    typed = exception_line(text)
    if typed is None or not _EXCEPTION_NAME.search(typed[0].rsplit(".", 1)[-1]):
        return None
    return typed[0], typed[1].strip()


def find_pytest(text: str) -> list[Traceback]:
    """Every test failure's traceback in a pasted pytest report, in order."""
    lines = [ANSI_CODE.sub("", raw).rstrip() for raw in text.splitlines()]
    failures: list[_Failure] = []
    failure: _Failure | None = None
    for n, raw in enumerate(lines):
        line = raw.strip()
        if _RULE.match(line):
            failure = None
            continue
        location = _LOCATION.match(line) if len(line) <= MAX_LOCATION_CHARS else None
        if _HEADER.match(line) or (failure is None and location is not None):
            failure = _Failure(n)
            failures.append(failure)
            if location is None:
                continue
        if failure is None:
            continue
        if line in CHAIN_LINKS:
            failure.current.link = CHAIN_LINKS[line]
            failure.chain.append(_Exception())
            failure.reset()
        elif _SEPARATOR.match(line):
            failure.reset()
        elif location is not None:
            _read_location(failure, location, lines, n)
        elif (e_line := _E_LINE.match(line)) is not None:
            if not failure.current.type and (typed := _typed(e_line.group("text"))) is not None:
                failure.current.type, failure.current.message = typed
        elif (marked := _MARKED.match(line)) is not None:
            # the function around the marked line: the last ``def`` left of its code (not a nested
            # function defined above it)
            column = len(raw) - len(raw.lstrip()) + marked.start("code")
            failure.marked = marked.group("code").strip()
            failure.function = next((name for col, name in reversed(failure.defs) if col < column), None)
        elif (definition := _DEF.match(line)) is not None:
            failure.defs.append((len(raw) - len(raw.lstrip()), definition.group("name")))
    return [tb for f in failures if (tb := _traceback(f, lines)) is not None]


def _read_location(failure: _Failure, location: re.Match[str], lines: list[str], n: int) -> None:
    """A frame from a location line: a short entry's (its code on the next line) or the end of a
    long one (its code the ``>`` line above)."""
    current = failure.current
    number = int(location.group("line"))
    if location.group("function") is not None:
        after = lines[n + 1].strip() if n + 1 < len(lines) else ""
        source = (
            ""
            if after == "???" or not after or _LOCATION.match(after[:MAX_LOCATION_CHARS]) or _E_LINE.match(after)
            else after
        )
        current.frames.append(Frame(location.group("file"), number, location.group("function"), source))
    elif failure.marked is not None:
        current.frames.append(Frame(location.group("file"), number, failure.function, failure.marked))
        if not current.type and (typed := _typed(location.group("rest") or "")) is not None:
            current.type, current.message = typed
    failure.reset()


def _traceback(failure: _Failure, lines: list[str]) -> Traceback | None:
    chain = [e for e in failure.chain if e.frames and e.type]
    if not chain:
        return None
    last = len(chain) - 1  # the final exception leads to none
    exceptions = tuple(
        RaisedException(e.type, e.message, tuple(e.frames), link=e.link if n < last else None)
        for n, e in enumerate(chain)
    )
    return Traceback(exceptions, "\n".join(lines[failure.start :]), FORM, origin=failure.start + 1)
