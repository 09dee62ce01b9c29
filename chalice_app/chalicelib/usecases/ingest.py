"""log_processor's use case: a subscription batch in, one write per bug out.

Bounded and safe to retry:

- writes run WRITERS at a time, and stop when the invocation's remaining time falls under a
  reserve; what was not written is reported by raising TransientError, so Lambda retries the
  delivery;
- a retry counts nothing twice: each write carries the delivery's token and DynamoDB refuses it
  for a group that already counted that delivery (adapters/groups.py); a large delivery first
  reads which groups counted it already, so a retry spends its time on the groups left;
- one group whose write DynamoDB refuses (after a minimal record was tried) is reported, logged
  and counted (``GroupsRejected``), and never fails its neighbours.

Each batch's log group is routed to its service (core/services.py: exact name, then the longest
prefix), which is part of every fingerprint of the batch. A log group no service owns is never
dropped silently: the delivery and its tracebacks are counted in that log group's SKIPPED item
(``status`` lists it with the reason) and in the ``UnknownLogGroups`` metric.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chalicelib.core.clock import now_ms
from chalicelib.core.fingerprint import observe
from chalicelib.core.group_fields import batch_token
from chalicelib.core.logs_payload import find_in_batch, find_in_events
from chalicelib.core.models import Status
from chalicelib.core.services import DEFAULT
from chalicelib.core.spend import resume_on_recurrence
from chalicelib.errors import ConfigError, InvalidTransition, NotFound, SelfHealError, TransientError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from chalicelib.adapters.groups import Recorded
    from chalicelib.adapters.logs import LogStreamReader
    from chalicelib.core.logs_payload import LogsBatch
    from chalicelib.core.models import ErrorGroup, Observation, Traceback
    from chalicelib.core.services import ServiceCatalog
    from chalicelib.usecases.fate import Fate
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.ports import GroupPort

log = logging.getLogger(__name__)

WRITERS = 8  # concurrent UpdateItems: 10,000 new bugs at ~6 ms each take ~8 s, not 60
PRECHECK_OVER = 50  # groups in a delivery above which a retry's written groups are read first, not rewritten
RESERVE_MS = 5_000  # stop writing when less than this (or a fifth of the time left) remains
# The reason the single hourly budget before spend limits (core/governor.py) skipped groups with. Such
# groups carry no wait for the sweeper to find, so their recurrence still re-opens them; groups skipped
# by today's limits wait (``_resume``); `selfheal retry` re-opens either by hand.
BUDGET_REASON = "budget: the hour's new fix jobs are spent"


@dataclass
class _Tally:
    new: int = 0
    counted: int = 0  # tracebacks counted by this delivery (not by an earlier attempt of it)
    duplicates: int = 0
    degraded: int = 0
    rejected: int = 0
    unwritten: int = 0  # transient failures and groups left when the time ran out


class Ingest:
    """Find tracebacks in a batch, complete cut-off ones from the stream, record each bug once."""

    def __init__(
        self,
        store: GroupPort,
        metrics: Counter,
        reader: LogStreamReader | None = None,
        fetch_lines: int = 200,
        clock: Callable[[], int] = now_ms,
        writers: int = WRITERS,
        catalog: Callable[[], ServiceCatalog] | None = None,
        fate: Fate | None = None,
    ) -> None:
        self._catalog = catalog  # None: the default catalog (one service owns every log group)
        self._store = store
        self._metrics = metrics
        self._reader = reader
        self._fetch_lines = fetch_lines
        self._clock = clock
        self._writers = max(1, writers)
        self._fate = fate  # what a recurrence says about the group's PR (usecases/fate.py)

    def handle(self, batch: LogsBatch, remaining_ms: Callable[[], int] | None = None) -> dict[str, int]:
        """Process one subscription batch.

        ``remaining_ms`` is the Lambda context's ``get_remaining_time_in_millis`` (None: no limit).
        PayloadError (malformed) propagates; TransientError when some groups could not be written
        (throttling, or the time budget ran out) so Lambda retries the delivery, and, failing that,
        keeps it at the failure destination.
        """
        if batch.is_control:
            return {"tracebacks": 0, "groups": 0, "new_groups": 0, "duplicates": 0, "rejected": 0}
        service = self._catalog().route(batch.log_group) if self._catalog is not None else DEFAULT
        if service is None:
            return self._unrouted(batch)
        tracebacks = []
        for tb in find_in_batch(batch):
            tb = self._complete(batch, tb)
            if not tb.final.type and not any(e.frames for e in tb.exceptions):
                # Only a header, and the stream holds no more: nothing to group or fix by.
                log.warning("traceback header without a body", extra={"log_stream": batch.log_stream})
                self._metrics.count("TracebacksUnreadable")
                continue
            tracebacks.append(tb)
        observations = observe(tracebacks, batch.log_group, default_ts=self._clock(), service=service.name)
        token = batch_token(batch.log_group, batch.log_stream, batch.ids, max(batch.timestamps, default=0))
        tally = self._record(observations, token, remaining_ms)
        self._metrics.count("ErrorsSeen", tally.counted)
        self._metrics.count("NewGroups", tally.new)
        self._metrics.count("GroupsDegraded", tally.degraded)
        self._metrics.count("GroupsRejected", tally.rejected)
        self._metrics.flush()
        # A routine delivery (known bugs counted, nothing new, refused or left) is in the counts line the
        # flush wrote (ErrorsSeen, which the dashboard sums): its own line only at DEBUG. At one delivery
        # in every log_processor invocation, that line was 80 % of the function's log bytes.
        routine = not (tally.new or tally.degraded or tally.rejected or tally.unwritten or tally.duplicates)
        log.log(
            logging.DEBUG if routine else logging.INFO,
            "batch processed",
            extra={"log_group": batch.log_group, "events": len(batch.messages), "tracebacks": len(tracebacks)},
        )
        if tally.unwritten:
            raise TransientError(
                f"{tally.unwritten} of {len(observations)} groups not written (throttled or out of time); "
                "a retry of this delivery writes them and counts the others nothing"
            )
        return {
            "tracebacks": len(tracebacks),
            "groups": len(observations),
            "new_groups": tally.new,
            "duplicates": tally.duplicates,
            "rejected": tally.rejected,
        }

    def _unrouted(self, batch: LogsBatch) -> dict[str, int]:
        """A delivery from a log group no service owns: counted in its item and a metric, not grouped."""
        found = sum(1 for _ in find_in_batch(batch))
        token = batch_token(batch.log_group, batch.log_stream, batch.ids, max(batch.timestamps, default=0))
        log.warning("log group belongs to no service", extra={"log_group": batch.log_group, "tracebacks": found})
        try:
            self._store.record_unrouted(batch.log_group, found, self._clock(), token)
        finally:
            self._metrics.count("UnknownLogGroups")
            self._metrics.count("TracebacksUnrouted", found)
            self._metrics.flush()
        return {"tracebacks": found, "groups": 0, "new_groups": 0, "duplicates": 0, "rejected": 0, "unrouted": 1}

    def _record(
        self, observations: Sequence[Observation], token: str, remaining_ms: Callable[[], int] | None
    ) -> _Tally:
        """Write the observations WRITERS at a time until done or out of time."""
        tally = _Tally()
        ordered = sorted(observations, key=lambda o: o.fingerprint)
        if len(ordered) > PRECHECK_OVER:
            # Perhaps a retry of a delivery that ran out of time: skip, at one read per 100 groups,
            # the groups an earlier attempt wrote, so that each attempt makes progress.
            done = self._store.counted([o.fingerprint for o in ordered], token)
            tally.duplicates += len(done)
            ordered = [o for o in ordered if o.fingerprint not in done]
        now = self._clock()
        # Keep a fifth of the time the invocation started with, at most RESERVE_MS, for the rest.
        reserve = min(RESERVE_MS, remaining_ms() // 5) if remaining_ms is not None else 0
        with ThreadPoolExecutor(max_workers=self._writers) as pool:
            for start in range(0, len(ordered), self._writers):
                if remaining_ms is not None and remaining_ms() <= reserve:
                    tally.unwritten += len(ordered) - start
                    log.warning("time budget spent", extra={"unwritten": len(ordered) - start})
                    break
                chunk = ordered[start : start + self._writers]
                for observation, result in zip(chunk, pool.map(lambda o: self._one(o, now, token), chunk), strict=True):
                    if isinstance(result, (ConfigError, NotFound)):
                        raise result  # the table is missing or not ours to write: fail the delivery loudly
                    self._tally(tally, observation, result)
        return tally

    def _one(self, observation: Observation, now: int, token: str) -> Recorded | SelfHealError:
        """Record one group; its error is returned, not raised, so it fails no neighbour."""
        try:
            recorded = self._store.record(observation, now, token)
        except SelfHealError as exc:
            return exc
        previous = recorded.previous
        if previous is not None and previous.status == Status.SKIPPED and previous.reason.startswith(BUDGET_REASON):
            # Skipped only because the hour's jobs were spent: its recurrence asks for a fix again.
            try:
                self._store.reopen(
                    observation.fingerprint, now, reason="re-opened: occurred again after a budget skip", by="spend"
                )
            except InvalidTransition:
                pass  # re-opened meanwhile by another batch
            except SelfHealError:
                log.warning("could not re-open a budget-skipped group", exc_info=True)
        elif previous is not None and previous.status == Status.SKIPPED and previous.duplicate_of:
            self._reopen_duplicate(previous, observation, now)
        elif previous is not None:
            self._resume(previous, observation, now)
        if previous is not None and self._fate is not None:
            self._fate.after_record(previous, observation.last_seen)  # never raises
        return recorded

    def _reopen_duplicate(self, previous: ErrorGroup, observation: Observation, now: int) -> None:
        """A group skipped as the duplicate of another's open PR that occurs again once that PR is no
        longer open (closed, failed its checks, or merged without healing this bug): fixed on its own."""
        try:
            first = self._store.get(previous.duplicate_of, detail=False)
            if first is not None and first.status == Status.PR_OPENED:
                return
            state = first.status if first is not None else "gone"
            why = f"re-opened: {previous.duplicate_of[:12]}'s pull request is no longer open ({state})"
            self._store.reopen(observation.fingerprint, now, reason=why, by="duplicate")
        except InvalidTransition:
            pass  # re-opened meanwhile by another batch
        except SelfHealError:
            log.warning("could not re-open a duplicate group", exc_info=True)

    def _resume(self, previous: ErrorGroup, observation: Observation, now: int) -> None:
        """A group waiting for occurrences or budget (core/governor.py decide_spend) that occurs
        again: re-open it once its wait is over — the minimum reached, or the refusing budget
        window ended — never on every occurrence."""
        by = resume_on_recurrence(
            previous.status,
            previous.wait,
            previous.wait_until,
            previous.reopen_at,
            previous.occurrences + observation.count,
            now,
        )
        if not by:
            return
        try:
            self._store.resume(observation.fingerprint, now, by)
        except SelfHealError:
            log.warning("could not re-open a waiting group", exc_info=True)

    @staticmethod
    def _tally(tally: _Tally, observation: Observation, result: Recorded | SelfHealError) -> None:
        fingerprint = observation.fingerprint
        if isinstance(result, TransientError):
            log.warning("group not written: %s", result, extra={"fingerprint": fingerprint})
            tally.unwritten += 1
        elif isinstance(result, SelfHealError):
            log.error("group rejected: %s", result, extra={"fingerprint": fingerprint})
            tally.rejected += 1
        elif result.duplicate:
            tally.duplicates += 1
        else:
            tally.new += result.new
            tally.degraded += result.degraded
            tally.counted += observation.count

    def _complete(self, batch: LogsBatch, tb: Traceback) -> Traceback:
        """A traceback the subscription filter cut off (only matching lines are delivered):
        read the rest of its stream with GetLogEvents and parse it again from its header."""
        if not tb.truncated or self._reader is None or tb.timestamp is None:
            return tb
        try:
            events = self._reader.events_from(batch.log_group, batch.log_stream, tb.timestamp, self._fetch_lines)
        except SelfHealError:  # best effort: the part delivered is still recorded
            log.warning("could not read the rest of a cut-off traceback", exc_info=True)
            return tb
        for full in find_in_events(events, batch.log_stream):
            if full.timestamp == tb.timestamp and not full.truncated:
                return replace(full, origin=tb.origin)
        return tb
