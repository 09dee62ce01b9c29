"""Settings and secrets from SSM Parameter Store under the prefix (SecureString, KMS-encrypted),
fetched lazily and cached with a TTL by Powertools Parameters. Values are never logged."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.errors import ConfigError, TransientError

CACHE_SECONDS = 300


@dataclass(frozen=True)
class FixConfig:
    """What fix generation needs: where the code is, how to reach it, which model to ask."""

    repo_url: str = ""
    model_id: str = ""
    github_url: str = ""  # API base URL override (GitHub Enterprise)
    known_hosts: str = ""
    path_prefixes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ("selfheal",)
    min_occurrences: int = 1
    allowed_paths: tuple[str, ...] = ()  # files a fix may edit beyond those in the trace
    context_tokens: int = 6_000  # the budget of code shown to the model per fix
    github_token: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)

    @classmethod
    def from_parameters(cls, values: dict[str, str]) -> FixConfig:
        def listed(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            raw = values.get(key)
            return tuple(v.strip() for v in raw.split(",") if v.strip()) if raw else default

        try:
            min_occurrences = int(values.get("min_occurrences", "1"))
            context_tokens = int(values.get("context_tokens", "6000"))
        except ValueError as exc:
            raise ConfigError("parameters min_occurrences and context_tokens must be whole numbers") from exc
        return cls(
            repo_url=values.get("repo_url", ""),
            model_id=values.get("model_id", ""),
            github_url=values.get("github_url", ""),
            known_hosts=values.get("known_hosts", ""),
            path_prefixes=listed("path_prefixes", ()),
            labels=listed("labels", ("selfheal",)),
            min_occurrences=min_occurrences,
            allowed_paths=listed("allowed_paths", ()),
            context_tokens=context_tokens,
            github_token=values.get("github_token", ""),
            ssh_private_key=values.get("ssh_private_key", ""),
        )


def load_parameters(ssm_client: Any, prefix: str) -> dict[str, str]:
    """Every parameter under ``prefix``, decrypted, by its name relative to the prefix.
    TransientError when SSM throttles; ConfigError for anything else (the deployment is wrong)."""
    provider = SSMProvider(boto3_client=ssm_client)
    try:
        values = provider.get_multiple(prefix.rstrip("/"), decrypt=True, recursive=True, max_age=CACHE_SECONDS)
    except (ClientError, GetParameterError) as exc:
        cause = exc if isinstance(exc, ClientError) else exc.__cause__
        if isinstance(cause, ClientError):
            error = translate(cause, f"SSM GetParametersByPath {prefix}")
            if isinstance(error, TransientError):
                raise error from exc
            raise ConfigError(f"cannot read SSM parameters under {prefix}: {error}") from exc
        raise ConfigError(f"cannot read SSM parameters under {prefix}: {exc}") from exc
    return {str(k).strip("/"): str(v) for k, v in values.items()}
