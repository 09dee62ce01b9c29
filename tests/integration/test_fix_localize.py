"""What the fixer locates, shows and lets the model edit (git mode, local bare repository)."""

from __future__ import annotations

from typing import Any

import git
import pytest

from chalicelib.adapters.git_repo import GitRepository, LocalPullRequests
from chalicelib.core.models import Status
from chalicelib.errors import FixRejected
from chalicelib.usecases.fix_generation import FixSettings, ModelFixer
from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, bare_repo_of_sample_app, converse_answer, group_from_log


class RecordingModel:
    """The Model port: answers in order and keeps every request text it was sent."""

    model_id = "recording"

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []

    def converse(self, system: str, messages: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.requests.append(messages[0]["content"][0]["text"])
        return self.answers.pop(0)


class Lease:
    def set_branch(self, branch: str) -> None:
        self.branch = branch


@pytest.fixture
def bare(tmp_path):
    return bare_repo_of_sample_app(tmp_path)


def fix(bare, model: RecordingModel, trace: str = NONE_DISCOUNT_TRACE, **settings: Any):
    fixer = ModelFixer(lambda: GitRepository(str(bare)), LocalPullRequests(bare), model, FixSettings(**settings))
    return fixer.fix(group_from_log(trace), Lease())


def commit_change(bare, tmp_path, path: str, change) -> None:  # noqa: ANN001
    work = git.Repo.clone_from(str(bare), str(tmp_path / "change"))
    target = tmp_path / "change" / path
    target.write_text(change(target.read_text()))
    work.git.add(path)
    work.git.commit("-m", "change", "--author", "t <t@t.invalid>")
    work.git.push("origin", "HEAD:main")


def test_a_file_listed_in_allowed_paths_can_be_edited(bare) -> None:
    # GIVEN allowed_paths names shop/jobs.py, which is not in the trace (audit C6)
    jobs_edit = {"path": "shop/jobs.py", "search": "    errors = []", "replace": "    errors: list = []"}
    model = RecordingModel([converse_answer([GOOD_EDIT, jobs_edit])])
    # WHEN
    outcome = fix(bare, model, extra_allowed=("shop/jobs.py",))
    # THEN both edits are on the branch
    assert outcome.status == Status.PR_OPENED, outcome.reason
    diff = git.Repo(bare).git.diff("main", outcome.branch)
    assert "+    errors: list = []" in diff and "+    if not code:" in diff


def test_ci_files_stay_refused_even_when_allowed(bare) -> None:
    model = RecordingModel([converse_answer([{"path": ".github/workflows/ci.yml", "search": "a", "replace": "b"}])] * 2)
    with pytest.raises(FixRejected, match="never edited"):
        fix(bare, model, extra_allowed=(".github/workflows/ci.yml",))


def test_the_raising_code_is_shown_when_the_repository_moved_on(bare, tmp_path) -> None:
    # GIVEN 80 lines added above the raising function since the trace was logged (audit D7)
    helpers = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(20))
    commit_change(bare, tmp_path, "shop/pricing.py", lambda t: t.replace("DISCOUNTS = {", helpers + "DISCOUNTS = {"))
    model = RecordingModel([converse_answer([GOOD_EDIT])])
    # WHEN
    outcome = fix(bare, model)
    # THEN the prompt marks the raising line where it is now, inside its whole function
    assert outcome.status == Status.PR_OPENED
    code = model.requests[0].split("line numbers on the left")[1]
    assert ">>   90 |     return DISCOUNTS[code.upper()]" in code
    assert "   88 | def discount_percent(code: str | None) -> int:" in code


def test_a_definition_used_on_the_raising_line_is_shown_and_editable(bare) -> None:
    # GIVEN a trace that ends in order_total, whose raising line calls pricing.discount_percent
    trace = NONE_DISCOUNT_TRACE.split('  File "/var/task/shop/pricing.py"')[0] + "KeyError: 'WINTER'\n"
    model = RecordingModel([converse_answer([GOOD_EDIT])])
    # WHEN the model edits shop/pricing.py, a file that is not in the trace
    outcome = fix(bare, model, trace=trace)
    # THEN the callee was shown and the edit applied
    assert "### shop/pricing.py" in model.requests[0]
    assert outcome.status == Status.PR_OPENED, outcome.reason
    assert "+    if not code:" in git.Repo(bare).git.diff("main", outcome.branch)


def test_the_pr_lists_the_code_shown_to_the_model(bare) -> None:
    model = RecordingModel([converse_answer([GOOD_EDIT])])
    outcome = fix(bare, model)
    body = (bare.parent / "sample.git.selfheal-prs" / f"{outcome.branch.replace('/', '-')}.md").read_text()
    section = body.split("## Code shown to the model\n")[1]
    assert "- `shop/pricing.py: whole file`" in section and "- `shop/orders.py: whole file`" in section
    assert outcome.details is not None and "shop/pricing.py:1-20" in str(outcome.details["context_shown"])


def test_the_budget_setting_limits_what_is_shown(bare, tmp_path) -> None:
    # GIVEN a long pricing module (not shown whole) and a tiny budget
    filler = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n\n" for i in range(40))
    commit_change(bare, tmp_path, "shop/pricing.py", lambda t: t + filler)
    small, roomy = RecordingModel([converse_answer([GOOD_EDIT])]), RecordingModel([converse_answer([GOOD_EDIT])])
    # WHEN
    fix(bare, small, context_tokens=50)
    fix(bare, roomy, context_tokens=50_000)
    # THEN the raising line is always there; callers only with room
    assert ">>   10 |     return DISCOUNTS[code.upper()]" in small.requests[0]
    assert "### shop/orders.py" not in small.requests[0]
    assert "### shop/orders.py" in roomy.requests[0]
