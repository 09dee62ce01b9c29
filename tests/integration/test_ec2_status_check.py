"""ec2-status-check on the moto server: a failed status check read, planned and executed.

An Auto Scaling member is marked Unhealthy (its group replaces it; selfheal terminates nothing), a
lone instance is rebooted (instance check) or stopped and started (system check). moto gap: a reboot
leaves no trace in moto's state, so the call is counted at the client. The plans made without AWS
(instance-store root, stopped instance, missing data) are checked on read facts of the same shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.facts import Facts
from chalicelib.core.runbooks import RUNBOOKS, ec2_status_check, plan_for
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_runbooks_moto import AMI, Aws, fleet, instance_of, run

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def check_failed(check: str, instance: str, **changes: Any) -> Any:
    """The fixture of a failed ``check`` ("system" or "instance") about ``instance``."""
    raw = load_event(f"ec2_status_check/{check}")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"InstanceId": instance}
    raw["detail"].update(changes)
    return parse_event(raw).incident()


def lone_instance(aws: Aws) -> str:
    return aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_a_group_member_is_marked_unhealthy_and_never_terminated(aws: Aws) -> None:
    group, (instance, _), _ = fleet(aws)
    planned, _, results = run(aws, check_failed("system", instance))
    assert [r.call.operation for r in results] == ["set_instance_health"] and results[0].ok
    assert planned.plan.target.fleet == f"asg:{group}"
    [member] = aws.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"]
    assert member["HealthStatus"].upper() == "UNHEALTHY"
    assert aws.calls["TerminateInstances"] == aws.calls["TerminateInstanceInAutoScalingGroup"] == 0


def test_a_failed_system_check_stops_and_starts_a_lone_instance(aws: Aws) -> None:
    instance = lone_instance(aws)
    _, _, results = run(aws, check_failed("system", instance))
    assert [r.call.operation for r in results] == ["stop_instances", "start_instances"] and all(r.ok for r in results)
    assert instance_of(aws, instance)["State"]["Name"] == "running"
    assert aws.calls["StopInstances"] == aws.calls["StartInstances"] == 1


def test_a_failed_instance_check_reboots_a_lone_instance(aws: Aws) -> None:
    instance = lone_instance(aws)
    _, _, results = run(aws, check_failed("instance", instance))
    assert [r.call.operation for r in results] == ["reboot_instances"] and results[0].ok
    assert aws.calls["RebootInstances"] == 1 and aws.calls["StopInstances"] == 0


def test_a_stopped_instance_stands_down_and_an_instance_store_root_escalates(aws: Aws) -> None:
    instance = lone_instance(aws)
    aws.client("ec2").stop_instances(InstanceIds=[instance])
    incident = check_failed("system", instance)
    facts = Facts(aws.client).read(ec2_status_check.reads(None, incident))
    plan = plan_for(CATALOG, incident, facts).plan
    assert plan.calls == () and "stopped" in plan.stand_down
    # An instance-store root (moto launches EBS roots only: the read's field is set as AWS reports it)
    found = facts["describe_instances"]["Reservations"][0]["Instances"][0]
    found.update(State={"Name": "running"}, RootDeviceType="instance-store")
    plan = plan_for(CATALOG, incident, facts).plan
    assert plan.calls == () and "instance-store" in plan.problem


def test_an_alarm_fired_on_missing_data_repairs_nothing() -> None:
    raw = load_event("ec2_status_check/system")
    raw["detail"]["state"] = load_event("alarm_ec2_cpu_missing_data")["detail"]["state"]  # as AWS words it
    planned = plan_for(CATALOG, parse_event(raw).incident())
    # no measured value says which side breached: not evidence of a failed check
    assert planned.plan is None and "not what the runbook repairs (ec2-status-check" in planned.reason


def test_its_default_entry_is_dry_run_without_approval_one_at_a_time() -> None:
    [entry] = [e for e in CATALOG if e.action == "ec2-status-check"]
    assert entry.limits.dry_run and not entry.limits.approval and entry.limits.max_in_flight == 1
    assert RUNBOOKS["ec2-status-check"].layer == "infrastructure"
    assert {t.metric for t in entry.triggers} == {
        "StatusCheckFailed_System",
        "StatusCheckFailed_Instance",
        "StatusCheckFailed",
    }
