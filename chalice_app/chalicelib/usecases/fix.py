"""fixer's use case: claim a group, run the fixer behind the Fixer port, record the result.

message ──claim──▶ FIXING (lease, attempts+1) ──token ceiling──▶ Fixer.fix ──▶ PR_OPENED | SKIPPED | FAILED
  │ the day's model tokens at the ceiling → SKIPPED with a budget wait before any model call
  │   (core/spend.py decide_claim; the sweep picks it up when budget returns)
  │ tokens the attempt spent, whatever its end → ADDed to the group and to the day's counter
  │   (and to its service's day counter when the service has limits of its own: core/service_spend.py)
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

from chalicelib.core.clock import now_ms
from chalicelib.core.models import ErrorGroup, FixOutcome, Status
from chalicelib.core.notices import fix_notice
from chalicelib.core.service_spend import decide_service_claim, service_limits
from chalicelib.core.spend import WAIT_OCCURRENCES, SpendLimits, SpendState, SpendVerdict
from chalicelib.errors import FixRejected, PayloadError, RetryLimitReached, SelfHealError, TransientError
from chalicelib.events.queue import FixJobMessage
from chalicelib.usecases.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.core.services import ServiceCatalog
    from chalicelib.usecases.batches import PartialItemFailureResponse
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.notifications import Notifier
    from chalicelib.usecases.ports import FixStore, GroupPort

log = logging.getLogger(__name__)


class Fixer(Protocol):
    """Turns a claimed error group into a pull request (the fix-generation issue plugs in here).

    Returns a FixOutcome; raises FixRejected for a recorded failure that must not be retried,
    TransientError for one that may be."""

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome: ...


class Lease:
    """What a fixer may do with its claim: record the branch before the PR exists."""

    def __init__(self, store: GroupPort, fingerprint: str, owner: str, clock: Callable[[], int]) -> None:
        self._store = store
        self.fingerprint = fingerprint
        self.owner = owner
        self._clock = clock
        self.tokens_in = 0
        self.tokens_out = 0
        self.facts: dict[str, object] = {}  # the attempt's model and prompt version (fix stats)

    def note(self, **facts: object) -> None:
        """Facts of this attempt the group records whatever its end (model, prompt_version)."""
        self.facts.update(facts)

    def set_branch(self, branch: str) -> None:
        self._store.set_branch(self.fingerprint, self.owner, branch, self._clock())

    def record_usage(self, tokens_in: int, tokens_out: int) -> None:
        """Model tokens this attempt spent (the fixer reports them even when the attempt fails)."""
        self.tokens_in += max(0, tokens_in)
        self.tokens_out += max(0, tokens_out)

    def open_pulls(self, repository: str) -> list[ErrorGroup]:
        """The groups with an open pull request in ``repository`` (to find a duplicate before publishing)."""
        return self._store.open_prs(repository)

    def spent(self, details: Mapping[str, object] | None = None) -> tuple[int, int]:
        """Tokens (in, out) of this attempt: what the fixer recorded, else what its outcome reports."""
        if self.tokens_in or self.tokens_out or not details:
            return self.tokens_in, self.tokens_out
        return _int(details.get("tokens_in")), _int(details.get("tokens_out"))


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0


class NotConfiguredFixer:
    """The fixer when fix generation is not configured: every group is SKIPPED with that reason."""

    def fix(self, group: ErrorGroup, lease: Lease) -> FixOutcome:
        return FixOutcome(Status.SKIPPED, "fix generation is not configured (no model or repository)")


class FixService:
    """Processes fix-job messages, one claim per group, partial batch failures reported."""

    def __init__(
        self,
        store: FixStore,
        fixer: Fixer,
        metrics: Counter,
        lease_seconds: int = 900,
        max_attempts: int = 3,
        clock: Callable[[], int] = now_ms,
        notifier: Notifier | None = None,
        limits: SpendLimits | None = None,
        services: Callable[[], ServiceCatalog] | None = None,
    ) -> None:
        self._store = store
        self._fixer = fixer
        self._limits = limits or SpendLimits()
        self._services = services  # None: no catalog, the deployment's limits alone
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
        # Read before the claim: a catalog that cannot be read fails the message, claiming nothing.
        catalog = self._services() if self._services is not None else None
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
        own = service_limits(catalog.get(group.service), self._limits) if catalog is not None else None
        scope = group.service if own is not None else ""
        deferred = self._over_token_ceiling(fingerprint, owner, group.service, own)
        if deferred:
            return deferred
        lease = Lease(self._store, fingerprint, owner, self._clock)
        try:
            outcome = self._fixer.fix(group, lease)
        except FixRejected as rejected:
            spent = lease.spent()
            self._store.finish(
                fingerprint, owner, Status.FAILED, self._clock(), reason=str(rejected), spent=spent, extra=lease.facts
            )
            self._count_tokens(fingerprint, spent, scope)
            self._tell(group, FixOutcome(Status.FAILED, reason=str(rejected)))
            return Status.FAILED
        except Exception as exc:
            retryable = group.attempts < self._max_attempts
            reason = f"{type(exc).__name__}: {exc}"[:1000]
            spent = lease.spent()
            self._store.finish(
                fingerprint, owner, Status.FAILED, self._clock(), reason=reason, retryable=retryable, spent=spent,
                extra=lease.facts,
            )  # fmt: skip
            self._count_tokens(fingerprint, spent, scope)
            raise
        if outcome.status == Status.SKIPPED and outcome.details and "reopen_at" in outcome.details:
            # The fixer's own minimum (the min_occurrences parameter): a wait that ingest ends.
            reopen_at = _int(outcome.details["reopen_at"])
            wait = SpendVerdict(False, "min-occurrences", outcome.reason, WAIT_OCCURRENCES, reopen_at=reopen_at)
            self._store.defer_claimed(fingerprint, owner, self._clock(), wait)
            self._metrics.count("FixSkipped")
            return Status.SKIPPED
        spent = lease.spent(outcome.details)
        now = self._clock()
        # A PR pushed now waits for its checks from now on (usecases/fate.py judge_lazily).
        opened = {"checks_since": now} if outcome.status == Status.PR_OPENED else {}
        self._store.finish(
            fingerprint,
            owner,
            outcome.status,
            now,
            reason=outcome.reason,
            pr_url=outcome.pr_url,
            branch=outcome.branch,
            extra={**(outcome.details or {}), **opened},
            spent=spent,
        )
        self._count_tokens(fingerprint, spent, scope)
        self._index_open_pr(fingerprint, outcome)
        self._metrics.count("PullRequests" if outcome.status == Status.PR_OPENED else f"Fix{outcome.status.title()}")
        self._tell(group, outcome)
        return outcome.status

    def _index_open_pr(self, fingerprint: str, outcome: FixOutcome) -> None:
        """Index an opened PR under its repository (duplicates are found there); count a duplicate
        that was linked to an open PR instead of opening another."""
        details = outcome.details or {}
        if outcome.status == Status.PR_OPENED and details.get("repository"):
            self._store.add_open_pr(str(details["repository"]), fingerprint, self._clock())
        if outcome.status == Status.PR_OPENED and outcome.branch and details.get("head_sha"):
            self._store.link_branch(outcome.branch, fingerprint, self._clock())  # status deliveries name it
        if details.get("duplicate_of"):
            self._metrics.count("DuplicatesAvoided")

    def _over_token_ceiling(
        self, fingerprint: str, owner: str, service: str = "", own: SpendLimits | None = None
    ) -> str:
        """The claim-time spend check: with the day's tokens at the ceiling (the deployment's, or the
        service's own ``tokens_per_day``), the claimed group goes SKIPPED with a budget wait before
        any model call (returns SKIPPED); '' when it may go on."""
        own_ceiling = own is not None and own.tokens_per_day > 0
        if self._limits.tokens_per_day <= 0 and not own_ceiling:
            return ""
        now = self._clock()
        overall = self._store.spend_state(now) if self._limits.tokens_per_day > 0 else SpendState()
        own_state = self._store.spend_state(now, scope=service) if own_ceiling else SpendState()
        verdict = decide_service_claim(self._limits, overall, service, own, own_state, now)
        if verdict.send:
            return ""
        log.info("fix deferred: %s", verdict.stored_reason(), extra={"fingerprint": fingerprint})
        self._store.defer_claimed(fingerprint, owner, now, verdict)
        self._metrics.count("JobsOverBudget")
        return Status.SKIPPED

    def _count_tokens(self, fingerprint: str, spent: tuple[int, int], scope: str = "") -> None:
        """Add the attempt's tokens to the day's counter, and to the day's counter of its service
        (``scope``) when the service has limits of its own; a failure is logged, never undoes the fix."""
        for where in ("", scope) if scope else ("",):
            try:
                self._store.add_spent_tokens(self._clock(), *spent, scope=where)
            except SelfHealError:
                log.warning(
                    "tokens not counted for the day%s", f" of {where}" if where else "", exc_info=True,
                    extra={"fingerprint": fingerprint},
                )  # fmt: skip

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
