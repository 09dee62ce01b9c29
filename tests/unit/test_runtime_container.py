"""The composition root: a Container built from its parts, as tests build it with their fakes.

Nothing here calls AWS: building a service builds boto3 clients (no request) and reads nothing
until the service is used, so the container is checked for what it wires, not for what AWS says.
"""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from chalicelib.core.clock import now_ms

SETTINGS = Settings(region="us-east-1", endpoint_url="http://127.0.0.1:9", topic_arn="arn:aws:sns:us-east-1:1:t")
T0 = 1_795_000_000_000

# Every cached builder that takes a clock, by the attribute the container builds it as.
CLOCKED = ("ingest", "enqueue", "fix_service", "sweep", "remediate", "approvals", "resolve", "heal_checker")


class _Fixer:
    """A fixer that is never asked for a fix (building fix_service reads no SSM with it)."""


class _Notifier:
    def __init__(self) -> None:
        self.told: list[object] = []

    def publish(self, notice: object) -> None:
        self.told.append(notice)


@pytest.fixture
def restore_current():
    """Whatever container a test installs, the next one starts without it."""
    previous = runtime.use(None)
    yield
    runtime.use(previous)


def test_an_unknown_part_is_refused_not_ignored(restore_current) -> None:
    with pytest.raises(TypeError, match="settngs"):
        runtime.Container(settngs=SETTINGS)
    with pytest.raises(TypeError, match="fixr"):
        runtime.override(fixr=_Fixer())
    assert runtime.current().parts == runtime.Parts()  # the refused override changed nothing


def test_one_clock_reaches_every_service_the_container_builds(restore_current) -> None:
    clock = lambda: T0  # noqa: E731 - a fixed time
    container = runtime.Container(settings=SETTINGS, clients=Clients(SETTINGS), clock=clock, fixer=_Fixer())
    for name in CLOCKED:
        assert getattr(container, name)._clock is clock, name
    assert container.fate()._clock is clock
    assert container.webhook_secrets._clock is clock
    assert container.built() == tuple(
        sorted(
            {
                *CLOCKED,
                "settings",
                "clients",
                "store",
                "governor",
                "runbook_config",
                "service_catalog",
                "webhook_secrets",
            }
        )
    )


def test_without_a_clock_part_the_wall_clock_is_used() -> None:
    container = runtime.Container(settings=SETTINGS, clients=Clients(SETTINGS))
    assert container.clock is now_ms
    assert container.sweep._clock is now_ms


def test_each_part_is_built_once_per_container_and_afresh_by_another() -> None:
    container = runtime.Container(settings=SETTINGS, clients=Clients(SETTINGS))
    assert container.store is container.store
    assert container.settings is SETTINGS
    assert container.replace().store is not container.store
    assert container.metrics() is not container.metrics()  # each service flushes its own counter


def test_override_keeps_the_other_parts_and_forgets_what_was_built(restore_current) -> None:
    clients = Clients(SETTINGS)
    runtime.use(runtime.Container(settings=SETTINGS, clients=clients))
    store = runtime.store()
    told = _Notifier()
    runtime.override(notifier=told)
    assert runtime.settings() is SETTINGS
    assert runtime.clients() is clients
    assert runtime.notifier() is told
    assert runtime.store() is not store
    kept = runtime.store()
    runtime.reset()
    assert runtime.current().parts.notifier is told
    assert runtime.store() is not kept
    runtime.clear()
    assert runtime.current().parts == runtime.Parts()


def test_the_given_parts_are_used_as_given(restore_current) -> None:
    fixer, told, reads = _Fixer(), _Notifier(), object()
    container = runtime.Container(
        settings=SETTINGS, clients=Clients(SETTINGS), fixer=fixer, notifier=told, github_reads=reads
    )
    assert container.fixer() is fixer
    assert container.notifier() is told
    assert container.github_reads("billing") is reads
    assert container.fix_service._fixer is fixer


def test_parts_name_every_override_the_old_string_keys_accepted() -> None:
    names = {f.name for f in dataclasses.fields(runtime.Parts)}
    assert names == {
        "settings",
        "clients",
        "clock",
        "fixer",
        "notifier",
        "service_catalog",
        "runbook_config",
        "approval_runner",
        "github_reads",
    }
