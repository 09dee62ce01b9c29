"""ebs-volume: AWS Health says an EBS volume is degraded or lost → snapshot a degraded one first; a lost
one escalates, naming its latest completed snapshot.

Its business (``MATCHES``), AWS Health's EBS issues (service ``EBS``, category ``issue``; the codes of
AWS Systems Manager OpsCenter's EBS rules and of aws-health-tools' ``AWS_EBS_VOLUME_LOST`` action):

- ``AWS_EBS_DEGRADED_EBS_VOLUME_PERFORMANCE``: the volume's I/O is below expectations. The data is
  still there: take a snapshot of it now (``ec2:CreateSnapshot``, tagged with selfheal's mark
  ``selfheal:action=ebs-volume``), so whatever a person does next starts from a copy. Replacing the
  volume (a new volume from that snapshot in the same Availability Zone, swapped in at the instance)
  interrupts its writer and may lose the writes after the snapshot: it is a person's call, never
  automatic. selfheal detaches and deletes nothing.
- ``AWS_EBS_VOLUME_LOST``: the hardware under the volume failed and its data is gone; a snapshot
  cannot be taken any more. It escalates with the latest completed snapshot of the volume
  (``DescribeSnapshots`` filtered by ``volume-id``) for a person to restore from, or says there is none.

A degraded volume already in the ``error`` state escalates the same way (its data cannot be read). A
snapshot of the volume still ``pending`` (selfheal's or another's: it already copies the volume as it
is) stands the runbook down; a deleted volume stands down too. Verify: the Health event closes (AWS reports the volume
healthy again); otherwise the deadline escalates — that is when a person decides on the replacement.

The same snapshot for the CloudWatch alarm on ``VolumeStalledIOCheck`` is ebs-stalled-io (an alarm
runbook: a runbook matches one source). The helpers below are shared with it. Pure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, Grant, Runbook
from chalicelib.core.runbooks.loop import MARKER_TAG, tag_map
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ebs-volume"
DEGRADED = "AWS_EBS_DEGRADED_EBS_VOLUME_PERFORMANCE"
LOST = "AWS_EBS_VOLUME_LOST"
VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")
VOLUMES = "arn:{partition}:ec2:{region}:{account}:volume/*"
SNAPSHOTS = "arn:{partition}:ec2:{region}::snapshot/*"
# Volume states in which nothing is left to snapshot (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-volume-lifecycle.html).
GONE = ("deleting", "deleted")


def volume_id(incident: Incident) -> tuple[str, str]:
    """(the EBS volume id the incident names, '') or ('', why it names none); a volume ARN is read too."""
    resource, problem = targets.one_resource(incident)
    if problem:
        return "", problem
    resource = resource.rsplit("/", 1)[-1] if resource.startswith("arn:") else resource
    if not VOLUME_ID.match(resource):
        return "", f"{resource!r} is not an EBS volume id"
    return resource, ""


def describe_volume(volume: str) -> Call:
    """The read of the volume: state, Availability Zone, type, size, attachments."""
    return Call("ec2", "describe_volumes", {"VolumeIds": [volume]}, mutating=False)


def describe_snapshots(volume: str) -> Call:
    """The read of this account's snapshots of the volume (any state)."""
    params = {"Filters": [{"Name": "volume-id", "Values": [volume]}], "OwnerIds": ["self"]}
    return Call("ec2", "describe_snapshots", params, mutating=False)


def snapshot_call(runbook: str, volume: str) -> Call:
    """The snapshot of ``volume``, carrying selfheal's mark (the IAM policy requires it on new snapshots)."""
    marks = [{"Key": MARKER_TAG, "Value": runbook}, {"Key": "selfheal:volume", "Value": volume}]
    return Call(
        "ec2",
        "create_snapshot",
        {
            "VolumeId": volume,
            "Description": f"selfheal {runbook}: copy of {volume} before any repair",
            "TagSpecifications": [{"ResourceType": "snapshot", "Tags": marks}],
        },
    )


def volume(facts: Mapping[str, Any]) -> dict[str, Any] | None:
    """The volume ``describe_volumes`` returned (None when none)."""
    found = (facts.get("describe_volumes") or {}).get("Volumes") or []
    return found[0] if found else None


def snapshots(facts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The volume's snapshots the read returned, newest first."""
    found = list(((facts or {}).get("describe_snapshots") or {}).get("Snapshots") or [])
    return sorted(found, key=lambda s: str(s.get("StartTime", "")), reverse=True)


def latest_completed(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The newest completed snapshot of the volume (None when it has none)."""
    return next((s for s in snapshots(facts) if s.get("State") == "completed"), None)


def pending(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The newest snapshot of the volume still being taken (None when none): it is already a copy of
    the volume as it is now, and an st1/sc1 volume allows only one pending snapshot."""
    return next((s for s in snapshots(facts) if s.get("State") == "pending"), None)


def whose(snap: Mapping[str, Any]) -> str:
    """``selfheal's (ebs-volume)`` for a snapshot carrying selfheal's mark, else ``another``."""
    runbook = tag_map(snap.get("Tags")).get(MARKER_TAG)
    return f"selfheal's ({runbook})" if runbook else "another"


def restore_from(volume_id_: str, facts: Mapping[str, Any] | None) -> str:
    """What a person restores ``volume_id_`` from: its latest completed snapshot, or that it has none."""
    if facts is None:
        return "its latest snapshot is unknown (no read was made)"
    snap = latest_completed(facts)
    if snap is None:
        return f"no completed snapshot of {volume_id_} exists: restore its data from a backup"
    zone = (volume(facts) or {}).get("AvailabilityZone")
    where = f" in {zone}" if zone else ""
    return (
        f"latest completed snapshot {snap.get('SnapshotId')} (started {snap.get('StartTime')}): "
        f"create a volume from it{where} and attach it in place of {volume_id_}"
    )


def snapshot_plan(runbook: str, incident: Incident, volume_id_: str, facts: Mapping[str, Any] | None) -> Plan:
    """Snapshot a readable volume; escalate one in ``error`` with what to restore from; stand down when
    the volume is gone or a snapshot of it is still pending.

    A plan with neither a problem nor a stand-down has no calls yet: the caller adds its snapshot call
    (each runbook module writes its own calls, so its IAM scan sees them)."""
    target = Target(kind="ebs-volume", id=volume_id_, region=incident.region)
    if facts is not None:
        error = targets.read_error(facts, "describe_volumes")
        found = volume(facts)
        if error or found is None:
            return targets.no_target(runbook, f"volume {volume_id_}: {error or 'not found'}")
        state = str(found.get("State", ""))
        if state in GONE:
            return Plan(runbook, target, stand_down=f"volume {volume_id_} is {state}: nothing to snapshot")
        if state == "error":
            why = f"volume {volume_id_} is in the error state, its data unreadable; {restore_from(volume_id_, facts)}"
            return Plan(runbook, target, problem=why)
        taking = pending(facts)
        if taking is not None:
            why = f"{whose(taking)} snapshot {taking.get('SnapshotId')} of {volume_id_} is still pending"
            return Plan(runbook, target, stand_down=why)
    return Plan(runbook, target)


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the volume's state, zone, type, size, attachments, and
    the latest completed snapshot before selfheal's."""
    found = volume(facts) or {}
    latest = latest_completed(facts) or {}
    return {
        **{k: found.get(k) for k in ("State", "AvailabilityZone", "VolumeType", "Size")},
        "attached_to": [a.get("InstanceId") for a in found.get("Attachments") or []],
        "latest_snapshot": latest.get("SnapshotId"),
    }


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The volume (state, zone) and its snapshots."""
    volume_, problem = volume_id(incident)
    return () if problem else (describe_volume(volume_), describe_snapshots(volume_))


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """A lost volume escalates naming what to restore from; a degraded one is snapshotted."""
    volume_, problem = volume_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    if incident.subject == LOST:
        target = Target(kind="ebs-volume", id=volume_, region=incident.region)
        why = f"volume {volume_} is lost (its data is unrecoverable); {restore_from(volume_, facts)}"
        return Plan(entry.name, target, problem=why)
    found = snapshot_plan(entry.name, incident, volume_, facts)
    if found.problem or found.stand_down or found.target is None:
        return found
    return Plan(entry.name, found.target, (snapshot_call(entry.name, volume_),))


RUNBOOK = Runbook(
    name=NAME,
    summary="Snapshot an EBS volume AWS Health reports degraded (replacement is a person's call); "
    "a lost volume escalates naming its latest snapshot",
    target_kind="ebs-volume",
    layer="infrastructure",
    rank=72,
    matches=Condition(source="health", kinds=("ebs-volume",), types=(DEGRADED, LOST)),
    verify="the Health event closes; otherwise the deadline escalates for a person to decide on a replacement",
    plan=plan,
    reads=reads,
    before=before,
    default={
        "triggers": [{"source": "health", "types": [DEGRADED, LOST]}],
        "limits": {"cooldown_s": 21600, "max_attempts": 1, "max_in_flight": 1, "verify_deadline_s": 3600},
    },
    permissions=(
        Grant(
            "ReadVolumesAndSnapshots",
            ("ec2:DescribeVolumes", "ec2:DescribeSnapshots"),
            ANY,
            why="no resource-level permissions for these reads",
        ),
        Grant("SnapshotTaggedVolumes", ("ec2:CreateSnapshot",), (VOLUMES,), tagged=True),
        Grant(
            "NewSnapshotsCarrySelfhealsMark",
            ("ec2:CreateSnapshot",),
            (SNAPSHOTS,),
            conditions=(("StringEquals", f"aws:RequestTag/{MARKER_TAG}", (NAME,)),),
        ),
        Grant(
            "TagSnapshotsAtCreation",
            ("ec2:CreateTags",),
            (SNAPSHOTS,),
            conditions=(("StringEquals", "ec2:CreateAction", ("CreateSnapshot",)),),
        ),
    ),
)
