"""CloudWatch Logs reads: the rest of a stream after a traceback's first lines."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core.logs_payload import LogEvent
from chalicelib.errors import TransientError


class LogStreamReader:
    """GetLogEvents from a point in a stream onward."""

    def __init__(self, client: Any) -> None:
        self._logs = client

    def events_from(self, log_group: str, log_stream: str, start_ms: int, limit: int) -> list[LogEvent]:
        """Up to ``limit`` events of the stream from ``start_ms`` on, oldest first."""
        try:
            answer = self._logs.get_log_events(
                logGroupName=log_group,
                logStreamName=log_stream,
                startTime=start_ms,
                startFromHead=True,
                limit=limit,
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise TransientError(f"GetLogEvents {log_group}/{log_stream} failed: {code}") from exc
        return [
            LogEvent(str(e.get("eventId", n)), int(e["timestamp"]), str(e["message"]), n, log_stream)
            for n, e in enumerate(answer.get("events", []))
        ]
