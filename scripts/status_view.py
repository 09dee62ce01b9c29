"""`selfheal status` and `selfheal show`: each group with its service, its culprit frame, when it
was first and last seen (the log's own times), what it spent (model tokens, every attempt), how a
SKIPPED group waits (core/governor.py decide_spend), and its pull request's fate (merged, rejected
and why, regressed, healed), as a table for people or one JSON document; ``show`` gives one group
whole: the exception, the frames, the redacted sample, the last PR's diff and every reason.

``local`` keeps its own table and document (`local --json` is a contract: local_mode.summary).
"""

from __future__ import annotations

import calendar
import re
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from local_mode import SUMMARY_KEYS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from chalicelib.core.models import ErrorGroup

# Added to each group of `status --json` beyond the `local --json` keys.
SPEND_KEYS = ("spent_tokens_in", "spent_tokens_out", "wait", "wait_until", "reopen_at", "auto_jobs")
FATE_KEYS = ("merged_at", "review_reason", "regressions", "regressed_at", "healed_at", "pr_checked_at")
REVIEW_SHOWN = 100  # characters of the reviewer's words in the table
REASON_SHOWN = 90  # characters of a reason in the table (show prints it whole)
CULPRIT_SHOWN = 32
_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def _when(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch_ms / 1000))


def _short_when(epoch_ms: int) -> str:
    return time.strftime("%m-%d %H:%M", time.gmtime(epoch_ms / 1000)) if epoch_ms else "-"


def clip_words(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters: cut at a word boundary with an ellipsis,
    never inside a word (a single word longer than ``width`` is cut, with the ellipsis)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[: width - 1]
    if flat[width - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:—-") + "…"


def since_ms(text: str, now_ms: int) -> int:
    """The start of ``--since``: ``30m``, ``6h``, ``2d``, ``1w`` before ``now_ms``, or a date
    ``YYYY-MM-DD`` (UTC). ValueError names the forms accepted."""
    if match := _SINCE.match(text.strip()):
        return now_ms - int(match[1]) * _UNIT_MS[match[2]]
    try:
        return calendar.timegm(time.strptime(text.strip(), "%Y-%m-%d")) * 1000
    except ValueError:
        raise ValueError(f"--since {text!r}: give 30m, 6h, 2d, 1w or a date YYYY-MM-DD") from None


def culprit(group: ErrorGroup) -> str:
    """The innermost in-app frame (file name and function), where the bug most likely is."""
    from chalicelib.core.frames import is_in_app

    frames = [f for f in group.frames if is_in_app(f.file)] or list(group.frames)
    if not frames:
        return "-"
    frame = frames[-1]
    return f"{PurePosixPath(frame.file.replace(chr(92), '/')).name} in {frame.function or '?'}"


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
    """One row per group (service, tokens, culprit, first and last seen, the skip reason and its
    wait), and a second line under each group whose PR has a fate. Reasons are cut at a word
    (``show`` prints them whole)."""
    head = f"{'GROUP':<12}  {'SERVICE':<16} {'STATUS':<10} {'COUNT':>5}  {'TOKENS IN/OUT':>15}  {'EXCEPTION':<28}"
    rows = [f"{head} {'CULPRIT':<{CULPRIT_SHOWN}} {'FIRST SEEN':<11} {'LAST SEEN':<11} BRANCH / PR / REASON"]
    for g in groups:
        where = g.pr_url or clip_words(g.reason, REASON_SHOWN) or "-"
        if g.branch:
            where = f"{g.branch}  {where}"
        if wait := waits_for(g):
            where = f"{where} — {wait}"
        tokens = f"{g.spent_tokens_in:,}/{g.spent_tokens_out:,}" if g.spent_tokens_in or g.spent_tokens_out else "-"
        row = f"{g.fingerprint[:12]:<12}  {(g.service or '-')[:16]:<16} {g.status:<10} {g.occurrences:>5}  "
        seen = f"{_short_when(g.first_seen):<11} {_short_when(g.last_seen):<11}"
        where_culprit = clip_words(culprit(g), CULPRIT_SHOWN)
        rows.append(f"{row}{tokens:>15}  {g.exception_type[:28]:<28} {where_culprit:<{CULPRIT_SHOWN}} {seen} {where}")
        if fate := fate_line(g):
            rows.append(f"{'':14}{fate}")
    return "\n".join(rows)


def show_text(group: ErrorGroup) -> str:
    """Everything known about one group, for people."""
    g = group
    spent = g.spent_tokens_in or g.spent_tokens_out
    tokens = f"{g.spent_tokens_in:,} in / {g.spent_tokens_out:,} out" if spent else "-"
    message = " ".join(g.message.split())
    lines = [
        f"group       {g.fingerprint}",
        f"exception   {g.exception_type}: {message}" if message else f"exception   {g.exception_type}",
        f"culprit     {culprit(g)}",
        f"status      {g.status} (attempts {g.attempts})",
        f"seen        {g.occurrences} time(s), first {_when(g.first_seen) if g.first_seen else '-'}, "
        f"last {_when(g.last_seen) if g.last_seen else '-'}",
        f"service     {g.service or '-'}; log groups: {', '.join(sorted(g.log_groups)) or '-'}",
        f"tokens      {tokens}",
    ]
    if g.pr_url or g.branch:
        lines.append(f"pull req.   {g.pr_url or '-'} (branch {g.branch or '-'})")
    if fate := fate_line(g):
        lines.append(f"fate        {fate}")
    reasons = [("reason", g.reason), ("wait", waits_for(g)), ("review", g.review_reason),
               ("re-opened", g.reopened_by and f"by {g.reopened_by}")]  # fmt: skip
    lines += [f"{name:<11} {' '.join(text.split())}" for name, text in reasons if text]
    if g.frames:
        lines.append("frames (innermost last)")
        for f in g.frames:
            lines.append(f"  {f.file}:{f.line if f.line is not None else '?'} in {f.function or '?'}")
            if f.source:
                lines.append(f"      {f.source.strip()}")
    if g.sample:
        lines += ["sample (redacted)", *[f"  {line}" for line in g.sample.splitlines()]]
    if g.pr_diff:
        lines += ["last fix (diff)", *[f"  {line}" for line in g.pr_diff.splitlines()]]
    return "\n".join(lines)


def show_document(group: ErrorGroup) -> dict[str, Any]:
    """`show --json`: the group's fields (frames as objects) and its culprit."""
    from dataclasses import asdict

    doc = asdict(group)
    doc["log_groups"] = sorted(group.log_groups)
    doc["culprit"] = culprit(group)
    return doc


def status_document(groups: Sequence[ErrorGroup]) -> dict[str, list[dict[str, Any]]]:
    """`status --json`: the `local --json` keys, the service, the spend keys and the fate's fields."""
    keys = (*SUMMARY_KEYS, "service", *SPEND_KEYS, *FATE_KEYS)
    return {"groups": [{k: getattr(g, k) for k in keys} for g in groups]}
