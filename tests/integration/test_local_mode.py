"""`selfheal local` end to end: logs in, groups in DynamoDB, fix branches in a bare repository."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import git
import pytest

from tests.conftest import ROOT
from tests.fix_fixtures import bare_repo_of_sample_app

pytestmark = pytest.mark.integration
SCRIPT = ROOT / "scripts" / "selfheal.py"
SAMPLE = ROOT / "scripts" / "sample_app"
RECORDED = list(json.loads((SAMPLE / "replay.json").read_text()).values())  # answers keyed by group


def local(*args: str) -> dict:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "local", *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
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
    assert "replaying recorded answers" in first["progress"]
    assert len(groups) == 5
    assert {g["status"] for g in groups} == {"PR_OPENED"}
    assert all(
        set(g) == {"fingerprint", "status", "occurrences", "exception_type", "branch", "pr_url", "reason"}
        for g in groups
    )
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
