"""ec2-retire: an AWS Health scheduled retirement or stop → move the instance off the degraded host
before the date: an Auto Scaling member is replaced (terminated with the desired capacity kept); an
EBS-backed instance is stopped, waited for, and started (it starts on healthy hardware).

Its business (``MATCHES``), AWS Health's EC2 scheduled changes whose remedy is new hardware
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/schedevents_actions_retire.html):
``AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED`` and ``AWS_EC2_INSTANCE_STOP_SCHEDULED`` (an EBS
root: AWS stops it on the date), ``AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED`` (the instance-store form:
AWS terminates it on the date). Scheduled *reboots* (``AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED``,
``..._REBOOT_FLEXIBLE_MAINTENANCE_SCHEDULED``, ``AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED``) are not:
a stop/start is a longer outage than the reboot it would avoid, and the owner may reschedule it.

An instance-store root cannot be stopped without losing its data: that escalates (the read tells the
root device type). An EBS-backed instance whose *type* has instance store (m5d, i3, c5d, ... : the
second read, ``DescribeInstanceTypes`` → ``InstanceStorageInfo``) loses that store's data on the
stop too: its stop/start waits for a person's approval (``Plan.approval``, whatever the catalog
says), the notice says how much store is lost; a type whose storage could not be read waits the
same way. A group member is replaced as before (Auto Scaling members are replaceable by design).

An event sent after its date escalates: the change happened or is happening. A stopped instance
stands down (retirement does not touch it until it starts). Verify: the Health
event closes, or the instance runs again (``verified``).
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, GROUPS, INSTANCE_READS, INSTANCES, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ec2-retire"
SUMMARY = "Move an instance scheduled for retirement to healthy hardware (stop/start or ASG replacement)"
TARGET = "ec2-instance"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "the Health event closes, or the instance runs again after the start"
PERSISTENT_RETIREMENT = "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED"
RETIREMENT = "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"
STOP = "AWS_EC2_INSTANCE_STOP_SCHEDULED"
MATCHES = Condition(source="health", kinds=("ec2-instance",), types=(PERSISTENT_RETIREMENT, RETIREMENT, STOP))
# The waiter after a call, so the next call finds the state it needs (kept out of the audit's call shape).
WAITS = targets.STOP_START_WAITS


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance (state, root device type) and its Auto Scaling group."""
    return targets.instance_reads(incident)


def then_reads(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any]) -> tuple[Call, ...]:
    """The storage of the read instance's type (instance store is lost on a stop)."""
    kind = (targets.instance(facts) or {}).get("InstanceType")
    return (Call("ec2", "describe_instance_types", {"InstanceTypes": [kind]}, mutating=False),) if kind else ()


def instance_store(facts: Mapping[str, Any]) -> str:
    """What a stop of the read instance would wipe, in words: its type's instance store ('' when its
    type has none); the read's error when the type's storage could not be read."""
    kind = (targets.instance(facts) or {}).get("InstanceType")
    error = targets.read_error(facts, "describe_instance_types")
    if error or (kind and "describe_instance_types" not in facts):
        return (
            f"the storage of instance type {kind} could not be read ({error or 'not read'}); it may have instance store"
        )
    types = (facts.get("describe_instance_types") or {}).get("InstanceTypes") or []
    found = next((t for t in types if t.get("InstanceType") == kind), types[0] if types else {})
    info = found.get("InstanceStorageInfo") or {}
    if not found.get("InstanceStorageSupported") and not info:
        return ""
    disks = ", ".join(
        f"{d.get('Count', 1)} x {d.get('SizeInGB', '?')} GB {d.get('Type', '')}".strip()
        for d in info.get("Disks") or []
    )
    return f"{info.get('TotalSizeInGB', '?')} GB of instance store ({disks or 'disks not listed'}) on {kind}"


def _when(text: str) -> datetime | None:
    """A Health date (RFC 1123, "Mon, 07 Dec 2026 00:00:00 GMT") or an EventBridge time (ISO 8601)."""
    try:
        if text[:4].isdigit():
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def too_late(incident: Incident) -> str:
    """Why the event came after the retirement date ('' when in time or when a date is unknown)."""
    start, sent = _when(str(incident.facts.get("start_time", ""))), _when(incident.time)
    if start is None or sent is None or start.tzinfo is None or sent.tzinfo is None or sent < start:
        return ""
    return f"the retirement date {incident.facts['start_time']} had passed when the event was sent ({incident.time})"


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Replace through Auto Scaling, or stop → wait → start — before the retirement date."""
    instance, problem = targets.instance_id(incident)
    if problem or too_late(incident):
        return targets.no_target(entry.name, problem or too_late(incident))
    group = targets.group_name(facts, incident.facts.get("tags") or {})
    target = targets.instance_target(instance, group, incident.region)
    if facts is not None:
        problem = targets.instance_problem(facts, instance)
        found = targets.instance(facts) or {}
        state = (found.get("State") or {}).get("Name")
        if not problem and state in ("terminated", "shutting-down"):
            problem = f"instance {instance} is {state}"
        if not problem and not group and found.get("RootDeviceType") == "instance-store":
            problem = f"instance {instance} has an instance-store root: stopping it loses its data; replace it by hand"
        if problem:
            return targets.no_target(entry.name, problem)
        if state in ("stopped", "stopping"):
            return Plan(entry.name, target, stand_down=f"instance {instance} is {state}: retirement leaves it alone")
    if group:
        call = Call(
            "autoscaling",
            "terminate_instance_in_auto_scaling_group",
            {"InstanceId": instance, "ShouldDecrementDesiredCapacity": False},
        )
        return Plan(entry.name, target, (call,))
    store = instance_store(facts) if facts is not None else ""
    date = incident.facts.get("start_time")
    risk = (
        f"instance {instance} has {store}: the stop/start loses that data; approve once it is saved or not "
        f"needed{f', before {date}' if date else ''} (or move the instance yourself)"
        if store
        else ""
    )
    return Plan(entry.name, target, targets.stop_start(instance), approval=risk)


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit (state, root device type, group, instance store)."""
    return {**targets.stop_start_before(facts), "instance_store": instance_store(facts) or None}


def verify_reads(plan: Plan) -> tuple[Call, ...]:
    """The instance again, to see it run."""
    return (targets.describe_instance(plan.target.id),) if plan.target else ()


def verified(plan: Plan, facts: Mapping[str, Any]) -> bool:
    """The read instance runs again after the plan's stop and start; a group member the plan had
    terminated (its group launches the replacement) is healed once it is gone."""
    state = ((targets.instance(facts) or {}).get("State") or {}).get("Name")
    replaced = any(c.operation == "terminate_instance_in_auto_scaling_group" for c in plan.calls)
    return state in ("shutting-down", "terminated") if replaced else state == "running"


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=60,
    layer="infrastructure",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    then_reads=then_reads,
    before=before,
    verify_reads=verify_reads,
    verified=verified,
    waits=WAITS,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [{"source": "health", "types": [PERSISTENT_RETIREMENT, RETIREMENT, STOP]}],
        "limits": {"cooldown_s": 86400, "max_attempts": 1, "max_in_flight": 1, "verify_deadline_s": 3600},
    },
    permissions=(
        Grant(
            "ReadInstanceAndGroup",
            (*INSTANCE_READS, "ec2:DescribeInstanceTypes"),
            ANY,
            why="no resource-level permissions for these reads (and the instance_stopped waiter)",
        ),
        Grant("StopAndStartTaggedInstances", ("ec2:StopInstances", "ec2:StartInstances"), (INSTANCES,), tagged=True),
        Grant(
            "ReplaceThroughTaggedGroups", ("autoscaling:TerminateInstanceInAutoScalingGroup",), (GROUPS,), tagged=True
        ),
    ),
)
