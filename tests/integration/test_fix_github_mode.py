"""Fix generation in GitHub API mode against a local server that answers like GitHub's REST API."""

from __future__ import annotations

import ast
import json

import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
from chalicelib.core.models import Status
from chalicelib.errors import ConfigError
from chalicelib.services.fix_generation import ModelFixer
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, SAMPLE_APP, converse_answer, group_from_log
from tests.github_server import FakeGitHub


class Lease:
    def set_branch(self, branch: str) -> None:
        self.branch = branch


@pytest.fixture
def github():
    files = {str(p.relative_to(SAMPLE_APP)): p.read_text() for p in SAMPLE_APP.rglob("*.py")}
    server = FakeGitHub("acme", "shop", files).start()
    yield server
    server.stop()


def fixer(github, tmp_path, answers) -> ModelFixer:
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps(answers))
    return ModelFixer(
        lambda: GitHubRepository("acme/shop", github.token, github.base_url),
        GitHubPullRequests("acme/shop", github.token, github.base_url),
        ReplayModel(replay, announce=lambda s: None),
    )


def test_fix_opens_one_pr_through_the_git_data_api(github, tmp_path) -> None:
    group = group_from_log(NONE_DISCOUNT_TRACE)
    outcome = fixer(github, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, Lease())
    branch = f"selfheal/{group.fingerprint[:12]}"
    assert (outcome.status, outcome.branch) == (Status.PR_OPENED, branch)
    assert outcome.pr_url == "https://github.example/acme/shop/pull/1"
    fixed = github.file_at(branch, "shop/pricing.py")
    assert "if not code:\n        return 0" in fixed
    ast.parse(fixed)
    assert github.file_at("main", "shop/pricing.py") != fixed
    [pr] = github.pulls
    assert (pr["head_ref"], pr["base_ref"], pr["labels"], pr["draft"]) == (branch, "main", ["selfheal"], False)
    assert "needs human review" in pr["body"]
    # Only the files in the trace were read: no clone, no contents of unrelated files.
    blob_reads = [p for m, p in github.requests if m == "GET" and "/git/blobs/" in p]
    assert 1 <= len(blob_reads) <= 3


def test_second_fix_moves_the_branch_and_updates_the_same_pr(github, tmp_path) -> None:
    group = group_from_log(NONE_DISCOUNT_TRACE)
    fixer(github, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, Lease())
    second = {**GOOD_EDIT, "replace": "    if code is None:\n        return 0\n    return DISCOUNTS[code.upper()]"}
    outcome = fixer(github, tmp_path, [converse_answer([second])]).fix(group, Lease())
    assert len(github.pulls) == 1 and outcome.pr_url.endswith("/pull/1")
    assert "if code is None" in github.file_at(outcome.branch, "shop/pricing.py")
    assert ("PATCH", f"/api/v3/repos/acme/shop/git/refs/heads/{outcome.branch}") in github.requests


def test_a_pr_opened_meanwhile_is_found_after_422(github, tmp_path) -> None:
    prs = GitHubPullRequests("acme/shop", github.token, github.base_url)
    repo = GitHubRepository("acme/shop", github.token, github.base_url)
    repo.publish("selfheal/x", {"shop/pricing.py": "X = 1\n"}, "m")
    first = prs.open_or_update("selfheal/x", "main", "t", "b", False, [])
    # GIVEN the list call misses the open PR (a race), so the create answers 422
    github.stale_pull_lists = 1
    again = prs.open_or_update("selfheal/x", "main", "t2", "b2", True, ["bug"])
    assert first == again and len(github.pulls) == 1 and github.pulls[0]["title"] == "t2"
    assert github.pulls[0]["labels"] == ["bug"]
    assert ("POST", "/api/v3/repos/acme/shop/pulls") in github.requests


def test_bad_token_is_a_clear_configuration_error(github) -> None:
    with pytest.raises(ConfigError, match="401"):
        GitHubRepository("acme/shop", "ghp_" + "x" * 36, github.base_url)
