"""A service's own spend limits (the catalog's fixes_per_hour, fixes_per_day, tokens_per_day,
min_occurrences) through the real ingest, stream, fixer and store against the moto server.

Gap covered: tests/integration/test_spend.py checks the deployment's limits; here two services of
one catalog share the deployment's budget while one of them (billing) has limits of its own, kept
in its own day counter item (``~budget~spend~svc~billing~<day>``). Checked: billing's storm is cut
by billing's budget and names it, orders' jobs all leave; a service minimum above the deployment's
waits for its count; billing's token ceiling defers billing's claims only; a unit billing took for
a job the deployment's budget then refused is given back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from chalicelib import runtime
from chalicelib.adapters.queue import FixQueue
from chalicelib.adapters.store import ErrorGroupStore
from chalicelib.core.logs_payload import decode_batch
from chalicelib.core.models import Status
from chalicelib.core.services import ServiceCatalog
from chalicelib.core.spend import HOUR_MS, SpendLimits, day_start
from chalicelib.usecases.enqueue import Enqueue
from chalicelib.usecases.fix import FixService
from chalicelib.usecases.ingest import Ingest
from tests.factories import encode_payload, payload
from tests.integration.test_spend import START, Clock, Notices, Quiet, Spending, trace

if TYPE_CHECKING:
    from chalicelib.core.models import ErrorGroup
    from chalicelib.core.spend import SpendState

pytestmark = pytest.mark.integration

LOG_GROUPS = {"billing": "/ecs/billing", "orders": "/ecs/orders"}
DAY_S = day_start(START) // 1000


def catalog(**billing: int) -> ServiceCatalog:
    """billing with the given limits of its own, orders with none."""
    return ServiceCatalog.from_document(
        {"services": [
            {"name": "billing", "log_groups": [LOG_GROUPS["billing"]], **billing},
            {"name": "orders", "log_groups": [LOG_GROUPS["orders"]]},
        ]}
    )  # fmt: skip


class Pipeline:
    """Ingest, stream and fixer with one catalog and one clock, on the aws fixture's stack."""

    def __init__(self, aws, limits: SpendLimits, services: ServiceCatalog, store: ErrorGroupStore | None = None):
        self.aws = aws
        self.clock = Clock()
        self.store = store or runtime.store()
        self.fixer = Spending()
        self.notices = Notices()
        self.ingest = Ingest(self.store, Quiet(), clock=self.clock, catalog=lambda: services)
        queue = FixQueue(aws.clients.sqs, aws.stack.queue_url)
        self.enqueue = Enqueue(
            self.store, queue, Quiet(), clock=self.clock, notifier=self.notices, limits=limits,
            services=lambda: services,
        )  # fmt: skip
        self.fix_service = FixService(
            self.store, self.fixer, Quiet(), 60, 3, clock=self.clock, limits=limits, services=lambda: services
        )
        self.fps: dict[str, str] = {}

    def occur(self, service: str, *funcs: str, times: int = 1) -> None:
        """One delivery of ``service``'s log group holding ``times`` occurrences of each bug."""
        messages = [trace(f) for f in funcs for _ in range(times)]
        self.ingest.handle(decode_batch(encode_payload(payload(messages, log_group=LOG_GROUPS[service]))))
        for f in funcs:
            self.fps.setdefault(f, next(g.fingerprint for g in self.store.scan(service=service) if f in g.sample))
        while (event := self.aws.sources.stream_event()) is not None:
            assert self.enqueue.handle(event) == {"batchItemFailures": []}

    def run_jobs(self) -> list[str]:
        done = []
        while (event := self.aws.sources.queue_event(max_messages=10)) is not None:
            for record in event["Records"]:
                one = {"Records": [record]}
                self.aws.sources.settle(one, self.fix_service.handle(one))
                done.append(self.group(json.loads(record["body"])["fingerprint"]).status)
        return done

    def group(self, key: str) -> ErrorGroup:
        group = self.store.get(self.fps.get(key, key))
        assert group is not None
        return group

    def counters(self) -> dict[str, dict[str, int]]:
        """The spend counter items by key, their numbers."""
        return {
            i["fingerprint"]["S"]: {k: int(v["N"]) for k, v in i.items() if "N" in v and k != "expires_at"}
            for i in self.aws.items()
            if i["fingerprint"]["S"].startswith("~budget~spend~")
        }


def test_a_storm_in_billing_is_cut_by_billings_budget_while_orders_jobs_all_leave(aws) -> None:
    # GIVEN billing with 1 fix an hour of its own, orders with none, 10 an hour for the deployment
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10), catalog(fixes_per_hour=1))
    # WHEN a storm of 4 new bugs hits billing and 3 hit orders
    p.occur("billing", *(f"billing_{n}" for n in range(4)))
    p.occur("orders", *(f"orders_{n}" for n in range(3)))
    billing = [p.group(f"billing_{n}") for n in range(4)]
    # THEN billing sends one job and skips the rest, naming billing's hourly budget
    skipped = [g for g in billing if g.status == Status.SKIPPED]
    assert [g.status for g in billing].count(Status.QUEUED) == 1 and len(skipped) == 3
    assert all(
        g.reason.startswith("hourly-budget: billing's hourly budget: this hour's 1 fix jobs are spent") for g in skipped
    )
    assert all(g.wait == "budget" and g.wait_until == START - START % HOUR_MS + HOUR_MS for g in skipped)
    # AND every orders job leaves
    assert {p.group(f"orders_{n}").status for n in range(3)} == {Status.QUEUED}
    assert len(aws.queued()) == 4
    # AND the deployment counts 4 jobs, billing its 1 (orders, without limits, has no counter)
    hour = f"h{START % (24 * HOUR_MS) // HOUR_MS:02d}"
    counters = p.counters()
    assert set(counters) == {f"~budget~spend~{DAY_S}", f"~budget~spend~svc~billing~{DAY_S}"}
    assert counters[f"~budget~spend~{DAY_S}"] == {"jobs": 4, hour: 4}
    assert counters[f"~budget~spend~svc~billing~{DAY_S}"] == {"jobs": 1, hour: 1}
    # AND the notice counts billing's skips with the budget rules
    assert "3 SKIPPED by hourly-budget" in p.notices.sent[0].description


def test_a_service_minimum_above_the_deployments_waits_for_its_third_occurrence(aws) -> None:
    # GIVEN billing fixing from 3 occurrences, the deployment from 2, orders without a minimum of its own
    p = Pipeline(aws, SpendLimits(min_occurrences=2), catalog(min_occurrences=3))
    p.occur("billing", "rare")
    g = p.group("rare")
    # THEN the stricter wait is stored: re-opened at 3, not at the deployment's 2
    assert (g.status, g.wait, g.reopen_at) == (Status.SKIPPED, "occurrences", 3)
    assert g.reason.startswith("min-occurrences: billing's minimum occurrences: seen 1 time(s), fixing starts at 3")
    p.occur("billing", "rare")
    assert p.group("rare").status == Status.SKIPPED and aws.queued() == []
    p.occur("billing", "rare")
    assert p.group("rare").status == Status.QUEUED and len(aws.queued()) == 1
    # AND orders' bug follows the deployment's minimum of 2
    p.occur("orders", "often", times=2)
    assert p.group("often").status == Status.QUEUED


def test_billings_token_ceiling_defers_billings_claims_and_counts_tokens_per_service(aws) -> None:
    # GIVEN billing with 2,000 tokens a day of its own (one fix spends 2,100), the deployment unlimited
    p = Pipeline(aws, SpendLimits(), catalog(tokens_per_day=2_000))
    p.occur("billing", "first", "second")
    p.occur("orders", "third")
    assert {p.group(f).status for f in ("first", "second", "third")} == {Status.QUEUED}
    # WHEN the jobs run: the first billing fix spends billing's ceiling
    assert sorted(p.run_jobs()) == sorted([Status.PR_OPENED, Status.PR_OPENED, Status.SKIPPED])
    deferred = next(p.group(f) for f in ("first", "second") if p.group(f).status == Status.SKIPPED)
    # THEN the other billing job is deferred at its claim by billing's ceiling, before any model call
    assert deferred.reason.startswith("token-ceiling: billing's daily token ceiling: 2,100 model tokens used today")
    assert (deferred.wait, deferred.auto_jobs) == ("budget", 0) and deferred.fingerprint not in p.fixer.fixed
    # AND orders' job ran; the deployment counts both fixes' tokens, billing its own
    assert p.group("third").status == Status.PR_OPENED
    now = p.clock()
    assert p.store.spend_state(now).tokens_today == 4_200
    assert p.store.spend_state(now, scope="billing").tokens_today == 2_100
    assert p.store.spend_state(now, scope="orders").tokens_today == 0
    # AND a new billing bug the same day is refused at the stream, an orders bug is not
    p.occur("billing", "fourth")
    p.occur("orders", "fifth")
    assert p.group("fourth").reason.startswith("token-ceiling: billing's daily token ceiling")
    assert p.group("fifth").status == Status.QUEUED


class RacingStore(ErrorGroupStore):
    """The real store, with another stream processor that sends ``races`` jobs of its own (taking
    the deployment's unit) just after this one read the deployment's counters."""

    def __init__(self, base: ErrorGroupStore, races: int) -> None:
        self.__dict__.update(base.__dict__)
        self.races = races

    def spend_state(self, now: int, scope: str = "") -> SpendState:
        state = super().spend_state(now, scope)
        if scope == "" and self.races > 0:
            self.races -= 1
            assert self.take_fix_job(now, 0, 0)
        return state


def test_a_unit_billing_took_for_a_job_the_deployment_then_refused_is_given_back(aws) -> None:
    # GIVEN 1 job an hour for the deployment, 5 for billing, and another processor that takes the
    # deployment's unit between this processor's read and its take
    p = Pipeline(aws, SpendLimits(fixes_per_hour=1), catalog(fixes_per_hour=5), RacingStore(runtime.store(), 1))
    # WHEN billing's bug is decided on the stale read: billing's unit taken, the deployment's refused
    p.occur("billing", "late")
    g = p.group("late")
    # THEN the job waits for the deployment's budget (named without billing) and billing's unit is back
    assert g.status == Status.SKIPPED and g.reason.startswith("hourly-budget: this hour's 1 fix jobs are spent")
    hour = f"h{START % (24 * HOUR_MS) // HOUR_MS:02d}"
    assert p.counters()[f"~budget~spend~svc~billing~{DAY_S}"] == {"jobs": 0, hour: 0}
    assert p.counters()[f"~budget~spend~{DAY_S}"] == {"jobs": 1, hour: 1} and aws.queued() == []
