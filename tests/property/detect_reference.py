"""The event windowing of ``core/logs_payload.py`` and ``fingerprint.observe`` as they were before
their fast paths, kept as the reference the differential tests compare against
(tests/property/test_detect_fast_paths.py).

Only the parts that changed are here (the marker search, the window's lines, the window growth,
the per-record ``replace``, ``observe`` pairing the records twice); everything else is the
modules' own code, so a difference the tests find is a difference of the fast paths.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace
from itertools import accumulate
from typing import TYPE_CHECKING

from chalicelib.core.fingerprint import _more_complete, failure_tokens, grouping, repeats
from chalicelib.core.logs_payload import _as_record, _delivery_order, _shipped
from chalicelib.core.models import Observation
from chalicelib.core.tracebacks import LogLine, find_in_records, from_record, scan_lines, shipped_line, split_lines

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import Traceback

MARKERS = ("Traceback (", 'File "', "| ", "[ERROR]", "errorType", '"exception"')


def candidates(messages: Sequence[str]) -> list[int]:
    joined = "".join(messages)
    ends = list(accumulate(map(len, messages)))
    hits: set[int] = set()
    for marker in MARKERS:
        at = joined.find(marker)
        while at != -1:
            k = bisect_right(ends, at)
            hits.add(k)
            at = joined.find(marker, ends[k])
    return sorted(hits)


class Stream:
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
        size = 1
        while True:
            end = min(len(self.messages), start + size)
            lines, positions = self.lines(start, end, shipped)
            found = scan_lines(lines, "line_events", bare_headers=True)
            cut = found[-1][1] >= len(lines) if found else size == 1
            if cut and end < len(self.messages):
                size *= 8
                continue
            last = positions[found[-1][1] - 1] if found else start
            return [tb for tb, _ in found], last


def find(ids: Sequence[str], timestamps: Sequence[int], messages: Sequence[str], log_stream: str) -> list[Traceback]:
    stream = Stream(ids, timestamps, messages)
    found: list[Traceback] = []
    covered = -1
    for pos in candidates(stream.messages):
        record = _as_record(stream.messages[pos])
        shipped = record is not None and shipped_line(record) is not None and from_record(record) is None
        if shipped:
            record = None
        if record is not None:
            stamp = stream.timestamps[pos]
            found.extend(replace(tb, timestamp=stamp) for tb in find_in_records([(record, stream.origins[pos])]))
            continue
        if pos <= covered:
            continue
        tracebacks, covered = stream.scan_from(pos, shipped)
        found.extend(tracebacks)
    found.sort(key=lambda tb: tb.origin)
    return [replace(tb, log_stream=log_stream) for tb in found] if log_stream else found


def observe(tracebacks: list[Traceback], log_group: str, default_ts: int = 0, service: str = "default") -> list:
    """``fingerprint.observe`` as it was: the full grouping's hash, ``repeats`` and
    ``failure_tokens`` each pairing the records on their own."""
    prints = [grouping(tb, service).fingerprint for tb in tracebacks]
    seen: dict[str, Observation] = {}
    marks = zip(repeats(tracebacks, prints), failure_tokens(tracebacks, prints), strict=True)
    for tb, fp, (repeat, tokens) in zip(tracebacks, prints, marks, strict=True):
        ts = tb.timestamp if tb.timestamp is not None else default_ts
        known = seen.get(fp)
        if known is None:
            seen[fp] = Observation(
                fp, tb, 0 if repeat else 1, ts, ts, log_group, service or "default", failure_tokens=tokens
            )
            continue
        sample = tb if _more_complete(tb, known.traceback) else known.traceback
        seen[fp] = replace(
            known,
            traceback=sample,
            count=known.count + (0 if repeat else 1),
            first_seen=min(known.first_seen, ts),
            last_seen=max(known.last_seen, ts),
            failure_tokens=known.failure_tokens + tokens,
        )
    return list(seen.values())
