"""Typed, read-only view of one SQS fix-job message; a body that is not a job raises PayloadError."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.core.models import FixJob
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Mapping


class FixJobMessage:
    """One SQS fix-job message."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.message_id = str(raw.get("messageId", ""))
        try:
            body = json.loads(raw["body"])
            fingerprint = body["fingerprint"]
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise PayloadError(f"fix job message {self.message_id} is not a job: {exc}") from exc
        if not isinstance(fingerprint, str) or len(fingerprint) != 32:
            raise PayloadError(f"fix job message {self.message_id} has no 32-char fingerprint")
        self.job = FixJob(
            fingerprint=fingerprint,
            exception_type=str(body.get("exception_type", "")),
            occurrences=int(body.get("occurrences", 0) or 0),
            trigger=str(body.get("trigger", "new")),
            token=str(body.get("token", "")),
        )

    def __str__(self) -> str:
        return f"FixJobMessage({self.message_id} {self.job.fingerprint})"
