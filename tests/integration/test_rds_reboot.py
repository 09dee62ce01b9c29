"""rds-reboot on the moto server: the DB instance an application's connection-failure alarm names is
read, planned (behind approval by default) and rebooted; failover only when the catalog asks and the
instance is Multi-AZ. moto gap: a reboot leaves the instance ``available`` at once (no ``rebooting``
state to observe), so the call is counted at the client; the busy and broken states are set on the
read facts as RDS reports them.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts
from chalicelib.core.runbooks import RUNBOOKS, plan_for, reads_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_runbooks_moto import Aws

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def database(aws: Aws, *, multi_az: bool = False) -> str:
    name = f"orders-db-{uuid.uuid4().hex[:8]}"
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", AllocatedStorage=20,
        MasterUsername="admin1", MasterUserPassword="not-a-secret-1", MultiAZ=multi_az,
    )  # fmt: skip
    return name


def failures_on(db: str) -> Any:
    raw = load_event("rds_reboot/connection_failures")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"DBInstanceIdentifier": db}
    return parse_event(raw).incident()


def with_failover() -> tuple:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == "rds-reboot":
            entry["params"] = {"failover": True}
    return load_catalog(doc)


def planned_on(aws: Aws, incident: Any, catalog: tuple = CATALOG, **changes: Any) -> Any:
    entry = plan_for(catalog, incident).entry
    facts = Facts(aws.client).read(reads_for(entry, incident))
    if changes:
        facts = copy.deepcopy(facts)
        facts["describe_db_instances"]["DBInstances"][0].update(changes)
    return plan_for(catalog, incident, facts)


def test_the_named_db_instance_is_rebooted_in_place_after_approval(aws: Aws) -> None:
    db = database(aws)
    planned = planned_on(aws, failures_on(db))
    assert planned.entry.limits.approval and planned.entry.limits.dry_run  # a person decides, by default
    assert planned.plan.target.id == db and planned.plan.target.kind == "rds-instance"
    assert [c.as_dict() for c in planned.plan.calls] == [
        {"service": "rds", "operation": "reboot_db_instance", "params": {"DBInstanceIdentifier": db}}
    ]
    [result] = Executor(aws.client).run(planned.plan.calls)
    assert result.ok and aws.calls["RebootDBInstance"] == 1


def test_failover_only_when_the_catalog_asks_and_the_instance_is_multi_az(aws: Aws) -> None:
    multi, single = database(aws, multi_az=True), database(aws)
    catalog = with_failover()
    assert planned_on(aws, failures_on(multi), catalog).plan.calls[0].params["ForceFailover"] is True
    assert "ForceFailover" not in planned_on(aws, failures_on(single), catalog).plan.calls[0].params
    assert "ForceFailover" not in planned_on(aws, failures_on(multi)).plan.calls[0].params  # default: in place
    # without reads nobody knows whether it is Multi-AZ: the plan says so
    assert plan_for(catalog, failures_on(multi)).plan.calls[0].params["ForceFailover"] is None


def test_a_busy_instance_stands_down_and_a_broken_or_missing_one_escalates(aws: Aws) -> None:
    db = database(aws)
    busy = planned_on(aws, failures_on(db), DBInstanceStatus="rebooting").plan
    assert busy.calls == () and "rebooting" in busy.stand_down
    full = planned_on(aws, failures_on(db), DBInstanceStatus="storage-full").plan
    assert full.calls == () and "storage-full" in full.problem
    missing = planned_on(aws, failures_on("orders-db-gone")).plan
    assert missing.calls == () and "orders-db-gone" in missing.problem


def test_only_alarms_of_its_business_reach_it() -> None:
    raw = load_event("rds_reboot/connection_failures")
    raw["detail"]["alarmName"] = "orders-db-latency"  # not a connection-failure alarm: no runbook
    assert plan_for(CATALOG, parse_event(raw).incident()).entry is None
    ok = load_event("rds_reboot/connection_failures")
    ok["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    assert plan_for(CATALOG, parse_event(ok).incident()).plan is None
    assert RUNBOOKS["rds-reboot"].layer == "platform"
    [entry] = [e for e in CATALOG if e.action == "rds-reboot"]
    assert replace(entry.limits, dry_run=True) == entry.limits and entry.target_dimension == "DBInstanceIdentifier"
