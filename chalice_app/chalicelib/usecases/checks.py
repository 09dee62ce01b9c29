"""CI is the judge: a PR's checks reported → ready for review, a repair, or CI_FAILED.

    checks of the PR's head ─fold (core/checks.py)─▶ next step
      ready      → the draft marked ready for review, the reviewers chosen at opening requested now,
                   checks: passed, ready: true
      hold       → a comment naming the weakened check, the reviewers requested with it; stays a
                   draft (checks: passed, ready: false)
      repair     → PR_OPENED → NEW (repairs + 1, the failing output kept): the stream makes the job,
                   the spend limits decide it like any, the fixer commits on top of the branch
      ci_failed  → a comment with the failing output; the group ends CI_FAILED
      wait       → checks: pending (or none: no check at all yet)

One code path for every source of checks: the webhook's ``check_suite`` / ``check_run`` / ``status``
deliveries (usecases/resolve.py → usecases/fate.py), and in local mode the test command run in a
worktree of the fix branch (scripts/local_checks.py). A report for a group that moved on (merged,
re-opened, another head) changes nothing: every write is conditional on the group's own PR.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from chalicelib.core.checks import (
    DEFAULT_REPAIR_ROUNDS,
    NONE,
    PENDING,
    ci_failed_comment,
    hold_comment,
    next_step,
    no_checks_comment,
    repair_rounds,
)
from chalicelib.core.clock import now_ms
from chalicelib.core.codeowners import Reviewers
from chalicelib.core.models import Status
from chalicelib.errors import InvalidTransition

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.core.checks import CheckReport
    from chalicelib.core.models import ErrorGroup
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.ports import GroupPort

log = logging.getLogger(__name__)


class PullRequestActions(Protocol):
    """What selfheal does on its open PR once CI has spoken (adapters: GitHub, local records)."""

    def ready_for_review(self, pr_url: str, reviewers: Reviewers | None = None, ready: bool = True) -> None: ...

    def comment(self, pr_url: str, body: str) -> None: ...


def pending_reviewers(group: ErrorGroup) -> Reviewers | None:
    """The reviewers chosen when the PR opened, requested once it is ready (None when none)."""
    names = [n.strip() for n in group.reviewers_pending.split(",") if n.strip()]
    users = tuple(n for n in names if not n.startswith("@"))
    teams = tuple(n[1:] for n in names if n.startswith("@"))
    found = Reviewers(users, teams)
    return found or None


class Checks:
    """Applies a check report to the group whose PR it is about."""

    def __init__(
        self,
        store: GroupPort,
        pulls: Callable[[ErrorGroup], PullRequestActions | None],  # the PR actions of the group's repository
        metrics: Counter,
        rounds: int = DEFAULT_REPAIR_ROUNDS,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._pulls = pulls
        self._metrics = metrics
        self._rounds = repair_rounds(rounds)
        self._clock = clock

    def report(self, group: ErrorGroup, report: CheckReport) -> str:
        """Apply ``report`` (the checks of ``group``'s PR head) and return the step taken ('' when the
        group is not waiting for checks: another status, or no PR)."""
        if group.status != Status.PR_OPENED or not group.pr_url:
            return ""
        step = next_step(group, report, self._rounds)
        pulls = self._pulls(group)
        now = self._clock()
        try:
            if step == "wait":
                self._store.record_checks(group.fingerprint, group.pr_url, report.state or PENDING, now)
            elif step == "ready":
                if pulls is not None:
                    pulls.ready_for_review(group.pr_url, pending_reviewers(group))
                self._store.record_checks(group.fingerprint, group.pr_url, report.state, now, ready=True)
                self._metrics.count("FixesReady")
            elif step == "hold":
                if pulls is not None and group.checks != report.state:  # once, not on every delivery
                    pulls.comment(group.pr_url, hold_comment(group))
                    pulls.ready_for_review(group.pr_url, pending_reviewers(group), ready=False)
                self._store.record_checks(group.fingerprint, group.pr_url, report.state, now)
            elif step == "repair":
                self._store.reopen_for_repair(group.fingerprint, group.pr_url, report.output, self._rounds, now)
                self._metrics.count("FixesRepairing")
            else:
                if pulls is not None:
                    pulls.comment(group.pr_url, ci_failed_comment(group, report))
                self._store.mark_ci_failed(group.fingerprint, group.pr_url, report.output, now)
                self._metrics.count("FixesCiFailed")
        except InvalidTransition as moved:
            log.info("check report changes nothing: %s", moved, extra={"fingerprint": group.fingerprint})
            return ""
        log.info("checks %s: %s", report.state, step, extra={"fingerprint": group.fingerprint})
        return step

    def no_checks(self, group: ErrorGroup, minutes: int) -> bool:
        """After ``minutes`` without any check: a comment that the branch has no CI, ``checks: none``;
        the PR stays a draft. False when the group moved on."""
        try:
            self._store.record_checks(group.fingerprint, group.pr_url, NONE, self._clock())
        except InvalidTransition:
            return False
        pulls = self._pulls(group)
        if pulls is not None:
            pulls.comment(group.pr_url, no_checks_comment(minutes))
        return True
