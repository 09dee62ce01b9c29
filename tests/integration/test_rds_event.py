"""rds-event behind the governor, through the event remediator, on the moto server: a completed
failover is audited and no one is paged; low storage pages a person with the DB instance's figures
as RDS reports them (the instance is moto's; moto gap: it has no storage-full state, so the figures
are those it reports for an available instance)."""

from __future__ import annotations

import json
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
    yield event_estate(moto_endpoint, enabled=("rds-event",))
    runtime.clear()


def database(estate: EventEstate) -> str:
    name = f"orders-db-{uuid.uuid4().hex[:8]}"
    estate.clients.client("rds").create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=100,
        MaxAllocatedStorage=200, MasterUsername="admin1", MasterUserPassword="not-a-secret-1",
    )  # fmt: skip
    return name


def about(name: str, db: str) -> dict:
    raw = load_event(f"rds_event/{name}")
    raw["detail"]["SourceIdentifier"] = db
    raw["detail"]["SourceArn"] = raw["resources"][0] = f"arn:aws:rds:us-east-1:123456789012:db:{db}"
    return raw


def test_a_completed_failover_is_audited_and_pages_no_one(estate: EventEstate) -> None:
    db = database(estate)
    [decision] = estate.send(about("failover_completed", db))
    assert (decision["decision"], decision["rule"], decision["runbook"]) == ("suppressed", "stand-down", "rds-event")
    assert estate.published() == []
    [record] = runtime.governor().actions(resource=db)
    assert record.decision == "suppressed" and "RDS-EVENT-0049" in record.reason


def test_low_storage_pages_a_person_with_the_instances_figures(estate: EventEstate) -> None:
    db = database(estate)
    [decision] = estate.send(about("low_storage", db))
    assert (decision["decision"], decision["runbook"]) == ("escalate", "rds-event")
    notices = estate.published()
    assert notices and any("allocated 100 GiB (autoscaling up to 200 GiB)" in json.dumps(n) for n in notices)
    assert estate.clients.calls["DescribeDBInstances"] == 1
    mutating = {"RebootDBInstance", "ModifyDBInstance", "RestoreDBInstanceToPointInTime"}
    assert not mutating & set(estate.clients.calls)
