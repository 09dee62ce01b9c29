"""heal_checker's use case: merged fixes that stayed quiet long enough are HEALED.

    every hour ─▶ merge days from (now − quiet − lookback) to (now − quiet): ``~merged~<day>`` items,
      one BatchGetItem ─▶ their groups, BatchGetItem ─▶ for each group still MERGED that day:
        merge and last occurrence both older than the quiet cutoff ─▶ HEALED (conditional)
        otherwise left for a later run
      a group healed, regressed, re-merged another day or gone ─▶ dropped from that day's set

No table scan: the store ADDs a fingerprint to its merge day's set in the MERGED write, so a run
reads ``lookback`` small items plus the groups merged in that window (docs/fate.md has the
numbers). A group merged more than ``lookback`` days before the cutoff while the checker was
not running stays MERGED until it recurs (REGRESSED) or expires: the accepted bound.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from chalicelib.core.models import Status
from chalicelib.errors import InvalidTransition
from chalicelib.services.ingest import now_ms

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.services.metrics import Counter

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def day_of(epoch_ms: int) -> str:
    """The UTC day ``YYYY-MM-DD`` of an epoch-ms time (the key of a merge day's set)."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch_ms // 1000))


class HealChecker:
    """Marks quiet merged groups HEALED; counts ``FixesHealed``."""

    def __init__(
        self,
        store: ErrorGroupStore,
        metrics: Counter,
        quiet_ms: int = 72 * HOUR_MS,
        lookback_days: int = 30,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._quiet_ms = quiet_ms
        self._lookback = max(1, lookback_days)
        self._clock = clock

    def run(self) -> dict[str, int]:
        """One pass; returns how many groups healed, stay merged, and were dropped from the days."""
        now = self._clock()
        cutoff = now - self._quiet_ms
        days = sorted({day_of(cutoff - k * DAY_MS) for k in range(self._lookback + 1)})
        healed = waiting = dropped = 0
        for day, members in sorted(self._store.merged_days(days).items()):
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
        self._metrics.count("FixesHealed", healed)
        self._metrics.flush()
        log.info("heal check", extra={"healed": healed, "waiting": waiting, "days": len(days)})
        return {"healed": healed, "waiting": waiting, "dropped": dropped}
