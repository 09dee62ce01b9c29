"""Typed, read-only view of one GitHub webhook delivery (an API Gateway / ``chalice local`` request).

Header names are matched without regard to case: API Gateway passes them as GitHub sent them,
``chalice local`` and HTTP/2 proxies in lower case. The body is kept raw (the signature covers
the exact bytes) and parsed only on demand, bounded in size; a body that is not a JSON object
raises PayloadError.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Mapping

# GitHub caps payloads at 25 MB; API Gateway's REST APIs at 10 MB. The deliveries selfheal acts
# on (pull_request, issue_comment) are tens of KB: a larger body is refused before parsing.
MAX_BODY_BYTES = 2 * 1024 * 1024


class WebhookDelivery:
    """One delivery: its headers, raw body and, on demand, its parsed payload."""

    def __init__(self, headers: Mapping[str, str], body: bytes | str | None) -> None:
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        self.body = body.encode() if isinstance(body, str) else (body or b"")

    @property
    def event(self) -> str:
        """``X-GitHub-Event``: the event's name (``ping``, ``pull_request``, ``issue_comment``…)."""
        return self.headers.get("x-github-event", "")

    @property
    def delivery_id(self) -> str:
        """``X-GitHub-Delivery``: the delivery's GUID (kept by a redelivery)."""
        return self.headers.get("x-github-delivery", "")

    @property
    def signature(self) -> str:
        """``X-Hub-Signature-256``: ``sha256=<hex>`` of the body under the webhook secret ('' when absent)."""
        return self.headers.get("x-hub-signature-256", "")

    @cached_property
    def payload(self) -> dict[str, Any]:
        """The body as a JSON object; PayloadError when too large, not JSON, or not an object."""
        if len(self.body) > MAX_BODY_BYTES:
            raise PayloadError(f"webhook body of {len(self.body)} bytes is over {MAX_BODY_BYTES}")
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise PayloadError(f"webhook body is not JSON: {str(exc)[:80]}") from exc
        if not isinstance(data, dict):
            raise PayloadError("webhook body is not a JSON object")
        return data

    def __str__(self) -> str:
        return f"WebhookDelivery({self.event or '?'} {self.delivery_id or '?'}, {len(self.body)} bytes)"
