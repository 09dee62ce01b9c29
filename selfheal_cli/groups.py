"""The error groups: `selfheal status`, `show GROUP` and `retry GROUP`, on AWS, on --endpoint-url or on
the last local run's stack (--local / --state-dir)."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from selfheal_cli.common import Command, fail, json_option, run, state_options, table_options

if TYPE_CHECKING:
    import argparse


def store(args: argparse.Namespace) -> Any:
    """The error-group table the command names (--endpoint-url, --table, --region over the environment)."""
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings
    from chalicelib.adapters.store import ErrorGroupStore

    settings = Settings.from_env(os.environ, endpoint_url=args.endpoint_url, table_name=args.table, region=args.region)
    return ErrorGroupStore(Clients(settings).dynamodb, settings.table_name)


def cmd_status(args: argparse.Namespace) -> int:
    """The error groups, newest first (a table, or the contract document with --json)."""
    import time

    from status_view import since_ms, status_document, status_table

    groups = store(args).scan(args.status, service=args.service)
    if args.since:
        try:
            start = since_ms(args.since, int(time.time() * 1000))
        except ValueError as exc:
            return fail("status", str(exc))
        groups = [g for g in groups if g.last_seen >= start]
    print(json.dumps(status_document(groups), indent=2) if args.json else status_table(groups))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """One group whole, named by any unique prefix of its fingerprint."""
    from status_view import show_document, show_text

    prefix = args.fingerprint.lower()
    matches = [g for g in store(args).scan() if g.fingerprint.startswith(prefix)]
    if len(matches) != 1:
        which = ", ".join(g.fingerprint[:12] for g in matches[:10])
        more = f": {which}" if matches else " (selfheal status lists them)"
        return fail("show", f"{len(matches)} groups match {args.fingerprint!r}{more}")
    group = matches[0]
    print(json.dumps(show_document(group), indent=2, default=list) if args.json else show_text(group))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    """Re-open one group so that the stream turns it into a fix job again."""
    import time

    from chalicelib.core.models import Status
    from chalicelib.errors import InvalidTransition

    table = store(args)
    matches = [g for g in table.scan() if g.fingerprint.startswith(args.fingerprint)]
    if len(matches) != 1:
        names = ", ".join(sorted(g.fingerprint for g in matches)[:8]) + (" …" if len(matches) > 8 else "")
        print(f"selfheal retry: {len(matches)} groups match {args.fingerprint!r}{': ' + names if names else ''}",
              file=sys.stderr)  # fmt: skip
        return 2
    if not matches[0].service:  # a log group of no service (adapters/store.py record_unrouted)
        print(f"selfheal retry: {matches[0].reason}; nothing to fix", file=sys.stderr)
        return 2
    now = int(time.time() * 1000)
    try:
        group = table.reopen(matches[0].fingerprint, now, reason="re-opened by selfheal retry")
    except InvalidTransition as exc:
        current = exc.group
        if current is not None and current.status == Status.FIXING:
            left = max(0, (current.lease_until - now) // 1000)
            print(
                f"selfheal retry: group {current.fingerprint} is being fixed (lease held by {current.lease_owner} "
                f"for {left} s more); retry it after the lease expires",
                file=sys.stderr,
            )
        else:
            print(f"selfheal retry: {exc}", file=sys.stderr)
        return 2
    print(f"{group.fingerprint} ({group.service}) re-opened: the stream turns it into a fix job")
    return 0


@click.command(
    cls=Command, name="status", short_help="error groups, newest first", help="The error groups, newest first."
)
@click.option(
    "--status",
    help="only groups in this status (NEW, QUEUED, FIXING, PR_OPENED, FAILED, SKIPPED, MERGED, REJECTED, "
    "REGRESSED, HEALED)",
)
@click.option(
    "--service", help="only this service's groups ('default' has those from before services; '' log groups of none)"
)
@click.option("--since", help="only groups seen since: 30m, 6h, 2d, 1w or a date YYYY-MM-DD")
@json_option
@table_options
@state_options
def status(**params: Any) -> int:
    return run("status", cmd_status, params)


@click.command(
    cls=Command,
    name="show",
    short_help="one group whole: exception, culprit, first/last seen, sample, PR and fate, tokens, reasons",
    help="One group whole: exception, culprit, first/last seen, sample, PR and fate, tokens, reasons.",
)
@click.argument("fingerprint", metavar="GROUP")
@click.option("--json", is_flag=True, help="the group's fields as one JSON document")
@table_options
@state_options
def show(**params: Any) -> int:
    return run("show", cmd_show, params)


@click.command(
    cls=Command,
    name="retry",
    short_help="re-open a FAILED / SKIPPED / PR_OPENED / REJECTED / REGRESSED group, or a stuck FIXING one",
    help="Re-open a FAILED / SKIPPED / PR_OPENED / REJECTED / REGRESSED group, or a stuck FIXING one: "
    "GROUP is its fingerprint or a unique prefix of it.",
)
@click.argument("fingerprint", metavar="GROUP")
@table_options
@state_options
def retry(**params: Any) -> int:
    return run("retry", cmd_retry, params)
