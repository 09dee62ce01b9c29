"""`status` with what spend needs: tokens spent per group and how a SKIPPED group waits.

The table and the ``--json`` document of ``status`` (``local`` keeps its own, a contract): the
columns of ``local_mode.table`` plus SERVICE, TOKENS (model tokens in/out spent on the group, every attempt)
and, for a SKIPPED group, the rule that skipped it and what will pick it up.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from local_mode import SUMMARY_KEYS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import ErrorGroup

SPEND_KEYS = ("spent_tokens_in", "spent_tokens_out", "wait", "wait_until", "reopen_at", "auto_jobs")


def _when(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_ms / 1000))


def waits_for(group: ErrorGroup) -> str:
    """What will pick a SKIPPED group up, in words ('' when it does not wait)."""
    if group.wait == "budget":
        return f"waits for budget (from {_when(group.wait_until)}; the hourly sweep, oldest first)"
    if group.wait == "occurrences":
        return f"waits for {group.reopen_at} occurrences"
    return ""


def status_summary(groups: Sequence[ErrorGroup]) -> dict[str, list[dict[str, Any]]]:
    """The ``status --json`` document: the ``local --json`` keys plus the service and spend keys."""
    return {"groups": [{k: getattr(g, k) for k in (*SUMMARY_KEYS, "service", *SPEND_KEYS)} for g in groups]}


def status_table(groups: Sequence[ErrorGroup]) -> str:
    """The groups as a table for people, with their service, tokens and the skip reason."""
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
        row += f"{tokens:>15}  {g.exception_type[:28]:<28}"
        rows.append(f"{row} {where}")
    return "\n".join(rows)
