"""CloudWatch Logs subscription payloads: decode them and find the tracebacks their events hold.

A subscription delivers ``{"awslogs": {"data": base64(gzip(json))}}``; the JSON names the log
group and stream and lists events ``{id, timestamp, message}``. A traceback may sit whole in one
event (Lambda, Powertools, ``logging`` with a multi-line handler) or be split one line per event
(a container's stdout); events of one stream are reassembled in (timestamp, id) order.
See https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chalicelib.core.tracebacks import (
    LogLine,
    find_in_lines,
    find_in_records,
    may_contain_traceback,
    split_lines,
)
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from chalicelib.core.models import Traceback

CONTROL_MESSAGE = "CONTROL_MESSAGE"
DATA_MESSAGE = "DATA_MESSAGE"


@dataclass(frozen=True)
class LogEvent:
    """One log event: CloudWatch's id and epoch-ms timestamp, its text, its index in the batch."""

    id: str
    timestamp: int
    message: str
    index: int
    log_stream: str = ""


@dataclass(frozen=True)
class LogsBatch:
    """A decoded subscription payload."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    events: tuple[LogEvent, ...]

    @property
    def is_control(self) -> bool:
        """CloudWatch's reachability check, sent when a subscription is created: no events."""
        return self.message_type == CONTROL_MESSAGE


def decode_data(data: str | bytes) -> bytes:
    """base64 + gzip (or zlib) → bytes, with a PayloadError saying which step failed."""
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"logs payload is not base64: {exc}") from exc
    try:
        # MAX_WBITS | 32 accepts a gzip or a zlib header.
        return zlib.decompress(compressed, zlib.MAX_WBITS | 32)
    except zlib.error as exc:
        raise PayloadError(f"logs payload is not gzip data: {exc}") from exc


def loads_text(raw: bytes) -> object:
    """JSON from bytes; invalid UTF-8 is kept as U+FFFD rather than dropped or ASCII-folded."""
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except json.JSONDecodeError as exc:
        raise PayloadError(f"logs payload is not JSON: {exc.msg} at {exc.pos}") from exc


def _require(obj: Mapping[str, object], key: str, kind: type) -> object:
    value = obj.get(key)
    if not isinstance(value, kind):
        raise PayloadError(f"logs payload field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def parse_batch(obj: object) -> LogsBatch:
    """Validate a decoded payload's shape and wrap it; PayloadError names the first bad field."""
    if not isinstance(obj, Mapping):
        raise PayloadError(f"logs payload must be a JSON object, got {type(obj).__name__}")
    message_type = str(_require(obj, "messageType", str))
    if message_type == CONTROL_MESSAGE:
        return LogsBatch(CONTROL_MESSAGE, str(obj.get("owner", "")), "", "", (), ())
    if message_type != DATA_MESSAGE:
        raise PayloadError(f"unknown logs messageType {message_type!r}")
    raw_events = _require(obj, "logEvents", list)
    events: list[LogEvent] = []
    for index, item in enumerate(raw_events):  # type: ignore[arg-type]
        if not isinstance(item, Mapping) or not isinstance(item.get("message"), str):
            raise PayloadError(f"log event {index} has no message string")
        ts = item.get("timestamp")
        if not isinstance(ts, int):
            raise PayloadError(f"log event {index} has no integer timestamp")
        events.append(LogEvent(str(item.get("id", index)), ts, item["message"], index))
    filters = obj.get("subscriptionFilters") or ()
    return LogsBatch(
        DATA_MESSAGE,
        str(obj.get("owner", "")),
        str(_require(obj, "logGroup", str)),
        str(_require(obj, "logStream", str)),
        tuple(str(f) for f in filters) if isinstance(filters, list) else (),
        tuple(events),
    )


def decode_batch(data: str | bytes) -> LogsBatch:
    """A subscription's ``awslogs.data`` string → LogsBatch; PayloadError when malformed."""
    return parse_batch(loads_text(decode_data(data)))


def _order_key(event: LogEvent) -> tuple[int, int, str]:
    # Event ids are decimal strings of equal length within a stream; compare them as numbers.
    return (event.timestamp, int(event.id) if event.id.isdigit() else event.index, event.id)


def _as_record(message: str) -> Mapping[str, object] | None:
    text = message.lstrip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def find_in_events(events: Iterable[LogEvent], log_stream: str = "") -> list[Traceback]:
    """Tracebacks of one stream's events: JSON records read structurally, text reassembled.

    Origins are the events' indexes in their batch. A traceback whose header is the stream's
    last line comes back ``truncated``: the caller may fetch the rest of the stream.
    """
    ordered = sorted(events, key=_order_key)
    if not any(may_contain_traceback(e.message) or "errorType" in e.message for e in ordered):
        return []
    lines: list[LogLine] = []
    records: list[tuple[Mapping[str, object], int]] = []
    for event in ordered:
        record = _as_record(event.message)
        if record is not None:
            records.append((record, event.index))
            continue
        message = event.message
        if "\n" in message or "\r" in message or "\u00a0" in message:
            lines.extend(split_lines(message, event.index, event.timestamp))
        else:
            lines.append(LogLine(message, event.index, event.timestamp))
    found = find_in_lines(lines, "line_events") + find_in_records(records)
    found.sort(key=lambda tb: tb.origin)
    return [replace(tb, log_stream=log_stream) for tb in found]


def find_in_batch(batch: LogsBatch) -> list[Traceback]:
    """Every traceback of a subscription batch (none for a CONTROL_MESSAGE)."""
    if batch.is_control:
        return []
    return find_in_events(batch.events, batch.log_stream)


def group_by_stream(events: Sequence[LogEvent]) -> dict[str, list[LogEvent]]:
    """Events of an export that mixes streams, per stream, in their original order."""
    streams: dict[str, list[LogEvent]] = {}
    for event in events:
        streams.setdefault(event.log_stream, []).append(event)
    return streams
