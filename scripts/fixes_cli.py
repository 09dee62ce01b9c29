"""``selfheal.py fixes stats [--since 30d] [--json] [--price IN,OUT]``: what became of the fixes
(core/outcomes.py), read from the error-group table."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


def cmd_fixes_stats(args: argparse.Namespace) -> int:
    from selfheal import _store

    from chalicelib.core.outcomes import fix_stats, parse_since, render

    try:
        since = parse_since(args.since)
        override = tuple(float(x) for x in args.price.split(",")) if args.price else None
    except ValueError as exc:
        raise SystemExit(f"fixes stats: {exc}") from exc
    if override is not None and len(override) != 2:  # noqa: PLR2004 - input, output
        raise SystemExit("fixes stats: --price takes IN,OUT (USD per million tokens)")
    stats: dict[str, Any] = fix_stats(_store(args).scan(), int(time.time() * 1000), since, override)  # type: ignore[arg-type]
    print(json.dumps(stats, indent=2, sort_keys=True) if args.json else render(stats))
    return 0


def register(sub: argparse._SubParsersAction, aws_options: Any) -> None:
    """Register ``fixes stats`` on the selfheal command line."""
    fixes = sub.add_parser("fixes", help="what became of the fixes: PRs, CI, merges, skips, cost")
    verbs = fixes.add_subparsers(dest="fixes_command", required=True)
    stats = verbs.add_parser(
        "stats",
        help="outcome figures: opened, ready, merged, rejected, CI, healed, duplicates, skips, $ per merge",
        description="Counted over the groups active in the window, overall and split by model id and "
        "by prompt version. $ is an estimate at list prices (or --price).",
    )
    stats.add_argument("--since", default="30d", help="window: 30d, 12h, 90m, or 0 for all (default 30d)")
    stats.add_argument("--json", action="store_true", help="one JSON document")
    stats.add_argument("--price", help="USD per million tokens IN,OUT (instead of the list price of the model)")
    aws_options(stats)
    stats.set_defaults(func=cmd_fixes_stats)
