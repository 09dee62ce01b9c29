"""The deployment: package → terraform fmt/init/validate → apply against a moto server → checks → destroy."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import package
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.adapters.governor_store import table_definition
from chalicelib.adapters.settings import LEASE_MARGIN_SECONDS, Settings
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from tests.conftest import ROOT
from tests.terraform.test_variables import variable_block

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
MIRROR = package.find_provider_mirror()
if TERRAFORM is None or MIRROR is None:
    pytest.skip("needs terraform on PATH and a local mirror of hashicorp/aws", allow_module_level=True)

# moto servers in one process share their state: a name no other test uses.
RUN = uuid.uuid4().hex[:8]
APP_LOG_GROUP = f"/aws/lambda/shop-tf-{RUN}"
BILLING_LOG_GROUP = f"/aws/lambda/billing-tf-{RUN}"
BILLING_PREFIX = f"/ecs/billing-tf-{RUN}-"
BILLING_ECS_GROUPS = [f"{BILLING_PREFIX}web", f"{BILLING_PREFIX}worker"]
# Two services, the first taking over today's log group (log_group_names): its filter must stay.
SERVICES = [
    {"name": "shop", "log_groups": [APP_LOG_GROUP], "draft": True, "reviewers": ["alice"]},
    {"name": "billing", "log_groups": [BILLING_LOG_GROUP, f"{BILLING_PREFIX}*"], "repo_url": "acme/monorepo",
     "repo_folder": "services/billing", "labels": ["selfheal", "billing"], "fixes_per_day": 5},
    # selfheal's own log groups are never subscribed, even when a prefix covers them.
    {"name": "ops", "log_groups": ["/aws/lambda/selfheal-dev-*"]},
]  # fmt: skip


def tf(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [TERRAFORM, f"-chdir={workdir}", *args, "-no-color"], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """terraform/ and the package step's output (chalice.tf.json, deployment.zip) in a folder: once."""
    work = tmp_path_factory.mktemp("tf")
    for tf_file in (ROOT / "terraform").glob("*.tf"):
        shutil.copy(tf_file, work)
    package.package("dev", work)
    return work


@pytest.fixture(scope="module")
def workdir(packaged: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The packaged folder after ``terraform init`` (the slow tier's: the provider starts)."""
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(package.cli_config(packaged / "cli.tfrc", MIRROR)),
        "TF_IN_AUTOMATION": "1",
    }
    tf(packaged, "init", "-input=false", env=env)
    yield packaged, env


def _bench_cost() -> Any:
    """bench/bench_cost.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_cost", ROOT / "bench" / "bench_cost.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_terraform_is_formatted() -> None:
    run = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", str(ROOT / "terraform")], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout


def test_generated_json_is_rewritten_for_todays_terraform(packaged) -> None:
    work = packaged
    doc = json.loads((work / "chalice.tf.json").read_text())
    assert set(doc) == {"resource", "locals"}  # no pinned old versions, no null provider, no Chalice outputs
    fns = doc["resource"]["aws_lambda_function"]
    assert {f["kms_key_arn"] for f in fns.values()} == {"${local.kms_key_arn}"}  # null: Lambda's default key
    mappings = doc["resource"]["aws_lambda_event_source_mapping"]
    assert all(m["function_response_types"] == ["ReportBatchItemFailures"] for m in mappings.values())
    assert "aws_iam_role_policy" not in doc["resource"]


def test_a_stream_record_that_keeps_failing_ends_in_the_failed_events_queue_and_the_sweeps_record_passes(
    packaged,
) -> None:
    """The stream processor's failures are not silent: bounded retries, bisection, then the failed-events
    queue (its alarm tells a person); and its filters are package.STREAM_FILTERS, the sweep's take-up included."""
    mapping = json.loads((packaged / "chalice.tf.json").read_text())["resource"]["aws_lambda_event_source_mapping"]
    stream = mapping[package.STREAM_MAPPING]
    assert (stream["maximum_retry_attempts"], stream["bisect_batch_on_function_error"]) == (5, True)
    assert stream["destination_config"] == [{"on_failure": [{"destination_arn": "${aws_sqs_queue.failed_events.arn}"}]}]
    patterns = [json.loads(f["pattern"]) for f in stream["filter_criteria"][0]["filter"]]
    assert patterns == package.STREAM_FILTERS
    assert any("swept_at" in json.dumps(p) for p in patterns)


def test_every_function_is_traced_but_the_hot_path_and_lambda_keeps_its_own_lines_quiet(packaged) -> None:
    """Cost: the log processor runs once per log delivery; its trace is opt-in (var.trace_hot_path),
    every other function's is on; Lambda's START/END/REPORT lines follow var.lambda_system_log_level."""
    work = packaged
    fns = json.loads((work / "chalice.tf.json").read_text())["resource"]["aws_lambda_function"]
    modes = {name: fn["tracing_config"][0]["mode"] for name, fn in fns.items()}
    assert modes.pop("log_processor") == '${var.trace_hot_path ? "Active" : "PassThrough"}'
    assert set(modes.values()) == {"Active"}
    assert {fn["logging_config"][0]["system_log_level"] for fn in fns.values()} == {"${var.lambda_system_log_level}"}
    assert {fn["logging_config"][0]["log_format"] for fn in fns.values()} == {"JSON"}


def test_the_api_serves_the_webhook_route_only_through_a_scoped_permission(packaged) -> None:
    """Issue 12: the REST API from `chalice package`, rewritten: one route (POST /github/webhook) as
    OpenAPI 3.0, regional, replaced before destroyed, its stage declared in api.tf (throttling, logs),
    and the function invocable by this API's stage, method and path only."""
    work = packaged
    res = json.loads((work / "chalice.tf.json").read_text())["resource"]
    body = json.loads(json.loads((work / "chalice.tf.json").read_text())["locals"]["chalice_api_swagger"])
    assert body["openapi"].startswith("3.0") and list(body["paths"]) == ["/github/webhook"]
    assert list(body["paths"]["/github/webhook"]) == ["post"]
    integration = body["paths"]["/github/webhook"]["post"]["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy" and integration["uri"] == "${aws_lambda_function.api_handler.invoke_arn}"
    api = res["aws_api_gateway_rest_api"]["rest_api"]
    assert api["endpoint_configuration"] == [{"types": ["REGIONAL"]}]
    assert api["lifecycle"] == [{"create_before_destroy": True}]
    deployment = res["aws_api_gateway_deployment"]["rest_api"]
    assert "stage_name" not in deployment  # the stage is aws_api_gateway_stage.webhook (api.tf)
    assert deployment["triggers"] == {"redeployment": "${sha256(local.chalice_api_swagger)}"}
    permission = res["aws_lambda_permission"]["rest_api_invoke"]
    assert permission["source_arn"] == (
        "${aws_api_gateway_rest_api.rest_api.execution_arn}/${aws_api_gateway_stage.webhook.stage_name}"
        "/POST/github/webhook"
    )
    webhook = res["aws_lambda_function"]["api_handler"]
    assert webhook["function_name"] == "${local.functions.api_handler}"
    assert webhook["kms_key_arn"] == "${local.kms_key_arn}" and webhook["reserved_concurrent_executions"] > 0
    assert webhook["timeout"] < 29  # API Gateway's integration timeout


def test_a_second_route_is_refused_by_the_package_step() -> None:
    """The webhook route only: a new @app.route reaches API Gateway only by changing WEBHOOK_ROUTES."""
    swagger = {"swagger": "2.0", "info": {}, "paths": {"/github/webhook": {"post": {}}, "/admin": {"get": {}}}}
    chalice_shaped = {
        "resource": {
            "aws_api_gateway_rest_api": {"rest_api": {"body": "${local.chalice_api_swagger}"}},
            "aws_api_gateway_deployment": {"rest_api": {}},
            "aws_lambda_permission": {"rest_api_invoke": {"principal": "apigateway.amazonaws.com"}},
        },
        "locals": {"chalice_api_swagger": json.dumps(swagger)},
    }
    with pytest.raises(package.PackageError, match="the API serves the webhook only"):
        package.check_api_shape(chalice_shaped)


def test_shape_check_fails_loudly_on_an_unknown_chalice_output() -> None:
    with pytest.raises(package.PackageError, match="did Chalice change"):
        package.rewrite({"resource": {}, "terraform": {}, "data": {}})


def test_a_lease_that_outlasts_the_visibility_timeout_is_refused_at_plan(tmp_path) -> None:
    # The two variables exactly as terraform/variables.tf declares them, planned in a folder of their
    # own (no provider to start: the validation is the variables' own, checked before any resource).
    blocks = [
        variable_block("variables.tf", "fix_lease_seconds"),
        variable_block("variables.tf", "fix_queue_visibility_seconds"),
    ]
    (tmp_path / "variables.tf").write_text("\n\n".join(blocks) + "\n")
    run = subprocess.run(
        [TERRAFORM, f"-chdir={tmp_path}", "plan", "-input=false", "-no-color", "-var", "fix_lease_seconds=900"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert run.returncode != 0
    assert "fix_lease_seconds must be at least 30 and end at least 60 s before" in run.stderr


@pytest.mark.slow
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
        check_webhook_api(aws, outputs)
        # bench_cost prices the alarms the default deployment creates: the same number
        alarms = boto3.client("cloudwatch", **aws).describe_alarms()["MetricAlarms"]
        assert len(alarms) == sum(_bench_cost().ALARMS.values()), [a["AlarmName"] for a in alarms]

        variables = migrate_to_two_services(work, env, aws, endpoint)
        tf(work, "destroy", "-auto-approve", "-input=false", *variables, env=env)
        assert "selfheal-error-groups" not in boto3.client("dynamodb", **aws).list_tables()["TableNames"]
    finally:
        server.stop()


def test_package_command_then_init_and_validate_in_the_repository(tmp_path) -> None:
    """The `package` contract: afterwards `terraform -chdir=terraform init` and `validate` succeed."""
    # It writes into the checkout's terraform/: two runs of the suite in one checkout take turns.
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"selfheal-package-{checkout}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "selfheal.py"), "package"],
            capture_output=True,
            text=True,
            check=False,
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


@pytest.mark.slow
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


ACCOUNT_ARN = "arn:aws:{service}:us-east-1:123456789012"  # moto's account and the test's region


def _document(policy: dict | str) -> dict:
    return json.loads(policy) if isinstance(policy, str) else policy


def _statements(aws: dict[str, str], role: str) -> dict[str, dict]:
    """Every statement of a role's inline policies (one per concern: terraform/iam.tf), by Sid."""
    iam = boto3.client("iam", **aws)
    found: dict[str, dict] = {}
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        for st in _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])["Statement"]:
            assert st["Sid"] not in found, f"{role}: two statements {st['Sid']}"
            found[st["Sid"]] = st
    return found


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def check_webhook_api(aws: dict[str, str], outputs: dict) -> None:
    """Issue 12's API as applied (moto's API Gateway imports the OpenAPI 3.0 body): the webhook
    route only, throttled, JSON access logs into a KMS-encrypted log group kept a year, tracing,
    the URL output, a permission for this stage/method/path, and the function reading exactly the
    webhook secret `configure` writes."""
    import configure

    api_gw = boto3.client("apigateway", **aws)
    [api] = [a for a in api_gw.get_rest_apis()["items"] if a["name"] == "selfheal-dev-webhook"]
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = {r["path"]: r for r in api_gw.get_resources(restApiId=api["id"])["items"]}
    assert set(resources) == {"/", "/github", "/github/webhook"}
    methods = resources["/github/webhook"]["resourceMethods"]
    assert set(methods) == {"POST"}
    integration = methods["POST"]["methodIntegration"]
    assert integration["type"] == "aws_proxy" and integration["uri"].endswith(
        ":function:selfheal-dev-api_handler/invocations"
    )
    stage = api_gw.get_stage(restApiId=api["id"], stageName="dev")
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (10.0, 20)
    assert settings["loggingLevel"] == "ERROR" and settings["dataTraceEnabled"] is False
    assert stage["tracingEnabled"] is True
    access = stage["accessLogSettings"]
    assert set(json.loads(access["format"])) >= {"requestId", "ip", "status", "resourcePath", "throttled"}
    log_group_name = access["destinationArn"].split(":log-group:", 1)[1]
    [group] = boto3.client("logs", **aws).describe_log_groups(logGroupNamePrefix=log_group_name)["logGroups"]
    assert group["kmsKeyId"] == outputs["kms_key_arn"]["value"] and group["retentionInDays"] == 365
    assert (
        outputs["webhook_url"]["value"] == f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/dev/github/webhook"
    )
    assert api_gw.get_account()["cloudwatchRoleArn"].endswith(":role/selfheal-dev-apigateway-logs")

    policy = _document(boto3.client("lambda", **aws).get_policy(FunctionName="selfheal-dev-api_handler")["Policy"])
    [permission] = [st for st in policy["Statement"] if st["Sid"] == "github-webhook"]
    # The provider builds execution_arn with the account id it skips looking up on moto: blank here.
    source = permission["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert source.startswith("arn:aws:execute-api:us-east-1:") and source.endswith(
        f":{api['id']}/dev/POST/github/webhook"
    )

    assert "webhook_secret" in {f.name for f in configure.FIELDS}
    secret_arn = f"{ACCOUNT_ARN.format(service='ssm')}:parameter/selfheal/webhook_secret"
    statements = _statements(aws, "selfheal-dev-api_handler")
    assert set(statements) == {
        "ReadAndUpdateErrorGroups",
        "WebhookSecret",
        "DecryptTheSecret",
        "ReadSettings",
        "ProjectKey",
        "OwnLogs",
        "EnvironmentKey",
    }
    assert _as_list(statements["WebhookSecret"]["Action"]) == ["ssm:GetParameter"]
    assert _as_list(statements["WebhookSecret"]["Resource"]) == [secret_arn]
    decrypt = statements["DecryptTheSecret"]["Condition"]["StringEquals"]
    assert decrypt["kms:EncryptionContext:PARAMETER_ARN"] == secret_arn
    assert decrypt["kms:ViaService"] == "ssm.us-east-1.amazonaws.com"


CATALOG_DEFAULTS = {
    "repo_url": "", "repo_folder": "", "reviewers": [], "model": "", "min_occurrences": 1, "draft": False,
    "fixes_per_hour": 0, "fixes_per_day": 0, "tokens_per_day": 0,
    "always_fix": [], "never_fix": [], "fix_library": False,  # the fixability gate's overrides
}  # fmt: skip


def migrate_to_two_services(work: Path, env: dict[str, str], aws: dict[str, str], endpoint: str) -> list[str]:
    """Issue 14: today's log group moved into a service catalog beside a second service (an exact
    name and a prefix). The plan keeps today's subscription filter (same address, no change) and
    creates the others; after the apply every log group has its filter, selfheal's own have none,
    and the catalog parameter holds the normalised catalog. Returns the variables now applied."""
    logs = boto3.client("logs", **aws)
    for name in [BILLING_LOG_GROUP, *BILLING_ECS_GROUPS]:
        logs.create_log_group(logGroupName=name)
    variables = ["-var", f"endpoint_url={endpoint}", "-var", f"services={json.dumps(SERVICES)}"]
    tf(work, "plan", "-input=false", "-out=services.plan", *variables, env=env)
    plan = json.loads(tf(work, "show", "-json", "services.plan", env=env).stdout)
    changes = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]}
    filters = {a: v for a, v in changes.items() if a.startswith("aws_cloudwatch_log_subscription_filter.app[")}
    expected = {APP_LOG_GROUP: ["no-op"], BILLING_LOG_GROUP: ["create"]} | dict.fromkeys(BILLING_ECS_GROUPS, ["create"])
    assert filters == {f"aws_cloudwatch_log_subscription_filter.app[{json.dumps(k)}]": v for k, v in expected.items()}
    assert changes["aws_ssm_parameter.service_catalog[0]"] == ["create"]
    tf(work, "apply", "-input=false", "services.plan", env=env)

    outputs = json.loads(tf(work, "output", "-json", env=env).stdout)
    processor = outputs["log_processor_function_arn"]["value"]
    for name in expected:
        [subscription] = logs.describe_subscription_filters(logGroupName=name)["subscriptionFilters"]
        assert subscription["destinationArn"] == processor
    for function in ("log_processor", "fixer", "api_handler"):
        own = f"/aws/lambda/selfheal-dev-{function}"
        assert logs.describe_subscription_filters(logGroupName=own)["subscriptionFilters"] == []

    stored = boto3.client("ssm", **aws).get_parameter(Name="/selfheal/services/catalog", WithDecryption=True)
    assert stored["Parameter"]["Type"] == "SecureString"
    assert outputs["service_catalog_parameter"]["value"] == "/selfheal/services/catalog"
    assert json.loads(stored["Parameter"]["Value"]) == {"services": [CATALOG_DEFAULTS | s for s in SERVICES]}

    catalog_arn = f"{ACCOUNT_ARN.format(service='ssm')}:parameter/selfheal/services/catalog"
    reads = _statements(aws, "selfheal-dev-log_processor")
    assert _as_list(reads["ReadTheServiceCatalog"]["Resource"]) == [catalog_arn]
    watched = {r.split(":log-group:", 1)[1].removesuffix(":*")
               for r in _as_list(reads["ReadTheRestOfCutOffTracebacks"]["Resource"])}  # fmt: skip
    assert watched == set(expected)
    return variables
