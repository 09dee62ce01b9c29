"""backup-retry behind the governor, through the event remediator: a failed AWS Backup job → one new
job for the resource (same vault and role), verified by reading its completion; a second failure
escalates. moto gap: moto 5.2.5 has no backup jobs (start_backup_job, describe_backup_job,
list_backup_jobs), so AWS Backup is a botocore Stubber whose expected_params pin the call shape; the
governor's table, the notification topic and SSM are the moto server's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib import runtime
from tests.conftest import load_event
from tests.integration.event_estate import EventEstate, event_estate

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

VOLUME = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0b5ae24f2ee72d926"
ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
FAILED_JOB = "34176239-e96d-4e1d-9fad-529dbb3c3556"
NEW_JOB = "8f0e2c55-1d2b-4c1e-9a43-5b1f2e7d9c10"
AT = datetime(2026, 12, 5, 2, 13, tzinfo=UTC)


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[EventEstate]:
    """The default catalog: backup-retry in dry-run."""
    yield event_estate(moto_endpoint, stubbed=("backup",))
    runtime.clear()


@pytest.fixture
def enabled(moto_endpoint: str) -> Iterator[EventEstate]:
    """backup-retry out of dry-run."""
    yield event_estate(moto_endpoint, enabled=("backup-retry",), stubbed=("backup",))
    runtime.clear()


def job(job_id: str, state: str, created: datetime = AT) -> dict[str, Any]:
    """A backup job as DescribeBackupJob / ListBackupJobs return it."""
    return {
        "BackupJobId": job_id,
        "BackupVaultName": "nightly",
        "ResourceArn": VOLUME,
        "IamRoleArn": ROLE,
        "ResourceType": "EBS",
        "State": state,
        "StatusMessage": "Backup job failed because the snapshot limit was reached." if state == "FAILED" else "",
        "CreationDate": created,
    }


def reads(estate: EventEstate, failed: str, *jobs: dict[str, Any]) -> None:
    """Queue the plan's two reads: the failed job, and the resource's jobs in the vault."""
    stub = estate.clients.stubs["backup"]
    stub.add_response("describe_backup_job", job(failed, "FAILED"), {"BackupJobId": failed})
    listed = {"ByResourceArn": VOLUME, "ByBackupVaultName": "nightly"}
    stub.add_response("list_backup_jobs", {"BackupJobs": list(jobs) or [job(failed, "FAILED")]}, listed)


def test_by_default_a_failed_job_is_only_told_what_would_be_started(estate: EventEstate) -> None:
    reads(estate, FAILED_JOB)
    [decision] = estate.send(load_event("backup_retry/failed"))
    assert (decision["decision"], decision["runbook"]) == ("dry_run", "backup-retry")
    assert estate.clients.calls["StartBackupJob"] == 0
    estate.clients.stubs["backup"].assert_no_pending_responses()
    [notice] = estate.published()
    assert "dry run" in notice["content"]["title"] and VOLUME in json.dumps(notice)


def test_one_new_job_is_started_like_the_failed_one_and_its_completion_heals_it(enabled: EventEstate) -> None:
    estate = enabled
    # GIVEN a failed nightly backup of a volume, backup-retry enabled
    stub = estate.clients.stubs["backup"]
    reads(estate, FAILED_JOB)
    started = {
        "BackupVaultName": "nightly",
        "ResourceArn": VOLUME,
        "IamRoleArn": ROLE,
        "IdempotencyToken": f"selfheal-{FAILED_JOB}",
    }
    stub.add_response("start_backup_job", {"BackupJobId": NEW_JOB, "CreationDate": AT}, started)
    # WHEN its event arrives
    [decision] = estate.send(load_event("backup_retry/failed"))
    # THEN one job is started with the failed job's vault and role
    assert decision["decision"] == "act" and estate.clients.calls["StartBackupJob"] == 1
    # WHEN the verifier reads the resource's jobs and the new one completed
    later = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    listed = {"BackupJobs": [job(FAILED_JOB, "FAILED"), job(NEW_JOB, "COMPLETED", later)]}
    stub.add_response("list_backup_jobs", listed, {"ByResourceArn": VOLUME, "ByBackupVaultName": "nightly"})
    estate.clock.advance(60)
    verified = runtime.remediate().verify()
    # THEN the action is healed
    assert [d["decision"] for d in verified["decisions"]] == ["healed"]
    stub.assert_no_pending_responses()


def test_a_job_already_running_for_the_resource_stands_down(enabled: EventEstate) -> None:
    estate = enabled
    reads(estate, FAILED_JOB, job(FAILED_JOB, "FAILED"), job(NEW_JOB, "RUNNING"))
    [decision] = estate.send(load_event("backup_retry/failed"))
    assert (decision["decision"], decision["rule"]) == ("suppressed", "stand-down")
    assert estate.clients.calls["StartBackupJob"] == 0


def test_the_new_job_failing_again_escalates_to_a_person(enabled: EventEstate) -> None:
    estate = enabled
    stub = estate.clients.stubs["backup"]
    reads(estate, FAILED_JOB)
    stub.add_response("start_backup_job", {"BackupJobId": NEW_JOB, "CreationDate": AT})
    [first] = estate.send(load_event("backup_retry/failed"))
    assert first["decision"] == "act"
    estate.published()
    # the job selfheal started fails in turn, after the cooldown
    estate.clock.advance(90)
    again = load_event("backup_retry/failed")
    again["id"], again["detail"]["backupJobId"] = "a-second-delivery", NEW_JOB
    reads(estate, NEW_JOB)
    [second] = estate.send(again)
    assert second["decision"] == "escalate", second
    assert estate.clients.calls["StartBackupJob"] == 1
    assert any(VOLUME in json.dumps(n) for n in estate.published())
