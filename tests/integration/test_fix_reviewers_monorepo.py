"""A monorepo service's fix PR asks the code owners of its folder: CODEOWNERS is read at the
repository's root (GitHub's three locations) although the fixer sees only the service's folder,
and owners match the changed files' full repository paths. GitHub API mode, local GitHub-like server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.github_api import GitHubPullRequests, GitHubRepository
from chalicelib.core.models import Status
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from chalicelib.usecases.service_fixers import FolderView
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, SAMPLE_APP, converse_answer, group_from_log
from tests.github_server import FakeGitHub

if TYPE_CHECKING:
    from pathlib import Path

FOLDER = "services/billing"
# The sample app twice, as two services of one repository.
FILES = {
    f"services/{service}/{p.relative_to(SAMPLE_APP)}": p.read_text()
    for service in ("billing", "orders")
    for p in SAMPLE_APP.rglob("*.py")
}


class Lease:
    def set_branch(self, branch: str) -> None:
        self.branch = branch


def monorepo_fix(codeowners_at: str, codeowners: str, tmp_path: Path) -> tuple[FakeGitHub, object]:
    github = FakeGitHub("acme", "mono", {**FILES, codeowners_at: codeowners}).start()
    replay = tmp_path / "answers.json"
    replay.write_text(json.dumps([converse_answer([{**GOOD_EDIT, "path": f"{FOLDER}/shop/pricing.py"}])]))
    fixer = ModelFixer(
        lambda: FolderView(GitHubRepository("acme/mono", github.token, github.base_url, paced=False), FOLDER),
        GitHubPullRequests("acme/mono", github.token, github.base_url, paced=False),
        ReplayModel(replay, announce=lambda s: None),
        FixSettings(path_prefixes=("/var/task/",), reviewers=("fallback-person",), service="billing"),
    )
    try:
        return github, fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), Lease())
    finally:
        github.stop()


def test_a_monorepo_service_asks_the_code_owners_of_its_folder(tmp_path: Path) -> None:
    # GIVEN .github/CODEOWNERS owning each service's folder by its full path
    owners = "/services/billing/ @acme/billing-team\n/services/orders/ @acme/orders-team\n"
    # WHEN billing's fix of services/billing/shop/pricing.py opens its PR
    github, outcome = monorepo_fix(".github/CODEOWNERS", owners, tmp_path)
    # THEN billing's team is asked (not the service's fallback reviewer, not orders' team)
    assert outcome.status == Status.PR_OPENED, outcome.reason
    [pr] = github.pulls
    assert (pr["reviewers"], pr["team_reviewers"]) == ([], ["billing-team"])
    assert (outcome.details["reviewers"], outcome.details["reviewers_source"]) == (
        "@acme/billing-team",
        ".github/CODEOWNERS",
    )


def test_a_root_codeowners_pattern_relative_to_the_folder_does_not_match_full_paths(tmp_path: Path) -> None:
    # GIVEN a root CODEOWNERS whose anchored pattern names the folder-relative path (GitHub: no match)
    github, outcome = monorepo_fix("CODEOWNERS", "/shop/ @shop-owner\n", tmp_path)
    # THEN nobody from it is asked: the service's reviewers are
    [pr] = github.pulls
    assert pr["reviewers"] == ["fallback-person"]
    assert outcome.details["reviewers_source"] == "service"


def test_the_folder_view_still_hides_code_outside_the_folder(tmp_path: Path) -> None:
    github = FakeGitHub("acme", "mono", FILES).start()
    try:
        view = FolderView(GitHubRepository("acme/mono", github.token, github.base_url, paced=False), FOLDER)
        with view as repo:
            assert repo.read("services/orders/shop/pricing.py") is None
            assert repo.read(f"{FOLDER}/shop/pricing.py") is not None
    finally:
        github.stop()
