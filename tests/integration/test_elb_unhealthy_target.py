"""elb-unhealthy-target on the moto server: the unhealthy-host alarm of a target group is read and told
(which targets, why); with the catalog's ``deregister: true`` one unhealthy target is deregistered.

moto gap: moto reports every registered target of a running instance healthy (it runs no health
check), so the health the read returns is set on the read facts in the shape ELB reports it; the
deregistration itself runs on moto and is read back.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts
from chalicelib.core.runbooks import RUNBOOKS, plan_for, reads_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_runbooks_moto import AMI, Aws

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def target_group(aws: Aws, size: int = 3) -> tuple[str, list[str]]:
    """A target group of ``size`` registered instances: (its ARN, the instance ids)."""
    ec2, elbv2 = aws.client("ec2"), aws.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = elbv2.create_target_group(Name=f"web-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc)
    arn = group["TargetGroups"][0]["TargetGroupArn"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=AMI, MinCount=size, MaxCount=size)["Instances"]]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i, "Port": 80} for i in ids])
    return arn, ids


def alarm_on(arn: str) -> Any:
    raw = load_event("elb_unhealthy_target/unhealthy_hosts")
    metric = raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
    metric["dimensions"]["TargetGroup"] = arn.rsplit(":", maxsplit=1)[
        -1
    ]  # CloudWatch names it "targetgroup/<name>/<id>"
    return parse_event(raw).incident()


def catalog(deregister: bool) -> tuple:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == "elb-unhealthy-target":
            entry["params"] = {"deregister": deregister}
    return load_catalog(doc)


def read_as_elb_reports(aws: Aws, incident: Any, cat: tuple, sick: dict[str, str]) -> dict:
    """The read of the group's health, with ``sick`` ({instance: reason}) unhealthy as ELB reports it."""
    facts = copy.deepcopy(Facts(aws.client).read(reads_for(plan_for(cat, incident).entry, incident)))
    for d in facts["describe_target_health"]["TargetHealthDescriptions"]:
        reason = sick.get(d["Target"]["Id"])
        d["TargetHealth"] = (
            {"State": "unhealthy", "Reason": reason, "Description": "Health checks failed"}
            if reason
            else {"State": "healthy"}
        )
    return facts


def test_by_default_it_tells_which_targets_are_unhealthy_and_changes_nothing(aws: Aws) -> None:
    arn, (a, b, _) = target_group(aws)
    incident = alarm_on(arn)
    facts = read_as_elb_reports(aws, incident, CATALOG, {a: "Target.FailedHealthChecks", b: "Target.Timeout"})
    plan = plan_for(CATALOG, incident, facts).plan
    assert plan.calls == () and plan.target.id == arn
    assert f"2 unhealthy target(s) in {arn}" in plan.tell and "deregister is off" in plan.tell and not plan.problem
    assert f"{a}:80 (Target.FailedHealthChecks: Health checks failed)" in plan.tell and b in plan.tell
    assert aws.calls["DeregisterTargets"] == 0


def test_when_allowed_it_deregisters_one_unhealthy_target(aws: Aws) -> None:
    arn, (a, b, c) = target_group(aws)
    incident, allowed = alarm_on(arn), catalog(deregister=True)
    facts = read_as_elb_reports(aws, incident, allowed, {b: "Target.FailedHealthChecks", a: "Target.Timeout"})
    plan = plan_for(allowed, incident, facts).plan
    [call] = plan.calls
    assert call.params["Targets"] == [{"Id": min(a, b), "Port": 80}]  # one, the first by id
    [result] = Executor(aws.client).run(plan.calls)
    left = aws.client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert result.ok and sorted(d["Target"]["Id"] for d in left) == sorted({a, b, c} - {min(a, b)})


def test_a_group_with_no_healthy_target_escalates_and_a_recovered_one_stands_down(aws: Aws) -> None:
    arn, ids = target_group(aws, size=2)
    incident, allowed = alarm_on(arn), catalog(deregister=True)
    facts = read_as_elb_reports(aws, incident, allowed, dict.fromkeys(ids, "Target.FailedHealthChecks"))
    plan = plan_for(allowed, incident, facts).plan
    assert plan.calls == () and "none is healthy" in plan.tell
    recovered = plan_for(allowed, incident, read_as_elb_reports(aws, incident, allowed, {})).plan
    assert recovered.calls == () and "no target" in recovered.stand_down


def test_its_declaration() -> None:
    [entry] = [e for e in CATALOG if e.action == "elb-unhealthy-target"]
    assert entry.limits.dry_run and entry.params == {"deregister": False} and entry.target_dimension == "TargetGroup"
    assert RUNBOOKS["elb-unhealthy-target"].layer == "network"
