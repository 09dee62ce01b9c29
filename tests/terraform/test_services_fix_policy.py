"""The `services` variable carries the catalog's fixability overrides (always_fix, never_fix,
fix_library) into the catalog parameter, and the services code reads them back.

Fast: the variable block and the catalog's rendering exactly as terraform/services.tf declares
them, planned in a folder of their own (no provider, no AWS), the rendered document read from the
saved plan (`terraform show -json`). Terraform is the part under test: what its `optional()`
defaults and the null-dropping expression make of each entry, which no Python test can show.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.core.services import ServiceCatalog
from tests.conftest import ROOT
from tests.terraform.test_variables import variable_block

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)


def catalog_expression() -> str:
    """The right-hand side of ``service_catalog = …`` in terraform/services.tf (one line)."""
    text = (ROOT / "terraform" / "services.tf").read_text()
    match = re.search(r"^\s*service_catalog\s*=\s*(\[.*\])\s*$", text, re.MULTILINE)
    assert match, "services.tf no longer renders the catalog on one line: update this test"
    return match.group(1)


@pytest.fixture(scope="module")
def rendering(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tf-catalog")
    blocks = [variable_block("variables.tf", "services"), variable_block("variables.tf", "log_group_names")]
    # The parameter's value as services.tf writes it: jsonencode({ services = local.service_catalog }).
    blocks.append(f"locals {{\n  service_catalog = {catalog_expression()}\n}}")
    blocks.append('output "catalog" {\n  value = jsonencode({ services = local.service_catalog })\n}')
    (work / "main.tf").write_text("\n\n".join(blocks) + "\n")
    return work


def render(work: Path, services: Any) -> tuple[subprocess.CompletedProcess[str], str]:
    """Plan with ``services``; the run and (when it planned) the catalog parameter's JSON."""
    run = subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", "-out=plan.bin",
         "-var", f"services={json.dumps(services)}", "-var", "log_group_names=[]"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if run.returncode != 0:
        return run, ""
    shown = subprocess.run(
        [TERRAFORM, f"-chdir={work}", "show", "-json", "plan.bin"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return run, json.loads(shown.stdout)["planned_values"]["outputs"]["catalog"]["value"]


def test_the_fixability_overrides_reach_the_catalog_the_code_reads(rendering) -> None:
    # GIVEN a service that overrides the classes, and one that does not mention them
    services = [
        {"name": "billing", "log_groups": ["/aws/lambda/billing"], "always_fix": ["ValueError"],
         "never_fix": ["billing.legacy", "billing/vendor"], "fix_library": True},
        {"name": "shop", "log_groups": ["/aws/lambda/shop"]},
    ]  # fmt: skip
    # WHEN Terraform renders the catalog parameter
    run, document = render(rendering, services)
    assert run.returncode == 0, run.stderr
    # THEN the services code reads each override as given, and the defaults as "none"
    catalog = ServiceCatalog.parse(document)
    billing, shop = catalog.get("billing"), catalog.get("shop")
    assert billing is not None and shop is not None
    assert billing.fix_policy.always_fix == ("ValueError",)
    assert billing.fix_policy.never_fix == ("billing.legacy", "billing/vendor")
    assert billing.fix_policy.fix_library is True
    assert (shop.always_fix, shop.never_fix, shop.fix_library) == ((), (), False)


@pytest.mark.parametrize("entry", ["", "1Error", "bad name", "x" * 201])
def test_an_override_the_code_would_refuse_is_refused_at_plan(rendering, entry) -> None:
    run, _ = render(rendering, [{"name": "billing", "log_groups": ["/x"], "never_fix": [entry]}])
    assert run.returncode != 0
    assert "always_fix and never_fix list exception types or modules" in " ".join(run.stderr.split())
