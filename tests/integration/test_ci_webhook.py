"""CI is the judge through GitHub's webhook: GitHub's documented ``check_run`` / ``check_suite`` /
``status`` payloads (tests/events/github), signed, into the webhook's use case, against the local
GitHub-like server (check runs, commit statuses, annotations, markPullRequestReadyForReview,
review requests, comments) and the moto server (the group's conditional writes).

A draft PR (API mode, reviewers kept for later) → a failing check run → one repair commit on
the branch (the stream, the queue, the fixer) → a green check suite on the new head → ready for
review with its reviewer requested then; a delivery about the older head changes nothing; a
failing commit status after the repairs ends the group CI_FAILED with a comment.
Gap covered: unit tests parse the payloads and fold the checks; this runs the whole loop.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubReads, GitHubRepository
from chalicelib.core.models import Status
from chalicelib.core.spend import SpendLimits
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from chalicelib.usecases.resolve import Resolve
from tests.conftest import load_event
from tests.fix_fixtures import NONE_DISCOUNT_TRACE, SAMPLE_APP, converse_answer
from tests.github_hooks import SECRET, delivery
from tests.github_server import FakeGitHub
from tests.integration.test_fixability_gate import _deliver
from tests.integration.test_spend import Pipeline, Quiet

pytestmark = pytest.mark.integration

RETURN = "    return DISCOUNTS[code.upper()]"
WRONG = "    return DISCOUNTS.get(code, 0) if code else 0"
ANSWERS = {
    "AttributeError": [
        converse_answer([{"path": "shop/pricing.py", "search": RETURN, "replace": WRONG}], title="No code"),
        converse_answer(
            [{"path": "shop/pricing.py", "search": WRONG,
              "replace": "    return DISCOUNTS.get(code.upper(), 0) if code else 0"}], title="Upper-case codes",
        ),
    ]
}  # fmt: skip


@pytest.fixture
def github():
    files = {str(p.relative_to(SAMPLE_APP)): p.read_text() for p in SAMPLE_APP.rglob("*.py")}
    server = FakeGitHub("acme", "shop", files).start()
    yield server
    server.stop()


def _stack(aws, tmp_path, github: FakeGitHub) -> tuple[Pipeline, Resolve]:
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(ANSWERS))
    fixer = ModelFixer(
        lambda: GitHubRepository("acme/shop", github.token, github.base_url, paced=False),
        GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False),
        ReplayModel(replay),
        FixSettings(await_checks=True, reviewers=("alice",), repository="github.example/acme/shop"),
    )
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10), fixer=fixer)
    reads = GitHubReads("acme/shop", github.token, github.base_url, paced=False)
    secret = SECRET.encode()
    resolve = Resolve(lambda: secret, lambda: p.store, lambda _service: reads, Quiet(), clock=p.clock)
    return p, resolve


def _payload(name: str, branch: str, sha: str, number: int) -> dict:
    """GitHub's documented example, pointed at the selfheal PR."""
    doc = load_event(f"github/{name}")
    doc["repository"].update({"full_name": "acme/shop", "html_url": "https://github.example/acme/shop"})
    if name == "status":
        doc["sha"] = sha
        doc["branches"][1].update({"name": branch, "commit": {"sha": sha}})
        return doc
    suite = doc["check_suite"] if name == "check_suite_completed" else doc["check_run"]["check_suite"]
    suite.update({"head_branch": branch, "head_sha": sha})
    if name == "check_run_completed":
        doc["check_run"]["head_sha"] = sha
    for pull in [*suite["pull_requests"], *doc.get("check_run", {}).get("pull_requests", [])]:
        pull.update({"number": number, "head": {**pull["head"], "ref": branch, "sha": sha}})
    return doc


def _send(resolve: Resolve, event: str, payload: dict) -> tuple[int, str]:
    return resolve.webhook(*delivery(event, payload))


def test_red_then_one_repair_then_green_makes_the_pr_ready_and_asks_the_reviewer_then(aws, tmp_path, github) -> None:
    p, resolve = _stack(aws, tmp_path, github)
    fp = _deliver(p, NONE_DISCOUNT_TRACE.strip())[NONE_DISCOUNT_TRACE.strip()]
    p.run_jobs()
    group = p.group(fp)
    [pr] = github.pulls
    # GIVEN a draft PR, nobody asked to review yet, its head the fixer's commit
    assert (group.status, group.checks, pr["draft"], pr.get("reviewers")) == (Status.PR_OPENED, "pending", True, None)
    first = github.head_of(group.branch)
    assert group.head_sha == first
    # WHEN CI fails a check run on that head (with an annotation) and GitHub delivers check_run completed
    github.add_check_run(first, "tests", "failure", title="1 test failed", summary="test_vip failed",
                         annotations=[{"path": "shop/pricing.py", "start_line": 10, "annotation_level": "failure",
                                       "message": "assert 0 == 25"}])  # fmt: skip
    status, answer = _send(resolve, "check_run", _payload("check_run_completed", group.branch, first, pr["number"]))
    # THEN the group is re-opened for one repair, shown the failing output
    assert (status, answer) == (200, "checks failed: repair")
    repairing = p.group(fp)
    assert (repairing.status, repairing.repairs, repairing.previous_attempt) == (Status.NEW, 1, "repair")
    assert "assert 0 == 25" in repairing.check_output and "1 test failed" in repairing.check_output
    # WHEN the stream and the fixer run: a repair commit on top of the failed fix, same branch, same PR
    p.stream()
    assert p.run_jobs() == [Status.PR_OPENED]
    repaired = p.group(fp)
    second = github.head_of(group.branch)
    assert github.commits[second]["parents"] == [first] and repaired.head_sha == second
    assert len(github.pulls) == 1 and github.pulls[0]["draft"] is True and repaired.checks == "pending"
    # WHEN a late delivery about the old head arrives: nothing changes
    _, stale = _send(resolve, "check_suite", _payload("check_suite_completed", group.branch, first, pr["number"]))
    assert stale.startswith("ignored: checks of") and p.group(fp).status == Status.PR_OPENED
    # WHEN CI passes on the new head and GitHub delivers check_suite completed
    github.add_check_run(second, "tests", "success", title="all passed")
    github.add_status(second, "lint", "success")
    green = _payload("check_suite_completed", group.branch, second, pr["number"])
    status, answer = _send(resolve, "check_suite", green)
    # THEN ready for review, the reviewer asked now
    assert (status, answer) == (200, "checks passed: ready")
    ready = p.group(fp)
    assert (ready.status, ready.checks, ready.ready, ready.repairs) == (Status.PR_OPENED, "passed", True, 1)
    assert github.pulls[0]["draft"] is False and github.pulls[0]["reviewers"] == ["alice"]


def test_a_failing_status_after_the_repairs_ends_ci_failed_with_a_comment(aws, tmp_path, github, monkeypatch) -> None:
    monkeypatch.setenv("SELFHEAL_REPAIR_ROUNDS", "0")  # no repair: the first red is the verdict
    p, resolve = _stack(aws, tmp_path, github)
    fp = _deliver(p, NONE_DISCOUNT_TRACE.strip())[NONE_DISCOUNT_TRACE.strip()]
    p.run_jobs()
    group = p.group(fp)
    head = github.head_of(group.branch)
    # WHEN the older commit-status API reports a failure (a status delivery names the branch only)
    github.add_status(head, "ci/jenkins", "failure", description="3 tests failed")
    status, answer = _send(resolve, "status", _payload("status", group.branch, head, 0) | {"state": "failure"})
    # THEN CI_FAILED, the PR a draft with a comment saying what failed
    assert (status, answer) == (200, "checks failed: ci_failed")
    failed = p.group(fp)
    assert (failed.status, failed.checks) == (Status.CI_FAILED, "failed")
    assert "3 tests failed" in failed.check_output
    [comment] = github.comments[github.pulls[0]["number"]]
    assert "ends CI_FAILED" in comment["body"] and "ci/jenkins: failure" in comment["body"]
    assert github.pulls[0]["draft"] is True
    # and a re-open by a person is allowed (like FAILED)
    assert p.store.reopen(fp, p.clock(), by="retry").status == Status.NEW


def test_deliveries_about_other_branches_or_unfinished_runs_touch_nothing(aws, tmp_path, github) -> None:
    _, resolve = _stack(aws, tmp_path, github)
    calls = sum(aws.calls.values())
    other = _payload("check_suite_completed", "feature/x", "a" * 40, 3)
    running = _payload("check_run_completed", "selfheal/0123456789ab", "b" * 40, 3) | {"action": "created"}
    pending = _payload("status", "selfheal/0123456789ab", "c" * 40, 0) | {"state": "pending"}
    assert _send(resolve, "check_suite", other) == (200, "ignored: check_suite of a branch that is not selfheal's")
    assert _send(resolve, "check_run", running) == (200, "ignored: check_run created")
    assert _send(resolve, "status", pending) == (200, "ignored: status pending")
    assert sum(aws.calls.values()) == calls  # no AWS request for any of them


def test_fixes_stats_reads_the_table(aws, capsys) -> None:
    import selfheal

    # WHEN the command runs against the stack's table
    code = selfheal.main(["fixes", "stats", "--since", "0", "--json", "--endpoint-url",
                          aws.settings.endpoint_url, "--table", aws.stack.table_name])  # fmt: skip
    # THEN one JSON document with the figures (an empty table: zeros, no division)
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["prs_opened"] == 0 and doc["merge_rate"] == 0.0 and doc["by_model"] == {}


def _lazy(aws, tmp_path, github):
    from chalicelib.usecases.fate import Fate

    p, _ = _stack(aws, tmp_path, github)
    fp = _deliver(p, NONE_DISCOUNT_TRACE.strip())[NONE_DISCOUNT_TRACE.strip()]
    p.run_jobs()
    reads = GitHubReads("acme/shop", github.token, github.base_url, paced=False)
    return p, fp, Fate(p.store, lambda _service: reads, Quiet(), clock=p.clock)


def test_without_webhooks_the_hourly_read_judges_the_head_checks(aws, tmp_path, github) -> None:
    p, fp, fate = _lazy(aws, tmp_path, github)
    # GIVEN no check yet: the read changes nothing
    assert fate.check_pr(p.group(fp)) == "" and p.group(fp).checks == "pending"
    # WHEN CI passes later and the next hourly read comes
    github.add_check_run(github.head_of(p.group(fp).branch), "tests", "success")
    p.clock.jump(61 * 60_000)
    fate.check_pr(p.group(fp))
    # THEN ready for review, as a delivery would have made it
    group = p.group(fp)
    assert (group.checks, group.ready, github.pulls[0]["draft"]) == ("passed", True, False)


def test_no_check_within_the_wait_is_checks_none_with_a_comment(aws, tmp_path, github) -> None:
    p, fp, fate = _lazy(aws, tmp_path, github)
    # WHEN two hours pass without any check on the branch
    p.clock.jump(121 * 60_000)
    fate.check_pr(p.group(fp))
    # THEN checks: none, a comment that the repository has no CI for it, still a draft
    group = p.group(fp)
    assert (group.status, group.checks, group.ready) == (Status.PR_OPENED, "none", False)
    [comment] = github.comments[github.pulls[0]["number"]]
    assert "no check reported on this branch within 120 minutes" in comment["body"]
    assert github.pulls[0]["draft"] is True
