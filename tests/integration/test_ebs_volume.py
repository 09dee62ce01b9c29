"""ebs-volume and ebs-stalled-io on the moto server: a degraded or stalled volume is snapshotted (marked as
selfheal's), a lost one escalates naming its latest completed snapshot; nothing is detached or deleted.

moto gaps: moto completes a snapshot at once (a real one is ``pending`` for minutes), so the
pending-snapshot stand-down is checked on the read facts with the state set as EC2 reports it; a
volume in the ``error`` state cannot be made in moto either (same).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts
from chalicelib.core.runbooks import RUNBOOKS, plan_for, reads_for
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.core.runbooks.loop import MARKER_TAG, tag_map
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_runbooks_moto import AMI, Aws

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def attached_volume(aws: Aws) -> str:
    """A data volume attached to a running instance in us-east-1a."""
    ec2 = aws.client("ec2")
    instance = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1a"})[
        "Instances"
    ][0]["InstanceId"]
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a", VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    return volume


def health(code: str, volume: str) -> Any:
    raw = load_event(f"ebs_volume/{code}")
    raw["resources"] = [volume]
    raw["detail"]["affectedEntities"][0]["entityValue"] = volume
    return parse_event(raw).incident()


def stalled(volume: str) -> Any:
    raw = load_event("ebs_volume/stalled_io")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"VolumeId": volume}
    return parse_event(raw).incident()


def read_and_plan(aws: Aws, incident: Any) -> tuple[Any, dict]:
    facts = Facts(aws.client).read(reads_for(plan_for(CATALOG, incident).entry, incident))
    return plan_for(CATALOG, incident, facts), facts


def snapshots_of(aws: Aws, volume: str) -> list[dict]:
    found = aws.client("ec2").describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
    return sorted(found, key=lambda s: s["StartTime"])


@pytest.mark.parametrize(("runbook", "event"), [("ebs-volume", "degraded"), ("ebs-stalled-io", "stalled_io")])
def test_a_degraded_or_stalled_volume_is_snapshotted_with_selfheals_mark(aws: Aws, runbook: str, event: str) -> None:
    # GIVEN an attached volume that AWS Health reports degraded, or whose stalled-I/O alarm fired
    volume = attached_volume(aws)
    incident = health(event, volume) if event == "degraded" else stalled(volume)
    # WHEN its plan is read, made and run
    planned, facts = read_and_plan(aws, incident)
    assert planned.entry.name == runbook and planned.plan.target.id == volume
    results = Executor(aws.client).run(planned.plan.calls)
    # THEN one snapshot of it exists, marked as the runbook's; the volume stays attached and in use
    assert [r.call.operation for r in results] == ["create_snapshot"] and results[0].ok
    [snap] = snapshots_of(aws, volume)
    assert tag_map(snap["Tags"])[MARKER_TAG] == runbook and snap["SnapshotId"] == results[0].response["SnapshotId"]
    [found] = aws.client("ec2").describe_volumes(VolumeIds=[volume])["Volumes"]
    assert found["State"] == "in-use" and found["Attachments"][0]["State"] == "attached"
    assert aws.calls["DetachVolume"] == aws.calls["DeleteVolume"] == 0 and aws.calls["CreateVolume"] == 1  # its own
    assert RUNBOOKS[runbook].before(facts)["attached_to"] and RUNBOOKS[runbook].before(facts)["State"] == "in-use"


def test_a_lost_volume_escalates_naming_its_latest_completed_snapshot(aws: Aws) -> None:
    volume = attached_volume(aws)
    ec2 = aws.client("ec2")
    ec2.create_snapshot(VolumeId=volume, Description="nightly 1")
    latest = ec2.create_snapshot(VolumeId=volume, Description="nightly 2")["SnapshotId"]
    incident = health("lost", volume)
    _, facts = read_and_plan(aws, incident)
    # moto gap: both snapshots start in the same second; the older one is dated a day back, as nightlies are
    for snap in facts["describe_snapshots"]["Snapshots"]:
        if snap["SnapshotId"] != latest:
            snap["StartTime"] -= timedelta(days=1)
    planned = plan_for(CATALOG, incident, facts)
    assert planned.entry.name == "ebs-volume" and planned.plan.calls == ()
    assert f"volume {volume} is lost" in planned.plan.problem
    assert f"latest completed snapshot {latest}" in planned.plan.problem and "us-east-1a" in planned.plan.problem
    # a volume with no snapshot: the person is told to restore from a backup
    bare = attached_volume(aws)
    planned, _ = read_and_plan(aws, health("lost", bare))
    assert f"no completed snapshot of {bare} exists" in planned.plan.problem
    assert aws.calls["CreateSnapshot"] == 2  # the two nightly ones above, none by the runbook


def test_a_pending_snapshot_stands_down_and_a_vanished_volume_escalates(aws: Aws) -> None:
    volume = attached_volume(aws)
    incident = stalled(volume)
    planned, _ = read_and_plan(aws, incident)
    Executor(aws.client).run(planned.plan.calls)
    _, facts = read_and_plan(aws, incident)
    facts["describe_snapshots"]["Snapshots"][0]["State"] = "pending"  # as EC2 reports it for minutes
    again = plan_for(CATALOG, incident, facts).plan
    assert again.calls == () and "selfheal's (ebs-stalled-io) snapshot" in again.stand_down
    assert "still pending" in again.stand_down
    # a volume deleted meanwhile (EC2 answers NotFound): nothing to snapshot, a person is told
    loose = aws.client("ec2").create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    aws.client("ec2").delete_volume(VolumeId=loose)
    gone = read_and_plan(aws, stalled(loose))[0].plan
    assert gone.calls == () and loose in gone.problem


def test_their_defaults_are_dry_run_without_approval() -> None:
    for name in ("ebs-volume", "ebs-stalled-io"):
        [entry] = [e for e in CATALOG if e.action == name]
        assert entry.limits.dry_run and not entry.limits.approval and entry.limits.max_attempts == 1
        assert RUNBOOKS[name].layer == "infrastructure"
