"""disk-cleanup: a disk alarm (CWAgent disk_used_percent, System/Linux DiskSpaceUtilization) → run the
configured shell commands on the instance with SSM Run Command (``AWS-RunShellScript``).

Run Command is asynchronous: the executor records the CommandId ``send_command`` returns, and
``followup`` reads the command's status (``list_command_invocations``), which ``outcome`` turns
into succeeded / failed. Verify: the command succeeded and the alarm returns to OK.

Its business (``MATCHES``): the *root* filesystem filling up (CWAgent ``path`` = "/", System/Linux
``MountPath`` = "/", or a CWAgent metric with no path whose ``device`` is a root device). Its
commands clean logs, caches and /tmp, which live there; a full data volume (/var/lib/postgresql,
/data) is a person's decision, never a clean-up's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import RUN_SHELL_SCRIPT, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "disk-cleanup"
SUMMARY = "Free disk space with configured shell commands (SSM Run Command)"
TARGET = "ec2-instance"
DEFAULT_PARAMS: dict[str, Any] = {
    # Safe, idempotent clean-ups of what grows without bound on a Linux host.
    "commands": [
        "journalctl --vacuum-size=200M || true",
        "find /var/log -type f -name '*.gz' -mtime +7 -delete",
        "find /tmp -xdev -type f -atime +7 -delete",
        "(command -v dnf && dnf clean all) || (command -v yum && yum clean all)"
        " || (command -v apt-get && apt-get clean) || true",
        "df -h",
    ],
    "execution_timeout_s": 600,
}
PARAM_TYPES: dict[str, Any] = {"commands": (list, str), "execution_timeout_s": int}
VERIFY = "the command's invocation ends in Success and the alarm returns to OK"
DOCUMENT = targets.SHELL_DOCUMENT
# Device names of a root partition as CWAgent reports them when its configuration drops ``path``.
ROOT_DEVICES = ("xvda1", "xvda", "nvme0n1p1", "nvme0n1", "sda1", "rootfs", "/dev/root")
MATCHES = Condition(
    source="alarm",
    kinds=("ec2-instance",),
    metrics=("CWAgent/disk_used_percent", "System/Linux/DiskSpaceUtilization"),
    direction="above",
    needs_datapoints=True,
    dimension_values=(
        {"path": ("/",)},
        {"MountPath": ("/",)},
        {"path": ("",), "MountPath": ("",), "device": ROOT_DEVICES},
    ),
)
# Invocation statuses of Run Command that are final.
FAILED = {"Failed", "TimedOut", "Cancelled", "Cancelling", "Undeliverable", "Terminated", "DeliveryTimedOut"}


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The instance (running? Linux?) and its Auto Scaling group (fleet)."""
    return targets.instance_reads(incident)


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """One ``send_command`` of the configured commands to a running Linux instance."""
    instance, problem = targets.instance_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    if facts is not None:
        problem = targets.linux_problem(facts, instance, f"{DOCUMENT} needs Linux")
        if problem:
            return targets.no_target(entry.name, problem)
    timeout = int(entry.params.get("execution_timeout_s", 600))
    comment = f"selfheal {entry.name} ({incident.facts.get('alarm_name', '')})"
    call = targets.shell_script(instance, list(entry.params["commands"]), timeout, comment)
    return Plan(entry.name, targets.instance_target(instance, targets.group_name(facts), incident.region), (call,))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the instance's state."""
    found = targets.instance(facts) or {}
    return {"state": found.get("State", {}).get("Name")}


def followup(plan_: Plan, responses: Sequence[Mapping[str, Any]]) -> tuple[Call, ...]:
    """After the run: the read of the command's invocations (status per instance)."""
    for call, response in zip(plan_.calls, responses, strict=False):
        command_id = (response.get("Command") or {}).get("CommandId") if call.operation == "send_command" else None
        if command_id:
            return (
                Call("ssm", "list_command_invocations", {"CommandId": command_id, "Details": True}, mutating=False),
            )
    return ()


def outcome(facts: Mapping[str, Any]) -> str:
    """'succeeded', 'failed: <status>' or '' (still running), from ``list_command_invocations``."""
    invocations = (facts.get("list_command_invocations") or {}).get("CommandInvocations") or []
    if not invocations:
        return ""
    statuses = [str(i.get("Status", "")) for i in invocations]
    failed = [s for s in statuses if s in FAILED]
    if failed:
        return f"failed: {failed[0]}"
    return "succeeded" if all(s == "Success" for s in statuses) else ""


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=20,
    layer="infrastructure",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    before=before,
    followup=followup,
    outcome=outcome,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [
            {"source": "alarm", "namespace": "CWAgent", "metric": "disk_used_percent", "dimensions": ["InstanceId"]},
            {
                "source": "alarm",
                "namespace": "System/Linux",
                "metric": "DiskSpaceUtilization",
                "dimensions": ["InstanceId"],
            },
        ],
        "limits": {"cooldown_s": 3600, "max_attempts": 2, "max_in_flight": 5, "max_in_flight_pct": 25.0},
    },
    permissions=RUN_SHELL_SCRIPT,
)
