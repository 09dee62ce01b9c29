"""The service catalog variable refuses a bad catalog at plan, each rule with its own message.

Fast: the `services` and `log_group_names` blocks exactly as terraform/ declares them, planned in a
folder of their own (no provider, no AWS): about 0.3 s a plan.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)


def variable_block(file: str, name: str) -> str:
    """The text of ``variable "name" { … }`` in terraform/<file> (braces balance in it, strings included)."""
    text = (ROOT / "terraform" / file).read_text()
    start = text.index(f'variable "{name}" {{')
    depth = 0
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0 and text[end] == "}":
            return text[start : end + 1]
    raise AssertionError(f"unbalanced variable {name} in {file}")


@pytest.fixture(scope="module")
def variables_only(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tf-vars")
    blocks = [variable_block("variables.tf", "services"), variable_block("variables.tf", "log_group_names")]
    (work / "variables.tf").write_text("\n\n".join(blocks) + "\n")
    return work


def plan(work: Path, services: Any, log_group_names: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    args = ["-var", f"services={json.dumps(services)}"]
    if log_group_names is not None:
        args += ["-var", f"log_group_names={json.dumps(log_group_names)}"]
    return subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


GOOD = {"name": "billing", "log_groups": ["/aws/lambda/billing-api", "/ecs/billing-*"]}


@pytest.mark.parametrize(
    ("services", "says"),
    [
        ([GOOD, {**GOOD, "log_groups": ["/other"]}], "every service needs a unique name"),
        ([{**GOOD, "name": "Billing"}], "name must match"),
        ([{**GOOD, "name": "-billing"}], "name must match"),
        ([{**GOOD, "name": "b" * 64}], "name must match"),
        ([{**GOOD, "log_groups": []}], "log_groups must list at least one log group"),
        ([{**GOOD, "log_groups": ["  "]}], "log_groups must list at least one log group"),
        ([{**GOOD, "log_groups": ["/ecs/*/api"]}], "an exact name or a prefix with one * at its end"),
        ([{**GOOD, "min_occurrences": 0}], "min_occurrences must be a whole number, 1 or more"),
        ([{**GOOD, "min_occurrences": 1.5}], "min_occurrences must be a whole number, 1 or more"),
        ([{**GOOD, "fixes_per_hour": -1}], "fixes_per_hour, fixes_per_day and tokens_per_day"),
        ([{**GOOD, "fixes_per_day": -2}], "fixes_per_hour, fixes_per_day and tokens_per_day"),
        ([{**GOOD, "tokens_per_day": -100}], "fixes_per_hour, fixes_per_day and tokens_per_day"),
        ([{**GOOD, "repo_folder": "../elsewhere"}], "repo_folder is a folder inside the repository"),
        ([{**GOOD, "repo_folder": "/abs"}], "repo_folder is a folder inside the repository"),
    ],
)
def test_a_bad_service_catalog_is_refused_at_plan_by_its_rule(variables_only, services, says) -> None:
    run = plan(variables_only, services)
    assert run.returncode != 0
    message = " ".join(run.stderr.split())  # Terraform wraps its messages
    assert says in message
    assert message.count("Invalid value for variable") == 1  # only the rule this case breaks


def test_a_catalog_beside_log_group_names_is_refused(variables_only) -> None:
    run = plan(variables_only, [GOOD], ["/aws/lambda/shop"])
    assert run.returncode != 0
    assert "leave log_group_names empty" in " ".join(run.stderr.split())


def test_a_service_without_log_groups_is_a_type_error(variables_only) -> None:
    run = plan(variables_only, [{"name": "billing"}])
    assert run.returncode != 0 and '"log_groups" is required' in " ".join(run.stderr.split())


@pytest.mark.parametrize(
    "services",
    [
        [],
        [GOOD],
        [GOOD, {"name": "shop", "log_groups": ["/aws/lambda/shop"], "repo_url": "git@github.com:acme/shop.git",
                "repo_folder": "services/shop", "path_prefixes": ["/var/task/"], "labels": ["selfheal"],
                "reviewers": ["alice", "acme/shop-team"], "model": "anthropic.claude-v2", "min_occurrences": 3,
                "draft": True, "fixes_per_hour": 2, "fixes_per_day": 10, "tokens_per_day": 200000}],
        [{"name": "a", "log_groups": ["*"]}, {"name": "b" * 63, "log_groups": ["/x"]}],
    ],
)  # fmt: skip
def test_a_good_catalog_plans(variables_only, services) -> None:
    run = plan(variables_only, services, [] if services else ["/aws/lambda/shop"])
    assert run.returncode == 0, run.stderr
