"""How a runbook finds its target in an incident, and what the facts read say about it (pure).

Facts are the answers of a runbook's ``reads`` keyed by boto3 operation name (``describe_instances``);
a read whose resource does not exist is ``{"error": "..."}`` (adapters/facts.py). ``facts=None`` means
no read was made (``runbooks plan``): what only a read could tell is None.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.loop import tag_map
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
ASG_TAG = "aws:autoscaling:groupName"


def one_resource(incident: Incident) -> tuple[str, str]:
    """(the incident's one resource, '') or ('', why there is not exactly one)."""
    if incident.ambiguity:
        return "", incident.ambiguity
    if len(incident.resources) != 1:
        return "", f"the event names {len(incident.resources)} resources, not one"
    return incident.resources[0], ""


def instance_id(incident: Incident) -> tuple[str, str]:
    """(the EC2 instance id the incident names, '') or ('', why it names none)."""
    resource, problem = one_resource(incident)
    if problem:
        return "", problem
    if not INSTANCE_ID.match(resource):
        return "", f"{resource!r} is not an EC2 instance id"
    return resource, ""


def no_target(runbook: str, problem: str) -> Plan:
    """A plan that escalates: no target, no calls."""
    return Plan(runbook=runbook, target=None, problem=problem)


def tell(runbook: str, target: Target, facts: str) -> Plan:
    """A plan that tells a person ``facts`` about ``target``, its one resource, and changes nothing."""
    return Plan(runbook=runbook, target=target, tell=facts)


def describe_instance(instance: str) -> Call:
    """The read of an instance: state, tags, network interfaces, volumes, root device type."""
    return Call("ec2", "describe_instances", {"InstanceIds": [instance]}, mutating=False)


def describe_membership(instance: str) -> Call:
    """The read of the instance's Auto Scaling group (the fleet of the blast-radius limit)."""
    return Call("autoscaling", "describe_auto_scaling_instances", {"InstanceIds": [instance]}, mutating=False)


def instance_reads(incident: Incident) -> tuple[Call, ...]:
    """The instance an incident names and its Auto Scaling group; none when it names no instance."""
    instance, problem = instance_id(incident)
    return () if problem else (describe_instance(instance), describe_membership(instance))


def read_error(facts: Mapping[str, Any], operation: str) -> str:
    """The error a read ended with ('' when it answered)."""
    answer = facts.get(operation)
    return str(answer["error"]) if isinstance(answer, dict) and "error" in answer else ""


def instance(facts: Mapping[str, Any]) -> dict[str, Any] | None:
    """The instance ``describe_instances`` returned (None when it returned none)."""
    answer = facts.get("describe_instances") or {}
    for reservation in answer.get("Reservations", []) if isinstance(answer, dict) else []:
        for found in reservation.get("Instances", []):
            return found
    return None


def instance_tags(facts: Mapping[str, Any]) -> dict[str, str]:
    """The instance's tags as a map."""
    found = instance(facts)
    return tag_map(found.get("Tags")) if found else {}


def group_name(facts: Mapping[str, Any] | None, tags: Mapping[str, str] | None = None) -> str | None:
    """The instance's Auto Scaling group: from the read when made, else from tags the event listed.

    None when unknown (no read, no tags), '' when the instance is in no group.
    """
    if facts is not None:
        answer = facts.get("describe_auto_scaling_instances") or {}
        for member in answer.get("AutoScalingInstances", []) if isinstance(answer, dict) else []:
            return str(member.get("AutoScalingGroupName", ""))
        # Auto Scaling tags its members with their group; a member being detached may miss the read.
        return instance_tags(facts).get(ASG_TAG, "")
    if tags is not None:
        return tags.get(ASG_TAG, "")
    return None


def instance_target(instance_id_: str, group: str | None, region: str) -> Target:
    """An instance target, its fleet its Auto Scaling group when known."""
    return Target(kind="ec2-instance", id=instance_id_, fleet=f"asg:{group}" if group else "", region=region)


def instance_problem(facts: Mapping[str, Any], instance_id_: str, *states: str) -> str:
    """Why the read instance cannot be acted on ('' when it exists and is in one of ``states``)."""
    error = read_error(facts, "describe_instances")
    if error:
        return f"instance {instance_id_}: {error}"
    found = instance(facts)
    if found is None:
        return f"instance {instance_id_} not found"
    state = found.get("State", {}).get("Name", "")
    if states and state not in states:
        return f"instance {instance_id_} is {state or 'in no known state'}, not {' or '.join(states)}"
    return ""


# AWS's shell-script document: what disk-cleanup and memory-restart run through Run Command.
SHELL_DOCUMENT = "AWS-RunShellScript"


def linux_problem(facts: Mapping[str, Any], instance_id_: str, needs: str) -> str:
    """Why the read instance cannot run a shell script ('' when it is a running Linux instance);
    ``needs`` says what a Windows instance lacks (e.g. "AWS-RunShellScript needs Linux")."""
    problem = instance_problem(facts, instance_id_, "running")
    if not problem and (instance(facts) or {}).get("Platform") == "windows":
        problem = f"instance {instance_id_} runs Windows: {needs}"
    return problem


def shell_script(instance_id_: str, commands: list[str], timeout_s: int, comment: str) -> Call:
    """One Run Command of ``commands`` through the shell-script document on the instance."""
    return Call(
        "ssm",
        "send_command",
        {
            "InstanceIds": [instance_id_],
            "DocumentName": SHELL_DOCUMENT,
            "Comment": comment[:100],
            "Parameters": {"commands": commands, "executionTimeout": [str(timeout_s)]},
            "TimeoutSeconds": 600,
        },
    )


def check_params(params: Mapping[str, Any], types: Mapping[str, Any]) -> str:
    """Why ``params`` do not fit ``types`` ({name: type or (type, item type)}), or ''."""
    for name, value in params.items():
        if name not in types:
            return f"unknown parameter {name!r} (known: {sorted(types)})"
        kind = types[name]
        if isinstance(kind, tuple):
            outer, inner = kind
            if not isinstance(value, outer) or not all(isinstance(v, inner) for v in value) or not value:
                return f"{name} must be a non-empty list of {inner.__name__}"
        elif not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            return f"{name} must be {kind.__name__}, not {type(value).__name__}"
    return ""


def fleet_reads(target: Target | None) -> tuple[Call, ...]:
    """The read that tells how large the target's fleet is (the blast radius's percentage needs it)."""
    kind, _, name = (target.fleet if target else "").partition(":")
    if kind == "asg" and name:
        return (Call("autoscaling", "describe_auto_scaling_groups", {"AutoScalingGroupNames": [name]}, mutating=False),)
    if kind == "ecs" and name:
        return (Call("ecs", "describe_clusters", {"clusters": [name]}, mutating=False),)
    return ()


def fleet_size(facts: Mapping[str, Any]) -> int | None:
    """Members of the fleet ``fleet_reads`` read: the group's desired capacity, the cluster's services."""
    groups = (facts.get("describe_auto_scaling_groups") or {}).get("AutoScalingGroups") or []
    if groups:
        return int(groups[0].get("DesiredCapacity") or len(groups[0].get("Instances") or []))
    clusters = (facts.get("describe_clusters") or {}).get("clusters") or []
    if clusters:
        return int(clusters[0].get("activeServicesCount") or 0) or None
    return None


# A stop/start moves an instance to another host; the start waits for the stop (a plan rebuilt from
# the audit gets the waiter back from its runbook's ``waits``).
STOP_START_WAITS = {("ec2", "stop_instances"): "instance_stopped"}


def stop_start(instance: str) -> tuple[Call, ...]:
    """Stop ``instance``, wait until it is stopped, start it."""
    return (
        Call("ec2", "stop_instances", {"InstanceIds": [instance]}, wait_for=STOP_START_WAITS["ec2", "stop_instances"]),
        Call("ec2", "start_instances", {"InstanceIds": [instance]}),
    )


def stop_start_before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The audit's pre-state of an instance a stop/start may move: state, root device type, group."""
    found = instance(facts) or {}
    return {
        "state": (found.get("State") or {}).get("Name"),
        "root_device_type": found.get("RootDeviceType"),
        "auto_scaling_group": group_name(facts) or None,
    }
