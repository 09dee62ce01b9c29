"""Invoke a deployed selfheal function synchronously and return its answer (the operator's approve)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.errors import SelfHealError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.adapters.settings import Settings

# One attempt: a retried invoke could run an approved plan twice (the remediator refuses a second
# run, but the operator would read its refusal); the read timeout outlasts the remediator's own.
INVOKE = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=900)


class LambdaInvoker:
    """``invoke(name, event)``: RequestResponse invoke; the function's JSON answer, or SelfHealError
    with the function's error message when it raised."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def for_settings(cls, settings: Settings) -> LambdaInvoker:
        """An invoker with its own Lambda client (one attempt, long read timeout)."""
        kwargs: dict[str, Any] = {"region_name": settings.region, "config": INVOKE}
        if settings.endpoint_url:
            kwargs["endpoint_url"] = settings.endpoint_url
        return cls(boto3.session.Session().client("lambda", **kwargs))

    def invoke(self, name: str, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            answer = self._client.invoke(
                FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
            )
        except ClientError as exc:
            raise translate(exc, f"lambda.Invoke {name}") from exc
        body = answer["Payload"].read()
        doc = json.loads(body) if body else {}
        if answer.get("FunctionError"):
            message = doc.get("errorMessage", body[:300]) if isinstance(doc, dict) else body[:300]
            raise SelfHealError(f"{name}: {message}")
        return dict(doc)
