"""`selfheal local` end to end: logs in, groups in DynamoDB, fix branches in a bare repository."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import git
import pytest

from tests.cli import run_local
from tests.conftest import ROOT
from tests.fix_fixtures import bare_repo_of_sample_app

pytestmark = pytest.mark.integration
SCRIPT = ROOT / "scripts" / "selfheal.py"
SAMPLE = ROOT / "scripts" / "sample_app"
RECORDED = list(json.loads((SAMPLE / "replay.json").read_text()).values())  # answers keyed by group


def local(*args: str) -> dict:
    """``local ARGS --json`` in this process on a fresh moto state (tests/cli.py); the quick start
    test below runs the script in a process of its own."""
    run = run_local(*args, "--json")
    assert run.returncode == 0, run.stderr
    return {"doc": json.loads(run.stdout), "progress": run.stderr}


def test_sample_logs_become_one_fix_branch_per_bug_and_a_rerun_adds_none(tmp_path) -> None:
    # GIVEN a bare repository of the sample app, its logs and its recorded answers
    bare = bare_repo_of_sample_app(tmp_path)
    args = [
        "--logs",
        str(SAMPLE / "logs" / "app.log"),
        "--repo",
        str(bare),
        "--model",
        f"replay:{SAMPLE / 'replay.json'}",
    ]
    # WHEN
    first = local(*args)
    # THEN every group has a PR, and says where
    groups = first["doc"]["groups"]
    # a notice, kept under --json: the PRs are recorded answers, no model was called; the progress
    # lines (each handler's batch, each fix) are quiet under --json
    assert "replaying recorded answers" in first["progress"]
    assert not [ln for ln in first["progress"].splitlines() if ln.startswith(("stream_processor:", "fixer:"))]
    assert len(groups) == 5
    assert {g["status"] for g in groups} == {"PR_OPENED"}
    assert all(
        set(g) == {"fingerprint", "status", "occurrences", "exception_type", "branch", "pr_url", "reason",
                   "fixability", "checks", "repairs", "ready", "risks"}  # CI as the judge extends the contract
        for g in groups
    )  # fmt: skip
    # without --test-command nothing judged the branches: no checks, not ready, every PR a draft
    assert {(g["fixability"], g["checks"], g["repairs"], g["ready"]) for g in groups} == {("code", "none", 0, False)}
    assert sum(g["occurrences"] for g in groups) == 10
    repo = git.Repo(bare)
    branches = sorted(h.name for h in repo.heads if h.name.startswith("selfheal/"))
    assert branches == sorted(g["branch"] for g in groups)
    # Each branch's diff is the recorded edit for its bug, and the changed file parses.
    edits = [a["output"]["message"]["content"][0]["toolUse"]["input"]["edits"][0] for a in RECORDED]
    for group in groups:
        diff = repo.git.diff("main", group["branch"])
        added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        matching = [e for e in edits if added == [x for x in e["replace"].splitlines() if x not in e["search"]]]
        assert matching, (group["exception_type"], diff)
        ast.parse(repo.git.show(f"{group['branch']}:{matching[0]['path']}"))
    prs = sorted((bare.parent / "sample.git.selfheal-prs").iterdir())
    assert len(prs) == 5 and all("needs human review" in p.read_text() for p in prs)
    # WHEN the same logs run again
    second = local(*args)
    # THEN the same branches and PR files are updated, none added
    assert sorted(g["branch"] for g in second["doc"]["groups"]) == branches
    assert sorted(h.name for h in git.Repo(bare).heads if h.name.startswith("selfheal/")) == branches
    assert len(list((bare.parent / "sample.git.selfheal-prs").iterdir())) == 5


@pytest.mark.parametrize("one_event_per_line", [False, True])
def test_any_log_form_with_prefix_option(tmp_path, one_event_per_line: bool) -> None:
    # GIVEN the Lambda text form of the same bugs, deployed under another prefix, either as the
    # runtime writes it (one event per traceback, \r inside) or split one event per line
    log = tmp_path / "lambda.log"
    data = (SAMPLE / "logs" / "lambda.log").read_bytes().replace(b"/var/task/", b"/opt/app/code/")
    log.write_bytes(data.replace(b"\r", b"\n") if one_event_per_line else data)
    bare = bare_repo_of_sample_app(tmp_path)
    result = local("--logs", str(log), "--repo", str(bare), "--model", f"replay:{SAMPLE / 'replay.json'}",
                   "--path-prefix", "/opt/app/code/")  # fmt: skip
    groups = result["doc"]["groups"]
    assert len(groups) == 5 and {g["status"] for g in groups} == {"PR_OPENED"}


def test_quick_start_default_runs_the_bundled_sample() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "local"], capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("PR_OPENED") == 5


def test_local_twice_against_the_same_endpoint_updates_the_same_groups(moto_endpoint, tmp_path) -> None:
    from local_mode import LocalRun, run
    from local_stack import clear_stack

    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.settings import Settings

    # The tests share one process's moto backends: another test's local run left its stack there.
    clear_stack(Clients(Settings(endpoint_url=moto_endpoint)), prefix="selfheal-local")

    # GIVEN a local run against a standing AWS endpoint (audit D2: the second one crashed)
    bare = bare_repo_of_sample_app(tmp_path)
    options = LocalRun(logs=[SAMPLE / "logs" / "app.log"], repo=str(bare), model=f"replay:{SAMPLE / 'replay.json'}",
                       endpoint_url=moto_endpoint)  # fmt: skip
    first = run(options, say=lambda _: None)
    # WHEN it runs again with the same logs
    second = run(options, say=lambda _: None)
    # THEN the same groups are updated: counted again, still one PR each
    assert sorted(g.fingerprint for g in second) == sorted(g.fingerprint for g in first)
    assert {g.status for g in second} == {"PR_OPENED"}
    assert sum(g.occurrences for g in second) == 2 * sum(g.occurrences for g in first) == 20
    assert len([h for h in git.Repo(bare).heads if h.name.startswith("selfheal/")]) == 5


class Crash(BaseException):  # noqa: N818 - what it simulates, not an error the code may catch
    """The process dies (SIGKILL, OOM, timeout): nothing after the push runs, no handler sees it."""


def test_a_fixer_that_dies_after_its_push_is_reclaimed_by_the_next_delivery(moto_endpoint, tmp_path) -> None:
    import uuid

    from local_mode import DEFAULT_PATTERN, LocalPipeline, commit_sample_app, local_settings
    from local_stack import create_stack, put_log_lines

    from chalicelib import runtime
    from chalicelib.adapters.bedrock import ReplayModel
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
    from chalicelib.adapters.settings import Settings
    from chalicelib.core.localize import DEFAULT_PREFIXES
    from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
    from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, converse_answer

    # GIVEN the local pipeline, one bug in the logs, and a fixer that dies right after its first push
    work = commit_sample_app(tmp_path / "shop")
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps([converse_answer([GOOD_EDIT])] * 2))
    base = Settings(endpoint_url=moto_endpoint, min_occurrences=1)  # one occurrence is enough here
    stack = create_stack(Clients(base), prefix=f"d3{uuid.uuid4().hex[:8]}", log_group=f"/d3/{uuid.uuid4().hex}")
    settings = local_settings(base, stack)
    clients = Clients(settings)
    pushed: list[str] = []

    class PushThenDie(GitRepository):
        def publish(self, branch, files, message):
            commit = super().publish(branch, files, message)
            pushed.append(branch)
            if len(pushed) == 1:
                raise Crash(branch)
            return commit

    fixer = ModelFixer(lambda: PushThenDie(str(work)), LocalPullRequests(work), ReplayModel(replay, announce=None),
                       FixSettings(path_prefixes=DEFAULT_PREFIXES))  # fmt: skip
    runtime.use(runtime.Container(settings=settings, clients=clients, fixer=fixer))
    try:
        pipeline = LocalPipeline(clients, stack, say=lambda _: None)
        pipeline.deliver(put_log_lines(clients, stack.log_group, NONE_DISCOUNT_TRACE.splitlines()), DEFAULT_PATTERN)
        with pytest.raises(Crash):
            pipeline.drain(timeout_s=60)
        [stuck] = runtime.store().scan()
        assert (stuck.status, stuck.branch) == ("FIXING", pushed[0])
        # WHEN the event sources resume: SQS hands the job out again after its visibility timeout
        pipeline.drain(timeout_s=60)
        # THEN the next delivery reclaimed the group (its lease had expired) and finished the fix
        [done] = runtime.store().scan()
    finally:
        runtime.clear()
    assert done.status == "PR_OPENED", done.reason
    assert (done.attempts, done.branch, pushed) == (2, pushed[0], [pushed[0], pushed[0]])
    assert [h.name for h in git.Repo(work).heads if h.name.startswith("selfheal/")] == [done.branch]
    assert len(list((work.parent / "shop.selfheal-prs").iterdir())) == 1
