"""Find Python tracebacks in log text and structured log records.

Reads every form a Python service's logs carry:

- CPython 3.8-3.13 output: plain, chained (cause / context), exception groups (boxed form),
  SyntaxError locations, caret and tilde marker lines, ``[Previous line repeated N more times]``,
  ``<frozen ...>`` / ``<string>`` / ``<stdin>`` frames, multi-line messages and notes;
- ``logging.exception`` output, with a log prefix on the first line or on every line;
- a logging error (``--- Logging error ---``, ``logging.Handler.handleError``): one traceback, the
  handler's exception with the frames of ``Call stack:`` (the code that logged) before its own
  (inside ``logging``); ``Message:`` / ``Arguments:`` and Python 2's ``Logged from file`` are its
  text, not another traceback;
- the AWS Lambda runtime's ``[ERROR] Type: message`` text form (``\\r`` line breaks, no-break
  space indentation, final exception only; also behind a line prefix such as ``aws logs tail``'s
  time and stream, and glued to the end of the record before it), its legacy 2.7 / 3.6
  ``'message': Type`` text form and its JSON forms (``errorType`` / ``stackTrace``), also nested in another JSON error
  (a Step Functions ``Cause``);
- aws-lambda-powertools Logger records (``exception`` / ``exception_name`` / ``stack_trace``);
- a log shipper's record of one line (FireLens, Docker json-file: ``log`` beside container keys),
  read as text so that a traceback printed one line per record is put together again;
- real-world pastes: indentation lost or changed (none, one space, tabs, the whole traceback
  indented), a quote or log prefix on every line or on some, blank lines inside, fragments that
  start at a ``File "..."`` line, exception-group boxes with their leading spaces trimmed.

Text that merely mentions "Traceback" or an error name yields nothing. A traceback cut off before
its exception line yields what was read, flagged ``truncated`` with a ``truncated_reason``.

Bounded work (see docs/parser.md): every pattern that reads log text is linear (possessive
quantifiers, anchors, no nested ambiguous repeats), structural lines longer than ``MAX_LINE``
are never matched as structure, a log prefix is at most ``MAX_PREFIX`` characters, and exception
groups are parsed without recursion; nesting deeper than ``MAX_GROUP_DEPTH`` is dropped and the
traceback marked truncated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from chalicelib.core.models import ChainLink, Frame, Location, RaisedException, Traceback

# --- limits -------------------------------------------------------------------------------------

# A header, frame, location, marker or box line longer than this is text, never structure: a
# frame line is a path (PATH_MAX 4096) plus a function name. Exception lines are not capped.
MAX_LINE = 8192
# A log prefix (the text before "Traceback" on its line) longer than this is not a prefix.
MAX_PREFIX = 256
# Exception groups nested deeper than this keep their first MAX_GROUP_DEPTH levels (CPython
# prints 10 by default); the rest is read past and the traceback marked truncated.
MAX_GROUP_DEPTH = 100
# Chains printed inside exception-group boxes inside chains ...: deeper ones are not parsed.
MAX_NESTED_CHAINS = 20
# Blank lines skipped inside a traceback (IPython pastes, shippers that split on "\r").
MAX_BLANK_RUN = 2
# A JSON error nested in another (Step Functions Cause): levels searched, text size parsed.
MAX_JSON_NESTING = 4
MAX_NESTED_JSON_TEXT = 1 << 20

# --- line grammar -------------------------------------------------------------------------------
# Every pattern is linear: possessive quantifiers (``*+``, ``++``) never give back what they
# matched, and no two adjacent repeats can match the same character.

_HEADER = re.compile(r"(?:Exception Group )?Traceback \(most recent call last\):\s*+$")
_GROUP_HEADER = re.compile(r"^(\s*+)\+ Exception Group Traceback \(most recent call last\):\s*+$")
# Both headers hold these words: a line without them (a C-level substring test) matches neither.
_HEADER_WORDS = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*+File "(?P<file>[^"]++)", line (?P<line>\d++), in (?P<func>\S.*+)$')
_LOCATION = re.compile(r'^\s*+File "(?P<file>[^"]++)", line (?P<line>\d++)\s*+$')
_REPEAT = re.compile(r"^\s*+\[Previous line repeated (\d++) more times?\]\s*+$")
_ELISION = re.compile(r"^\s*+\.\.\.<\d++ lines?>\.\.\.\s*+$")
# Twisted's ``Failure`` traceback (Twisted, Scrapy, Buildbot logs) parts the frames where the
# exception was caught from those it passed through on its way there: one traceback, one stack.
_CAUGHT_HERE = "--- <exception caught here> ---"
# Used with ``match(s, pos)``: no ``^`` (it would only match at the string's real start).
_EXC_LINE = re.compile(r"(?P<type>[A-Za-z_]\w*+(?:\.[A-Za-z_<][\w<>]*+)*+)(?::(?: (?P<msg>.*+))?)?$")
_TYPE_NAME = re.compile(r"[A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)*+")
# Class names that only an exception has (builtins and common conventions).
_STRONG_SUFFIXES = ("Error", "Exception", "Warning", "Exit", "Interrupt", "Iteration", "Group", "Failure", "Timeout")
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"
CHAIN_LINKS: dict[str, ChainLink] = {_CAUSE: "cause", _CONTEXT: "context"}  # the pasted forms' readers too
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # a terminal's colour codes, in pasted IPython or pytest output
# What the standard library's ``logging.Handler.handleError`` prints after the traceback of a
# handler that failed (a logging call whose format string its arguments do not fit): the stack of
# the code that logged, or (no such frame found, and Python 2 with no ``Call stack:`` line) where
# it logged, then the record's message and arguments.
_CALL_STACK = "Call stack:"
_LOGGED_FROM = "Logged from file "
_LOGGED_FROM_LINE = ", line "
_LOGGING_MESSAGE = "Message: "
_LOGGING_ARGUMENTS = "Arguments: "
_LOGGING_UNPRINTABLE = "Unable to print the message and arguments - possible formatting error."
_LOGGING_UNPRINTABLE_HINT = "Use the traceback above to help find the error."
# Used with ``match(s, pos)`` at the ``[ERROR]`` found after a log prefix (no ``^``).
_LAMBDA_HEADER = re.compile(
    r"\[ERROR\]\s++(?:\d{4}-\d\d-\d\dT\S++\s++[0-9a-fA-F-]{8,}+\s++)?"
    r"(?P<type>[A-Za-z_][\w.]*+)(?::(?: (?P<msg>.*+))?)?$"
)
# A line that starts a new log record rather than continuing an exception's message.
_LOG_RECORD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\[?(?:DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL|TRACE)\b"
    r"|(?:START|END|REPORT) RequestId|INIT_START|[{\[]|>>> |\s*+File \")"
)
# The Lambda runtime's text log line ``[LEVEL]\t<time>\t<request id>\t<message>``: its request id.
_LAMBDA_LOG_LINE = re.compile(r"\[[A-Z]++\]\t[^\t]{1,40}+\t(?P<id>[0-9a-fA-F-]{36})\t")
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL", "TRACE"})
_BOX_SEP = re.compile(r"^\+-++ (?:\d++|\.\.\.) -++$")
_BOX_END = re.compile(r"^\+-++$")
_PREFIX_TOKEN = re.compile(r"[0-9a-fA-F-]++")
# Cheap test of whether an entry can hold any part of a traceback start.
_MAYBE = re.compile(r'Traceback \(most|File "|\| \w|\[ERROR\]')
_MARKER_CHARS = "^~-+ \t"
_MARKER_STARTS = "^~-+."  # first character of a marker or elision line


class LogLine(NamedTuple):
    """One physical line of log text, with the line number or event index it came from."""

    text: str
    origin: int
    timestamp: int | None = None


def split_lines(text: str, origin: int, timestamp: int | None = None) -> list[LogLine]:
    """Split one log entry into lines: ``\\r``, ``\\r\\n`` and ``\\n`` all break, no-break spaces
    (the Lambda runtime's indentation) become spaces."""
    return [LogLine(part, origin, timestamp) for part in _line_texts(text)]


def _line_texts(text: str) -> list[str]:
    """The lines of ``split_lines``, as strings: ``\r\n`` first, then a lone ``\r`` or ``\n``
    (what the pattern ``\r\n|\r|\n`` splits at, with ``str`` methods)."""
    if "\u00a0" in text:
        text = text.replace("\u00a0", " ")
    text = text.rstrip("\r\n")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def may_contain_traceback(text: str) -> bool:
    """Whether ``text`` holds anything that can start a traceback (a cheap pre-filter)."""
    # Substring tests first: they are an order of magnitude cheaper than the regex.
    return ("Traceback (" in text or 'File "' in text or "| " in text or "[ERROR]" in text) and (
        _MAYBE.search(text) is not None
    )


def _lambda_header(s: str) -> tuple[re.Match[str], str] | None:
    """The Lambda runtime's ``[ERROR] Type: message`` header, at the line's start or after a log
    prefix of at most ``MAX_PREFIX`` characters (``aws logs tail``'s time and stream, a container
    name, a syslog header): (the match, the prefix)."""
    at = s.find("[ERROR]", 0, MAX_PREFIX + 7)
    if at < 0 or len(s) > MAX_LINE + MAX_PREFIX:
        return None
    m = _LAMBDA_HEADER.match(s, at)
    return (m, s[:at]) if m else None


def _after_prefix(prefix: str, nxt: str | None) -> str | None:
    """``nxt`` with ``prefix``'s pattern stripped when it starts with it (a prefix on every line)."""
    if nxt is None or not prefix or not nxt.rstrip().endswith("Traceback (most recent call last):"):
        return nxt  # only a header after the prefix matters: no pattern is compiled for other lines
    m = _prefix_pattern(prefix).match(nxt)
    return nxt[m.end() :] if m else nxt


def _header_in(s: str) -> re.Match[str] | None:
    """``_HEADER.search(s)``, run only on a line that holds the header's words."""
    return _HEADER.search(s) if _HEADER_WORDS in s else None


def _group_header(s: str) -> re.Match[str] | None:
    """``_GROUP_HEADER.match(s)``, run only on a line that holds the header's words."""
    return _GROUP_HEADER.match(s) if _HEADER_WORDS in s else None


def _frame(s: str) -> re.Match[str] | None:
    return _FRAME.match(s) if len(s) <= MAX_LINE else None


def _location(s: str) -> re.Match[str] | None:
    return _LOCATION.match(s) if len(s) <= MAX_LINE else None


def _repeat(s: str) -> re.Match[str] | None:
    return _REPEAT.match(s) if len(s) <= MAX_LINE else None


def _is_header(s: str) -> bool:
    """A ``Traceback`` header line with nothing but indentation before it."""
    return len(s) <= MAX_LINE and _HEADER_WORDS in s and _HEADER.match(s.lstrip()) is not None


def _is_marker_line(s: str) -> bool:
    """Caret / tilde lines (PEP 657) and ``...<N lines>...`` elisions: never source."""
    t = s.strip()
    if not t or len(t) > MAX_LINE:
        return False
    if not t.strip(_MARKER_CHARS):
        return "^" in t or "~" in t
    return _ELISION.match(t) is not None


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip())


def _strong_type(name: str) -> bool:
    """Whether a name can only be an exception class (``ValueError``, ``botocore.x.ClientError``)."""
    last = name.rsplit(".", 1)[-1]
    return last[:1].isupper() and (last.endswith(_STRONG_SUFFIXES) or ("." in name and last.isidentifier()))


def _is_syntax_type(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last.endswith("SyntaxError") or last in ("IndentationError", "TabError")


# --- the scanner --------------------------------------------------------------------------------


@dataclass
class _Context:
    """What one traceback's parse learned on the way: why it stopped early, if it did, and
    whether it looked past the last line it was given (``past_end``) where more lines could
    have changed its result (see ``scan_window``)."""

    reasons: list[str] = field(default_factory=list)
    past_end: bool = False

    def stop(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)


class _Cursor:
    """Walks a list of lines, stripping the log prefix found on the traceback's first line."""

    def __init__(
        self,
        lines: Sequence[LogLine],
        pos: int,
        bare_headers: bool = False,
        ctx: _Context | None = None,
        nesting: int = 0,
    ) -> None:
        self.lines = lines
        self.pos = pos
        self.prefix: re.Pattern[str] | None = None
        self.bare_headers = bare_headers
        self.ctx = ctx if ctx is not None else _Context()
        self.nesting = nesting
        self._line_pos = -1  # the position whose line ``_line`` holds
        self._line: str | None = None
        self._frame_pos = -1  # the position whose ``File`` line match ``_frame_match`` holds
        self._frame_match: re.Match[str] | None = None

    def at(self, pos: int) -> str | None:
        """The line at ``pos`` as the parser sees it: prefix stripped, tabs of its indentation
        expanded, trailing space dropped."""
        if pos >= len(self.lines):
            self.ctx.past_end = True
            return None
        text = self.lines[pos].text.rstrip()
        if self.prefix is not None:
            m = self.prefix.match(text)
            if m:
                text = text[m.end() :]
        if "\t" in text:
            lead = _indent(text)
            if "\t" in text[:lead]:
                text = text[:lead].expandtabs(4) + text[lead:]
        return text

    @property
    def line(self) -> str | None:
        if self._line_pos != self.pos:
            self._line = self.at(self.pos)
            self._line_pos = self.pos
        return self._line

    def frame(self) -> re.Match[str] | None:
        """``_frame`` of the cursor's line, matched once: the loop that reads a frame's source
        stops at the next ``File`` line, which the frame loop then reads."""
        if self._frame_pos != self.pos:
            line = self.line
            self._frame_match = _frame(line) if line is not None else None
            self._frame_pos = self.pos
        return self._frame_match

    @property
    def origin(self) -> int:
        if self.pos >= len(self.lines):
            self.ctx.past_end = True
        return self.lines[min(self.pos, len(self.lines) - 1)].origin

    @property
    def at_end(self) -> bool:
        """Whether the cursor is past the last line (asked where more lines could not change
        the parse; reading ``line`` there counts as looking past the end)."""
        return self.pos >= len(self.lines)

    def advance(self) -> None:
        self.pos += 1

    def after_blanks(self) -> int | None:
        """When the cursor is on a blank line: the position of the next non-blank line, if at
        most ``MAX_BLANK_RUN`` blank lines away."""
        pos = self.pos
        while pos < len(self.lines) and pos - self.pos < MAX_BLANK_RUN:
            s = self.at(pos)
            if s is None or s.strip():
                break
            pos += 1
        s = self.at(pos)
        return pos if s is not None and s.strip() else None


def _prefix_pattern(prefix: str) -> re.Pattern[str]:
    """A pattern for a log prefix: digits and hex runs (timestamps, request ids) may vary."""
    parts: list[str] = []
    last = 0
    raw = prefix
    prefix = prefix.rstrip()  # a blank line under the prefix is printed without the space
    if not prefix:  # indentation only: strip up to as much of it
        return re.compile(rf"[ \t]{{0,{len(raw)}}}+")
    for m in _PREFIX_TOKEN.finditer(prefix):
        if not any(c.isdigit() for c in m[0]):
            continue
        before = prefix[last : m.start()]
        pad = len(before) - len(before.rstrip(" "))
        # A number is often right-aligned (a pasted listing's line numbers ` 9`, `10`): the
        # spaces padding it come and go with its width.
        parts.append(re.escape(before[: len(before) - pad]) + (f" {{0,{pad}}}+" if pad else ""))
        parts.append(r"[0-9a-fA-F-]++")
        last = m.end()
    parts.append(re.escape(prefix[last:]))
    return re.compile("".join(parts) + "[ \t]?")


def _source_lines(cur: _Cursor, frame_indent: int) -> tuple[list[str], bool]:
    """Consume the source / marker lines that follow a ``File`` line indented ``frame_indent``.

    Source is indented deeper than its ``File`` line; where indentation was lost (the same
    column or none), one line that is not the exception line counts. Returns (lines, flat):
    ``flat`` when the source was taken without indentation to tell it apart.
    """
    out: list[str] = []
    flat = False
    while True:
        s = cur.line
        if s is None:
            return out, flat
        t = s.lstrip()  # cheap first-character tests before any pattern: this loop is hot
        if not t:  # blank lines inside: skip them when the frame's source goes on
            nxt = cur.after_blanks()
            if nxt is None:
                return out, flat
            following = cur.at(nxt) or ""
            if _is_marker_line(following):
                cur.pos = nxt
                continue
            if out or _indent(following) <= frame_indent or _frame(following) or _location(following):
                return out, flat
            cur.pos = nxt
            continue
        first = t[0]  # one character decides which tests can apply (none of "F[" is a marker start)
        if first == "F":
            if t.startswith('File "') and (cur.frame() or _location(s)):
                return out, flat
        elif first == "[":
            if t.startswith("[Previous") and _repeat(s):
                return out, flat
        elif first in _MARKER_STARTS and _is_marker_line(s):
            cur.pos += 1
            continue
        ind = len(s) - len(t)
        if ind > frame_indent:
            out.append(t.rstrip())
            cur.pos += 1
            continue
        if out or ind < frame_indent or _is_header(s) or s in (_CAUSE, _CONTEXT):
            return out, flat
        found = _exception_line(s, frame_indent)
        if found is not None and (_strong_type(found[0]) or _ends_frames(cur)):
            return out, flat
        out.append(s.strip())
        flat = True
        cur.advance()


def _ends_frames(cur: _Cursor) -> bool:
    """Whether the line after the cursor's cannot continue a traceback (so the cursor's line,
    where indentation was lost, is the exception line rather than source)."""
    nxt = cur.at(cur.pos + 1)
    if nxt is None or not nxt.strip():
        return True
    return not (
        _frame(nxt)
        or _location(nxt)
        or _repeat(nxt)
        or _is_marker_line(nxt)
        or nxt.strip() == _CAUGHT_HERE
        or _exception_line(nxt, 0)
    )


def _frames(cur: _Cursor) -> tuple[list[Frame], Location | None, int, bool]:
    """Frames from the cursor on. Returns (frames, SyntaxError location, the last frame line's
    indentation or -1, whether the last frame's source was taken without indentation)."""
    frames: list[Frame] = []
    location: Location | None = None
    indent = -1
    flat = False
    while True:
        s = cur.line
        if s is None:
            break
        t = s.lstrip()
        if not t:
            nxt = cur.after_blanks()
            following = cur.at(nxt) if nxt is not None else None
            if following is not None and (_frame(following) or _location(following) or _repeat(following)):
                cur.pos = nxt  # type: ignore[assignment]
                continue
            break
        file_line = t.startswith('File "')
        m = cur.frame() if file_line else None
        if m:
            cur.pos += 1
            indent = len(s) - len(t)
            src, flat = _source_lines(cur, indent)
            file, line, func = m.group("file", "line", "func")
            frames.append(Frame(file, int(line), func.rstrip(), src[0] if src else ""))
            continue
        m = _location(s) if file_line else None
        if m:
            cur.advance()
            indent = _indent(s)
            src, flat = _source_lines(cur, indent)
            location = Location(m["file"], int(m["line"]), src[0] if src else "")
            continue
        m = _repeat(s)
        if m and frames:
            frames[-1] = replace(frames[-1], repeated=int(m[1]))
            cur.advance()
            continue
        if frames and t == _CAUGHT_HERE:
            cur.advance()
            continue
        break
    return frames, location, indent, flat


def _exception_line(s: str | None, max_indent: int = 0) -> tuple[str, str] | None:
    """(type, message) of an exception line indented at most ``max_indent``."""
    if s is None or not s:
        return None
    ind = _indent(s)
    if ind > max_indent or ind == len(s):
        return None
    m = _EXC_LINE.match(s, ind)
    if not m or m["type"] in _LOG_LEVELS:
        return None
    return m["type"], m["msg"] or ""


def exception_line(text: str) -> tuple[str, str] | None:
    """(type, message) of a line that is an exception line as CPython prints it (``KeyError: 'k'``),
    leading blanks ignored; for the pasted forms' readers, whose exception lines are CPython's."""
    return _exception_line(text.strip())


def _notes(cur: _Cursor, start_origin: int, exc_origin: int) -> list[str]:
    """Lines after the exception line that continue it (notes, multi-line message)."""
    notes: list[str] = []
    split = start_origin != exc_origin  # the traceback arrived spread over several entries
    while True:
        if cur.at_end:
            # Whole in one entry, the notes end with it: a line after the end (another entry)
            # could not continue them. Spread over several, it could.
            if split:
                cur.ctx.past_end = True
            return notes
        s = cur.line
        if s is None or not s.strip() or s in (_CAUSE, _CONTEXT) or (len(s) <= MAX_LINE and _header_in(s)):
            return notes
        if _LOG_RECORD.match(s) or s.lstrip().startswith(("|", "+-")):
            return notes
        if not split and cur.origin != exc_origin:
            return notes
        if _logging_tail_starts(cur, s):
            return notes
        notes.append(s)
        cur.advance()


def _logged_from(s: str) -> bool:
    """Whether ``s`` is ``Logged from file <name>, line <n>`` (a logging error's call site)."""
    if not s.startswith(_LOGGED_FROM) or len(s) > MAX_LINE:
        return False
    return s.rpartition(_LOGGED_FROM_LINE)[2].isdigit()


def _content_at(cur: _Cursor, pos: int) -> int | None:
    """``pos``, or past at most ``MAX_BLANK_RUN`` blank lines from it, the next line with text."""
    for at in range(pos, pos + MAX_BLANK_RUN + 1):
        s = cur.at(at)
        if s is None:
            return None
        if s.strip():
            return at
    return None


def _logging_tail_starts(cur: _Cursor, s: str) -> bool:
    """Whether the cursor's line ``s``, after an exception line, starts what a logging error prints
    after the handler's traceback: ``Call stack:`` followed by ``Logged from file``, or by frames
    that end in the record's ``Message: …``; or (Python 2) ``Logged from file …`` alone."""
    t = s.strip()
    if t != _CALL_STACK:
        return _logged_from(t)
    nxt = _content_at(cur, cur.pos + 1)
    following = (cur.at(nxt) or "").strip() if nxt is not None else ""
    if _logged_from(following):
        return True
    return _frame(following) is not None and _record_follows(cur, nxt or 0)


MAX_CALL_STACK_LINES = 400  # lines of a logging error's call stack looked through for its record


def _record_follows(cur: _Cursor, pos: int) -> bool:
    """Whether the frames from ``pos`` (a call stack's first header) end in the record a logging
    error prints (``Message: …``, or the line saying it could not be printed): only then is a
    ``Call stack:`` line and the frames after it a logging error's, not a note and another trace."""
    at = pos
    while at < pos + MAX_CALL_STACK_LINES:
        line = cur.at(at)
        if line is None:
            return False
        t = line.strip()
        if not (_frame(t) or (line[:1].isspace() and t)):  # a header, or its indented source / markers
            at = _content_at(cur, at)
            nxt = (cur.at(at) or "").strip() if at is not None else ""
            return nxt.startswith((_LOGGING_MESSAGE, _LOGGING_UNPRINTABLE))
        at += 1
    return False


def _logging_tail(cur: _Cursor) -> tuple[Frame, ...] | None:
    """What a logging error prints after the handler's traceback, read from the cursor (on the line
    after the chain): the frames of ``Call stack:``, outermost first (``()`` when only a file and
    line are named), the ``Message:`` / ``Arguments:`` lines after them read past; None, the cursor
    unmoved, when no such part follows.

    Like the chain probe, nothing is read at the end of the lines: only ``Call stack:`` or
    ``Logged from file`` continue a traceback there (``scan_window`` scans again when one is added).
    """
    if cur.at_end:
        return None
    s = cur.line
    if s is None or not _logging_tail_starts(cur, s):
        return None
    frames: list[Frame] = []
    if s.strip() == _CALL_STACK:
        cur.pos = _content_at(cur, cur.pos + 1) or cur.pos + 1
        if _logged_from((cur.line or "").strip()):
            cur.advance()
        else:
            frames = _frames(cur)[0]
    else:
        cur.advance()
    _logging_record(cur)
    return tuple(frames)


def _logging_error(cur: _Cursor, final: RaisedException, truncated: bool) -> RaisedException:
    """``final`` (a chain's last exception, the cursor on the line after the chain) with the frames
    of the code that logged before its own when it is a logging error's: the handler's exception,
    raised inside ``logging``, is where the logging call failed (``_logging_tail``)."""
    if truncated or not final.type:
        return final
    caller = _logging_tail(cur)
    return replace(final, frames=(*caller, *final.frames)) if caller else final


def _logging_record(cur: _Cursor) -> None:
    """Read past the record a logging error prints last: ``Message: …`` and ``Arguments: …``, or
    the two lines that say they could not be printed."""
    first = _logging_line(cur, (_LOGGING_MESSAGE, _LOGGING_UNPRINTABLE))
    if first is not None:
        _logging_line(cur, (_LOGGING_ARGUMENTS if first == _LOGGING_MESSAGE else _LOGGING_UNPRINTABLE_HINT,))


def _logging_line(cur: _Cursor, starts: tuple[str, ...]) -> str | None:
    """Which of ``starts`` the next line with text (at most ``MAX_BLANK_RUN`` blank lines away)
    starts with, the cursor moved past it; None, the cursor unmoved, when none."""
    at = _content_at(cur, cur.pos)
    if at is None:
        return None
    line = (cur.at(at) or "").strip()
    for start in starts:
        if line.startswith(start):
            cur.pos = at + 1
            return start
    return None


@dataclass
class _Block:
    exception: RaisedException
    truncated: bool = False


_NO_EXCEPTION_LINE = "no exception line after the frames: the text was cut off"


def _plain_block(
    cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None, header: bool = True
) -> _Block | None:
    """Parse ``Traceback ...`` + frames + exception line, the cursor on the header; with
    ``header`` false, a fragment that starts at its first ``File`` line."""
    if header:
        cur.advance()
        if cur.line is not None and not cur.line.strip():  # blank lines under the header
            nxt = cur.after_blanks()
            if nxt is not None and (_frame(cur.at(nxt) or "") or _location(cur.at(nxt) or "")):
                cur.pos = nxt
    frames, location, indent, flat = _frames(cur)
    if cur.line is not None and not cur.line.strip() and (frames or location):
        nxt = cur.after_blanks()  # a blank line between the last frame and the exception line
        if nxt is not None and _exception_line(cur.at(nxt), max(indent, 0)) is not None:
            cur.pos = nxt
    found, exc_origin = _final_line(cur, frames, indent, flat)
    if found is not None and header and not frames and location is None and _header_alone(cur, start_origin):
        found = None
    if found is None:
        if fallback is not None:  # the Lambda runtime prints the exception in its header
            # Picked out by a subscription filter, a frameless one may have its frames in the stream.
            cut = cur.bare_headers and not frames
            if cut:
                cur.ctx.stop("only the header arrived: the rest of the traceback is in the log stream")
            return _Block(RaisedException(fallback[0], fallback[1], tuple(frames)), cut)
        if not header:
            return None  # a fragment must end at its exception line
        if not frames and location is None and cur.line is not None and not cur.bare_headers:
            return None  # a header followed by unrelated text: a mention, not a traceback
        if cur.bare_headers and not frames and location is None:
            cur.ctx.stop("only the header arrived: the rest of the traceback is in the log stream")
        else:
            cur.ctx.stop(_NO_EXCEPTION_LINE)
        return _Block(RaisedException("", "", tuple(frames), syntax_error=location), truncated=True)
    glued = _glued_runtime_record(cur, found[1]) if "[ERROR]" in found[1] else None
    if glued is not None:
        # The runtime's record follows on the same line (its standard sink writes a logging
        # record with a traceback and no final newline): the line is read again from there.
        exc = RaisedException(found[0], glued, tuple(frames), syntax_error=location)
        return _Block(exc)
    cur.advance()
    notes = _notes(cur, start_origin, exc_origin)
    exc = RaisedException(found[0], found[1], tuple(frames), tuple(notes), syntax_error=location)
    return _Block(exc)


def _final_line(cur: _Cursor, frames: list[Frame], indent: int, flat: bool) -> tuple[tuple[str, str] | None, int]:
    """The exception line after the frames, and the origin of its line."""
    exc_origin = cur.origin
    found = _exception_line(cur.line, max(indent, 0))
    if found is None and flat and frames:
        # Indentation lost: what was read as the last frame's source is the exception line.
        last = frames[-1]
        found = _exception_line(last.source)
        if found is not None:
            frames[-1] = replace(last, source="")
            exc_origin = cur.lines[cur.pos - 1].origin
            cur.pos -= 1
    return found, exc_origin


def _header_alone(cur: _Cursor, start_origin: int) -> bool:
    """Whether a header with no frame is followed by another event that a subscription filter
    picked out (its term matched), not by its own exception line: CPython prints no header
    without a frame after it, so the rest of that traceback is in the stream."""
    return cur.bare_headers and cur.origin != start_origin


def _glued_runtime_record(cur: _Cursor, message: str) -> str | None:
    """The message cut where the Lambda runtime's ``[ERROR] Type: msg`` record starts on the
    exception line (followed by its ``Traceback`` header), else None."""
    lam = _lambda_header(message)
    if lam is None or not _is_header((cur.at(cur.pos + 1) or "").strip()):
        return None
    return lam[1]


def _at(s: str | None, col: int) -> str | None:
    """``s`` from column ``col`` when everything before it is blank."""
    if s is None or len(s) < col or (col and s[:col].strip()):
        return None
    return s[col:]


def _box_content(cur: _Cursor, col: int, start_origin: int, depth: int) -> tuple[bool, RaisedException | None]:
    """Read the ``+ ``/``| `` lines of one box whose bars stand at ``col``: (any line, exception)."""
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
        return False, None
    if depth > MAX_GROUP_DEPTH:
        return True, None  # read past, not parsed
    inner = _Cursor(content, 0, ctx=cur.ctx, nesting=cur.nesting + 1)
    chain, _ = _chain(inner, start_origin)
    # "| and 3 more exceptions" and other text we do not model give no exception.
    return True, (chain[-1] if chain else None)


@dataclass
class _Box:
    col: int
    depth: int
    exc: RaisedException | None
    children: list[RaisedException] = field(default_factory=list)
    state: str = "open"  # open → children → after → ... → done
    child_col: int = 0


def _child_col(cur: _Cursor, col: int) -> int:
    """Where the sub-exceptions' bars stand: two columns right, or the same column when the
    leading spaces were trimmed (then nesting is told by the ``+-+`` / ``+---`` brackets)."""
    nxt = cur.line
    inner = _at(nxt, col + 2)
    if inner is not None and inner.startswith(("| ", "+ ")):
        return col + 2
    same = _at(nxt, col)
    return col if same is not None and same.startswith("| ") else col + 2


def _boxed(cur: _Cursor, col: int, start_origin: int) -> RaisedException | None:
    """Parse one exception group (PEP 654 print form) whose outer bars stand at ``col``.

    Iterative, with an explicit stack: any nesting depth ends in linear time and bounded stack;
    levels deeper than ``MAX_GROUP_DEPTH`` are read past and dropped.
    """
    had, exc = _box_content(cur, col, start_origin, 0)
    if not had:
        return None
    stack = [_Box(col, 0, exc)]
    result: RaisedException | None = None
    while stack:
        box = stack[-1]
        if box.state == "open":
            rest = _at(cur.line, box.col)
            if rest is not None and rest.startswith("+-+"):
                cur.advance()
                box.child_col = _child_col(cur, box.col)
                box.state = "child"
            else:
                box.state = "done"
            continue
        if box.state == "child":
            box.state = "after"
            had, exc = _box_content(cur, box.child_col, start_origin, box.depth + 1)
            if had:
                stack.append(_Box(box.child_col, box.depth + 1, exc))
            continue
        if box.state == "after":
            rest = _at(cur.line, box.child_col)
            if rest is not None and _BOX_SEP.match(rest):
                cur.advance()
                box.state = "child"
                continue
            if rest is not None and _BOX_END.match(rest):
                cur.advance()
            box.state = "done"
            continue
        stack.pop()
        node = box.exc
        if node is not None and box.children:
            node = replace(node, children=tuple(box.children))
        if box.depth > MAX_GROUP_DEPTH:
            cur.ctx.stop(
                f"exception groups nested deeper than {MAX_GROUP_DEPTH} levels: the deeper levels were skipped"
            )
            node = None
        if not stack:
            result = node
        elif node is not None:
            stack[-1].children.append(node)
    return result


def _block(cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None) -> _Block | None:
    s = cur.line
    if s is None or len(s) > MAX_LINE and not _exception_line(s):
        return None
    m = _group_header(s) if len(s) <= MAX_LINE else None
    if m:
        if cur.nesting > MAX_NESTED_CHAINS:
            cur.ctx.stop(f"chains inside exception groups nested deeper than {MAX_NESTED_CHAINS}: not read")
            return None
        exc = _boxed(cur, len(m[1]), start_origin)
        return _Block(exc) if exc else None
    stripped = s.lstrip()
    if _is_header(s):
        return _plain_block(cur, start_origin, fallback)
    # A group printed without its header (it was never raised, only chained), or a bare
    # exception line: both appear after a chain separator.
    col = len(s) - len(stripped)
    nxt = cur.at(cur.pos + 1)
    if stripped.startswith("| ") and (_at(nxt, col) or "").startswith("+-+"):
        if cur.nesting > MAX_NESTED_CHAINS:
            cur.ctx.stop(f"chains inside exception groups nested deeper than {MAX_NESTED_CHAINS}: not read")
            return None
        exc = _boxed(cur, col, start_origin)
        return _Block(exc) if exc else None
    found = _exception_line(s)
    if found is None:
        return None
    exc_origin = cur.origin
    cur.advance()
    return _Block(RaisedException(found[0], found[1], (), tuple(_notes(cur, start_origin, exc_origin))))


def _chain(
    cur: _Cursor, start_origin: int, fallback: tuple[str, str] | None = None, fragment: bool = False
) -> tuple[list[RaisedException], bool]:
    """Parse exceptions joined by cause/context separators. Returns (chain, truncated)."""
    chain: list[RaisedException] = []
    truncated = False
    while True:
        if fragment and not chain:
            block = _plain_block(cur, start_origin, fallback, header=False)
        else:
            block = _block(cur, start_origin, fallback if not chain else None)
        if block is None:
            break
        chain.append(block.exception)
        if block.truncated:
            truncated = True
            break
        mark = cur.pos
        if cur.at_end:
            break  # what follows could continue the chain only with a separator (see scan_window)
        while cur.line is not None and not cur.line.strip():
            cur.advance()
        s = cur.line
        link: ChainLink | None = CHAIN_LINKS.get(s or "")
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
    m = _location(s or "")
    if not m:
        return None
    probe = _Cursor(cur.lines, cur.pos + 1, ctx=cur.ctx)
    probe.prefix = cur.prefix
    src, _ = _source_lines(probe, _indent(s or ""))
    found = _exception_line(probe.line, _indent(s or ""))
    if found is None or not _is_syntax_type(found[0]):
        return None
    cur.pos = probe.pos + 1
    location = Location(m["file"], int(m["line"]), src[0] if src else "")
    return RaisedException(found[0], found[1], (), syntax_error=location)


def _legacy_header(text: str) -> tuple[str, str] | None:
    """The Lambda runtime's Python 2.7 / 3.6 header ``'message': Type`` as (type, message)."""
    if len(text) > MAX_LINE or _LOG_RECORD.match(text):
        return None
    message, sep, name = text.rpartition(": ")
    if not sep or not _TYPE_NAME.fullmatch(name) or not _strong_type(name):
        return None
    return name, message


def _legacy_start(text: str, nxt: str | None) -> bool:
    """Whether ``text`` is a legacy Lambda header followed by a header or an unindented frame."""
    if nxt is None or ": " not in text:
        return False
    if not (nxt.startswith('File "') or nxt.rstrip() == "Traceback (most recent call last):"):
        return False
    return _legacy_header(text.rstrip()) is not None


def _parse_at(
    lines: Sequence[LogLine], i: int, form: str, bare_headers: bool = False, ctx: _Context | None = None
) -> tuple[Traceback | None, int]:
    """Try to read a traceback starting at line ``i``: (it or None, the index to go on from).

    A fragment that ends without an exception line skips every frame it read: a fragment
    starting at any of them would end the same way (so a run of frames is read once, not once
    per frame).
    """
    text = lines[i].text.rstrip()
    cur = _Cursor(lines, i, bare_headers, ctx)
    fallback: tuple[str, str] | None = None
    fragment = False
    lam = _lambda_header(text)
    nxt = lines[i + 1].text if i + 1 < len(lines) else None
    if nxt is None:
        cur.ctx.past_end = True
    if lam and _is_header((_after_prefix(lam[1], nxt) or "").strip()):
        fallback = (lam[0]["type"], lam[0]["msg"] or "")
        if lam[1]:  # continuation lines may carry the same prefix (a container's, syslog's)
            cur.prefix = _prefix_pattern(lam[1])
        cur.advance()
        form = "lambda_text"
    elif _legacy_start(text, nxt):
        fallback = _legacy_header(text)
        cur.advance()
        form = "lambda_legacy"
        fragment = not _is_header(nxt or "")
    elif _frame(text) and not bare_headers:
        fragment = True
    else:
        m = _header_in(text) if len(text) <= MAX_LINE + MAX_PREFIX else None
        if m and not _GROUP_HEADER.match(text):
            head = text[: m.start()]
            if len(head) > MAX_PREFIX:
                return None, i + 1  # "Traceback" deep inside a long line: a mention
            if head:
                cur.prefix = _prefix_pattern(head)
                if head.strip():
                    form = "logging"
    start_origin = lines[i].origin
    chain, truncated = _chain(cur, start_origin, fallback, fragment)
    if not chain and fragment:
        return None, max(cur.pos, i + 1)
    if not chain:
        alone = _syntax_error_alone(cur)
        if alone is None:
            return None, i + 1
        chain = [alone]
    elif not (fallback or fragment or _header_in(text) or _group_header(text) or "|" in text):
        return None, i + 1  # a bare "Error: ..." line is not a traceback
    chain[-1] = _logging_error(cur, chain[-1], truncated)
    end = max(cur.pos, i + 1)
    raw = "\n".join([line.text for line in lines[i:end]])
    reasons = cur.ctx.reasons
    if not chain[-1].type and not reasons:
        reasons = [_NO_EXCEPTION_LINE]
    tb = Traceback(
        tuple(chain),
        raw,
        form,
        start_origin,
        truncated or bool(reasons),
        timestamp=lines[i].timestamp,
        truncated_reason="; ".join(reasons),
    )
    return tb, end


def _starts(text: str, nxt: str | None, bare_headers: bool) -> bool:
    s = text.rstrip()
    if len(s) > MAX_LINE + MAX_PREFIX:
        return False
    if _header_in(s):
        return True
    lam = _lambda_header(s) if "[ERROR]" in s else None
    if lam:
        return _is_header((_after_prefix(lam[1], nxt) or "").strip())
    if _location(s) or (not bare_headers and _frame(s)):
        return True
    stripped = s.lstrip()
    return stripped.startswith("| ") and nxt is not None and nxt.lstrip().startswith("+-+")


def scan_lines(
    lines: Sequence[LogLine], form: str = "plain", bare_headers: bool = False
) -> list[tuple[Traceback, int]]:
    """Every traceback in a sequence of lines with the index of the line after it, in order.

    With ``bare_headers`` (lines a subscription filter picked out of a stream, which need not be
    adjacent there), a header line with no traceback body after it yields an empty ``truncated``
    traceback for the caller to complete from the stream, instead of nothing; fragments without
    a header are not read there (their header is in another batch).
    """
    return _scan(lines, form, bare_headers, 0, []).found


class Scan(NamedTuple):
    """What ``scan_window`` read: ``scan_lines``'s result, the line the scan stopped at, and
    whether the result holds unchanged when more lines are appended (``sealed``): no step of
    the scan looked past the last line, except where only a chain separator could continue."""

    found: list[tuple[Traceback, int]]
    end: int
    sealed: bool


def _scan(lines: Sequence[LogLine], form: str, bare_headers: bool, i: int, out: list[tuple[Traceback, int]]) -> Scan:
    """The loop of ``scan_lines`` from line ``i``, after ``out``."""
    n = len(lines)
    sealed = True
    while i < n:
        text = lines[i].text
        if i + 1 < n:
            nxt: str | None = lines[i + 1].text
        else:
            nxt = None
            sealed = False  # the tests below read the next line
        if may_contain_traceback(text):
            if not _starts(text, nxt, bare_headers):
                i += 1
                continue
        elif not _legacy_start(text, nxt):
            i += 1
            continue
        ctx = _Context()
        tb, after = _parse_at(lines, i, form, bare_headers, ctx)
        sealed = sealed and not ctx.past_end
        if tb is not None:
            if i and "]\t" in lines[i - 1].text:  # logging.exception under the Lambda runtime
                tb = _with_request_id(tb, lines[i - 1].text)
            out.append((tb, after))
        i = after
    return Scan(out, i, sealed)


# Lines that may continue a traceback that ended at a window's end (see ``scan_window``).
_CONTINUATIONS = (_CAUSE, _CONTEXT, _CALL_STACK, _LOGGED_FROM)


def scan_window(
    lines: Sequence[LogLine], form: str = "plain", bare_headers: bool = False, prior: Scan | None = None
) -> Scan:
    """``scan_lines`` of a window of lines that grows at its end by whole entries (a window of
    log events grows by events: an added line's origin is none of the old lines'): ``prior`` is
    the scan of the window before it grew (its first ``prior.end`` lines). When that scan is sealed
    and no line added holds a chain separator, its tracebacks stand and the scan goes on from
    where it stopped, so a traceback that ended at the old window's end is not parsed again.
    Otherwise the window is scanned from its start. Either way the result is ``scan_lines``'s.
    """
    if prior is not None and prior.sealed and prior.end <= len(lines):
        added = "\n".join([line.text for line in lines[prior.end :]])
        if not any(line in added for line in _CONTINUATIONS):
            return _scan(lines, form, bare_headers, prior.end, list(prior.found))
    return _scan(lines, form, bare_headers, 0, [])


def _with_request_id(tb: Traceback, line: str) -> Traceback:
    """``tb`` with the request id of the Lambda log line printed just before it, if it is one."""
    m = _LAMBDA_LOG_LINE.search(line) if len(line) <= MAX_LINE else None
    return replace(tb, request_id=m["id"]) if m else tb


def _request_id(record: Mapping[str, object]) -> str:
    """The Lambda request a JSON record names (runtime JSON format, Powertools, a logger's extra)."""
    for key in ("requestId", "function_request_id", "aws_request_id", "request_id"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def find_in_lines(lines: Sequence[LogLine], form: str = "plain") -> list[Traceback]:
    """Every traceback in a sequence of lines, in order; the lines around them are skipped."""
    return [tb for tb, _ in scan_lines(lines, form)]


def find_in_text(text: str, first_line: int = 1) -> list[Traceback]:
    """Every traceback in a block of log text; origins are line numbers from ``first_line``."""
    parts = _line_texts(text)
    return find_in_lines(list(map(LogLine, parts, range(first_line, first_line + len(parts)))))


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
        parsed, _, _, _ = _frames(cur)
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


def _lambda_error(record: Mapping[str, object], origin: int) -> Traceback | None:
    etype = record.get("errorType")
    if not isinstance(etype, str) or not etype:
        return None
    message = record.get("errorMessage")
    exc = RaisedException(
        etype,
        str(message).split("\n", 1)[0] if message is not None else "",
        _stack_frames(record.get("stackTrace")),
    )
    return Traceback((exc,), _record_text(record), "lambda_json", origin, request_id=_request_id(record))


# Where a JSON error carries the one it wraps: Step Functions (``Error`` / ``Cause`` in a state's
# output, ``error`` / ``cause`` in execution history ``*EventDetails``), and error objects.
_NESTING_KEYS = ("Cause", "cause", "error", "Error", "errorInfo", "exception", "detail")


def _nested_error(value: object, origin: int, depth: int = 0) -> Traceback | None:
    """A Lambda JSON error nested in ``value``: an object, or a JSON string (a ``Cause``)."""
    if depth > MAX_JSON_NESTING:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.startswith("{") and "errorType" in text) or len(text) > MAX_NESTED_JSON_TEXT:
            return None
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # nesting past the stack is not a log record
            return None
    if not isinstance(value, Mapping):
        return None
    found = _lambda_error(value, origin)
    if found is not None:
        return found
    for key, inner in value.items():
        if key in _NESTING_KEYS or key.endswith("EventDetails"):
            found = _nested_error(inner, origin, depth + 1)
            if found is not None:
                return found
    return None


def from_record(record: Mapping[str, object], origin: int = 0) -> list[Traceback] | None:
    """Tracebacks of a structured (JSON) log record, or None when it has no error fields.

    Lambda's ``errorType``/``errorMessage``/``stackTrace`` (the unhandled-error JSON and the
    JSON log format) give the final exception only, also when nested in another JSON error (a
    Step Functions ``Cause`` string or an ``error`` object); a Powertools ``exception`` field
    holds the whole formatted traceback, chain included, and its ``stack_trace`` is the fallback.
    """
    direct = _lambda_error(record, origin)
    if direct is not None:
        return [direct]
    found = _powertools(record, origin, _request_id(record))
    if found is not None:
        return found
    nested = _nested_error(record, origin)
    if nested is not None:
        return [replace(nested, text=_record_text(record))]
    return None


def _powertools(record: Mapping[str, object], origin: int, request_id: str = "") -> list[Traceback] | None:
    """Tracebacks of a Powertools-style record's ``exception`` / ``stack_trace`` fields, naming
    ``request_id``."""
    text = record.get("exception")
    if isinstance(text, str) and text.strip():
        found = find_in_text(text, origin)
        if found:
            # The record's request id, when it names one, replaces one read from the text.
            named = {"request_id": request_id} if request_id else {}
            return [replace(tb, form="powertools_json", origin=origin, **named) for tb in found]
        trace = record.get("stack_trace")
        name = record.get("exception_name")
        if isinstance(trace, Mapping) and isinstance(trace.get("type"), str):
            module = trace.get("module")
            qualified = trace["type"] if module in (None, "builtins") else f"{module}.{trace['type']}"
            value = str(trace.get("value") or "").split("\n", 1)[0]
            exc = RaisedException(qualified, value, _powertools_frames(trace))
            return [Traceback((exc,), _record_text(record), "powertools_json", origin, request_id=request_id)]
        if isinstance(name, str) and name:
            last = text.strip().splitlines()[-1]
            found_line = _exception_line(last)
            msg = found_line[1] if found_line else ""
            exc = RaisedException(name, msg)
            reason = "the record's exception text holds no readable traceback"
            raw = _record_text(record)
            tb = Traceback((exc,), raw, "powertools_json", origin, True, truncated_reason=reason, request_id=request_id)
            return [tb]
    return None


# Keys a log shipper adds beside the ``log`` text of one line it forwards: FireLens / Fluent Bit
# (``container_id``, ``container_name``, ``source``), Docker's json-file driver (``stream``, ``time``).
_SHIPPER_KEYS = ("container_id", "container_name", "source", "stream")


def shipped_line(record: Mapping[str, object]) -> str | None:
    """The text of a record a log shipper wrapped around one line (or a few) of a container's
    output (``{"log": ..., "container_name": ..., "source": "stderr"}``), else None. Such lines
    are read as text, so that a traceback printed one line per record is put together again."""
    text = record.get("log")
    if not isinstance(text, str) or not any(key in record for key in _SHIPPER_KEYS):
        return None
    return text.rstrip("\n")


def shipped_stream(record: Mapping[str, object]) -> str:
    """Which output of which container a shipped line came from (lines of one traceback share it)."""
    container = record.get("container_id") or record.get("container_name") or ""
    return f"{container}/{record.get('source') or record.get('stream') or ''}"


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
            request_id = _request_id(record)
            out.extend(replace(tb, origin=origin, request_id=request_id) for tb in find_in_text(message, origin))
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
