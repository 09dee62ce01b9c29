"""budget_sweeper's use case: groups SKIPPED for budget are re-opened, the longest-waiting first,
while budget remains — so a group refused by a spend limit is picked up when budget returns even
if it never occurs again.

    hourly ─▶ counters of this hour and day ─spend_room─▶ n ─▶ Query the sparse index budget_wait
      (oldest budget_since first, Limit n) ─▶ SKIPPED → NEW for each (conditional: still waiting)
      ─▶ the stream decides each job again (core/spend.py decide_spend) and takes its units

Bounded: one GetItem, one Query of at most ``max_per_run`` keys, and at most that many UpdateItems
a run. The sweep takes no budget itself; the stream does when it sends the job, so a group
re-opened here and beaten to the unit by a new bug is skipped again and keeps its place
(``budget_since`` is kept across re-skips).

Services with limits of their own (core/service_spend.py): the room is the deployment's alone, and
the oldest waiting groups are re-opened whatever their service. A group whose service's budget is
still spent is simply skipped again by the stream (its service's reason, its place kept): bounded
by ``max_per_run`` re-opens and as many skips an hour. Such groups at the head of the index can
take the run's room from other services' groups behind them until their service's window ends;
those groups are still re-opened by a recurrence after their window (docs/spend.md, accepted).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chalicelib.core.clock import now_ms
from chalicelib.core.spend import SpendState, spend_room

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.core.spend import SpendLimits
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.ports import SweepStore
    from chalicelib.usecases.requeue import Requeue, SweepNew

log = logging.getLogger(__name__)
SWEEP_MAX = 50  # groups re-opened per run at most, whatever the budget (bounded work, bounded stream burst)


class BudgetSweep:
    """Re-opens budget-waiting groups oldest first, as many as the budget left allows."""

    def __init__(
        self,
        store: SweepStore,
        limits: SpendLimits,
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        max_per_run: int = SWEEP_MAX,
        requeue: Requeue | None = None,
        sweep_new: SweepNew | None = None,
    ) -> None:
        self._store = store
        self._requeue = requeue  # the sweep of stuck jobs (usecases/requeue.py), run first
        self._sweep_new = sweep_new  # then the sweep of groups the stream never queued (the same module)
        self._limits = limits
        self._metrics = metrics
        self._clock = clock
        self._max = max(0, max_per_run)

    def run(self) -> dict[str, int]:
        """One sweep; returns ``{"room", "waiting", "resumed"}`` (room -1: no limit on the count), and
        with the sweep of stuck jobs ``{"queued", "requeued", "failed"}`` beside them, and with the
        sweep of groups left NEW ``{"new_waiting", "new_swept", "new_failed"}``."""
        stuck = self._requeue.run() if self._requeue is not None else {}
        stuck |= self._sweep_new.run() if self._sweep_new is not None else {}
        now = self._clock()
        limits = self._limits
        limited = limits.fixes_per_hour or limits.fixes_per_day or limits.tokens_per_day
        room = spend_room(limits, self._store.spend_state(now) if limited else SpendState())
        wanted = self._max if room is None else min(room, self._max)
        waiting = self._store.waiting(wanted)
        resumed = sum(self._store.resume(fingerprint, now, "spend") is not None for fingerprint in waiting)
        log.info("budget sweep: room %s, %d read, %d re-opened", room, len(waiting), resumed)
        self._metrics.count("GroupsResumed", resumed)
        self._metrics.flush()
        return {"room": -1 if room is None else room, "waiting": len(waiting), "resumed": resumed, **stuck}
