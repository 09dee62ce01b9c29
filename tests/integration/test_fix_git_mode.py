"""Fix generation in git mode, against a local bare repository, with recorded model answers."""

from __future__ import annotations

import ast
import json

import git
import pytest

from chalicelib.adapters.bedrock import ReplayModel
from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
from chalicelib.core.models import Status
from chalicelib.errors import FixRejected
from chalicelib.services.fix_generation import FixSettings, ModelFixer
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, bare_repo_of_sample_app, converse_answer, group_from_log


class RecordingLease:
    def __init__(self) -> None:
        self.branches: list[str] = []

    def set_branch(self, branch: str) -> None:
        self.branches.append(branch)


def fixer_for(bare, tmp_path, answers, **settings) -> ModelFixer:
    replay = tmp_path / f"replay-{len(list(tmp_path.glob('replay-*')))}.json"
    replay.write_text(json.dumps(answers))
    return ModelFixer(
        lambda: GitRepository(str(bare)),
        LocalPullRequests(bare),
        ReplayModel(replay, announce=print),
        FixSettings(**settings),
    )


@pytest.fixture
def bare(tmp_path):
    return bare_repo_of_sample_app(tmp_path)


def test_fix_is_pushed_on_its_branch_with_a_pr_description(bare, tmp_path, capsys) -> None:
    # GIVEN a group for the sample app's None-discount bug and a recorded good answer
    group = group_from_log(NONE_DISCOUNT_TRACE)
    lease = RecordingLease()
    # WHEN
    outcome = fixer_for(bare, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, lease)
    # THEN
    assert "replaying recorded answers" in capsys.readouterr().out
    branch = f"selfheal/{group.fingerprint[:12]}"
    assert (outcome.status, outcome.branch, lease.branches) == (Status.PR_OPENED, branch, [branch])
    remote = git.Repo(bare)
    diff = remote.git.diff("main", branch)
    assert "+    if not code:\n+        return 0" in diff
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == ["+    if not code:", "+        return 0"]
    ast.parse(remote.git.show(f"{branch}:shop/pricing.py"))
    body = (bare.parent / "sample.git.selfheal-prs" / f"{branch.replace('/', '-')}.md").read_text()
    assert "needs human review" in body and "AttributeError" in body and "1200 tokens in" in body
    assert outcome.details["tokens_in"] == 1200 and outcome.details["lines_changed"] == 2


def test_second_fix_of_the_same_group_updates_the_branch_and_pr(bare, tmp_path) -> None:
    group = group_from_log(NONE_DISCOUNT_TRACE)
    first = fixer_for(bare, tmp_path, [converse_answer([GOOD_EDIT])]).fix(group, RecordingLease())
    second = fixer_for(bare, tmp_path, [converse_answer([GOOD_EDIT], confidence=0.3)]).fix(group, RecordingLease())
    assert first.pr_url == second.pr_url
    prs = list((bare.parent / "sample.git.selfheal-prs").iterdir())
    assert len(prs) == 1 and "draft: yes" in prs[0].read_text()
    assert [h for h in git.Repo(bare).heads if h.name.startswith("selfheal/")] != []


def test_edit_that_does_not_apply_gets_one_more_round(bare, tmp_path) -> None:
    bad = {**GOOD_EDIT, "search": "    return DISCOUNTS[code.lower()]"}
    answers = [converse_answer([bad]), converse_answer([GOOD_EDIT], tool_id="tool-2")]
    outcome = fixer_for(bare, tmp_path, answers).fix(group_from_log(NONE_DISCOUNT_TRACE), RecordingLease())
    assert outcome.status == Status.PR_OPENED
    assert outcome.details["rounds"] == 2 and outcome.details["tokens_in"] == 2400


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ({**GOOD_EDIT, "search": "nowhere to be found"}, "not found"),
        ({**GOOD_EDIT, "replace": "    return DISCOUNTS[code.upper()"}, "does not parse"),
        ({**GOOD_EDIT, "replace": "    return DISCOUNTS[undefined_name]"}, "undefined name"),
        ({**GOOD_EDIT, "path": ".github/workflows/ci.yml"}, "CI, workflow and secret files"),
        ({**GOOD_EDIT, "path": "shop/jobs.py"}, "not one of the files in the trace"),
        ({**GOOD_EDIT, "path": "../outside.py"}, "outside the repository"),
    ],
)
def test_edits_that_fail_twice_end_in_a_rejection_with_the_reason(bare, tmp_path, edit, says) -> None:
    fixer = fixer_for(bare, tmp_path, [converse_answer([edit]), converse_answer([edit], tool_id="t2")])
    with pytest.raises(FixRejected, match=says):
        fixer.fix(group_from_log(NONE_DISCOUNT_TRACE), RecordingLease())
    assert [h.name for h in git.Repo(bare).heads] == ["main"]


def test_a_trace_of_library_code_only_is_skipped(bare, tmp_path) -> None:
    trace = NONE_DISCOUNT_TRACE.replace("/var/task/", "/var/lang/lib/python3.12/site-packages/")
    outcome = fixer_for(bare, tmp_path, []).fix(group_from_log(trace), RecordingLease())
    assert outcome.status == Status.SKIPPED and "no frame" in outcome.reason


def test_ssh_without_known_hosts_is_refused(tmp_path) -> None:
    from chalicelib.errors import ConfigError

    with pytest.raises(ConfigError, match="known_hosts"):
        GitRepository("git@example.invalid:o/r.git", ssh_key="-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")
