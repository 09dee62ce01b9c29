"""Composition root: builds settings, clients, adapters and services once per container.

Handlers in app.py ask this module for a service; tests swap parts with ``override``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import utils as logging_utils

from chalicelib.adapters.clients import Clients
from chalicelib.adapters.logs import LogStreamReader
from chalicelib.adapters.queue import FixQueue
from chalicelib.adapters.settings import Settings
from chalicelib.adapters.store import ErrorGroupStore
from chalicelib.services.enqueue import Enqueue
from chalicelib.services.fix import Fixer, FixService, NotConfiguredFixer
from chalicelib.services.ingest import Ingest
from chalicelib.services.metrics import EmfCounter

logger = Logger(service="selfheal")
logging_utils.copy_config_to_registered_loggers(source_logger=logger, include={"chalicelib"})

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
    return _overrides.get("settings") or Settings.from_env(os.environ)


@cache
def clients() -> Clients:
    return _overrides.get("clients") or Clients(settings())


@cache
def store() -> ErrorGroupStore:
    s = settings()
    return ErrorGroupStore(clients().dynamodb, s.table_name, s.stale_after_days, s.resolved_ttl_days)


def metrics() -> EmfCounter:
    return EmfCounter(settings().metrics_namespace)


@cache
def ingest() -> Ingest:
    return Ingest(store(), metrics(), LogStreamReader(clients().logs), settings().fetch_lines)


@cache
def enqueue() -> Enqueue:
    return Enqueue(store(), FixQueue(clients().sqs, settings().queue_url), metrics())


def fixer() -> Fixer:
    return _overrides.get("fixer") or NotConfiguredFixer()


@cache
def fix_service() -> FixService:
    s = settings()
    return FixService(store(), fixer(), metrics(), s.lease_seconds, s.max_attempts)
