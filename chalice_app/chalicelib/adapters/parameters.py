"""Settings and secrets from SSM Parameter Store under the prefix (SecureString, KMS-encrypted),
fetched lazily and cached with a TTL by Powertools Parameters. Values are never logged."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import error_code, translate
from chalicelib.core.repos import RepoUrlError
from chalicelib.core.services import repo_key
from chalicelib.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.services import Service

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
    # Per service (core/services.py; the defaults are the default service's, i.e. today's).
    service: str = "default"
    repo_folder: str = ""
    draft: bool = False
    reviewers: tuple[str, ...] = ()

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


def load_parameters(ssm_client: Any, prefix: str, provider: SSMProvider | None = None) -> dict[str, str]:
    """Every parameter under ``prefix``, decrypted, by its name relative to the prefix.
    TransientError when SSM throttles; ConfigError for anything else (the deployment is wrong).
    A ``provider`` kept by the caller serves repeated reads from its cache for CACHE_SECONDS."""
    provider = provider or SSMProvider(boto3_client=ssm_client)
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


def read_parameter(ssm_client: Any, name: str) -> str | None:
    """One parameter, decrypted (GetParameter of exactly ``name``); None when it does not exist.
    TransientError when SSM throttles; the translated error otherwise."""
    try:
        answer = ssm_client.get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise translate(exc, f"SSM GetParameter {name}") from exc
    return str(answer["Parameter"]["Value"])


SECRET_NAMES = ("github_token", "ssh_private_key", "known_hosts")


def service_config(values: Mapping[str, str], service: Service) -> FixConfig:
    """The FixConfig of one service: the global parameters, with the service's own fields over
    them (an empty or absent field keeps the global value), and the secrets of its repository.

    Secrets are per repository: ``repos/<repo_key>/github_token`` (and ``ssh_private_key``,
    ``known_hosts``) under the prefix, each falling back to the global parameter of that name.
    """
    base = FixConfig.from_parameters(dict(values))
    repo_url = service.repo_url or base.repo_url
    secrets = {name: getattr(base, name) for name in SECRET_NAMES}
    if repo_url:
        try:
            key = repo_key(repo_url)
        except RepoUrlError as exc:
            raise ConfigError(f"service {service.name!r}: repo_url: {exc}") from exc
        secrets |= {name: values[f"repos/{key}/{name}"] for name in SECRET_NAMES if values.get(f"repos/{key}/{name}")}
    return replace(
        base,
        repo_url=repo_url,
        model_id=service.model or base.model_id,
        path_prefixes=base.path_prefixes if service.path_prefixes is None else service.path_prefixes,
        labels=base.labels if service.labels is None else service.labels,
        min_occurrences=base.min_occurrences if service.min_occurrences is None else service.min_occurrences,
        service=service.name,
        repo_folder=service.repo_folder,
        draft=service.draft,
        reviewers=service.reviewers,
        **secrets,
    )
