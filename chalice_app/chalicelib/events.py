"""Typed, read-only views of the raw Lambda events, made once at the edge.

Core code never sees AWS shapes: these classes decode payloads, deserialize DynamoDB images and
parse message bodies, raising PayloadError when an event is malformed.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer
from chalice.app import BaseLambdaEvent, Chalice

from chalicelib.core.logs_payload import LogsBatch, decode_batch
from chalicelib.core.models import FixJob, Status
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_DE = TypeDeserializer()


class CloudWatchLogsEvent(BaseLambdaEvent):
    """A CloudWatch Logs subscription delivery: ``{"awslogs": {"data": base64(gzip(json))}}``.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample
    """

    def _extract_attributes(self, event_dict: dict[str, Any]) -> None:
        awslogs = event_dict.get("awslogs") if isinstance(event_dict, dict) else None
        data = awslogs.get("data") if isinstance(awslogs, dict) else None
        self.data: str | None = data if isinstance(data, str) else None

    @cached_property
    def batch(self) -> LogsBatch:
        """The decoded payload; PayloadError when it is not a subscription delivery."""
        if self.data is None:
            raise PayloadError("event has no awslogs.data string: not a CloudWatch Logs subscription event")
        return decode_batch(self.data)

    @property
    def log_group(self) -> str:
        """The log group the events came from."""
        return self.batch.log_group

    @property
    def log_stream(self) -> str:
        """The log stream the events came from."""
        return self.batch.log_stream

    def __str__(self) -> str:
        return f"CloudWatchLogsEvent(data=<{len(self.data or '')} chars>)"


def on_cw_logs(
    app: Chalice, name: str | None = None
) -> Callable[[Callable[[CloudWatchLogsEvent], Any]], Any]:
    """Register a CloudWatch Logs subscription handler (Chalice has no decorator for it).

    The function receives a CloudWatchLogsEvent. Which log groups feed it, and with which filter
    pattern, is deploy-time configuration (Terraform variables), not code.
    """

    def register(func: Callable[[CloudWatchLogsEvent], Any]) -> Any:
        @app.lambda_function(name=name or func.__name__)
        def handler(event: dict[str, Any], context: Any) -> Any:
            return func(CloudWatchLogsEvent(event, context))

        handler.__doc__ = func.__doc__
        return handler

    return register


class GroupStreamRecord:
    """One DynamoDB stream record of the error-group table, images deserialized once."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        try:
            self.event_id = str(raw["eventID"])
            self.event_name = str(raw["eventName"])
            change = raw["dynamodb"]
            self.sequence_number = str(change["SequenceNumber"])
        except (KeyError, TypeError) as exc:
            raise PayloadError(f"stream record lacks {exc}") from exc
        self.new_image = {k: _DE.deserialize(v) for k, v in (change.get("NewImage") or {}).items()}
        self.old_image = {k: _DE.deserialize(v) for k, v in (change.get("OldImage") or {}).items()}

    @property
    def fingerprint(self) -> str:
        """The group's key."""
        image = self.new_image or self.old_image
        return str(image.get("fingerprint", ""))

    def job(self) -> FixJob | None:
        """The fix job this change calls for: a new group, or one explicitly re-opened.
        Counter bumps (MODIFY with status unchanged) and everything else call for none."""
        new_status = self.new_image.get("status")
        if new_status != Status.NEW:
            return None
        if self.event_name == "INSERT":
            trigger = "new"
        elif self.event_name == "MODIFY" and self.old_image.get("status") in Status.REOPENABLE:
            trigger = "reopened"
        else:
            return None
        return FixJob(
            fingerprint=self.fingerprint,
            exception_type=str(self.new_image.get("exception_type", "")),
            occurrences=int(self.new_image.get("occurrences", 0)),
            trigger=trigger,
            token=self.event_id,
        )

    def __str__(self) -> str:
        return f"GroupStreamRecord({self.event_name} {self.fingerprint} #{self.sequence_number})"


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
        attributes = raw.get("attributes") or {}
        self.receive_count = int(attributes.get("ApproximateReceiveCount", 1))

    def __str__(self) -> str:
        return f"FixJobMessage({self.message_id} {self.job.fingerprint})"
