"""ec2-isolate: a GuardDuty C&C finding about an instance → contain it, keeping the evidence.

In order: detach it from its Auto Scaling group (Auto Scaling would otherwise terminate the
unhealthy instance, protection or not — a replacement launches since the desired capacity is
kept), turn termination protection on, snapshot every volume (``create_snapshots`` covers them all,
boot volume included), tag it (``selfheal:action`` — loop protection: later events about it are
selfheal's own), then quarantine every network interface in two steps. Security groups do not cut
*tracked* connections, so each interface first moves to a group that allows all traffic in and out
(its flows become untracked), then to a group with no rules, which drops them.
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html

Both groups are the operator's, per VPC, tagged ``selfheal:quarantine`` = ``untrack`` / ``isolate``
(found by one read). Critical: the default catalog requires approval. The pre-state (groups of each
interface, termination protection, Auto Scaling group) is recorded by ``before`` and ``release``
builds the plan that restores it (except the group membership: the replacement already runs).
Verify: every interface is in the isolate group (``verified``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, GROUPS, INSTANCE_READS, INSTANCES, Grant, Runbook
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ec2-isolate"
SUMMARY = "Quarantine a compromised instance: detach, protect, snapshot, tag, isolate every interface"
TARGET = "ec2-instance"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "every network interface of the instance is in the isolate group"
QUARANTINE_TAG = "selfheal:quarantine"
FINDING_TAG = "selfheal:finding"
GONE = ("terminated", "shutting-down")
# A finding about an instance; which finding types isolate is the catalog's choice.
MATCHES = Condition(source="guardduty", kinds=("ec2-instance",))


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance, its group, its termination protection, and the quarantine groups."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return ()
    return (
        targets.describe_instance(instance),
        targets.describe_membership(instance),
        Call(
            "ec2", "describe_instance_attribute", {"InstanceId": instance, "Attribute": "disableApiTermination"},
            mutating=False,
        ),
        Call(
            "ec2", "describe_security_groups", {"Filters": [{"Name": "tag-key", "Values": [QUARANTINE_TAG]}]},
            mutating=False,
        ),
    )  # fmt: skip


def quarantine_groups(facts: Mapping[str, Any], vpc: str) -> dict[str, str]:
    """{"untrack": group id, "isolate": group id} of the VPC (missing keys when absent; the first of
    several: ``quarantine_problem`` refuses that case)."""
    out: dict[str, str] = {}
    for role, groups in _tagged(facts, vpc).items():
        out[role] = str(groups[0]["GroupId"])
    return out


def _tagged(facts: Mapping[str, Any], vpc: str) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for group in (facts.get("describe_security_groups") or {}).get("SecurityGroups", []):
        role = next((t.get("Value") for t in group.get("Tags", []) if t.get("Key") == QUARANTINE_TAG), None)
        if group.get("VpcId") == vpc and role in ("untrack", "isolate"):
            out.setdefault(str(role), []).append(group)
    return out


def quarantine_problem(facts: Mapping[str, Any], vpc: str) -> str:
    """Why the VPC's quarantine groups cannot be trusted ('' when there is exactly one of each and the
    isolate group has no rule). Never guess: a second group tagged for isolation may be anyone's (a
    tag is easy to set), and an isolate group with a rule lets traffic through."""
    tagged = _tagged(facts, vpc)
    if set(tagged) != {"untrack", "isolate"}:
        return f"{vpc} lacks security groups tagged {QUARANTINE_TAG}=untrack and =isolate (create them)"
    for role, groups in sorted(tagged.items()):
        if len(groups) > 1:
            ids = ", ".join(str(g["GroupId"]) for g in groups)
            return f"{vpc} has {len(groups)} security groups tagged {QUARANTINE_TAG}={role} ({ids}): keep one"
    isolate = tagged["isolate"][0]
    if isolate.get("IpPermissions") or isolate.get("IpPermissionsEgress"):
        return f"the isolate group {isolate['GroupId']} of {vpc} has rules: it must allow nothing in or out"
    return ""


def interfaces(incident: Incident, facts: Mapping[str, Any] | None) -> tuple[list[str], str]:
    """(network interface ids, VPC id): from the read when made, else as the finding lists them."""
    if facts is not None:
        found = targets.instance(facts) or {}
        enis = [str(e["NetworkInterfaceId"]) for e in found.get("NetworkInterfaces", [])]
        return enis, str(found.get("VpcId", ""))
    listed = incident.facts.get("network_interfaces") or []
    return [e["id"] for e in listed if e.get("id")], next((e["vpc_id"] for e in listed if e.get("vpc_id")), "")


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Detach, protect, snapshot, tag, then every interface → untrack group → isolate group."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    if facts is not None:
        problem = targets.instance_problem(facts, instance)
        state = ((targets.instance(facts) or {}).get("State") or {}).get("Name")
        if not problem and state in GONE:
            problem = f"instance {instance} is {state}"
        if problem:
            return targets.no_target(entry.name, problem)
    enis, vpc = interfaces(incident, facts)
    if not enis:
        return targets.no_target(entry.name, f"instance {instance} has no network interface to quarantine")
    untrack = isolate = None
    if facts is not None:
        problem = quarantine_problem(facts, vpc)
        if problem:
            return targets.no_target(entry.name, problem)
        groups = quarantine_groups(facts, vpc)
        untrack, isolate = groups["untrack"], groups["isolate"]
    group = targets.group_name(facts, incident.facts.get("tags") or {})
    finding = str(incident.facts.get("finding_id", ""))
    calls: list[Call] = []
    # Detach first: Auto Scaling replaces an unhealthy member even when it is protected. None means
    # a group is unknown without the read; the call stays in the plan with its name null.
    if group or group is None:
        calls.append(
            Call("autoscaling", "detach_instances",
                 {"InstanceIds": [instance], "AutoScalingGroupName": group, "ShouldDecrementDesiredCapacity": False})
        )  # fmt: skip
    # The mark goes on before the quarantine, so events the quarantine raises already show it.
    marks = [{"Key": MARKER_TAG, "Value": NAME}, {"Key": FINDING_TAG, "Value": finding}]
    calls += [
        Call("ec2", "modify_instance_attribute", {"InstanceId": instance, "DisableApiTermination": {"Value": True}}),
        Call(
            "ec2",
            "create_snapshots",
            {
                "InstanceSpecification": {"InstanceId": instance, "ExcludeBootVolume": False},
                "Description": f"selfheal {NAME} evidence for finding {finding}"[:255],
                "TagSpecifications": [{"ResourceType": "snapshot", "Tags": marks}],
                "CopyTagsFromSource": "volume",
            },
        ),
        Call("ec2", "create_tags", {"Resources": [instance], "Tags": marks}),
    ]
    # Every interface to the untrack group first, then every one to the isolate group: a flow on one
    # interface must not stay tracked while another is already isolated.
    calls += [
        Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": e, "Groups": [untrack]}) for e in enis
    ]
    calls += [
        Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": e, "Groups": [isolate]}) for e in enis
    ]
    return Plan(entry.name, targets.instance_target(instance, group, incident.region), tuple(calls))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state ``release`` restores: groups per interface, protection, Auto Scaling group."""
    found = targets.instance(facts) or {}
    protection = (facts.get("describe_instance_attribute") or {}).get("DisableApiTermination", {}).get("Value", False)
    return {
        "instance_id": found.get("InstanceId"),
        "state": (found.get("State") or {}).get("Name"),
        "auto_scaling_group": targets.group_name(facts) or None,
        "termination_protection": bool(protection),
        "network_interfaces": {
            str(e["NetworkInterfaceId"]): [str(g["GroupId"]) for g in e.get("Groups", [])]
            for e in found.get("NetworkInterfaces", [])
        },
    }


def release(pre: Mapping[str, Any]) -> Plan:
    """The plan that undoes an isolation from its recorded pre-state (groups, protection, tags)."""
    instance = str(pre["instance_id"])
    calls = [
        Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": eni, "Groups": list(groups)})
        for eni, groups in pre.get("network_interfaces", {}).items()
    ]
    calls += [
        Call(
            "ec2", "modify_instance_attribute",
            {"InstanceId": instance, "DisableApiTermination": {"Value": bool(pre.get("termination_protection"))}},
        ),
        Call("ec2", "delete_tags", {"Resources": [instance], "Tags": [{"Key": MARKER_TAG}, {"Key": FINDING_TAG}]}),
    ]  # fmt: skip
    return Plan(NAME, targets.instance_target(instance, pre.get("auto_scaling_group"), ""), tuple(calls))


def verify_reads(plan: Plan) -> tuple[Call, ...]:
    """The instance again, to see its interfaces' groups."""
    return (targets.describe_instance(plan.target.id),) if plan.target else ()


def verified(plan: Plan, facts: Mapping[str, Any]) -> bool:
    """Every interface of the read instance is in the plan's isolate group alone (the group of its
    last call: every interface moves there last)."""
    isolate_group = plan.calls[-1].params["Groups"][0] if plan.calls else None
    found = targets.instance(facts) or {}
    enis = found.get("NetworkInterfaces", [])
    return bool(enis) and all([g["GroupId"] for g in e.get("Groups", [])] == [isolate_group] for e in enis)


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=50,
    layer="infrastructure",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    before=before,
    release=release,
    verify_reads=verify_reads,
    verified=verified,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [
            {
                "source": "guardduty",
                "types": ["Backdoor:EC2/C&CActivity.B", "Backdoor:EC2/C&CActivity.B!DNS"],
                "min_severity": 7.0,
            }
        ],
        "limits": {"cooldown_s": 86400, "max_attempts": 1, "max_in_flight": 5, "approval_ttl_s": 3600},
        "approval": True,
    },
    permissions=(
        Grant(
            "ReadInstanceGroupsAndQuarantineGroups",
            ("ec2:DescribeSecurityGroups", *INSTANCE_READS),
            ANY,
            why="no resource-level permissions for these reads",
        ),
        # DescribeInstanceAttribute (termination protection, groups) takes an instance ARN: scoped.
        Grant("ReadInstanceProtection", ("ec2:DescribeInstanceAttribute",), (INSTANCES,)),
        Grant("DetachFromTaggedGroups", ("autoscaling:DetachInstances",), (GROUPS,), tagged=True),
        Grant(
            "ProtectSnapshotAndMarkTaggedInstances",
            ("ec2:ModifyInstanceAttribute", "ec2:CreateSnapshots", "ec2:CreateTags", "ec2:DeleteTags"),
            (INSTANCES,),
            tagged=True,
        ),
        Grant("SnapshotTheirVolumes", ("ec2:CreateSnapshots",), ("arn:{partition}:ec2:{region}:{account}:volume/*",)),
        Grant(
            "NewSnapshotsCarrySelfhealsMark",
            ("ec2:CreateSnapshots",),
            ("arn:{partition}:ec2:{region}::snapshot/*",),
            conditions=(("StringEquals", f"aws:RequestTag/{MARKER_TAG}", (NAME,)),),
        ),
        Grant(
            "TagSnapshotsAtCreation",
            ("ec2:CreateTags",),
            ("arn:{partition}:ec2:{region}::snapshot/*",),
            conditions=(("StringEquals", "ec2:CreateAction", ("CreateSnapshots",)),),
        ),
        Grant(
            "SwapInterfaceGroupsInQuarantineVpcs",
            ("ec2:ModifyNetworkInterfaceAttribute",),
            (
                "arn:{partition}:ec2:{region}:{account}:network-interface/*",
                "arn:{partition}:ec2:{region}:{account}:security-group/*",
            ),
            # Only interfaces and groups of the VPCs ec2-isolate quarantines in (var.quarantine_vpc_ids):
            # ec2:Vpc is a condition key of both resource types. A tag condition on the groups would
            # break the release plan, which puts an interface back in its original groups.
            conditions=(("ArnEquals", "ec2:Vpc", ("{quarantine_vpcs}",)),),
        ),
    ),
)
