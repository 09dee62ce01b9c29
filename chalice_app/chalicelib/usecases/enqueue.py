"""stream_processor's use case: new and re-opened groups become fix jobs on the queue, within the
spend limits (core/spend.py ``decide_spend``).

    stream record ─job()─▶ NEW→QUEUED (this record) ─fixability─▶ not a code fault: QUEUED→SKIPPED
      with the class and its reason (no token, no budget unit spent; environment groups named in one
      notice per batch)
                                                    └▶ code ─decide_spend─▶ send: take the hour's and the
      day's unit (one conditional write) ─▶ auto_jobs + 1 ─▶ SendMessageBatch
                                         └▶ skip: QUEUED→SKIPPED with the rule, the reason and how
                                            it waits (budget: the sweep / a later recurrence;
                                            occurrences: ingest at the minimum; none: a person)

A service of the catalog with limits of its own (core/service_spend.py) is decided against its own
counters too, and its job takes the service's unit and the deployment's (see ``_take``). The
catalog is read through ``services`` (runtime: ``runtime.service_catalog()``, cached a minute);
a service without limits of its own is decided exactly as before, with no extra read or write.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import now_ms
from chalicelib.core.fixability import ENVIRONMENT, Fixability, FixPolicy, classify, environment_notice
from chalicelib.core.localize import group_chain
from chalicelib.core.models import Status
from chalicelib.core.notices import burst_notice
from chalicelib.core.service_spend import counts_jobs, decide_service_spend, reads_counters, service_limits
from chalicelib.core.spend import GroupFacts, SpendLimits, SpendState, SpendVerdict, hour_start
from chalicelib.errors import PayloadError, SelfHealError, TransientError
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.usecases.batches import PartialItemFailureResponse, failures
from chalicelib.usecases.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.queue import FixQueue
    from chalicelib.core.models import ErrorGroup, FixJob
    from chalicelib.core.services import ServiceCatalog
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.notifications import Notifier
    from chalicelib.usecases.ports import StreamStore

log = logging.getLogger(__name__)
BUDGET_RULES = frozenset({"hourly-budget", "daily-budget", "token-ceiling"})
DECIDE_TRIES = 3  # a lost race on the counters re-reads them and decides again
# EMF metric per refusing rule.
SKIP_METRICS = {"min-occurrences": "JobsBelowMinimum", "one-automatic-attempt": "JobsRepeatRefused"}
UNFIXABLE_METRICS = {
    "input": "JobsInputRejected", "environment": "JobsEnvironmentFailure", "library": "JobsLibraryOnly",
}  # fmt: skip
# Who re-opens a group explicitly enough to override its class: a person's `selfheal retry`.
FIXABILITY_OVERRIDERS = frozenset({"retry"})


def fixability_of(group: ErrorGroup, policy: FixPolicy | None = None) -> Fixability:
    """The class of the group (its sample's exception chain, else its final exception's frames),
    under the service's ``policy``. A group a person re-opened with ``selfheal retry`` is fixed
    whatever its class (the class and the override are recorded)."""
    found = classify(group_chain(group), policy)
    if not found.fix and group.reopened_by in FIXABILITY_OVERRIDERS:
        return Fixability(found.kind, f"{found.reason} (fixed anyway: re-opened by a person)", True)
    return found


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
    times, and one automatic job per group (core/spend.py). A replayed record takes a second
    unit: the budget errs towards fewer jobs, never more. Without ``limits`` nothing is limited.
    """

    def __init__(
        self,
        store: StreamStore,
        queue: FixQueue,
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        notifier: Notifier | None = None,
        limits: SpendLimits | None = None,
        services: Callable[[], ServiceCatalog] | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._limits = limits if limits is not None else SpendLimits()  # none: no limit
        self._notifier = notifier
        self._services = services  # None: no catalog, every job decided by the deployment's limits alone
        # Per scope ("" the deployment, else a service): (hour start, counters) read for this batch.
        self._state: dict[str, tuple[int, SpendState]] = {}
        # The batch's groups that are not code faults: per class, and the outages (fingerprint,
        # type, reason) named in one notice.
        self._unfixable: Tally[str] = Tally()
        self._outages: list[tuple[str, str, str]] = []

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
        self._unfixable, self._outages = Tally(), []
        self._state = {}
        for raw in event.get("Records", []):
            sequence = str((raw.get("dynamodb") or {}).get("SequenceNumber", "") if isinstance(raw, dict) else "")
            try:
                record = GroupStreamRecord(raw)
                job = record.job()
                if job is None:
                    continue
                own = self._own_limits(job.service)  # before QUEUED: a failed catalog read leaves NEW
                if not self._store.mark_queued(job.fingerprint, job.token, self._clock()):
                    continue
                new_groups += job.trigger == "new"
                services[job.service] = services.get(job.service, 0) + 1
                fit = fixability_of(self._traced(job.fingerprint), self._policy(job.service))
                if not fit.fix:
                    self._skip_unfixable(job, fit)
                    continue
                verdict = self._admit(record, job, own, fit)
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
        self._report(len(pending) - len(unsent), new_groups, skipped, dropped, services)
        return failures(failed)

    def _traced(self, fingerprint: str) -> ErrorGroup:
        """The group with its trace (the stream's image holds the small group item; the trace is in
        its detail, written by the log processor right after). TransientError while the trace is not
        there yet: the record is retried, never classified without its frames."""
        group = self._store.get(fingerprint)
        if group is None or not (group.sample or group.frames):
            raise TransientError(f"the trace of {fingerprint[:12]} is not stored yet; the record is retried")
        return group

    def _own_limits(self, service: str) -> SpendLimits | None:
        """The limits of the job's service of its own (None: the deployment's limits alone)."""
        if self._services is None:
            return None
        return service_limits(self._services().get(service), self._limits)

    def _report(
        self, queued: int, new_groups: int, skipped: Tally[str], dropped: int, services: Mapping[str, int]
    ) -> None:
        """The batch's metrics and its one summary notice (and one for its environment failures)."""
        over_budget = sum(n for rule, n in skipped.items() if rule in BUDGET_RULES)
        self._metrics.count("JobsQueued", queued)
        self._metrics.count("JobsOverBudget", over_budget)
        for rule, metric in SKIP_METRICS.items():
            self._metrics.count(metric, skipped[rule])
        self._metrics.count("StreamRecordsDropped", dropped)
        for kind, n in self._unfixable.items():
            self._metrics.count(UNFIXABLE_METRICS.get(kind, "JobsNotCodeFault"), n)
        tell(self._notifier, environment_notice(self._outages), self._metrics)
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

    def _skip_unfixable(self, job: FixJob, fit: Fixability) -> None:
        """QUEUED → SKIPPED for a group that is not a code fault (counted; environment groups are
        named in the batch's notice)."""
        if not self._store.skip_unfixable(job.fingerprint, job.token, self._clock(), fit):
            return  # moved on meanwhile: not ours to skip
        log.info("fix job skipped: %s", fit.stored_reason(), extra={"fingerprint": job.fingerprint})
        self._unfixable[fit.kind] += 1
        if fit.kind == ENVIRONMENT:
            self._outages.append((job.fingerprint, job.exception_type, fit.reason))

    def _policy(self, service: str) -> FixPolicy | None:
        """The service's fixability overrides (None without a catalog, or for a service it lacks)."""
        if self._services is None:
            return None
        found = self._services().get(service)
        return found.fix_policy if found is not None else None

    def _admit(
        self, record: GroupStreamRecord, job: FixJob, own: SpendLimits | None = None, fit: Fixability | None = None
    ) -> SpendVerdict | None:
        """Decide, then make the decision durable: take the job's units and count it, or skip the
        group with its wait. A lost race (the counters moved, or a delivery counted more
        occurrences) re-reads and decides again. None when the group moved on meanwhile."""
        facts = group_facts(record, job)
        for _ in range(DECIDE_TRIES):
            now = self._clock()
            overall = self._counters(now, "", self._limits)
            own_state = self._counters(now, job.service, own) if own is not None else SpendState()
            verdict = decide_service_spend(facts, self._limits, overall, job.service, own, own_state, now)
            if verdict.send:
                if self._take(now, job.service, own):
                    self._store.job_sent(job.fingerprint, job.token, now, fit)
                    return verdict
                continue  # another stream processor took the last unit: read again (_take forgot it)
            if self._store.skip_for_spend(job.fingerprint, job.token, now, verdict):
                log.info("fix job skipped: %s", verdict.stored_reason(), extra={"fingerprint": job.fingerprint})
                return verdict
            group = self._store.get(job.fingerprint)
            if group is None or group.status != Status.QUEUED or group.occurrences <= facts.occurrences:
                return None  # moved on (claimed, re-opened by hand): not ours to skip any more
            facts = replace(facts, occurrences=group.occurrences)  # counted past the minimum meanwhile
        raise TransientError(f"group {job.fingerprint}: the spend counters kept moving; retried")

    def _counters(self, now: int, scope: str, limits: SpendLimits | None) -> SpendState:
        """The hour's and day's counters of ``scope`` ("" the deployment, else a service), read once
        per batch and hour (none when ``limits`` limit nothing)."""
        if not reads_counters(limits):
            return SpendState()
        cached = self._state.get(scope)
        if cached is None or cached[0] != hour_start(now):
            cached = self._state[scope] = (hour_start(now), self._store.spend_state(now, scope=scope))
        return cached[1]

    def _take(self, now: int, service: str = "", own: SpendLimits | None = None) -> bool:
        """Take one unit of the hour's and the day's budgets: the service's own (when it has job
        limits) and the deployment's, two conditional writes; nothing to take without limits.

        Order: the service's unit first, then the deployment's. A service's limits are normally the
        tighter ones (its share of the deployment's), so the likelier refusal comes first and takes
        nothing. When the deployment then refuses, the service's unit is given back (an
        unconditional decrement: it can only make room). Were the give-back lost (a crash, an
        error), the service would count one job more than left: the budget errs towards fewer
        jobs, never more. No job leaves without both units."""
        if counts_jobs(own):
            assert own is not None  # noqa: S101 - counts_jobs is False for None
            if not self._store.take_fix_job(now, own.fixes_per_hour, own.fixes_per_day, scope=service):
                self._state.pop(service, None)
                return False
        limits = self._limits
        if counts_jobs(limits) and not self._store.take_fix_job(now, limits.fixes_per_hour, limits.fixes_per_day):
            self._state.pop("", None)
            if counts_jobs(own):
                self._give_back(now, service)
            return False
        for scope, taken in (("", counts_jobs(limits)), (service, counts_jobs(own))):
            cached = self._state.get(scope)
            if taken and cached is not None:
                hour, state = cached
                self._state[scope] = (hour, replace(state, hour_used=state.hour_used + 1, day_used=state.day_used + 1))
        return True

    def _give_back(self, now: int, service: str) -> None:
        """Return the service's unit of a job the deployment's budget refused; a failure is logged
        (the service then counts one job more than left: fewer jobs, never more)."""
        try:
            self._store.give_back_fix_job(now, service)
        except SelfHealError:
            log.warning("service %s: a fix job unit was not given back", service, exc_info=True)
        self._state.pop(service, None)
