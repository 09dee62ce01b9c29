"""The commit-case builder (bench/localize_cases/build_git_cases.py) on a real git repository: which
commits become cases, in which order, and how ``most`` caps a repository. Real ``git`` (the builder
reads a mirror with it); the list is written to a file of the test's own, never the bench's."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

sys.path.insert(0, str(ROOT / "bench" / "localize_cases"))
import build_git_cases  # noqa: E402 - the bench's own directory, added above

TRACE = """Fix a crash in {fn}

Traceback (most recent call last):
  File "/srv/app/pkg/mod.py", line 2, in {fn}
    return items[0]
IndexError: list index out of range
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603 - git from PATH, fixed arguments
        ["git", "-C", str(repo), *args],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _repo(tmp_path: Path, functions: list[str]) -> tuple[Path, list[str]]:
    """A repository whose commits after the first each fix pkg/mod.py, quoting a crash in one function."""
    repo = tmp_path / "mirror"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "dev@example.com")
    _git(repo, "config", "user.name", "dev")
    (repo / "pkg").mkdir()
    mod = repo / "pkg" / "mod.py"
    mod.write_text("def f(items):\n    return items[0]\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "start")
    fixes = []
    for n, fn in enumerate(functions):
        mod.write_text(f"def f(items):\n    return items[0] if items else {n}\n")
        _git(repo, "commit", "-q", "-am", TRACE.format(fn=fn))
        fixes.append(_git(repo, "rev-parse", "HEAD"))
    return repo, fixes


def test_most_keeps_the_oldest_cases_and_other_sets_lines_stay(tmp_path: Path) -> None:
    # GIVEN three fixes quoting three different crashes, and a list holding another set's line
    repo, fixes = _repo(tmp_path, ["first", "second", "third"])
    commits = tmp_path / "commits.txt"
    commits.write_text("git other/repo abc\n")
    # WHEN the repository is listed into a held-out set, at most two cases
    kept = build_git_cases.build(repo, "owner/mirror", "heldout3", most=2, commits=commits)
    # THEN the two oldest are kept, after the other set's line, in the list's format
    assert kept == fixes[:2]
    assert (
        commits.read_text()
        == f"git other/repo abc\nheldout3 owner/mirror {fixes[0]}\nheldout3 owner/mirror {fixes[1]}\n"
    )
    assert build_git_cases.listed("heldout3", commits) == [("heldout3", "owner/mirror", c) for c in fixes[:2]]


def test_a_repeated_crash_is_one_case_and_a_rebuild_replaces_the_repository_lines(tmp_path: Path) -> None:
    # GIVEN two fixes quoting the same crash (same exception, same frames) and one another
    repo, fixes = _repo(tmp_path, ["same", "same", "other"])
    commits = tmp_path / "commits.txt"
    build_git_cases.build(repo, "owner/mirror", "heldout3", commits=commits)
    # WHEN the repository is built again, with no cap
    kept = build_git_cases.build(repo, "owner/mirror", "heldout3", commits=commits)
    # THEN the repeat is left out (the original kept) and the lines are not doubled
    assert kept == [fixes[0], fixes[2]]
    assert build_git_cases.listed(None, commits) == [("heldout3", "owner/mirror", c) for c in kept]
