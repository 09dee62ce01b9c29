"""The EBS runbooks behind the governor, through the remediator handlers (chalice.test.Client) on a moto
estate with every runbook enabled: a stalled volume's alarm snapshots it once (a redelivery is a
duplicate) and people are told; AWS Health's lost-volume event escalates naming the snapshot to restore.

moto gap: EventBridge cannot deliver to a Lambda in moto, so the handlers get the real-shaped events.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from local_infra import Clock, alarm, build_estate

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from chalicelib.core.runbooks.loop import MARKER_TAG, tag_map
from tests.conftest import load_event

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[tuple[Any, Clients, Clock]]:
    estate = build_estate(Clients(Settings(endpoint_url=moto_endpoint)), size=1)
    settings = Settings(
        endpoint_url=moto_endpoint,
        governor_table_name=estate.governor_table,
        topic_arn=estate.topic_arn,
        parameter_prefix=estate.prefix,
    )
    clients = Clients(settings)
    clock = Clock()
    runtime.override(settings=settings, clients=clients, clock=clock)
    yield estate, clients, clock
    runtime.clear()


def data_volume(clients: Clients, instance: str) -> str:
    ec2 = clients.client("ec2")
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a", VolumeType="gp3")["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    return volume


def published(clients: Clients, inbox: str) -> list[dict[str, Any]]:
    answer = clients.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in answer.get("Messages", [])]


def test_a_stalled_volume_is_snapshotted_once_and_people_are_told(estate: Any) -> None:
    estate, clients, clock = estate
    import app

    volume = data_volume(clients, estate.instances[0])
    event = alarm("ebs_volume/stalled_io", "orders-db-data-stalled-io", clock(), VolumeId=volume)
    with Client(app.app) as client:
        first = client.lambda_.invoke("alarm_remediator", event).payload
        again = client.lambda_.invoke("alarm_remediator", event).payload
    assert [(d["runbook"], d["decision"]) for d in first["decisions"]] == [("ebs-stalled-io", "act")]
    assert [(d["decision"], d["rule"]) for d in again["decisions"]] == [("suppressed", "duplicate")]
    snaps = clients.client("ec2").describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
    assert [tag_map(s["Tags"])[MARKER_TAG] for s in snaps] == ["ebs-stalled-io"]
    [notice] = published(clients, estate.inbox_url)
    assert volume in notice["content"]["title"] and "ec2.create_snapshot" in notice["content"]["description"]


def test_a_lost_volume_escalates_naming_the_snapshot_to_restore(estate: Any) -> None:
    estate, clients, _ = estate
    import app

    volume = data_volume(clients, estate.instances[0])
    snapshot = clients.client("ec2").create_snapshot(VolumeId=volume)["SnapshotId"]
    raw = load_event("ebs_volume/lost")
    raw["resources"], raw["detail"]["affectedEntities"][0]["entityValue"] = [volume], volume
    with Client(app.app) as client:
        answer = client.lambda_.invoke("health_remediator", raw).payload
    [decision] = answer["decisions"]
    assert (decision["runbook"], decision["decision"], decision["target"]) == ("ebs-volume", "escalate", volume)
    assert f"latest completed snapshot {snapshot}" in decision["reason"]
    [notice] = published(clients, estate.inbox_url)
    assert "needs a human" in notice["content"]["title"] and snapshot in notice["content"]["description"]
