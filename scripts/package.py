"""`selfheal package` / `deploy`: Chalice's Terraform output, made fit for today's Terraform.

``chalice package --pkg-format terraform`` writes ``chalice.tf.json`` pinned to Terraform < 1.4,
AWS provider < 5 and a ``null`` provider, with the stream ARN and queue as literals, no KMS key on
the environment and no way to say ``ReportBatchItemFailures``, filter criteria, failure
destinations or maximum concurrency. This step asserts the shape it expects (so a Chalice upgrade
fails loudly), then rewrites it: the hardening goes into the generated JSON itself, where
``terraform validate`` and checkov both see it (checkov ignores ``*_override.tf``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "chalice_app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

import runbook_terraform  # noqa: E402
from app_handlers import API_HANDLER, declared, function_locals  # noqa: E402

from chalicelib import sources  # noqa: E402
from chalicelib.adapters.settings import LEASE_MARGIN_SECONDS, Settings  # noqa: E402
from chalicelib.core.models import Status  # noqa: E402
from chalicelib.core.runbooks.registry import event_pattern  # noqa: E402

TERRAFORM = ROOT / "terraform"
# The functions, rules and schedules are read from app.py's decorators (scripts/app_handlers.py):
# a new @app.schedule or @app.on_cw_event handler needs no entry here.
HANDLERS = declared()
FUNCTIONS = HANDLERS.functions
EVENT_RULES = HANDLERS.rules  # functions Chalice gives an EventBridge rule (patterns, schedules)
# Runbooks: EventBridge rules whose patterns Terraform variables narrow (local.event_patterns in
# terraform/remediation.tf); any other rule keeps the pattern app.py declares.
RULE_PATTERNS = {
    "alarm_remediator": sources.ALARM_PATTERN,
    "finding_remediator": sources.FINDING_PATTERN,
    "health_remediator": sources.HEALTH_PATTERN,
    # the event sources the runbooks declare (local.runbook_event_pattern, from the declarations)
    "event_remediator": event_pattern(),
}
# What Chalice writes for each rule before the rewrite: the patterns app.py declares (the event
# remediator's is a marker: chalicelib/sources.py says why it is not the declared pattern).
CHALICE_PATTERNS = dict(HANDLERS.patterns)
REMEDIATORS = (*RULE_PATTERNS, "remediation_verifier")  # the functions that read the governor table
# The REST API's handler (Chalice names the function of every @app.route "api_handler"): the
# GitHub webhook, its only route. API Gateway itself is in the generated JSON; its stage, throttling
# and access logs are hand-written (terraform/api.tf).
WEBHOOK = API_HANDLER
WEBHOOK_ROUTES = {"/github/webhook": ["post"]}
# The hot path runs once per log delivery (~556,000 times a month at the reference's sizing): active
# tracing there samples nearly every invocation (Lambda's fixed rule, one a second plus 5 %; Lambda
# ignores X-Ray sampling rules) and was the largest AWS line of the bill. It is traced only when
# var.trace_hot_path is set; every other function (a new group's job, a fix, a repair, a webhook) is
# always traced: a trace there explains something and costs little.
HOT_PATH = ("log_processor",)
STREAM_MAPPING = "stream_processor-dynamodb-event-source"
QUEUE_MAPPING = "fixer-sqs-event-source"
# A MODIFY to NEW from these is a re-open (a new job); from NEW it is a counter bump.
REOPENED_FROM = sorted(Status.REOPENED_FROM)
# A MODIFY to REGRESSED from these is a merged fix that did not hold: a new job (issue 12).
REGRESSES_FROM = sorted(Status.REGRESSES_FROM)
# The statuses whose group waits for the stream to queue it.
AWAITS_STREAM = sorted((Status.NEW, Status.REGRESSED))
# The stream processor's filter criteria: only these records wake it (events/streams.py ``job``
# asks for a job on no other; tests/property/test_sweep_new_properties.py checks the two agree).
STREAM_FILTERS: list[dict[str, Any]] = [
    # A new group.
    {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["NEW"]}}}},
    # An explicit re-open.
    {
        "eventName": ["MODIFY"],
        "dynamodb": {"NewImage": {"status": {"S": ["NEW"]}}, "OldImage": {"status": {"S": REOPENED_FROM}}},
    },
    # A merged fix that did not hold (issue 12): a new job.
    {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {"status": {"S": [Status.REGRESSED]}},
            "OldImage": {"status": {"S": REGRESSES_FROM}},
        },
    },
    # A group the stream never queued, taken up once by the hourly sweep (usecases/requeue.py
    # SweepNew): the MODIFY that sets ``swept_at``. Lambda's ``exists`` works on leaves only.
    {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "NewImage": {"status": {"S": AWAITS_STREAM}, "swept_at": {"N": [{"exists": True}]}},
            "OldImage": {"status": {"S": AWAITS_STREAM}, "swept_at": {"N": [{"exists": False}]}},
        },
    },
]


class PackageError(RuntimeError):
    """chalice package failed, or produced a shape this step does not know."""


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise PackageError(f"unexpected chalice.tf.json: {what} (did Chalice change its output?)")


def check_shape(doc: dict[str, Any]) -> None:
    """Assert the generated document is what the rewrite below was written for."""
    _expect(set(doc) >= {"resource", "terraform", "data"}, "top-level blocks")
    res = doc["resource"]
    known = {
        "aws_iam_role", "aws_iam_role_policy", "aws_lambda_function", "aws_lambda_event_source_mapping",
        "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target", "aws_lambda_permission",
        "aws_api_gateway_rest_api", "aws_api_gateway_deployment",
    }  # fmt: skip
    _expect(set(res) == known, f"resource types {sorted(res)}")
    rules = {f"{name}-event" for name in EVENT_RULES}
    for kind in ("aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"):
        _expect(set(res[kind]) == rules, f"{kind} {sorted(res[kind])}")
    _expect(set(res["aws_lambda_permission"]) == rules | {"rest_api_invoke"}, "lambda permissions")
    check_api_shape(doc)
    for name, pattern in CHALICE_PATTERNS.items():
        _expect(json.loads(res["aws_cloudwatch_event_rule"][f"{name}-event"]["event_pattern"]) == pattern, name)
    for name, schedule in HANDLERS.schedules.items():
        rule = res["aws_cloudwatch_event_rule"][f"{name}-event"]
        _expect(rule.get("schedule_expression") == schedule, f"{name}'s schedule")
    for name in EVENT_RULES:
        _expect(res["aws_cloudwatch_event_target"][f"{name}-event"]["arn"] == f"${{aws_lambda_function.{name}.arn}}",
                f"{name} rule target")  # fmt: skip
        _expect(
            res["aws_lambda_permission"][f"{name}-event"]["principal"] == "events.amazonaws.com", f"{name} permission"
        )
    _expect(set(res["aws_lambda_function"]) == set(FUNCTIONS), f"functions {sorted(res['aws_lambda_function'])}")
    _expect(set(res["aws_lambda_event_source_mapping"]) == {STREAM_MAPPING, QUEUE_MAPPING}, "event source mappings")
    _expect(set(res["aws_iam_role"]) == {f"{f}_role" for f in FUNCTIONS}, "roles")
    for name, fn in res["aws_lambda_function"].items():
        _expect({"function_name", "role", "handler", "filename", "environment"} <= set(fn), f"{name} attributes")
        handler = "app.app" if name == WEBHOOK else f"app.{name}"  # the REST API's handler is the Chalice app
        _expect(fn["handler"] == handler, f"{name} handler {fn['handler']!r}")
    stream = res["aws_lambda_event_source_mapping"][STREAM_MAPPING]
    _expect(":table/" in stream["event_source_arn"], "stream mapping source")
    queue = res["aws_lambda_event_source_mapping"][QUEUE_MAPPING]
    _expect(":sqs:" in queue["event_source_arn"], "queue mapping source")
    _expect("null_data_source" in doc["data"], "the null_data_source Chalice adds")


def check_api_shape(doc: dict[str, Any]) -> None:
    """The REST API Chalice generates: one API, one deployment, a Swagger 2.0 body in a local, and
    the webhook route only (a new @app.route must be added here, and to the throttling, on purpose)."""
    res = doc["resource"]
    _expect(set(res["aws_api_gateway_rest_api"]) == {"rest_api"}, "one REST API")
    _expect(set(res["aws_api_gateway_deployment"]) == {"rest_api"}, "one deployment")
    _expect(res["aws_api_gateway_rest_api"]["rest_api"].get("body") == "${local.chalice_api_swagger}", "API body")
    permission = res["aws_lambda_permission"]["rest_api_invoke"]
    _expect(permission["principal"] == "apigateway.amazonaws.com", "the API's permission")
    _expect("chalice_api_swagger" in doc.get("locals", {}), "the Swagger local")
    swagger = json.loads(doc["locals"]["chalice_api_swagger"])
    _expect(swagger.get("swagger") == "2.0", "Swagger 2.0")
    routes = {path: sorted(ops) for path, ops in swagger["paths"].items()}
    _expect(routes == WEBHOOK_ROUTES, f"routes {routes} (the API serves the webhook only)")
    for path, methods in WEBHOOK_ROUTES.items():
        for method in methods:
            integration = swagger["paths"][path][method]["x-amazon-apigateway-integration"]
            _expect(integration["type"] == "aws_proxy", f"{path} {method} integration")
            _expect(integration["uri"] == f"${{aws_lambda_function.{WEBHOOK}.invoke_arn}}", f"{path} target")


def openapi3(swagger: dict[str, Any]) -> dict[str, Any]:
    """Chalice's Swagger 2.0 definition as OpenAPI 3.0: API Gateway imports either; moto (the local
    apply) only 3.x. The shape is the one check_api_shape accepts: proxy integrations, responses
    whose schemas reference ``definitions``."""

    def ref(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            return {"$ref": schema["$ref"].replace("#/definitions/", "#/components/schemas/")}
        return schema

    paths: dict[str, Any] = {}
    for path, ops in swagger["paths"].items():
        paths[path] = {}
        for method, op in ops.items():
            produces = op.get("produces", ["application/json"])
            responses = {
                code: {
                    "description": r.get("description", ""),
                    **({"content": {t: {"schema": ref(r["schema"])} for t in produces}} if "schema" in r else {}),
                }
                for code, r in op.get("responses", {}).items()
            }
            kept = {k: v for k, v in op.items() if k not in ("consumes", "produces", "responses", "parameters")}
            paths[path][method] = {**kept, "responses": responses}
    extensions = {k: v for k, v in swagger.items() if k.startswith("x-")}
    return {
        "openapi": "3.0.1",
        "info": swagger["info"],
        "paths": paths,
        "components": {"schemas": swagger.get("definitions", {})},
        **extensions,
    }


def check_timing(config: dict[str, Any], stage: str = "dev") -> None:
    """The fixer's timeout < the default lease, and the lease ends LEASE_MARGIN_SECONDS before the
    queue's visibility timeout: a running fix keeps its group, a dead one's job is reclaimed.
    (Terraform checks the deployed values again: variables.tf, and a precondition below.)"""
    functions = config["stages"][stage]["lambda_functions"]
    timeout = int(functions["fixer"]["lambda_timeout"])
    defaults = Settings()
    if not timeout < defaults.lease_seconds <= defaults.queue_visibility_seconds - LEASE_MARGIN_SECONDS:
        raise PackageError(
            f"fixer timeout {timeout} s, lease {defaults.lease_seconds} s and visibility timeout "
            f"{defaults.queue_visibility_seconds} s must satisfy timeout < lease <= visibility - {LEASE_MARGIN_SECONDS}"
        )


def _pattern(obj: dict[str, Any]) -> dict[str, str]:
    return {"pattern": json.dumps(obj, separators=(",", ":"))}


def _environment(name: str) -> dict[str, str]:
    """The SELFHEAL_* variables a function reads (adapters/settings.py), wired to the Terraform resources."""
    common = {
        "SELFHEAL_PARAMETER_PREFIX": "${var.parameter_prefix}",
        "SELFHEAL_TOPIC_ARN": "${aws_sns_topic.notifications.arn}",
    }
    if name == WEBHOOK:  # the group's fate: the table; the secret is read from SSM (<prefix>webhook_secret)
        return common | {"SELFHEAL_TABLE_NAME": "${aws_dynamodb_table.error_groups.name}"}
    if name in REMEDIATORS:
        return common | {
            "SELFHEAL_GOVERNOR_TABLE_NAME": "${aws_dynamodb_table.governor.name}",
            "SELFHEAL_GOVERNOR_AUDIT_DAYS": "${var.audit_retention_days}",
            "SELFHEAL_QUIET_NOTICES": '${join(",", var.quiet_notices)}',
        }
    return common | {
        "SELFHEAL_TABLE_NAME": "${aws_dynamodb_table.error_groups.name}",
        "SELFHEAL_QUEUE_URL": "${aws_sqs_queue.fix_queue.url}",
        "SELFHEAL_MAX_ATTEMPTS": "${var.max_attempts}",
        "SELFHEAL_LEASE_SECONDS": "${var.fix_lease_seconds}",
        "SELFHEAL_QUEUE_VISIBILITY_SECONDS": "${aws_sqs_queue.fix_queue.visibility_timeout_seconds}",
        "SELFHEAL_MAX_JOBS_PER_HOUR": "${var.max_jobs_per_hour}",
        "SELFHEAL_MAX_JOBS_PER_DAY": "${var.max_jobs_per_day}",
        "SELFHEAL_MIN_OCCURRENCES": "${var.min_occurrences}",
        "SELFHEAL_MAX_TOKENS_PER_DAY": "${var.max_tokens_per_day}",
        "SELFHEAL_ROUTINE_METRICS": "${var.routine_metrics ? 1 : 0}",
    }


def _tracing(name: str) -> str:
    """X-Ray mode of a function: Active, or on the hot path only when var.trace_hot_path says so."""
    return '${var.trace_hot_path ? "Active" : "PassThrough"}' if name in HOT_PATH else "Active"


def _logging() -> dict[str, str]:
    """JSON log format, so Lambda can filter its own START/END/REPORT lines (358 of a log delivery's
    ~780 bytes) at var.lambda_system_log_level; the handlers' JSON lines and EMF lines are kept."""
    return {"log_format": "JSON", "system_log_level": "${var.lambda_system_log_level}", "application_log_level": "INFO"}


def rewrite(doc: dict[str, Any]) -> dict[str, Any]:
    """The generated document, hardened and wired to the hand-written resources."""
    check_shape(doc)
    res = doc["resource"]
    out: dict[str, Any] = {"resource": {k: v for k, v in res.items() if k != "aws_iam_role_policy"}}
    for name in FUNCTIONS:
        role = out["resource"]["aws_iam_role"][f"{name}_role"]
        role["name"] = f"${{local.functions.{name}}}"
        fn = out["resource"]["aws_lambda_function"][name]
        fn["function_name"] = f"${{local.functions.{name}}}"
        fn["kms_key_arn"] = "${local.kms_key_arn}"  # null with var.kms_key = "aws-managed": Lambda's default key
        fn["environment"]["variables"].update(_environment(name))
        fn["tracing_config"] = [{"mode": _tracing(name)}]
        fn["logging_config"] = [_logging()]
        # Async invocations that still fail are kept (the log processor's are, by CloudWatch Logs).
        fn["dead_letter_config"] = [{"target_arn": "${aws_sqs_queue.failed_events.arn}"}]
        # Terraform JSON's comment key (Terraform ignores it); checkov reads skip annotations there.
        fn["//"] = [
            "checkov:skip=CKV_AWS_117: the functions call only AWS APIs and the Git host; a VPC would add NAT gateways "
            "and cost without narrowing what they reach",
            "checkov:skip=CKV_AWS_272: code signing needs an AWS Signer profile the user owns; deployment.zip is "
            "built by the package step from this repository",
        ]
    for name in EVENT_RULES:
        rule = out["resource"]["aws_cloudwatch_event_rule"][f"{name}-event"]
        rule["name"] = f"${{local.functions.{name}}}"
        if name in RULE_PATTERNS:  # narrowed by the variables (terraform/remediation.tf)
            rule["event_pattern"] = f"${{local.event_patterns.{name}}}"
    rewrite_api(doc, out)
    out["locals"].update(function_locals(FUNCTIONS))  # local.functions, local.function_roles
    mappings = out["resource"]["aws_lambda_event_source_mapping"]
    stream = mappings[STREAM_MAPPING]
    stream.update(
        {
            "event_source_arn": "${aws_dynamodb_table.error_groups.stream_arn}",
            "starting_position": "TRIM_HORIZON",
            "function_response_types": ["ReportBatchItemFailures"],
            "maximum_retry_attempts": 5,
            "bisect_batch_on_function_error": True,
            "destination_config": [{"on_failure": [{"destination_arn": "${aws_sqs_queue.failed_events.arn}"}]}],
            # Only new groups, explicit re-opens, regressions and the sweep's take-ups wake the
            # function; counter bumps and the budget counters (items without a status) do not.
            "filter_criteria": [{"filter": [_pattern(p) for p in STREAM_FILTERS]}],
            "depends_on": ["aws_iam_role_policy.concerns"],
        }
    )
    for mapping in mappings.values():
        mapping["count"] = "${var.event_source_mappings ? 1 : 0}"
    queue = mappings[QUEUE_MAPPING]
    queue.update(
        {
            "event_source_arn": "${aws_sqs_queue.fix_queue.arn}",
            "function_response_types": ["ReportBatchItemFailures"],
            "scaling_config": [{"maximum_concurrency": "${var.fixer_max_concurrency}"}],
            "depends_on": ["aws_iam_role_policy.concerns"],
            # A lease shorter than the fixer's timeout would let a second delivery take a running fix.
            "lifecycle": [
                {
                    "precondition": [
                        {
                            "condition": "${var.fix_lease_seconds > aws_lambda_function.fixer.timeout}",
                            "error_message": "fix_lease_seconds must be longer than the fixer's timeout.",
                        }
                    ]
                }
            ],
        }
    )
    return out


def rewrite_api(doc: dict[str, Any], out: dict[str, Any]) -> None:
    """The webhook's API: regional, replaced before it is destroyed, its body as OpenAPI 3.0, a
    deployment redeployed when the body changes and no implicit stage (terraform/api.tf declares it,
    with throttling, access logs and tracing), the Lambda permission scoped to that stage, method
    and path. Chalice's outputs are dropped: outputs.tf names them."""
    res = out["resource"]
    api = res["aws_api_gateway_rest_api"]["rest_api"]
    api.update(
        {
            "name": "${local.name}-${var.stage}-webhook",
            "description": "selfheal: GitHub webhook deliveries (POST /github/webhook)",
            "endpoint_configuration": [{"types": ["REGIONAL"]}],
            "lifecycle": [{"create_before_destroy": True}],
        }
    )
    swagger = json.loads(doc["locals"]["chalice_api_swagger"])
    out["locals"] = {"chalice_api_swagger": json.dumps(openapi3(swagger), separators=(",", ":"))}
    res["aws_api_gateway_deployment"]["rest_api"] = {
        "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
        "description": "selfheal webhook",
        "triggers": {"redeployment": "${sha256(local.chalice_api_swagger)}"},
        "lifecycle": [{"create_before_destroy": True}],
    }
    permission = res["aws_lambda_permission"]["rest_api_invoke"]
    permission.update(
        {
            "statement_id": "github-webhook",
            "function_name": f"${{aws_lambda_function.{WEBHOOK}.function_name}}",
            # This API, its stage, POST, the webhook's path: nothing else may invoke the function.
            "source_arn": "${aws_api_gateway_rest_api.rest_api.execution_arn}"
            "/${aws_api_gateway_stage.webhook.stage_name}/POST/github/webhook",
        }
    )


def chalice_package(stage: str, into: Path) -> Path:
    """Run ``chalice package --pkg-format terraform`` for ``stage``; returns the output folder."""
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice) if chalice.exists() else "chalice", "package", "--pkg-format", "terraform",
               "--stage", stage, str(into)]  # fmt: skip
    run = subprocess.run(command, cwd=APP, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0 or not (into / "chalice.tf.json").exists():
        raise PackageError(f"chalice package failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
    return into


def package(stage: str = "dev", terraform_dir: Path = TERRAFORM) -> Path:
    """Package the app into ``terraform_dir``: chalice.tf.json (rewritten), deployment.zip and
    runbooks.tf.json (the runbooks' IAM documents, names and default catalog, from their declarations)."""
    runbook_terraform.write(terraform_dir / runbook_terraform.OUTPUT.name)
    with tempfile.TemporaryDirectory(prefix="selfheal-package-") as tmp:
        check_timing(json.loads((APP / ".chalice" / "config.json").read_text()), stage)
        out = chalice_package(stage, Path(tmp) / "out")
        doc = json.loads((out / "chalice.tf.json").read_text())
        (terraform_dir / "chalice.tf.json").write_text(json.dumps(rewrite(doc), indent=2) + "\n")
        shutil.copyfile(out / "deployment.zip", terraform_dir / "deployment.zip")
    return terraform_dir / "chalice.tf.json"


def terraform(*args: str, cwd: Path = TERRAFORM, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    """Run terraform (output passing through, or captured when ``quiet``); PackageError on failure."""
    binary = shutil.which("terraform")
    if binary is None:
        raise PackageError("terraform is not on PATH (Terraform >= 1.11 is needed)")
    run = subprocess.run(
        [binary, f"-chdir={cwd}", *args], env={**os.environ, **(env or {})}, check=False,
        capture_output=quiet, text=True,
    )  # fmt: skip
    if run.returncode != 0:
        detail = f": {(run.stdout or '')[-1500:]}{(run.stderr or '')[-1500:]}" if quiet else ""
        raise PackageError(f"terraform {args[0]} failed ({run.returncode}){detail}")
    return run.stdout or ""


def terraform_outputs(cwd: Path = TERRAFORM, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The root module's outputs, by name."""
    raw = json.loads(terraform("output", "-json", cwd=cwd, env=env, quiet=True))
    return {name: value["value"] for name, value in raw.items()}


def find_provider_mirror() -> Path | None:
    """A local filesystem mirror holding registry.terraform.io/hashicorp/aws, if this machine has one."""
    candidates = [os.environ.get("SELFHEAL_TF_PLUGIN_MIRROR", ""), "/opt/tf-plugins",
                  str(Path.home() / ".terraform.d" / "plugins"), "/usr/local/share/terraform/plugins",
                  "/usr/share/terraform/plugins"]  # fmt: skip
    for base in filter(None, candidates):
        if (Path(base) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(base)
    for root in ("/opt", "/usr/local", "/usr/share"):
        for found in Path(root).glob("**/registry.terraform.io/hashicorp/aws"):
            return found.parent.parent.parent
    return None


def cli_config(path: Path, mirror: Path) -> Path:
    """A Terraform CLI config that installs hashicorp providers from ``mirror`` only."""
    path.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
    )
    return path
