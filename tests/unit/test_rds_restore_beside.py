"""rds-restore-beside, pure: RDS-EVENT-0031 plans one point-in-time restore to a NEW instance beside
the original (never touching it), only behind approval; verified by the new instance being available."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.runbooks import RUNBOOKS, plan_for, rds_restore_beside, reads_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

CATALOG = default_catalog()
HOME = ("123456789012", "us-east-1")
ORIGINAL = {
    "DBInstanceIdentifier": "orders-db",
    "DBInstanceStatus": "failed",
    "BackupRetentionPeriod": 7,
    "DBSubnetGroup": {"DBSubnetGroupName": "private"},
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}],
}
# What the original may be asked to do: nothing. Every call the plan makes creates the copy.
NEVER = ("delete_db_instance", "modify_db_instance", "reboot_db_instance", "stop_db_instance")


def incident(**detail: object) -> object:
    raw = load_event("rds_restore_beside/storage_failure")
    raw["detail"].update(detail)
    return parse_event(raw, home=HOME).incident()


def read(*instances: dict) -> dict:
    return {"describe_db_instances": {"DBInstances": list(instances)}}


def test_the_failure_event_plans_one_restore_to_a_new_identifier_at_the_latest_restorable_time() -> None:
    found = incident()
    planned = plan_for(CATALOG, found, read(ORIGINAL))
    assert planned.entry.action == "rds-restore-beside" and planned.entry.limits.approval
    [call] = planned.plan.calls
    new = call.params["TargetDBInstanceIdentifier"]
    assert new.startswith("orders-db-restore-") and len(new) == len("orders-db-restore-") + 8
    assert dict(call.params) == {
        "SourceDBInstanceIdentifier": "orders-db",
        "TargetDBInstanceIdentifier": new,
        "UseLatestRestorableTime": True,
        "DBSubnetGroupName": "private",
        "VpcSecurityGroupIds": ["sg-0123456789abcdef0"],
        "Tags": [
            {"Key": "selfheal:action", "Value": "rds-restore-beside"},
            {"Key": "selfheal:restored-from", "Value": "orders-db"},
        ],
    }
    # the same event names the same new instance (approval binds the plan's digest)
    assert plan_for(CATALOG, incident(), read(ORIGINAL)).plan.digest() == planned.plan.digest()
    [names] = reads_for(planned.entry, found)
    assert names.params["Filters"][0]["Values"] == ["orders-db", new]


def test_a_copy_already_restored_stands_down_and_no_backups_or_no_original_escalates() -> None:
    new = rds_restore_beside.restored_name("orders-db", incident().identity)
    copy = {"DBInstanceIdentifier": new, "DBInstanceStatus": "creating"}
    assert "already restored" in plan_for(CATALOG, incident(), read(ORIGINAL, copy)).plan.stand_down
    no_backups = {**ORIGINAL, "BackupRetentionPeriod": 0}
    assert "no automated backups" in plan_for(CATALOG, incident(), read(no_backups)).plan.problem
    assert "not found" in plan_for(CATALOG, incident(), read()).plan.problem


def test_an_entry_without_approval_escalates_instead_of_restoring() -> None:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == "rds-restore-beside":
            entry["approval"], entry["dry_run"] = False, False
    plan = plan_for(load_catalog(doc), incident(), read(ORIGINAL)).plan
    assert plan.calls == () and "only behind approval" in plan.problem


def test_only_the_restore_event_is_its_business() -> None:
    assert plan_for(CATALOG, incident(EventID="RDS-EVENT-0035")).entry is None
    assert plan_for(CATALOG, incident(EventID="RDS-EVENT-0089")).entry.action == "rds-event"


def test_it_is_verified_by_the_new_instance_being_available() -> None:
    plan = plan_for(CATALOG, incident(), read(ORIGINAL)).plan
    [check] = rds_restore_beside.verify_reads(plan)
    new = plan.calls[0].params["TargetDBInstanceIdentifier"]
    assert dict(check.params) == {"DBInstanceIdentifier": new} and not check.mutating
    assert rds_restore_beside.verified(plan, read({"DBInstanceIdentifier": new, "DBInstanceStatus": "available"}))
    assert not rds_restore_beside.verified(plan, read({"DBInstanceIdentifier": new, "DBInstanceStatus": "creating"}))
    assert not rds_restore_beside.verified(plan, {"describe_db_instances": {"error": "DBInstanceNotFound"}})


def test_its_defaults_are_dry_run_and_approval_in_the_data_layer() -> None:
    declared = RUNBOOKS["rds-restore-beside"]
    [entry] = [e for e in CATALOG if e.action == "rds-restore-beside"]
    assert declared.layer == "data" and entry.limits.dry_run and entry.limits.approval
    assert declared.handlers() == ("event_remediator", "remediation_verifier")


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=63).filter(
        lambda s: s[0].isalpha() and not s.endswith("-") and "--" not in s
    ),
    st.text(min_size=1),
)
def test_the_new_identifier_is_a_valid_rds_name_never_the_originals(db: str, identity: str) -> None:
    new = rds_restore_beside.restored_name(db, identity)
    assert new != db and len(new) <= 63 and new[0].isalpha() and "--" not in new and not new.endswith("-")
    assert new == rds_restore_beside.restored_name(db, identity)


@given(st.fixed_dictionaries({}, optional={k: st.just(v) for k, v in ORIGINAL.items()}), st.booleans())
def test_whatever_is_read_the_original_is_only_ever_a_source(original: dict, named: bool) -> None:
    if named:
        original = {**original, "DBInstanceIdentifier": "orders-db"}
    plan = plan_for(CATALOG, incident(), read(original)).plan
    for call in plan.calls:
        assert call.operation == "restore_db_instance_to_point_in_time" and call.operation not in NEVER
        assert call.params["SourceDBInstanceIdentifier"] == "orders-db" != call.params["TargetDBInstanceIdentifier"]
    assert bool(plan.calls) != bool(plan.problem or plan.stand_down)
