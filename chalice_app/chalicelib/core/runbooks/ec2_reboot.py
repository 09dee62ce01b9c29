"""ec2-reboot: CPU too high on an instance for a while → reboot the instance its dimensions name.

Its business (``MATCHES``): a CPU alarm that breached *above* its threshold, a threshold of at least
80 % (a catalog trigger's ``min_threshold`` changes it), for 5 minutes or more of measured
datapoints. An idle alarm (CPU below 2 %), an anomaly alarm breached below its band, a spike of one
1-minute datapoint or an alarm fired on missing data is not: a reboot does not repair it.

Verify: the alarm returns to OK before the deadline (the governor closes the action as healed);
otherwise it escalates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, INSTANCE_READS, INSTANCES, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ec2-reboot"
SUMMARY = "Reboot the instance a CPU alarm names"
TARGET = "ec2-instance"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "the alarm returns to OK"
MATCHES = Condition(
    source="alarm",
    kinds=("ec2-instance",),
    # busy CPU only: the agent's cpu_usage_idle / _iowait / _steal high are not a runaway process
    metrics=(
        "AWS/EC2/CPUUtilization",
        "CWAgent/cpu_usage_active",
        "CWAgent/cpu_usage_user",
        "CWAgent/cpu_usage_system",
    ),
    direction="above",
    min_level=80.0,
    min_breach_s=300,
    needs_datapoints=True,
)


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance (state, tags) and its Auto Scaling group (fleet)."""
    return targets.instance_reads(incident)


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Reboot a running instance; escalate when there is none to reboot."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    if facts is not None:
        problem = targets.instance_problem(facts, instance, "running")
        if problem:
            return targets.no_target(entry.name, problem)
    target = targets.instance_target(instance, targets.group_name(facts), incident.region)
    return Plan(entry.name, target, (Call("ec2", "reboot_instances", {"InstanceIds": [instance]}),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the instance's state."""
    found = targets.instance(facts) or {}
    return {"state": found.get("State", {}).get("Name"), "launch_time": str(found.get("LaunchTime", ""))}


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=10,
    layer="infrastructure",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    before=before,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [
            {"source": "alarm", "namespace": "AWS/EC2", "metric": "CPUUtilization", "dimensions": ["InstanceId"]}
        ],
        "limits": {"cooldown_s": 1800, "max_attempts": 2, "max_in_flight": 2, "max_in_flight_pct": 10.0},
    },
    permissions=(
        Grant("ReadInstanceAndGroup", INSTANCE_READS, ANY, why="no resource-level permissions for these reads"),
        Grant("RebootTaggedInstances", ("ec2:RebootInstances",), (INSTANCES,), tagged=True),
    ),
)
