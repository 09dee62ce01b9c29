"""The tables' ports (usecases/ports.py) and their per-kind stores (adapters/) agree.

- every method of a kind's port exists on the store of that kind, with the same parameters;
- the composite ``ErrorGroupStore`` the composition root hands the services is every port at once;
- each service calls on its store only what the port it is typed with declares (read from the
  source with ``ast``), so a service's type names the kinds it uses and no more is needed;
- the same for the governor table's kinds that stand apart (held incidents, notices) and the
  remediator's ``Governor``.
"""

from __future__ import annotations

import ast
import inspect
from typing import TYPE_CHECKING

import pytest

from chalicelib.adapters.day_sets import DaySets
from chalicelib.adapters.deliveries import DeliveryMarkers
from chalicelib.adapters.governor_notices import Notices
from chalicelib.adapters.governor_store import GovernorStore
from chalicelib.adapters.groups import GroupStore
from chalicelib.adapters.held_incidents import HeldIncidents
from chalicelib.adapters.pr_index import PullRequestIndex
from chalicelib.adapters.spend_counters import SpendCounters
from chalicelib.adapters.store import ErrorGroupStore
from chalicelib.usecases import ports, remediate
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

SERVICES = ROOT / "chalice_app" / "chalicelib" / "usecases"
KINDS = {
    ports.GroupPort: GroupStore,
    ports.SpendPort: SpendCounters,
    ports.PullRequestPort: PullRequestIndex,
    ports.DeliveryPort: DeliveryMarkers,
    ports.DaySetPort: DaySets,
    ports.HeldPort: HeldIncidents,
    ports.NoticePort: Notices,
}
GROUP_TABLE_PORTS = [ports.GroupPort, ports.SpendPort, ports.PullRequestPort, ports.DeliveryPort, ports.DaySetPort]
# The port each service's store is typed with (its constructor's ``store``).
SERVICE_PORTS = {
    "checks.py": ports.GroupPort,
    "enqueue.py": ports.StreamStore,
    "fate.py": ports.FateStore,
    "fix.py": ports.FixStore,
    "heal.py": ports.HealStore,
    "ingest.py": ports.GroupPort,
    "requeue.py": ports.GroupPort,
    "resolve.py": ports.ResolveStore,
    "sweep.py": ports.SweepStore,
}


def members(port: type) -> set[str]:
    """The methods a protocol declares, its bases' included."""
    return {
        name
        for klass in port.__mro__
        if klass.__module__ in (ports.__name__, remediate.__name__)
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }


def parameters(function: object) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values()]  # type: ignore[arg-type]


@pytest.mark.parametrize("port", list(KINDS), ids=lambda p: p.__name__)
def test_each_kinds_store_has_its_ports_methods_with_the_same_parameters(port: type) -> None:
    store = KINDS[port]
    declared = members(port)
    assert declared, port
    for name in sorted(declared):
        assert parameters(getattr(store, name)) == parameters(getattr(port, name)), f"{store.__name__}.{name}"


def test_the_composite_store_is_every_port() -> None:
    joined = {ports.StreamStore, ports.SweepStore, ports.FixStore, ports.FateStore, ports.ResolveStore, ports.HealStore}
    for port in [*GROUP_TABLE_PORTS, *joined]:
        missing = {n for n in members(port) if not callable(getattr(ErrorGroupStore, n, None))}
        assert missing == set(), f"ErrorGroupStore lacks {port.__name__}: {missing}"
    assert {KINDS[p] for p in GROUP_TABLE_PORTS} <= set(ErrorGroupStore.__mro__)


def test_the_governor_store_is_the_remediators_governor_and_keeps_the_kinds_apart() -> None:
    missing = {n for n in members(remediate.Governor) if not callable(getattr(GovernorStore, n, None))}
    assert missing == set()
    assert {HeldIncidents, Notices} <= set(GovernorStore.__mro__)
    assert {"held", "told", "note", "tell_once"} <= members(remediate.Governor)  # through its kinds' ports
    called = {
        node.func.attr
        for node in ast.walk(ast.parse((SERVICES / "remediate.py").read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "_governor"
    }
    assert called and called - members(remediate.Governor) == set()


def store_calls(tree: ast.Module) -> Iterator[str]:
    """The methods called on ``self._store``, ``store`` or ``self._store()`` / ``store()``."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if isinstance(target, ast.Call):
            target = target.func
        if (isinstance(target, ast.Attribute) and target.attr == "_store") or (
            isinstance(target, ast.Name) and target.id == "store"
        ):
            yield node.func.attr


@pytest.mark.parametrize("module", sorted(SERVICE_PORTS))
def test_a_service_calls_on_its_store_only_what_its_port_declares(module: str) -> None:
    source = (SERVICES / module).read_text()
    port = SERVICE_PORTS[module]
    assert f": {port.__name__}" in source or f"[[], {port.__name__}]" in source  # the service is typed with it
    called = set(store_calls(ast.parse(source)))
    assert called, module  # the scan sees the service's calls
    assert called - members(port) == set()
