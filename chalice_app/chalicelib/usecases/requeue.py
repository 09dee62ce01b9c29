"""The sweep of stuck jobs (run by budget_sweeper): a QUEUED group whose fix job never reached the
fixer is sent once more, or ends FAILED with its reason and a notice — never QUEUED for good.

A group stays QUEUED when the stream record that queued it failed for good (the stream's retries
ran out, the record bisected to the failed-events queue) or its job message never got claimed (the
SendMessageBatch kept failing, the message went to the fix queue's DLQ before a claim). A stream
retry cannot help: the record is gone, and ``retry`` re-opens only FAILED / SKIPPED / ... groups.

    stream: NEW → QUEUED (queued_at, job_token) ─ADD─▶ ~queued~<day> set
    hourly: the sets of the last QUEUED_DAYS days ─BatchGetItem─▶ each group, then ``verdict``:
      moved on (claimed, skipped, re-opened)                     → forgotten from the set
      queued less than ``after_ms`` ago (or sent again as long)   → left alone
      its record counted the job (sent_token = job_token), never sent again
                                                   → requeued_at (conditional, once) + SendMessageBatch
      its record never counted the job, or it was sent again and is still not claimed
                                                   → QUEUED → FAILED (reason, not retryable) + notice
                                                     (the group's own; one digest when a run fails several)

Groups left NEW (``SweepNew``): a group waits for the stream from its creation or its move to NEW
or REGRESSED (``new_at``). A stream record that failed for good before its group was QUEUED (the
catalog unreadable, DynamoDB throttled, a crash) leaves it waiting for good: no later record asks
for its job, and nothing above reads NEW groups.

    record (new) / transition to NEW | REGRESSED ─ADD─▶ ~new~<day> set (new_at; swept_at removed)
    hourly: the sets of the last QUEUED_DAYS days ─BatchGetItem─▶ each group, then ``new_verdict``:
      moved on (QUEUED, SKIPPED, …)                                → forgotten from the set
      waiting less than ``grace_ms`` (or swept less than that ago)  → left alone
      never swept        → swept_at (conditional, once a wait): the stream sees a fresh record and
                           decides the job as its first record would have (same fixability and spend
                           decision; NEW→QUEUED conditional, so a late retry of the first record and
                           the sweep's record cannot both send)
      swept and still waiting        → NEW | REGRESSED → FAILED (reason, not retryable), named in
                                       the run's one digest notice

The sweep sends nothing itself: the job leaves through the stream processor, so no budget is taken
twice and none is skipped.

Idempotent: the job sent again carries the group's job token, and the fixer's claim (QUEUED →
FIXING, conditional) takes the group once whichever copy arrives first. Spend stays bounded: only a
job the stream counted against the budget is sent again; one whose record failed before the spend
decision ends FAILED, and ``selfheal retry`` sends it through the stream's decision again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.core.heal_stats import day_of
from chalicelib.core.models import FixJob, Status
from chalicelib.core.notices import fix_notice, stuck_jobs_notice, stuck_new_notice
from chalicelib.usecases.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from chalicelib.adapters.groups import QueuedJob
    from chalicelib.adapters.queue import FixQueue
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.notifications import Notifier
    from chalicelib.usecases.ports import GroupPort

log = logging.getLogger(__name__)
STUCK_AFTER_MS = 3_600_000  # QUEUED this long with no claim: the job is taken as lost (the sweep runs hourly)
QUEUED_DAYS = 3  # day sets read a run: today and the two before (a stuck group is handled within hours)
REQUEUE_MAX = 50  # groups sent again or failed per run at most (bounded work, bounded notices)
DAY_MS = 86_400_000

NEW_GRACE_MS = 3_600_000  # NEW this long, not QUEUED: its stream record is taken as lost (SELFHEAL_NEW_GRACE_MINUTES)
AWAITING_STREAM = frozenset({Status.NEW, Status.REGRESSED})

WAIT, FORGET, REQUEUE, FAIL, SWEEP = "wait", "forget", "requeue", "fail", "sweep"


def verdict(job: QueuedJob, now_ms: int, after_ms: int = STUCK_AFTER_MS) -> str:
    """What the sweep does with one group of a ``~queued~`` set (module docstring); pure."""
    if job.status != Status.QUEUED or not job.token:
        return FORGET
    if now_ms - max(job.queued_at, job.requeued_at) < after_ms:
        return WAIT
    if job.sent and not job.requeued_at:
        return REQUEUE
    return FAIL


def new_verdict(job: QueuedJob, now_ms: int, grace_ms: int = NEW_GRACE_MS) -> str:
    """What the sweep of groups left NEW does with one group of a ``~new~`` set; pure.

    FORGET: it moved on. WAIT: it waits less than ``grace_ms`` since it became NEW / REGRESSED, or
    since the sweep took it up. SWEEP: never swept in this wait. FAIL: swept, and still waiting."""
    if job.status not in AWAITING_STREAM:
        return FORGET
    if now_ms - max(job.new_at, job.swept_at) < grace_ms:
        return WAIT
    return FAIL if job.swept_at else SWEEP


def stuck_new_reason(job: QueuedJob, grace_ms: int = NEW_GRACE_MS) -> str:
    """Why a group the stream never queued ends FAILED, in words a person acts on."""
    minutes = grace_ms // 60_000
    return (
        f"stuck-new: {job.status} and never QUEUED, even {minutes} min after the sweep handed it to the "
        "stream again (the stream's records failed for good: the failed-events queue names them); "
        "`selfheal retry` re-opens it"
    )


def failure_reason(job: QueuedJob, after_ms: int = STUCK_AFTER_MS) -> str:
    """Why a stuck group ends FAILED, in words a person acts on."""
    minutes = after_ms // 60_000
    if job.sent:
        return (
            f"stuck-job: its fix job was sent again and still not claimed {minutes} min later (the fix queue's "
            "dead-letter queue may hold it); `selfheal retry` re-opens it"
        )
    return (
        f"stuck-job: QUEUED for {minutes} min and its fix job never left the stream (the stream record failed "
        "for good: the failed-events queue names it); `selfheal retry` re-opens it"
    )


def queued_days(now_ms: int, days: int = QUEUED_DAYS) -> list[str]:
    """The UTC days (``YYYY-MM-DD``) whose ``~queued~`` sets a run reads, oldest first."""
    return [day_of(now_ms - k * DAY_MS) for k in range(days - 1, -1, -1)]


class Requeue:
    """Finds QUEUED groups whose job never reached the fixer: sends each once more, or fails and tells."""

    def __init__(
        self,
        store: GroupPort,
        queue: FixQueue,
        metrics: Counter,
        clock: Callable[[], int],
        notifier: Notifier | None = None,
        after_ms: int = STUCK_AFTER_MS,
        max_per_run: int = REQUEUE_MAX,
    ) -> None:
        self._store = store
        self._queue = queue
        self._metrics = metrics
        self._clock = clock
        self._notifier = notifier
        self._after = after_ms
        self._max = max(0, max_per_run)

    def run(self) -> dict[str, int]:
        """One pass; returns ``{"queued", "requeued", "failed"}`` (queued: groups still QUEUED)."""
        now = self._clock()
        sets = self._store.queued_sets(queued_days(now))
        members = sorted(set().union(*sets.values())) if sets else []
        jobs = {job.fingerprint: job for job in self._store.queued_jobs(members)}
        decided = {fp: verdict(jobs[fp], now, self._after) if fp in jobs else FORGET for fp in members}
        requeued = handled = 0
        failed: list[tuple[QueuedJob, str]] = []
        for fingerprint in members:
            action = decided[fingerprint]
            if action in (WAIT, FORGET) or handled >= self._max:
                continue
            handled += 1
            job = jobs[fingerprint]
            if action == REQUEUE and self._requeue(job, now):
                requeued += 1
            elif action == FAIL and (reason := self._fail(job, now)):
                failed.append((job, reason))
                decided[fingerprint] = FORGET
        for day, day_members in sets.items():
            done = sorted(fp for fp in day_members if decided.get(fp) == FORGET)
            self._store.forget_queued(day, done)
        queued = sum(1 for a in decided.values() if a != FORGET)
        log.info("stuck jobs: %d queued, %d sent again, %d failed", queued, requeued, len(failed))
        self._metrics.count("JobsRequeued", requeued)
        self._metrics.count("JobsStuckFailed", len(failed))
        self._tell(failed)
        return {"queued": queued, "requeued": requeued, "failed": len(failed)}

    def _tell(self, failed: Sequence[tuple[QueuedJob, str]]) -> None:
        """One notice a run: the group's own when one failed, a digest naming them when several did."""
        if len(failed) == 1:
            [(job, reason)] = failed
            notice = fix_notice(
                "FAILED", fingerprint=job.fingerprint, exception_type=job.exception_type, reason=reason,
                service=job.service,
            )  # fmt: skip
        else:
            notice = stuck_jobs_notice([(j.fingerprint, j.exception_type, j.service, r) for j, r in failed])
        tell(self._notifier, notice, self._metrics)

    def _requeue(self, job: QueuedJob, now: int) -> bool:
        """Mark, then send: a crash between the two leaves it marked and unsent, and the next run
        after ``after_ms`` fails it and tells a person (never a second send)."""
        if not self._store.requeue(job.fingerprint, job.token, now):
            return False  # claimed or re-opened meanwhile
        unsent = self._queue.send(
            [FixJob(job.fingerprint, job.exception_type, job.occurrences, "requeued", job.token, job.service)]
        )
        if unsent:
            log.warning("stuck job not sent again", extra={"fingerprint": job.fingerprint})
            return False
        log.info("stuck job sent again", extra={"fingerprint": job.fingerprint})
        return True

    def _fail(self, job: QueuedJob, now: int) -> str:
        """QUEUED → FAILED; the reason, or '' when the group moved on meanwhile."""
        reason = failure_reason(job, self._after)
        if not self._store.fail_queued(job.fingerprint, job.token, now, reason):
            return ""
        log.warning("stuck job failed: %s", reason, extra={"fingerprint": job.fingerprint})
        return reason


class SweepNew:
    """Finds groups the stream never queued (module docstring): hands each to the stream once more,
    or fails them and tells a person in one digest a run."""

    def __init__(
        self,
        store: GroupPort,
        metrics: Counter,
        clock: Callable[[], int],
        notifier: Notifier | None = None,
        grace_ms: int = NEW_GRACE_MS,
        max_per_run: int = REQUEUE_MAX,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._notifier = notifier
        self._grace = grace_ms
        self._max = max(0, max_per_run)

    def run(self) -> dict[str, int]:
        """One pass; returns ``{"new_waiting", "new_swept", "new_failed"}`` (waiting: groups left
        for a later run)."""
        now = self._clock()
        sets = self._store.new_sets(queued_days(now))
        members = sorted(set().union(*sets.values())) if sets else []
        jobs = {job.fingerprint: job for job in self._store.queued_jobs(members)}
        decided = {fp: new_verdict(jobs[fp], now, self._grace) if fp in jobs else FORGET for fp in members}
        swept, failed = 0, []
        for fingerprint in [fp for fp in members if decided[fp] in (SWEEP, FAIL)][self._max :]:
            decided[fingerprint] = WAIT  # past the run's bound: the next run's
        for fingerprint in members:
            job, action = jobs.get(fingerprint), decided[fingerprint]
            if job is None or action not in (SWEEP, FAIL):
                continue
            if action == SWEEP:
                swept += self._sweep(job, now)
            elif self._fail(job, now):
                failed.append(job)
                decided[fingerprint] = FORGET
            else:
                decided[fingerprint] = WAIT  # moved on meanwhile: the next run reads it again
        for day, day_members in sets.items():
            self._store.forget_new(day, sorted(fp for fp in day_members if decided.get(fp) == FORGET))
        waiting = sum(1 for a in decided.values() if a == WAIT)
        log.info("groups left NEW: %d waiting, %d handed to the stream again, %d failed", waiting, swept, len(failed))
        self._metrics.count("GroupsSweptNew", swept)
        self._metrics.count("GroupsStuckNewFailed", len(failed))
        if failed:
            groups = [(j.fingerprint, j.exception_type, j.service, f"was {j.status}") for j in failed]
            tell(self._notifier, stuck_new_notice(groups, self._grace // 60_000), self._metrics)
        return {"new_waiting": waiting, "new_swept": swept, "new_failed": len(failed)}

    def _sweep(self, job: QueuedJob, now: int) -> bool:
        """Hand the group to the stream once more (``swept_at``); False when it moved on meanwhile
        (a late retry of its record queued it) or a concurrent run swept it first."""
        if not self._store.sweep_new(job.fingerprint, now):
            return False
        log.warning("group left %s handed to the stream again", job.status, extra={"fingerprint": job.fingerprint})
        return True

    def _fail(self, job: QueuedJob, now: int) -> bool:
        reason = stuck_new_reason(job, self._grace)
        if not self._store.fail_new(job.fingerprint, job.swept_at, now, reason):
            return False
        log.warning("group left %s failed: %s", job.status, reason, extra={"fingerprint": job.fingerprint})
        return True
