"""rds-event: what an RDS DB instance event means, said to the right person (nothing is changed).

Its business (``MATCHES``): "RDS DB Instance Event" (``aws.rds``) events of the documented
``RDS-EVENT-*`` ids below, about one DB instance (``SourceIdentifier``). The event ids, their
categories and messages: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html

- failover completed (``FAILOVER_DONE``: RDS-EVENT-0015 "A Multi-AZ failover that resulted in the
  promotion of a standby instance is complete", RDS-EVENT-0049 "A Multi-AZ failover has completed",
  RDS-EVENT-0051 "A Multi-AZ activation is complete"): RDS healed itself; the event is audited
  (suppressed, rule stand-down), no page.
- low storage (``LOW_STORAGE``: RDS-EVENT-0007 "The allocated storage for the DB instance has been
  consumed", RDS-EVENT-0089 "more than 90% of its allocated storage", RDS-EVENT-0227 "The Aurora
  storage subsystem is running low on space"): escalates to a person with the numbers read from
  the instance (allocated and maximum storage, status, storage type) and RDS's message. Growing
  storage is a cost decision, not automation's.

The failure event that asks for a point-in-time restore (RDS-EVENT-0031) is rds-restore-beside's.
Other ids of the rule's categories (failover, failure, low storage) reach no runbook: a person is
told, like any signal about a resource selfheal knows with no runbook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import EventSource, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "rds-event"
DOC = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html"
FAILOVER_DONE = ("RDS-EVENT-0015", "RDS-EVENT-0049", "RDS-EVENT-0051")
LOW_STORAGE = ("RDS-EVENT-0007", "RDS-EVENT-0089", "RDS-EVENT-0227")
DATABASES = "arn:{partition}:rds:{region}:{account}:db:*"
# The DB instance events the runbooks read (rds-event, rds-restore-beside), narrowed to the
# categories they act on: an event's EventCategories list matches when one of its items does.
RDS_INSTANCE_EVENTS = EventSource(
    name="rds",
    source="aws.rds",
    detail_type="RDS DB Instance Event",
    subject="EventID",
    resource="SourceIdentifier",
    resource_kind="rds-instance",
    identity=("SourceArn", "EventID", "Date"),
    detail={"SourceType": ["DB_INSTANCE"], "EventCategories": ["failover", "failure", "low storage"]},
    facts=("EventCategories", "Message", "SourceArn", "Date"),
    doc=DOC,
)
STORAGE_FIELDS = ("DBInstanceStatus", "AllocatedStorage", "MaxAllocatedStorage", "StorageType", "Engine")


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """For low storage, the DB instance (its storage figures)."""
    db, problem = targets.one_resource(incident)
    if problem or incident.subject not in LOW_STORAGE:
        return ()
    return (Call("rds", "describe_db_instances", {"DBInstanceIdentifier": db}, mutating=False),)


def database(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The DB instance the read found ({} when none)."""
    found = ((facts or {}).get("describe_db_instances") or {}).get("DBInstances") or []
    return dict(found[0]) if found else {}


def figures(found: Mapping[str, Any]) -> str:
    """``allocated 100 GiB (autoscaling up to 200 GiB), gp3, status storage-full``."""
    if not found:
        return "the instance could not be read"
    allocated, most = found.get("AllocatedStorage"), found.get("MaxAllocatedStorage")
    scaling = f" (autoscaling up to {most} GiB)" if most else " (no storage autoscaling)"
    return (
        f"allocated {allocated} GiB{scaling}, {found.get('StorageType', '?')}, status {found.get('DBInstanceStatus')}"
    )


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """No call: a completed failover stands down (audited); low storage escalates with the figures."""
    db, problem = targets.one_resource(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="rds-instance", id=db, region=incident.region)  # type: ignore[arg-type]
    said = str(incident.facts.get("Message", "")).strip()
    if incident.subject in FAILOVER_DONE:
        return Plan(entry.name, target, stand_down=f"{incident.subject} on {db}: {said or 'failover completed'}")
    figures_read = figures(database(facts)) if facts is not None else "not read"
    return Plan(entry.name, target, problem=f"{incident.subject} low storage on {db}: {said}; {figures_read}")


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the instance's storage figures."""
    found = database(facts)
    return {k: found.get(k) for k in STORAGE_FIELDS}


RUNBOOK = Runbook(
    name=NAME,
    summary="Audit a completed RDS failover; tell a person of low storage on a DB instance, with its figures",
    target_kind="rds-instance",
    layer="platform",
    rank=75,
    events=(RDS_INSTANCE_EVENTS,),
    matches=Condition(source="rds", kinds=("rds-instance",), types=FAILOVER_DONE + LOW_STORAGE),
    verify="nothing to verify: it changes nothing",
    plan=plan,
    reads=reads,
    before=before,
    default={
        "triggers": [{"source": "rds", "types": list(FAILOVER_DONE + LOW_STORAGE)}],
        "limits": {"cooldown_s": 3600, "max_attempts": 1, "max_in_flight": 1},
    },
    permissions=(Grant("ReadDatabase", ("rds:DescribeDBInstances",), (DATABASES,)),),
)
