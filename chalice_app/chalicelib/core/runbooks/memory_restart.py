"""memory-restart: EC2 memory from the CloudWatch agent (``CWAgent`` ``mem_used_percent``) high for a
sustained time → restart the systemd service the catalog names, with SSM Run Command.

A memory leak is the application's: the repair is to restart the leaking service, never the host.
The catalog names the service (``params.service``, a systemd unit name such as ``orders-api`` or
``orders-api.service``); with none named the plan escalates ("a memory leak on i-…: name the
service to restart") rather than reboot anything.

No shell injection: the command is built from a fixed template around the unit name, and a name that
is not a systemd unit name (letters, digits and ``:_.@-``, not starting with ``-``; see
systemd.unit(5)) escalates before any call. The script restarts the unit and fails when it is not
active afterwards, so Run Command's status tells whether the restart took.

Run Command is asynchronous: as for disk-cleanup, the executor records the CommandId and
``followup`` reads the invocation's status. Verify: the alarm returns to OK.

Its business (``MATCHES``): an alarm on one instance's ``mem_used_percent`` (dimension ``InstanceId``;
the agent's ``append_dimensions`` may add ImageId / InstanceType / AutoScalingGroupName) breached
*above* its threshold, at 80 % or more, on measured datapoints, for at least ten minutes: a spike is
not a leak.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/metrics-collected-by-CloudWatch-agent.html
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import disk_cleanup, targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import RUN_SHELL_SCRIPT, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "memory-restart"
DOCUMENT = targets.SHELL_DOCUMENT
# A systemd unit name (systemd.unit(5)): at most 255 characters of [A-Za-z0-9:_.@-] (a leading "-" is
# refused as well, so the name can never read as an option of systemctl).
UNIT = re.compile(r"[A-Za-z0-9:_.@][A-Za-z0-9:_.@-]{0,254}")
MATCHES = Condition(
    source="alarm",
    kinds=("ec2-instance",),
    metrics=("CWAgent/mem_used_percent",),
    direction="above",
    min_level=80.0,
    min_breach_s=600,
    needs_datapoints=True,
)


def unit_problem(service: str) -> str:
    """Why ``service`` is not a systemd unit name selfheal restarts ('' when it is)."""
    if not service:
        return "no service is named"
    if not UNIT.fullmatch(service):  # fullmatch: "$" would accept a trailing newline
        return f"{service[:80]!r} is not a systemd unit name (letters, digits, ':_.@-'; no leading '-')"
    return ""


def commands(service: str) -> list[str]:
    """The script of the restart: restart the unit, then fail unless it is active (checked name only)."""
    return [f"systemctl restart -- {service}", f"systemctl is-active -- {service}"]


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance (running? Linux?) and its Auto Scaling group (fleet)."""
    return targets.instance_reads(incident)


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """One ``send_command`` restarting the named service on a running Linux instance; escalate without one."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    service = str(entry.params.get("service") or "")
    why = unit_problem(service)
    if why == "no service is named":
        return targets.no_target(
            entry.name, f"a memory leak on {instance}: name the service to restart (catalog params.service)"
        )
    if why:
        return targets.no_target(entry.name, f"memory leak on {instance}: {why}")
    if facts is not None:
        problem = targets.linux_problem(facts, instance, f"{DOCUMENT} and systemd need Linux")
        if problem:
            return targets.no_target(entry.name, problem)
    timeout = int(entry.params.get("execution_timeout_s", 300))
    comment = f"selfheal {entry.name} {service} ({incident.facts.get('alarm_name', '')})"
    call = targets.shell_script(instance, commands(service), timeout, comment)
    return Plan(entry.name, targets.instance_target(instance, targets.group_name(facts), incident.region), (call,))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the instance's state and group."""
    found = targets.instance(facts) or {}
    return {"state": (found.get("State") or {}).get("Name"), "auto_scaling_group": targets.group_name(facts) or None}


def followup(plan_: Plan, responses: Sequence[Mapping[str, Any]]) -> tuple[Call, ...]:
    """After the run: the read of the command's invocations (``outcome`` is disk-cleanup's)."""
    for call, response in zip(plan_.calls, responses, strict=False):
        command_id = (response.get("Command") or {}).get("CommandId") if call.operation == "send_command" else None
        if command_id:
            return (
                Call("ssm", "list_command_invocations", {"CommandId": command_id, "Details": True}, mutating=False),
            )
    return ()


RUNBOOK = Runbook(
    name=NAME,
    summary="Restart the service the catalog names when CloudWatch agent memory stays high (SSM Run Command)",
    target_kind="ec2-instance",
    rank=75,
    layer="application",
    matches=MATCHES,
    verify="the command's invocation ends in Success and the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    followup=followup,
    outcome=disk_cleanup.outcome,
    params={"service": "", "execution_timeout_s": 300},
    param_types={"service": str, "execution_timeout_s": int},
    default={
        "triggers": [
            {"source": "alarm", "namespace": "CWAgent", "metric": "mem_used_percent", "dimensions": ["InstanceId"]}
        ],
        "limits": {"cooldown_s": 3600, "max_attempts": 2, "max_in_flight": 2, "max_in_flight_pct": 25.0},
    },
    permissions=RUN_SHELL_SCRIPT,
)
