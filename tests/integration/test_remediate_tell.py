"""What people are told about decisions that are not actions, and work interrupted mid-plan.

The remediate service with the real governor store on dynalite; the planner, executor and notifier
are small fakes (no AWS estate is needed: what is tested is what the service tells and when).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Proposal, Target
from chalicelib.usecases.remediate import RUN_LEASE_MS, Remediate
from tests.dynalite import dynalite_endpoint, dynalite_table  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from chalicelib.core.notices import Notice

pytestmark = pytest.mark.integration
NOW = 1_800_000_000_000
MIN = 60_000
REBOOT = Limits(dry_run=False, cooldown_s=900, max_attempts=5, hourly_rate=50, max_in_flight=1)


@dataclass
class Kept:
    notices: list[Notice] = field(default_factory=list)

    def publish(self, notice: Notice) -> str:
        self.notices.append(notice)
        return "id"

    def kinds(self) -> list[str]:
        return [n.kind.removeprefix("selfheal.") for n in self.notices]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


class Planner:
    """Plans every incident with the plan and limits of its runbook (``plans``)."""

    def __init__(self, plans: dict[str, tuple[Plan, Limits]]) -> None:
        self.plans = plans

    def propose(self, incident: Incident) -> Proposal:
        plan, limits = self.plans[incident.facts["runbook"]]
        if isinstance(plan, str):  # no runbook applies to a known resource: the sentence a person reads
            return Proposal(dataclasses.replace(incident, notify=plan), notify=plan)
        return Proposal(incident, plan, limits, None, {})

    def verified(self, plan: Plan) -> bool | None:
        return None


class Executor:
    def run(self, plan: Plan) -> list[Any]:
        return [c.operation for c in plan.calls]


class NoMetrics:
    def count(self, name: str, value: int = 1) -> None: ...

    def seconds(self, name: str, value: float) -> None: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class Event:
    incident: Incident

    def incidents(self) -> tuple[Incident, ...]:
        return (self.incident,)


def reboot_plan(resource: str = "i-1") -> Plan:
    return Plan("ec2-reboot", Target("ec2-instance", resource, "asg:web"), (Call("ec2", "reboot_instances", {}),))


def cpu(at: int, resource: str = "i-1", state: str = "open") -> Incident:
    arn = f"arn:aws:cloudwatch:us-east-1:1:alarm:cpu-{resource}"
    return Incident("alarm", f"{arn}#{at}", state, "AWS/EC2/CPUUtilization", (resource,), facts={"runbook": "reboot"})


def service(
    store: GovernorStore, plans: dict[str, tuple[Plan, Limits]], kill_switch: Any = lambda: False, **kw: Any
) -> tuple[Remediate, Kept, Clock]:
    kept, clock = Kept(), Clock()
    remediate = Remediate(
        parse_event=Event,
        planner=Planner(plans),
        governor=store,
        executor=Executor(),
        notifier=kept,
        kill_switch=kill_switch,
        metrics=NoMetrics(),
        clock=clock,
        **kw,
    )
    return remediate, kept, clock


@pytest.fixture
def store(dynalite_table: Any) -> GovernorStore:  # noqa: F811 - the fixture imported above
    client, name = dynalite_table
    return GovernorStore(client, name)


def test_a_repair_needed_again_inside_its_cooldown_pages_once(store: GovernorStore) -> None:
    remediate, kept, clock = service(store, {"reboot": (reboot_plan(), REBOOT)})
    assert remediate.handle(cpu(1))["decisions"][0]["decision"] == "act"
    # WHEN the CPU alarms again twice within the cooldown
    for at in (2, 3):
        clock.now += MIN
        [decision] = remediate.handle(cpu(at))["decisions"]
        assert (decision["decision"], decision["rule"]) == ("suppressed", "cooldown")
    # THEN one page for the repeat, not one per event
    assert kept.kinds() == ["act", "repeat"]
    assert "inside its cooldown" in kept.notices[1].title


def test_an_operator_can_turn_each_kind_of_notice_off(store: GovernorStore) -> None:
    quiet = frozenset({"act", "repeat"})
    remediate, kept, clock = service(store, {"reboot": (reboot_plan(), REBOOT)}, quiet=quiet)
    remediate.handle(cpu(1))
    clock.now += MIN
    remediate.handle(cpu(2))
    assert kept.notices == []
    assert len(store.actions()) == 2  # the audit keeps everything


def test_notify_only_decisions_reach_people_in_one_digest(store: GovernorStore) -> None:
    plans = {"reboot": ("memory high on a known instance", None)}
    remediate, kept, clock = service(store, plans)
    for at in (1, 2, 3):
        [decision] = remediate.handle(cpu(at))["decisions"]
        assert (decision["decision"], decision["rule"]) == ("notify", "notify")
    assert kept.notices == []  # nothing one by one
    clock.now += 5 * MIN
    remediate.verify()
    [digest] = kept.notices
    assert digest.kind == "selfheal.digest" and "3 notify-only" in digest.title
    assert digest.description.count("memory high on a known instance") == 3
    remediate.verify()
    assert len(kept.notices) == 1  # told once


def test_an_action_interrupted_mid_plan_escalates_at_the_next_run_after_its_lease(store: GovernorStore) -> None:
    remediate, kept, clock = service(store, {"reboot": (reboot_plan(), REBOOT)})
    # GIVEN an act admitted whose invocation died before its calls finished (never completed)
    store.admit(cpu(1), reboot_plan(), REBOOT, NOW)
    clock.now = NOW + RUN_LEASE_MS - 1
    assert remediate.verify()["decisions"] == []
    clock.now = NOW + RUN_LEASE_MS
    [decision] = remediate.verify()["decisions"]
    assert decision["decision"] == "escalate" and "interrupted mid-plan" in decision["reason"]
    assert kept.kinds() == ["escalate"]
    assert store.open_actions() == []  # its fleet slot is free again


def test_a_retirement_held_back_is_escalated_before_its_date(store: GovernorStore) -> None:
    retire = Limits(dry_run=False, cooldown_s=86400, max_attempts=1, max_in_flight=1, verify_deadline_s=4 * 3600)
    date = NOW + 8 * 3_600_000

    def retirement(instance: str) -> Incident:
        return Incident(
            "health", f"arn:aws:health:us-east-1::event/EC2/R/1#{instance}", "open", "RETIRE", (instance,),
            facts={"runbook": instance, "start_time": formatdate(date / 1000, usegmt=True)},
        )  # fmt: skip

    def plan(instance: str) -> Plan:
        return Plan("ec2-retire", Target("ec2-instance", instance, "asg:web"), (Call("ec2", "stop_instances", {}),))

    remediate, kept, clock = service(store, {i: (plan(i), retire) for i in ("i-1", "i-2")})
    assert remediate.handle(retirement("i-1"))["decisions"][0]["decision"] == "act"
    # GIVEN the second retirement held back by the first in flight (limit 1)
    held = remediate.handle(retirement("i-2"))["decisions"][0]
    assert (held["decision"], held["rule"]) == ("suppressed", "blast-radius")
    # WHEN the first never heals and the verifier runs until 6 h before the date
    clock.now = date - 6 * 3_600_000 - MIN
    remediate.verify()
    assert [h.resource for h in store.held()] == ["i-2"]
    clock.now = date - 6 * 3_600_000
    decisions = remediate.verify()["decisions"]
    # THEN it is given up for a person, before the date, with a page of its own
    assert ("escalate", "held-too-long", "i-2") in [(d["decision"], d["rule"], d["target"]) for d in decisions]
    assert store.held() == []
    assert any(n.kind == "selfheal.escalate" and "i-2" in n.title for n in kept.notices)


def test_an_unreadable_kill_switch_is_told_once_an_hour(store: GovernorStore) -> None:
    remediate, kept, clock = service(
        store, {"reboot": (reboot_plan(), REBOOT)}, switch_problem=lambda: "the kill switch does not exist"
    )
    remediate.verify()
    clock.now += 30 * MIN
    remediate.verify()
    clock.now += 31 * MIN
    remediate.verify()
    assert kept.kinds() == ["kill_switch", "kill_switch"]


def test_a_verifier_run_stops_deciding_held_work_when_its_time_budget_is_spent(store: GovernorStore) -> None:
    # GIVEN a held repair in each of two fleets, and a run whose every revisit takes 200 s (a slow stop/start)
    plans = {f"{f}{n}": (Plan("ec2-reboot", Target("ec2-instance", f"{f}{n}", f"asg:{f}"), (Call("ec2", "x", {}),)),
                         REBOOT) for f in ("a", "b") for n in (1, 2)}  # fmt: skip
    ticks = iter(range(0, 10_000, 200))
    remediate, _, clock = service(store, plans, timer=lambda: float(next(ticks)))
    for f in ("a", "b"):
        store.admit(replace(cpu(1, f"{f}1"), facts={"runbook": f"{f}1"}), plans[f"{f}1"][0], REBOOT, NOW)
        held = remediate.handle(replace(cpu(2, f"{f}2"), facts={"runbook": f"{f}2"}))["decisions"][0]
        assert held["rule"] == "blast-radius"
    for action in store.open_actions():
        store.heal(action.action_id, NOW + MIN, "healed")
    clock.now += 5 * MIN
    # WHEN the verifier runs THEN it decides one (200 s), then the 240 s budget stops it; the other waits
    acted = [d for d in remediate.verify()["decisions"] if d["decision"] == "act"]
    assert len(acted) == 1
    assert len(store.held()) == 1


class Signals:
    """The alarms' current states, as DescribeAlarms would answer (moto sets none by itself)."""

    def __init__(self, state: str) -> None:
        self.state = state

    def states(self, incidents: Any) -> dict[str, str]:
        return {i.identity: self.state for i in incidents}


@pytest.mark.parametrize(
    ("switch", "signal"), [(True, "active"), (False, "quiet")], ids=["kill switch on", "insufficient data"]
)
def test_held_work_waits_while_the_kill_switch_is_on_or_its_alarm_has_no_data(
    store: GovernorStore, switch: bool, signal: str
) -> None:
    # GIVEN a repair held back by the fleet limit behind one in flight
    plans = {f"a{n}": (Plan("ec2-reboot", Target("ec2-instance", f"a{n}", "asg:a"), (Call("ec2", "x", {}),)), REBOOT)
             for n in (1, 2)}  # fmt: skip
    kill = {"on": switch}
    signals = Signals(signal)
    remediate, kept, clock = service(store, plans, kill_switch=lambda: kill["on"], signals=signals)
    store.admit(replace(cpu(1, "a1"), facts={"runbook": "a1"}), plans["a1"][0], REBOOT, NOW)
    assert remediate.handle(replace(cpu(2, "a2"), facts={"runbook": "a2"}))["decisions"][0]["rule"] == "blast-radius"
    for action in store.open_actions():
        store.heal(action.action_id, NOW + MIN, "healed")
    # WHEN the verifier runs with the switch on, or while the alarm says INSUFFICIENT_DATA
    clock.now += 5 * MIN
    decided = remediate.verify()["decisions"]
    # THEN nothing is decided for good: the work stays held, no dry run, no notice per item
    assert [d for d in decided if d["decision"] in ("dry_run", "act")] == [] and len(store.held()) == 1
    # AND once the switch is off and the alarm is in ALARM again, the next run repairs it
    kill["on"], signals.state = False, "active"
    clock.now += 5 * MIN
    assert [d["decision"] for d in remediate.verify()["decisions"]] == ["act"]
