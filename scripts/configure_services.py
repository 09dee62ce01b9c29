"""`selfheal configure --services FILE` and `--repo-secrets-for REPO_URL`: the service catalog and
per-repository secrets, as SSM SecureString parameters under the prefix (values never printed)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import configure

if TYPE_CHECKING:
    import argparse


def configure_services(args: argparse.Namespace, ssm: Any) -> int:
    """Store the catalog and/or one repository's secrets; 0, or 2 with one line on stderr."""
    if problem := configure.prefix_problem(args.prefix):
        print(f"selfheal configure: {problem}", file=sys.stderr)
        return 2
    try:
        if args.services:
            try:
                text = Path(args.services).read_text()
            except OSError as exc:
                raise configure.ConfigureError(f"services file {args.services}: {exc}") from exc
            names = configure.store_services(ssm, args.prefix, text, args.kms_key_id)
            print(
                f"stored the service catalog ({len(names)} service(s): {', '.join(names)}) as "
                f"{args.prefix}{configure.SERVICES_PARAMETER} with {args.kms_key_id}"
            )
        if args.repo_secrets_for:
            given = {
                "github_token": args.github_token,
                "ssh_private_key": Path(args.ssh_key_file).read_text() if args.ssh_key_file else None,
                "known_hosts": Path(args.known_hosts_file).read_text() if args.known_hosts_file else None,
            }
            written = configure.store_repo_secrets(
                ssm, args.prefix, args.repo_secrets_for, {k: v for k, v in given.items() if v}, args.kms_key_id
            )
            print(f"stored {len(written)} SecureString parameter(s): " + ", ".join(written))
    except configure.ConfigureError as exc:
        print(f"selfheal configure: {exc}", file=sys.stderr)
        return 2
    return 0
