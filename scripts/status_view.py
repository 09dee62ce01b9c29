"""`selfheal status`: each group with its service, what it spent (model tokens, every attempt), how a
SKIPPED group waits (core/governor.py decide_spend), and its pull request's fate (merged, rejected
and why, regressed, healed), as a table for people or one JSON document.

``local`` keeps its own table and document (`local --json` is a contract: local_mode.summary).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from local_mode import SUMMARY_KEYS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import ErrorGroup

# Added to each group of `status --json` beyond the `local --json` keys.
SPEND_KEYS = ("spent_tokens_in", "spent_tokens_out", "wait", "wait_until", "reopen_at", "auto_jobs")
FATE_KEYS = ("merged_at", "review_reason", "regressions", "regressed_at", "healed_at", "pr_checked_at")
REVIEW_SHOWN = 100  # characters of the reviewer's words in the table


def _when(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_ms / 1000))


def waits_for(group: ErrorGroup) -> str:
    """What will pick a SKIPPED group up, in words ('' when it does not wait)."""
    if group.wait == "budget":
        return f"waits for budget (from {_when(group.wait_until)}; the hourly sweep, oldest first)"
    if group.wait == "occurrences":
        return f"waits for {group.reopen_at} occurrences"
    return ""


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
    """One row per group (service, tokens, the skip reason and its wait), and a second line under
    each group whose PR has a fate."""
    head = f"{'GROUP':<12}  {'SERVICE':<16} {'STATUS':<10} {'COUNT':>5}  {'TOKENS IN/OUT':>15}  {'EXCEPTION':<28}"
    rows = [f"{head} BRANCH / PR / REASON"]
    for g in groups:
        where = g.pr_url or g.reason or "-"
        if g.branch:
            where = f"{g.branch}  {where}"
        if wait := waits_for(g):
            where = f"{where} — {wait}"
        tokens = f"{g.spent_tokens_in:,}/{g.spent_tokens_out:,}" if g.spent_tokens_in or g.spent_tokens_out else "-"
        row = f"{g.fingerprint[:12]:<12}  {(g.service or '-')[:16]:<16} {g.status:<10} {g.occurrences:>5}  "
        rows.append(f"{row}{tokens:>15}  {g.exception_type[:28]:<28} {where}")
        if fate := fate_line(g):
            rows.append(f"{'':14}{fate}")
    return "\n".join(rows)


def status_document(groups: Sequence[ErrorGroup]) -> dict[str, list[dict[str, Any]]]:
    """`status --json`: the `local --json` keys, the service, the spend keys and the fate's fields."""
    keys = (*SUMMARY_KEYS, "service", *SPEND_KEYS, *FATE_KEYS)
    return {"groups": [{k: getattr(g, k) for k in keys} for g in groups]}
