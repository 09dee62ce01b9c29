"""Recognise what a log file holds and find its tracebacks.

Accepted, tried in this order:

1. a CloudWatch Logs subscription payload, as JSON or in its base64+gzip wire form (alone, or
   wrapped as a Lambda event ``{"awslogs": {"data": ...}}``); gzip files too;
2. a ``FilterLogEvents`` / ``GetLogEvents`` answer (``{"events": [...]}``) or a JSON list;
3. one JSON document: a structured log record (Lambda JSON, Powertools);
4. text, where every line that is a JSON object is a record (a JSON-lines export) and the other
   lines are raw log text.

Origins are 1-based line numbers for text and JSON lines, 0-based event indexes for payloads.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.core.logs_payload import LogEvent, decode_data, find_in_batch, find_in_events, parse_batch
from chalicelib.core.tracebacks import LogLine, find_in_lines, find_in_records, split_lines
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from chalicelib.core.models import Traceback

_BASE64 = re.compile(rb"^[A-Za-z0-9+/=\s]{16,}$")


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
            return _from_events(events) if events is not None else None
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
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                records.append((value, n))
                continue
        lines.extend(split_lines(raw, n) if ("\r" in raw or "\u00a0" in raw) else [LogLine(raw, n)])
    found = find_in_lines(lines) + find_in_records(records)
    return sorted(found, key=lambda tb: tb.origin)


def read_tracebacks(data: bytes) -> list[Traceback]:
    """Every traceback in the bytes of one log file, whatever of the accepted forms it is in.

    Raises PayloadError when the file claims to be a payload (base64/gzip/JSON payload shape)
    but is malformed.
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PayloadError(f"gzip file is corrupt: {exc}") from exc
    stripped = data.strip()
    if _BASE64.match(stripped) and not stripped.isalpha():
        try:
            decoded = decode_data(b"".join(stripped.split()))
        except PayloadError:
            decoded = None
        if decoded is not None:
            return read_tracebacks(decoded)
    text = _text(data)
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            doc = None
        if doc is not None:
            found = _from_document(doc)
            if found is not None:
                return found
    return _from_lines(text)
