"""Composition root: builds settings, clients, adapters and services once per container.

Handlers in app.py ask this module for a service; tests swap parts with ``override``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.settings import Settings

# Adapters and services import boto3 and Powertools (~200 ms): they are imported on first use,
# inside the builders below, so importing app.py (cold start, `chalice package`) stays cheap.
if TYPE_CHECKING:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.services.enqueue import Enqueue
    from chalicelib.services.fix import Fixer, FixService
    from chalicelib.services.ingest import Ingest
    from chalicelib.services.metrics import EmfCounter

_overrides: dict[str, Any] = {}


def override(**parts: Any) -> None:
    """Replace parts (``settings``, ``fixer``, ``clients``) and forget everything built from them."""
    _overrides.update(parts)
    reset()


def reset() -> None:
    """Forget every built part (tests; a new configuration)."""
    for built in (settings, clients, store, ingest, enqueue, fix_service):
        built.cache_clear()


@cache
def settings() -> Settings:
    _configure_logging()
    return _overrides.get("settings") or Settings.from_env(os.environ)


@cache
def _configure_logging() -> None:
    """Powertools JSON logging for every chalicelib logger, once."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging import utils

    utils.copy_config_to_registered_loggers(source_logger=Logger(service="selfheal"), include={"chalicelib"})


@cache
def clients() -> Clients:
    from chalicelib.adapters.clients import Clients

    return _overrides.get("clients") or Clients(settings())


@cache
def store() -> ErrorGroupStore:
    from chalicelib.adapters.store import ErrorGroupStore

    s = settings()
    return ErrorGroupStore(clients().dynamodb, s.table_name, s.stale_after_days, s.resolved_ttl_days)


def metrics() -> EmfCounter:
    from chalicelib.services.metrics import EmfCounter

    return EmfCounter(settings().metrics_namespace)


@cache
def ingest() -> Ingest:
    from chalicelib.adapters.logs import LogStreamReader
    from chalicelib.services.ingest import Ingest

    return Ingest(store(), metrics(), LogStreamReader(clients().logs), settings().fetch_lines)


@cache
def enqueue() -> Enqueue:
    from chalicelib.adapters.queue import FixQueue
    from chalicelib.services.enqueue import Enqueue

    return Enqueue(store(), FixQueue(clients().sqs, settings().queue_url), metrics())


def fixer() -> Fixer:
    from chalicelib.services.fix import NotConfiguredFixer

    return _overrides.get("fixer") or NotConfiguredFixer()


@cache
def fix_service() -> FixService:
    from chalicelib.services.fix import FixService

    s = settings()
    return FixService(store(), fixer(), metrics(), s.lease_seconds, s.max_attempts)
