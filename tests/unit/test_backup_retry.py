"""backup-retry, pure: the AWS Backup job events it reads, what it plans on the failed job as read,
and how it verifies (the resource's newest job in the vault completed)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.runbooks import RUNBOOKS, backup_retry, plan_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.core.runbooks.plan import Plan
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

CATALOG = default_catalog()
VOLUME = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0b5ae24f2ee72d926"
ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
JOB = "34176239-e96d-4e1d-9fad-529dbb3c3556"


def incident(name: str = "failed", **detail: object) -> object:
    raw = load_event(f"backup_retry/{name}")
    raw["detail"].update(detail)
    return parse_event(raw, home=("123456789012", "us-east-1")).incident()


def facts(state: str = "FAILED", *jobs: dict) -> dict:
    job = {"BackupJobId": JOB, "BackupVaultName": "nightly", "IamRoleArn": ROLE, "ResourceArn": VOLUME, "State": state}
    return {"describe_backup_job": job, "list_backup_jobs": {"BackupJobs": list(jobs) or [job]}}


def test_failed_aborted_and_expired_jobs_are_incidents_of_the_backup_source_about_one_resource() -> None:
    for name, state in (("failed", "FAILED"), ("aborted", "ABORTED"), ("expired", "EXPIRED")):
        found = incident(name)
        assert (found.source, found.subject, found.state, found.resources) == ("backup", state, "open", (VOLUME,))
        assert found.identity.startswith("backup:") and found.identity.endswith(f"#{state}")
        assert found.facts["backupVaultName"] == "nightly" and found.facts["resource_kind"] == "backup-resource"
        assert plan_for(CATALOG, found).entry.action == "backup-retry"


def test_a_completed_job_is_no_business_of_it() -> None:
    assert plan_for(CATALOG, incident(state="COMPLETED")).entry is None


def test_the_new_job_uses_the_failed_jobs_vault_role_and_resource_with_an_idempotency_token() -> None:
    planned = plan_for(CATALOG, incident(), facts())
    [call] = planned.plan.calls
    assert (call.service, call.operation) == ("backup", "start_backup_job")
    assert dict(call.params) == {
        "BackupVaultName": "nightly",
        "ResourceArn": VOLUME,
        "IamRoleArn": ROLE,
        "IdempotencyToken": f"selfheal-{JOB}",
    }
    # without reads, the event's own copy of the job says the same
    assert plan_for(CATALOG, incident()).plan.calls == planned.plan.calls


def test_a_job_under_way_or_no_longer_failed_stands_down_and_a_job_without_role_escalates() -> None:
    running = {"BackupJobId": "other", "State": "RUNNING"}
    assert "other is RUNNING" in plan_for(CATALOG, incident(), facts("FAILED", running)).plan.stand_down
    assert "is COMPLETED now" in plan_for(CATALOG, incident(), facts("COMPLETED")).plan.stand_down
    roleless = facts()
    roleless["describe_backup_job"].pop("IamRoleArn")
    assert "names no vault or IAM role" in plan_for(CATALOG, incident(), roleless).plan.problem
    gone = {"describe_backup_job": {"error": "ResourceNotFoundException: no such job"}}
    assert "no such job" in plan_for(CATALOG, incident(), gone).plan.problem


def test_it_is_verified_by_the_resources_newest_job_completing() -> None:
    planned = plan_for(CATALOG, incident(), facts()).plan
    [read] = backup_retry.verify_reads(planned)
    assert dict(read.params) == {"ByResourceArn": VOLUME, "ByBackupVaultName": "nightly"} and not read.mutating
    old = {"State": "FAILED", "CreationDate": "2026-12-05T02:13:07"}
    new = {"State": "COMPLETED", "CreationDate": "2026-12-05T03:00:00"}
    assert backup_retry.verified(planned, {"list_backup_jobs": {"BackupJobs": [new, old]}})
    assert not backup_retry.verified(planned, {"list_backup_jobs": {"BackupJobs": [old]}})
    assert not backup_retry.verified(planned, {"list_backup_jobs": {"BackupJobs": [old, {**new, "State": "RUNNING"}]}})
    assert backup_retry.verify_reads(Plan("backup-retry", None)) == ()


def test_its_defaults_are_safe_and_its_layer_is_data() -> None:
    declared = RUNBOOKS["backup-retry"]
    [entry] = [e for e in CATALOG if e.action == "backup-retry"]
    assert declared.layer == "data" and entry.limits.dry_run and not entry.limits.approval
    assert entry.limits.max_attempts == 1 and entry.limits.cooldown_s >= 3600
    assert declared.handlers() == ("event_remediator", "remediation_verifier")
    # a catalog may narrow it to FAILED jobs only, never widen it to COMPLETED ones
    doc = {"runbooks": [{"name": "backup-retry", "triggers": [{"source": "backup", "types": ["*"]}]}]}
    assert plan_for(load_catalog(doc), incident(state="COMPLETED")).plan is None


JOB_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "State": st.sampled_from(["FAILED", "ABORTED", "EXPIRED", "RUNNING", "COMPLETED", ""]),
        "BackupVaultName": st.sampled_from(["nightly", ""]),
        "IamRoleArn": st.sampled_from([ROLE, ""]),
        "error": st.just("AccessDeniedException: no"),
    },
)


@given(JOB_FIELDS, st.lists(st.fixed_dictionaries({"State": st.sampled_from(["RUNNING", "FAILED", "COMPLETED"])})))
def test_whatever_is_read_it_starts_at_most_one_job_for_the_events_resource_only(job: dict, jobs: list) -> None:
    planned = plan_for(CATALOG, incident(), {"describe_backup_job": job, "list_backup_jobs": {"BackupJobs": jobs}})
    plan = planned.plan
    assert len(plan.calls) <= 1
    assert bool(plan.calls) != bool(plan.problem or plan.stand_down)
    for call in plan.calls:
        assert call.params["ResourceArn"] == VOLUME and call.operation == "start_backup_job"
    if any(j["State"] == "RUNNING" for j in jobs) or job.get("State") not in backup_retry.FAILED:
        assert not plan.calls
