"""core/outcomes.py: the fix stats add up, split by model and prompt version, within the window."""

from __future__ import annotations

import pytest

from chalicelib.core.models import ErrorGroup
from chalicelib.core.outcomes import fix_stats, parse_since, price, render

NOW = 1_800_000_000_000
DAY = 86_400_000
SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def group(n: int, status: str, **fields) -> ErrorGroup:
    base = {"updated_at": NOW - DAY, "model": SONNET, "prompt_version": "p1", "pr_url": f"https://x/pull/{n}"}
    return ErrorGroup(f"{n:032x}", status, **(base | fields))


GROUPS = [
    group(1, "MERGED", merged_at=NOW - DAY, checks="passed", ready=True, spent_tokens_in=1_000_000),
    group(2, "HEALED", merged_at=NOW - 2 * DAY, checks="passed", repairs=1, ready=True, spent_tokens_out=100_000),
    group(3, "REJECTED", checks="passed", prompt_version="p2"),
    group(4, "CI_FAILED", checks="failed", repairs=1, model="amazon.nova-pro-v1:0", spent_tokens_in=500_000),
    group(5, "PR_OPENED", checks="pending", regressions=1),
    group(6, "SKIPPED", pr_url="", fixability="input", model="", prompt_version=""),
    group(7, "SKIPPED", pr_url="", fixability="environment", model="", prompt_version=""),
    group(8, "SKIPPED", pr_url="", duplicate_of="1" * 32),
    group(9, "MERGED", merged_at=NOW - 90 * DAY, updated_at=NOW - 90 * DAY),  # outside a 30-day window
]


def test_the_figures_add_up() -> None:
    stats = fix_stats(GROUPS, NOW, 30 * DAY)
    assert stats["groups"] == 8
    assert {k: stats[k] for k in ("prs_opened", "ready", "merged", "rejected", "ci_green_first_time",
                                  "green_after_repair", "ci_failed", "healed", "regressed", "duplicates_avoided")} == {
        "prs_opened": 5, "ready": 2, "merged": 2, "rejected": 1, "ci_green_first_time": 2, "green_after_repair": 1,
        "ci_failed": 1, "healed": 1, "regressed": 1, "duplicates_avoided": 1,
    }  # fmt: skip
    assert stats["skipped_by_class"] == {"input": 1, "environment": 1, "library": 0}
    assert stats["merge_rate"] == 0.4
    assert stats["tokens_per_merged"] == 800_000  # 1.6M tokens over 2 merges
    # $: 1M in + 0.1M out of sonnet (3 + 1.5) and 0.5M in of nova pro (0.4), over 2 merges
    assert stats["usd_per_merged"] == pytest.approx((3.0 + 1.5 + 0.4) / 2)


def test_the_split_by_model_and_prompt_version_sums_to_the_whole() -> None:
    stats = fix_stats(GROUPS, NOW, 30 * DAY)
    for split in ("by_model", "by_prompt_version"):
        parts = stats[split].values()
        assert sum(p["prs_opened"] for p in parts) == stats["prs_opened"]
        assert sum(p["merged"] for p in parts) == stats["merged"]
    assert stats["by_prompt_version"]["p2"]["rejected"] == 1
    assert stats["by_model"]["amazon.nova-pro-v1:0"]["ci_failed"] == 1


def test_an_unknown_price_gives_no_dollar_figure_unless_one_is_given() -> None:
    groups = [group(1, "MERGED", merged_at=NOW, model="acme.unknown", spent_tokens_in=10_000_000)]
    assert fix_stats(groups, NOW, 0)["usd_per_merged"] is None
    assert fix_stats(groups, NOW, 0, (1.0, 1.0))["usd_per_merged"] == pytest.approx(10.0)
    assert price("replay:replay.json") == (0.0, 0.0)


def test_since_and_the_text_rendering() -> None:
    assert [parse_since(t) for t in ("30d", "12h", "90m", "0")] == [30 * DAY, 12 * 3_600_000, 90 * 60_000, 0]
    with pytest.raises(ValueError, match="not a duration"):
        parse_since("a week")
    text = render(fix_stats(GROUPS, NOW, 0))
    assert text.startswith("all") and "merge rate" in text and "by prompt version:" in text


def test_no_group_no_division() -> None:
    stats = fix_stats([], NOW, 0)
    assert (stats["merge_rate"], stats["tokens_per_merged"], stats["usd_per_merged"]) == (0.0, None, None)
