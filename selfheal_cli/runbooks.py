"""`selfheal runbooks plan|catalog|list|stats`: what the infrastructure runbooks would do with events
(offline), their catalog, and what they healed (docs/runbooks.md). The work is in
scripts/runbooks_cli.py (plan, catalog), operate_cli.py (list) and stats_cli.py (stats)."""

from __future__ import annotations

from typing import Any

import click
from operate_cli import _guarded, cmd_runbooks_list
from runbooks_cli import cmd_catalog, cmd_plan
from stats_cli import cmd_stats

from selfheal_cli.common import Group, governor_options, json_option, run, state_options


@click.group(
    cls=Group,
    name="runbooks",
    short_help="what the infrastructure runbooks would do with events",
    help="What the infrastructure runbooks would do with events, their catalog and their statistics.",
)
def runbooks() -> None:
    pass


@runbooks.command(
    "plan",
    short_help="decide and plan EventBridge events offline (no AWS call)",
    help="For each event (a file holds one event or a JSON list), with no prior state and every "
    "runbook enabled, print the decision and the mutating calls a real run would make.",
)
@click.argument("files", nargs=-1, required=True, metavar="EVENT_FILE...")
@click.option("--catalog", help="runbook catalog JSON (default: the built-in catalog)")
@json_option
@click.option("--account", help="the deployment's account id: events about another are ignored")
@click.option("--region", help="the deployment's region: events from another are ignored")
def plan(**params: Any) -> int:
    return run("runbooks", cmd_plan, params, runbooks_command="plan")


@runbooks.command(
    "catalog",
    short_help="print the runbook catalog as JSON",
    help="Print the runbook catalog as JSON (validated), ready to edit.",
)
@click.option("--catalog", help="validate and print this catalog instead of the built-in one")
def catalog(**params: Any) -> int:
    return run("runbooks", cmd_catalog, params, runbooks_command="catalog")


@runbooks.command(
    "list",
    short_help="the catalog: enabled / dry-run, trigger, limits, approval",
    help="The deployed catalog (or --catalog FILE): enabled / dry-run, trigger, limits, approval.",
)
@click.option("--catalog", help="a catalog JSON file instead of the deployed one")
@governor_options
def listing(**params: Any) -> int:
    return run("runbooks", _guarded("runbooks list", cmd_runbooks_list), params, runbooks_command="list")


@runbooks.command(
    "stats",
    short_help="acted, healed, escalated, failed, suppressed, success rate and time to heal per runbook and layer",
    help="Healing statistics over a window, from the governor's day counters (whole UTC days).",
)
@click.option("--since", default="7d", help="the window: 7d (default), 24h, 90m; widened to whole UTC days")
@click.option(
    "--until", metavar="YYYY-MM-DD", help="the window's last UTC day (default today; `local --infra` has its own)"
)
@governor_options
@state_options
def stats(**params: Any) -> int:
    return run("runbooks", _guarded("runbooks stats", cmd_stats), params, runbooks_command="stats")
