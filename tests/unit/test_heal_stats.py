"""Healing statistics (core/heal_stats.py), the runbooks' layers, and what a runbook notice says about
its layer, its time and its attempt."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib.core.heal_stats import (
    DayCounts,
    aggregate,
    day_of,
    parse_since,
    percentile,
    render,
    window_days,
)
from chalicelib.core.notices import decision_notice
from chalicelib.core.runbooks import RUNBOOKS, layer_of
from chalicelib.usecases.remediate import timing

DAY_MS = 86_400_000
NOW = 1_795_000_000_000  # 2026-11-18T...Z
CONTRACT = {"runbook", "layer", "acted", "healed", "escalated", "failed", "suppressed", "success_rate",
            "median_time_to_heal_s"}  # fmt: skip


def test_the_json_has_the_contract_fields_per_runbook_and_per_layer() -> None:
    rows = [
        DayCounts(
            "2026-11-18", "ec2-reboot", acted=4, healed=3, escalated=1, suppressed=9, heal_seconds=(300, 60, 120)
        ),
        DayCounts("2026-11-18", "lambda-rollback", acted=1, escalated=1),
        DayCounts("2026-11-17", "ec2-reboot", acted=1, failed=1),
    ]
    doc = aggregate(rows, layer_of).as_json()
    reboot = next(r for r in doc["runbooks"] if r["runbook"] == "ec2-reboot")
    assert CONTRACT <= set(reboot)
    assert (reboot["layer"], reboot["acted"], reboot["healed"], reboot["failed"]) == ("infrastructure", 5, 3, 1)
    assert reboot["success_rate"] == 0.6 and reboot["median_time_to_heal_s"] == 120.0
    assert reboot["p90_time_to_heal_s"] == 300.0
    assert set(doc["layers"]) == {"infrastructure", "platform"}
    assert CONTRACT - {"runbook"} <= set(doc["layers"]["platform"])
    assert doc["layers"]["platform"]["success_rate"] == 0.0
    assert doc["layers"]["platform"]["median_time_to_heal_s"] is None  # nothing healed: no time


def test_nothing_acted_has_no_success_rate_and_days_outside_the_window_are_left_out() -> None:
    rows = [
        DayCounts("2026-11-01", "ec2-reboot", acted=3, healed=3),
        DayCounts("2026-11-18", "ec2-reboot", suppressed=2),
    ]
    doc = aggregate(rows, layer_of, days=["2026-11-18"]).as_json()
    assert doc["runbooks"] == [{**doc["runbooks"][0], "acted": 0, "healed": 0, "suppressed": 2, "success_rate": None}]
    assert doc["days"] == ["2026-11-18"]


def test_a_heal_of_an_action_acted_before_the_window_never_makes_the_rate_above_one() -> None:
    doc = aggregate([DayCounts("2026-11-18", "ec2-reboot", acted=1, healed=2)], layer_of).as_json()
    assert doc["runbooks"][0]["success_rate"] == 1.0


def test_the_window_is_widened_to_whole_utc_days() -> None:
    assert window_days(NOW, 7 * 86_400) == tuple(day_of(NOW - d * DAY_MS) for d in range(7, -1, -1))
    assert window_days(NOW, 60) in ((day_of(NOW),), (day_of(NOW - 60_000), day_of(NOW)))
    assert day_of(0) == "1970-01-01"


@pytest.mark.parametrize(("text", "seconds"), [("7d", 604_800), ("24h", 86_400), ("90m", 5_400), ("30", 2_592_000)])
def test_since_reads_days_hours_minutes(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "7w", "-1d", "d"])
def test_since_refuses_what_is_not_a_window(text: str) -> None:
    with pytest.raises(ValueError, match="not a window"):
        parse_since(text)


def test_percentile_is_a_value_that_occurred() -> None:
    assert percentile((), 50) is None
    assert percentile((5.0,), 90) == 5.0
    assert percentile(tuple(float(v) for v in range(1, 11)), 90) == 9.0


def test_the_table_shows_each_runbook_and_each_layer() -> None:
    text = render(aggregate([DayCounts("2026-11-18", "ecs-redeploy", acted=2, healed=1, heal_seconds=(30,))], layer_of))
    lines = text.splitlines()
    assert lines[0].startswith("RUNBOOK") and "ecs-redeploy" in lines[1] and "50%" in lines[1]
    assert lines[2].startswith("(all platform)")
    assert "no runbook decisions" in render(aggregate([], layer_of, days=["2026-11-18"]))


def test_every_runbook_has_a_layer_and_an_unknown_one_is_infrastructure() -> None:
    layers = {name: layer_of(name) for name in RUNBOOKS}
    assert set(layers.values()) <= {"infrastructure", "platform", "application", "data", "network"}
    assert layers["ecs-redeploy"] == layers["lambda-rollback"] == "platform"
    assert layers["ec2-reboot"] == layers["ec2-isolate"] == "infrastructure"
    assert layer_of("no-such-runbook") == "infrastructure"


def test_a_notice_carries_layer_start_end_and_attempt() -> None:
    notice = decision_notice(
        "healed", runbook="ec2-reboot", resource="i-1", reason="OK", action_id="e1",
        layer="infrastructure", started_ms=NOW, ended_ms=NOW + 300_000, attempt=2,
    )  # fmt: skip
    assert notice is not None
    context = notice.chatbot()["metadata"]["additionalContext"]
    assert context["layer"] == "infrastructure" and context["attempt"] == "2"
    assert context["started"] < context["ended"] and context["ended"].endswith("Z")
    assert "Layer: infrastructure; attempt 2; started" in notice.text() and "(300s)" in notice.text()


def test_a_notice_without_timing_says_nothing_of_it() -> None:
    notice = decision_notice("escalate", runbook="", resource="", reason="ambiguous")
    assert notice is not None
    assert not {"layer", "started", "ended", "attempt"} & set(notice.context) and "Layer" not in notice.text()


def test_a_healed_record_started_at_the_act_it_verified() -> None:
    # An OK event's healed record is made at the OK: it started time_to_heal before
    healed = SimpleNamespace(created_ms=NOW, after={"time_to_heal_ms": 300_000}, decided_ms=0)
    assert timing(healed, "healed", NOW + 5) == (NOW - 300_000, NOW + 5)
    # a closed action ended when it was closed; one awaiting approval has not ended
    closed = SimpleNamespace(created_ms=NOW, after={}, decided_ms=NOW + 60_000)
    assert timing(closed, "escalate", NOW + 99) == (NOW, NOW + 60_000)
    waiting = SimpleNamespace(created_ms=NOW, after={}, decided_ms=0)
    assert timing(waiting, "awaiting_approval", NOW + 99) == (NOW, 0)
