"""No duplicate pull requests: a fix that changes the same lines as an open selfheal PR of the
same repository links its group to that PR (a comment naming it) instead of opening another.

Through the real fix service and store (moto server: the open-PR index item and the groups'
``pr_ranges``), with the model's answers replayed, against the local GitHub-like server (API
mode: the comment is a real POST /issues/{n}/comments) and against a real bare git repository
(git mode: the local PR record gets the comment). Gap covered: the property tests check the
overlap arithmetic; these check the index, the skip and the comment end to end.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
from chalicelib.core.models import Status
from chalicelib.core.spend import SpendLimits
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, SAMPLE_APP, bare_repo_of_sample_app, converse_answer
from tests.github_server import FakeGitHub
from tests.integration.test_fixability_gate import _deliver
from tests.integration.test_spend import Pipeline

pytestmark = pytest.mark.integration

WINTER_TRACE = NONE_DISCOUNT_TRACE.replace(
    "AttributeError: 'NoneType' object has no attribute 'upper'", "KeyError: 'WINTER'"
).strip()
AVERAGE_TRACE = """Traceback (most recent call last):
  File "/var/task/handler.py", line 11, in lambda_handler
    return orders.handle(event)
  File "/var/task/shop/pricing.py", line 20, in average_price
    return sum(prices) / len(prices)
ZeroDivisionError: division by zero"""
ANSWERS = {
    "AttributeError": converse_answer([{**GOOD_EDIT, "replace": "    return DISCOUNTS[code.upper()] if code else 0"}]),
    "KeyError": converse_answer(
        [{**GOOD_EDIT, "replace": "    return DISCOUNTS.get(code.upper(), 0)"}], title="Unknown codes get no discount"
    ),
    "ZeroDivisionError": converse_answer(
        [{"path": "shop/pricing.py", "search": "    return sum(prices) / len(prices)",
          "replace": "    return sum(prices) / len(prices) if prices else 0.0"}], title="Empty basket"
    ),
}  # fmt: skip


def _run(aws, tmp_path, repo_factory, pulls, repository: str) -> tuple[Pipeline, dict[str, str]]:
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(ANSWERS))
    fixer = ModelFixer(repo_factory, pulls, ReplayModel(replay), FixSettings(repository=repository))
    p = Pipeline(aws, SpendLimits(), fixer=fixer)
    fps = _deliver(p, NONE_DISCOUNT_TRACE.strip(), WINTER_TRACE, AVERAGE_TRACE)
    p.run_jobs()
    return p, {"none": fps[NONE_DISCOUNT_TRACE.strip()], "winter": fps[WINTER_TRACE], "average": fps[AVERAGE_TRACE]}


def _split(p: Pipeline, fps: dict[str, str]):
    """(the discount group whose PR opened, the discount group linked to it, the average group)."""
    first, second = sorted((p.group(fps["none"]), p.group(fps["winter"])), key=lambda g: g.status != Status.PR_OPENED)
    return first, second, p.group(fps["average"])


def test_api_mode_links_the_second_group_to_the_open_pr_with_a_comment(aws, tmp_path) -> None:
    files = {str(path.relative_to(SAMPLE_APP)): path.read_text() for path in SAMPLE_APP.rglob("*.py")}
    github = FakeGitHub("acme", "shop", files).start()
    try:
        # GIVEN two groups whose fixes change the same line of shop/pricing.py, and a third elsewhere
        p, fps = _run(
            aws, tmp_path,
            lambda: GitHubRepository("acme/shop", github.token, github.base_url, paced=False),
            GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False),
            "github.com/acme/shop",
        )  # fmt: skip
        first, second, average = _split(p, fps)
        # THEN two PRs, not three: the second discount group is SKIPPED, linked to the first's PR
        assert len(github.pulls) == 2
        assert (first.status, average.status) == (Status.PR_OPENED, Status.PR_OPENED)
        assert second.status == Status.SKIPPED
        assert (second.duplicate_of, second.duplicate_pr) == (first.fingerprint, first.pr_url)
        assert second.reason.startswith(f"duplicate: the open pull request {first.pr_url}")
        assert "changes the same lines (shop/pricing.py:" in second.reason
        # and the first PR has a comment naming the second group, written through the API
        number = int(first.pr_url.rsplit("/", 1)[1])
        [comment] = github.comments[number]
        assert second.fingerprint in comment["body"] and comment["login"] == github.author
        assert ("POST", f"/api/v3/repos/acme/shop/issues/{number}/comments") in github.requests
        # and the tokens of the duplicate's answer are on its group (a repair is never free either)
        assert second.spent_tokens_in > 0
        # and both open PRs are in the repository's index, with their changed lines
        assert {g.fingerprint for g in p.store.open_prs("github.com/acme/shop")} == {
            first.fingerprint, average.fingerprint,
        }  # fmt: skip
        assert list(json.loads(first.pr_ranges)) == ["shop/pricing.py"]
        assert json.loads(average.pr_ranges) == {"shop/pricing.py": [[20, 20]]}
    finally:
        github.stop()


def test_git_mode_comments_in_the_local_pr_record_and_a_merged_pr_leaves_the_index(aws, tmp_path) -> None:
    bare = bare_repo_of_sample_app(tmp_path)
    pulls = LocalPullRequests(bare)
    p, fps = _run(aws, tmp_path, lambda: GitRepository(str(bare)), pulls, "local/shop")
    first, second, _ = _split(p, fps)
    # THEN the second group is linked, and the first PR's record holds the comment
    assert second.status == Status.SKIPPED and second.duplicate_of == first.fingerprint
    record = pulls.path_of(first.pr_url)
    assert record is not None and f"error group `{second.fingerprint}`" in record.read_text()
    assert len(list(pulls.dir.glob("*.md"))) == 2
    # WHEN the first PR is merged: it is no longer an open PR of the repository
    p.store.mark_merged(first.fingerprint, first.pr_url, p.clock(), p.clock())
    assert first.fingerprint not in {g.fingerprint for g in p.store.open_prs("local/shop")}
    # WHEN the second bug occurs again, its first group's PR no longer open
    _deliver(p, WINTER_TRACE if second.fingerprint == fps["winter"] else NONE_DISCOUNT_TRACE.strip())
    # THEN it is re-opened to be fixed on its own, and its job leaves (an automatic attempt of its own)
    again = p.group(second.fingerprint)
    assert (again.status, again.reopened_by) == (Status.QUEUED, "duplicate")
    p.run_jobs()
    assert p.group(second.fingerprint).status == Status.PR_OPENED
