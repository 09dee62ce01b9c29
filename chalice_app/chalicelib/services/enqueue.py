"""stream_processor's use case: new and re-opened groups become fix jobs on the queue."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.events.streams import GroupStreamRecord
from chalicelib.services.batches import PartialItemFailureResponse, failures
from chalicelib.services.ingest import now_ms

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.queue import FixQueue
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.models import FixJob
    from chalicelib.services.metrics import Counter

log = logging.getLogger(__name__)


class Enqueue:
    """INSERT (new group) or re-open → NEW→QUEUED conditional write → SendMessageBatch.

    Idempotent under stream replays: the QUEUED write remembers the record's eventID, so a
    replayed record may send its job again (a duplicate the fixer's claim absorbs) while a
    second record for the same group (moto emits two INSERTs per new item) sends nothing.
    """

    def __init__(
        self, store: ErrorGroupStore, queue: FixQueue, metrics: Counter, clock: Callable[[], int] = now_ms
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Process a stream batch; returns the records to retry."""
        failed: list[str] = []
        pending: list[tuple[str, FixJob]] = []
        for raw in event.get("Records", []):
            try:
                record = GroupStreamRecord(raw)
                job = record.job()
                if job is not None and self._store.mark_queued(job.fingerprint, job.token, self._clock()):
                    pending.append((record.sequence_number, job))
            except Exception:  # one bad record must not fail its neighbours
                log.exception("stream record failed", extra={"event_id": raw.get("eventID")})
                failed.append(str((raw.get("dynamodb") or {}).get("SequenceNumber", "")))
        unsent = {job.token for job in self._queue.send([job for _, job in pending])}
        failed += [seq for seq, job in pending if job.token in unsent]
        self._metrics.count("JobsQueued", len(pending) - len(unsent))
        self._metrics.flush()
        return failures(failed)
