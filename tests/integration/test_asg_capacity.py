"""asg-capacity on the moto server: a group below capacity is told with its sizes and last activities; with
the catalog's ``scale_out: true`` its desired capacity rises by one, never above MaxSize and never while
launches fail. Nothing is ever terminated.

moto gaps: moto records no scaling activities (``DescribeScalingActivities`` answers an empty list), so
the activities read is answered by a botocore Stubber with a failed launch in AWS's shape
(tests/events/asg_capacity/activities_launch_failed.json); moto keeps every desired instance in service
(it replaces one put in Standby at once), so a group short of one reads one member ``Terminating``, as
AWS reports a member on its way out.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks import RUNBOOKS, asg_capacity, plan_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_runbooks_moto import Aws, fleet

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def catalog(scale_out: bool) -> tuple:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == "asg-capacity":
            entry["params"] = {"scale_out": scale_out}
    return load_catalog(doc)


def short_group(aws: Aws, size: int = 2) -> str:
    """A group of ``size`` desired instances (one is read as leaving: ``read(..., short=True)``)."""
    return fleet(aws, size)[0]


def alarm_on(group: str, fixture: str = "below_minimum") -> Any:
    raw = load_event(f"asg_capacity/{fixture}")
    for metric in raw["detail"]["configuration"]["metrics"]:
        if "metricStat" in metric:
            metric["metricStat"]["metric"]["dimensions"] = {"AutoScalingGroupName": group}
    return parse_event(raw).incident()


def read(
    aws: Aws, endpoint: str, incident: Any, cat: tuple, activities: list[dict] | None = None, *, short: bool = True
) -> dict:
    """The runbook's reads: the group on moto (one member leaving when ``short``); the activities on moto,
    or ``activities`` through a Stubber."""
    group_read, activities_read = asg_capacity.reads(plan_for(cat, incident).entry, incident)
    facts = Facts(aws.client).read([group_read])
    if short:
        facts["describe_auto_scaling_groups"]["AutoScalingGroups"][0]["Instances"][0]["LifecycleState"] = "Terminating"
    if activities is None:
        return {**facts, **Facts(aws.client).read([activities_read])}
    stubbed = Clients(Settings(endpoint_url=endpoint)).client("autoscaling")
    with Stubber(stubbed) as stub:
        name = activities_read.params["AutoScalingGroupName"]
        for activity in activities:
            activity["AutoScalingGroupName"] = name
        stub.add_response(
            "describe_scaling_activities",
            {"Activities": activities},
            {"AutoScalingGroupName": name, "MaxRecords": asg_capacity.ACTIVITIES},
        )
        facts.update(Facts(lambda _: stubbed).read([activities_read]))
    return facts


def failed_launch() -> list[dict]:
    return copy.deepcopy(load_event("asg_capacity/activities_launch_failed")["Activities"])


def desired(aws: Aws, group: str) -> int:
    found = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    return found["AutoScalingGroups"][0]["DesiredCapacity"]


def test_by_default_it_tells_the_sizes_and_the_failed_launch_and_changes_nothing(aws: Aws, moto_endpoint: str) -> None:
    group = short_group(aws)
    incident = alarm_on(group)
    facts = read(aws, moto_endpoint, incident, CATALOG, failed_launch())
    plan = plan_for(CATALOG, incident, facts).plan
    assert plan.runbook == "asg-capacity" and plan.calls == () and plan.target.id == group
    assert f"group {group} is below capacity: 1 in service of desired 2 (min 2, max 4)" in plan.problem
    assert "Failed: Launching a new EC2 instance." in plan.problem
    assert "(The image id '[ami-0badc0ffee1234567]' does not exist. Launching EC2 instance failed.)" in plan.problem
    assert "scale_out is off" in plan.problem and aws.calls["SetDesiredCapacity"] == 0


def test_when_allowed_it_raises_desired_capacity_by_one(aws: Aws, moto_endpoint: str) -> None:
    group, allowed = short_group(aws), catalog(scale_out=True)
    incident = alarm_on(group, "short_of_desired_math")  # the metric-math form reaches it too
    plan = plan_for(allowed, incident, read(aws, moto_endpoint, incident, allowed)).plan
    [call] = plan.calls
    assert call.params == {"AutoScalingGroupName": group, "DesiredCapacity": 3, "HonorCooldown": True}
    [result] = Executor(aws.client).run(plan.calls)
    assert result.ok and desired(aws, group) == 3
    assert aws.calls["TerminateInstances"] == aws.calls["TerminateInstanceInAutoScalingGroup"] == 0


def test_failing_launches_and_max_size_hold_the_scale_out_back(aws: Aws, moto_endpoint: str) -> None:
    group, allowed = short_group(aws), catalog(scale_out=True)
    incident = alarm_on(group)
    failing = plan_for(allowed, incident, read(aws, moto_endpoint, incident, allowed, failed_launch())).plan
    assert failing.calls == () and "launches are failing: more launches would not help" in failing.problem
    aws.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName=group, MaxSize=2)
    at_max = plan_for(allowed, incident, read(aws, moto_endpoint, incident, allowed)).plan
    assert at_max.calls == () and "at MaxSize 2" in at_max.problem
    assert aws.calls["SetDesiredCapacity"] == 0 and desired(aws, group) == 2


def test_a_group_back_at_capacity_stands_down(aws: Aws, moto_endpoint: str) -> None:
    group, *_ = fleet(aws)
    incident = alarm_on(group)
    plan = plan_for(CATALOG, incident, read(aws, moto_endpoint, incident, CATALOG, short=False)).plan
    assert plan.calls == () and "at capacity: 2 in service of desired 2" in plan.stand_down


def test_its_default_entry_is_dry_run_and_does_not_scale() -> None:
    [entry] = [e for e in CATALOG if e.action == "asg-capacity"]
    assert entry.limits.dry_run and not entry.limits.approval and entry.params == {"scale_out": False}
    assert RUNBOOKS["asg-capacity"].layer == "infrastructure"
