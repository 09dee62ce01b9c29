"""ec2-status-check: a failed EC2 status check → the repair that check calls for, never a termination.

Its business (``MATCHES``): an alarm on ``AWS/EC2`` ``StatusCheckFailed_System``,
``StatusCheckFailed_Instance`` or ``StatusCheckFailed`` (either) about one instance, breached above its
threshold on measured datapoints (an alarm fired on missing data is not evidence of a failed check).

- a member of an Auto Scaling group: mark it ``Unhealthy`` (``autoscaling:SetInstanceHealth``,
  respecting the group's grace period) so the group replaces it with its own launch template —
  selfheal never terminates an instance itself;
- the instance check (the guest: kernel, network configuration, exhausted memory): reboot it;
- the system check, or the combined check (which cannot tell): stop it, wait, start it — an
  EBS-backed instance starts on healthy hardware. EC2's own *recover* is an alarm action
  (``arn:aws:automate:<region>:ec2:recover``) or the instance's automatic recovery, not an API call:
  where it is configured EC2 has already moved the instance and the alarm returns to OK by itself.
  An instance-store root cannot be stopped without losing its data: that escalates.

A stopped instance stands down (nothing to repair until it starts). Verify: the alarm returns to OK.
Dry-run by default, one repair per instance in 6 hours, one instance at a time per fleet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, GROUPS, INSTANCE_READS, INSTANCES, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ec2-status-check"
SYSTEM, INSTANCE, EITHER = "StatusCheckFailed_System", "StatusCheckFailed_Instance", "StatusCheckFailed"
WAITS = targets.STOP_START_WAITS


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance (state, root device type) and its Auto Scaling group."""
    return targets.instance_reads(incident)


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Mark a group member unhealthy; else reboot (instance check) or stop → wait → start (system check)."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    group = targets.group_name(facts)
    target = targets.instance_target(instance, group, incident.region)
    if facts is not None:
        problem = targets.instance_problem(facts, instance)
        found = targets.instance(facts) or {}
        state = (found.get("State") or {}).get("Name")
        if not problem and state in ("terminated", "shutting-down"):
            problem = f"instance {instance} is {state}"
        if problem:
            return targets.no_target(entry.name, problem)
        if state in ("stopped", "stopping"):
            return Plan(entry.name, target, stand_down=f"instance {instance} is {state}: no check runs on it")
    if group:
        health = {"InstanceId": instance, "HealthStatus": "Unhealthy", "ShouldRespectGracePeriod": True}
        return Plan(entry.name, target, (Call("autoscaling", "set_instance_health", health),))
    if str(incident.facts.get("metric", "")) == INSTANCE:
        return Plan(entry.name, target, (Call("ec2", "reboot_instances", {"InstanceIds": [instance]}),))
    if facts is not None and (targets.instance(facts) or {}).get("RootDeviceType") == "instance-store":
        problem = (
            f"instance {instance} has an instance-store root: a stop loses its data; recover or replace it by hand"
        )
        return targets.no_target(entry.name, problem)
    return Plan(entry.name, target, targets.stop_start(instance))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit (state, root device type, group)."""
    return targets.stop_start_before(facts)


def _alarm(metric: str) -> dict[str, Any]:
    return {"source": "alarm", "namespace": "AWS/EC2", "metric": metric, "dimensions": ["InstanceId"]}


RUNBOOK = Runbook(
    name=NAME,
    summary="Repair an instance whose EC2 status check failed: group member → Unhealthy, instance check → reboot, "
    "system check → stop/start",
    target_kind="ec2-instance",
    layer="infrastructure",
    rank=70,
    matches=Condition(
        source="alarm",
        kinds=("ec2-instance",),
        metrics=tuple(f"AWS/EC2/{m}" for m in (SYSTEM, INSTANCE, EITHER)),
        direction="above",
        needs_datapoints=True,
    ),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    waits=WAITS,
    default={
        "triggers": [_alarm(SYSTEM), _alarm(INSTANCE), _alarm(EITHER)],
        "limits": {"cooldown_s": 3600, "max_attempts": 1, "max_in_flight": 1, "max_in_flight_pct": 10.0},
    },
    permissions=(
        Grant(
            "ReadInstanceAndGroup",
            INSTANCE_READS,
            ANY,
            why="no resource-level permissions for these reads (and the instance_stopped waiter)",
        ),
        Grant(
            "RebootStopAndStartTaggedInstances",
            ("ec2:RebootInstances", "ec2:StopInstances", "ec2:StartInstances"),
            (INSTANCES,),
            tagged=True,
        ),
        Grant("MarkMembersOfTaggedGroupsUnhealthy", ("autoscaling:SetInstanceHealth",), (GROUPS,), tagged=True),
    ),
)
