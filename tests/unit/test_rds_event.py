"""rds-event, pure: RDS DB instance events parsed by their documented ids; a completed failover is
audited without a page, low storage escalates with the instance's figures, other ids reach no runbook."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.runbooks import RUNBOOKS, plan_for, rds_event, reads_for
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

CATALOG = default_catalog()
HOME = ("123456789012", "us-east-1")
INSTANCE = {
    "DBInstanceIdentifier": "orders-db",
    "DBInstanceStatus": "storage-full",
    "AllocatedStorage": 100,
    "MaxAllocatedStorage": 200,
    "StorageType": "gp3",
}


def incident(name: str, **detail: object) -> object:
    raw = load_event(f"rds_event/{name}")
    raw["detail"].update(detail)
    return parse_event(raw, home=HOME).incident()


def test_an_rds_instance_event_is_an_incident_of_the_rds_source_named_by_its_event_id() -> None:
    found = incident("low_storage")
    assert (found.source, found.subject, found.state, found.resources) == (
        "rds",
        "RDS-EVENT-0089",
        "open",
        ("orders-db",),
    )
    assert (
        found.identity == "rds:arn:aws:rds:us-east-1:123456789012:db:orders-db#RDS-EVENT-0089#2026-12-05T09:40:03.293Z"
    )
    assert found.facts["EventCategories"] == ["low storage"] and found.facts["resource_kind"] == "rds-instance"


def test_a_completed_failover_stands_down_without_reads() -> None:
    found = incident("failover_completed")
    planned = plan_for(CATALOG, found)
    assert planned.entry.action == "rds-event" and reads_for(planned.entry, found) == ()
    assert planned.plan.calls == () and "RDS-EVENT-0049 on orders-db" in planned.plan.stand_down
    assert not planned.plan.problem


def test_low_storage_escalates_with_the_instances_figures_and_rds_message() -> None:
    for name in ("low_storage", "storage_exhausted"):
        found = incident(name)
        entry = plan_for(CATALOG, found).entry
        [read] = reads_for(entry, found)
        assert (read.operation, dict(read.params), read.mutating) == (
            "describe_db_instances", {"DBInstanceIdentifier": "orders-db"}, False,
        )  # fmt: skip
        plan = plan_for(CATALOG, found, {"describe_db_instances": {"DBInstances": [INSTANCE]}}).plan
        assert plan.calls == () and not plan.stand_down
        assert "allocated 100 GiB (autoscaling up to 200 GiB), gp3, status storage-full" in plan.problem
        assert found.facts["Message"][:40] in plan.problem
    gone = plan_for(CATALOG, incident("low_storage"), {"describe_db_instances": {"error": "DBInstanceNotFound"}}).plan
    assert "could not be read" in gone.problem


def test_other_ids_of_its_categories_are_no_business_of_it() -> None:
    other = plan_for(CATALOG, incident("invalid_parameters"))
    assert other.entry is None and "RDS-EVENT-0035 on rds-instance orders-db: nothing done" in other.notify
    assert plan_for(CATALOG, incident("failover_completed", EventID="RDS-EVENT-0013")).entry is None


def test_it_changes_nothing_and_runs_in_the_event_remediator() -> None:
    declared = RUNBOOKS["rds-event"]
    assert declared.layer == "platform" and declared.handlers() == ("event_remediator", "remediation_verifier")
    assert all(g.reads() == g.actions for g in declared.permissions)
    assert set(rds_event.RDS_INSTANCE_EVENTS.pattern()["detail"]["EventCategories"]) >= {"failover", "low storage"}


@given(st.sampled_from(rds_event.FAILOVER_DONE + rds_event.LOW_STORAGE), st.text(max_size=50))
def test_any_documented_id_of_it_gives_a_plan_with_no_call(event_id: str, message: str) -> None:
    found = incident("low_storage", EventID=event_id, Message=message)
    plan = plan_for(CATALOG, found, {}).plan
    assert plan.calls == ()
    assert bool(plan.stand_down) == (event_id in rds_event.FAILOVER_DONE) != bool(plan.problem)
