"""Runbooks are discovered, not listed: every module of core/runbooks/ declaring ``RUNBOOK`` is found,
a name declared twice is refused, and the default catalog is generated from the declarations."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from chalicelib.core.runbooks import RUNBOOKS, ec2_reboot, layer_of
from chalicelib.core.runbooks.catalog import default_catalog, default_document
from chalicelib.core.runbooks.declare import LAYERS, DuplicateRunbookError, Runbook
from chalicelib.core.runbooks.registry import collect
from chalicelib.errors import ConfigError
from tests.conftest import ROOT

RUNBOOK_DIR = ROOT / "chalice_app" / "chalicelib" / "core" / "runbooks"


def test_every_module_declaring_a_runbook_is_found() -> None:
    declaring = {p.stem for p in RUNBOOK_DIR.glob("*.py") if "\nRUNBOOK = Runbook(" in p.read_text()}
    assert {name.replace("-", "_") for name in RUNBOOKS} == declaring
    assert len(declaring) >= 7  # the six first runbooks and ec2-status-check


def test_a_name_declared_twice_is_refused_naming_both_modules() -> None:
    twin = SimpleNamespace(__name__="elsewhere", RUNBOOK=dataclasses.replace(ec2_reboot.RUNBOOK, summary="a twin"))
    with pytest.raises(DuplicateRunbookError, match="ec2-reboot.*chalicelib.core.runbooks.ec2_reboot and elsewhere"):
        collect([ec2_reboot, twin])
    assert list(collect([ec2_reboot, SimpleNamespace(RUNBOOK="not a declaration")])) == ["ec2-reboot"]


def test_a_declaration_needs_a_known_layer_and_permissions() -> None:
    with pytest.raises(ConfigError, match="layer 'compute'"):
        dataclasses.replace(ec2_reboot.RUNBOOK, layer="compute")
    with pytest.raises(ConfigError, match="declares no permissions"):
        dataclasses.replace(ec2_reboot.RUNBOOK, permissions=())


def test_layers_are_read_from_the_declarations() -> None:
    assert {name: layer_of(name) for name in RUNBOOKS} == {name: r.layer for name, r in RUNBOOKS.items()}
    assert set(map(layer_of, RUNBOOKS)) <= set(LAYERS) and layer_of("no-such-runbook") == "infrastructure"
    assert layer_of("ecs-redeploy") == layer_of("lambda-rollback") == layer_of("rds-reboot") == "platform"
    assert layer_of("elb-unhealthy-target") == "network"


def test_the_default_catalog_is_the_declarations_defaults_in_rank_order() -> None:
    ranked = sorted(RUNBOOKS.values(), key=lambda r: (r.rank, r.name))
    assert [e["name"] for e in default_document()["runbooks"]] == [r.name for r in ranked]
    assert [e.name for e in default_catalog()][:6] == [
        "ec2-reboot", "disk-cleanup", "ecs-redeploy", "lambda-rollback", "ec2-isolate", "ec2-retire",
    ]  # fmt: skip
    for entry in default_catalog():
        declared: Runbook = RUNBOOKS[entry.action]
        assert entry.limits.dry_run == declared.default.get("dry_run", True)
        assert entry.limits.approval == declared.default.get("approval", False)
    # a fresh document at each read: a caller changing it changes nobody else's
    default_document()["runbooks"].clear()
    assert default_document()["runbooks"]
