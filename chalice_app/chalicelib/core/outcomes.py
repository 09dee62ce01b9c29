"""Outcome figures of the fixer (``selfheal.py fixes stats``): what became of the PRs it opened,
what CI said, what was skipped and why, and what a merged fix cost. Pure: computed from the error
groups as the store returns them.

Counted over the groups active in the window (``updated_at`` within ``since``):

    prs_opened            a PR was opened (pr_url set, whatever happened since)
    ready                 its checks passed and it was marked ready for review
    merged / rejected     merged_at set / REJECTED
    ci_green_first_time   checks passed with no repair      green_after_repair   passed after ≥ 1
    ci_failed             CI_FAILED
    healed / regressed    HEALED / regressed at least once
    duplicates_avoided    linked to another group's open PR instead of opening one
    skipped_by_class      SKIPPED as input / environment / library (core/fixability.py)
    merge_rate            merged / prs_opened
    tokens_per_merged     model tokens (in + out) of every group in the window / merged
    usd_per_merged        the same tokens at the model's list price (an estimate; PRICES)

and the same figures split by model id and by prompt version (recorded on every attempt).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from chalicelib.core.models import ErrorGroup

# USD per million tokens (input, output), Bedrock on-demand list prices, by model id fragment (the
# first fragment found in the id counts: order matters). An estimate: a price override wins.
PRICES: tuple[tuple[str, float, float], ...] = (
    ("claude-opus-4", 15.0, 75.0),
    ("claude-sonnet-4", 3.0, 15.0),
    ("claude-3-7-sonnet", 3.0, 15.0),
    ("claude-3-5-sonnet", 3.0, 15.0),
    ("claude-3-5-haiku", 0.8, 4.0),
    ("claude-3-haiku", 0.25, 1.25),
    ("claude-3-opus", 15.0, 75.0),
    ("nova-pro", 0.8, 3.2),
    ("nova-lite", 0.06, 0.24),
    ("nova-micro", 0.035, 0.14),
    ("llama3", 0.72, 0.72),
    ("mistral-large", 2.0, 6.0),
    ("replay:", 0.0, 0.0),
)
_OPENED = frozenset({"PR_OPENED", "MERGED", "HEALED", "REGRESSED", "REJECTED", "CI_FAILED"})
UNFIXABLE = ("input", "environment", "library")


def price(model: str, override: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """USD per million tokens (in, out) for ``model``; None when unknown."""
    if override is not None:
        return override
    for fragment, tokens_in, tokens_out in PRICES:
        if fragment in model:
            return tokens_in, tokens_out
    return None


def _figures(groups: list[ErrorGroup], override: tuple[float, float] | None) -> dict[str, Any]:
    opened = [g for g in groups if g.pr_url and (g.status in _OPENED or g.merged_at)]
    merged = sum(1 for g in groups if g.merged_at)
    tokens = sum(g.spent_tokens_in + g.spent_tokens_out for g in groups)
    usd = 0.0
    priced = True
    for g in groups:
        rate = price(g.model, override)
        if rate is None:
            priced = priced and not (g.spent_tokens_in or g.spent_tokens_out)
            continue
        usd += (g.spent_tokens_in * rate[0] + g.spent_tokens_out * rate[1]) / 1e6
    skipped = Counter(g.fixability for g in groups if g.status == "SKIPPED" and g.fixability in UNFIXABLE)
    return {
        "prs_opened": len(opened),
        "ready": sum(1 for g in groups if g.ready),
        "merged": merged,
        "rejected": sum(1 for g in groups if g.status == "REJECTED"),
        "ci_green_first_time": sum(1 for g in groups if g.checks == "passed" and g.repairs == 0),
        "green_after_repair": sum(1 for g in groups if g.checks == "passed" and g.repairs > 0),
        "ci_failed": sum(1 for g in groups if g.status == "CI_FAILED"),
        "healed": sum(1 for g in groups if g.status == "HEALED"),
        "regressed": sum(1 for g in groups if g.regressions > 0 or g.status == "REGRESSED"),
        "duplicates_avoided": sum(1 for g in groups if g.duplicate_of),
        "skipped_by_class": {kind: skipped[kind] for kind in UNFIXABLE},
        "merge_rate": round(merged / len(opened), 3) if opened else 0.0,
        "tokens": tokens,
        "tokens_per_merged": round(tokens / merged) if merged else None,
        "usd_per_merged": round(usd / merged, 4) if merged and priced else None,
        "usd": round(usd, 4) if priced else None,
    }


def fix_stats(
    groups: Iterable[ErrorGroup], now_ms: int, since_ms: int, price_override: tuple[float, float] | None = None
) -> dict[str, Any]:
    """The outcome figures of the groups active in the last ``since_ms`` (0: all), overall and split
    by model id and by prompt version (groups never sent to a model are under ``""``)."""
    cutoff = now_ms - since_ms if since_ms else 0
    window = [g for g in groups if g.fingerprint[:1] != "~" and g.service != "" and g.updated_at >= cutoff]
    by_model: dict[str, list[ErrorGroup]] = {}
    by_prompt: dict[str, list[ErrorGroup]] = {}
    for g in window:
        by_model.setdefault(g.model, []).append(g)
        by_prompt.setdefault(g.prompt_version, []).append(g)
    return {
        "since_ms": since_ms,
        "groups": len(window),
        **_figures(window, price_override),
        "by_model": {k: _figures(v, price_override) for k, v in sorted(by_model.items())},
        "by_prompt_version": {k: _figures(v, price_override) for k, v in sorted(by_prompt.items())},
    }


def parse_since(text: str) -> int:
    """``30d``, ``12h``, ``90m`` or ``0`` (all) → milliseconds; ValueError otherwise."""
    text = text.strip().lower()
    if text in ("", "0", "all"):
        return 0
    units = {"d": 86_400_000, "h": 3_600_000, "m": 60_000}
    if text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"not a duration: {text!r} (say 30d, 12h or 90m)")
    return int(text[:-1]) * units[text[-1]]


def render(stats: Mapping[str, Any]) -> str:
    """The figures as text for people."""

    def line(name: str, f: Mapping[str, Any]) -> str:
        usd = f["usd_per_merged"]
        return (
            f"{name:<28} opened {f['prs_opened']:>4}  ready {f['ready']:>4}  merged {f['merged']:>4}  "
            f"rejected {f['rejected']:>3}  green 1st {f['ci_green_first_time']:>3}  after repair "
            f"{f['green_after_repair']:>3}  CI failed {f['ci_failed']:>3}  healed {f['healed']:>3}  "
            f"regressed {f['regressed']:>3}  dupes avoided {f['duplicates_avoided']:>3}  merge rate "
            f"{f['merge_rate']:.0%}  tokens/merged {f['tokens_per_merged'] or '-'}  "
            f"$/merged {'-' if usd is None else f'{usd:.4f}'}"
        )

    skipped = stats["skipped_by_class"]
    rows = [
        line("all", stats),
        "skipped (not a code fault): " + ", ".join(f"{k} {skipped[k]}" for k in UNFIXABLE),
        "by model:",
        *(line(f"  {k or '(none)'}"[:28], f) for k, f in stats["by_model"].items()),
        "by prompt version:",
        *(line(f"  {k or '(none)'}"[:28], f) for k, f in stats["by_prompt_version"].items()),
    ]
    return "\n".join(rows)
