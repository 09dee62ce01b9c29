"""Configuration: one frozen Settings, read from the environment once per container.

Explicit argument > environment > default. Secrets (GitHub token, SSH key) are not here: they are
SSM SecureString parameters, fetched lazily by the adapters that need them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_PREFIX = "SELFHEAL_"
# Environment variable names, one per Settings field: SELFHEAL_<FIELD NAME IN UPPER CASE>.


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
    # Fix jobs: how long a claim lasts, and how many attempts a group gets.
    lease_seconds: int = 900
    max_attempts: int = 3
    # When a subscription delivered only a traceback's first lines, how many more to fetch.
    fetch_lines: int = 200
    metrics_namespace: str = "selfheal"
    # Runbooks: the governor's table (decisions, cooldowns, slots, audit) and the notification topic.
    governor_table_name: str = "selfheal-governor"
    topic_arn: str = ""
    governor_audit_days: int = 90

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: object) -> Settings:
        """Settings from ``SELFHEAL_*`` variables; ConfigError names a variable that is invalid."""
        values: dict[str, object] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
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
        if not self.parameter_prefix.startswith("/") or not self.parameter_prefix.endswith("/"):
            raise ConfigError("SELFHEAL_PARAMETER_PREFIX must start and end with '/'")
