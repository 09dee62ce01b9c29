"""fixer's use case: claim a group, run the fixer behind the Fixer port, record the result.

message ──claim──▶ FIXING (lease, attempts+1) ──Fixer.fix──▶ PR_OPENED | SKIPPED | FAILED
  │ not claimed, already done → success (message deleted)
  │ not claimed, FIXING under a live lease → failure reported: SQS hands the message out again
  │   after its visibility timeout, which is longer than the lease (adapters/settings.py), so a
  │   fixer that died mid-fix (timeout, OOM, crash after the push) leaves a claimable group
  │ retry budget spent → failure reported, SQS redrive moves it to the DLQ
  └ TransientError / error → FAILED (retryable while attempts remain), failure reported
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from chalicelib.core.models import ErrorGroup, FixOutcome, Status
from chalicelib.core.notices import fix_notice
from chalicelib.errors import FixRejected, PayloadError, RetryLimitReached, TransientError
from chalicelib.events.queue import FixJobMessage
from chalicelib.services.ingest import now_ms
from chalicelib.services.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.services.batches import PartialItemFailureResponse
    from chalicelib.services.metrics import Counter
    from chalicelib.services.notifications import Notifier

log = logging.getLogger(__name__)


class Fixer(Protocol):
    """Turns a claimed error group into a pull request (the fix-generation issue plugs in here).

    Returns a FixOutcome; raises FixRejected for a recorded failure that must not be retried,
    TransientError for one that may be."""

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome: ...


class Lease:
    """What a fixer may do with its claim: record the branch before the PR exists."""

    def __init__(self, store: ErrorGroupStore, fingerprint: str, owner: str, clock: Callable[[], int]) -> None:
        self._store = store
        self.fingerprint = fingerprint
        self.owner = owner
        self._clock = clock

    def set_branch(self, branch: str) -> None:
        self._store.set_branch(self.fingerprint, self.owner, branch, self._clock())


class NotConfiguredFixer:
    """The fixer when fix generation is not configured: every group is SKIPPED with that reason."""

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome:
        return FixOutcome(Status.SKIPPED, "fix generation is not configured (no model or repository)")


class FixService:
    """Processes fix-job messages, one claim per group, partial batch failures reported."""

    def __init__(
        self,
        store: ErrorGroupStore,
        fixer: Fixer,
        metrics: Counter,
        lease_seconds: int = 900,
        max_attempts: int = 3,
        clock: Callable[[], int] = now_ms,
        notifier: Notifier | None = None,
    ) -> None:
        self._store = store
        self._fixer = fixer
        self._metrics = metrics
        self._notifier = notifier
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._clock = clock

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        """Process an SQS batch; returns the messages to retry (or, at the limit, to dead-letter).
        Powertools' BatchProcessor runs each record; when all fail it raises, failing the batch."""
        processor = BatchProcessor(event_type=EventType.SQS)
        try:
            response = process_partial_response(event=dict(event), record_handler=self._record, processor=processor)
        finally:
            self._metrics.count("JobsFailed", len(processor.fail_messages))
            self._metrics.flush()
        return response  # type: ignore[return-value]

    def _record(self, record: SQSRecord) -> str:
        return self.process(FixJobMessage(record.raw_event))

    def process(self, message: FixJobMessage) -> str:
        """Run one job; returns the status it left the group in. Raises to have it retried."""
        fingerprint = message.job.fingerprint
        owner = f"{message.message_id or 'local'}:{uuid.uuid4().hex[:8]}"
        claim = self._store.claim(fingerprint, owner, self._clock(), self._lease_seconds, self._max_attempts)
        if not claim.claimed:
            log.info("job not claimed: %s", claim.why, extra={"fingerprint": fingerprint})
            if claim.why == "exhausted":
                raise RetryLimitReached(f"group {fingerprint} used its {self._max_attempts} attempts")
            if claim.why == "missing":
                raise PayloadError(f"no error group {fingerprint}")
            if claim.why == "busy":
                # Not deleted: if the lease holder died, this delivery after the visibility
                # timeout finds the lease expired and reclaims the group.
                raise TransientError(f"group {fingerprint} is being fixed under a live lease")
            return claim.group.status if claim.group else ""
        group = claim.group
        if group is None:  # a granted claim always returns the group
            raise PayloadError(f"no error group {fingerprint}")
        lease = Lease(self._store, fingerprint, owner, self._clock)
        try:
            outcome = self._fixer.fix(group, lease)
        except FixRejected as rejected:
            self._store.finish(fingerprint, owner, Status.FAILED, self._clock(), reason=str(rejected))
            self._tell(group, FixOutcome(Status.FAILED, reason=str(rejected)))
            return Status.FAILED
        except Exception as exc:
            retryable = group.attempts < self._max_attempts
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            self._store.finish(fingerprint, owner, Status.FAILED, self._clock(), reason=reason, retryable=retryable)
            raise
        self._store.finish(
            fingerprint,
            owner,
            outcome.status,
            self._clock(),
            reason=outcome.reason,
            pr_url=outcome.pr_url,
            branch=outcome.branch,
            extra=outcome.details,
        )
        self._metrics.count("PullRequests" if outcome.status == Status.PR_OPENED else f"Fix{outcome.status.title()}")
        self._tell(group, outcome)
        return outcome.status

    def _tell(self, group: ErrorGroup, outcome: FixOutcome) -> None:
        """One notification per PR opened or fix FAILED (the job budget bounds how many an hour)."""
        notice = fix_notice(
            outcome.status,
            fingerprint=group.fingerprint,
            exception_type=group.exception_type,
            reason=outcome.reason,
            pr_url=outcome.pr_url,
            details=outcome.details,
            service=group.service,
        )
        tell(self._notifier, notice, self._metrics)
