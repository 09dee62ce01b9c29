"""The fields of a new error group, built from what one batch observed: redacted and bounded.

Everything the store keeps about a bug comes from log text an attacker may control, so every field
is redacted (``core.redact``) and bounded in UTF-8 bytes, the unit of DynamoDB's 400 KB item limit:

    field            bound                                   why
    exception_type   256 B                                   a class name
    message          4 KB                                    the first line of the final message
    frames           50 (the first 10 and the last 40)       outermost calls and the raising ones
      file / function / source   512 / 256 / 512 B each      paths and one source line
    sample           16 KB of the rendered trace             what a reader and the prompt need
    reason           2 KB                                    one sentence and an error text

So a group item stays under ~110 KB before the fixer's few small attributes, whatever the trace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core.fingerprint import GROUPING_VERSION, base36, raw_fingerprint
from chalicelib.core.models import Frame
from chalicelib.core.redact import redact
from chalicelib.core.tracebacks import render

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from chalicelib.core.models import Observation

TYPE_BYTES = 256
MESSAGE_BYTES = 4_096
SAMPLE_BYTES = 16_384
REASON_BYTES = 2_048
FILE_BYTES = 512
FUNCTION_BYTES = 256
SOURCE_BYTES = 512
HEAD_FRAMES = 10  # outermost frames kept: the entry point
TAIL_FRAMES = 40  # innermost frames kept: where it raised
CLIPPED = " …[clipped]"


@dataclass(frozen=True)
class NewGroupFields:
    """What the store sets once, when a group is created; never overwritten by later batches."""

    exception_type: str
    message: str
    frames: tuple[Frame, ...]
    sample: str
    raw_fingerprint: str
    # The grouping recipe that made the fingerprint (core/fingerprint.py GROUPING_VERSION).
    grouping_version: int = GROUPING_VERSION


def clip(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes (never inside a character), marked when cut."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    room = max(0, max_bytes - len(CLIPPED.encode()))
    return data[:room].decode("utf-8", "ignore") + CLIPPED


def redact_clipped(text: str, max_bytes: int) -> str:
    """Redacted, then clipped. A huge text is redacted from a head several times the bound first
    (redaction time stays bounded); when that head's redaction could leave a secret cut at the
    head's end inside the kept bytes, the whole text is redacted instead."""
    head = text[: max_bytes * 4]
    out = redact(head)
    if len(head) < len(text) and len(out.encode("utf-8", "replace")) <= max_bytes:
        out = redact(text)
    return clip(out, max_bytes)


def bounded_frames(frames: Sequence[Frame]) -> tuple[Frame, ...]:
    """At most HEAD_FRAMES + TAIL_FRAMES frames, each string redacted (an e-mail in a home
    directory is personal data) and clipped."""
    kept: Iterable[Frame] = frames
    if len(frames) > HEAD_FRAMES + TAIL_FRAMES:
        kept = (*frames[:HEAD_FRAMES], *frames[-TAIL_FRAMES:])
    return tuple(
        Frame(
            redact_clipped(f.file, FILE_BYTES),
            f.line,
            redact_clipped(f.function, FUNCTION_BYTES) if f.function else f.function,
            redact_clipped(f.source, SOURCE_BYTES),
        )
        for f in kept
    )


def new_group_fields(observation: Observation) -> NewGroupFields:
    """The redacted, bounded fields of the group ``observation`` creates (if it is new)."""
    tb = observation.traceback
    final = tb.final
    return NewGroupFields(
        exception_type=redact_clipped(final.type, TYPE_BYTES),
        message=redact_clipped(final.message, MESSAGE_BYTES),
        frames=bounded_frames(final.frames),
        sample=redact_clipped(render(tb), SAMPLE_BYTES),
        raw_fingerprint=raw_fingerprint(tb),
    )


def bounded_reason(reason: str) -> str:
    """A stored reason (why FAILED / SKIPPED): redacted and clipped (it may quote model or log text)."""
    return redact_clipped(reason, REASON_BYTES)


def batch_token(log_group: str, log_stream: str, event_ids: Iterable[str], last_timestamp: int) -> str:
    """The identity of one log delivery, the same on every retry of it: ``<epoch ms, base 36>.<md5, 8 hex>``
    (17 characters: a group keeps up to 32, in the item every occurrence rewrites; two deliveries of
    one bug among them share a hash once in 2^32/32 deliveries).

    The time prefix (the batch's newest event) lets the store forget the oldest tokens first.
    """
    digest = hashlib.md5(usedforsecurity=False)
    for part in (log_group, log_stream, *event_ids):
        digest.update(part.encode("utf-8", "replace") + b"\0")
    return f"{base36(max(0, last_timestamp))}.{digest.hexdigest()[:8]}"


def packed_token(token: str) -> bytes:
    """A delivery token as a group item keeps it (``seen``, a binary set): 8 bytes, the epoch second of
    its time prefix (4 bytes, big-endian, so that the bytes sort by time) and 4 bytes of the token's md5.
    A hot group keeps up to 33 in the item every occurrence rewrites: 264 bytes, not 561 as text."""
    seconds = min(max(0, token_time(token) // 1000), 2**32 - 1)
    digest = hashlib.md5(token.encode("utf-8", "replace"), usedforsecurity=False).digest()
    return seconds.to_bytes(4, "big") + digest[:4]


def token_time(token: str) -> int:
    """The epoch ms a delivery token carries (tokens of 11 hex digits came before base 36); 0 if none."""
    prefix = token.split(".", 1)[0]
    try:
        return int(prefix, 16 if len(prefix) >= 11 else 36)
    except ValueError:
        return 0
