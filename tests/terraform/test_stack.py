"""The deployment: package → terraform fmt/init/validate → apply against a moto server → checks → destroy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

import boto3
import package
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.adapters.governor_store import table_definition
from chalicelib.adapters.settings import LEASE_MARGIN_SECONDS, Settings
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
MIRROR = package.find_provider_mirror()
if TERRAFORM is None or MIRROR is None:
    pytest.skip("needs terraform on PATH and a local mirror of hashicorp/aws", allow_module_level=True)

# moto servers in one process share their state: a name no other test uses.
APP_LOG_GROUP = f"/aws/lambda/shop-tf-{uuid.uuid4().hex[:8]}"


def tf(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [TERRAFORM, f"-chdir={workdir}", *args, "-no-color"], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path_factory.mktemp("tf")
    for tf_file in (ROOT / "terraform").glob("*.tf"):
        shutil.copy(tf_file, work)
    package.package("dev", work)
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(package.cli_config(work / "cli.tfrc", MIRROR)),
        "TF_IN_AUTOMATION": "1",
    }
    tf(work, "init", "-input=false", env=env)
    yield work, env


def test_terraform_is_formatted() -> None:
    run = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", str(ROOT / "terraform")], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout


def test_generated_json_is_rewritten_for_todays_terraform(workdir) -> None:
    work, _ = workdir
    doc = json.loads((work / "chalice.tf.json").read_text())
    assert set(doc) == {"resource"}  # no pinned old versions, no null provider
    fns = doc["resource"]["aws_lambda_function"]
    assert {f["kms_key_arn"] for f in fns.values()} == {"${aws_kms_key.this.arn}"}
    mappings = doc["resource"]["aws_lambda_event_source_mapping"]
    assert all(m["function_response_types"] == ["ReportBatchItemFailures"] for m in mappings.values())
    assert "aws_iam_role_policy" not in doc["resource"]


def test_shape_check_fails_loudly_on_an_unknown_chalice_output() -> None:
    with pytest.raises(package.PackageError, match="did Chalice change"):
        package.rewrite({"resource": {}, "terraform": {}, "data": {}})


def test_a_lease_that_outlasts_the_visibility_timeout_is_refused_at_plan(workdir) -> None:
    work, env = workdir
    run = subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", "-refresh=false",
         "-var", "fix_lease_seconds=900", "-var", "endpoint_url=http://127.0.0.1:9"],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode != 0
    assert "fix_lease_seconds must be at least 30 and end at least 60 s before" in run.stderr


def test_validate_apply_check_destroy(workdir) -> None:
    work, env = workdir
    tf(work, "validate", env=env)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    aws = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "a", "aws_secret_access_key": "b"}
    try:
        boto3.client("logs", **aws).create_log_group(logGroupName=APP_LOG_GROUP)
        variables = ["-var", f"endpoint_url={endpoint}", "-var", f'log_group_names=["{APP_LOG_GROUP}"]']
        tf(work, "apply", "-auto-approve", "-input=false", *variables, env=env)
        outputs = json.loads(tf(work, "output", "-json", env=env).stdout)
        key_arn = outputs["kms_key_arn"]["value"]

        table = boto3.client("dynamodb", **aws).describe_table(TableName="selfheal-error-groups")["Table"]
        assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn

        sqs = boto3.client("sqs", **aws)
        attrs = sqs.get_queue_attributes(QueueUrl=outputs["fix_queue_url"]["value"], AttributeNames=["All"])[
            "Attributes"
        ]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert (
            redrive["deadLetterTargetArn"].endswith(":selfheal-fix-jobs-dlq") and int(redrive["maxReceiveCount"]) == 3
        )
        assert attrs["KmsMasterKeyId"] == key_arn
        assert int(attrs["VisibilityTimeout"]) > 600

        [subscription] = boto3.client("logs", **aws).describe_subscription_filters(logGroupName=APP_LOG_GROUP)[
            "subscriptionFilters"
        ]
        assert subscription["destinationArn"] == outputs["log_processor_function_arn"]["value"]
        assert "Traceback (most recent call last)" in subscription["filterPattern"]

        lam = boto3.client("lambda", **aws)
        config = lam.get_function_configuration(FunctionName="selfheal-dev-log_processor")
        assert config["KMSKeyArn"] == key_arn
        assert config["Environment"]["Variables"]["SELFHEAL_QUEUE_URL"] == outputs["fix_queue_url"]["value"]
        assert config["Handler"] == "app.log_processor"
        # The fixer's lease ends a margin before SQS hands a job out again (audit D3), as deployed.
        fixer_env = lam.get_function_configuration(FunctionName="selfheal-dev-fixer")["Environment"]["Variables"]
        deployed = Settings.from_env(fixer_env)
        assert deployed.queue_visibility_seconds == int(attrs["VisibilityTimeout"])
        assert deployed.lease_seconds + LEASE_MARGIN_SECONDS <= int(attrs["VisibilityTimeout"])
        assert (deployed.max_jobs_per_hour, deployed.max_jobs_per_day, deployed.min_occurrences) == (10, 50, 2)
        mappings = lam.list_event_source_mappings()["EventSourceMappings"]
        sources = {m["FunctionArn"].rsplit(":", 1)[-1]: m["EventSourceArn"] for m in mappings}
        assert sources["selfheal-dev-stream_processor"] == outputs["error_groups_stream_arn"]["value"]
        assert sources["selfheal-dev-fixer"].endswith(":selfheal-fix-jobs")
        check_runbook_resources(aws, outputs)

        tf(work, "destroy", "-auto-approve", "-input=false", *variables, env=env)
        assert "selfheal-error-groups" not in boto3.client("dynamodb", **aws).list_tables()["TableNames"]
    finally:
        server.stop()


def test_package_command_then_init_and_validate_in_the_repository(tmp_path) -> None:
    """The `package` contract: afterwards `terraform -chdir=terraform init` and `validate` succeed."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "selfheal.py"), "package"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(package.cli_config(tmp_path / "cli.tfrc", MIRROR))}
    tf(ROOT / "terraform", "init", "-input=false", env=env)
    tf(ROOT / "terraform", "validate", env=env)
    ignored = subprocess.run(
        ["git", "check-ignore", "terraform/chalice.tf.json", "terraform/deployment.zip", "terraform/.terraform"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert len(ignored.stdout.split()) == 3  # generated files stay out of git


def test_local_mode_on_the_terraform_stack() -> None:
    """`local --stack terraform`: the real deployment applied to an embedded moto server."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "selfheal.py"), "local", "--stack", "terraform", "--json"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    groups = json.loads(run.stdout)["groups"]
    assert len(groups) == 5 and {g["status"] for g in groups} == {"PR_OPENED"}


def check_runbook_resources(aws: dict[str, str], outputs: dict) -> None:
    """Runbooks as deployed: the rendered catalog is the default one, every runbook dry-run until
    enabled; the kill switch starts off; the rules carry the code's patterns with the default
    variables; the remediators find the governor table and the topic; the indexes match the store's."""
    ssm = boto3.client("ssm", **aws)
    stored = ssm.get_parameter(Name="/selfheal/runbooks/catalog", WithDecryption=True)["Parameter"]["Value"]
    dry = tuple(replace(e, limits=replace(e.limits, dry_run=True)) for e in default_catalog())
    assert load_catalog(stored) == dry
    assert ssm.get_parameter(Name="/selfheal/runbooks/kill_switch", WithDecryption=True)["Parameter"]["Value"] == "off"
    events = boto3.client("events", **aws)
    for name, pattern in package.RULE_PATTERNS.items():
        assert json.loads(events.describe_rule(Name=f"selfheal-dev-{name}")["EventPattern"]) == pattern
    remediator = boto3.client("lambda", **aws).get_function_configuration(FunctionName="selfheal-dev-alarm_remediator")
    settings = Settings.from_env(remediator["Environment"]["Variables"])
    assert settings.governor_table_name == outputs["governor_table_name"]["value"] == "selfheal-governor"
    assert settings.topic_arn == outputs["notification_topic_arn"]["value"]
    governor = boto3.client("dynamodb", **aws).describe_table(TableName="selfheal-governor")["Table"]
    expected = {i["IndexName"] for i in table_definition("x")["GlobalSecondaryIndexes"]}
    assert {i["IndexName"] for i in governor["GlobalSecondaryIndexes"]} == expected
