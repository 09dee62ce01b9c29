"""rds-restore-beside: a DB instance RDS reports failed for want of a point-in-time restore → restore
it to a NEW instance beside the original, only when a person approves.

Its business (``MATCHES``): the RDS DB instance event RDS-EVENT-0031 (category failure: "The DB
instance has failed due to an incompatible configuration or an underlying storage issue. Begin a
point-in-time-restore for the DB instance", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html),
about one DB instance (``SourceIdentifier``). Read by the declared source of rds-event.

The plan is one ``RestoreDBInstanceToPointInTime`` to the latest restorable time
(``UseLatestRestorableTime``), into a new identifier ``<original>-restore-<8 hex of the event's
identity>`` in the original's subnet group and security groups, tagged with selfheal's mark and the
original's name. The original is never deleted, replaced, renamed or modified: pointing the
application at the restored copy, and retiring the original, is a person's call. Approval always:
an entry whose catalog sets ``approval: false`` escalates instead of restoring. A restored copy that
already exists stands down; an original without automated backups (retention 0) escalates.

Verify by reading: the new instance is ``available`` before the deadline (a restore takes a while).
IAM: the restore on originals carrying the opt-in tag, and on the new ``*-restore-*`` names (which
carry no tag before they exist), with the tags it sets and the subnet group it names.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import Grant, Runbook
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target
from chalicelib.core.runbooks.rds_event import RDS_INSTANCE_EVENTS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "rds-restore-beside"
NEEDS_RESTORE = ("RDS-EVENT-0031",)
DATABASES = "arn:{partition}:rds:{region}:{account}:db:*"
RESTORED = "arn:{partition}:rds:{region}:{account}:db:*-restore-*"
SUBNET_GROUPS = "arn:{partition}:rds:{region}:{account}:subgrp:*"
RESTORED_FROM = "selfheal:restored-from"


def restored_name(db: str, identity: str) -> str:
    """The new instance's identifier: ``<original>-restore-<8 hex>`` (at most 58 characters; the same
    for the same event, so a re-plan on approval names the same instance)."""
    suffix = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{db[:40].rstrip('-')}-restore-{suffix}"


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The original and, if it exists already, the restored copy (one read)."""
    db, problem = targets.one_resource(incident)
    if problem:
        return ()
    names = [db, restored_name(db, incident.identity)]
    filters = [{"Name": "db-instance-id", "Values": names}]
    return (Call("rds", "describe_db_instances", {"Filters": filters}, mutating=False),)


def found(facts: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """The read instance named ``name`` ({} when none)."""
    listed = ((facts or {}).get("describe_db_instances") or {}).get("DBInstances") or []
    return next((dict(d) for d in listed if d.get("DBInstanceIdentifier") == name), {})


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Restore the original to the latest restorable time into a new instance beside it."""
    db, problem = targets.one_resource(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="rds-instance", id=db, region=incident.region)  # type: ignore[arg-type]
    if not entry.limits.approval:
        return Plan(entry.name, target, problem=f"{entry.name} restores only behind approval (catalog: approval false)")
    new = restored_name(db, incident.identity)
    params: dict[str, Any] = {
        "SourceDBInstanceIdentifier": db,
        "TargetDBInstanceIdentifier": new,
        "UseLatestRestorableTime": True,
        "DBSubnetGroupName": None,
        "VpcSecurityGroupIds": None,
        "Tags": [{"Key": MARKER_TAG, "Value": NAME}, {"Key": RESTORED_FROM, "Value": db}],
    }
    if facts is not None:
        error, original = targets.read_error(facts, "describe_db_instances"), found(facts, db)
        if error or not original:
            return targets.no_target(entry.name, f"DB instance {db}: {error or 'not found'}")
        copy = found(facts, new)
        if copy:
            return Plan(
                entry.name, target, stand_down=f"{new} is already restored beside {db} ({copy.get('DBInstanceStatus')})"
            )
        if not original.get("BackupRetentionPeriod"):
            return Plan(
                entry.name, target, problem=f"DB instance {db} keeps no automated backups: no point-in-time restore"
            )
        params["DBSubnetGroupName"] = (original.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
        groups = [g.get("VpcSecurityGroupId") for g in original.get("VpcSecurityGroups") or []]
        params["VpcSecurityGroupIds"] = [g for g in groups if g]
        params = {k: v for k, v in params.items() if v not in (None, [])}
    return Plan(entry.name, target, (Call("rds", "restore_db_instance_to_point_in_time", params),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the original's status, engine and latest restorable time."""
    listed = ((facts or {}).get("describe_db_instances") or {}).get("DBInstances") or [{}]
    original = listed[0]
    return {k: original.get(k) for k in ("DBInstanceIdentifier", "DBInstanceStatus", "Engine", "LatestRestorableTime")}


def verify_reads(plan_: Plan) -> tuple[Call, ...]:
    """The new instance."""
    restores = [c for c in plan_.calls if c.operation == "restore_db_instance_to_point_in_time"]
    if not restores:
        return ()
    new = restores[0].params["TargetDBInstanceIdentifier"]
    return (Call("rds", "describe_db_instances", {"DBInstanceIdentifier": new}, mutating=False),)


def verified(plan_: Plan, facts: Mapping[str, Any]) -> bool:
    """The new instance is available."""
    listed = (facts.get("describe_db_instances") or {}).get("DBInstances") or []
    return bool(listed) and listed[0].get("DBInstanceStatus") == "available"


RUNBOOK = Runbook(
    name=NAME,
    summary="Restore a failed RDS instance to the latest restorable time as a NEW instance beside it (approval)",
    target_kind="rds-instance",
    layer="data",
    rank=76,
    events=(RDS_INSTANCE_EVENTS,),
    matches=Condition(source="rds", kinds=("rds-instance",), types=NEEDS_RESTORE),
    verify="the new instance becomes available",
    plan=plan,
    reads=reads,
    before=before,
    verify_reads=verify_reads,
    verified=verified,
    default={
        "triggers": [{"source": "rds", "types": list(NEEDS_RESTORE)}],
        "limits": {
            "cooldown_s": 86400,
            "max_attempts": 1,
            "attempt_window_s": 86400,
            "max_in_flight": 1,
            "approval_ttl_s": 86400,
            "verify_deadline_s": 14400,
        },
        "approval": True,
    },
    permissions=(
        Grant("ReadDatabases", ("rds:DescribeDBInstances",), (DATABASES,)),
        Grant("RestoreFromTaggedDatabases", ("rds:RestoreDBInstanceToPointInTime",), (DATABASES,), tagged=True),
        Grant(
            "RestoreToNewInstancesBeside",
            ("rds:RestoreDBInstanceToPointInTime",),
            (RESTORED, SUBNET_GROUPS),
            why="the new instance carries no tag before it exists: selfheal's restore names only, and the subnet "
            "group it names",
        ),
        Grant(
            "TagTheRestoredInstance",
            ("rds:AddTagsToResource",),
            (RESTORED,),
            why="the restore's own tags on the new instance",
            implied_by="rds:RestoreDBInstanceToPointInTime",
        ),
    ),
)
