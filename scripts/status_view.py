"""`selfheal status`: the groups with their service, spend (scripts/spend_view.py) and their pull
request's fate (merged, rejected and why, regressed, healed), as a table for people or one JSON
document."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from spend_view import status_summary
from spend_view import status_table as spend_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import ErrorGroup

# Added to each group of `status --json` (`local --json` keeps its contract keys only).
FATE_KEYS = ("merged_at", "review_reason", "regressions", "regressed_at", "healed_at", "pr_checked_at")
REVIEW_SHOWN = 100  # characters of the reviewer's words in the table


def _when(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_ms / 1000))


def fate_line(group: ErrorGroup) -> str:
    """What happened to the group's PR and fix, in one line ('' when nothing did yet)."""
    parts: list[str] = []
    if group.merged_at:
        parts.append(f"merged {_when(group.merged_at)}")
    if group.healed_at and group.status == "HEALED":
        parts.append(f"healed {_when(group.healed_at)}")
    if group.regressions:
        parts.append(f"regressed {group.regressions}x, last {_when(group.regressed_at)}")
    if group.review_reason:
        first = " ".join(group.review_reason.split())
        more = "…" if len(first) > REVIEW_SHOWN else ""
        parts.append(f"review: {first[:REVIEW_SHOWN]}{more}")
    return "; ".join(parts)


def status_table(groups: Sequence[ErrorGroup]) -> str:
    """The spend table (service, tokens, waits), with a second line under each group whose PR has a fate."""
    lines = spend_table(groups).splitlines()
    out = lines[:1]
    for line, group in zip(lines[1:], groups, strict=True):
        out.append(line)
        if fate := fate_line(group):
            out.append(f"{'':14}{fate}")
    return "\n".join(out)


def status_document(groups: Sequence[ErrorGroup]) -> dict[str, list[dict[str, Any]]]:
    """`status --json`: the `local --json` keys, the service and spend keys, and the fate's fields."""
    doc = status_summary(groups)
    for row, group in zip(doc["groups"], groups, strict=True):
        row.update({k: getattr(group, k) for k in FATE_KEYS})
    return doc
