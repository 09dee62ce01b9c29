"""ec2-retire on an instance whose type has instance store: the stop/start waits for a person's approval
(whatever the catalog says), then runs when approved; an instance without instance store is moved at once.

On the moto server through the health remediator handler and the operator's `approve` (in-process).
moto's DescribeInstanceTypes reports the storage of real types (m5d.large: 1 x 75 GB NVMe SSD).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.runbooks.catalog import default_catalog
from tests.conftest import load_event
from tests.integration.test_approve_operator import cli, estate, notices  # noqa: F401 - the fixture
from tests.integration.test_runbooks_moto import AMI

pytestmark = pytest.mark.integration


def standalone(clients: Any, instance_type: str) -> str:
    """A running, opted-in instance of ``instance_type`` in no Auto Scaling group."""
    ec2 = clients.client("ec2")
    instance = ec2.run_instances(ImageId=AMI, InstanceType=instance_type, MinCount=1, MaxCount=1)["Instances"][0]
    ec2.create_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": "selfheal", "Value": "enabled"}])
    return str(instance["InstanceId"])


def retirement(instance: str) -> dict[str, Any]:
    raw = load_event("health_instance_retirement")
    raw["detail"]["affectedEntities"] = [{"entityValue": instance}]
    return raw


def test_an_instance_with_instance_store_waits_for_approval_then_moves(estate: Any, capsys: Any) -> None:  # noqa: F811
    # GIVEN a standalone m5d.large (75 GB of NVMe instance store) scheduled for retirement, ec2-retire live
    estate, options, _, clients = estate
    import app

    assert not next(e for e in default_catalog() if e.name == "ec2-retire").limits.approval  # not critical
    instance = standalone(clients, "m5d.large")
    # WHEN the Health event arrives
    [decision] = app.health_remediator(retirement(instance), None)["decisions"]
    # THEN nothing is stopped: a person is asked, told what the stop would lose
    assert (decision["decision"], decision["rule"]) == ("awaiting_approval", "approval")
    assert "75 GB of instance store (1 x 75 GB ssd) on m5d.large" in decision["reason"]
    assert clients.calls["ec2.StopInstances"] == 0 and clients.calls["ec2.DescribeInstanceTypes"] == 1
    assert any("awaits approval" in title for title in notices(clients, estate))
    # WHEN the operator approves (the data is saved): the remediator reads again, and moves it
    code, out, err = cli(capsys, "approve", decision["action_id"], *options)
    assert code == 0 and "and run" in out, err
    assert clients.calls["ec2.StopInstances"] == clients.calls["ec2.StartInstances"] == 1


def test_an_instance_without_instance_store_is_moved_without_asking(estate: Any) -> None:  # noqa: F811
    estate, _, _, clients = estate
    import app

    instance = standalone(clients, "t3.micro")
    [decision] = app.health_remediator(retirement(instance), None)["decisions"]
    assert (decision["decision"], decision["rule"]) == ("act", "ok")
    assert clients.calls["ec2.StopInstances"] == clients.calls["ec2.StartInstances"] == 1
