"""Local mode's CI: a test command run in a temporary worktree of each fix branch, reported as that
branch's checks through the same code path as GitHub's deliveries (usecases/checks.py).

    every PR_OPENED group whose checks are pending
      ─git worktree add --detach <tmp> <branch> (the local repository)─▶ CMD in <tmp>, its own
       environment (PATH, HOME=<tmp>, LANG), a timeout; never in this process
      ─exit 0 → success, else failure (the output's tail as the check's text)─▶ Checks.report
      ─a repair re-opens the group: the pipeline drains again (stream → queue → fixer), and the
       repaired branch is tested again, until no group waits for checks

The repository must be a local path (a work tree or a bare repository): that is where the fixer
pushed its branches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.core.checks import MAX_REPAIR_ROUNDS, PENDING, CheckRun, fold
from chalicelib.core.models import Status

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from chalicelib.adapters.store import ErrorGroupStore
    from chalicelib.core.models import ErrorGroup
    from chalicelib.usecases.checks import Checks

DEFAULT_TIMEOUT_S = 300
TAIL_CHARS = 4_000  # the end of the command's output: where test runners print their failures


def run_in_worktree(repo: str | Path, branch: str, command: str, timeout_s: int = DEFAULT_TIMEOUT_S) -> CheckRun:
    """``command`` (a shell command line) run in a temporary worktree of ``branch``: a completed
    check named ``local: <command>``, success on exit 0, failure otherwise (timed_out after
    ``timeout_s``); the output's tail is its text."""
    name = f"local: {command}"
    work = Path(tempfile.mkdtemp(prefix="selfheal-checks-"))
    tree = work / "tree"
    git = ["git", "-C", str(repo)]
    try:
        added = subprocess.run(
            [*git, "worktree", "add", "--detach", str(tree), f"refs/heads/{branch}"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if added.returncode != 0:
            return CheckRun(name, conclusion="failure", title="the branch could not be checked out", text=added.stderr)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "LANG": "C.UTF-8"}
        try:
            done = subprocess.run(  # noqa: S602 - the operator's own test command, in its own worktree
                command, shell=True, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return CheckRun(name, conclusion="timed_out", title=f"no result within {timeout_s} s")
        output = ((done.stdout or "") + (done.stderr or ""))[-TAIL_CHARS:]
        if done.returncode == 0:
            return CheckRun(name, conclusion="success", title="passed", text=output)
        return CheckRun(name, conclusion="failure", title=f"exit status {done.returncode}", text=output)
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)


def waiting(store: ErrorGroupStore) -> list[ErrorGroup]:
    """The groups whose PR waits for its checks (PR_OPENED, checks pending or never reported)."""
    return [g for g in store.scan(status=Status.PR_OPENED) if g.branch and g.checks in ("", PENDING)]


def judge(  # noqa: PLR0913 - where, what, and how to go on
    store: ErrorGroupStore,
    checks: Checks,
    repo: str | Path | Callable[[ErrorGroup], str],
    command: str,
    drain: Callable[[], None],
    say: Callable[[str], None],
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> int:
    """Test every waiting branch, report, drain the repairs, and again until nothing waits; returns
    the number of test runs. Bounded: a group is tested at most 1 + MAX_REPAIR_ROUNDS times.
    ``repo`` is the local repository, or a function naming each group's (several services)."""
    repo_of = repo if callable(repo) else (lambda _group: repo)
    runs = 0
    for _ in range(MAX_REPAIR_ROUNDS + 1):
        pending = waiting(store)
        if not pending:
            break
        for group in pending:
            run = run_in_worktree(repo_of(group), group.branch, command, timeout_s)
            runs += 1
            step = checks.report(group, fold([run]))
            say(f"checks of {group.branch}: {run.conclusion} → {step or 'no change'}")
        drain()
    return runs


def judge_local_run(repo: str, command: str, rounds: int, drain: Callable[[], None], say: Callable[[str], None]) -> int:
    """``judge`` against the local run's store (runtime), the local PR records beside ``repo``."""
    from chalicelib import runtime
    from chalicelib.adapters.git_repo import LocalPullRequests
    from chalicelib.core.repos import parse_repo_url
    from chalicelib.usecases.checks import Checks

    ref = parse_repo_url(repo)
    if ref.kind != "local":
        raise SystemExit("--test-command needs a local repository (--repo PATH): its branches are tested there")
    pulls = LocalPullRequests(ref.url)
    checks = Checks(runtime.store(), lambda _group: pulls, runtime.metrics(), rounds=rounds)
    return judge(runtime.store(), checks, ref.url, command, drain, say)


def judge_services_run(
    repos: Mapping[str, str], command: str, rounds: int, drain: Callable[[], None], say: Callable[[str], None]
) -> int:
    """``judge`` for ``local --services``: each group's branch is tested in its service's repository
    (``repos``: service name → local repository), its PR record kept beside that repository."""
    from chalicelib import runtime
    from chalicelib.adapters.git_repo import LocalPullRequests
    from chalicelib.core.repos import parse_repo_url
    from chalicelib.usecases.checks import Checks

    paths: dict[str, str] = {}
    for name, repo in repos.items():
        ref = parse_repo_url(repo)
        if ref.kind != "local":
            raise SystemExit(f"--test-command needs local repositories: service {name!r} has {repo}")
        paths[name] = ref.url
    pulls = {name: LocalPullRequests(path) for name, path in paths.items()}
    checks = Checks(runtime.store(), lambda group: pulls.get(group.service), runtime.metrics(), rounds=rounds)
    return judge(runtime.store(), checks, lambda group: paths[group.service], command, drain, say)


# --- the `local --json` fields of CI as the judge (contract) ---------------------------------------

FIX_KEYS = ("fixability", "checks", "repairs", "ready", "risks")


def fix_fields(group: ErrorGroup) -> dict[str, object]:
    """A group's fixability, checks (passed / failed / none), repairs, ready and risks."""
    from chalicelib.core.fixability import classify
    from chalicelib.core.localize import group_chain

    kind = group.fixability or (classify(group_chain(group)).kind if group.service else "")
    return {
        "fixability": kind,
        "checks": group.checks if group.checks in ("passed", "failed") else "none",
        "repairs": group.repairs,
        "ready": group.ready,
        "risks": list(group.risks),
    }
