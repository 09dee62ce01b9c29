"""rds-restore-beside behind the governor, through the event remediator, on the moto server: a DB
instance RDS reports failed (RDS-EVENT-0031) waits for a person; approved, it is restored to a new
instance beside the original, which stays as it was; the verifier reads the copy available.
By default (dry-run) it is only told. moto gap: moto's restore makes the copy ``available`` at once
(no ``creating`` state to wait through), so verification reads it healed on the first pass.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from chalicelib import runtime
from tests.conftest import load_event
from tests.integration.event_estate import EventEstate, event_estate

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[EventEstate]:
    """The default catalog: dry-run, approval."""
    yield event_estate(moto_endpoint)
    runtime.clear()


@pytest.fixture
def live(moto_endpoint: str) -> Iterator[EventEstate]:
    """Out of dry-run: still behind approval."""
    yield event_estate(moto_endpoint, enabled=("rds-restore-beside",))
    runtime.clear()


def database(estate: EventEstate) -> str:
    name = f"orders-db-{uuid.uuid4().hex[:8]}"
    estate.clients.client("rds").create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
        MasterUsername="admin1", MasterUserPassword="not-a-secret-1", BackupRetentionPeriod=7,
    )  # fmt: skip
    return name


def failed(db: str) -> dict:
    raw = load_event("rds_restore_beside/storage_failure")
    raw["detail"]["SourceIdentifier"] = db
    raw["detail"]["SourceArn"] = raw["resources"][0] = f"arn:aws:rds:us-east-1:123456789012:db:{db}"
    return raw


def instances(estate: EventEstate) -> dict[str, dict]:
    listed = estate.clients.client("rds").describe_db_instances()["DBInstances"]
    return {d["DBInstanceIdentifier"]: d for d in listed}


def test_by_default_the_restore_is_only_told(estate: EventEstate) -> None:
    db = database(estate)
    [decision] = estate.send(failed(db))
    assert (decision["decision"], decision["runbook"]) == ("dry_run", "rds-restore-beside")
    assert estate.clients.calls["RestoreDBInstanceToPointInTime"] == 0
    assert [n for n in instances(estate) if n.startswith(f"{db}-restore-")] == []
    [notice] = estate.published()
    assert "dry run" in notice["content"]["title"]
    assert "rds.restore_db_instance_to_point_in_time" in notice["content"]["description"]
    [record] = runtime.governor().actions(resource=db)  # the audit holds the exact plan
    [call] = record.calls
    assert call["params"]["TargetDBInstanceIdentifier"].startswith(f"{db}-restore-")


def test_approved_it_restores_beside_the_original_which_stays_and_the_copy_verifies(live: EventEstate) -> None:
    # GIVEN a failed DB instance, the runbook out of dry-run
    db = database(live)
    # WHEN RDS reports it failed
    [waiting] = live.send(failed(db))
    # THEN a person is asked, nothing runs yet
    assert waiting["decision"] == "awaiting_approval"
    assert live.clients.calls["RestoreDBInstanceToPointInTime"] == 0
    # WHEN the person approves
    result = runtime.approvals().approve(waiting["action_id"])
    # THEN one restore, into a new instance; the original is as it was
    assert result["decision"] == "approved", result
    assert live.clients.calls["RestoreDBInstanceToPointInTime"] == 1
    found = instances(live)
    [copy] = [n for n in found if n.startswith(f"{db}-restore-")]
    assert db in found and found[db]["DBInstanceStatus"] == "available"
    for call in ("DeleteDBInstance", "ModifyDBInstance", "RebootDBInstance"):
        assert live.clients.calls[call] == 0
    tags = live.clients.client("rds").list_tags_for_resource(ResourceName=found[copy]["DBInstanceArn"])["TagList"]
    assert {"Key": "selfheal:restored-from", "Value": db} in tags
    # WHEN the verifier passes, the copy reads available: healed
    live.clock.advance(10)
    assert [d["decision"] for d in runtime.remediate().verify()["decisions"]] == ["healed"]
