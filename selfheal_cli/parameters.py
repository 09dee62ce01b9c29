"""Settings and secrets in SSM: `selfheal configure` and `selfheal delete-parameters` (docs/configure.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from selfheal_cli.common import Command, env_default, fail, run

if TYPE_CHECKING:
    import argparse


def _ssm(args: argparse.Namespace) -> Any:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings

    settings = Settings.from_env(os.environ, endpoint_url=args.endpoint_url, region=args.region)
    return Clients(settings).ssm


def cmd_configure(args: argparse.Namespace) -> int:
    """Validate the settings and secrets given (or asked for) and store them as SecureString parameters."""
    import configure

    ssm = _ssm(args)
    if args.services or args.repo_secrets_for:
        from configure_services import configure_services

        return configure_services(args, ssm)
    for option, path in (("--ssh-key-file", args.ssh_key_file), ("--known-hosts-file", args.known_hosts_file)):
        if path and not Path(path).expanduser().is_file():
            return fail("configure", f"{option} {path} is not a readable file")
    given = {
        "repo_url": args.repo_url,
        "model_id": args.model_id,
        "github_token": args.github_token,
        "ssh_private_key": Path(args.ssh_key_file).expanduser().read_text() if args.ssh_key_file else None,
        "known_hosts": Path(args.known_hosts_file).expanduser().read_text() if args.known_hosts_file else None,
        "github_url": args.github_url,
        "labels": args.labels,
        "min_occurrences": str(args.min_occurrences) if args.min_occurrences is not None else None,
        "path_prefixes": args.path_prefixes,
        "allowed_paths": args.allowed_paths,
        "context_tokens": str(args.context_tokens) if args.context_tokens else None,
        "webhook_secret": configure.generate_webhook_secret() if args.generate_webhook_secret else args.webhook_secret,
    }
    if problem := configure.prefix_problem(args.prefix):
        print(f"selfheal configure: {problem}", file=sys.stderr)
        return 2
    existing, unknown = configure.known(configure.existing_parameters(ssm, args.prefix))
    if unknown:
        print(
            f"selfheal configure: not a selfheal setting, left as is under {args.prefix}: {', '.join(unknown)}",
            file=sys.stderr,
        )
    if args.non_interactive or not sys.stdin.isatty():
        values = {**existing, **{k: v for k, v in given.items() if v}}
    else:
        values = configure.ask({**existing, **{k: v for k, v in given.items() if v}})
    try:
        clean = configure.validate(values)
        for required in ("repo_url", "model_id"):
            if required not in clean:
                raise configure.ConfigureError(f"{required} is required (--{required.replace('_', '-')})")
    except configure.ConfigureError as exc:
        print(f"selfheal configure: {exc}", file=sys.stderr)
        return 2
    try:
        names = configure.store(ssm, args.prefix, clean, args.kms_key_id)
    except configure.ConfigureError as exc:
        return fail("configure", str(exc), 1)
    print(
        f"stored {len(names)} SecureString parameter(s) under {args.prefix} with {args.kms_key_id}: "
        + ", ".join(n.removeprefix(args.prefix) for n in names)
    )
    if given["webhook_secret"] or values.get("webhook_secret") != existing.get("webhook_secret"):
        print(configure.webhook_instructions(args.prefix, args.region))
    return 0


def cmd_delete_parameters(args: argparse.Namespace) -> int:
    """Delete what configure stored under the prefix, after asking (or with --yes)."""
    import configure

    ssm = _ssm(args)
    try:
        names, kept = configure.deletion_plan(ssm, args.prefix)
    except configure.ConfigureError as exc:
        return fail("delete-parameters", str(exc))
    if kept:
        print(f"kept (Terraform manages them; terraform destroy removes them): {', '.join(kept)}", file=sys.stderr)
    if not names:
        print(f"nothing to delete under {args.prefix}")
        return 0
    print(f"to delete under {args.prefix}: {', '.join(n.removeprefix(args.prefix) for n in names)}", file=sys.stderr)
    if not args.yes:
        if not sys.stdin.isatty():
            return fail("delete-parameters", f"not deleting {len(names)} parameter(s) unasked: pass --yes")
        if input(f"Delete these {len(names)} parameter(s)? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    try:
        configure.delete_all(ssm, args.prefix, names)
    except configure.ConfigureError as exc:
        return fail("delete-parameters", str(exc))
    print(f"deleted {len(names)} parameter(s) under {args.prefix}")
    return 0


@click.command(
    cls=Command,
    name="configure",
    short_help="store settings and secrets as SSM SecureString parameters",
    help="Store settings and secrets as SSM SecureString parameters: the flags given over the stored values "
    "(asked for on a terminal unless --non-interactive).",
)
@click.option("--repo-url")
@click.option("--model-id")
@click.option("--github-token", default=env_default("GITHUB_TOKEN"), help="default $GITHUB_TOKEN")
@click.option("--ssh-key-file", help="private key for git over SSH")
@click.option("--known-hosts-file", help="known_hosts lines pinning the git host's key")
@click.option("--github-url", help="GitHub API base URL (GitHub Enterprise)")
@click.option("--labels", help="PR labels, comma-separated")
@click.option("--min-occurrences", type=int)
@click.option("--path-prefixes", help="deployment prefixes to strip, comma-separated")
@click.option("--allowed-paths", help="extra files a fix may edit, comma-separated")
@click.option("--context-tokens", type=int, help="token budget of the code shown to the model per fix")
@click.option("--services", metavar="FILE", help="validate the service catalog (JSON) and store it")
@click.option("--repo-secrets-for", metavar="REPO_URL", help="store the secrets given for this repository only")
@click.option("--webhook-secret", help="GitHub webhook secret (20+ random characters)")
@click.option("--generate-webhook-secret", is_flag=True, help="store a new random webhook secret")
@click.option("--prefix", default="/selfheal/", show_default=True, help="SSM path prefix")
@click.option(
    "--kms-key-id",
    default="alias/selfheal",
    show_default=True,
    help="the key SecureString parameters are written with: terraform output parameter_key_id "
    '(the project\'s key, or alias/aws/ssm with kms_key = "aws-managed")',
)
@click.option("--non-interactive", is_flag=True, help="never prompt; flags and stored values only")
@click.option("--endpoint-url", help="one URL for every AWS service (a local moto server)")
@click.option("--region", help="AWS region")
def configure_command(**params: Any) -> int:
    return run("configure", cmd_configure, params)


@click.command(
    cls=Command,
    name="delete-parameters",
    short_help="remove the parameters configure stored under the prefix (asks first; never Terraform's)",
    help="Remove the parameters configure stored under the prefix (asks first; never those Terraform manages).",
)
@click.option("--prefix", default="/selfheal/", show_default=True, help="SSM path prefix")
@click.option("--yes", is_flag=True, help="delete without asking (scripts)")
@click.option("--endpoint-url", help="one URL for every AWS service (a local moto server)")
@click.option("--region", help="AWS region")
def delete_parameters(**params: Any) -> int:
    return run("delete-parameters", cmd_delete_parameters, params)
