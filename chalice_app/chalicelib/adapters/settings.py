"""Configuration: one frozen Settings, read from the environment once per container.

Explicit argument > environment > default. Secrets (GitHub token, SSH key) are not here: they are
SSM SecureString parameters, fetched lazily by the adapters that need them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from chalicelib.core.spend import SpendLimits
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_PREFIX = "SELFHEAL_"
# Environment variable names, one per Settings field: SELFHEAL_<FIELD NAME IN UPPER CASE>. Written out
# so that grepping a name finds its reader; docs/configuration.md lists each with its source and default.
ENV_TABLE_NAME = "SELFHEAL_TABLE_NAME"
ENV_QUEUE_URL = "SELFHEAL_QUEUE_URL"
ENV_REGION = "SELFHEAL_REGION"
ENV_ENDPOINT_URL = "SELFHEAL_ENDPOINT_URL"
ENV_PARAMETER_PREFIX = "SELFHEAL_PARAMETER_PREFIX"
ENV_STALE_AFTER_DAYS = "SELFHEAL_STALE_AFTER_DAYS"
ENV_RESOLVED_TTL_DAYS = "SELFHEAL_RESOLVED_TTL_DAYS"
ENV_LEASE_SECONDS = "SELFHEAL_LEASE_SECONDS"
ENV_QUEUE_VISIBILITY_SECONDS = "SELFHEAL_QUEUE_VISIBILITY_SECONDS"
ENV_MAX_ATTEMPTS = "SELFHEAL_MAX_ATTEMPTS"
ENV_MAX_JOBS_PER_HOUR = "SELFHEAL_MAX_JOBS_PER_HOUR"
ENV_MAX_JOBS_PER_DAY = "SELFHEAL_MAX_JOBS_PER_DAY"
ENV_MIN_OCCURRENCES = "SELFHEAL_MIN_OCCURRENCES"
ENV_MAX_TOKENS_PER_DAY = "SELFHEAL_MAX_TOKENS_PER_DAY"
ENV_FETCH_LINES = "SELFHEAL_FETCH_LINES"
ENV_METRICS_NAMESPACE = "SELFHEAL_METRICS_NAMESPACE"
ENV_ROUTINE_METRICS = "SELFHEAL_ROUTINE_METRICS"
ENV_GOVERNOR_TABLE_NAME = "SELFHEAL_GOVERNOR_TABLE_NAME"
ENV_TOPIC_ARN = "SELFHEAL_TOPIC_ARN"
ENV_GOVERNOR_AUDIT_DAYS = "SELFHEAL_GOVERNOR_AUDIT_DAYS"
ENV_QUIET_NOTICES = "SELFHEAL_QUIET_NOTICES"
ENV_DEPLOY_GRACE_MINUTES = "SELFHEAL_DEPLOY_GRACE_MINUTES"
ENV_QUIET_HOURS = "SELFHEAL_QUIET_HOURS"
ENV_PR_CHECK_MINUTES = "SELFHEAL_PR_CHECK_MINUTES"
ENV_HEAL_LOOKBACK_DAYS = "SELFHEAL_HEAL_LOOKBACK_DAYS"
ENV_NEW_GRACE_MINUTES = "SELFHEAL_NEW_GRACE_MINUTES"
ENV_NAMES: dict[str, str] = {
    "table_name": ENV_TABLE_NAME,
    "queue_url": ENV_QUEUE_URL,
    "region": ENV_REGION,
    "endpoint_url": ENV_ENDPOINT_URL,
    "parameter_prefix": ENV_PARAMETER_PREFIX,
    "stale_after_days": ENV_STALE_AFTER_DAYS,
    "resolved_ttl_days": ENV_RESOLVED_TTL_DAYS,
    "lease_seconds": ENV_LEASE_SECONDS,
    "queue_visibility_seconds": ENV_QUEUE_VISIBILITY_SECONDS,
    "max_attempts": ENV_MAX_ATTEMPTS,
    "max_jobs_per_hour": ENV_MAX_JOBS_PER_HOUR,
    "max_jobs_per_day": ENV_MAX_JOBS_PER_DAY,
    "min_occurrences": ENV_MIN_OCCURRENCES,
    "max_tokens_per_day": ENV_MAX_TOKENS_PER_DAY,
    "fetch_lines": ENV_FETCH_LINES,
    "metrics_namespace": ENV_METRICS_NAMESPACE,
    "routine_metrics": ENV_ROUTINE_METRICS,
    "governor_table_name": ENV_GOVERNOR_TABLE_NAME,
    "topic_arn": ENV_TOPIC_ARN,
    "governor_audit_days": ENV_GOVERNOR_AUDIT_DAYS,
    "quiet_notices": ENV_QUIET_NOTICES,
    "deploy_grace_minutes": ENV_DEPLOY_GRACE_MINUTES,
    "quiet_hours": ENV_QUIET_HOURS,
    "pr_check_minutes": ENV_PR_CHECK_MINUTES,
    "heal_lookback_days": ENV_HEAL_LOOKBACK_DAYS,
    "new_grace_minutes": ENV_NEW_GRACE_MINUTES,
}
# A fix's lease must end this long before SQS hands its message out again (see Settings).
LEASE_MARGIN_SECONDS = 60
_PREFIX = re.compile(r"^/(?:[A-Za-z0-9_.-]+/)+$")
# A daily token ceiling below one fix (a 6,000-token context, the prompt and two rounds) stops every fix.
MIN_TOKENS_PER_DAY = 20_000


def parameter_prefix_problem(prefix: str) -> str:
    """Why ``prefix`` is not a usable SSM path prefix ('' when it is): ``/name/`` or ``/a/b/``,
    never the root, never AWS's reserved ``/aws/`` or ``/ssm/`` trees."""
    if not _PREFIX.match(prefix):
        return f"parameter prefix {prefix!r} must look like /name/ (letters, digits, _ . -; '/' around each part)"
    if prefix.lower().startswith(("/aws/", "/ssm/")):
        return f"parameter prefix {prefix!r} is in a tree AWS reserves"
    return ""


@dataclass(frozen=True)
class Settings:
    """Everything a handler needs to know about where it runs and how careful to be."""

    table_name: str = "selfheal-error-groups"
    queue_url: str = ""
    region: str = "us-east-1"
    endpoint_url: str = ""  # one URL for every AWS service: a local moto server
    parameter_prefix: str = "/selfheal/"
    # Error groups expire (DynamoDB TTL) this long after they were last seen / resolved.
    stale_after_days: int = 30
    resolved_ttl_days: int = 14
    # Fix jobs: how long a claim lasts, and how many attempts a group gets. The lease outlives the
    # fixer's 600 s timeout (a running fix is never taken from it) and ends LEASE_MARGIN_SECONDS
    # before the fix queue's visibility timeout, so the delivery SQS makes after a fixer died
    # finds the lease expired and reclaims the group (terraform/sqs.tf, variables.tf).
    lease_seconds: int = 660
    queue_visibility_seconds: int = 900
    max_attempts: int = 3
    # Spend limits of code fixes (core/spend.py decide_spend; docs/spend.md says why these
    # defaults), 0 meaning no limit: fix jobs an hour and a day, occurrences before a group is
    # fixed, model tokens (in + out) a day. A group past a limit is SKIPPED with the reason and
    # picked up when budget returns (the hourly budget_sweeper, or its next occurrence).
    max_jobs_per_hour: int = 10
    max_jobs_per_day: int = 50
    min_occurrences: int = 2
    max_tokens_per_day: int = 2_000_000
    # When a subscription delivered only a traceback's first lines, how many more to fetch.
    fetch_lines: int = 200
    metrics_namespace: str = "selfheal"
    # 1: counts of routine traffic (errors seen, new groups, jobs, PRs) are EMF metrics too, each billed
    # all month; 0: they are logged only and the dashboard sums them (usecases/metrics.py).
    routine_metrics: int = 0
    # Runbooks: the governor's table (decisions, cooldowns, slots, audit) and the notification topic.
    governor_table_name: str = "selfheal-governor"
    topic_arn: str = ""
    governor_audit_days: int = 90
    # Runbook notice kinds nobody wants (comma-separated, core/notices.NOTICE_KINDS), e.g. "dry_run,digest".
    quiet_notices: str = ""
    # The pull request's fate (issue 12, docs/fate.md): an occurrence later than the merge plus the
    # deploy grace is a regression; a merged group quiet this long healed; a PR_OPENED group that
    # recurs has its PR read at most once a check period (teams without the webhook).
    deploy_grace_minutes: int = 30
    quiet_hours: int = 72
    pr_check_minutes: int = 60
    heal_lookback_days: int = 30  # merge days the heal checker reads back from the quiet cutoff
    # A group NEW (or REGRESSED) this long and still not QUEUED is taken as lost by the stream: the
    # hourly sweep hands it to the stream once more, and fails it when it waits that long again.
    new_grace_minutes: int = 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Settings from ``SELFHEAL_*`` variables; ConfigError names a variable that is invalid."""
        values: dict[str, object] = {}
        for f in fields(cls):
            name = ENV_NAMES[f.name]
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            if f.type in ("int", int):
                try:
                    values[f.name] = int(raw)
                except ValueError as exc:
                    raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
            else:
                values[f.name] = raw
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if region:
            values.setdefault("region", region)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError for values no deployment should run with."""
        if self.max_attempts < 1:
            raise ConfigError("SELFHEAL_MAX_ATTEMPTS must be at least 1")
        if self.lease_seconds < 30:
            raise ConfigError("SELFHEAL_LEASE_SECONDS must be at least 30")
        if self.lease_seconds + LEASE_MARGIN_SECONDS > self.queue_visibility_seconds:
            raise ConfigError(
                f"SELFHEAL_LEASE_SECONDS ({self.lease_seconds}) must end at least {LEASE_MARGIN_SECONDS} s before "
                f"the fix queue's visibility timeout SELFHEAL_QUEUE_VISIBILITY_SECONDS "
                f"({self.queue_visibility_seconds}): otherwise a job whose fixer died is dropped as busy"
            )
        if self.max_jobs_per_hour < 0:
            raise ConfigError("SELFHEAL_MAX_JOBS_PER_HOUR must be 0 (no limit) or more")
        self._validate_spend()
        for name in ("deploy_grace_minutes", "quiet_hours", "pr_check_minutes", "heal_lookback_days"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be 0 or more")
        if self.new_grace_minutes < 1:
            raise ConfigError(f"{ENV_NEW_GRACE_MINUTES} must be at least 1 (the stream needs time to queue a group)")
        if problem := parameter_prefix_problem(self.parameter_prefix):
            raise ConfigError(f"SELFHEAL_PARAMETER_PREFIX: {problem}")

    def _validate_spend(self) -> None:
        """The spend limits: whole numbers, 0 (no limit) or more, an hour's budget within the day's."""
        for name in ("max_jobs_per_day", "min_occurrences", "max_tokens_per_day"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be 0 (no limit) or more")
        if 0 < self.max_jobs_per_day < self.max_jobs_per_hour:
            raise ConfigError(
                f"SELFHEAL_MAX_JOBS_PER_HOUR ({self.max_jobs_per_hour}) is more than SELFHEAL_MAX_JOBS_PER_DAY "
                f"({self.max_jobs_per_day}): one hour could spend the whole day"
            )
        if 0 < self.max_tokens_per_day < MIN_TOKENS_PER_DAY:
            raise ConfigError(
                f"SELFHEAL_MAX_TOKENS_PER_DAY ({self.max_tokens_per_day}) is below one fix's worth "
                f"({MIN_TOKENS_PER_DAY}): no fix could ever run; use 0 for no limit"
            )

    def spend_limits(self) -> SpendLimits:
        """The limits decide_spend applies (field names of the service catalog)."""
        return SpendLimits(
            fixes_per_hour=self.max_jobs_per_hour,
            fixes_per_day=self.max_jobs_per_day,
            min_occurrences=self.min_occurrences,
            tokens_per_day=self.max_tokens_per_day,
        )
