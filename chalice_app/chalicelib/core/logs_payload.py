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
import gzip
import json
import zlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.core.tracebacks import (
    LogLine,
    Scan,
    find_in_records,
    from_record,
    scan_window,
    shipped_line,
    split_lines,
)
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from chalicelib.core.models import Traceback

CONTROL_MESSAGE = "CONTROL_MESSAGE"
DATA_MESSAGE = "DATA_MESSAGE"

# The most a subscription payload may inflate to. CloudWatch Logs puts at most 1 MiB of messages
# (plus 26 bytes per event) in a PutLogEvents batch and a subscription delivery is smaller than
# Lambda's 1 MiB invoke payload; as JSON, escaping can grow a message up to 6x (``\u0001``) and
# 10,000 events add about 1 MB of ids and timestamps. 8 MiB covers all of that with room to
# spare, and stays far below a 512 MB function's memory: a gzip bomb is refused, not inflated.
MAX_PAYLOAD_BYTES = 8 << 20
_INFLATE_STEP = 1 << 20


class LogEvent(NamedTuple):
    """One log event: CloudWatch's id and epoch-ms timestamp, its text, its index in the batch."""

    id: str
    timestamp: int
    message: str
    index: int
    log_stream: str = ""


@dataclass(frozen=True)
class LogsBatch:
    """A decoded subscription payload. Events are held as columns (ids, timestamps, messages):
    a batch holds up to 10,000 events and most are only ever tested for a substring."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    ids: tuple[str, ...] = ()
    timestamps: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()

    @property
    def is_control(self) -> bool:
        """CloudWatch's reachability check, sent when a subscription is created: no events."""
        return self.message_type == CONTROL_MESSAGE

    @property
    def events(self) -> tuple[LogEvent, ...]:
        """The log events in delivered order."""
        return tuple(
            LogEvent(i, t, m, n, self.log_stream)
            for n, (i, t, m) in enumerate(zip(self.ids, self.timestamps, self.messages, strict=True))
        )


def inflate(compressed: bytes, limit: int, what: str = "logs payload", members: bool = False) -> bytes:
    """gzip (or zlib) data → bytes, never more than ``limit`` bytes of output.

    Decompresses in steps of at most 1 MiB with ``zlib.decompressobj(...).decompress(data,
    max_length)``, so memory stays bounded whatever the ratio. PayloadError when the data is not
    gzip, is cut off, or inflates past ``limit``. With ``members``, concatenated gzip members are
    read one after the other (``cat a.gz b.gz``); otherwise bytes after the first end are ignored.
    """
    out = bytearray()
    data = compressed
    while True:
        # MAX_WBITS | 32 accepts a gzip or a zlib header.
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
        try:
            chunk = inflater.decompress(data, _INFLATE_STEP)
            while True:
                out += chunk
                if len(out) > limit:
                    raise PayloadError(f"{what} inflates past {limit:,} bytes: refused (a gzip bomb?)")
                tail = inflater.unconsumed_tail
                if inflater.eof or (not tail and len(chunk) < _INFLATE_STEP):
                    break  # the end, or the input is used up with no output pending
                chunk = inflater.decompress(tail, _INFLATE_STEP)
        except zlib.error as exc:
            raise PayloadError(f"{what} is not gzip data: {exc}") from exc
        if not inflater.eof:
            raise PayloadError(f"{what} is truncated: the gzip stream ends before its end marker")
        data = inflater.unused_data
        if not members or not data.strip(b"\0"):
            return bytes(out)


def decode_data(data: str | bytes) -> bytes:
    """base64 + gzip (or zlib) → bytes, with a PayloadError saying which step failed; at most
    ``MAX_PAYLOAD_BYTES`` are inflated."""
    try:
        compressed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"logs payload is not base64: {exc}") from exc
    return inflate(compressed, MAX_PAYLOAD_BYTES)


def encode_data(payload: Mapping[str, object] | bytes) -> str:
    """The subscription wire encoding, ``decode_data``'s inverse: base64(gzip(json)).

    ``payload`` is the decoded document (serialized as JSON) or bytes already serialized.
    """
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.b64encode(gzip.compress(raw)).decode()


def loads_text(raw: bytes) -> object:
    """JSON from bytes; invalid UTF-8 is kept as U+FFFD rather than dropped or ASCII-folded."""
    try:
        return json.loads(raw.decode("utf-8", errors="replace"))
    except (json.JSONDecodeError, RecursionError) as exc:  # nesting past the stack is not a log record
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
    raw_events: list[Any] = _require(obj, "logEvents", list)  # type: ignore[assignment]
    try:  # the fast path: plain columns, checked after; a precise error only when it fails
        messages = tuple(map(itemgetter("message"), raw_events))
        timestamps = tuple(map(itemgetter("timestamp"), raw_events))
        ids = tuple(map(itemgetter("id"), raw_events))
        if not set(map(type, ids)) <= {str}:  # CloudWatch's ids are strings: one C-level test
            ids = tuple(map(str, ids))
        valid = set(map(type, messages)) <= {str} and set(map(type, timestamps)) <= {int}
    except (KeyError, TypeError):
        valid = False
    if not valid:
        _explain_bad_event(raw_events)
    filters = obj.get("subscriptionFilters") or ()
    return LogsBatch(
        DATA_MESSAGE,
        str(obj.get("owner", "")),
        str(_require(obj, "logGroup", str)),
        str(_require(obj, "logStream", str)),
        tuple(str(f) for f in filters) if isinstance(filters, list) else (),
        ids,
        timestamps,
        messages,
    )


def _explain_bad_event(raw_events: list[Any]) -> None:
    for index, item in enumerate(raw_events):
        if not isinstance(item, Mapping) or not isinstance(item.get("message"), str):
            raise PayloadError(f"log event {index} has no message string")
        if not isinstance(item.get("timestamp"), int):
            raise PayloadError(f"log event {index} has no integer timestamp")
        if "id" not in item:
            raise PayloadError(f"log event {index} has no id")


def decode_batch(data: str | bytes) -> LogsBatch:
    """A subscription's ``awslogs.data`` string → LogsBatch; PayloadError when malformed."""
    return parse_batch(loads_text(decode_data(data)))


def _delivery_order(ids: Sequence[str], timestamps: Sequence[int]) -> list[int] | None:
    """Positions by (timestamp, id), or None when the events already are in that order.

    Deliveries are nearly always in order; checking that with C-level sorts of plain lists
    costs far less than sorting by a Python key. Event ids are decimal strings: a shorter one
    is a smaller number.
    """
    stamps = list(timestamps)
    if stamps == sorted(stamps):
        if len(set(stamps)) == len(stamps):
            return None
        if len({len(i) for i in ids}) <= 1 and list(ids) == sorted(ids):
            return None
    return sorted(range(len(ids)), key=lambda k: (timestamps[k], len(ids[k]), ids[k]))


def _as_record(message: str) -> Mapping[str, object] | None:
    """A JSON log record that may carry an error; plain text and other records give None."""
    text = message.lstrip()
    if not text.startswith("{"):
        return None
    if "rror" not in text and '"exception"' not in text and "Traceback" not in text:
        return None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # nesting past the stack is not a log record
        return None
    return value if isinstance(value, dict) else None


def _shipped(message: str) -> str:
    """The line a log shipper's record (FireLens, Docker json-file) carries, else the message."""
    try:
        value = json.loads(message)
    except (json.JSONDecodeError, RecursionError):
        return message
    text = shipped_line(value) if isinstance(value, dict) else None
    return message if text is None else text


class _Stream:
    """One stream's events in (timestamp, id) order, as columns; ``origins`` are batch indexes."""

    def __init__(self, ids: Sequence[str], timestamps: Sequence[int], messages: Sequence[str]) -> None:
        order = _delivery_order(ids, timestamps)
        if order is None:
            self.messages, self.timestamps = messages, timestamps
            self.origins: Sequence[int] = range(len(messages))
        else:
            self.messages = [messages[k] for k in order]
            self.timestamps = [timestamps[k] for k in order]
            self.origins = order

    def lines(self, start: int, end: int, shipped: bool = False) -> tuple[list[LogLine], list[int]]:
        """The lines of events ``start:end``, and for each line the position of its event; with
        ``shipped``, a shipper's record of one line (FireLens) gives the line it carries."""
        if not shipped:
            messages = self.messages[start:end]
            joined = "".join(messages)  # one C-level test for the window: most events are one line
            if "\n" not in joined and "\r" not in joined and "\u00a0" not in joined:
                origins, stamps = self.origins[start:end], self.timestamps[start:end]
                return list(map(LogLine, messages, origins, stamps)), list(range(start, end))
        lines: list[LogLine] = []
        positions: list[int] = []
        for pos in range(start, end):
            message = self.messages[pos]
            if shipped and message.startswith("{"):
                message = _shipped(message)
            if "\n" in message or "\r" in message or "\u00a0" in message:
                split = split_lines(message, self.origins[pos], self.timestamps[pos])
                lines.extend(split)
                positions.extend([pos] * len(split))
            else:
                lines.append(LogLine(message, self.origins[pos], self.timestamps[pos]))
                positions.append(pos)
        return lines, positions

    def scan_from(self, start: int, shipped: bool = False) -> tuple[list[Traceback], int]:
        """Tracebacks of the text events from ``start``, and the last event position they used
        (``shipped``: the events are a shipper's records of one line each)."""
        size = 1  # a whole traceback in one event needs no more
        lines: list[LogLine] = []
        positions: list[int] = []
        read = start  # the window's lines are read once, then extended as it grows
        scan: Scan | None = None  # the last window's scan: it goes on where it can (scan_window)
        while True:
            end = min(len(self.messages), start + size)
            more, more_positions = self.lines(read, end, shipped)
            lines += more
            positions += more_positions
            read = end
            if len(lines) == 1 and end < len(self.messages):
                # One line alone is always cut (a traceback found in it ends at its end, and none
                # found means its header may go on in the events after): read further unparsed.
                size *= 8
                continue
            scan = scan_window(lines, "line_events", bare_headers=True, prior=scan)
            found = scan.found
            # Read further when the last traceback may go on past the window, or when the
            # candidate event alone held none (its header may be followed by one line per event).
            cut = found[-1][1] >= len(lines) if found else size == 1
            if cut and end < len(self.messages):
                size *= 8
                continue
            last = positions[found[-1][1] - 1] if found else start
            return [tb for tb, _ in found], last


# What an event must contain to start a traceback or carry a structured error (and "| ",
# searched apart in ``_candidates``).
_MARKERS = ("Traceback (", 'File "', "[ERROR]", "errorType", '"exception"')
_MAX_BARS = 64


def _candidates(messages: Sequence[str]) -> list[int]:
    """Positions of the events that hold a marker. This runs for every event of every batch, so
    it searches one joined string with ``str.find`` instead of testing each event in Python."""
    # Joined without a separator: a marker spanning two events only adds a candidate, and every
    # candidate is parsed properly. Both lines run at C speed.
    joined = "".join(messages)
    ends = list(accumulate(map(len, messages)))  # end offset (exclusive) of each event
    hits: set[int] = set()
    for marker in _MARKERS:
        at = joined.find(marker)
        while at != -1:
            k = bisect_right(ends, at)
            hits.add(k)
            at = joined.find(marker, ends[k])
    # "| " (a box line) is searched as "|", rare in log text, then its space: str.find of a
    # needle ending in a space stops at every space of the batch. After _MAX_BARS bars without
    # a space (text full of "|"), the plain search takes over: the Python loop stays bounded.
    needle, bars = "|", 0
    at = joined.find(needle)
    while at != -1:
        if joined.startswith(" ", at + 1):
            k = bisect_right(ends, at)
            hits.add(k)
            at = joined.find(needle, ends[k])
            continue
        bars += 1
        if bars >= _MAX_BARS:
            needle = "| "
        at = joined.find(needle, at + 1)
    return sorted(hits)


def _find(ids: Sequence[str], timestamps: Sequence[int], messages: Sequence[str], log_stream: str) -> list[Traceback]:
    stream = _Stream(ids, timestamps, messages)
    candidates = _candidates(stream.messages)
    found: list[Traceback] = []
    covered = -1
    for pos in candidates:
        record = _as_record(stream.messages[pos])
        shipped = record is not None and shipped_line(record) is not None and from_record(record) is None
        if shipped:
            record = None  # one line of a container's output: read with the lines around it
        if record is not None:  # a JSON record stands alone, wherever a text scan reached
            stamp = stream.timestamps[pos]
            given = {"timestamp": stamp, "log_stream": log_stream} if log_stream else {"timestamp": stamp}
            found.extend(replace(tb, **given) for tb in find_in_records([(record, stream.origins[pos])]))
            continue
        if pos <= covered:
            continue
        tracebacks, covered = stream.scan_from(pos, shipped)
        found.extend(tracebacks)
    found.sort(key=lambda tb: tb.origin)
    # The records carry their stream already (one ``replace`` each, not two).
    return [tb if tb.log_stream == log_stream else replace(tb, log_stream=log_stream) for tb in found]


def find_in_events(events: Iterable[LogEvent], log_stream: str = "") -> list[Traceback]:
    """Tracebacks of one stream's events: JSON records read structurally, text reassembled in
    (timestamp, id) order. Origins are the events' ``index`` values. A traceback whose header is
    the stream's last line comes back ``truncated``: the caller may fetch the rest of the stream.
    """
    listed = list(events)
    found = _find([e.id for e in listed], [e.timestamp for e in listed], [e.message for e in listed], log_stream)
    return [replace(tb, origin=listed[tb.origin].index) for tb in found]


def find_in_batch(batch: LogsBatch) -> list[Traceback]:
    """Every traceback of a subscription batch (none for a CONTROL_MESSAGE)."""
    if batch.is_control:
        return []
    return _find(batch.ids, batch.timestamps, batch.messages, batch.log_stream)
