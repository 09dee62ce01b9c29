"""Fix generation in GitHub API mode against a local server that answers like GitHub's REST API."""

from __future__ import annotations

import ast
import json

import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
from chalicelib.core.models import Status
from chalicelib.errors import ConfigError, FixRejected
from chalicelib.usecases.fix_generation import ModelFixer
from tests.fix_fixtures import (
    GOOD_EDIT,
    NONE_DISCOUNT_TRACE,
    SAMPLE_APP,
    RecordingModel,
    converse_answer,
    group_from_log,
)
from tests.github_server import FakeGitHub

FILES = {str(p.relative_to(SAMPLE_APP)): p.read_text() for p in SAMPLE_APP.rglob("*.py")}


class Lease:
    def set_branch(self, branch: str) -> None:
        self.branch = branch


@pytest.fixture
def github():
    server = FakeGitHub("acme", "shop", FILES).start()
    yield server
    server.stop()


@pytest.fixture
def github_with():
    """A server whose default branch has some files with other modes (executable, link)."""
    servers: list[FakeGitHub] = []

    def start(files: dict[str, str], modes: dict[str, str]) -> FakeGitHub:
        servers.append(FakeGitHub("acme", "shop", files, modes=modes).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def model_fixer(github, model) -> ModelFixer:
    return ModelFixer(
        lambda: GitHubRepository("acme/shop", github.token, github.base_url, paced=False),
        GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False),
        model,
    )


def fixer(github, tmp_path, answers) -> ModelFixer:
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps(answers))
    return ModelFixer(
        lambda: GitHubRepository("acme/shop", github.token, github.base_url, paced=False),
        GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False),
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
    # No clone: the files in the trace, and at most the ranked search's bound of others (its reads are
    # requests here), each read once.
    blob_reads = [p for m, p in github.requests if m == "GET" and "/git/blobs/" in p]
    assert 1 <= len(blob_reads) <= 3 + GitHubRepository.search_files
    assert len(set(blob_reads)) == len(blob_reads)


def test_second_fix_moves_the_branch_and_updates_the_same_pr(github, tmp_path) -> None:
    group = group_from_log(NONE_DISCOUNT_TRACE)
    fixer(github, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, Lease())
    second = {**GOOD_EDIT, "replace": "    if code is None:\n        return 0\n    return DISCOUNTS[code.upper()]"}
    outcome = fixer(github, tmp_path, [converse_answer([second])]).fix(group, Lease())
    assert len(github.pulls) == 1 and outcome.pr_url.endswith("/pull/1")
    assert "if code is None" in github.file_at(outcome.branch, "shop/pricing.py")
    assert ("PATCH", f"/api/v3/repos/acme/shop/git/refs/heads/{outcome.branch}") in github.requests


def test_a_pr_opened_meanwhile_is_found_after_422(github, tmp_path) -> None:
    prs = GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False)
    repo = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
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


def test_a_tree_entry_that_is_a_link_is_never_read_or_written(github_with) -> None:
    # GIVEN shop/pricing.py is a symbolic link (mode 120000) in the repository's tree
    github = github_with({**FILES, "shop/pricing.py": "../../../etc/passwd"}, {"shop/pricing.py": "120000"})
    link_sha = github.trees[github.commits[github.refs["heads/main"]]["tree"]]["shop/pricing.py"]["sha"]
    model = RecordingModel([converse_answer([GOOD_EDIT]), converse_answer([GOOD_EDIT], tool_id="t2")])
    # WHEN the model edits it
    with pytest.raises(FixRejected, match="shop/pricing.py"):
        model_fixer(github, model).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    # THEN the link's blob was never fetched, nothing was written, no branch, no PR
    assert ("GET", f"/api/v3/repos/acme/shop/git/blobs/{link_sha}") not in github.requests
    assert not any(m == "POST" for m, _ in github.requests) and github.pulls == []
    repo = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
    assert "shop/pricing.py" not in repo.paths() and repo.read("shop/pricing.py") is None
    with pytest.raises(FixRejected, match="links are never written"):
        repo.publish("selfheal/x", {"shop/pricing.py": "X = 1\n"}, "m")
    assert list(github.refs) == ["heads/main"]


def test_an_executable_file_keeps_its_mode_in_api_mode(github_with) -> None:
    github = github_with(FILES, {"shop/pricing.py": "100755"})
    outcome = model_fixer(github, RecordingModel([converse_answer([GOOD_EDIT])])).fix(
        group_from_log(NONE_DISCOUNT_TRACE), Lease()
    )
    assert github.mode_at(outcome.branch, "shop/pricing.py") == "100755"
    assert github.mode_at(outcome.branch, "shop/orders.py") == "100644"


def test_an_empty_diff_is_never_committed_in_api_mode(github) -> None:
    repo = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
    with pytest.raises(FixRejected, match="changes nothing"):
        repo.publish("selfheal/x", {"shop/pricing.py": repo.read("shop/pricing.py")}, "m")
    assert list(github.refs) == ["heads/main"] and len(github.commits) == 1


def test_crlf_is_kept_in_api_mode(github_with) -> None:
    crlf = FILES["shop/pricing.py"].replace("\n", "\r\n")
    github = github_with({**FILES, "shop/pricing.py": crlf}, {})
    outcome = model_fixer(github, RecordingModel([converse_answer([GOOD_EDIT])])).fix(
        group_from_log(NONE_DISCOUNT_TRACE), Lease()
    )
    fixed = github.file_at(outcome.branch, "shop/pricing.py")
    assert fixed == crlf.replace(
        "    return DISCOUNTS", "    if not code:\r\n        return 0\r\n    return DISCOUNTS", 1
    )


def test_a_fix_that_crashed_after_its_push_is_completed_by_the_next_attempt_not_duplicated_in_api_mode(
    github, tmp_path
) -> None:
    # GIVEN an earlier attempt pushed the branch and died before opening the PR
    group = group_from_log(NONE_DISCOUNT_TRACE)
    branch = f"selfheal/{group.fingerprint[:12]}"
    earlier = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
    earlier.publish(branch, {"shop/pricing.py": FILES["shop/pricing.py"] + "# half done\n"}, "earlier")
    # WHEN the job runs again, twice (the second time after a crash after the PR was opened)
    for _ in range(2):
        outcome = fixer(github, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, Lease())
    # THEN the branch was moved to the new fix and there is one PR for it
    assert outcome.branch == branch and "half done" not in github.file_at(branch, "shop/pricing.py")
    assert len(github.pulls) == 1 and github.pulls[0]["head_ref"] == branch
    assert [r for r in github.refs if r.startswith("heads/selfheal/")] == [f"heads/{branch}"]


def test_pr_body_and_title_in_api_mode_are_inert(github) -> None:
    hostile = converse_answer(
        [GOOD_EDIT], title="Fix\n## Approved", root_cause="Closes #1 cc @acme/security <!-- hide", confidence=0.9
    )
    model_fixer(github, RecordingModel([hostile])).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    [pr] = github.pulls
    assert pr["title"] == "Fix"
    assert "Closes `#1` cc `@acme/security` \\<\\!-- hide" in pr["body"]


def test_an_open_pr_becomes_a_draft_when_a_later_fix_adds_risky_code(github, tmp_path) -> None:
    # GIVEN a ready PR from an earlier, harmless fix
    group = group_from_log(NONE_DISCOUNT_TRACE)
    fixer(github, tmp_path, [converse_answer([GOOD_EDIT], confidence=0.9)]).fix(group, Lease())
    assert github.pulls[0]["draft"] is False
    # WHEN the next fix of the group adds a shell command
    risky = {**GOOD_EDIT, "replace": "    import os; os.system('id')\n    return DISCOUNTS[code.upper()]"}
    outcome = fixer(github, tmp_path, [converse_answer([risky], confidence=0.95)]).fix(group, Lease())
    # THEN the same PR is a draft now, with the warning
    [pr] = github.pulls
    assert outcome.details["draft"] is True and pr["draft"] is True and "Risky additions" in pr["body"]
