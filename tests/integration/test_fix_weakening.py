"""A fix that weakens a check opens as a flagged draft, in git mode against a real bare repository
(recorded model answers). Gap covered: the unit and property tests check the scan; this checks
that the publication carries it — the draft, the warning section first in the PR body, and the
outcome's ``risks`` and ``weakened_checks`` that the group records."""

from __future__ import annotations

from chalicelib.core.models import Status
from tests.fix_fixtures import bare_repo_of_sample_app, converse_answer
from tests.integration.test_fix_git_mode import fix_with, pr_file

GUARDED = '''    """Percent off for a discount code; no code means no discount."""
    if code is None:
        raise ValueError("a discount code is required")
    return DISCOUNTS[code.upper()]'''


def _guard_discounts(work) -> None:
    path = work / "shop/pricing.py"
    text = path.read_text()
    path.write_text(text.replace(
        '    """Percent off for a discount code; no code means no discount."""\n    return DISCOUNTS[code.upper()]',
        GUARDED,
    ))  # fmt: skip


def test_a_fix_that_removes_the_raise_is_a_draft_that_names_the_weakened_check(tmp_path) -> None:
    bare = bare_repo_of_sample_app(tmp_path, _guard_discounts)
    # GIVEN an answer that makes the error go away by removing the check (confidence high)
    edit = {
        "path": "shop/pricing.py",
        "search": '    if code is None:\n        raise ValueError("a discount code is required")\n',
        "replace": "",
    }
    # WHEN
    outcome, _ = fix_with(bare, [converse_answer([edit], confidence=0.95)])
    # THEN a draft PR whose body starts with the warning, and the finding on the outcome
    assert outcome.status == Status.PR_OPENED and outcome.details["draft"] is True
    assert outcome.details["weakened_checks"] == 2
    assert outcome.details["risks"] == [
        "shop/pricing.py line 8: weakens a check: changes or removes the condition `code is None` "
        "guarding a raise in discount_percent",
        "shop/pricing.py line 8: weakens a check: removes a raise in discount_percent",
    ]
    body = pr_file(bare, outcome.branch).read_text()
    assert "draft: yes" in body
    assert body.index("Weakens a check") < body.index("Root cause")


def test_a_fix_that_keeps_every_check_has_no_risks(tmp_path) -> None:
    bare = bare_repo_of_sample_app(tmp_path)
    edit = {
        "path": "shop/pricing.py",
        "search": "    return DISCOUNTS[code.upper()]",
        "replace": "    if not code:\n        return 0\n    return DISCOUNTS[code.upper()]",
    }
    outcome, _ = fix_with(bare, [converse_answer([edit], confidence=0.95)])
    assert outcome.details["risks"] == [] and outcome.details["draft"] is False
