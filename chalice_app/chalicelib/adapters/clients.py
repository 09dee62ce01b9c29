"""Lazy boto3 clients: built once per container, on first use, with explicit retries."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from chalicelib.adapters.bedrock import CONNECT_TIMEOUT_S, READ_TIMEOUT_S

if TYPE_CHECKING:
    from chalicelib.adapters.settings import Settings

# botocore's default retry mode is "legacy"; standard mode retries throttling with backoff.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# Bedrock: no botocore retries (adapters/bedrock.py retries only quick refusals, within a time
# budget: a retried read timeout would bill another generation), and a read timeout long enough
# for one answer of maxTokens. The arithmetic against the fixer's 600 s is in docs/fixer.md.
BEDROCK = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
)
_CONFIGS = {"bedrock-runtime": BEDROCK}


class Clients:
    """One client per service, pointed at ``settings.endpoint_url`` when set (local moto)."""

    def __init__(self, settings: Settings, session: boto3.session.Session | None = None) -> None:
        self._settings = settings
        self._session = session or boto3.session.Session()

    def client(self, service: str) -> Any:
        kwargs: dict[str, Any] = {"region_name": self._settings.region, "config": _CONFIGS.get(service, RETRIES)}
        if self._settings.endpoint_url:
            kwargs["endpoint_url"] = self._settings.endpoint_url
            if self._session.get_credentials() is None:  # a local server accepts any keys
                kwargs |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        return self._session.client(service, **kwargs)

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def logs(self) -> Any:
        return self.client("logs")

    @cached_property
    def ssm(self) -> Any:
        return self.client("ssm")
