"""Properties of core/checks.py (a safety decision: what makes a PR ready for review)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.checks import CheckRun, fold, next_step
from chalicelib.core.models import ErrorGroup

CONCLUSIONS = ("success", "failure", "neutral", "skipped", "cancelled", "timed_out", "action_required", "error", "")
runs = st.lists(
    st.builds(
        CheckRun,
        name=st.sampled_from(["tests", "lint", "build"]),
        status=st.sampled_from(["completed", "completed", "in_progress", "queued"]),
        conclusion=st.sampled_from(CONCLUSIONS),
    ),
    max_size=8,
)


def latest(found: list[CheckRun]) -> dict[str, CheckRun]:
    return {run.name: run for run in found}


@given(runs)
def test_passed_only_when_every_latest_run_completed_green(found) -> None:
    last = latest(found)
    passed = bool(last) and all(r.status == "completed" and r.conclusion in ("success", "neutral", "skipped")
                                for r in last.values())  # fmt: skip
    assert (fold(found).state == "passed") == passed


@given(runs)
def test_failed_exactly_when_a_latest_run_completed_red_and_then_it_names_it(found) -> None:
    report = fold(found)
    red = [r for r in latest(found).values() if r.failed]
    assert (report.state == "failed") == bool(red)
    assert all(f"### {r.name}: {r.conclusion}" in report.output for r in red)


@given(runs, st.integers(0, 3), st.integers(0, 3), st.integers(0, 2))
def test_a_weakened_fix_is_never_ready_and_repairs_never_exceed_the_rounds(found, repairs, rounds, weakened) -> None:
    group = ErrorGroup("f" * 32, "PR_OPENED", repairs=repairs, weakened_checks=weakened)
    step = next_step(group, fold(found), rounds)
    assert step != "ready" or weakened == 0
    assert step != "repair" or repairs < rounds
    assert step in ("ready", "hold", "repair", "ci_failed", "wait")
