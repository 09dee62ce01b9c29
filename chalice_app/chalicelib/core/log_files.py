"""Recognise what a log file holds and find its tracebacks.

Accepted, tried in this order:

1. a CloudWatch Logs subscription payload, as JSON or in its base64+gzip wire form (alone, or
   wrapped as a Lambda event ``{"awslogs": {"data": ...}}``); gzip files too;
2. a ``FilterLogEvents`` / ``GetLogEvents`` answer (``{"events": [...]}``) or a JSON list;
3. one JSON document: a structured log record (Lambda JSON, Powertools);
4. text, where every line that is a JSON object is a record (a JSON-lines export) and the other
   lines are raw log text.

Origins are 1-based line numbers for text and JSON lines, 0-based event indexes for payloads.
Text lines may carry a prefix (``aws logs tail``'s time and stream, a container name, a syslog
header), also before a JSON record; a log shipper's record of one line (FireLens, Docker's
json-file driver) is read as that container's text.

``read_log_events`` reads the same forms as the CloudWatch events they hold, for
``selfheal local --logs``, and names the form it recognised (``LogFile.describe``).

Bounded: a gzip file inflates to at most ``MAX_FILE_BYTES`` and a base64 payload to the
subscription limit (``logs_payload.MAX_PAYLOAD_BYTES``), in bounded steps; encodings nest at most
``MAX_ENCODING_LAYERS`` deep. A file that is base64 but not a gzip payload, or a cut-off gzip,
raises PayloadError rather than being read as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.logs_payload import LogEvent, decode_data, find_in_batch, find_in_events, inflate, parse_batch
from chalicelib.core.tracebacks import (
    MAX_PREFIX,
    LogLine,
    find_in_lines,
    find_in_records,
    from_record,
    shipped_line,
    shipped_stream,
    split_lines,
)
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from chalicelib.core.models import Traceback

# The wire form as a file: base64 characters, possibly wrapped over lines, nothing else.
_BASE64 = re.compile(rb"[A-Za-z0-9+/=\r\n]{16,}+")
# What a gzip file may inflate to. A log file compresses 10-20x; 64 MiB of text is already a
# few minutes of parsing on one core. Bigger logs: decompress them yourself and pass the text.
MAX_FILE_BYTES = 64 << 20
# gzip of base64 of gzip...: more layers than this is not a log file.
MAX_ENCODING_LAYERS = 3


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _events_from_export(items: list[Any]) -> list[LogEvent] | None:
    """Export rows ``{"timestamp", "message", ["logStreamName"], ["eventId"]}`` as events."""
    events = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("message"), str):
            return None
        ts = item.get("timestamp", 0)
        events.append(
            LogEvent(
                str(item.get("eventId", item.get("id", index))),
                ts if isinstance(ts, int) else 0,
                item["message"],
                index,
                str(item.get("logStreamName", "")),
            )
        )
    return events


def _from_events(events: list[LogEvent]) -> list[Traceback]:
    streams: dict[str, list[LogEvent]] = {}
    for event in events:
        streams.setdefault(event.log_stream, []).append(event)
    found: list[Traceback] = []
    for stream, stream_events in streams.items():
        found.extend(find_in_events(stream_events, stream))
    return sorted(found, key=lambda tb: tb.origin)


def _from_document(doc: object) -> list[Traceback] | None:
    """Tracebacks of a whole-file JSON document, or None when its shape is not one we know."""
    if isinstance(doc, Mapping):
        awslogs = doc.get("awslogs")
        if isinstance(awslogs, Mapping) and isinstance(awslogs.get("data"), str):
            return find_in_batch(parse_batch(json.loads(_text(decode_data(awslogs["data"])))))
        if "messageType" in doc:
            return find_in_batch(parse_batch(doc))
        if isinstance(doc.get("events"), list):
            events = _events_from_export(doc["events"])
            if events is not None:
                return _from_events(events)
            # Not log events: records such as a Step Functions execution history.
            return find_in_records([(item, n) for n, item in enumerate(doc["events"]) if isinstance(item, Mapping)])
        return find_in_records([(doc, 1)])
    if isinstance(doc, list):
        events = _events_from_export(doc)
        if events is not None:
            return _from_events(events)
        records = [(item, n + 1) for n, item in enumerate(doc) if isinstance(item, Mapping)]
        return find_in_records(records)
    return None


def _record_behind_prefix(line: str) -> str:
    """A JSON record behind a line prefix (``aws logs tail``'s time and stream, a syslog header),
    else the line: the first ``{`` within ``MAX_PREFIX`` characters starts it."""
    at = line.find("{", 0, MAX_PREFIX)
    return line[at:] if at > 0 and line[at - 1] == " " else line


def _from_lines(text: str) -> list[Traceback]:
    """Tracebacks of text whose JSON-object lines are records; a shipper's records (FireLens,
    Docker json-file: one line of a container's output each) are read as that container's text."""
    streams: dict[str, list[LogLine]] = {"": []}
    records: list[tuple[Mapping[str, object], int]] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        target = streams[""]
        if stripped.endswith("}") and not stripped.startswith("{"):
            stripped = _record_behind_prefix(stripped)
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                value = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError):  # nesting past the stack is not a log record
                value = None
            if isinstance(value, dict):
                shipped = shipped_line(value)
                if shipped is None or from_record(value, n) is not None:
                    records.append((value, n))
                    continue
                raw = shipped
                target = streams.setdefault(shipped_stream(value), [])
        target.extend(split_lines(raw, n) if ("\r" in raw or "\n" in raw or "\u00a0" in raw) else [LogLine(raw, n)])
    found = [tb for lines in streams.values() for tb in find_in_lines(lines)] + find_in_records(records)
    return sorted(found, key=lambda tb: tb.origin)


def read_tracebacks(data: bytes, _layer: int = 0) -> list[Traceback]:
    """Every traceback in the bytes of one log file, whatever of the accepted forms it is in.

    Raises PayloadError when the file claims to be a payload (gzip, base64 wire form, JSON
    payload shape) but is malformed, too large once inflated, or nested too deep.
    """
    if _layer > MAX_ENCODING_LAYERS:
        raise PayloadError(f"more than {MAX_ENCODING_LAYERS} layers of gzip / base64: not a log file")
    if data[:2] == b"\x1f\x8b":
        try:
            data = inflate(data, MAX_FILE_BYTES, "gzip file", members=True)
        except PayloadError as exc:
            raise PayloadError(f"gzip file is corrupt or too large: {exc}") from exc
        return read_tracebacks(data, _layer + 1)
    stripped = data.strip()
    if _BASE64.fullmatch(stripped) and not stripped.isalpha():
        joined = b"".join(stripped.split())
        if len(joined) % 4 == 0:
            # Base64 from end to end: the subscription wire form, so anything but a payload in it
            # is a malformed payload, not text (a single word or hex hash is not base64-padded).
            return read_tracebacks(decode_data(joined), _layer + 1)
    text = _text(data)
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # nesting past the stack is not a log record
            doc = None
        if doc is not None:
            found = _from_document(doc)
            if found is not None:
                return found
    return _from_lines(text)


# --- a log file as the CloudWatch events it was (``selfheal local --logs``) ---------------------

# ``aws logs tail``'s default (detailed) line: ``<ISO time, microseconds, offset> <stream> <message>``;
# the lines of a multi-line event after its first are printed without it.
_TAIL_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d) (\S++) ?(.*+)")
# Its ``--format short`` line: ``<time to the second, UTC> <message>``.
_SHORT_TAIL_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)()(?: (.*+))?")


@dataclass(frozen=True)
class LogFile:
    """A log file read as CloudWatch events, and the form it was recognised as (said to the user)."""

    form: str
    events: tuple[LogEvent, ...]

    def describe(self, name: str) -> str:
        """One line for the user: ``read app.json as a FilterLogEvents answer: 26 events``."""
        return f"read {name} as {self.form}: {len(self.events):,} event{'s' if len(self.events) != 1 else ''}"


def _record_events(records: list[Any]) -> tuple[LogEvent, ...]:
    return tuple(LogEvent(str(n), 0, json.dumps(item, ensure_ascii=False), n) for n, item in enumerate(records))


def _document_events(doc: object) -> LogFile | None:
    """A whole-file JSON document as events, or None when its shape is not one we know."""
    if isinstance(doc, Mapping):
        awslogs = doc.get("awslogs")
        if isinstance(awslogs, Mapping) and isinstance(awslogs.get("data"), str):
            batch = parse_batch(json.loads(_text(decode_data(awslogs["data"]))))
            return LogFile("a Lambda event holding a CloudWatch Logs subscription payload", batch.events)
        if "messageType" in doc:
            return LogFile("a CloudWatch Logs subscription payload", parse_batch(doc).events)
        if isinstance(doc.get("events"), list):
            events = _events_from_export(doc["events"])
            if events is not None:
                named = any(e.log_stream for e in events)
                return LogFile("a FilterLogEvents answer" if named else "a GetLogEvents answer", tuple(events))
            records = [item for item in doc["events"] if isinstance(item, Mapping)]
            return LogFile("a JSON document of records (events)", _record_events(records))
        return LogFile("one JSON record", _record_events([doc]))
    if isinstance(doc, list):
        events = _events_from_export(doc)
        if events is not None:
            return LogFile("a JSON list of log events", tuple(events))
        records = [item for item in doc if isinstance(item, Mapping)]
        if records:
            return LogFile("a JSON list of records", _record_events(records))
    return None


def _tail_events(lines: list[str], pattern: re.Pattern[str]) -> tuple[LogEvent, ...] | None:
    """``aws logs tail`` output as its events (a multi-line event's later lines joined back), or
    None when the first line is not one it prints."""
    first = next((line for line in lines if line.strip()), "")
    if not pattern.fullmatch(first.rstrip("\r")):
        return None
    events: list[LogEvent] = []
    for line in lines:
        m = pattern.fullmatch(line) if line[:1].isdigit() else None
        if m is not None:
            when = datetime.fromisoformat(m[1])
            stamp = int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)
            events.append(LogEvent(str(len(events)), stamp, m[3] or "", len(events), m[2]))
        elif events:
            last = events[-1]
            events[-1] = last._replace(message=f"{last.message}\n{line}")
    while events and not events[-1].message.strip():
        events.pop()
    return tuple(events)


def _text_events(text: str) -> LogFile:
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    tail = _tail_events(lines, _TAIL_LINE)
    if tail is not None:
        return LogFile("aws logs tail output", tail)
    tail = _tail_events(lines, _SHORT_TAIL_LINE)
    if tail is not None:
        return LogFile("aws logs tail output (--format short)", tail)
    objects = sum(1 for line in lines if line.strip().startswith("{") and line.strip().endswith("}"))
    text_lines = sum(1 for line in lines if line.strip()) - objects
    form = "JSON lines" if objects and not text_lines else f"text with {objects:,} JSON lines" if objects else "text"
    return LogFile(form, tuple(LogEvent(str(n), 0, line, n) for n, line in enumerate(lines)))


def read_log_events(data: bytes, _layer: int = 0) -> LogFile:
    """One log file as the CloudWatch Logs events it holds, in every form ``read_tracebacks`` reads.

    A subscription payload (JSON, wire form, gzip) and a ``FilterLogEvents`` / ``GetLogEvents``
    answer give their events; JSON records one event each; ``aws logs tail`` output its events
    (with their times and streams); other text one event per line, as a container's output is
    shipped. Raises PayloadError for a malformed payload and for a file in no form we know
    (empty, binary, a JSON value that is neither log events nor records).
    """
    if _layer > MAX_ENCODING_LAYERS:
        raise PayloadError(f"more than {MAX_ENCODING_LAYERS} layers of gzip / base64: not a log file")
    if data[:2] == b"\x1f\x8b":
        try:
            inner = inflate(data, MAX_FILE_BYTES, "gzip file", members=True)
        except PayloadError as exc:
            raise PayloadError(f"gzip file is corrupt or too large: {exc}") from exc
        found = read_log_events(inner, _layer + 1)
        return LogFile(f"gzip of {found.form}", found.events)
    stripped = data.strip()
    if not stripped:
        raise PayloadError("the file is empty: no log events to read")
    if _BASE64.fullmatch(stripped) and not stripped.isalpha() and len(b"".join(stripped.split())) % 4 == 0:
        found = read_log_events(decode_data(b"".join(stripped.split())), _layer + 1)
        return LogFile(f"{found.form} (base64 wire form)", found.events)
    if b"\0" in data:
        raise PayloadError("binary data, not log text, JSON or a payload: not a log file")
    text = _text(data)
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # JSON lines, or text that starts with a bracket
            doc = None
        if doc is not None:
            found = _document_events(doc)
            if found is None:
                raise PayloadError(
                    "a JSON document that is neither log events (a FilterLogEvents answer, a "
                    "subscription payload) nor log records: not a log file"
                )
            return found
    return _text_events(text)
