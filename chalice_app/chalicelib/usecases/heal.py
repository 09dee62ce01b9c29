"""heal_checker's use case: merged fixes that stayed quiet long enough are HEALED; open PRs whose
fate selfheal has not heard of (no webhook, no recurrence: a fix that works never recurs) are read.

    every hour
      1. PRs opened in the last ``lookback`` days (``~opened~<day>`` sets): each group still
         PR_OPENED has its PR read when its check is due (Fate.check_pr: at most once a check
         period, at most ``max_reads`` a run) → MERGED / REJECTED; others leave the set
      2. merge days from (now − quiet − lookback) to (now − quiet) (``~merged~<day>`` sets):
         for each group still MERGED that day, merge and last occurrence both older than the quiet
         cutoff → HEALED (conditional); otherwise left for a later run; a group healed, regressed,
         merged again another day or gone leaves that day's set

No table scan: the store ADDs a fingerprint to its day's set in the PR_OPENED and MERGED writes,
so a run reads ``2 × lookback`` small items (two BatchGetItems) plus the groups in those windows
(docs/fate.md has the numbers). A group merged, or a PR opened, more than ``lookback`` days back
while the checker was not running stays as it is until it recurs or expires: the accepted bound.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from chalicelib.core.clock import now_ms
from chalicelib.core.models import Status
from chalicelib.errors import InvalidTransition

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.usecases.fate import Fate
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.ports import HealStore

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def day_of(epoch_ms: int) -> str:
    """The UTC day ``YYYY-MM-DD`` of an epoch-ms time (the key of a merge day's set)."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_ms // 1000))


class HealChecker:
    """Marks quiet merged groups HEALED; counts ``FixesHealed``."""

    def __init__(  # noqa: PLR0913 - the collaborators and the periods
        self,
        store: HealStore,
        metrics: Counter,
        quiet_ms: int = 72 * HOUR_MS,
        lookback_days: int = 30,
        clock: Callable[[], int] = now_ms,
        fate: Fate | None = None,
        max_reads: int = 100,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._quiet_ms = quiet_ms
        self._lookback = max(1, lookback_days)
        self._clock = clock
        self._fate = fate
        self._max_reads = max_reads

    def _days(self, until: int) -> list[str]:
        return sorted({day_of(until - k * DAY_MS) for k in range(self._lookback + 1)})

    def run(self) -> dict[str, int]:
        """One pass; returns how many PRs were read, groups healed, stay merged, left the day sets."""
        now = self._clock()
        read, dropped = self._check_open(now)
        healed, waiting, gone = self._heal(now)
        self._metrics.count("FixesHealed", healed)
        self._metrics.flush()
        log.info("heal check", extra={"healed": healed, "waiting": waiting, "prs_read": read})
        return {"prs_read": read, "healed": healed, "waiting": waiting, "dropped": dropped + gone}

    def _check_open(self, now: int) -> tuple[int, int]:
        """Step 1: the open PRs selfheal has not heard of."""
        if self._fate is None:
            return 0, 0
        read = dropped = 0
        for day, members in sorted(self._store.opened_sets(self._days(now)).items()):
            groups = self._store.get_many(sorted(members))
            done = set(members) - {g.fingerprint for g in groups}
            for group in groups:
                if group.status != Status.PR_OPENED:
                    done.add(group.fingerprint)
                elif read < self._max_reads and now - group.pr_checked_at >= self._fate.check_period_ms:
                    read += 1
                    if self._fate.check_pr(group):
                        done.add(group.fingerprint)
            self._store.forget_opened(day, sorted(done))
            dropped += len(done)
        return read, dropped

    def _heal(self, now: int) -> tuple[int, int, int]:
        """Step 2: merged groups quiet since the cutoff."""
        cutoff = now - self._quiet_ms
        healed = waiting = dropped = 0
        for day, members in sorted(self._store.merged_sets(self._days(cutoff)).items()):
            groups = self._store.get_many(sorted(members))
            done = set(members) - {g.fingerprint for g in groups}  # expired or deleted
            for group in groups:
                if group.status != Status.MERGED or day_of(group.merged_at) != day:
                    done.add(group.fingerprint)  # regressed, re-opened, or merged again another day
                elif group.merged_at <= cutoff and group.last_seen <= cutoff:
                    try:
                        self._store.mark_healed(group.fingerprint, group.merged_at, cutoff, now)
                    except InvalidTransition:
                        log.info("not healed: moved meanwhile", extra={"fingerprint": group.fingerprint})
                        waiting += 1
                        continue
                    healed += 1
                    done.add(group.fingerprint)
                else:
                    waiting += 1  # an occurrence inside the quiet period (within the deploy grace)
            self._store.forget_merged(day, sorted(done))
            dropped += len(done)
        return healed, waiting, dropped
