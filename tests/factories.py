"""Event factories: every record gets a fresh id, as AWS would give it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.core.logs_payload import encode_data

if TYPE_CHECKING:
    from collections.abc import Sequence

BASE_TS = 1_795_000_000_000


def payload(
    messages: Sequence[str],
    log_group: str = "/aws/lambda/shop",
    log_stream: str | None = None,
    start: int = BASE_TS,
) -> dict:
    """A CloudWatch Logs DATA_MESSAGE with one event per message, 1 ms apart."""
    first = uuid.uuid4().int % 10**40
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": log_stream or f"2026/11/22/[$LATEST]{uuid.uuid4().hex}",
        "subscriptionFilters": ["selfheal"],
        "logEvents": [
            {"id": f"{first + n:056d}", "timestamp": start + n, "message": m} for n, m in enumerate(messages)
        ],
    }


def encode_payload(doc: dict) -> str:
    """The subscription wire form: base64(gzip(json))."""
    return encode_data(doc)


def logs_event(doc: dict) -> dict:
    """The Lambda event a subscription filter delivers."""
    return {"awslogs": {"data": encode_payload(doc)}}
