"""CloudWatch Logs reads: the rest of a stream after a traceback's first lines."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.core.logs_payload import LogEvent


class LogStreamReader:
    """GetLogEvents from a point in a stream onward."""

    def __init__(self, client: Any) -> None:
        self._logs = client

    def events_from(self, log_group: str, log_stream: str, start_ms: int, limit: int) -> list[LogEvent]:
        """Up to ``limit`` events of the stream from ``start_ms`` on, oldest first; the SelfHealError
        ``aws_errors.translate`` gives when the read fails."""
        try:
            answer = self._logs.get_log_events(
                logGroupName=log_group,
                logStreamName=log_stream,
                startTime=start_ms,
                startFromHead=True,
                limit=limit,
            )
        except ClientError as exc:
            raise translate(exc, f"GetLogEvents {log_group}/{log_stream}") from exc
        return [
            LogEvent(str(e.get("eventId", n)), int(e["timestamp"]), str(e["message"]), n, log_stream)
            for n, e in enumerate(answer.get("events", []))
        ]
