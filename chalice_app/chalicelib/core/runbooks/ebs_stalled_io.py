"""ebs-stalled-io: the CloudWatch alarm on an EBS volume's ``VolumeStalledIOCheck`` → snapshot it first;
replacing it is a person's call.

Its business (``MATCHES``): an alarm on ``AWS/EBS`` ``VolumeStalledIOCheck`` (0 = pass, 1 = the volume
is not completing the I/O asked of it, measured every minute for volumes attached to Nitro
instances: https://docs.aws.amazon.com/ebs/latest/userguide/using_cloudwatch_ebs.html) about one
volume (its ``VolumeId`` dimension), breached *above* its threshold
(``>= 1`` or ``> 0``) on measured datapoints — missing data is not a stalled volume.

The repair is ebs-volume's for a degraded volume: a snapshot of it now (``ec2:CreateSnapshot``,
tagged ``selfheal:action=ebs-stalled-io``), nothing detached or deleted; a volume in the ``error``
state escalates naming its latest completed snapshot; a pending snapshot of it, or a deleted volume,
stands it down. Verify: the alarm returns to OK; otherwise the deadline escalates, and a
person decides whether to replace the volume from the snapshot (same Availability Zone). Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import ebs_volume, targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, Grant, Runbook
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.core.runbooks.plan import Call, Incident, Plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ebs-stalled-io"
METRIC = "VolumeStalledIOCheck"


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The volume (state, zone) and its snapshots."""
    volume, problem = ebs_volume.volume_id(incident)
    if problem:
        return ()
    return (
        Call("ec2", "describe_volumes", {"VolumeIds": [volume]}, mutating=False),
        Call(
            "ec2",
            "describe_snapshots",
            {"Filters": [{"Name": "volume-id", "Values": [volume]}], "OwnerIds": ["self"]},
            mutating=False,
        ),
    )


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Snapshot the stalled volume (marked as selfheal's), unless it is gone, in error, or being copied."""
    volume, problem = ebs_volume.volume_id(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    found = ebs_volume.snapshot_plan(entry.name, incident, volume, facts)
    if found.problem or found.stand_down or found.target is None:
        return found
    marks = [{"Key": MARKER_TAG, "Value": entry.name}, {"Key": "selfheal:volume", "Value": volume}]
    params = {
        "VolumeId": volume,
        "Description": f"selfheal {entry.name}: copy of {volume} before any repair",
        "TagSpecifications": [{"ResourceType": "snapshot", "Tags": marks}],
    }
    return Plan(entry.name, found.target, (Call("ec2", "create_snapshot", params),))


RUNBOOK = Runbook(
    name=NAME,
    summary="Snapshot an EBS volume whose VolumeStalledIOCheck alarm fired (replacement is a person's call)",
    target_kind="ebs-volume",
    layer="infrastructure",
    rank=74,
    matches=Condition(
        source="alarm",
        kinds=("ebs-volume",),
        metrics=(f"AWS/EBS/{METRIC}",),
        direction="above",
        needs_datapoints=True,
    ),
    verify="the alarm returns to OK; otherwise the deadline escalates for a person to decide on a replacement",
    plan=plan,
    reads=reads,
    before=ebs_volume.before,
    default={
        "triggers": [{"source": "alarm", "namespace": "AWS/EBS", "metric": METRIC, "dimensions": ["VolumeId"]}],
        "limits": {"cooldown_s": 21600, "max_attempts": 1, "max_in_flight": 1, "verify_deadline_s": 1800},
    },
    permissions=(
        Grant(
            "ReadVolumesAndSnapshots",
            ("ec2:DescribeVolumes", "ec2:DescribeSnapshots"),
            ANY,
            why="no resource-level permissions for these reads",
        ),
        Grant("SnapshotTaggedVolumes", ("ec2:CreateSnapshot",), (ebs_volume.VOLUMES,), tagged=True),
        Grant(
            "NewSnapshotsCarrySelfhealsMark",
            ("ec2:CreateSnapshot",),
            (ebs_volume.SNAPSHOTS,),
            conditions=(("StringEquals", f"aws:RequestTag/{MARKER_TAG}", (NAME,)),),
        ),
        Grant(
            "TagSnapshotsAtCreation",
            ("ec2:CreateTags",),
            (ebs_volume.SNAPSHOTS,),
            conditions=(("StringEquals", "ec2:CreateAction", ("CreateSnapshot",)),),
        ),
    ),
)
