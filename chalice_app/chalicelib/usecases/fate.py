"""What a recurrence says about a group's pull request, decided after ingest recorded it.

    PR_OPENED recurs ─check due (pr_checked_at older than the check period; one conditional write,
      so one reader a period whatever the concurrency)─▶ GitHub: the PR's state
        merged ─▶ MERGED (merged_at from GitHub)       closed ─▶ REJECTED (the reviewers' last words)
    MERGED / HEALED recurs, later than merged_at + deploy grace ─▶ REGRESSED (conditional), a notice,
      and the stream makes it a fix job whose prompt carries the failed attempt's diff

This is the path for teams without the webhook (usecases/resolve.py does the same on delivery).
It never fails a delivery: every error is logged and counted; after a GitHub failure the reads
pause for ``PAUSE_MS`` in this container, so an outage costs one timeout, not one per group.
Ingest calls ``after_record`` only when the group existed before (``Recorded.previous``), from its
writer threads: the decision is cheap, and a read happens at most once a check period per group.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

from chalicelib.core.clock import now_ms
from chalicelib.core.models import Status
from chalicelib.core.notices import fate_notice
from chalicelib.core.webhooks import pr_number
from chalicelib.errors import InvalidTransition, SelfHealError
from chalicelib.usecases.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.adapters.github_api import PullState
    from chalicelib.core.models import ErrorGroup
    from chalicelib.core.webhooks import Intent
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.notifications import Notifier
    from chalicelib.usecases.ports import FateStore, GroupPort

log = logging.getLogger(__name__)
MINUTE_MS = 60_000
PAUSE_MS = 5 * MINUTE_MS


class PullRequestReads(Protocol):
    """adapters/github_api.GitHubReads, as the fate of a PR reads it."""

    def pull(self, number: int) -> PullState: ...

    def reviewer_words(self, number: int, limit: int = 5) -> str: ...

    def may_command(self, login: str) -> bool: ...


class Fate:
    """Regressions and the lazy read of a PR's state, on recurrence."""

    def __init__(  # noqa: PLR0913 - the collaborators and the two periods
        self,
        store: FateStore,
        github: Callable[[str], PullRequestReads | None],  # the reads of a service's repository
        metrics: Counter,
        notifier: Notifier | None = None,
        grace_ms: int = 30 * MINUTE_MS,
        check_period_ms: int = 60 * MINUTE_MS,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._github = github
        self._metrics = metrics
        self._notifier = notifier
        self._grace_ms = grace_ms
        self.check_period_ms = check_period_ms
        self._clock = clock
        self._lock = threading.Lock()  # ingest's writer threads share this object and the counter
        self._paused_until = 0

    def after_record(self, previous: ErrorGroup, occurred_at: int) -> str:
        """Act on one recurrence of ``previous`` (the group before ingest's write) at ``occurred_at``;
        returns the status it moved the group to ('' for none). Never raises."""
        if previous.status in Status.REGRESSES_FROM and occurred_at > previous.merged_at + self._grace_ms:
            try:
                return self._regress(previous, occurred_at)
            except SelfHealError:
                log.warning("regression not recorded", exc_info=True, extra={"fingerprint": previous.fingerprint})
                self._count("FateChecksFailed")
                return ""
        if previous.status == Status.PR_OPENED and previous.pr_url:
            return self.check_pr(previous)
        return ""

    def check_pr(self, group: ErrorGroup) -> str:
        """Read a PR_OPENED group's pull request when its check is due (at most once a check period)
        and record what happened to it: MERGED, REJECTED, or '' (still open, not due, not on GitHub,
        or GitHub could not be read). Never raises. Also the heal checker's sweep of open PRs, for
        fixes that work and so never recur."""
        try:
            return self._check(group)
        except SelfHealError:
            log.warning("PR state not read", exc_info=True, extra={"fingerprint": group.fingerprint})
            self._count("FateChecksFailed")
            return ""

    def _regress(self, previous: ErrorGroup, occurred_at: int) -> str:
        try:
            group = self._store.regress(previous.fingerprint, occurred_at, self._grace_ms, self._clock())
        except InvalidTransition:
            return ""  # another batch regressed it first, or it moved on
        log.warning("merged fix regressed", extra={"fingerprint": group.fingerprint, "pr_url": group.pr_url})
        self._count("FixesRegressed")
        notice = fate_notice(
            Status.REGRESSED, fingerprint=group.fingerprint, exception_type=group.exception_type,
            pr_url=group.pr_url, occurred_at=occurred_at,
        )  # fmt: skip
        with self._lock:
            tell(self._notifier, notice, self._metrics)
        return Status.REGRESSED

    def _check(self, previous: ErrorGroup) -> str:
        now = self._clock()
        if now - previous.pr_checked_at < self.check_period_ms or now < self._paused_until:
            return ""
        number = pr_number(previous.pr_url)
        if not number:
            return ""  # not a GitHub pull request (local mode's PR files)
        try:
            # The factory reads SSM (the token): a failure there pauses the reads like GitHub's.
            github = self._github(previous.service)
            if github is None or not self._store.check_pr_due(previous.fingerprint, now, self.check_period_ms):
                return ""
            state = github.pull(number)
            words = github.reviewer_words(number) if state.state == "closed" and not state.merged else ""
        except SelfHealError:
            self._paused_until = now + PAUSE_MS
            raise
        try:
            if state.merged:
                self._store.mark_merged(previous.fingerprint, previous.pr_url, state.merged_at or now, now)
                self._count("FixesMerged")
                return Status.MERGED
            if state.state == "closed":
                review = words or "closed without merging"
                reason = "rejected: the pull request was closed (read lazily)"
                self._store.mark_rejected(previous.fingerprint, previous.pr_url, reason, review, now)
                self._count("FixesRejected")
                return Status.REJECTED
        except InvalidTransition:
            pass  # the webhook (or a retry) moved it first
        if state.state == "open":  # still open: without webhooks, its head's checks are read here too
            return judge_lazily(self._store, previous, github, self._metrics, now)
        return ""

    def _count(self, name: str) -> None:
        with self._lock:
            self._metrics.count(name)


# --- CI is the judge: check deliveries (usecases/checks.py) -------------------------------------------

CHECKS_WAIT_ENV = "SELFHEAL_CHECKS_WAIT_MINUTES"  # no check within this time: "checks: none" (default 120)


def judge_lazily(store: GroupPort, group: ErrorGroup, github: object, metrics: Counter, now: int) -> str:
    """Without webhooks (the lazy read on recurrence, the hourly heal checker): the open PR's head
    checks read and judged like a delivery's; none at all for ``SELFHEAL_CHECKS_WAIT_MINUTES``
    (default 120) since the fixer pushed → a comment that the branch has no CI, ``checks: none``.
    Returns the status the group moved to ('' when it stays PR_OPENED). Never raises."""
    import os

    from chalicelib.core.checks import DEFAULT_REPAIR_ROUNDS, NONE, REPAIR_ROUNDS_ENV, fold, repair_rounds
    from chalicelib.usecases.checks import Checks

    check_runs = getattr(github, "check_runs", None)
    if check_runs is None or group.checks not in ("", "pending"):
        return ""
    try:
        # The head commit, when it was pushed and the reviewers to ask are in the group's detail item
        # (adapters/groups.py REPORT_DETAIL): read once here, when the PR's check is due.
        group = store.get(group.fingerprint) or group
        if not group.head_sha:
            return ""
        rounds = repair_rounds(int(os.environ.get(REPAIR_ROUNDS_ENV, "") or DEFAULT_REPAIR_ROUNDS))
        wait_minutes = int(os.environ.get(CHECKS_WAIT_ENV, "") or 120)
        checks = Checks(store, lambda _group: github, metrics, rounds=rounds, clock=lambda: now)  # type: ignore[arg-type, return-value]
        report = fold(check_runs(group.head_sha))
        if report.state == NONE:
            if group.checks_since and now - group.checks_since >= wait_minutes * MINUTE_MS:
                checks.no_checks(group, wait_minutes)
            return ""
        step = checks.report(group, report)
    except (SelfHealError, ValueError):
        log.warning("checks not judged", exc_info=True, extra={"fingerprint": group.fingerprint})
        return ""
    return {"repair": Status.NEW, "ci_failed": Status.CI_FAILED}.get(step, "")


def apply_check_delivery(  # noqa: PLR0913 - the delivery and its collaborators
    store: FateStore,
    github: Callable[[str], object | None],
    wanted: Intent,
    metrics: Counter,
    rounds: int,
    clock: Callable[[], int] = now_ms,
) -> str:
    """A ``check_suite`` / ``check_run`` / ``status`` delivery (core/webhooks.py ``checks``) → the
    group of its selfheal PR (by the ``~pr~`` pointer of the PR, else the ``~branch~`` pointer of the
    branch), its head's checks read from GitHub (the payload is only the trigger: every suite and
    status of the head counts), and the verdict applied (usecases/checks.py). A delivery about an
    older commit than the one the fixer last pushed changes nothing. Returns the webhook's answer."""
    from chalicelib.core.checks import fold
    from chalicelib.usecases.checks import Checks

    fingerprint = (store.find_pr(wanted.pr_url) if wanted.pr_url else "") or store.find_branch(wanted.branch)
    group = store.get(fingerprint) if fingerprint else None
    if group is None or not group.pr_url or group.branch != wanted.branch:
        return "ignored: not a selfheal pull request"
    if wanted.head_sha and group.head_sha and wanted.head_sha != group.head_sha:
        return f"ignored: checks of {wanted.head_sha[:12]}, not of the branch's head {group.head_sha[:12]}"
    reads = github(group.service)
    check_runs = getattr(reads, "check_runs", None)
    if check_runs is None:
        return "ignored: the checks cannot be read (no GitHub API configured)"
    report = fold(check_runs(wanted.head_sha or group.head_sha))
    step = Checks(store, lambda _group: reads, metrics, rounds=rounds, clock=clock).report(group, report)  # type: ignore[arg-type, return-value]
    return f"checks {report.state}: {step or 'no change'}"
