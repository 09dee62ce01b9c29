"""ec2-reboot: an EC2 CPU alarm → reboot the instance its dimensions name.

Verify: the alarm returns to OK before the deadline (the governor closes the action as healed);
otherwise it escalates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.catalog import RunbookEntry

NAME = "ec2-reboot"
SUMMARY = "Reboot the instance a CPU alarm names"
TARGET = "ec2-instance"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "the alarm returns to OK"


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
