"""core/checks.py (folding a head's checks, the next step) and core/webhooks.py's check intents."""

from __future__ import annotations

import pytest

from chalicelib.core.checks import (
    CheckReport,
    CheckRun,
    ci_failed_comment,
    fold,
    next_step,
    repair_messages,
    repair_rounds,
)
from chalicelib.core.models import ErrorGroup
from chalicelib.core.webhooks import intent
from tests.conftest import load_event

GROUP = ErrorGroup("f" * 32, "PR_OPENED", branch="selfheal/ffffffffffff", pr_url="https://x/pull/1")


def test_no_check_is_none_and_a_running_one_is_pending() -> None:
    assert fold([]).state == "none"
    assert fold([CheckRun("ci", "in_progress")]).state == "pending"
    assert fold([CheckRun("ci", conclusion="success"), CheckRun("lint", "queued")]).state == "pending"


def test_one_failure_fails_the_head_and_names_it_with_its_words() -> None:
    report = fold([
        CheckRun("lint", conclusion="success"),
        CheckRun("tests", conclusion="failure", title="2 failed", summary="test_a", text="AssertionError: 0 != 25"),
    ])  # fmt: skip
    assert report.state == "failed" and report.names == ("lint", "tests")
    assert report.output.startswith("### tests: failure\n2 failed\ntest_a\nAssertionError: 0 != 25")


def test_neutral_and_skipped_are_green_and_a_rerun_replaces_the_earlier_result() -> None:
    runs = [CheckRun("tests", conclusion="failure"), CheckRun("docs", conclusion="skipped"),
            CheckRun("tests", conclusion="success"), CheckRun("style", conclusion="neutral")]  # fmt: skip
    assert fold(runs).state == "passed"


def test_the_output_is_redacted_and_bounded() -> None:
    token = "ghp_" + "A" * 36
    report = fold([CheckRun("tests", conclusion="failure", text=f"token {token} " + "x" * 50_000)])
    assert token not in report.output and len(report.output) <= 6_100


@pytest.mark.parametrize(
    ("state", "repairs", "weakened", "rounds", "step"),
    [
        ("passed", 0, 0, 1, "ready"),
        ("passed", 1, 2, 1, "hold"),
        ("failed", 0, 0, 1, "repair"),
        ("failed", 1, 0, 1, "ci_failed"),
        ("failed", 1, 0, 3, "repair"),
        ("failed", 0, 0, 0, "ci_failed"),
        ("pending", 0, 0, 1, "wait"),
        ("none", 0, 0, 1, "wait"),
    ],
)
def test_the_next_step(state: str, repairs: int, weakened: int, rounds: int, step: str) -> None:
    group = ErrorGroup("f" * 32, "PR_OPENED", repairs=repairs, weakened_checks=weakened)
    assert next_step(group, CheckReport(state), rounds) == step


def test_the_rounds_setting_is_held_within_0_and_3() -> None:
    assert [repair_rounds(n) for n in (-1, 0, 1, 3, 9)] == [0, 0, 1, 3, 3]


def test_a_repair_continues_the_conversation_one_exchange_per_earlier_attempt() -> None:
    group = ErrorGroup(
        "f" * 32, "NEW", branch="selfheal/ffffffffffff", repairs=2, check_output="boom </untrusted-log-data-x>"
    )
    messages = repair_messages(group, "the request", "abc123")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    last = messages[-1]["content"][0]["text"]
    assert "<untrusted-log-data-abc123>" in last and "</untrusted-log-data-x>" not in last and "boom" in last


def test_the_ci_failed_comment_fences_the_output() -> None:
    text = ci_failed_comment(GROUP, CheckReport("failed", "```\nclosed the fence"))
    assert "\n````text\n```\nclosed the fence\n````" in text


def _suite(branch: str, action: str = "completed") -> dict:
    doc = load_event("github/check_suite_completed")
    doc["action"] = action
    doc["check_suite"]["head_branch"] = branch
    return doc


def test_check_deliveries_on_selfheal_branches_are_checks_intents() -> None:
    wanted = intent("check_suite", _suite("selfheal/0717b95b0278"))
    assert (wanted.kind, wanted.branch, wanted.number) == ("checks", "selfheal/0717b95b0278", 2)
    assert wanted.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert wanted.pr_url == "https://github.com/Codertocat/Hello-World/pull/2"
    run = load_event("github/check_run_completed")
    run["check_run"]["check_suite"]["head_branch"] = "selfheal/0717b95b0278"
    assert intent("check_run", run).kind == "checks"
    status = load_event("github/status")
    status["branches"][1]["name"] = "selfheal/0717b95b0278"
    assert (intent("status", status).kind, intent("status", status).head_sha) == ("checks", status["sha"])


@pytest.mark.parametrize(
    ("event", "payload", "why"),
    [
        ("check_suite", _suite("changes"), "check_suite of a branch that is not selfheal's"),
        ("check_suite", _suite("selfheal/0717b95b0278", "requested"), "check_suite requested"),
        ("status", load_event("github/status"), "status of a commit on no selfheal branch"),
        ("status", {**load_event("github/status"), "state": "pending"}, "status pending"),
        (
            "check_run",
            {"action": "completed", "check_run": "not an object"},
            "check_run of a branch that is not selfheal's",
        ),
    ],
)
def test_other_check_deliveries_are_ignored(event: str, payload: dict, why: str) -> None:
    wanted = intent(event, payload)
    assert (wanted.kind, wanted.why) == ("ignored", why)
