"""The runbooks' managed policies as Terraform renders them: one per (function, part), each exactly
the merge ``merged_statements`` computes of the runbooks the function runs, for the default
assignment and for a var.runbook_functions that moves, adds and detaches runbooks.

Slow tier: the packaged stack planned against a moto server (plan only; aws_iam_policy_document is
rendered by the provider at plan time). moto stands in for the account, region and partition the
provider reads; it checks no IAM quota, which tests/unit/test_iam_quotas.py does on the rendering.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from iam_size import document
from runbook_terraform import generate, merged_statements, parts

from tests.conftest import ROOT
from tests.iam_layout import REMEDIATOR_ROLES

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)

# The values the provider reads from moto and the default variables.
MOTO = {
    "local.partition": "aws",
    "local.region": "us-east-1",
    "local.account_id": "123456789012",
    "local.runbook_tag_condition": "aws:ResourceTag/selfheal",
    "var.runbook_target_tag.value": "enabled",
    "local.quarantine_vpc_arns": ["arn:aws:ec2:us-east-1:123456789012:vpc/no-quarantine-vpc-configured"],
}
# Moved to another handler, added to one, and detached everywhere.
OVERRIDE = {"ec2-isolate": ["finding_remediator"], "route53-health": ["finding_remediator"], "rds-reboot": []}


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """{assignment: {(function, part): rendered policy}} of a plan with each assignment."""
    import package
    from moto.server import ThreadedMotoServer

    mirror = package.find_provider_mirror()
    if mirror is None:
        pytest.skip("needs a local mirror of hashicorp/aws")
    work = tmp_path_factory.mktemp("tf-runbook-policies")
    for tf_file in (ROOT / "terraform").glob("*.tf"):
        shutil.copy(tf_file, work)
    package.package("dev", work)
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(package.cli_config(work / "cli.tfrc", mirror)),
        "TF_IN_AUTOMATION": "1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }

    def tf(*args: str) -> str:
        run = subprocess.run(
            [TERRAFORM, f"-chdir={work}", *args, "-no-color"], env=env, capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return run.stdout

    tf("init", "-input=false")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    out: dict[str, dict[str, Any]] = {}
    try:
        for label, assignment in (("default", {}), ("override", OVERRIDE)):
            variables = [
                "-var",
                f"endpoint_url=http://{host}:{port}",
                "-var",
                f"runbook_functions={json.dumps(assignment)}",
            ]
            tf("plan", "-input=false", "-refresh=false", f"-out={label}.plan", *variables)
            plan = json.loads(tf("show", "-json", f"{label}.plan"))
            out[label] = {
                tuple(r["index"].split("-", 1)): json.loads(r["change"]["after"]["policy"])
                for r in plan["resource_changes"]
                if r["type"] == "aws_iam_policy" and r["name"] == "runbooks"
            }
    finally:
        server.stop()
    return out


def _sorted(value: Any) -> Any:
    """The provider orders a statement's actions and resources its own way: compare them as sets."""
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted(value) if all(isinstance(v, str) for v in value) else [_sorted(v) for v in value]
    return value


def expected(assignment: dict[str, list[str]]) -> dict[tuple[str, str], Any]:
    functions = {**generate()["locals"]["runbook_default_functions"], **assignment}
    out = {}
    for function in REMEDIATOR_ROLES:  # every remediator app.py declares (the event remediator too)
        for part, names in parts().items():
            mine = [n for n in names if function in functions[n]]
            if mine:
                out[(function, part)] = _sorted(document(merged_statements(mine), MOTO))
    return out


@pytest.mark.slow
def test_each_function_gets_the_merge_of_exactly_its_runbooks(planned) -> None:
    assert {k: _sorted(v) for k, v in planned["default"].items()} == expected({})


@pytest.mark.slow
def test_runbook_functions_moves_adds_and_detaches_runbooks(planned) -> None:
    got = {k: _sorted(v) for k, v in planned["override"].items()}
    assert got == expected(OVERRIDE)
    assert ("finding_remediator", "network") in got  # route53-health added to the finding remediator
    rendered = json.dumps(list(got.values()))
    assert "rds:RebootDBInstance" not in rendered  # rds-reboot detached everywhere
    assert not any(
        "ModifyNetworkInterfaceAttribute" in json.dumps(v) for k, v in got.items() if k[0] != "finding_remediator"
    )
