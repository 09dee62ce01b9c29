"""The `runbooks` variable: its default (null) renders the default catalog exactly (generated from the
runbooks' declarations into runbooks.tf.json, every entry dry-run), its new trigger fields render as
load_catalog reads them, and a trigger direction other than above/below is refused at plan.

Fast: the generated variable and locals (runbooks.tf.json) and the catalog's `locals` exactly as
terraform/ declares them, planned in a folder of their own (no provider, no AWS): about 0.4 s a plan.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from runbook_terraform import generate

from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)


def block(file: str, opening: str) -> str:
    """The text of the block starting with ``opening`` in terraform/<file> (braces balance in it)."""
    text = (ROOT / "terraform" / file).read_text()
    start = text.index(opening)
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0 and text[end] == "}":
            return text[start : end + 1]
    raise AssertionError(f"unbalanced block {opening!r} in {file}")


@pytest.fixture(scope="module")
def catalog_only(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tf-runbooks")
    parts = [
        block("variables_remediation.tf", 'variable "live_runbooks" {'),
        block("remediation.tf", "locals {\n  # The catalog as load_catalog reads it"),
        'output "catalog" {\n  value = local.runbook_catalog_json\n}',
    ]
    (work / "main.tf").write_text("\n\n".join(parts) + "\n")
    names = ("runbook_names", "runbook_default_catalog")
    whole = generate()  # the variable and its locals as runbooks.tf.json declares them (no data sources)
    generated = {"variable": whole["variable"], "locals": {k: v for k, v in whole["locals"].items() if k in names}}
    (work / "generated.tf.json").write_text(json.dumps(generated))
    return work


def rendered(work: Path, runbooks: Any = None, live: Any = None) -> subprocess.CompletedProcess[str]:
    args = [] if runbooks is None else ["-var", f"runbooks={json.dumps(runbooks)}"]
    args += [] if live is None else ["-var", f"live_runbooks={json.dumps(live)}"]
    plan = subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", "-out=p", *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if plan.returncode != 0:
        return plan
    return subprocess.run(
        [TERRAFORM, f"-chdir={work}", "show", "-json", "p"], capture_output=True, text=True, check=True, timeout=60
    )


def catalog_of(show: subprocess.CompletedProcess[str]) -> str:
    return json.loads(show.stdout)["planned_values"]["outputs"]["catalog"]["value"]


def test_the_variable_default_renders_the_default_catalog_in_dry_run(catalog_only) -> None:
    dry = tuple(replace(e, limits=replace(e.limits, dry_run=True)) for e in default_catalog())
    assert load_catalog(catalog_of(rendered(catalog_only))) == dry


def test_the_meaning_fields_of_a_trigger_render_as_the_catalog_reads_them(catalog_only) -> None:
    trigger = {
        "source": "alarm",
        "namespace": "CWAgent",
        "metric": "disk_used_percent",
        "direction": "above",
        "min_threshold": 85,
        "max_threshold": 99.5,
        "dimension_values": {"path": ["/", "/var"]},
    }
    [entry] = load_catalog(catalog_of(rendered(catalog_only, [{"name": "disk-cleanup", "triggers": [trigger]}])))
    [read] = entry.triggers
    assert (read.direction, read.min_threshold, read.max_threshold) == ("above", 85.0, 99.5)
    assert read.dimension_values == (("path", ("/", "/var")),)


def test_every_runbooks_parameters_can_be_set(catalog_only) -> None:
    disk = {"source": "alarm", "namespace": "CWAgent", "metric": "disk_used_percent"}
    entries = [
        {
            "name": "rds-reboot",
            "triggers": [{"source": "alarm", "alarm_names": ["*db*"]}],
            "params": {"failover": True},
        },
        {"name": "disk-cleanup", "triggers": [disk], "params": {"execution_timeout_s": 60}},
    ]
    rds, disk = load_catalog(catalog_of(rendered(catalog_only, entries)))
    assert rds.params == {"failover": True} and disk.params["execution_timeout_s"] == 60


def test_a_direction_other_than_above_or_below_is_refused_at_plan(catalog_only) -> None:
    trigger = {"source": "alarm", "namespace": "AWS/EC2", "metric": "CPUUtilization", "direction": "up"}
    run = rendered(catalog_only, [{"name": "ec2-reboot", "triggers": [trigger]}])
    assert run.returncode != 0 and "direction must be above or below" in " ".join(run.stderr.split())


def test_one_runbook_goes_live_without_restating_the_catalog(catalog_only) -> None:
    entries = {e.name: e for e in load_catalog(catalog_of(rendered(catalog_only, live=["ec2-reboot"])))}
    assert entries["ec2-reboot"].limits.dry_run is False
    assert all(e.limits.dry_run for name, e in entries.items() if name != "ec2-reboot")
    assert len(entries) == len(default_catalog())


def test_a_live_runbook_that_is_not_in_the_catalog_is_refused_at_plan(catalog_only) -> None:
    run = rendered(catalog_only, live=["ec2-rebot"])
    assert run.returncode != 0 and "each name must be an entry of var.runbooks" in " ".join(run.stderr.split())
