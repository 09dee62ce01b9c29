"""Spend limits through the real services and store against the moto server, time under the test's control.

Gap covered: the property tests (tests/property/test_spend_properties.py) check the decision on
in-memory state; these check that the writes carry it out — the conditional skip with its wait,
the day counter item with its hours and tokens, the sparse ``budget_wait`` index the sweep reads
oldest first, ingest's re-open at the minimum, the fixer's claim-time check and its token ledger —
on real DynamoDB and SQS APIs (moto). Concurrency of the counters is tested on dynalite
(test_spend_counters.py): moto does not isolate concurrent conditional writes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from chalicelib import runtime
from chalicelib.adapters.queue import FixQueue
from chalicelib.core.logs_payload import decode_batch
from chalicelib.core.models import FixOutcome, Status
from chalicelib.core.spend import DAY_MS, HOUR_MS, SpendLimits, day_start
from chalicelib.errors import FixRejected
from chalicelib.usecases.enqueue import Enqueue
from chalicelib.usecases.fix import FixService
from chalicelib.usecases.ingest import Ingest
from chalicelib.usecases.sweep import BudgetSweep
from tests.factories import encode_payload, payload

if TYPE_CHECKING:
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.models import ErrorGroup
    from chalicelib.core.notices import Notice

pytestmark = pytest.mark.integration

START = day_start(1_800_000_000_000) + 9 * HOUR_MS + 10 * 60_000  # 09:10 UTC


class Clock:
    """Epoch ms that moves 1 ms a reading (so writes are ordered) and jumps when the test says."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        self.now += 1
        return self.now

    def jump(self, ms: int) -> None:
        self.now += ms


class Quiet:
    def count(self, name: str, value: int = 1) -> None:
        pass

    def flush(self) -> None:
        pass


class Notices:
    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def publish(self, notice: Notice) -> str:
        self.sent.append(notice)
        return "id"


class Spending:
    """A fixer that spends ``tokens`` (in, out) per attempt and then ends as ``outcome`` says."""

    def __init__(self, tokens: tuple[int, int] = (1_500, 600), outcome: FixOutcome | None = None) -> None:
        self.tokens = tokens
        self.outcome = outcome or FixOutcome(Status.PR_OPENED, pr_url="https://example.invalid/pr/1", branch="b")
        self.fixed: list[str] = []

    def fix(self, group: ErrorGroup, lease) -> FixOutcome:
        self.fixed.append(group.fingerprint)
        lease.record_usage(*self.tokens)
        if self.outcome.status == Status.FAILED:
            raise FixRejected(self.outcome.reason)
        return self.outcome


def trace(func: str) -> str:
    return "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/var/task/app/handler.py", line 10, in handle',
            "    return orders.total(event)",
            f'  File "/var/task/app/orders.py", line 20, in {func}',
            "    return price / count",
            "ZeroDivisionError: division by zero",
        ]
    )


class Pipeline:
    """Ingest, stream, fixer and sweep of one test, on the aws fixture's stack, with one clock."""

    def __init__(self, aws, limits: SpendLimits, fixer=None) -> None:
        self.aws = aws
        self.clock = Clock()
        self.limits = limits
        self.store: ErrorGroupStore = runtime.store()
        self.notices = Notices()
        self.fixer = fixer or Spending()
        self.ingest = Ingest(self.store, Quiet(), clock=self.clock)
        self.enqueue = Enqueue(
            self.store,
            FixQueue(aws.clients.sqs, aws.stack.queue_url),
            Quiet(),
            clock=self.clock,
            notifier=self.notices,
            limits=limits,
        )
        self.fix_service = FixService(self.store, self.fixer, Quiet(), 60, 3, clock=self.clock, limits=limits)
        self.sweeper = BudgetSweep(self.store, limits, Quiet(), clock=self.clock)
        self.fps: dict[str, str] = {}

    def occur(self, *funcs: str, times: int = 1) -> None:
        """One delivery holding ``times`` occurrences of each bug, then the stream drained."""
        messages = [trace(f) for f in funcs for _ in range(times)]
        self.ingest.handle(decode_batch(encode_payload(payload(messages))))
        for f in funcs:
            self.fps.setdefault(
                f, next(g.fingerprint for g in self.store.scan() if f'"{f}"' in g.sample or f in g.sample)
            )
        self.stream()

    def stream(self) -> None:
        while (event := self.aws.sources.stream_event()) is not None:
            assert self.enqueue.handle(event) == {"batchItemFailures": []}

    def run_jobs(self) -> list[str]:
        """Every queued message through the fixer; returns the statuses it left."""
        done = []
        while (event := self.aws.sources.queue_event(max_messages=10)) is not None:
            for record in event["Records"]:
                one = {"Records": [record]}
                self.aws.sources.settle(one, self.fix_service.handle(one))
                done.append(self.group(json.loads(record["body"])["fingerprint"]).status)
        return done

    def sweep(self) -> dict[str, int]:
        result = self.sweeper.run()
        self.stream()
        return result

    def group(self, key: str) -> ErrorGroup:
        group = self.store.get(self.fps.get(key, key))
        assert group is not None
        return group


def test_a_group_under_the_minimum_waits_and_is_queued_when_it_reaches_it(aws) -> None:
    p = Pipeline(aws, SpendLimits(min_occurrences=3))
    # GIVEN a bug seen once, with a minimum of three
    p.occur("once")
    g = p.group("once")
    assert (g.status, g.wait, g.reopen_at) == (Status.SKIPPED, "occurrences", 3)
    assert g.reason.startswith("min-occurrences: seen 1 time(s), fixing starts at 3")
    # WHEN it occurs a second time: still under the minimum, nothing re-opens it (no job, no churn)
    writes = aws.calls["dynamodb.UpdateItem"]
    p.occur("once")
    assert p.group("once").status == Status.SKIPPED and aws.calls["dynamodb.UpdateItem"] - writes == 1
    # WHEN the third occurrence reaches it: re-opened and queued, as one automatic job
    p.occur("once")
    g = p.group("once")
    assert (g.status, g.wait, g.auto_jobs, g.resumed_by) == (Status.QUEUED, "", 1, "")
    assert [json.loads(m["Body"])["trigger"] for m in aws.queued()] == ["reopened"]
    # THEN further occurrences of a queued group make no job
    p.occur("once")
    assert p.group("once").status == Status.QUEUED and aws.queued() == []


def test_hour_and_day_budgets_skip_the_rest_and_the_sweep_picks_them_up_oldest_first(aws) -> None:
    p = Pipeline(aws, SpendLimits(fixes_per_hour=3, fixes_per_day=5))
    # GIVEN a storm of 8 new bugs in one hour
    funcs = [f"storm_{n}" for n in range(8)]
    p.occur(*funcs)
    groups = [p.group(f) for f in funcs]
    waiting = sorted((g for g in groups if g.status == Status.SKIPPED), key=lambda g: g.budget_since)
    # THEN 3 are queued, 5 SKIPPED by the hourly budget, each waiting for budget in the index
    assert len(aws.queued()) == 3 and len(waiting) == 5
    assert all(g.reason.startswith("hourly-budget: this hour's 3 fix jobs are spent") for g in waiting)
    assert all(g.wait == "budget" and g.wait_until == START - START % HOUR_MS + HOUR_MS for g in waiting)
    assert p.store.waiting(10) == [g.fingerprint for g in waiting]
    # and one notice summarises the burst with the limits
    [notice] = p.notices.sent
    assert "5 SKIPPED by hourly-budget" in notice.description and "Limits: 3 fixes an hour" in notice.description
    # WHEN the hourly sweep runs in the next hour: the day has 2 jobs left, so the 2 oldest
    p.clock.jump(HOUR_MS)
    queries = aws.calls["dynamodb.Query"]
    assert p.sweep() == {"room": 2, "waiting": 2, "resumed": 2}
    assert aws.calls["dynamodb.Query"] - queries == 1
    assert [p.store.get(g.fingerprint).status for g in waiting] == [Status.QUEUED] * 2 + [Status.SKIPPED] * 3
    # WHEN another sweep runs with the day spent, and a new bug arrives
    p.clock.jump(HOUR_MS)
    assert p.sweep() == {"room": 0, "waiting": 0, "resumed": 0}
    p.occur("late")
    assert p.group("late").reason.startswith("daily-budget: today's 5 fix jobs are spent")
    # WHEN tomorrow's first sweep runs: the 3 older waiting groups before the newer one
    p.clock.jump(DAY_MS)
    assert p.sweep()["resumed"] == 3
    assert [p.store.get(g.fingerprint).status for g in waiting[2:]] == [Status.QUEUED] * 3
    assert p.group("late").status == Status.SKIPPED and p.store.waiting(10) == [p.fps["late"]]
    # THEN no window ever took more than its limit (the day counter items)
    counters = [i for i in aws.items() if i["fingerprint"]["S"].startswith("~budget~spend~")]
    assert sorted(int(i["jobs"]["N"]) for i in counters) == [3, 5]
    assert all(int(v["N"]) <= 3 for i in counters for k, v in i.items() if k[0] == "h" and k[1:].isdigit())


def test_one_automatic_attempt_and_explicit_or_regression_re_opens_pass(aws) -> None:
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10))
    p.occur("bug")
    assert p.run_jobs() == [Status.PR_OPENED] and p.group("bug").auto_jobs == 1
    # WHEN something automatic (not a person, not a resumed wait) re-opens it
    p.store.reopen(p.fps["bug"], p.clock(), reason="automatic", by="automatic")
    p.stream()
    g = p.group("bug")
    # THEN it is SKIPPED by the rule, waiting for a person: no job, not in the sweep's index
    assert (g.status, g.wait) == (Status.SKIPPED, "") and g.reason.startswith("one-automatic-attempt")
    assert aws.queued() == [] and p.store.waiting(10) == []
    # WHEN a person retries, and later a regression re-opens it: each is a job
    for by in ("retry", "regression"):
        p.store.reopen(p.fps["bug"], p.clock(), by=by)
        p.stream()
        assert p.run_jobs() == [Status.PR_OPENED]
    assert p.fixer.fixed == [p.fps["bug"]] * 3


def test_tokens_are_recorded_per_group_and_day_and_the_ceiling_defers_at_claim_and_at_the_stream(aws) -> None:
    p = Pipeline(aws, SpendLimits(tokens_per_day=2_000))
    # GIVEN two bugs queued while the day's tokens are below the ceiling
    p.occur("first", "second")
    assert p.group("first").status == p.group("second").status == Status.QUEUED
    # WHEN the first fix spends 2,100 tokens, the second job is claimed over the ceiling
    statuses = p.run_jobs()
    assert sorted(statuses) == [Status.PR_OPENED, Status.SKIPPED]
    done, deferred = sorted((p.group("first"), p.group("second")), key=lambda g: g.status)
    assert (done.spent_tokens_in, done.spent_tokens_out) == (1_500, 600)
    # THEN the second never reached the fixer: SKIPPED with the rule, waiting for budget, count given back
    assert p.fixer.fixed == [done.fingerprint]
    assert deferred.reason.startswith("token-ceiling: 2,100 model tokens used today, the ceiling is 2,000")
    assert (deferred.wait, deferred.auto_jobs, deferred.spent_tokens_in) == ("budget", 0, 0)
    assert p.store.spend_state(p.clock()).tokens_today == 2_100
    # WHEN a new bug arrives the same day: refused before a job is sent
    p.occur("third")
    assert p.group("third").reason.startswith("token-ceiling") and aws.queued() == []
    # WHEN tomorrow's sweep runs: both re-opened; the first fix spends the new day's ceiling again,
    # so the other is deferred again at its claim and waits for the day after
    p.clock.jump(DAY_MS)
    assert p.sweep()["resumed"] == 2
    assert sorted(p.run_jobs()) == [Status.PR_OPENED, Status.SKIPPED]
    assert p.store.spend_state(p.clock()).tokens_today == 2_100
    p.clock.jump(DAY_MS)
    assert p.sweep()["resumed"] == 1 and p.run_jobs() == [Status.PR_OPENED]
    # THEN each group had exactly one fixer run and one automatic job, though some were sent twice
    assert sorted(p.fixer.fixed) == sorted(p.fps.values())
    assert {g: p.group(g).auto_jobs for g in p.fps} == {"first": 1, "second": 1, "third": 1}


def test_tokens_of_a_failed_attempt_count_too(aws) -> None:
    p = Pipeline(aws, SpendLimits(), fixer=Spending((900, 90), FixOutcome(Status.FAILED, reason="edits did not apply")))
    p.occur("fails")
    assert p.run_jobs() == [Status.FAILED]
    g = p.group("fails")
    assert (g.spent_tokens_in, g.spent_tokens_out) == (900, 90)
    assert p.store.spend_state(p.clock()).tokens_today == 990


def test_the_fixers_own_minimum_is_a_wait_that_ingest_ends(aws) -> None:
    # GIVEN the fixer's parameter min_occurrences (3) above the stream's (none)
    late = FixOutcome(Status.SKIPPED, "seen 1 time(s), fixing starts at 3", details={"reopen_at": 3})
    p = Pipeline(aws, SpendLimits(), fixer=Spending((0, 0), late))
    p.occur("rare")
    assert p.run_jobs() == [Status.SKIPPED]
    g = p.group("rare")
    assert (g.wait, g.reopen_at, g.auto_jobs) == ("occurrences", 3, 0)
    # WHEN it reaches three occurrences: re-opened, a job again
    p.occur("rare", times=2)
    assert p.group("rare").status == Status.QUEUED and len(aws.queued()) == 1


def test_the_sweep_does_bounded_work_whatever_is_waiting(aws) -> None:
    p = Pipeline(aws, SpendLimits(fixes_per_hour=1))
    p.occur(*(f"wait_{n}" for n in range(5)))
    assert len(p.store.waiting(10)) == 4
    # WHEN a sweep allowed 2 a run runs with no limit left on the count
    p.sweeper = BudgetSweep(p.store, SpendLimits(), Quiet(), clock=p.clock, max_per_run=2)
    reads = aws.calls["dynamodb.Query"]
    assert p.sweep() == {"room": -1, "waiting": 2, "resumed": 2}
    # THEN one Query of 2 keys; the 2 re-opened are refused again by the stream's hourly budget and
    # keep their place at the head of the index
    assert aws.calls["dynamodb.Query"] - reads == 1
    assert len(p.store.waiting(10)) == 4
