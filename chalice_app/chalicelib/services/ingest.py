"""log_processor's use case: a subscription batch in, one write per bug out."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.core.fingerprint import observe
from chalicelib.core.logs_payload import find_in_batch, find_in_events
from chalicelib.errors import TransientError

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.adapters.logs import LogStreamReader
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.logs_payload import LogsBatch
    from chalicelib.core.models import Traceback
    from chalicelib.services.metrics import Counter

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


class Ingest:
    """Find tracebacks in a batch, complete cut-off ones from the stream, record each bug once."""

    def __init__(
        self,
        store: ErrorGroupStore,
        metrics: Counter,
        reader: LogStreamReader | None = None,
        fetch_lines: int = 200,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._reader = reader
        self._fetch_lines = fetch_lines
        self._clock = clock

    def handle(self, batch: LogsBatch) -> dict[str, int]:
        """Process one subscription batch; PayloadError (malformed) and TransientError propagate
        so Lambda retries the delivery and, failing that, keeps it at the failure destination."""
        if batch.is_control:
            return {"tracebacks": 0, "groups": 0, "new_groups": 0}
        tracebacks = []
        for tb in find_in_batch(batch):
            tb = self._complete(batch, tb)
            if not tb.final.type and not any(e.frames for e in tb.exceptions):
                # Only a header, and the stream holds no more: nothing to group or fix by.
                log.warning("traceback header without a body", extra={"log_stream": batch.log_stream})
                self._metrics.count("TracebacksUnreadable")
                continue
            tracebacks.append(tb)
        observations = observe(tracebacks, batch.log_group, default_ts=self._clock())
        new = self._store.record_all(observations, self._clock())
        self._metrics.count("ErrorsSeen", len(tracebacks))
        self._metrics.count("NewGroups", new)
        self._metrics.flush()
        log.info(
            "batch processed",
            extra={
                "log_group": batch.log_group,
                "events": len(batch.messages),
                "tracebacks": len(tracebacks),
            },
        )
        return {"tracebacks": len(tracebacks), "groups": len(observations), "new_groups": new}

    def _complete(self, batch: LogsBatch, tb: Traceback) -> Traceback:
        """A traceback the subscription filter cut off (only matching lines are delivered):
        read the rest of its stream with GetLogEvents and parse it again from its header."""
        if not tb.truncated or self._reader is None or tb.timestamp is None:
            return tb
        try:
            events = self._reader.events_from(batch.log_group, batch.log_stream, tb.timestamp, self._fetch_lines)
        except TransientError:
            log.warning("could not read the rest of a cut-off traceback", exc_info=True)
            return tb
        for full in find_in_events(events, batch.log_stream):
            if full.timestamp == tb.timestamp and not full.truncated:
                return replace(full, origin=tb.origin)
        return tb
