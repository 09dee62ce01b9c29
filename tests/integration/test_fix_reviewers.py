"""Fix PRs request review from the code owners of the changed files, else from the service's
reviewers: in GitHub API mode against the local GitHub-like server, and in local git mode."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
from chalicelib.core.codeowners import Reviewers
from chalicelib.core.models import Status
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from tests.fix_fixtures import (
    GOOD_EDIT,
    NONE_DISCOUNT_TRACE,
    SAMPLE_APP,
    bare_repo_of_sample_app,
    converse_answer,
    group_from_log,
)
from tests.github_server import FakeGitHub

FILES = {str(p.relative_to(SAMPLE_APP)): p.read_text() for p in SAMPLE_APP.rglob("*.py")}
REQUEST = "/api/v3/repos/acme/shop/pulls/1/requested_reviewers"
# The fix edits shop/pricing.py; the last matching line names its owners.
CODEOWNERS = """\
# Default owners
*                    @acme/platform
shop/                @alice @acme/shop-team
/shop/pricing.py     @bob pricing@acme.example
handler.py           @carol
"""


class Lease:
    def set_branch(self, branch: str) -> None:
        self.branch = branch


@pytest.fixture
def github_with():
    servers: list[FakeGitHub] = []

    def start(extra: dict[str, str]) -> FakeGitHub:
        servers.append(FakeGitHub("acme", "shop", {**FILES, **extra}).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def api_fixer(github: FakeGitHub, tmp_path, **settings) -> ModelFixer:
    replay = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.json"
    replay.write_text(json.dumps([converse_answer([GOOD_EDIT])]))
    return ModelFixer(
        lambda: GitHubRepository("acme/shop", github.token, github.base_url, paced=False),
        GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False),
        ReplayModel(replay, announce=lambda s: None),
        FixSettings(**settings),
    )


def review_requests(github: FakeGitHub) -> list[tuple[str, str]]:
    return [r for r in github.requests if r == ("POST", REQUEST)]


# --- GitHub API mode ---------------------------------------------------------------------------------


def test_the_code_owners_of_the_changed_file_are_requested(github_with, tmp_path) -> None:
    # GIVEN .github/CODEOWNERS (and a root CODEOWNERS that GitHub would ignore)
    github = github_with({".github/CODEOWNERS": CODEOWNERS, "CODEOWNERS": "* @root-owner\n"})
    # WHEN the fix of shop/pricing.py opens its PR
    outcome = api_fixer(github, tmp_path, reviewers=("oncall",)).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    # THEN the owners of the last matching line are requested, the e-mail owner is skipped
    [pr] = github.pulls
    assert (pr["reviewers"], pr["team_reviewers"]) == (["bob"], [])
    assert len(review_requests(github)) == 1
    assert outcome.status == Status.PR_OPENED
    assert (outcome.details["reviewers"], outcome.details["reviewers_source"]) == ("bob", ".github/CODEOWNERS")
    assert "e-mail owners cannot be requested" in outcome.details["reviewers_notes"]
    assert "pricing@acme.example" not in outcome.details["reviewers_notes"]  # stored redacted, like all PII
    assert outcome.details["reviewers_refused"] == ""


def test_teams_are_requested_by_slug_without_the_organisation(github_with, tmp_path) -> None:
    github = github_with({"CODEOWNERS": "shop/ @alice @acme/shop-team @other-org/auditors\n"})
    outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    [pr] = github.pulls
    assert (pr["reviewers"], pr["team_reviewers"]) == (["alice"], ["shop-team"])
    assert outcome.details["reviewers"] == "alice, @acme/shop-team"
    assert outcome.details["reviewers_source"] == "CODEOWNERS"
    assert "@other-org/auditors: a team of another organisation" in outcome.details["reviewers_notes"]


def test_the_service_reviewers_are_requested_when_codeowners_names_nobody(github_with, tmp_path) -> None:
    # GIVEN CODEOWNERS owns only docs, and the service configures reviewers
    github = github_with({"docs/CODEOWNERS": "docs/ @writer\n"})
    fixer = api_fixer(github, tmp_path, reviewers=("@dana", "acme/billing-team"))
    outcome = fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    [pr] = github.pulls
    assert (pr["reviewers"], pr["team_reviewers"]) == (["dana"], ["billing-team"])
    assert (outcome.details["reviewers"], outcome.details["reviewers_source"]) == (
        "dana, @acme/billing-team",
        "service",
    )


def test_without_codeowners_or_configured_reviewers_nobody_is_requested(github_with, tmp_path) -> None:
    github = github_with({})
    outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    assert review_requests(github) == [] and outcome.status == Status.PR_OPENED
    assert (outcome.details["reviewers"], outcome.details["reviewers_source"]) == ("", "")


def test_a_reviewer_who_is_not_a_collaborator_does_not_fail_the_fix(github_with, tmp_path) -> None:
    # GIVEN an owner that GitHub refuses (422: not a collaborator) beside one it accepts
    github = github_with({".github/CODEOWNERS": "shop/ @alice @mallory @acme/shop-team\n"})
    github.collaborators = {"alice"}
    github.teams = {"shop-team"}
    # WHEN
    outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    # THEN the PR is open, the valid reviewers are requested one by one, the refusal is recorded
    assert outcome.status == Status.PR_OPENED and outcome.pr_url.endswith("/pull/1")
    [pr] = github.pulls
    assert (pr["reviewers"], pr["team_reviewers"]) == (["alice"], ["shop-team"])
    assert len(review_requests(github)) == 4  # all at once (422), then each of the three alone
    assert outcome.details["reviewers"] == "alice, @acme/shop-team"
    assert outcome.details["reviewers_refused"].startswith("mallory: 422 Reviews may only be requested from collab")


def test_every_reviewer_refused_leaves_the_pr_open_and_says_why(github_with, tmp_path) -> None:
    github = github_with({".github/CODEOWNERS": "* @mallory\n"})
    github.collaborators = set()
    outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    assert outcome.status == Status.PR_OPENED and len(github.pulls) == 1
    assert outcome.details["reviewers"] == "" and "mallory: 422" in outcome.details["reviewers_refused"]
    assert len(review_requests(github)) == 1  # one reviewer: no second round


def test_the_pr_author_is_never_requested(github_with, tmp_path) -> None:
    # GIVEN the token's user (the PR's author) owns the file; GitHub would answer 422 for it
    github = github_with({".github/CODEOWNERS": "* @Selfheal-Bot @alice\n"})
    outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    [pr] = github.pulls
    assert pr["reviewers"] == ["alice"] and len(review_requests(github)) == 1
    assert "selfheal-bot: the PR's author" in outcome.details["reviewers_notes"]
    assert outcome.details["reviewers_refused"] == ""


class AuthorUnknown(FakeGitHub):
    """A server whose pull requests do not say who opened them (so the adapter cannot leave the
    author out, and GitHub's 422 for the author must be survived)."""

    def _pull_json(self, pr: dict) -> dict:
        answer = super()._pull_json(pr)
        answer.pop("user")
        return answer


def test_the_authors_422_is_survived_when_the_author_is_not_known() -> None:
    github = AuthorUnknown("acme", "shop", FILES).start()
    try:
        prs = GitHubPullRequests("acme/shop", github.token, github.base_url, paced=False)
        GitHubRepository("acme/shop", github.token, github.base_url, paced=False).publish(
            "selfheal/x", {"shop/pricing.py": "X = 1\n"}, "m"
        )
        # WHEN the author and erin are requested
        url = prs.open_or_update("selfheal/x", "main", "t", "b", False, [], Reviewers(("erin", "selfheal-bot")))
    finally:
        github.stop()
    # THEN the PR is answered, erin is requested, the author's refusal is recorded in GitHub's words
    assert url.endswith("/pull/1") and github.pulls[0]["reviewers"] == ["erin"]
    review = prs.reviews["selfheal/x"]
    assert review.requested == Reviewers(("erin",))
    assert review.refused == ("selfheal-bot: 422 Review cannot be requested from pull request author.",)


class ReviewRequestsDown(FakeGitHub):
    """A server whose review-request endpoint fails (502) while the rest works."""

    def request_reviewers(self, method: str, m: Any, query: Any, body: Any) -> tuple[int, dict]:
        return 502, {"message": "Server Error"}


def test_a_failing_review_request_endpoint_does_not_fail_the_fix(tmp_path) -> None:
    github = ReviewRequestsDown("acme", "shop", {**FILES, "CODEOWNERS": "* @alice @acme/ops\n"}).start()
    try:
        outcome = api_fixer(github, tmp_path).fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    finally:
        github.stop()
    assert outcome.status == Status.PR_OPENED and len(github.pulls) == 1
    assert outcome.details["reviewers"] == ""
    assert outcome.details["reviewers_refused"] == "alice: 502 Server Error; @acme/ops: 502 Server Error"


def test_a_second_fix_does_not_request_the_same_reviewers_again(github_with, tmp_path) -> None:
    github = github_with({".github/CODEOWNERS": CODEOWNERS})
    group = group_from_log(NONE_DISCOUNT_TRACE)
    api_fixer(github, tmp_path).fix(group, Lease())
    second = api_fixer(github, tmp_path).fix(group, Lease())
    assert len(github.pulls) == 1 and len(review_requests(github)) == 1
    assert second.details["reviewers"] == "bob"  # the PR already has bob: not asked again, still recorded


# --- local git mode -----------------------------------------------------------------------------------


def git_fixer(bare, tmp_path, **settings) -> tuple[ModelFixer, LocalPullRequests]:
    replay = tmp_path / f"replay-{len(list(tmp_path.glob('replay-*')))}.json"
    replay.write_text(json.dumps([converse_answer([GOOD_EDIT])]))
    pulls = LocalPullRequests(bare)
    fixer = ModelFixer(
        lambda: GitRepository(str(bare)), pulls, ReplayModel(replay, announce=lambda s: None), FixSettings(**settings)
    )
    return fixer, pulls


def with_files(files: dict[str, str]):
    def change(work) -> None:
        for path, text in files.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_text(text)

    return change


def test_local_mode_records_the_code_owners_in_the_pr_record(tmp_path) -> None:
    # GIVEN CODEOWNERS at the root and in docs/: the root one is used
    bare = bare_repo_of_sample_app(
        tmp_path, with_files({"CODEOWNERS": "shop/ @alice @acme/shop-team\n", "docs/CODEOWNERS": "* @docs-owner\n"})
    )
    fixer, pulls = git_fixer(bare, tmp_path, reviewers=("oncall",))
    outcome = fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    record = (bare.parent / "sample.git.selfheal-prs" / f"{outcome.branch.replace('/', '-')}.md").read_text()
    assert "- reviewers: alice, @acme/shop-team\n" in record
    assert (outcome.details["reviewers"], outcome.details["reviewers_source"]) == (
        "alice, @acme/shop-team",
        "CODEOWNERS",
    )
    assert pulls.reviews == {}  # read once by the fixer


def test_local_mode_falls_back_to_the_service_reviewers(tmp_path) -> None:
    bare = bare_repo_of_sample_app(tmp_path)
    fixer, _ = git_fixer(bare, tmp_path, reviewers=("oncall", "acme/billing-team"))
    outcome = fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    record = (bare.parent / "sample.git.selfheal-prs" / f"{outcome.branch.replace('/', '-')}.md").read_text()
    assert "- reviewers: oncall, @acme/billing-team\n" in record
    assert outcome.details["reviewers_source"] == "service"


def test_local_mode_without_reviewers_writes_no_reviewers_line(tmp_path) -> None:
    bare = bare_repo_of_sample_app(tmp_path)
    fixer, _ = git_fixer(bare, tmp_path)
    outcome = fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    record = (bare.parent / "sample.git.selfheal-prs" / f"{outcome.branch.replace('/', '-')}.md").read_text()
    assert "reviewers" not in record.split("\n\n", 2)[1]


# --- through the pipeline (moto): the reviewers are stored on the group --------------------------------


@pytest.mark.integration
def test_the_pipeline_stores_the_reviewers_on_the_group(moto_endpoint, tmp_path) -> None:
    import uuid

    from local_mode import DEFAULT_PATTERN, LocalPipeline, commit_sample_app, local_settings
    from local_stack import create_stack, put_log_lines

    from chalicelib import runtime
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings
    from chalicelib.core.localize import DEFAULT_PREFIXES

    # GIVEN a repository whose .github/CODEOWNERS owns shop/ (and refuses a malformed line)
    work = commit_sample_app(tmp_path / "shop")
    (work / ".github").mkdir()
    (work / ".github/CODEOWNERS").write_text("* @acme/platform\nshop/[a-z]* @nobody\nshop/ @alice @acme/shop-team\n")
    run = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t.invalid"]
    subprocess.run([*run, "add", "-A"], check=True)
    subprocess.run([*run, "commit", "-qm", "codeowners"], check=True)
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps([converse_answer([GOOD_EDIT])]))
    base = Settings(endpoint_url=moto_endpoint, min_occurrences=1)  # one occurrence is enough here
    stack = create_stack(Clients(base), prefix=f"co{uuid.uuid4().hex[:8]}", log_group=f"/co/{uuid.uuid4().hex}")
    settings = local_settings(base, stack)
    clients = Clients(settings)
    fixer = ModelFixer(
        lambda: GitRepository(str(work)),
        LocalPullRequests(work),
        ReplayModel(replay, announce=None),
        FixSettings(path_prefixes=DEFAULT_PREFIXES, reviewers=("oncall",)),
    )
    runtime.use(runtime.Container(settings=settings, clients=clients, fixer=fixer))
    try:
        # WHEN the bug's log lines go through the pipeline
        pipeline = LocalPipeline(clients, stack, say=lambda _: None)
        pipeline.deliver(put_log_lines(clients, stack.log_group, NONE_DISCOUNT_TRACE.splitlines()), DEFAULT_PATTERN)
        pipeline.drain(timeout_s=60)
        [group] = runtime.store().scan()
        item = runtime.store().raw(group.fingerprint)  # the group with its detail (the attempt's report)
    finally:
        runtime.clear()
    # THEN the PR record and the group both name the code owners, and the skipped line is reported
    assert group.status == "PR_OPENED", group.reason
    stored = {k: v for k, v in item.items() if k.startswith("reviewers")}
    assert stored["reviewers"] == "alice, @acme/shop-team"
    assert stored["reviewers_source"] == ".github/CODEOWNERS"
    assert "line 2 column 1: Invalid pattern ([ ] character ranges" in stored["reviewers_notes"]
    record = next((work.parent / "shop.selfheal-prs").iterdir()).read_text()
    assert "- reviewers: alice, @acme/shop-team\n" in record
