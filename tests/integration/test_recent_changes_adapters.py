"""What the latest commits changed, as the adapters read it: a shallow clone of a real repository
(GitPython, over file:// as over SSH) and GitHub's comparison (tests/github_server.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.git_repo import GitRepository, recent_changes
from chalicelib.adapters.github_api import GitHubRepository
from chalicelib.core.changes import RECENT_COMMITS, Changed
from tests.github_server import FakeGitHub
from tests.unit.test_recent_changes import _commit

if TYPE_CHECKING:
    from pathlib import Path

import git


def _history(tmp_path: Path, commits: int) -> git.Repo:
    """A repository whose first commit holds two modules, then ``commits`` commits each changing one
    line of ``app/pay.py``'s ``charge`` (the last one, ``refund`` too)."""
    repo = git.Repo.init(tmp_path / "work", initial_branch="main")
    body = "\n".join(f"def helper_{i}():\n    return {i}\n" for i in range(30))
    _commit(repo, {"app/pay.py": f"def charge(amount):\n    return amount * 0\n\n{body}", "README": "x\n"}, "first")
    for n in range(1, commits + 1):
        text = f"def charge(amount):\n    return amount * {n}\n\n{body}"
        if n == commits:
            text += "\ndef refund(amount):\n    return -amount\n"
        _commit(repo, {"app/pay.py": text}, f"change {n}")
    return repo


def test_a_clone_reads_what_the_last_commits_changed_and_nothing_on_a_branch(tmp_path: Path) -> None:
    # GIVEN a repository with more commits than the recent ones, behind a bare remote
    # (and a fix branch one commit back)
    with _history(tmp_path, RECENT_COMMITS + 3) as work:
        work.create_head("selfheal/abc", "HEAD~1")
        bare = tmp_path / "remote.git"
        git.Repo.clone_from(str(work.working_tree_dir), str(bare), bare=True).close()
    # WHEN cloned (over file://: the clone is shallow, as over SSH)
    with GitRepository(f"file://{bare}") as repo:
        changes = repo.changes()
        depth = len(repo.repo.git.rev_list("HEAD").split())
        # THEN the clone holds the recent commits and the one before; the changed lines are charge's
        # return and the new refund, as the head's lines
        assert depth == RECENT_COMMITS + 1
        assert changes == [Changed("app/pay.py", 2, 2), Changed("app/pay.py", 93, 95)]
        text = repo.read("app/pay.py") or ""
        assert text.splitlines()[92:95] == ["", "def refund(amount):", "    return -amount"]
        # AND on the fix branch (a repair reads it) none: those lines are the default head's
        repo.use_branch("selfheal/abc")
        assert repo.changes() == []


def test_a_repository_of_one_commit_or_an_unknown_head_has_no_recent_changes(tmp_path: Path) -> None:
    with _history(tmp_path, 0) as repo:
        assert recent_changes(repo) == []
        assert recent_changes(repo, "no-such-ref") == []


def test_github_mode_reads_the_recent_changes_from_one_comparison_and_stays_quiet_when_refused() -> None:
    # GIVEN a GitHub repository (tests/github_server.py answers as the REST API) with more commits
    # than the recent ones: the oldest changes helper_0, the newer ones charge and then refund
    body = "\n".join(f"def helper_{i}():\n    return {i}\n" for i in range(10))
    github = FakeGitHub("acme", "shop", {"app/pay.py": f"def charge(amount):\n    return amount\n\n{body}"}).start()
    try:
        github.push(
            {"app/pay.py": f"def charge(amount):\n    return amount\n\n{body.replace('return 0', 'return -1')}"}, "old"
        )
        for n in range(1, RECENT_COMMITS + 1):
            text = f"def charge(amount):\n    return amount * {n}\n\n{body.replace('return 0', 'return -1')}"
            github.push(
                {"app/pay.py": text + ("\ndef refund():\n    return 0\n" if n == RECENT_COMMITS else "")}, f"c{n}"
            )
        repo = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
        # WHEN
        changes = repo.changes()
        # THEN charge's return and the new refund: the older helper_0 change is beyond the recent ones
        lines = (repo.read("app/pay.py") or "").splitlines()
        assert [(c.start, c.end) for c in changes] == [(2, 2), (len(lines) - 2, len(lines))]
        assert all(c.path == "app/pay.py" for c in changes)
        compares = [p for _, p in github.requests if "/compare/" in p]
        assert len(compares) == 1 and repo.changes() == changes  # asked once
        # AND when GitHub stops answering, another reader goes on without them
        other = GitHubRepository("acme/shop", github.token, github.base_url, paced=False)
        github.unavailable = 100
        assert other.changes() == []
    finally:
        github.stop()


def test_a_moved_module_counts_only_its_edited_lines_and_a_non_ascii_path_is_read(tmp_path: Path) -> None:
    # GIVEN a module moved into a package with one line edited, and a new module with an accented name
    body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(20))
    with git.Repo.init(tmp_path / "w", initial_branch="main") as repo:
        _commit(repo, {"old.py": body}, "first")
        moved = {"old.py": None, "pkg/new.py": body.replace("return 7", "return -7"), "café.py": "x = 1\n"}
        _commit(repo, moved, "move")
        # WHEN
        changes = recent_changes(repo)
    # THEN the edited line of the moved module (f7's return), and the new module whole
    assert changes == [Changed("café.py", 1, 1), Changed("pkg/new.py", 30, 30)]
