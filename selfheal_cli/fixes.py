"""``selfheal fixes stats [--since 30d] [--json] [--price IN,OUT]``: what became of the fixes
(core/outcomes.py), read from the error-group table."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import click

from selfheal_cli.common import Group, run, table_options
from selfheal_cli.groups import store

if TYPE_CHECKING:
    import argparse


def cmd_fixes_stats(args: argparse.Namespace) -> int:
    """Print the outcome figures of the window (a table, or JSON)."""
    from chalicelib.core.outcomes import fix_stats, parse_since, render

    try:
        since = parse_since(args.since)
        override = tuple(float(x) for x in args.price.split(",")) if args.price else None
    except ValueError as exc:
        raise SystemExit(f"fixes stats: {exc}") from exc
    if override is not None and len(override) != 2:  # noqa: PLR2004 - input, output
        raise SystemExit("fixes stats: --price takes IN,OUT (USD per million tokens)")
    stats: dict[str, Any] = fix_stats(store(args).scan(), int(time.time() * 1000), since, override)  # type: ignore[arg-type]
    print(json.dumps(stats, indent=2, sort_keys=True) if args.json else render(stats))
    return 0


@click.group(
    cls=Group,
    name="fixes",
    short_help="what became of the fixes: PRs, CI, merges, skips, cost",
    help="What became of the fixes: PRs, CI, merges, skips, cost.",
)
def fixes() -> None:
    pass


@fixes.command(
    "stats",
    short_help="outcome figures: opened, ready, merged, rejected, CI, healed, duplicates, skips, $ per merge",
    help="Counted over the groups active in the window, overall and split by model id and "
    "by prompt version. $ is an estimate at list prices (or --price).",
)
@click.option("--since", default="30d", help="window: 30d, 12h, 90m, or 0 for all (default 30d)")
@click.option("--json", is_flag=True, help="one JSON document")
@click.option("--price", help="USD per million tokens IN,OUT (instead of the list price of the model)")
@table_options
def fixes_stats(**params: Any) -> int:
    return run("fixes", cmd_fixes_stats, params, fixes_command="stats")
