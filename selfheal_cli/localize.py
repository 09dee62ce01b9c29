"""`selfheal localize TRACE_FILE --repo DIR [--json]`: the code a fix would be shown for one traceback,
offline (no AWS, no model). The contract and the work is scripts/localize_cli.py's."""

from __future__ import annotations

from typing import Any

import click
from localize_cli import DEFAULT_BUDGET, cmd_localize

from selfheal_cli.common import Command, json_option, run


@click.command(
    cls=Command,
    name="localize",
    short_help="the repository code a fix would be shown for one traceback (no AWS, no model)",
    help="Map one traceback's frames (every exception of the chain) to a repository work tree "
    "and print the files located, best first, and the line ranges the model would be shown.",
)
@click.argument("trace_file", metavar="TRACE_FILE")
@click.option("--repo", required=True, metavar="DIR", help="the repository's work tree")
@json_option
@click.option("--path-prefix", multiple=True, help="deployment prefix to strip from paths (repeatable)")
@click.option("--budget", type=int, default=DEFAULT_BUDGET, show_default=True, help="context token budget")
def localize(**params: Any) -> int:
    return run("localize", cmd_localize, params)
