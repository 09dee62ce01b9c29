"""Per-service spend limits: over any interleaving of jobs from two services, no window exceeds its limit.

Gap covered: the moto tests (tests/integration/test_service_spend.py) follow a few storms; here
hypothesis interleaves batches of stream records from billing (limits of its own), orders (limits
of its own or none) and the default service, with time moving between batches and another stream
processor racing for units between a read of the counters and the take. The real ``Enqueue``
(usecases/enqueue.py: the decision with core/service_spend.py, the two takes, the give-back) runs
against ``Counters``: the store's spend methods with the store's conditional semantics, in memory.

Checked over every run:
- no service's hour or day and no deployment hour or day sent more jobs than its limit;
- no unit leaked: every counter equals the jobs that left in its window (ours and the racer's), so
  a unit a service took for a job the deployment then refused was given back;
- a job refused by a service's own limit names the service.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field

from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.services import ServiceCatalog
from chalicelib.core.spend import DAY_MS, HOUR_MS, SpendLimits, SpendState, SpendVerdict, day_start, hour_start
from chalicelib.usecases.enqueue import Enqueue

START = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS + 22 * HOUR_MS  # 22:00, so days turn over too
SERVICES = ("billing", "orders", "default")
_SER = TypeSerializer()


@dataclass
class Counters:
    """The store's spend counter items (one per scope and day: ``jobs`` and ``hNN``) and its group
    writes, in memory. A take is conditional on both windows, as the store's one UpdateItem is."""

    limits: dict[str, SpendLimits]  # scope ("" the deployment) → its limits, for the racer
    items: dict[tuple[str, int], Tally[str]] = field(default_factory=dict)
    races: dict[str, str] = field(default_factory=dict)  # stream token → scope the racer takes a unit of
    raced: Tally[tuple[str, int]] = field(default_factory=Tally)  # (scope, hour) → units the racer took
    skips: list[tuple[str, SpendVerdict]] = field(default_factory=list)

    def _item(self, now: int, scope: str) -> Tally[str]:
        return self.items.setdefault((scope, day_start(now)), Tally())

    @staticmethod
    def _hour(now: int) -> str:
        return f"h{now % DAY_MS // HOUR_MS:02d}"

    def spend_state(self, now: int, scope: str = "") -> SpendState:
        item = self._item(now, scope)
        return SpendState(hour_used=item[self._hour(now)], day_used=item["jobs"])

    def take_fix_job(self, now: int, per_hour: int, per_day: int, scope: str = "") -> bool:
        item = self._item(now, scope)
        if (per_day and item["jobs"] >= per_day) or (per_hour and item[self._hour(now)] >= per_hour):
            return False
        item["jobs"] += 1
        item[self._hour(now)] += 1
        return True

    def give_back_fix_job(self, now: int, scope: str) -> None:
        item = self._item(now, scope)
        item["jobs"] -= 1
        item[self._hour(now)] -= 1

    def mark_queued(self, fingerprint: str, token: str, now: int) -> bool:
        scope = self.races.get(token)
        if scope is not None:  # another stream processor sends a job of its own meanwhile
            lim = self.limits[scope]
            counted = lim.fixes_per_hour or lim.fixes_per_day  # a scope without job limits takes no units
            if counted and self.take_fix_job(now, lim.fixes_per_hour, lim.fixes_per_day, scope):
                self.raced[(scope, hour_start(now))] += 1
        return True

    def job_sent(self, fingerprint: str, token: str, now: int) -> bool:
        return True

    def skip_for_spend(self, fingerprint: str, token: str, now: int, verdict: SpendVerdict) -> bool:
        self.skips.append((fingerprint, verdict))
        return True


class Queue:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[str, int]] = []  # (service, hour start)

    def send(self, jobs):
        self.sent += [(job.service, hour_start(self.clock.now)) for job in jobs]
        return []


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now


class Quiet:
    def count(self, name: str, value: int = 1) -> None:
        pass

    def flush(self) -> None:
        pass


def insert(n: int, service: str) -> dict:
    image = {"fingerprint": f"{n:032x}", "status": "NEW", "occurrences": 1, "service": service}
    return {
        "eventID": f"e{n}",
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": str(n), "NewImage": {k: _SER.serialize(v) for k, v in image.items()}},
    }


limit = st.integers(min_value=0, max_value=4)
batches = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=100),  # minutes before the batch
        st.lists(st.tuples(st.sampled_from(SERVICES), st.sampled_from((None, "", "billing"))), max_size=8),
    ),
    max_size=10,
)


@given(limit, limit, limit, limit, limit, limit, batches)
def test_no_service_window_and_no_deployment_window_exceeds_its_limit(
    hour: int, day: int, billing_hour: int, billing_day: int, orders_hour: int, orders_day: int, steps
) -> None:
    overall = SpendLimits(fixes_per_hour=hour, fixes_per_day=day)
    catalog = ServiceCatalog.from_document(
        {"services": [
            {"name": "billing", "log_groups": ["/b"], "fixes_per_hour": billing_hour, "fixes_per_day": billing_day},
            {"name": "orders", "log_groups": ["/o"], "fixes_per_hour": orders_hour, "fixes_per_day": orders_day},
            {"name": "default", "log_groups": ["*"]},
        ]}
    )  # fmt: skip
    limits = {"": overall} | {s.name: SpendLimits(s.fixes_per_hour, s.fixes_per_day) for s in catalog.services}
    clock = Clock()
    counters = Counters(limits)
    queue = Queue(clock)
    enqueue = Enqueue(counters, queue, Quiet(), clock=clock, limits=overall, services=lambda: catalog)  # type: ignore[arg-type]
    n = 0
    service_of: dict[str, str] = {}
    for minutes, records in steps:
        clock.now += minutes * 60_000
        raw = []
        for service, race in records:
            n += 1
            raw.append(insert(n, service))
            service_of[f"{n:032x}"] = service
            if race is not None:
                counters.races[f"e{n}"] = race
        enqueue.handle({"Records": raw})

    # Jobs that left per window: ours by service, plus the racer's units.
    by_hour: Tally[tuple[str, int]] = Tally(queue.sent)
    for scope, bound in limits.items():
        own = [(s, h) for s, h in by_hour if scope in ("", s)]
        hours = Tally({h: 0 for _, h in own})
        for s, h in own:
            hours[h] += by_hour[(s, h)]
        for (raced_scope, h), units in counters.raced.items():
            if raced_scope == scope:
                hours[h] += units
        days: Tally[int] = Tally()
        for h, jobs in hours.items():
            days[day_start(h)] += jobs
            if bound.fixes_per_hour:
                assert jobs <= bound.fixes_per_hour, (scope, h, jobs)
        for d, jobs in days.items():
            if bound.fixes_per_day:
                assert jobs <= bound.fixes_per_day, (scope, d, jobs)
        # No unit leaked: a scope's counters are exactly the jobs that left in their windows (a scope
        # without job limits takes no units at all).
        if bound.fixes_per_hour or bound.fixes_per_day:
            counted = {d: item["jobs"] for (s, d), item in counters.items.items() if s == scope and item["jobs"]}
            assert counted == {d: j for d, j in days.items() if j}, (scope, counted, days)
        else:
            assert all(not item["jobs"] for (s, _), item in counters.items.items() if s == scope)
    # Every refusal is a budget's, and one by a service's own limit names that service.
    for fingerprint, verdict in counters.skips:
        assert not verdict.send and verdict.rule in ("hourly-budget", "daily-budget"), verdict
        named = [s for s in SERVICES if verdict.reason.startswith(f"{s}'s ")]
        assert named in ([], [service_of[fingerprint]]), (verdict, service_of[fingerprint])
