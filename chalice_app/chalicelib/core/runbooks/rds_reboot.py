"""rds-reboot: an RDS instance the application cannot connect to → reboot it, behind approval.

Its business (``MATCHES``): an open alarm breached *above* its threshold on measured datapoints,
about one DB instance named by the metric's ``DBInstanceIdentifier`` dimension. RDS publishes no
connection-failure metric: the application does (the default entry matches alarms named
``*db-connection-failures*``; a catalog names others). The entry reads the target from that
dimension (``target.dimension``), so any metric naming a DB instance can reach it.

A person approves every reboot by default (a database restart interrupts every client). With the
catalog's ``failover: true`` a Multi-AZ instance reboots with failover (``ForceFailover``: the
standby takes over, usually the shorter outage); a Single-AZ instance reboots in place. Only an
``available`` instance is rebooted: one already rebooting or being modified stands down, any other
state (stopped, storage-full, failed, ...) escalates — a reboot does not repair it. A plan made
without reads leaves ``ForceFailover`` unknown (None) when failover is asked.

Verify: the alarm returns to OK before the deadline; otherwise it escalates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "rds-reboot"
DIMENSION = "DBInstanceIdentifier"
DATABASES = "arn:{partition}:rds:{region}:{account}:db:*"
# States in which a reboot is already under way or would collide with a change: nothing to do now.
BUSY = ("rebooting", "modifying", "backing-up", "maintenance", "configuring-enhanced-monitoring")


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The DB instance (status, Multi-AZ)."""
    db, problem = targets.one_resource(incident)
    if problem:
        return ()
    return (Call("rds", "describe_db_instances", {"DBInstanceIdentifier": db}, mutating=False),)


def database(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The DB instance the read found (None when none)."""
    found = ((facts or {}).get("describe_db_instances") or {}).get("DBInstances") or []
    return found[0] if found else None


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Reboot an available instance (with failover when asked and Multi-AZ)."""
    db, problem = targets.one_resource(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="rds-instance", id=db, region=incident.region)
    failover: bool | None = False
    if facts is not None:
        found = database(facts)
        error = targets.read_error(facts, "describe_db_instances")
        if error or found is None:
            return targets.no_target(entry.name, f"DB instance {db}: {error or 'not found'}")
        status = str(found.get("DBInstanceStatus", ""))
        if status in BUSY:
            return Plan(entry.name, target, stand_down=f"DB instance {db} is {status}")
        if status != "available":
            return targets.no_target(
                entry.name, f"DB instance {db} is {status or 'in no known state'}: a reboot does not repair it"
            )
        failover = bool(entry.params.get("failover")) and bool(found.get("MultiAZ"))
    elif entry.params.get("failover"):
        failover = None  # only the read tells whether the instance is Multi-AZ
    params: dict[str, Any] = {"DBInstanceIdentifier": db}
    if failover is not False:
        params["ForceFailover"] = failover
    return Plan(entry.name, target, (Call("rds", "reboot_db_instance", params),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: status, Multi-AZ, engine."""
    found = database(facts) or {}
    return {k: found.get(k) for k in ("DBInstanceStatus", "MultiAZ", "Engine", "AvailabilityZone")}


RUNBOOK = Runbook(
    name=NAME,
    summary="Reboot the RDS instance an application's connection-failure alarm names (approval; failover when asked)",
    target_kind="rds-instance",
    layer="platform",
    rank=80,
    matches=Condition(source="alarm", direction="above", needs_datapoints=True),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    params={"failover": False},
    param_types={"failover": bool},
    default={
        "triggers": [{"source": "alarm", "alarm_names": ["*db-connection-failures*"]}],
        "target": {"dimension": DIMENSION},
        "limits": {"cooldown_s": 3600, "max_attempts": 1, "max_in_flight": 1, "approval_ttl_s": 3600},
        "approval": True,
    },
    permissions=(
        Grant("ReadDatabase", ("rds:DescribeDBInstances",), (DATABASES,)),
        Grant("RebootTaggedDatabases", ("rds:RebootDBInstance",), (DATABASES,), tagged=True),
    ),
)
