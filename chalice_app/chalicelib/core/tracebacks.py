"""Find Python tracebacks in log text and structured log records.

Reads every form a Python service's logs carry:

- CPython 3.8-3.13 output: plain, chained (cause / context), exception groups (boxed form),
  SyntaxError locations, caret and tilde marker lines, ``[Previous line repeated N more times]``,
  ``<frozen ...>`` / ``<string>`` / ``<stdin>`` frames, multi-line messages and notes;
- ``logging.exception`` output, with a log prefix on the first line or on every line;
- the AWS Lambda runtime's ``[ERROR] Type: message`` text form (``\\r`` line breaks, no-break
  space indentation, final exception only) and its JSON forms (``errorType`` / ``stackTrace``);
- aws-lambda-powertools Logger records (``exception`` / ``exception_name`` / ``stack_trace``).

Text that merely mentions "Traceback" or an error name yields nothing. A traceback cut off before
its exception line yields what was read, flagged ``truncated``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from chalicelib.core.models import ChainLink, Frame, Location, RaisedException, Traceback

# --- line grammar -------------------------------------------------------------------------------

_HEADER = re.compile(r"(?:Exception Group )?Traceback \(most recent call last\):\s*$")
_GROUP_HEADER = re.compile(r"^(\s*)\+ Exception Group Traceback \(most recent call last\):\s*$")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S.*?)\s*$')
_LOCATION = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)\s*$')
_REPEAT = re.compile(r"^\s*\[Previous line repeated (\d+) more times?\]\s*$")
_MARKERS = re.compile(r"^\s*[\^~\-+ ]*[\^~][\^~\-+ ]*$")
_ELISION = re.compile(r"^\s*\.\.\.<\d+ lines?>\.\.\.\s*$")
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w]*(?:\.[A-Za-z_<][\w<>]*)*)(?::(?: (?P<msg>.*))?)?$")
_SYNTAX_TYPES = re.compile(r"^(?:\w+\.)*(?:SyntaxError|IndentationError|TabError|\w*SyntaxError)\b")
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"
_LAMBDA_HEADER = re.compile(
    r"^\[ERROR\]\s+(?:\d{4}-\d\d-\d\dT\S+\s+[0-9a-fA-F-]{8,}\s+)?"
    r"(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*))?$"
)
# A line that starts a new log record rather than continuing an exception's message.
_LOG_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\[?(?:DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|TRACE)\b"
    r"|(?:START|END|REPORT) RequestId|INIT_START|[{\[]|>>> |\s*File \")"
)
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "TRACE"})
_BOX_SEP = re.compile(r"^\+-+ (?:\d+|\.\.\.) -+$")
_BOX_END = re.compile(r"^\+-+$")
_PREFIX_TOKEN = re.compile(r"[0-9a-fA-F-]*\d[0-9a-fA-F-]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Cheap test of whether an entry can hold any part of a traceback start.
_MAYBE = re.compile(r'Traceback \(most|File "|\| \w|^\[ERROR\]', re.MULTILINE)


class LogLine(NamedTuple):
    """One physical line of log text, with the line number or event index it came from."""

    text: str
    origin: int
    timestamp: int | None = None


def split_lines(text: str, origin: int, timestamp: int | None = None) -> list[LogLine]:
    """Split one log entry into lines: ``\\r``, ``\\r\\n`` and ``\\n`` all break, no-break spaces
    (the Lambda runtime's indentation) become spaces."""
    if "\u00a0" in text:
        text = text.replace("\u00a0", " ")
    return [LogLine(part, origin, timestamp) for part in _LINE_BREAK.split(text.rstrip("\r\n"))]


def may_contain_traceback(text: str) -> bool:
    """Whether ``text`` holds anything that can start a traceback (a cheap pre-filter)."""
    # Substring tests first: they are an order of magnitude cheaper than the regex.
    return ("Traceback (" in text or 'File "' in text or "| " in text or "[ERROR]" in text) and (
        _MAYBE.search(text) is not None
    )


# --- the scanner --------------------------------------------------------------------------------


class _Cursor:
    """Walks a list of lines, stripping the log prefix found on the traceback's first line."""

    def __init__(self, lines: Sequence[LogLine], pos: int, bare_headers: bool = False) -> None:
        self.lines = lines
        self.pos = pos
        self.prefix: re.Pattern[str] | None = None
        self.bare_headers = bare_headers

    @property
    def has(self) -> bool:
        return self.pos < len(self.lines)

    @property
    def line(self) -> str | None:
        if self.pos >= len(self.lines):
            return None
        text = self.lines[self.pos].text.rstrip()
        if self.prefix is not None:
            m = self.prefix.match(text)
            if m:
                return text[m.end() :]
        return text

    @property
    def origin(self) -> int:
        return self.lines[min(self.pos, len(self.lines) - 1)].origin

    def advance(self) -> None:
        self.pos += 1


def _prefix_pattern(prefix: str) -> re.Pattern[str]:
    """A pattern for a log prefix: digits and hex runs (timestamps, request ids) may vary."""
    parts: list[str] = []
    last = 0
    prefix = prefix.rstrip()  # a blank line under the prefix is printed without the space
    for m in _PREFIX_TOKEN.finditer(prefix):
        parts.append(re.escape(prefix[last : m.start()]))
        parts.append(r"[0-9a-fA-F-]+")
        last = m.end()
    parts.append(re.escape(prefix[last:]))
    return re.compile("".join(parts) + "[ \t]?")


def _source_lines(cur: _Cursor) -> list[str]:
    """Consume the indented source / marker lines that follow a ``File`` line."""
    out: list[str] = []
    while True:
        s = cur.line
        if s is None or not s.startswith("    ") or _FRAME.match(s) or _LOCATION.match(s):
            return out
        if _REPEAT.match(s):
            return out
        if not (_MARKERS.match(s) or _ELISION.match(s)):
            out.append(s.strip())
        cur.advance()


def _frames(cur: _Cursor) -> tuple[list[Frame], Location | None]:
    frames: list[Frame] = []
    location: Location | None = None
    while True:
        s = cur.line
        if s is None:
            break
        m = _FRAME.match(s)
        if m:
            cur.advance()
            src = _source_lines(cur)
            frames.append(Frame(m["file"], int(m["line"]), m["func"], src[0] if src else ""))
            continue
        m = _LOCATION.match(s)
        if m:
            cur.advance()
            src = _source_lines(cur)
            location = Location(m["file"], int(m["line"]), src[0] if src else "")
            continue
        m = _REPEAT.match(s)
        if m and frames:
            frames[-1] = replace(frames[-1], repeated=int(m[1]))
            cur.advance()
            continue
        break
    return frames, location


def _exception_line(s: str | None) -> tuple[str, str] | None:
    if s is None or not s or s[0].isspace():
        return None
    m = _EXC_LINE.match(s)
    if not m or m["type"] in _LOG_LEVELS:
        return None
    return m["type"], m["msg"] or ""


def _notes(cur: _Cursor, start_origin: int, exc_origin: int) -> list[str]:
    """Lines after the exception line that continue it (notes, multi-line message)."""
    notes: list[str] = []
    split = start_origin != exc_origin  # the traceback arrived spread over several entries
    while True:
        s = cur.line
        if s is None or not s.strip() or s in (_CAUSE, _CONTEXT) or _HEADER.search(s):
            return notes
        if _LOG_RECORD.match(s) or s.lstrip().startswith(("|", "+-")):
            return notes
        if not split and cur.origin != exc_origin:
            return notes
        notes.append(s)
        cur.advance()


@dataclass
class _Block:
    exception: RaisedException
    truncated: bool = False


def _plain_block(cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None) -> _Block | None:
    """Parse ``Traceback ...`` + frames + exception line, the cursor on the header."""
    cur.advance()
    frames, location = _frames(cur)
    exc_origin = cur.origin
    found = _exception_line(cur.line)
    if found is None:
        if fallback is not None:  # the Lambda runtime prints the exception in its header
            # Picked out by a subscription filter, a frameless one may have its frames in the stream.
            return _Block(RaisedException(fallback[0], fallback[1], tuple(frames)), cur.bare_headers and not frames)
        if not frames and location is None and cur.line is not None and not cur.bare_headers:
            return None  # a header followed by unrelated text: a mention, not a traceback
        return _Block(RaisedException("", "", tuple(frames), syntax_error=location), truncated=True)
    cur.advance()
    notes = _notes(cur, start_origin, exc_origin)
    exc = RaisedException(found[0], found[1], tuple(frames), tuple(notes), syntax_error=location)
    return _Block(exc)


def _at(s: str | None, col: int) -> str | None:
    """``s`` from column ``col`` when everything before it is blank."""
    if s is None or len(s) < col or (col and s[:col].strip()):
        return None
    return s[col:]


def _boxed(cur: _Cursor, col: int, start_origin: int) -> RaisedException | None:
    """Parse one box of an exception group (PEP 654 print form) whose bars stand at ``col``."""
    content: list[LogLine] = []
    first = _at(cur.line, col)
    if first is not None and first.startswith("+ "):
        content.append(LogLine(first[2:], cur.origin))
        cur.advance()
    while True:
        rest = _at(cur.line, col)
        if rest is None or not (rest.startswith("| ") or rest == "|"):
            break
        content.append(LogLine(rest[2:], cur.origin))
        cur.advance()
    if not content:
        return None
    inner = _Cursor(content, 0)
    chain, _ = _chain(inner, start_origin)
    if chain:
        exc = chain[-1]
    else:  # "| and 3 more exceptions" and other text we do not model
        exc = None
    children: list[RaisedException] = []
    rest = _at(cur.line, col)
    if rest is not None and rest.startswith("+-+"):
        cur.advance()
        while True:
            child = _boxed(cur, col + 2, start_origin)
            if child is not None:
                children.append(child)
            rest = _at(cur.line, col + 2)
            if rest is not None and _BOX_SEP.match(rest):
                cur.advance()
                continue
            if rest is not None and _BOX_END.match(rest):
                cur.advance()
            break
    if exc is None:
        return None
    return replace(exc, children=tuple(children)) if children else exc


def _block(cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None) -> _Block | None:
    s = cur.line
    if s is None:
        return None
    m = _GROUP_HEADER.match(s)
    if m:
        exc = _boxed(cur, len(m[1]), start_origin)
        return _Block(exc) if exc else None
    stripped = s.lstrip()
    if _HEADER.match(stripped):
        return _plain_block(cur, start_origin, fallback)
    # A group printed without its header (it was never raised, only chained), or a bare
    # exception line: both appear after a chain separator.
    col = len(s) - len(stripped)
    nxt = cur.lines[cur.pos + 1].text if cur.pos + 1 < len(cur.lines) else None
    if stripped.startswith("| ") and (_at(nxt, col) or "").startswith("+-+"):
        exc = _boxed(cur, col, start_origin)
        return _Block(exc) if exc else None
    found = _exception_line(s)
    if found is None:
        return None
    exc_origin = cur.origin
    cur.advance()
    return _Block(RaisedException(found[0], found[1], (), tuple(_notes(cur, start_origin, exc_origin))))


def _chain(
    cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None = None
) -> tuple[list[RaisedException], bool]:
    """Parse exceptions joined by cause/context separators. Returns (chain, truncated)."""
    chain: list[RaisedException] = []
    truncated = False
    while True:
        block = _block(cur, start_origin, fallback if not chain else None)
        if block is None:
            break
        chain.append(block.exception)
        if block.truncated:
            truncated = True
            break
        mark = cur.pos
        while cur.line is not None and not cur.line.strip():
            cur.advance()
        s = cur.line
        link: ChainLink | None = "cause" if s == _CAUSE else "context" if s == _CONTEXT else None
        if link is None:
            cur.pos = mark
            break
        cur.advance()
        while cur.line is not None and not cur.line.strip():
            cur.advance()
        chain[-1] = replace(chain[-1], link=link)
    return chain, truncated


def _syntax_error_alone(cur: _Cursor) -> RaisedException | None:
    """``File "x", line N`` + source + caret + ``SyntaxError: msg`` printed without a header."""
    s = cur.line
    m = _LOCATION.match(s or "")
    if not m:
        return None
    probe = _Cursor(cur.lines, cur.pos + 1)
    src = _source_lines(probe)
    found = _exception_line(probe.line)
    if found is None or not _SYNTAX_TYPES.match(found[0]):
        return None
    cur.pos = probe.pos + 1
    location = Location(m["file"], int(m["line"]), src[0] if src else "")
    return RaisedException(found[0], found[1], (), syntax_error=location)


def _parse_at(lines: Sequence[LogLine], i: int, form: str, bare_headers: bool = False) -> tuple[Traceback, int] | None:
    """Try to read a traceback starting at line ``i``; return it and the index after it."""
    text = lines[i].text.rstrip()
    cur = _Cursor(lines, i, bare_headers)
    fallback: tuple[str, str] | None = None
    lam = _LAMBDA_HEADER.match(text)
    if lam and i + 1 < len(lines) and _HEADER.match(lines[i + 1].text.strip()):
        fallback = (lam["type"], lam["msg"] or "")
        cur.advance()
        form = "lambda_text"
    else:
        m = _HEADER.search(text)
        if m and not _GROUP_HEADER.match(text):
            head = text[: m.start()]
            if head.strip(" |+"):
                cur.prefix = _prefix_pattern(head)
                form = "logging"
    start_origin = lines[i].origin
    chain, truncated = _chain(cur, start_origin, fallback)
    if not chain:
        alone = _syntax_error_alone(cur)
        if alone is None:
            return None
        chain = [alone]
    elif not (_HEADER.search(text) or _GROUP_HEADER.match(text) or fallback or "|" in text):
        return None  # a bare "Error: ..." line is not a traceback
    end = max(cur.pos, i + 1)
    raw = "\n".join(line.text for line in lines[i:end])
    tb = Traceback(tuple(chain), raw, form, start_origin, truncated, timestamp=lines[i].timestamp)
    return tb, end


def _starts(text: str, nxt: str | None) -> bool:
    s = text.rstrip()
    if _HEADER.search(s):
        return True
    if _LAMBDA_HEADER.match(s):
        return nxt is not None and _HEADER.match(nxt.strip()) is not None
    if _LOCATION.match(s):
        return True
    stripped = s.lstrip()
    return stripped.startswith("| ") and nxt is not None and nxt.lstrip().startswith("+-+")


def scan_lines(
    lines: Sequence[LogLine], form: str = "plain", bare_headers: bool = False
) -> list[tuple[Traceback, int]]:
    """Every traceback in a sequence of lines with the index of the line after it, in order.

    With ``bare_headers`` (lines a subscription filter picked out of a stream, which need not be
    adjacent there), a header line with no traceback body after it yields an empty ``truncated``
    traceback for the caller to complete from the stream, instead of nothing.
    """
    out: list[tuple[Traceback, int]] = []
    i, n = 0, len(lines)
    while i < n:
        text = lines[i].text
        nxt = lines[i + 1].text if i + 1 < n else None
        if not may_contain_traceback(text) or not _starts(text, nxt):
            i += 1
            continue
        found = _parse_at(lines, i, form, bare_headers)
        if found is None:
            i += 1
            continue
        out.append(found)
        i = found[1]
    return out


def find_in_lines(lines: Sequence[LogLine], form: str = "plain") -> list[Traceback]:
    """Every traceback in a sequence of lines, in order; the lines around them are skipped."""
    return [tb for tb, _ in scan_lines(lines, form)]


def find_in_text(text: str, first_line: int = 1) -> list[Traceback]:
    """Every traceback in a block of log text; origins are line numbers from ``first_line``."""
    lines = split_lines(text, 0)
    numbered = [LogLine(line.text, first_line + k) for k, line in enumerate(lines)]
    return find_in_lines(numbered)


# --- structured records -------------------------------------------------------------------------


def _frame_from_list(item: Sequence[object]) -> Frame | None:
    """Old Lambda runtimes (2.7 / 3.6) print frames as ``[file, line, function, code]``."""
    if len(item) < 3:
        return None
    file, line, func = item[0], item[1], item[2]
    code = item[3] if len(item) > 3 else ""
    return Frame(
        str(file),
        line if isinstance(line, int) else None,
        str(func),
        str(code or "").strip(),
    )


def _stack_frames(stack: object) -> tuple[Frame, ...]:
    """Frames of a Lambda ``stackTrace``: a list of formatted strings or of 4-item lists."""
    if not isinstance(stack, list):
        return ()
    frames: list[Frame] = []
    text_parts: list[str] = []
    for item in stack:
        if isinstance(item, str):
            text_parts.append(item)
        elif isinstance(item, list):
            frame = _frame_from_list(item)
            if frame:
                frames.append(frame)
    if text_parts:
        cur = _Cursor(split_lines("".join(text_parts), 0), 0)
        parsed, _ = _frames(cur)
        frames.extend(parsed)
    return tuple(frames)


def _powertools_frames(trace: object) -> tuple[Frame, ...]:
    if not isinstance(trace, Mapping) or not isinstance(trace.get("frames"), list):
        return ()
    frames = []
    for f in trace["frames"]:
        if isinstance(f, Mapping) and isinstance(f.get("file"), str):
            line = f.get("line")
            frames.append(
                Frame(
                    f["file"],
                    line if isinstance(line, int) else None,
                    str(f.get("function") or ""),
                    str(f.get("statement") or "").strip(),
                )
            )
    return tuple(frames)


def _record_text(record: Mapping[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def from_record(record: Mapping[str, object], origin: int = 0) -> list[Traceback] | None:
    """Tracebacks of a structured (JSON) log record, or None when it has no error fields.

    Lambda's ``errorType``/``errorMessage``/``stackTrace`` (the unhandled-error JSON and the
    JSON log format) give the final exception only; a Powertools ``exception`` field holds the
    whole formatted traceback, chain included, and its ``stack_trace`` is the fallback.
    """
    etype = record.get("errorType")
    if isinstance(etype, str) and etype:
        message = record.get("errorMessage")
        exc = RaisedException(
            etype,
            str(message).split("\n", 1)[0] if message is not None else "",
            _stack_frames(record.get("stackTrace")),
        )
        return [Traceback((exc,), _record_text(record), "lambda_json", origin)]
    text = record.get("exception")
    if isinstance(text, str) and text.strip():
        found = find_in_text(text, origin)
        if found:
            return [replace(tb, form="powertools_json", origin=origin) for tb in found]
        trace = record.get("stack_trace")
        name = record.get("exception_name")
        if isinstance(trace, Mapping) and isinstance(trace.get("type"), str):
            module = trace.get("module")
            qualified = trace["type"] if module in (None, "builtins") else f"{module}.{trace['type']}"
            value = str(trace.get("value") or "").split("\n", 1)[0]
            exc = RaisedException(qualified, value, _powertools_frames(trace))
            return [Traceback((exc,), _record_text(record), "powertools_json", origin)]
        if isinstance(name, str) and name:
            last = text.strip().splitlines()[-1]
            found_line = _exception_line(last)
            msg = found_line[1] if found_line else ""
            exc = RaisedException(name, msg)
            return [Traceback((exc,), _record_text(record), "powertools_json", origin, truncated=True)]
    return None


def record_message(record: Mapping[str, object]) -> str | None:
    """The free-text part of a structured log record, where a traceback may be printed."""
    for key in ("message", "msg", "log"):
        value = record.get(key)
        if isinstance(value, str):
            return value
    return None


def find_in_records(records: Iterable[tuple[Mapping[str, object], int]]) -> list[Traceback]:
    """Tracebacks of (record, origin) pairs: structured fields first, else the message text."""
    out: list[Traceback] = []
    for record, origin in records:
        structured = from_record(record, origin)
        if structured is not None:
            out.extend(structured)
            continue
        message = record_message(record)
        if message and may_contain_traceback(message):
            out.extend(replace(tb, origin=origin) for tb in find_in_text(message, origin))
    return out


# --- rendering ----------------------------------------------------------------------------------


def _render_exception(exc: RaisedException) -> list[str]:
    out: list[str] = []
    if exc.frames or exc.syntax_error:
        out.append("Traceback (most recent call last):")
    for f in exc.frames:
        out.append(f'  File "{f.file}", line {f.line}, in {f.function}')
        if f.source:
            out.append(f"    {f.source}")
        if f.repeated:
            out.append(f"  [Previous line repeated {f.repeated} more times]")
    if exc.syntax_error is not None:
        loc = exc.syntax_error
        out.append(f'  File "{loc.file}", line {loc.line}')
        if loc.source:
            out += [f"    {loc.source}", "    ^"]
    out.append(f"{exc.type}: {exc.message}" if exc.message else exc.type)
    out.extend(exc.notes)
    for child in exc.children:  # flattened: the boxed form is for people, not for prompts
        out += ["", *(f"  {line}" for line in _render_exception(child))]
    return out


def render(tb: Traceback) -> str:
    """The traceback printed the way CPython prints it (exception groups flattened)."""
    out: list[str] = []
    for exc in tb.exceptions:
        out.extend(_render_exception(exc))
        if exc.link is not None:
            out += ["", _CAUSE if exc.link == "cause" else _CONTEXT, ""]
    return "\n".join(out)
