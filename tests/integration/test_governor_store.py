"""GovernorStore on a real atomic DynamoDB (dynalite on 127.0.0.1), sequentially and under threads.

Gap covered: moto's DynamoDB server does not isolate concurrent conditional writes (two threads'
``attribute_not_exists`` puts can both pass), so exactly-once, blast-radius and pause tests under
threads would pass or fail by luck there. dynalite locks each item around check-and-write, which is
the atomicity the store relies on (single-item conditional writes; dynalite has no transactions).
Skips, with the reason, where Node/npm is absent.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.governor_store import GovernorStore, table_definition
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target
from chalicelib.errors import Refused
from tests.dynalite import create_table, dynamodb_client  # fixtures: tests/integration/conftest.py
from tests.governor_model import LIMITS, STEPS, Ledger, play, replay

pytestmark = pytest.mark.integration

NOW = 1_800_000_000_000
MIN = 60_000
LIVE = Limits(dry_run=False, cooldown_s=900, max_attempts=2, attempt_window_s=6 * 3600, hourly_rate=50, max_in_flight=2)


def alarm(resource: str, at: int | str = 0, state: str = "open") -> Incident:
    return Incident(
        "alarm",
        f"arn:aws:cloudwatch:us-east-1:1:alarm:cpu-{resource}#{at}",
        state,
        "AWS/EC2/CPUUtilization",
        (resource,),
    )


def reboot(resource: str, fleet: str = "asg:web") -> Plan:
    return Plan(
        "ec2-reboot",
        Target("ec2-instance", resource, fleet, "us-east-1"),
        (Call("ec2", "reboot_instances", {"InstanceIds": [resource]}),),
    )


@pytest.fixture
def store(dynalite_table) -> GovernorStore:  # noqa: F811 - the fixture imported above
    client, name = dynalite_table
    return GovernorStore(client, name)


def live_slots(store: GovernorStore, fleet: str, now: int) -> int:
    """Slots of a fleet whose lease is running, read from the slot items themselves (strongly consistent)."""
    found = store._db.query(
        TableName=store._table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"fleet#{fleet}"}},
        ConsistentRead=True,
    )["Items"]
    return sum(1 for i in found if int(i["lease_until"]["N"]) > now)


# -- one event at a time -------------------------------------------------------------------------


def test_a_duplicate_delivery_is_audited_as_a_duplicate_and_acts_once(store: GovernorStore) -> None:
    first = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    again = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW + 1)
    assert (first.decision, again.decision, again.rule) == ("act", "suppressed", "duplicate")
    assert len(store.actions()) == 2
    assert first.open and first.deadline_ms == NOW + LIVE.verify_deadline_s * 1000


def test_a_republished_guardduty_finding_with_a_higher_count_acts_once(store: GovernorStore) -> None:
    finding = Incident("guardduty", "finding-9", "open", "Backdoor:EC2/C&CActivity.B", ("i-1",), facts={"count": 1})
    plan = replace(reboot("i-1"), runbook="ec2-isolate")
    decisions = [
        store.admit(replace(finding, facts={"count": n}), plan, LIVE, NOW + n * MIN).decision for n in (1, 2, 7)
    ]
    assert decisions == ["act", "suppressed", "suppressed"]


def test_cooldown_suppresses_a_new_alarm_on_the_same_resource_until_it_passes(store: GovernorStore) -> None:
    assert store.admit(alarm("i-1", 1), reboot("i-1"), LIVE, NOW).decision == "act"
    store.complete(store.actions(decision="act")[0].action_id, "failed", NOW + 1)
    inside = store.admit(alarm("i-1", 2), reboot("i-1"), LIVE, NOW + 14 * MIN)
    after = store.admit(alarm("i-1", 3), reboot("i-1"), LIVE, NOW + 15 * MIN)
    assert (inside.rule, after.decision) == ("cooldown", "act")


def test_an_exhausted_budget_escalates_once_pauses_and_resume_clears_it(store: GovernorStore) -> None:
    # GIVEN two acts on i-1 within the attempt window (each failed, so no slot is held)
    for n in range(2):
        record = store.admit(alarm("i-1", n), reboot("i-1"), LIVE, NOW + n * 20 * MIN)
        assert record.decision == "act"
        store.complete(record.action_id, "failed", NOW + n * 20 * MIN + 1, reason="reboot did not help")
    # WHEN it alarms a third and a fourth time
    third = store.admit(alarm("i-1", 2), reboot("i-1"), LIVE, NOW + 40 * MIN)
    fourth = store.admit(alarm("i-1", 3), reboot("i-1"), LIVE, NOW + 60 * MIN)
    # THEN one escalation pauses it, and what follows is suppressed until a person resumes it
    assert (third.decision, third.rule, third.pause) == ("escalate", "attempt-budget", True)
    assert (fourth.decision, fourth.rule) == ("suppressed", "paused")
    assert "acted 2 times" in store.paused("i-1")
    store.resume("i-1", NOW + 61 * MIN)
    assert store.paused("i-1") == ""
    assert store.admit(alarm("i-1", 4), reboot("i-1"), LIVE, NOW + 80 * MIN).decision == "act"
    with pytest.raises(Refused, match="not paused"):
        store.resume("i-1", NOW + 81 * MIN)


def test_a_failed_action_frees_its_fleet_slot(store: GovernorStore) -> None:
    one = Limits(dry_run=False, max_in_flight=1, hourly_rate=50)
    first = store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    blocked = store.admit(alarm("i-2"), reboot("i-2"), one, NOW + 1)
    store.complete(first.action_id, "failed", NOW + 2, after={"state": "running"}, reason="InvalidInstanceID")
    freed = store.admit(alarm("i-3"), reboot("i-3"), one, NOW + 3)
    assert (blocked.rule, freed.decision) == ("blast-radius", "act")
    failed = store.get(first.action_id)
    assert (failed.outcome, failed.outcome_reason, failed.after, failed.open) == (
        "failed",
        "InvalidInstanceID",
        {"state": "running"},
        False,
    )


def test_a_completed_action_stays_in_flight_until_its_resource_resolves(store: GovernorStore) -> None:
    one = Limits(dry_run=False, max_in_flight=1, hourly_rate=50)
    acted = store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    store.complete(acted.action_id, "act", NOW + 1, after={"rebooted": True})
    assert store.admit(alarm("i-2"), reboot("i-2"), one, NOW + 2).rule == "blast-radius"
    healed = store.admit(alarm("i-1", "ok", "resolved"), reboot("i-1"), one, NOW + 5 * MIN)
    assert (healed.decision, healed.rule) == ("healed", "resolved")
    closed = store.get(acted.action_id)
    assert (closed.outcome, closed.after, closed.open) == ("healed", {"rebooted": True}, False)
    assert store.admit(alarm("i-2", 2), reboot("i-2"), one, NOW + 6 * MIN).decision == "act"
    again = store.admit(alarm("i-1", "ok2", "resolved"), reboot("i-1"), one, NOW + 7 * MIN)
    assert (again.decision, again.rule) == ("ignore", "resolved")


def test_resolve_heals_open_actions_of_its_own_signal_only(store: GovernorStore) -> None:
    acted = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    # GIVEN another signal closing on the same resource THEN the action stays open (healed means this signal)
    assert store.resolve(Incident("health", "health-1#i-1", "resolved", "AWS_EC2_X", ("i-1",)), NOW + MIN) == []
    same = replace(alarm("i-1"), identity=alarm("i-1").identity.rpartition("#")[0] + "#ok", state="resolved")
    healed = store.resolve(same, NOW + MIN)
    assert [r.action_id for r in healed] == [acted.action_id]
    assert healed[0].outcome == "healed" and live_slots(store, "asg:web", NOW + MIN) == 0


def test_overdue_escalates_unverified_actions_and_frees_their_slots(store: GovernorStore) -> None:
    acted = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    assert store.overdue(NOW + LIVE.verify_deadline_s * 1000 - 1) == []
    late = store.overdue(NOW + LIVE.verify_deadline_s * 1000 + 1)
    assert [(r.action_id, r.outcome) for r in late] == [(acted.action_id, "escalated")]
    assert store.overdue(NOW + LIVE.verify_deadline_s * 1000 + 2) == []  # escalated once
    assert live_slots(store, "asg:web", NOW + MIN) == 0


def test_a_lost_executor_never_holds_a_fleet_slot_past_its_deadline(store: GovernorStore) -> None:
    # GIVEN an action whose executor vanished (never completed) and no overdue sweep ran
    one = Limits(dry_run=False, max_in_flight=1, hourly_rate=50, verify_deadline_s=600)
    store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    assert store.admit(alarm("i-2"), reboot("i-2"), one, NOW + 599_999).rule == "blast-radius"
    # WHEN its deadline passes THEN the slot's lease is over and another member may act
    assert store.admit(alarm("i-2", 2), reboot("i-2"), one, NOW + 600_000).decision == "act"


def test_the_kill_switch_dry_runs_and_consumes_nothing(store: GovernorStore) -> None:
    dry = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW, kill_switch=True)
    assert (dry.decision, dry.rule) == ("dry_run", "kill-switch")
    assert dry.calls == ({"service": "ec2", "operation": "reboot_instances", "params": {"InstanceIds": ["i-1"]}},)
    assert store.admit(alarm("i-1", 2), reboot("i-1"), LIVE, NOW + 1).decision == "act"  # no cooldown taken


def test_an_ambiguous_target_escalates_with_no_calls(store: GovernorStore) -> None:
    composite = Plan("ec2-reboot", None, (), problem="composite alarm names no metric")
    record = store.admit(alarm("i-1"), composite, LIVE, NOW)
    assert (record.decision, record.rule, record.calls, record.pause) == ("escalate", "ambiguous-target", (), False)


def test_a_retried_event_retakes_its_own_uncommitted_claims(store: GovernorStore) -> None:
    # GIVEN a Lambda that died after claiming and before committing (a crash, so no undo ran)
    class Crash(BaseException):
        pass

    def die_on_commit(params, **_):
        if params["Item"]["pk"]["S"].startswith("action#"):
            raise Crash

    one = Limits(dry_run=False, max_in_flight=1, hourly_rate=1)
    store._db.meta.events.register("before-parameter-build.dynamodb.PutItem", die_on_commit)
    try:
        with pytest.raises(Crash):
            store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    finally:
        store._db.meta.events.unregister("before-parameter-build.dynamodb.PutItem", die_on_commit)
    assert store.actions() == []  # nothing recorded, so nothing ran
    # WHEN the event is retried THEN it acts, on the very claims it left (rate 1 and fleet 1 are not spent twice)
    assert store.admit(alarm("i-1"), reboot("i-1"), one, NOW + 1).decision == "act"
    assert live_slots(store, "asg:web", NOW + 1) == 1


def test_a_delivery_that_loses_its_commit_to_a_twin_gives_its_claims_back_and_is_a_duplicate(
    store: GovernorStore,
) -> None:
    # GIVEN a twin delivery of the same alarm that commits between our claims and our commit
    twin: dict = {}

    def twin_commits_first(params, **_):
        item = params["Item"]
        if item["pk"]["S"].startswith("action#") and not twin:
            twin.update(item)
            store._db.put_item(TableName=store._table, Item={**item, "rule": {"S": "ok"}})

    store._db.meta.events.register("before-parameter-build.dynamodb.PutItem", twin_commits_first)
    try:
        record = store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    finally:
        store._db.meta.events.unregister("before-parameter-build.dynamodb.PutItem", twin_commits_first)
    # THEN we are recorded as its duplicate, and the slots and the attempt we took are given back
    assert (record.decision, record.rule) == ("suppressed", "duplicate")
    assert live_slots(store, "asg:web", NOW) == 0
    state = store._get("res#i-1", "state")
    assert state is None or state["tries"]["M"] == {}


def test_actions_lists_newest_first_with_filters(store: GovernorStore) -> None:
    store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    store.admit(alarm("i-2"), reboot("i-2"), LIVE, NOW + 1)
    store.admit(alarm("i-1", 2), reboot("i-1"), LIVE, NOW + 2)
    store.admit(alarm("i-9"), None, None, NOW + 3)
    assert [r.created_ms for r in store.actions()] == [NOW + 3, NOW + 2, NOW + 1, NOW]
    assert [r.created_ms for r in store.actions(resource="i-1")] == [NOW + 2, NOW]
    assert [r.rule for r in store.actions(runbook="ec2-reboot", decision="act")] == ["ok", "ok"]
    assert [r.rule for r in store.actions(resource="i-1", decision="suppressed")] == ["cooldown"]
    assert len(store.actions(limit=2)) == 2
    assert store.actions(decision="ignore")[0].rule == "no-runbook"


# -- approvals ------------------------------------------------------------------------------------

CRITICAL = replace(LIVE, approval=True, approval_ttl_s=3600)


def test_approval_runs_exactly_the_plan_that_was_approved(store: GovernorStore) -> None:
    plan = reboot("i-1")
    waiting = store.admit(alarm("i-1"), plan, CRITICAL, NOW)
    assert (waiting.decision, waiting.expires_ms, waiting.digest) == (
        "awaiting_approval",
        NOW + 3_600_000,
        plan.digest(),
    )
    approved = store.approve(waiting.action_id, plan.digest(), NOW + MIN)
    assert (approved.decision, approved.approval_of, approved.open) == ("approved", waiting.action_id, True)
    assert approved.plan() == plan and approved.plan().digest() == plan.digest()
    assert store.get(waiting.action_id).outcome == "approved"
    assert store.admit(alarm("i-1", 2), plan, CRITICAL, NOW + 2 * MIN).rule == "cooldown"  # the approval acted
    store.complete(approved.action_id, "act", NOW + 2 * MIN, after={"ok": 1})
    assert store.get(approved.action_id).after == {"ok": 1}


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("expired", "expired"),
        ("mismatch", "does not match"),
        ("twice", "already approved"),
        ("denied", "already denied"),
        ("not-awaiting", "not awaiting approval"),
        ("missing", "no action"),
        ("kill", "kill switch"),
        ("paused", "paused"),
    ],
)
def test_approve_refuses_with_why(store: GovernorStore, how: str, why: str) -> None:
    plan = reboot("i-1")
    action_id = store.admit(alarm("i-1"), plan, CRITICAL, NOW).action_id
    digest, at, kill = plan.digest(), NOW + MIN, False
    if how == "expired":
        at = NOW + 3_600_000
    elif how == "mismatch":
        digest = reboot("i-2").digest()
    elif how == "twice":
        store.approve(action_id, digest, at)
    elif how == "denied":
        store.deny(action_id, at)
    elif how == "not-awaiting":
        action_id = store.admit(alarm("i-7"), reboot("i-7"), LIVE, NOW).action_id
    elif how == "missing":
        action_id = "e000"
    elif how == "kill":
        kill = True
    elif how == "paused":
        store._edit_resource("i-1", lambda item: {**item, "paused": "a person paused it"}, NOW)
    with pytest.raises(Refused, match=why):
        store.approve(action_id, digest, at, kill_switch=kill)


def test_approve_refuses_while_the_fleet_is_at_its_limit(store: GovernorStore) -> None:
    one = replace(CRITICAL, max_in_flight=1)
    waiting = store.admit(alarm("i-1"), reboot("i-1"), one, NOW)
    store.admit(alarm("i-2"), reboot("i-2"), replace(one, approval=False), NOW)
    with pytest.raises(Refused, match="blast-radius"):
        store.approve(waiting.action_id, waiting.digest, NOW + 1)
    assert store.get(waiting.action_id).outcome == ""  # still awaiting: approve again later


def test_deny_closes_an_awaiting_action_once(store: GovernorStore) -> None:
    waiting = store.admit(alarm("i-1"), reboot("i-1"), CRITICAL, NOW)
    assert store.deny(waiting.action_id, NOW + 1).outcome == "denied"
    with pytest.raises(Refused, match="denied"):
        store.deny(waiting.action_id, NOW + 2)


# -- under threads --------------------------------------------------------------------------------


def concurrently(n: int, work) -> list:
    """Run ``work(i)`` on n threads released together by a barrier; the results in order."""
    barrier = threading.Barrier(n)

    def run(i: int):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_duplicate_deliveries_act_exactly_once(store: GovernorStore) -> None:
    records = concurrently(40, lambda i: store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW + i))
    assert Counter((r.decision, r.rule) for r in records) == {("act", "ok"): 1, ("suppressed", "duplicate"): 39}
    assert len(store.actions()) == 40


def test_100_simultaneous_alarms_on_a_100_instance_fleet_with_a_10_percent_limit_act_10(
    store: GovernorStore, capsys: pytest.CaptureFixture
) -> None:
    # GIVEN a 100-instance Auto Scaling group, at most 10 % of it in flight (N alone would allow 50)
    limits = Limits(dry_run=False, max_in_flight=50, max_in_flight_pct=10.0, hourly_rate=1000)
    # WHEN 100 ALARM events, one per instance, arrive at the same instant on 100 threads
    started = time.perf_counter()
    records = concurrently(
        100, lambda i: store.admit(alarm(f"i-{i:03d}"), reboot(f"i-{i:03d}"), limits, NOW, fleet_size=100)
    )
    elapsed = time.perf_counter() - started
    # THEN the audit shows exactly 10 acts (none completed, so all 10 are in flight at the peak), 90 suppressed
    audit = store.actions(limit=1000)
    assert Counter((r.decision, r.rule) for r in audit) == {("act", "ok"): 10, ("suppressed", "blast-radius"): 90}
    assert sorted(r.action_id for r in records) == sorted(r.action_id for r in audit)  # each event audited once
    peak = sum(1 for r in audit if r.open)
    assert peak == 10 == live_slots(store, "asg:web", NOW)
    with capsys.disabled():
        print(f"\n[governor] 100 simultaneous admits on dynalite: {elapsed:.2f}s ({100 / elapsed:.0f}/s), peak {peak}")


def test_concurrent_churn_never_exceeds_the_fleet_limit(store: GovernorStore) -> None:
    # GIVEN executors that fail at once (freeing their slot) while other members keep alarming
    limits = Limits(dry_run=False, max_in_flight=3, hourly_rate=1000, cooldown_s=0, max_attempts=1000)
    peak, reads = [0], [0]
    stop = threading.Event()

    def watch() -> None:  # reads the slots the store itself holds: no sleep, as often as it can
        while not stop.is_set():
            peak[0] = max(peak[0], live_slots(store, "asg:web", NOW))
            reads[0] += 1

    def work(i: int) -> str:
        record = store.admit(alarm(f"i-{i % 12}", i), reboot(f"i-{i % 12}"), limits, NOW)
        if record.decision == "act":
            store.complete(record.action_id, "failed", NOW)
        return record.decision

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=24) as pool:
            decisions = Counter(pool.map(work, range(120)))
    finally:
        stop.set()
        watcher.join()
    # THEN many acted over time, never more than 3 at once: each act holds one of 3 slot items
    assert decisions["act"] > 3
    assert reads[0] > 0 and peak[0] <= 3
    assert sum(decisions.values()) == 120 == len(store.actions(limit=1000))


def test_concurrent_events_over_an_exhausted_budget_escalate_once(store: GovernorStore) -> None:
    for n in range(2):
        record = store.admit(alarm("i-1", n), reboot("i-1"), LIVE, NOW + n * 20 * MIN)
        store.complete(record.action_id, "failed", NOW + n * 20 * MIN)
    records = concurrently(30, lambda i: store.admit(alarm("i-1", f"c{i}"), reboot("i-1"), LIVE, NOW + 60 * MIN))
    assert Counter(r.rule for r in records) == {"attempt-budget": 1, "paused": 29}


def test_concurrent_approvals_run_the_plan_once(store: GovernorStore) -> None:
    waiting = store.admit(alarm("i-1"), reboot("i-1"), CRITICAL, NOW)

    def approve(_: int) -> str:
        try:
            return store.approve(waiting.action_id, waiting.digest, NOW + MIN).decision
        except Refused:
            return "refused"

    assert Counter(concurrently(12, approve)) == {"approved": 1, "refused": 11}
    assert len(store.actions(decision="approved")) == 1


def test_1000_flapping_events_for_one_instance_act_once_per_cooldown_window(
    store: GovernorStore, capsys: pytest.CaptureFixture
) -> None:
    # GIVEN an alarm flapping ALARM/OK every 9 s for 2.5 hours (10 cooldown windows of 15 min)
    limits = Limits(dry_run=False, cooldown_s=900, max_attempts=1000, hourly_rate=1000, max_in_flight=1)
    events = [(alarm("i-1", n, "open" if n % 2 == 0 else "resolved"), NOW + n * 9_000) for n in range(1000)]
    started = time.perf_counter()
    # WHEN they are delivered by 8 threads, roughly in order
    with ThreadPoolExecutor(max_workers=8) as pool:
        records = list(pool.map(lambda e: store.admit(e[0], reboot("i-1"), limits, e[1]), events))
    elapsed = time.perf_counter() - started
    # THEN acts are at least one cooldown apart, at most one per window, and every event is audited once
    acts = sorted(r.created_ms for r in records if r.decision == "act")
    assert all(b - a >= 900_000 for a, b in zip(acts, acts[1:], strict=False))
    assert 1 <= len(acts) <= 10
    healed = [r for r in records if r.decision == "healed"]
    assert len(healed) <= len(acts)  # only the OK that actually closed an action records "healed"
    assert len(store.actions(limit=2000)) == 1000
    with capsys.disabled():
        print(
            f"\n[governor] 1000 flapping events: {len(acts)} acts in 10 windows, {elapsed:.2f}s, {1000 / elapsed:.0f}/s"
        )


# -- the store decides as the in-memory ledger does ------------------------------------------------


class StoreUnderTest:
    """Adapts GovernorStore to the ledger's replay interface."""

    def __init__(self, store: GovernorStore) -> None:
        self.store = store

    def deliver(self, delivery, limits: Limits) -> tuple[str, str]:
        record = self.store.admit(
            delivery.incident,
            delivery.plan,
            limits,
            delivery.now,
            fleet_size=delivery.fleet_size,
            kill_switch=delivery.kill,
        )
        return record.decision, record.rule

    def fail(self, resource: str, now: int) -> None:
        for record in self.store._open_on(resource):
            self.store.complete(record.action_id, "failed", now)

    def overdue(self, resource: str, now: int) -> None:  # noqa: ARG002 - the sweep covers every resource
        self.store.overdue(now)

    def resume(self, resource: str, now: int) -> None:
        try:
            self.store.resume(resource, now)
        except Refused:
            pass


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(steps=st.lists(STEPS, min_size=1, max_size=25), limits=LIMITS)
def test_the_store_decides_every_sequence_as_the_in_memory_ledger(
    dynalite_endpoint: str,  # noqa: F811 - the fixture imported above
    steps,
    limits,
) -> None:
    client = dynamodb_client(dynalite_endpoint, pool=4)
    name = create_table(client, table_definition(f"governor-diff-{time.perf_counter_ns()}"))
    try:
        run = play(steps)
        expected = [(e.decision, e.rule) for e in replay(run, limits, Ledger())]
        assert replay(run, limits, StoreUnderTest(GovernorStore(client, name))) == expected
    finally:
        client.delete_table(TableName=name)


def test_only_audit_records_carry_index_keys(store: GovernorStore) -> None:
    # GIVEN every kind of item: audit records, resource state, fleet and hourly slots, a pause
    store.admit(alarm("i-1"), reboot("i-1"), LIVE, NOW)
    store.admit(alarm("i-2"), reboot("i-2"), replace(LIVE, max_attempts=0), NOW)
    index_keys = {"audit", "ordering", "runbook", "resource", "decision", "open_flag", "open_resource"}
    # THEN state and slot items stay out of every index, and audit records are in by_time
    scanned = store._db.scan(TableName=store._table)["Items"]
    kinds = Counter(i["pk"]["S"].split("#", 1)[0] for i in scanned)
    # (and one day counter of the healing statistics: stats#<day> / ec2-reboot, out of the indexes too)
    assert kinds == {"action": 2, "res": 2, "fleet": 1, "rate": 1, "stats": 1}
    for item in scanned:
        if item["pk"]["S"].startswith("action#"):
            assert {"audit", "ordering", "decision"} <= item.keys()
        else:
            assert not index_keys & item.keys(), item["pk"]["S"]
