"""var.kms_key: the project's own key by default, or no key of the project ("aws-managed"), with
IAM that names the key exactly where there is one and not at all where there is none.

Fast: the variable refuses any other value (its block planned alone: no provider, no AWS), and
every IAM statement that names the key is gated on it (the Terraform text, as the IAM tests read it).
Slow tier: the whole packaged stack planned with each value against a moto server (plan only, no
apply): which resources carry which key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT
from tests.terraform.test_variables import variable_block

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)

TF = ROOT / "terraform"


def plan_variable(work: Path, value: str) -> subprocess.CompletedProcess[str]:
    (work / "variables.tf").write_text(variable_block("variables.tf", "kms_key") + "\n")
    return subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", "-var", f"kms_key={value}"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_kms_key_takes_its_two_values_and_refuses_any_other(tmp_path) -> None:
    assert plan_variable(tmp_path, "aws-managed").returncode == 0
    refused = plan_variable(tmp_path, "aws_managed")
    assert refused.returncode != 0
    assert 'kms_key must be "customer-managed" or "aws-managed"' in refused.stderr
    default = re.search(r'default\s*=\s*"([^"]+)"', variable_block("variables.tf", "kms_key"))
    assert default and default.group(1) == "customer-managed"  # the key stays the default


def blocks(text: str, opener: str) -> list[str]:
    """Every block of ``text`` that starts with ``opener`` (e.g. 'dynamic "statement" {'), braces balanced."""
    found = []
    for match in re.finditer(re.escape(opener), text):
        depth = 0
        for end in range(match.start(), len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0 and text[end] == "}":
                found.append(text[match.start() : end + 1])
                break
    return found


def test_every_iam_statement_that_names_the_key_exists_only_with_the_key() -> None:
    files = {path.name: path.read_text() for path in sorted(TF.glob("*.tf"))}
    outside = [name for name, text in files.items() if name != "kms.tf" and "aws_kms_key.this" in text]
    assert outside == [], "only kms.tf names the key resource; the rest use local.kms_key_arn"
    gated = [b for name, text in files.items() for b in blocks(text, 'dynamic "statement" {') if "kms:" in b]
    # The functions' key (iam.tf project_key, one statement for every role), their environment key
    # (own_logs), the two parameters read with their encryption context, and the operators' key.
    assert len(gated) >= 5
    for block in gated:
        assert "for_each = local.with_key" in block
        assert re.search(r"resources\s*=\s*\[local\.kms_key_arn\]", block), block  # exact: this key, no "*"
        assert "kms:ViaService" in block, block  # and only through a service
    # No other statement grants a KMS action (the key policy in kms.tf is the key's, not a role's).
    every = [b for name, text in files.items() if name != "kms.tf" for b in blocks(text, "statement {") if "kms:" in b]
    assert all(any(b in g for g in gated) for b in every), "a KMS statement outside a gated block"
    # AWS managed keys allow the account's principals through their service: no statement names one.
    assert not any("alias/aws/" in b for b in every)


# --- slow tier: the whole stack planned with each value --------------------------------------------


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """``terraform show -json`` of a plan with each value, against one moto server (no apply)."""
    import package
    from moto.server import ThreadedMotoServer

    mirror = package.find_provider_mirror()
    if mirror is None:
        pytest.skip("needs a local mirror of hashicorp/aws")
    work = tmp_path_factory.mktemp("tf-kms")
    for tf_file in TF.glob("*.tf"):
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
    tf("validate")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    out = {}
    try:
        for mode in ("customer-managed", "aws-managed"):
            variables = ["-var", f"endpoint_url=http://{host}:{port}", "-var", f"kms_key={mode}"]
            tf("plan", "-input=false", "-refresh=false", f"-out={mode}.plan", *variables)
            out[mode] = json.loads(tf("show", "-json", f"{mode}.plan"))
    finally:
        server.stop()
    return out


def changes(plan: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (r["address"], r["change"].get("after") or {}, r["change"].get("after_unknown") or {})
        for r in plan["resource_changes"]
        if r["type"] == kind and r["mode"] == "managed"
    ]


@pytest.mark.slow
def test_the_default_plans_one_rotated_key_that_encrypts_everything(planned) -> None:
    plan = planned["customer-managed"]
    [(_, key, _)] = changes(plan, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    queues = changes(plan, "aws_sqs_queue")
    assert len(queues) == 3 and all(unknown["kms_master_key_id"] and not after.get("sqs_managed_sse_enabled")
                                    for _, after, unknown in queues)  # fmt: skip
    for kind, attribute in (
        ("aws_ssm_parameter", "key_id"),
        ("aws_lambda_function", "kms_key_arn"),
        ("aws_cloudwatch_log_group", "kms_key_id"),
        ("aws_sns_topic", "kms_master_key_id"),
    ):
        planned_kind = changes(plan, kind)
        assert planned_kind and all(unknown.get(attribute) for _, _, unknown in planned_kind), kind  # the key's ARN


@pytest.mark.slow
def test_aws_managed_plans_no_key_and_the_services_own_encryption(planned) -> None:
    plan = planned["aws-managed"]
    assert not [r for r in plan["resource_changes"] if r["type"].startswith("aws_kms_")]
    queues = changes(plan, "aws_sqs_queue")
    assert len(queues) == 3 and all(after["sqs_managed_sse_enabled"] is True and after.get("kms_master_key_id") is None
                                    for _, after, _ in queues)  # fmt: skip
    assert {after["key_id"] for _, after, _ in changes(plan, "aws_ssm_parameter")} == {"alias/aws/ssm"}
    assert {after["kms_master_key_id"] for _, after, _ in changes(plan, "aws_sns_topic")} == {"alias/aws/sns"}
    tables = changes(plan, "aws_dynamodb_table")
    assert tables and all(after["server_side_encryption"] == [{"enabled": True}] for _, after, _ in tables)
    for kind, attribute in (("aws_lambda_function", "kms_key_arn"), ("aws_cloudwatch_log_group", "kms_key_id")):
        planned_kind = changes(plan, kind)
        assert planned_kind and all(
            after.get(attribute) is None and not unknown.get(attribute) for _, after, unknown in planned_kind
        ), kind
    # The role policies rendered at plan name no KMS action (the rest are gated in the text: above).
    policies = [after["policy"] for _, after, _ in changes(plan, "aws_iam_role_policy") if "policy" in after]
    assert policies and not [p for p in policies if "kms:" in p]
    outputs = plan["planned_values"]["outputs"]
    assert outputs["parameter_key_id"]["value"] == "alias/aws/ssm" and outputs["kms_key"]["value"] == "aws-managed"
