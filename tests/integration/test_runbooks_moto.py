"""Runbooks against the moto server: facts read, the executor runs the plan, the resulting state is checked.

moto gaps, each covered where it matters and said in the test: reboots leave no trace in moto (the call
is counted at the client instead); Run Command always reports Success and ``list_command_invocations``
is missing (botocore Stubber on the ssm client for that read); ECS has no real rollout (a service
with tasks to start stays IN_PROGRESS, one with none is COMPLETED).
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import local_infra
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts, RunbookPlanner
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks import (
    disk_cleanup,
    ec2_isolate,
    ec2_retire,
    fleet_reads_for,
    fleet_size,
    plan_for,
    reads_for,
)
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

AMI = "ami-760aaa0f"  # moto's bundled Amazon Linux image (ami-12c6146b is Windows: disk-cleanup refuses it)
CATALOG = default_catalog()


class Aws:
    """boto3 clients on the moto server, each call counted by operation name."""

    def __init__(self, endpoint: str) -> None:
        self._clients = Clients(Settings(endpoint_url=endpoint))
        self._made: dict[str, Any] = {}
        self.calls: Counter[str] = Counter()

    def client(self, service: str) -> Any:
        if service not in self._made:
            client = self._clients.client(service)
            client.meta.events.register("before-call.*.*", self._count)
            self._made[service] = client
        return self._made[service]

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.split(".", 2)[2]] += 1


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"  # moto servers share state within the process


def fleet(aws: Aws, size: int = 2) -> tuple[str, list[str], str]:
    """A VPC, a launch template and an Auto Scaling group of ``size`` instances: (group, instances, subnet)."""
    ec2, autoscaling = aws.client("ec2"), aws.client("autoscaling")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    template = name("web")
    ec2.create_launch_template(
        LaunchTemplateName=template, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"}
    )
    group = name("web-asg")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchTemplate={"LaunchTemplateName": template},
        MinSize=size,
        MaxSize=size + 2,
        DesiredCapacity=size,
        VPCZoneIdentifier=subnet,
    )
    members = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]
    return group, [i["InstanceId"] for i in members["Instances"]], subnet


def alarm_on(fixture: str, **dimensions: str) -> Any:
    raw = load_event(fixture)
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = dimensions
    return parse_event(raw).incident()


def run(aws: Aws, incident: Any, facts_override: dict | None = None) -> tuple[Any, dict, list]:
    """Read → plan → execute, as usecases/remediate.py will."""
    planned = plan_for(CATALOG, incident)
    facts = Facts(aws.client).read(reads_for(planned.entry, incident))
    facts.update(facts_override or {})
    planned = plan_for(CATALOG, incident, facts)
    results = Executor(aws.client, waiter_delay_s=1).run(planned.plan.calls)
    return planned, facts, results


# The estate's builders are local --infra's (scripts/local_infra.py), on these counted clients.
def ecs_service(aws: Aws, desired: int) -> tuple[str, str]:
    return local_infra.ecs_service(aws.client("ecs"), desired)


def lambda_function(aws: Aws) -> str:
    return local_infra.lambda_function(aws.client("iam"), aws.client("lambda"))


def quarantine_groups(aws: Aws, vpc: str) -> tuple[str, str]:
    return local_infra.quarantine_groups(aws.client("ec2"), vpc)


def instance_of(aws: Aws, instance: str) -> dict:
    return aws.client("ec2").describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]


def test_ec2_reboot_reboots_the_alarmed_instance_of_its_group(aws: Aws) -> None:
    group, (instance, _), _ = fleet(aws)
    planned, facts, results = run(aws, alarm_on("alarm_ec2_cpu", InstanceId=instance))
    assert planned.plan.target.fleet == f"asg:{group}" and all(r.ok for r in results)
    assert fleet_size(Facts(aws.client).read(fleet_reads_for(planned.plan))) == 2  # the blast radius's base
    # moto gap: a reboot leaves no trace in moto's state, so the call is counted at the client
    assert aws.calls["RebootInstances"] == 1
    assert instance_of(aws, instance)["State"]["Name"] == "running"


def test_disk_cleanup_runs_the_commands_and_records_the_command_status(aws: Aws) -> None:
    _, (instance, _), _ = fleet(aws)
    planned, _, results = run(aws, alarm_on("alarm_cwagent_disk", InstanceId=instance, path="/"))
    assert results and all(r.ok for r in results), planned.plan
    command_id = results[0].response["Command"]["CommandId"]
    sent = aws.client("ssm").list_commands(CommandId=command_id)["Commands"][0]
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["Parameters"]["commands"] == disk_cleanup.DEFAULT_PARAMS["commands"]
    follow = disk_cleanup.followup(planned.plan, [r.response for r in results])
    # moto gap: list_command_invocations is missing and Run Command always succeeds: a Stubber answers
    # for the ssm client with the failure a real host can report, and the outcome records it
    ssm = aws.client("ssm")
    with Stubber(ssm) as stub:
        stub.add_response(
            "list_command_invocations",
            {"CommandInvocations": [{"CommandId": command_id, "InstanceId": instance, "Status": "Failed"}]},
            {"CommandId": command_id, "Details": True},
        )
        facts = Facts(lambda _: ssm).read(follow)
    assert disk_cleanup.outcome(facts) == "failed: Failed"


def test_ecs_redeploy_forces_a_new_deployment(aws: Aws) -> None:
    # moto gap: no rollout; a service with no task to start reads COMPLETED
    cluster, service = ecs_service(aws, desired=0)
    before = aws.client("ecs").describe_services(cluster=cluster, services=[service])["services"][0]["deployments"]
    planned, _, results = run(aws, alarm_on("alarm_ecs_memory", ClusterName=cluster, ServiceName=service))
    assert [r.call.operation for r in results] == ["update_service"] and all(r.ok for r in results)
    after = aws.client("ecs").describe_services(cluster=cluster, services=[service])["services"][0]["deployments"]
    assert after[0]["id"] != before[0]["id"]


def test_ecs_redeploy_stands_down_while_a_deployment_rolls_out(aws: Aws) -> None:
    # moto gap: tasks never start, so a service with desired tasks stays IN_PROGRESS — the state we need
    cluster, service = ecs_service(aws, desired=2)
    planned, _, results = run(aws, alarm_on("alarm_ecs_memory", ClusterName=cluster, ServiceName=service))
    assert results == [] and "in progress" in planned.plan.stand_down
    assert aws.calls["UpdateService"] == 0


def test_lambda_rollback_moves_the_alias_to_the_previous_version(aws: Aws) -> None:
    function = lambda_function(aws)
    incident = alarm_on("alarm_lambda_errors_alias", FunctionName=function, Resource=f"{function}:live")
    planned, facts, results = run(aws, incident)
    assert all(r.ok for r in results) and planned.plan.calls[0].params["FunctionVersion"] == "2"
    assert aws.client("lambda").get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "2"
    assert facts["get_alias"]["FunctionVersion"] == "3"  # the pre-state the audit keeps


def finding_about(instance: str) -> Any:
    raw = load_event("guardduty_cc_activity_b")
    raw["detail"]["resource"]["instanceDetails"]["instanceId"] = instance
    return parse_event(raw).incident()


def test_ec2_isolate_quarantines_every_interface_and_records_the_pre_state(aws: Aws) -> None:
    # GIVEN an instance of an Auto Scaling group with a second network interface and two volumes
    ec2 = aws.client("ec2")
    group, (instance, _), subnet = fleet(aws)
    found = instance_of(aws, instance)
    vpc = found["VpcId"]
    extra = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    ec2.attach_network_interface(NetworkInterfaceId=extra, InstanceId=instance, DeviceIndex=1)
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    untrack, isolate = quarantine_groups(aws, vpc)
    # WHEN the finding's plan is read, made and run
    planned, facts, results = run(aws, finding_about(instance))
    pre = ec2_isolate.before(facts)
    # THEN every call succeeded, in the order of the plan
    assert [r.error for r in results] == [None] * len(planned.plan.calls)
    swaps = [
        (c.params["NetworkInterfaceId"], c.params["Groups"][0]) for c in planned.plan.calls if "Groups" in c.params
    ]
    enis = list(pre["network_interfaces"])  # in the order the instance lists them
    assert len(enis) == 2 and swaps == [(e, untrack) for e in enis] + [(e, isolate) for e in enis]
    # every interface is in the empty quarantine group (read per interface: moto's instance view may lag)
    answer = ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]
    assert {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in answer} == {
        e: [isolate] for e in enis
    }
    # detached from its group (desired capacity kept), protected, tagged, every volume snapshotted
    members = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ][0]
    assert instance not in [i["InstanceId"] for i in members["Instances"]] and members["DesiredCapacity"] == 2
    protection = ec2.describe_instance_attribute(InstanceId=instance, Attribute="disableApiTermination")
    assert protection["DisableApiTermination"]["Value"] is True
    tags = {t["Key"]: t["Value"] for t in instance_of(aws, instance).get("Tags", [])}
    assert tags[MARKER_TAG] == "ec2-isolate"
    volumes = {m["Ebs"]["VolumeId"] for m in found["BlockDeviceMappings"]} | {volume}
    snapshots = ec2.describe_snapshots(
        Filters=[{"Name": "tag:selfheal:finding", "Values": [planned.incident.facts["finding_id"]]}]
    )
    assert volumes <= {s["VolumeId"] for s in snapshots["Snapshots"]}
    # the pre-state says how to undo it, and release restores the groups and the protection
    assert pre["auto_scaling_group"] == group and pre["termination_protection"] is False
    assert all(groups and isolate not in groups for groups in pre["network_interfaces"].values())
    undo = Executor(aws.client).run(ec2_isolate.release(pre).calls)
    assert all(r.ok for r in undo)
    answer = ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]
    assert {e["NetworkInterfaceId"]: [g["GroupId"] for g in e["Groups"]] for e in answer} == pre["network_interfaces"]
    assert MARKER_TAG not in {t["Key"] for t in instance_of(aws, instance).get("Tags", [])}


def test_ec2_retire_stops_and_starts_an_instance_outside_any_group(aws: Aws) -> None:
    ec2 = aws.client("ec2")
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    raw = load_event("health_instance_retirement")
    raw["detail"]["affectedEntities"] = [{"entityValue": instance}]
    planned, _, results = run(aws, parse_event(raw).incident())
    assert [r.call.operation for r in results] == ["stop_instances", "start_instances"] and all(r.ok for r in results)
    assert aws.calls["StopInstances"] == aws.calls["StartInstances"] == 1 and aws.calls["DescribeInstances"] >= 2
    assert ec2_retire.verified(planned.plan, Facts(aws.client).read(ec2_retire.verify_reads(planned.plan)))


def test_ec2_retire_replaces_a_group_member_through_auto_scaling(aws: Aws) -> None:
    group, (instance, _), _ = fleet(aws)
    raw = load_event("health_instance_retirement")
    raw["detail"]["affectedEntities"] = [{"entityValue": instance}]
    planned, _, results = run(aws, parse_event(raw).incident())
    assert [r.call.operation for r in results] == ["terminate_instance_in_auto_scaling_group"] and results[0].ok
    members = aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])[
        "AutoScalingGroups"
    ][0]
    assert instance not in [i["InstanceId"] for i in members["Instances"]] and len(members["Instances"]) == 2
    # AND the verifier reads it healed: the member is gone, its group runs the replacement
    assert ec2_retire.verified(planned.plan, Facts(aws.client).read(ec2_retire.verify_reads(planned.plan)))


def test_a_missing_instance_is_a_fact_that_escalates(aws: Aws) -> None:
    planned, facts, results = run(aws, alarm_on("alarm_ec2_cpu", InstanceId="i-0123456789abcdef0"))
    assert "error" in facts["describe_instances"] and results == [] and "NotFound" in planned.plan.problem


def test_the_planner_reads_plans_and_sizes_the_fleet_for_the_remediate_service(aws: Aws) -> None:
    group, (instance, other), _ = fleet(aws)
    planner = RunbookPlanner(lambda: CATALOG, aws.client)
    proposal = planner.propose(alarm_on("alarm_ec2_cpu", InstanceId=instance))
    plan, limits = proposal.plan, proposal.limits
    assert [c.operation for c in plan.calls] == ["reboot_instances"] and limits.max_in_flight_pct == 10.0
    assert proposal.fleet_size == 2 and plan.target.fleet == f"asg:{group}"
    assert proposal.before  # the instance as read, for the audit record
    # an instance selfheal quarantined: its alarm is selfheal's own doing, marked for the governor
    aws.client("ec2").create_tags(Resources=[other], Tags=[{"Key": MARKER_TAG, "Value": "ec2-isolate"}])
    marked = planner.propose(alarm_on("alarm_ec2_cpu", InstanceId=other))
    assert MARKER_TAG in marked.incident.caused_by_selfheal
    # an ambiguous alarm escalates with the default limits; nothing is read for it, nor for an OK
    calls_before = sum(aws.calls.values())
    ambiguous = planner.propose(parse_event(load_event("alarm_composite")).incident())
    assert ambiguous.plan.problem and ambiguous.plan.calls == () and ambiguous.limits is not None
    assert ambiguous.fleet_size is None
    ok = planner.propose(alarm_on("alarm_ec2_cpu_ok", InstanceId=instance))
    assert ok.plan.runbook == "ec2-reboot" and ok.limits is not None
    assert sum(aws.calls.values()) == calls_before
