"""ec2-retire and instance store: the second read (the instance type's storage), the plan's own approval,
and the governor's verdict on a plan that asks for approval (pure)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.governor import State, decide
from chalicelib.core.runbooks import RUNBOOKS, ec2_retire, plan_for, read_facts
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.core.runbooks.plan import Limits
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.unit.test_runbooks import I2, instance_facts

CATALOG = default_catalog()
NOW = 1_800_000_000_000
M5D = {
    "InstanceTypes": [
        {
            "InstanceType": "m5d.large",
            "InstanceStorageSupported": True,
            "InstanceStorageInfo": {"TotalSizeInGB": 75, "Disks": [{"SizeInGB": 75, "Count": 1, "Type": "ssd"}]},
        }
    ]
}
T3 = {"InstanceTypes": [{"InstanceType": "t3.micro", "InstanceStorageSupported": False}]}
LIVE = Limits(dry_run=False, approval=False)


def retirement():
    return parse_event(load_event("health_instance_retirement")).incident()


def facts(kind: str, types: dict | None, group: str | None = None) -> dict:
    read = instance_facts(I2, group=group, InstanceType=kind)
    return read if types is None else {**read, "describe_instance_types": types}


def test_the_type_is_read_once_the_instance_named_it() -> None:
    entry = next(e for e in CATALOG if e.name == "ec2-retire")
    [call] = ec2_retire.then_reads(entry, retirement(), facts("m5d.large", None))
    assert (call.service, call.operation, dict(call.params), call.mutating) == (
        "ec2", "describe_instance_types", {"InstanceTypes": ["m5d.large"]}, False,
    )  # fmt: skip
    assert ec2_retire.then_reads(entry, retirement(), {}) == ()
    # read_facts makes both reads, the second with the first's answer
    asked: list[list[str]] = []

    def read(calls):
        calls = list(calls)
        asked.append([c.operation for c in calls])
        return facts("m5d.large", None) if len(asked) == 1 else {"describe_instance_types": M5D}

    merged = read_facts(read, entry, retirement())
    assert asked[1] == ["describe_instance_types"] and merged["describe_instance_types"] == M5D


def test_a_stop_that_loses_instance_store_asks_for_approval_and_says_what_is_lost() -> None:
    plan = plan_for(CATALOG, retirement(), facts("m5d.large", M5D)).plan
    assert [c.operation for c in plan.calls] == ["stop_instances", "start_instances"]
    assert "has 75 GB of instance store (1 x 75 GB ssd) on m5d.large: the stop/start loses that data" in plan.approval
    assert ec2_retire.before(facts("m5d.large", M5D))["instance_store"].startswith("75 GB")
    verdict = decide(retirement(), plan, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule) == ("awaiting_approval", "approval") and plan.approval in verdict.reason
    # a runbook still in dry-run reports that, live, it would ask
    dry = decide(retirement(), plan, replace(LIVE, dry_run=True), State(), NOW)
    assert dry.decision == "dry_run" and dry.reason.endswith(f"live, it would wait for approval: {plan.approval}")


def test_no_instance_store_no_approval_and_an_unread_type_asks() -> None:
    plain = plan_for(CATALOG, retirement(), facts("t3.micro", T3)).plan
    assert plain.approval == "" and decide(retirement(), plain, LIVE, State(), NOW).decision == "act"
    denied = {"error": "UnauthorizedOperation: not allowed"}
    unread = plan_for(CATALOG, retirement(), facts("m5d.large", denied)).plan
    assert "could not be read (UnauthorizedOperation" in unread.approval
    assert "not read" in plan_for(CATALOG, retirement(), facts("m5d.large", None)).plan.approval


def test_a_group_member_with_instance_store_is_replaced_as_before() -> None:
    plan = plan_for(CATALOG, retirement(), facts("m5d.large", M5D, group="web-asg")).plan
    assert [c.operation for c in plan.calls] == ["terminate_instance_in_auto_scaling_group"] and not plan.approval


def test_its_declaration_reads_and_grants_the_type() -> None:
    runbook = RUNBOOKS["ec2-retire"]
    assert runbook.then_reads is ec2_retire.then_reads
    assert any("ec2:DescribeInstanceTypes" in g.actions for g in runbook.permissions)


LIMITS = st.builds(Limits, dry_run=st.booleans(), approval=st.booleans(), cooldown_s=st.sampled_from([0, 900]))
STATES = st.builds(State, seen=st.booleans(), kill_switch=st.booleans(), in_flight=st.integers(0, 3))


@given(LIMITS, STATES, st.text(min_size=1, max_size=40))
def test_a_plan_that_asks_for_approval_never_acts_without_one(limits: Limits, state: State, why: str) -> None:
    plan = replace(plan_for(CATALOG, retirement(), facts("t3.micro", T3)).plan, approval=why)
    verdict = decide(retirement(), plan, limits, state, NOW)
    assert verdict.decision != "act"
    if verdict.decision == "awaiting_approval":
        assert why in verdict.reason
