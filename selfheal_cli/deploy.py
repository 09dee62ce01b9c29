"""The deployment: `selfheal package`, `deploy` and `destroy` (chalice package + Terraform, docs/deploy.md)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from selfheal_cli.common import Command, fail, progress, run

if TYPE_CHECKING:
    import argparse


def cmd_package(args: argparse.Namespace) -> int:
    """chalice package into terraform/, post-processed (scripts/package.py)."""
    import package

    try:
        out = package.package(args.stage)
    except package.PackageError as exc:
        print(f"selfheal package: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} and {out.with_name('deployment.zip')}; next: terraform -chdir=terraform init && validate")
    return 0


def _terraform_problem() -> str:
    """Why terraform cannot run here ('' when it can): checked before packaging starts."""
    import shutil

    if shutil.which("terraform") is None:
        return "terraform is not on PATH: install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)"
    return ""


def _terraform_env() -> dict[str, str]:
    """Terraform's environment: the local provider mirror when there is one."""
    import tempfile

    import package

    env: dict[str, str] = {}
    mirror = package.find_provider_mirror()
    if mirror is not None and "TF_CLI_CONFIG_FILE" not in os.environ:
        env["TF_CLI_CONFIG_FILE"] = str(package.cli_config(Path(tempfile.mkdtemp()) / "cli.tfrc", mirror))
    return env


def _deploy_vars_file() -> Path:
    """Where deploy keeps the ``--var`` values it applied, so destroy uses the same ones
    (inside terraform/.terraform/, which is never committed)."""
    import package

    return package.TERRAFORM / ".terraform" / "selfheal-deploy-vars.json"


def next_steps(outputs: dict[str, Any], region: str) -> str:
    """What to do after the first deploy, with the deployment's own names."""
    # The key SecureString parameters are written with: the project's key, or alias/aws/ssm with
    # var.kms_key = "aws-managed" (terraform output parameter_key_id; kms_key_arn before it existed).
    key = outputs.get("parameter_key_id") or outputs.get("kms_key_arn") or "KMS_KEY_ARN"
    lines = [
        "deployed. Next:",
        "  1. settings and secrets (SSM SecureString, never in Terraform state):",
        f"     python scripts/selfheal.py configure --region {region} --kms-key-id {key} \\",
        '       --repo-url OWNER/NAME --model-id MODEL_ID --github-token "$GITHUB_TOKEN"',
    ]
    if outputs.get("webhook_url"):
        lines += [
            "  2. PR outcomes (merged, closed, reviews): a GitHub webhook, secret made and stored by",
            f"     python scripts/selfheal.py configure --region {region} --kms-key-id {key} --generate-webhook-secret",
        ]
    lines += [
        "  3. watch it: python scripts/selfheal.py status; runbooks: python scripts/selfheal.py actions",
        "  teardown: python scripts/selfheal.py destroy (the same variables), then delete-parameters",
    ]
    return "\n".join(lines)


def cmd_deploy(args: argparse.Namespace) -> int:
    """package, terraform init and apply; then what to do next, with the deployment's own names."""
    import package

    if problem := _terraform_problem():
        return fail("deploy", problem)
    env = _terraform_env()
    variables = [f"endpoint_url={args.endpoint_url}"] if args.endpoint_url else []
    variables += args.var
    try:
        progress(args, "package: chalice package into terraform/ (about a minute)")
        package.package(args.stage)
        progress(args, "terraform init")
        package.terraform("init", "-input=false", env=env)
        apply = ["apply", "-input=false", *[f"-var={v}" for v in variables]]
        if args.auto_approve:
            apply.append("-auto-approve")
        progress(args, "terraform apply (a first deployment takes a few minutes)")
        package.terraform(*apply, env=env)
        _deploy_vars_file().write_text(json.dumps(variables) + "\n")
        outputs = package.terraform_outputs(env=env)
    except package.PackageError as exc:
        return fail("deploy", str(exc), 1)
    region = next((v.split("=", 1)[1] for v in variables if v.startswith("region=")), "us-east-1")
    print(next_steps(outputs, region))
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    """terraform destroy with the variables the last deploy applied (and --var)."""
    import package

    if problem := _terraform_problem():
        return fail("destroy", problem)
    try:
        variables = json.loads(_deploy_vars_file().read_text())
    except (OSError, ValueError):
        variables = []
    variables += args.var
    destroy = ["destroy", "-input=false", *[f"-var={v}" for v in variables]]
    if args.auto_approve:
        destroy.append("-auto-approve")
    try:
        if not (package.TERRAFORM / "chalice.tf.json").exists():
            progress(args, "package: the configuration to destroy is generated first")
            package.package(args.stage)
        package.terraform(*destroy, env=_terraform_env())
    except package.PackageError as exc:
        return fail("destroy", str(exc), 1)
    print("destroyed. The settings stay in SSM until: python scripts/selfheal.py delete-parameters")
    return 0


stage_option = click.option("--stage", default="dev", show_default=True, help="the Chalice stage to package")
var_option = click.option("--var", multiple=True, metavar="K=V", help="a Terraform variable (repeatable)")


@click.command(
    cls=Command,
    name="package",
    short_help="chalice package into terraform/, post-processed",
    help="chalice package into terraform/, post-processed (terraform/chalice.tf.json, deployment.zip).",
)
@stage_option
def package_command(**params: Any) -> int:
    return run("package", cmd_package, params)


@click.command(
    cls=Command,
    name="deploy",
    short_help="package + terraform init + terraform apply",
    help="package + terraform init + terraform apply, then the next steps with the deployment's names.",
)
@stage_option
@click.option("--auto-approve", is_flag=True, help="apply without asking")
@var_option
@click.option("--endpoint-url", help="all AWS endpoints at one URL (a local moto server; fake keys)")
def deploy(**params: Any) -> int:
    return run("deploy", cmd_deploy, params)


@click.command(
    cls=Command,
    name="destroy",
    short_help="terraform destroy with the variables the last deploy applied",
    help="terraform destroy with the variables the last deploy applied (and --var).",
)
@stage_option
@click.option("--auto-approve", is_flag=True, help="destroy without asking")
@var_option
def destroy(**params: Any) -> int:
    return run("destroy", cmd_destroy, params)
