"""Properties of the healing statistics (core/heal_stats.py) over any day counters: the counts add up
(runbooks, layers and the rows given), the success rate is a rate, the median never above the p90."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.heal_stats import COUNTS, DayCounts, aggregate, window_days

RUNBOOKS = ("ec2-reboot", "disk-cleanup", "ecs-redeploy", "lambda-rollback", "ec2-isolate", "x-new")
LAYERS = {"ec2-reboot": "infrastructure", "ecs-redeploy": "platform", "lambda-rollback": "platform", "x-new": "data"}
DAYS = ("2026-11-16", "2026-11-17", "2026-11-18")
count = st.integers(min_value=0, max_value=50)
seconds = st.floats(min_value=0, max_value=10 * 86_400, allow_nan=False)
rows = st.lists(
    st.builds(
        DayCounts,
        day=st.sampled_from(DAYS),
        runbook=st.sampled_from(RUNBOOKS),
        **dict.fromkeys(COUNTS, count),
        heal_seconds=st.lists(seconds, max_size=12).map(tuple),
    ),
    max_size=25,
)


def layer(name: str) -> str:
    return LAYERS.get(name, "infrastructure")


@given(rows, st.sets(st.sampled_from(DAYS)))
def test_counts_add_up_over_runbooks_and_layers(given_rows: list[DayCounts], window: set[str]) -> None:
    doc = aggregate(given_rows, layer, days=window).as_json()
    inside = [r for r in given_rows if not window or r.day in window]
    for name in COUNTS:
        expected = sum(getattr(r, name) for r in inside)
        assert sum(r[name] for r in doc["runbooks"]) == expected
        assert sum(f[name] for f in doc["layers"].values()) == expected
    assert {r["runbook"] for r in doc["runbooks"]} == {r.runbook for r in inside}
    assert all(doc["layers"][r["layer"]] for r in doc["runbooks"])


@given(rows)
def test_success_rate_is_a_rate_and_median_is_never_above_p90(given_rows: list[DayCounts]) -> None:
    doc = aggregate(given_rows, layer).as_json()
    for figures in [*doc["runbooks"], *doc["layers"].values()]:
        rate = figures["success_rate"]
        assert (rate is None) == (figures["acted"] == 0)
        assert rate is None or 0.0 <= rate <= 1.0
        median, p90 = figures["median_time_to_heal_s"], figures["p90_time_to_heal_s"]
        assert (median is None) == (p90 is None)
        assert median is None or median <= p90


@given(st.integers(min_value=0, max_value=4_000_000_000_000), st.integers(min_value=1, max_value=400 * 86_400))
def test_the_window_days_cover_the_window_oldest_first(now_ms: int, since_s: int) -> None:
    days = window_days(now_ms, since_s)
    assert list(days) == sorted(set(days))
    assert since_s // 86_400 + 1 <= len(days) <= since_s // 86_400 + 2
