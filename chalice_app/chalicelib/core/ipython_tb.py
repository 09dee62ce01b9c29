"""Tracebacks as IPython and Jupyter print them, read from a pasted text (an issue, a commit message).

Reporters of a library's bug often paste what their notebook or IPython shell printed, not what
CPython prints: the scientific stack's issues (sympy, astropy, xarray, networkx) are full of them.
Two forms, the exception's type first in a ruled header, the message last:

    ---------------------------------------------------------------------------
    KeyError                                  Traceback (most recent call last)
    <ipython-input-28-1bdee196c715> in <module>()
    ----> 1 table.fields.extend([Field(votable, name='XXX')])

    /opt/anaconda/lib/python2.7/site-packages/astropy/io/votable/tree.pyc in unit(self, unit)
       1324
    -> 1325         format = _get_unit_format(self._config)
       1326         if format != default_format:

    KeyError: 'unit_format'

IPython 7 and older name a frame ``FILE in FUNCTION(ARGS)`` and mark its line with an arrow
(``---->``, ``-->``, ``->``) before the line number; IPython 8 names it ``File FILE:LINE, in
FUNCTION(ARGS)`` (``Cell In[3], line 1`` or ``Input In [3], in <cell line: 1>()`` for a cell's
code, ``Cell In[1], line 3, in f(x)`` for a function a cell defined). A
frame's line is the arrow's number, its printed source the arrow's code; a Python 3.11 qualified
name (``in MatrixDeterminant.det(self)``) is read as its last part, as CPython prints it. Colour
codes are removed first. Chained exceptions (``During handling of the above exception…``, ``The
above exception was the direct cause…``) are read as CPython's are.

Pure: text in, ``Traceback`` values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from chalicelib.core.models import ChainLink, Frame, RaisedException, Traceback
from chalicelib.core.tracebacks import ANSI_CODE, CHAIN_LINKS, exception_line

_RULE = re.compile(r"^-{20,}\s*$")
# A type name longer than IPython's column touches the word: ``…NameTraceback (most recent…``.
_HEADER = re.compile(r"^(?P<type>[A-Za-z_][\w.]*?)\s*Traceback \(most recent call last\)\s*$")
_FRAME_NEW = re.compile(r"^File (?P<file>.+?):(?P<line>\d+), in (?P<function>.+?)\s*$")
_CELL_NEW = re.compile(
    r"^(?:Cell In ?\[\d*\], line (?P<line>\d+)|Input In ?\[\d*\])(?:, in (?P<function>[^(]+?)(?:\(.*)?)?\s*$"
)
# The file ends as a module or a pseudo-file does (``.pyc``, ``<ipython-input-3-…>``), so the
# lazy match tries one place per such ending, never every " in " of a long line.
_FRAME_OLD = re.compile(r"^(?P<file>\S.*?(?:\.py[cowx]?|\.pxi|>)) in (?P<function>[\w.<>]+)\s*(?:\(.*)?$")
_ARROW = re.compile(r"^\s*-*->\s*(?P<line>\d+)(?: (?P<source>.*))?$")
_CONTEXT = re.compile(r"^\s*\d+(?: .*)?$")
FORM = "ipython"
MAX_HEADER_CHARS = 2_000  # a longer line is no frame header: its regex would backtrack over it


@dataclass
class _Block:
    type: str
    start: int
    frames: list[Frame] = field(default_factory=list)
    message: str | None = None
    link: ChainLink | None = None  # how this exception leads to the next one


def _function(raw: str) -> str:
    """The frame's function as CPython prints it: ``MatrixDeterminant.det(self)`` → ``det``."""
    name = raw.split("(", 1)[0].strip()
    if name.startswith("<"):
        return name
    return name.rsplit(".", 1)[-1]


def _frame_header(line: str) -> tuple[str, int | None, str] | None:
    """(file, line, function) of a frame's header line, either form; None for another line."""
    if len(line) > MAX_HEADER_CHARS:
        return None
    if m := _FRAME_NEW.match(line):
        return m.group("file"), int(m.group("line")), _function(m.group("function"))
    if m := _CELL_NEW.match(line):
        function = m.group("function")
        cell = "<module>" if function is None or function.startswith("<cell") else _function(function)
        return "<ipython-input>", int(m.group("line")) if m.group("line") else None, cell
    if (m := _FRAME_OLD.match(line)) and not _ARROW.match(line) and not _CONTEXT.match(line):
        return m.group("file"), None, _function(m.group("function"))
    return None


def find_ipython(text: str) -> list[Traceback]:
    """Every IPython or Jupyter traceback of ``text``, each with its chain, in order."""
    lines = [ANSI_CODE.sub("", raw).rstrip() for raw in text.splitlines()]
    blocks: list[_Block] = []
    pending_link: ChainLink | None = None
    current: _Block | None = None
    frame: Frame | None = None  # the frame being read: its header seen, its arrow maybe not yet

    def close_frame() -> None:
        nonlocal frame
        if current is not None and frame is not None:
            current.frames.append(frame)
        frame = None

    indent = 0  # the header's indentation: a paste indented as a block (Markdown, a commit message)
    for n, raw in enumerate(lines):
        stripped = raw.strip()
        line = raw[min(indent, len(raw) - len(raw.lstrip())) :]
        header = _HEADER.match(stripped)
        if header and (n == 0 or _RULE.match(lines[n - 1].strip()) or not lines[n - 1].strip()):
            indent = len(raw) - len(raw.lstrip())
            close_frame()
            if current is not None and current.message is None:
                current.message = ""
            if current is not None and pending_link is not None:
                current.link = pending_link
            pending_link = None
            current = _Block(header.group("type"), n)
            blocks.append(current)
            continue
        if current is None or current.message is not None:
            if stripped in CHAIN_LINKS and blocks:
                pending_link = CHAIN_LINKS[stripped]
            continue
        if not stripped:
            continue
        if (arrow := _ARROW.match(line)) and frame is not None:
            frame = replace(
                frame, line=frame.line or int(arrow.group("line")), source=(arrow.group("source") or "").strip()
            )
            continue
        if frame is not None and _CONTEXT.match(line):
            continue
        if (where := _frame_header(stripped)) is not None and not line.startswith((" ", "\t")):
            close_frame()
            frame = Frame(*where)
            continue
        exception = exception_line(stripped)
        if exception and exception[0].rsplit(".", 1)[-1] == current.type.rsplit(".", 1)[-1]:
            close_frame()
            current.message = exception[1].strip()
    close_frame()
    return _chains(blocks, lines)


def _chains(blocks: list[_Block], lines: list[str]) -> list[Traceback]:
    """The blocks joined into chains: a block followed by a linked one is its cause or context."""
    out: list[Traceback] = []
    chain: list[_Block] = []
    for n, block in enumerate(blocks):
        chain.append(block)
        if block.link is None:
            exceptions = tuple(RaisedException(b.type, b.message or "", tuple(b.frames), link=b.link) for b in chain)
            end = blocks[n + 1].start if n + 1 < len(blocks) else len(lines)
            if any(e.frames for e in exceptions):
                text = "\n".join(lines[chain[0].start : end])
                out.append(Traceback(exceptions, text, FORM, origin=chain[0].start + 1))
            chain = []
    return out
