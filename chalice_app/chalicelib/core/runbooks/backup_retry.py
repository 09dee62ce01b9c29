"""backup-retry: an AWS Backup job that failed, was aborted or expired → start one new backup job for
that resource, in the same vault with the same IAM role; a job that fails again escalates.

Its business (``MATCHES``): a "Backup Job State Change" event (``aws.backup``) whose state is
``FAILED``, ``ABORTED`` or ``EXPIRED``, about one resource (``resourceArn``). Event shapes:
https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html

The plan reads the failed job (``DescribeBackupJob``: its vault, role and resource are what the new
job uses, not the event's copy) and the resource's jobs in that vault (``ListBackupJobs``): a job
already created, pending or running for the resource stands down (AWS Backup expires a job that
would overlap it); a failed job that is no longer failed stands down; a job without a role
escalates. The new job carries an idempotency token made of the failed job's id, so a retried call
starts no second job.

One attempt per resource (``max_attempts`` 1): the new job's own FAILED event is the second attempt,
which the governor escalates to a person. Verify by reading: the resource's newest job in the vault
is ``COMPLETED`` (the new job, or a later scheduled one that completed), before the deadline.
IAM: ``backup:StartBackupJob`` on vaults carrying the opt-in tag, and ``iam:PassRole`` of the job's
role to AWS Backup only (``iam:PassedToService``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, EventSource, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "backup-retry"
FAILED = ("FAILED", "ABORTED", "EXPIRED")
# A job in these states will run: a second one would overlap it (AWS Backup expires such a job).
UNDER_WAY = ("CREATED", "PENDING", "RUNNING")
VAULTS = "arn:{partition}:backup:{region}:{account}:backup-vault:*"
ROLES = "arn:{partition}:iam::{account}:role/*"
BACKUP_JOBS = EventSource(
    name="backup",
    source="aws.backup",
    detail_type="Backup Job State Change",
    subject="state",
    resource="resourceArn",
    resource_kind="backup-resource",
    identity=("backupJobId", "state"),
    detail={"state": list(FAILED)},
    facts=("backupJobId", "backupVaultName", "iamRoleArn", "resourceType", "statusMessage"),
    doc="https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html",
)


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The failed job, and the resource's jobs in its vault."""
    job = str(incident.facts.get("backupJobId", ""))
    resource, problem = targets.one_resource(incident)
    if problem or not job:
        return ()
    calls = [Call("backup", "describe_backup_job", {"BackupJobId": job}, mutating=False)]
    vault = str(incident.facts.get("backupVaultName", ""))
    if vault:
        calls.append(jobs_of(resource, vault))
    return tuple(calls)


def jobs_of(resource: str, vault: str) -> Call:
    """The read of ``resource``'s backup jobs in ``vault``."""
    return Call("backup", "list_backup_jobs", {"ByResourceArn": resource, "ByBackupVaultName": vault}, mutating=False)


def failed_job(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The failed job as read ({} when not read)."""
    found = (facts or {}).get("describe_backup_job") or {}
    return {} if "error" in found else dict(found)


def newest(facts: Mapping[str, Any] | None) -> dict[str, Any]:
    """The resource's newest job in the vault, by creation date ({} when none)."""
    jobs = ((facts or {}).get("list_backup_jobs") or {}).get("BackupJobs") or []
    return dict(max(jobs, key=lambda j: str(j.get("CreationDate", "")), default={}))


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Start one backup job like the failed one (same vault, role and resource)."""
    resource, problem = targets.one_resource(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="backup-resource", id=resource, region=incident.region)  # type: ignore[arg-type]
    job_id = str(incident.facts.get("backupJobId", ""))
    # without reads, the event's copy of the job; with them, the job as AWS Backup reads it now
    vault, role = incident.facts.get("backupVaultName"), incident.facts.get("iamRoleArn")
    if facts is not None:
        job, error = failed_job(facts), targets.read_error(facts, "describe_backup_job")
        if error or not job:
            return targets.no_target(entry.name, f"backup job {job_id}: {error or 'not found'}")
        if job.get("State") not in FAILED:
            return Plan(entry.name, target, stand_down=f"backup job {job_id} is {job.get('State') or 'unknown'} now")
        jobs = (facts.get("list_backup_jobs") or {}).get("BackupJobs") or []
        running = [j for j in jobs if j.get("State") in UNDER_WAY]
        if running:
            other = f"backup job {running[0].get('BackupJobId')} is {running[0].get('State')}"
            return Plan(entry.name, target, stand_down=f"{other} for {resource}")
        vault, role = job.get("BackupVaultName"), job.get("IamRoleArn")
    if not vault or not role:
        return Plan(entry.name, target, problem=f"backup job {job_id} names no vault or IAM role: nothing to restart")
    params = {
        "BackupVaultName": vault,
        "ResourceArn": resource,
        "IamRoleArn": role,
        "IdempotencyToken": f"selfheal-{job_id}",
    }
    return Plan(entry.name, target, (Call("backup", "start_backup_job", params),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the failed job's state, message, vault and resource type."""
    job = failed_job(facts)
    return {k: job.get(k) for k in ("State", "StatusMessage", "BackupVaultName", "ResourceType")}


def verify_reads(plan_: Plan) -> tuple[Call, ...]:
    """The resource's jobs in the vault the plan started one in."""
    started = [c for c in plan_.calls if c.operation == "start_backup_job"]
    if not started or plan_.target is None:
        return ()
    return (jobs_of(plan_.target.id, str(started[0].params.get("BackupVaultName", ""))),)


def verified(plan_: Plan, facts: Mapping[str, Any]) -> bool:
    """The resource's newest job in the vault completed."""
    return newest(facts).get("State") == "COMPLETED"


RUNBOOK = Runbook(
    name=NAME,
    summary="Start one new AWS Backup job for a resource whose backup job failed, aborted or expired",
    target_kind="backup-resource",
    layer="data",
    rank=70,
    events=(BACKUP_JOBS,),
    matches=Condition(source="backup", kinds=("backup-resource",), types=FAILED),
    verify="the resource's newest backup job in the vault completes",
    plan=plan,
    reads=reads,
    before=before,
    verify_reads=verify_reads,
    verified=verified,
    default={
        "triggers": [{"source": "backup", "types": list(FAILED)}],
        # a backup takes hours: a day to complete; one new job per resource a day
        "limits": {
            "cooldown_s": 3600,
            "max_attempts": 1,
            "attempt_window_s": 86400,
            "max_in_flight": 1,
            "verify_deadline_s": 86400,
        },
    },
    permissions=(
        Grant(
            "ReadBackupJobs",
            ("backup:DescribeBackupJob", "backup:ListBackupJobs"),
            ANY,
            why="no resource-level permissions for these reads",
        ),
        Grant("StartBackupJobsInTaggedVaults", ("backup:StartBackupJob",), (VAULTS,), tagged=True),
        Grant(
            "PassTheJobsRoleToBackup",
            ("iam:PassRole",),
            (ROLES,),
            conditions=(("StringEquals", "iam:PassedToService", ("backup.amazonaws.com",)),),
            why="the failed job's role, passed to AWS Backup only",
            implied_by="backup:StartBackupJob",
        ),
    ),
)
