"""stream_processor's use case: new and re-opened groups become fix jobs on the queue."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from chalicelib.core.notices import burst_notice
from chalicelib.errors import PayloadError
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.services.batches import PartialItemFailureResponse, failures
from chalicelib.services.ingest import BUDGET_REASON, now_ms
from chalicelib.services.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.queue import FixQueue
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.models import FixJob
    from chalicelib.services.metrics import Counter
    from chalicelib.services.notifications import Notifier

log = logging.getLogger(__name__)
HOUR_S = 3_600


class Enqueue:
    """INSERT (new group) or re-open → NEW→QUEUED conditional write → budget → SendMessageBatch.

    Idempotent under stream replays: the QUEUED write remembers the record's eventID, so a
    replayed record may send its job again (a duplicate the fixer's claim absorbs) while a
    second record for the same group (moto emits two INSERTs per new item) sends nothing.

    Bounded: at most ``jobs_per_hour`` jobs leave per clock hour (a conditional counter in the
    table). A group past it is SKIPPED with BUDGET_REASON; ingest re-opens it the next time it
    occurs (a new job, in a later hour's budget), and ``selfheal retry`` re-opens it by hand.
    A replayed record takes a second unit: the budget errs towards fewer jobs, never more.
    """

    def __init__(
        self,
        store: ErrorGroupStore,
        queue: FixQueue,
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        jobs_per_hour: int = 0,  # 0: no budget
        notifier: Notifier | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._jobs_per_hour = jobs_per_hour
        self._notifier = notifier

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Process a stream batch; returns the records to retry.

        A record without a SequenceNumber cannot be named in ``batchItemFailures`` (an empty
        identifier fails the whole batch, neighbours included, over and over): DynamoDB never sends
        one, so it is not a record of ours; it is logged and counted (``StreamRecordsDropped``),
        never retried.
        """
        failed: list[str] = []
        pending: list[tuple[str, FixJob]] = []
        dropped = over_budget = 0
        services: dict[str, int] = {}
        for raw in event.get("Records", []):
            sequence = str((raw.get("dynamodb") or {}).get("SequenceNumber", "") if isinstance(raw, dict) else "")
            try:
                record = GroupStreamRecord(raw)
                job = record.job()
                if job is None or not self._store.mark_queued(job.fingerprint, job.token, self._clock()):
                    continue
                services[job.service] = services.get(job.service, 0) + 1
                if self._within_budget():
                    pending.append((record.sequence_number, job))
                else:
                    over_budget += 1
                    reason = f"{BUDGET_REASON} ({self._jobs_per_hour} an hour); re-opened when it occurs again"
                    self._store.skip_queued(job.fingerprint, job.token, self._clock(), reason)
            except PayloadError as exc:
                if sequence:
                    log.exception("stream record failed", extra={"sequence_number": sequence})
                    failed.append(sequence)
                else:
                    log.error("stream record without a SequenceNumber dropped: %s", exc)
                    dropped += 1
            except Exception:  # one bad record must not fail its neighbours
                log.exception("stream record failed", extra={"sequence_number": sequence})
                if sequence:
                    failed.append(sequence)
                else:
                    dropped += 1
        unsent = {job.token for job in self._queue.send([job for _, job in pending])}
        failed += [seq for seq, job in pending if job.token in unsent]
        self._metrics.count("JobsQueued", len(pending) - len(unsent))
        self._metrics.count("JobsOverBudget", over_budget)
        self._metrics.count("StreamRecordsDropped", dropped)
        # A burst (a bad deploy) is one summary, never a message per group.
        queued = len(pending) - len(unsent)
        notice = burst_notice(
            new_groups=queued + over_budget,
            queued=queued,
            over_budget=over_budget,
            budget=self._jobs_per_hour,
            services=services,
        )
        tell(self._notifier, notice, self._metrics)
        self._metrics.flush()
        return failures(failed)

    def _within_budget(self) -> bool:
        if self._jobs_per_hour <= 0:
            return True
        now_s = self._clock() // 1000
        return self._store.take_budget("jobs", now_s - now_s % HOUR_S, HOUR_S, self._jobs_per_hour)
