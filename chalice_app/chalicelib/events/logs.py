"""CloudWatch Logs subscription events for Chalice, which has no decorator for them.

Kept free of boto3 so that importing app.py stays cheap.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalice.app import BaseLambdaEvent, Chalice

from chalicelib.core.logs_payload import LogsBatch, decode_batch
from chalicelib.errors import PayloadError

if TYPE_CHECKING:
    from collections.abc import Callable


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

    @property
    def remaining_ms(self) -> Callable[[], int] | None:
        """The invocation's ``get_remaining_time_in_millis`` (None outside Lambda): the time budget."""
        return getattr(self.context, "get_remaining_time_in_millis", None)

    def __str__(self) -> str:
        return f"CloudWatchLogsEvent(data=<{len(self.data or '')} chars>)"


def on_cw_logs(app: Chalice, name: str | None = None) -> Callable[[Callable[[CloudWatchLogsEvent], Any]], Any]:
    """Register a CloudWatch Logs subscription handler (Chalice has no decorator for it).

    The function receives a CloudWatchLogsEvent. Which log groups feed it, and with which filter
    pattern, is deploy-time configuration (Terraform variables), not code.
    """

    def register(func: Callable[[CloudWatchLogsEvent], Any]) -> Any:
        def handler(event: dict[str, Any], context: Any) -> Any:
            return func(CloudWatchLogsEvent(event, context))

        # The Lambda handler string is "app.<__name__>": it must be the name app.py binds.
        handler.__name__ = handler.__qualname__ = func.__name__
        handler.__doc__ = func.__doc__
        return app.lambda_function(name=name or func.__name__)(handler)

    return register
