"""stream_processor's use case: new and re-opened groups become fix jobs on the queue, within the
spend limits (core/governor.py ``decide_spend``).

    stream record ─job()─▶ NEW→QUEUED (this record) ─decide_spend─▶ send: take the hour's and the
      day's unit (one conditional write) ─▶ auto_jobs + 1 ─▶ SendMessageBatch
                                         └▶ skip: QUEUED→SKIPPED with the rule, the reason and how
                                            it waits (budget: the sweep / a later recurrence;
                                            occurrences: ingest at the minimum; none: a person)
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.core.governor import GroupFacts, SpendLimits, SpendState, SpendVerdict, decide_spend, hour_start
from chalicelib.core.models import Status
from chalicelib.core.notices import burst_notice
from chalicelib.errors import PayloadError, TransientError
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.services.batches import PartialItemFailureResponse, failures
from chalicelib.services.ingest import now_ms
from chalicelib.services.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.queue import FixQueue
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.models import FixJob
    from chalicelib.services.metrics import Counter
    from chalicelib.services.notifications import Notifier

log = logging.getLogger(__name__)
BUDGET_RULES = frozenset({"hourly-budget", "daily-budget", "token-ceiling"})
DECIDE_TRIES = 3  # a lost race on the counters re-reads them and decides again
# EMF metric per refusing rule.
SKIP_METRICS = {"min-occurrences": "JobsBelowMinimum", "one-automatic-attempt": "JobsRepeatRefused"}


def group_facts(record: GroupStreamRecord, job: FixJob) -> GroupFacts:
    """The spend decision's view of the group, from the stream record's images."""
    image = record.new_image
    return GroupFacts(
        fingerprint=job.fingerprint,
        occurrences=int(image.get("occurrences", job.occurrences) or 0),
        trigger=job.trigger,
        reopened_by=str(image.get("reopened_by", "")),
        resumed_by=str(image.get("resumed_by", "")),
        auto_jobs=int(image.get("auto_jobs", 0) or 0),
        previous_status=str(record.old_image.get("status", "")),
    )


class Enqueue:
    """INSERT (new group) or re-open → NEW→QUEUED conditional write → spend decision → SendMessageBatch.

    Idempotent under stream replays: the QUEUED write remembers the record's eventID, so a
    replayed record may send its job again (a duplicate the fixer's claim absorbs) while a
    second record for the same group (moto emits two INSERTs per new item) sends nothing.

    Bounded: at most ``limits.fixes_per_hour`` jobs leave per clock hour and ``fixes_per_day`` per
    UTC day (one counter item a day, both taken in one conditional write), none once the day's
    model tokens reach ``tokens_per_day``, none for a group seen fewer than ``min_occurrences``
    times, and one automatic job per group (core/governor.py). A replayed record takes a second
    unit: the budget errs towards fewer jobs, never more. ``jobs_per_hour`` alone (no ``limits``)
    keeps the old single hourly budget.
    """

    def __init__(
        self,
        store: ErrorGroupStore,
        queue: FixQueue,
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        jobs_per_hour: int = 0,  # 0: no budget
        notifier: Notifier | None = None,
        limits: SpendLimits | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._limits = limits if limits is not None else SpendLimits(fixes_per_hour=jobs_per_hour)
        self._notifier = notifier
        self._state: tuple[int, SpendState] | None = None  # (hour start, counters) read for this batch

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Process a stream batch; returns the records to retry.

        A record without a SequenceNumber cannot be named in ``batchItemFailures`` (an empty
        identifier fails the whole batch, neighbours included, over and over): DynamoDB never sends
        one, so it is not a record of ours; it is logged and counted (``StreamRecordsDropped``),
        never retried.
        """
        failed: list[str] = []
        pending: list[tuple[str, FixJob]] = []
        skipped: Tally[str] = Tally()
        dropped = new_groups = 0
        services: dict[str, int] = {}
        self._state = None
        for raw in event.get("Records", []):
            sequence = str((raw.get("dynamodb") or {}).get("SequenceNumber", "") if isinstance(raw, dict) else "")
            try:
                record = GroupStreamRecord(raw)
                job = record.job()
                if job is None or not self._store.mark_queued(job.fingerprint, job.token, self._clock()):
                    continue
                new_groups += job.trigger == "new"
                services[job.service] = services.get(job.service, 0) + 1
                verdict = self._admit(record, job)
                if verdict is None:
                    continue
                if verdict.send:
                    pending.append((record.sequence_number, job))
                else:
                    skipped[verdict.rule] += 1
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
        queued = len(pending) - len(unsent)
        over_budget = sum(n for rule, n in skipped.items() if rule in BUDGET_RULES)
        self._metrics.count("JobsQueued", queued)
        self._metrics.count("JobsOverBudget", over_budget)
        for rule, metric in SKIP_METRICS.items():
            self._metrics.count(metric, skipped[rule])
        self._metrics.count("StreamRecordsDropped", dropped)
        # A burst (a bad deploy) is one summary, never a message per group.
        notice = burst_notice(
            new_groups=max(new_groups, queued + over_budget),
            queued=queued,
            over_budget=over_budget,
            budget=self._limits.fixes_per_hour,
            skipped=dict(skipped),
            limits=self._limits.describe(),
            services=services,
        )
        tell(self._notifier, notice, self._metrics)
        self._metrics.flush()
        return failures(failed)

    def _admit(self, record: GroupStreamRecord, job: FixJob) -> SpendVerdict | None:
        """Decide, then make the decision durable: take the job's units and count it, or skip the
        group with its wait. A lost race (the counters moved, or a delivery counted more
        occurrences) re-reads and decides again. None when the group moved on meanwhile."""
        facts = group_facts(record, job)
        for _ in range(DECIDE_TRIES):
            now = self._clock()
            verdict = decide_spend(facts, self._limits, self._counters(now), now)
            if verdict.send:
                if self._take(now):
                    self._store.job_sent(job.fingerprint, job.token, now)
                    return verdict
                self._state = None  # another stream processor took the last unit: read again
                continue
            if self._store.skip_for_spend(job.fingerprint, job.token, now, verdict):
                log.info("fix job skipped: %s", verdict.stored_reason(), extra={"fingerprint": job.fingerprint})
                return verdict
            group = self._store.get(job.fingerprint)
            if group is None or group.status != Status.QUEUED or group.occurrences <= facts.occurrences:
                return None  # moved on (claimed, re-opened by hand): not ours to skip any more
            facts = replace(facts, occurrences=group.occurrences)  # counted past the minimum meanwhile
        raise TransientError(f"group {job.fingerprint}: the spend counters kept moving; retried")

    def _counters(self, now: int) -> SpendState:
        """The hour's and day's counters, read once per batch and hour (none when nothing is limited)."""
        limits = self._limits
        if not (limits.fixes_per_hour or limits.fixes_per_day or limits.tokens_per_day):
            return SpendState()
        if self._state is None or self._state[0] != hour_start(now):
            self._state = (hour_start(now), self._store.spend_state(now))
        return self._state[1]

    def _take(self, now: int) -> bool:
        """Take one unit of the hour's and the day's budgets (nothing to take without limits)."""
        limits = self._limits
        if not (limits.fixes_per_hour or limits.fixes_per_day):
            return True
        if not self._store.take_fix_job(now, limits.fixes_per_hour, limits.fixes_per_day):
            return False
        if self._state is not None:
            hour, state = self._state
            self._state = (hour, replace(state, hour_used=state.hour_used + 1, day_used=state.day_used + 1))
        return True
