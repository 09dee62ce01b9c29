"""Recognise what a log file holds and find its tracebacks.

Accepted, tried in this order:

1. a CloudWatch Logs subscription payload, as JSON or in its base64+gzip wire form (alone, or
   wrapped as a Lambda event ``{"awslogs": {"data": ...}}``); gzip files too;
2. a ``FilterLogEvents`` / ``GetLogEvents`` answer (``{"events": [...]}``) or a JSON list;
3. one JSON document: a structured log record (Lambda JSON, Powertools);
4. text, where every line that is a JSON object is a record (a JSON-lines export) and the other
   lines are raw log text.

Origins are 1-based line numbers for text and JSON lines, 0-based event indexes for payloads.

Bounded: a gzip file inflates to at most ``MAX_FILE_BYTES`` and a base64 payload to the
subscription limit (``logs_payload.MAX_PAYLOAD_BYTES``), in bounded steps; encodings nest at most
``MAX_ENCODING_LAYERS`` deep. A file that is base64 but not a gzip payload, or a cut-off gzip,
raises PayloadError rather than being read as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.logs_payload import LogEvent, decode_data, find_in_batch, find_in_events, inflate, parse_batch
from chalicelib.core.tracebacks import LogLine, find_in_lines, find_in_records, split_lines
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


def _from_lines(text: str) -> list[Traceback]:
    lines: list[LogLine] = []
    records: list[tuple[Mapping[str, object], int]] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                value = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError):  # nesting past the stack is not a log record
                value = None
            if isinstance(value, dict):
                records.append((value, n))
                continue
        lines.extend(split_lines(raw, n) if ("\r" in raw or "\u00a0" in raw) else [LogLine(raw, n)])
    found = find_in_lines(lines) + find_in_records(records)
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
