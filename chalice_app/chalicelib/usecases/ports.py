"""The error-group table as the services use it: one protocol per kind of item (the model is
Powertools' ``BasePersistenceLayer``: the use cases name a port, the adapter implements it).

    GroupPort        adapters/groups.py GroupStore                 groups and their transitions
    SpendPort        adapters/spend_counters.py SpendCounters      the day's and hour's counters
    PullRequestPort  adapters/pr_index.py PullRequestIndex         PR / branch pointers, open PRs
    DeliveryPort     adapters/deliveries.py DeliveryMarkers        webhook deliveries applied once
    DaySetPort       adapters/day_sets.py DaySets                  the heal checker's day sets

and of the governor table, the kinds that stand apart from an admission:

    HeldPort         adapters/held_incidents.py HeldIncidents      incidents a limit held back
    NoticePort       adapters/governor_notices.py Notices          digest lines, notices told once

Each service types its store with the kinds it uses (a protocol joining them when it uses more
than one); ``adapters/store.py`` ``ErrorGroupStore`` is all of them at once, and what the
composition root hands every service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from chalicelib.adapters.groups import Claim, QueuedJob, Recorded
    from chalicelib.adapters.held_incidents import Held
    from chalicelib.core.fixability import Fixability
    from chalicelib.core.models import ErrorGroup, Observation
    from chalicelib.core.spend import SpendState, SpendVerdict

__all__ = [
    "DaySetPort",
    "DeliveryPort",
    "FateStore",
    "FixStore",
    "GroupPort",
    "HealStore",
    "HeldPort",
    "NoticePort",
    "PullRequestPort",
    "ResolveStore",
    "SpendPort",
    "StreamStore",
    "SweepStore",
]


class GroupPort(Protocol):
    """The error groups: reads, and every status change as one conditional write (InvalidTransition,
    or False / None, when the group moved on). ``now`` arguments are epoch milliseconds."""

    # what ingest uses (usecases/ingest.py)
    def record(self, observation: Observation, now: int, batch: str = "") -> Recorded: ...
    def counted(self, fingerprints: Sequence[str], batch: str) -> set[str]: ...
    def record_unrouted(self, log_group: str, tracebacks: int, now: int, batch: str = "") -> bool: ...
    def get(self, fingerprint: str, detail: bool = True) -> ErrorGroup | None: ...
    def get_many(self, fingerprints: Sequence[str], detail: bool = False) -> list[ErrorGroup]: ...
    def reopen(self, fingerprint: str, now: int, reason: str = "re-opened", by: str = "retry") -> ErrorGroup: ...
    def resume(self, fingerprint: str, now: int, by: str) -> ErrorGroup | None: ...

    # the stream (usecases/enqueue.py) and the sweeps of stuck jobs and of groups left NEW (usecases/requeue.py)
    def mark_queued(self, fingerprint: str, token: str, now: int) -> bool: ...
    def skip_for_spend(self, fingerprint: str, token: str, now: int, verdict: SpendVerdict) -> bool: ...
    def skip_unfixable(self, fingerprint: str, token: str, now: int, fixability: Fixability) -> bool: ...
    def job_sent(self, fingerprint: str, token: str, now: int, fixability: Fixability | None = None) -> bool: ...
    def queued_jobs(self, fingerprints: Sequence[str]) -> list[QueuedJob]: ...
    def queued_sets(self, days: Sequence[str]) -> dict[str, set[str]]: ...
    def forget_queued(self, day: str, fingerprints: Sequence[str]) -> None: ...
    def requeue(self, fingerprint: str, token: str, now: int) -> bool: ...
    def fail_queued(self, fingerprint: str, token: str, now: int, reason: str) -> bool: ...
    def new_sets(self, days: Sequence[str]) -> dict[str, set[str]]: ...
    def forget_new(self, day: str, fingerprints: Sequence[str]) -> None: ...
    def sweep_new(self, fingerprint: str, now: int) -> bool: ...
    def fail_new(self, fingerprint: str, swept_at: int, now: int, reason: str) -> bool: ...

    # the fixer (usecases/fix.py) and the budget sweeper (usecases/sweep.py)
    def claim(self, fingerprint: str, owner: str, now: int, lease_seconds: int, max_attempts: int) -> Claim: ...
    def defer_claimed(self, fingerprint: str, owner: str, now: int, verdict: SpendVerdict) -> ErrorGroup: ...
    def set_branch(self, fingerprint: str, owner: str, branch: str, now: int) -> None: ...
    def finish(
        self,
        fingerprint: str,
        owner: str,
        target: str,
        now: int,
        reason: str = "",
        pr_url: str = "",
        branch: str = "",
        retryable: bool = False,
        extra: Mapping[str, object] | None = None,
        spent: tuple[int, int] = (0, 0),
    ) -> ErrorGroup: ...
    def open_prs(self, repository: str) -> list[ErrorGroup]: ...
    def waiting(self, limit: int) -> list[str]: ...

    # the pull request's fate (usecases/resolve.py, fate.py, heal.py, checks.py)
    def mark_merged(self, fingerprint: str, pr_url: str, merged_at: int, now: int) -> ErrorGroup: ...
    def mark_rejected(self, fingerprint: str, pr_url: str, reason: str, review: str, now: int) -> ErrorGroup: ...
    def retry_from_review(self, fingerprint: str, pr_url: str, review: str, now: int) -> ErrorGroup: ...
    def regress(self, fingerprint: str, occurred_at: int, grace_ms: int, now: int) -> ErrorGroup: ...
    def mark_healed(self, fingerprint: str, merged_at: int, quiet_cutoff: int, now: int) -> ErrorGroup: ...
    def check_pr_due(self, fingerprint: str, now: int, period_ms: int) -> bool: ...
    def record_checks(self, fingerprint: str, pr_url: str, state: str, now: int, ready: bool = False) -> ErrorGroup: ...
    def reopen_for_repair(self, fingerprint: str, pr_url: str, output: str, rounds: int, now: int) -> ErrorGroup: ...
    def mark_ci_failed(self, fingerprint: str, pr_url: str, output: str, now: int) -> ErrorGroup: ...


class SpendPort(Protocol):
    """The spend counters of the deployment (``scope`` "") and of a service with limits of its own."""

    def spend_state(self, now: int, scope: str = "") -> SpendState: ...
    def take_fix_job(self, now: int, per_hour: int, per_day: int, scope: str = "") -> bool: ...
    def give_back_fix_job(self, now: int, scope: str) -> None: ...
    def add_spent_tokens(self, now: int, tokens_in: int, tokens_out: int, scope: str = "") -> None: ...


class PullRequestPort(Protocol):
    """Which group a pull request or a fix branch belongs to, and the groups with an open PR."""

    def find_pr(self, pr_url: str) -> str: ...
    def link_branch(self, branch: str, fingerprint: str, now: int) -> None: ...
    def find_branch(self, branch: str) -> str: ...
    def add_open_pr(self, repository: str, fingerprint: str, now: int) -> None: ...


class DeliveryPort(Protocol):
    """Webhook deliveries applied once: a redelivery is seen; one not applied is forgotten."""

    def see_delivery(self, delivery_id: str, now: int, keep_seconds: int = ...) -> bool: ...
    def forget_delivery(self, delivery_id: str) -> None: ...


class DaySetPort(Protocol):
    """The heal checker's index: the groups merged, and whose PR opened, on each day."""

    def merged_sets(self, days: Sequence[str]) -> dict[str, set[str]]: ...
    def opened_sets(self, days: Sequence[str]) -> dict[str, set[str]]: ...
    def forget_merged(self, day: str, fingerprints: Sequence[str]) -> None: ...
    def forget_opened(self, day: str, fingerprints: Sequence[str]) -> None: ...


class HeldPort(Protocol):
    """Incidents a limit held back, waiting to be decided again (the verifier's revisit)."""

    def held(self, limit: int = ...) -> list[Held]: ...
    def told(self, keys: Iterable[str], now_ms: int) -> None: ...


class NoticePort(Protocol):
    """Lines waiting for the next digest, and notices told once until a time."""

    def note(self, kind: str, text: str, now_ms: int) -> None: ...
    def notes(self, limit: int = ...) -> list[tuple[str, str, str]]: ...
    def forget_notes(self, keys: Iterable[str]) -> None: ...
    def tell_once(self, kind: str, key: str, until_ms: int, now_ms: int) -> bool: ...


# The kinds each service that uses more than one of them needs, joined.


class StreamStore(GroupPort, SpendPort, Protocol):
    """What the stream processor (usecases/enqueue.py) uses: groups and the spend counters."""


class SweepStore(GroupPort, SpendPort, Protocol):
    """What the budget sweeper (usecases/sweep.py) uses: groups waiting, and the counters."""


class FixStore(GroupPort, SpendPort, PullRequestPort, Protocol):
    """What the fixer (usecases/fix.py) uses: groups, the counters, the PR index."""


class FateStore(GroupPort, PullRequestPort, Protocol):
    """What the pull request's fate (usecases/fate.py) uses: groups and the PR index."""


class ResolveStore(GroupPort, PullRequestPort, DeliveryPort, Protocol):
    """What the webhook (usecases/resolve.py) uses: groups, the PR index, delivery markers."""


class HealStore(GroupPort, DaySetPort, Protocol):
    """What the heal checker (usecases/heal.py) uses: groups and the day sets."""
