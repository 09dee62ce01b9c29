"""`selfheal runbooks stats [--since 7d] [--json]`: what the runbooks healed, per runbook and per layer.

Read from the governor table's day counters (``stats#<day>`` items, one Query per UTC day of the
window; no Scan), summed by ``core/heal_stats.aggregate``. ``--json`` prints (**contract**)
``{"runbooks": [{"runbook", "layer", "acted", "healed", "escalated", "failed", "suppressed",
"success_rate", "median_time_to_heal_s", ...}], "layers": {"<layer>": {...}}}``. Works on AWS, on
``--endpoint-url`` and on the last local run's stack (``--local`` / ``--state-dir``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


def healing_stats(governor: Any, now_ms: int, since_s: int) -> Any:
    """The window's HealStats from a GovernorStore (its day counters)."""
    from chalicelib.core.heal_stats import aggregate, window_days
    from chalicelib.core.runbooks import layer_of

    days = window_days(now_ms, since_s)
    return aggregate(governor.day_counts(days), layer_of, days=days, since_s=since_s)


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the figures; exit 2 with one line when the window cannot be read."""
    from operate_cli import _governor

    from chalicelib.core.heal_stats import parse_since, render

    try:
        since_s = parse_since(args.since)
    except ValueError as exc:
        print(f"selfheal runbooks stats: {exc}", file=sys.stderr)
        return 2
    try:
        now_ms = until_ms(args.until) if args.until else int(time.time() * 1000)
    except ValueError:
        print(f"selfheal runbooks stats: --until {args.until!r} is not a day (YYYY-MM-DD)", file=sys.stderr)
        return 2
    stats = healing_stats(_governor(args), now_ms, since_s)
    print(json.dumps(stats.as_json(), indent=2) if args.json else render(stats))
    return 0


def register(runbooks: Any, aws_options: Any, guarded: Any) -> argparse.ArgumentParser:
    """Add ``runbooks stats`` to the ``runbooks`` command's sub-parsers; returns its parser."""
    stats = runbooks.add_parser(
        "stats",
        help="acted, healed, escalated, failed, suppressed, success rate and time to heal per runbook and layer",
        description="Healing statistics over a window, from the governor's day counters (whole UTC days).",
    )
    stats.add_argument("--since", default="7d", help="the window: 7d (default), 24h, 90m; widened to whole UTC days")
    stats.add_argument(
        "--until", metavar="YYYY-MM-DD", help="the window's last UTC day (default today; `local --infra` has its own)"
    )
    aws_options(stats)
    stats.set_defaults(func=guarded("runbooks stats", cmd_stats))
    return stats


def until_ms(day: str) -> int:
    """The last millisecond of a UTC day ``YYYY-MM-DD``; ValueError when it is not one."""
    import calendar

    start = calendar.timegm(time.strptime(day, "%Y-%m-%d"))
    return (start + 86_400) * 1000 - 1
