"""CI is the judge, locally: `local --test-command` runs the repository's tests in a worktree of each
fix branch and reports them through the same code path as GitHub's check deliveries.

One scripted run against a real git repository that has tests (the sample app plus a check
script and a guarded limit), on the moto server, with recorded model answers:
- a wrong first answer → its checks red → one repair commit on the same branch → green → ready
  (draft: no, reviewers asked then);
- a validation error (an in-app raise) never reaches the model (the replay file has no answer
  for it: a model call would end the run with a ConfigError);
- an answer that removes a raise is a flagged draft that stays a draft although its checks pass;
- a second group changing the same lines as the first PR is linked to it, no second PR;
- `local --json` carries fixability, checks, repairs, ready and risks for every group.
Gap covered: the unit and property tests check each decision; this checks that they compose.
"""

from __future__ import annotations

import json
import subprocess

import git
import pytest

from tests.fix_fixtures import converse_answer

pytestmark = pytest.mark.integration
LOCAL_TABLE = "selfheal-local-error-groups"  # local_mode's stack (prefix selfheal-local)

LIMITS = '''"""Order limits."""


def check_quantity(qty: int) -> int:
    """The quantity, when it is within the limit."""
    if qty > 100:
        raise OverflowError(f"quantity {qty} is over the shop's limit")
    return qty
'''
CHECK = """from shop import pricing

assert pricing.discount_percent("vip") == 25, "lower-case codes get their discount"
assert pricing.discount_percent("SPRING") == 10
print("2 checks passed")
"""


def _trace(frames: list[tuple[str, int, str, str]], last: str) -> str:
    lines = ["2026-11-22 09:00:07,100 ERROR [shop] order failed", "Traceback (most recent call last):"]
    for path, line, func, source in frames:
        lines += [f'  File "/var/task/{path}", line {line}, in {func}', f"    {source}"]
    return "\n".join([*lines, last])


HANDLER = ("handler.py", 11, "lambda_handler", "return orders.handle(event)")
DISCOUNT = [
    HANDLER,
    ("shop/orders.py", 36, "handle", 'return {"total": order_total(parse_order(event["body"]))}'),
    ("shop/orders.py", 22, "order_total", 'percent = pricing.discount_percent(order.get("discount"))'),
    ("shop/pricing.py", 10, "discount_percent", "return DISCOUNTS[code.upper()]"),
]
LOGS = "\n".join([
    _trace(DISCOUNT, "AttributeError: 'NoneType' object has no attribute 'upper'"),
    _trace(DISCOUNT, "KeyError: 'WINTER'"),
    _trace([HANDLER, ("shop/limits.py", 7, "check_quantity", 'raise OverflowError(f"quantity {qty} is over")')],
           "OverflowError: quantity 500 is over the shop's limit"),
    _trace([HANDLER, ("shop/orders.py", 15, "parse_order", 'raise ValueError("invalid quantity: must be positive")')],
           "ValueError: invalid quantity: must be positive"),
]) + "\n"  # fmt: skip
RETURN = "    return DISCOUNTS[code.upper()]"
WRONG = "    return DISCOUNTS.get(code, 0) if code else 0"
GUARD = '    if qty > 100:\n        raise OverflowError(f"quantity {qty} is over the shop\'s limit")\n'
ANSWERS = {
    # wrong first: lower-case codes lose their discount (the repository's check goes red); the repair
    # is asked on the branch as it stands, so its search text is the first answer's line
    "AttributeError": [
        converse_answer([{"path": "shop/pricing.py", "search": RETURN, "replace": WRONG}],
                        title="No code, no discount"),
        converse_answer([{"path": "shop/pricing.py", "search": WRONG,
                          "replace": "    return DISCOUNTS.get(code.upper(), 0) if code else 0"}], title="Upper-case"),
    ],
    "KeyError": converse_answer([{"path": "shop/pricing.py", "search": RETURN,
                                  "replace": "    return DISCOUNTS.get(code.upper(), 0)"}], title="Unknown codes"),
    "OverflowError": converse_answer([{"path": "shop/limits.py", "search": GUARD, "replace": ""}],
                                     confidence=0.95, title="Allow any quantity"),
}  # fmt: skip


@pytest.fixture
def fresh_local_table(moto_endpoint):
    """Local mode's table on the shared moto server, empty before this run and gone after it: the
    local runs of other tests (test_local_mode.py) count every group of that table."""
    import boto3

    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")

    def drop() -> None:
        if LOCAL_TABLE in ddb.list_tables()["TableNames"]:
            ddb.delete_table(TableName=LOCAL_TABLE)

    drop()
    yield moto_endpoint
    drop()


@pytest.fixture
def shop(tmp_path):
    """The sample app with a limit module and a check script, committed: a repository with tests."""
    from local_mode import commit_sample_app

    work = commit_sample_app(tmp_path / "shop")
    (work / "shop" / "limits.py").write_text(LIMITS)
    (work / "check.py").write_text(CHECK)
    repo = git.Repo(work)
    repo.index.add(["shop/limits.py", "check.py"])
    repo.index.commit("Limits and their checks")
    return work


def test_a_local_run_with_tests_repairs_once_links_a_duplicate_and_never_fixes_input(
    fresh_local_table, tmp_path, shop
) -> None:
    from local_mode import LocalRun, run, summary

    logs = tmp_path / "app.log"
    logs.write_text(LOGS)
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(ANSWERS))
    said: list[str] = []
    # WHEN
    groups = run(
        LocalRun(logs=[logs], repo=str(shop), model=f"replay:{replay}", endpoint_url=fresh_local_table,
                 test_command="python3 check.py"),
        say=said.append,
    )  # fmt: skip
    doc = {g["exception_type"]: g for g in summary(groups)["groups"]}
    # THEN the None discount: red, one repair on the same branch, green, ready
    none = doc["AttributeError"]
    assert (none["status"], none["checks"], none["repairs"], none["ready"]) == ("PR_OPENED", "passed", 1, True)
    assert none["fixability"] == "code" and none["risks"] == []
    log = git.Repo(shop).git.log("--format=%s", f"main..{none['branch']}").splitlines()
    assert log == ["Upper-case", "No code, no discount"]  # the repair is a second commit on the branch
    record = (shop.parent / "shop.selfheal-prs" / f"{none['branch'].replace('/', '-')}.md").read_text()
    assert "- draft: no" in record and "- ready for review: yes" in record
    assert any(f"checks of {none['branch']}: failure → repair" in s for s in said)
    # the same lines from another group: linked to the first PR, which carries a comment naming it
    winter = doc["KeyError"]
    assert winter["status"] == "SKIPPED" and winter["reason"].startswith("duplicate: the open pull request")
    assert winter["fingerprint"] in record
    # the answer that removes the raise: green, but a flagged draft
    limit = doc["OverflowError"]
    assert (limit["status"], limit["checks"], limit["ready"]) == ("PR_OPENED", "passed", False)
    assert any("weakens a check: removes a raise in check_quantity" in r for r in limit["risks"])
    # the validation error never reached the model
    rejected = doc["ValueError"]
    assert (rejected["status"], rejected["fixability"], rejected["checks"]) == ("SKIPPED", "input", "none")
    assert rejected["repairs"] == 0 and rejected["ready"] is False
    # and every group carries the contract's fields
    assert all({"fixability", "checks", "repairs", "ready", "risks"} <= set(g) for g in doc.values())
    # and the outcome figures add up (fixes stats)
    from chalicelib.core.outcomes import fix_stats
    from chalicelib.usecases.fix_generation import PROMPT_VERSION

    stats = fix_stats(groups, now_ms=max(g.updated_at for g in groups), since_ms=0)
    assert {k: stats[k] for k in ("prs_opened", "ready", "merged", "ci_green_first_time", "green_after_repair",
                                  "ci_failed", "duplicates_avoided")} == {
        "prs_opened": 2, "ready": 1, "merged": 0, "ci_green_first_time": 1, "green_after_repair": 1,
        "ci_failed": 0, "duplicates_avoided": 1,
    }  # fmt: skip
    assert stats["skipped_by_class"] == {"input": 1, "environment": 0, "library": 0}
    assert set(stats["by_prompt_version"]) == {PROMPT_VERSION, ""}  # "": the group never sent to a model
    assert stats["by_prompt_version"][PROMPT_VERSION]["prs_opened"] == 2 and stats["tokens"] > 0


def test_the_worktree_run_reports_a_failure_with_the_output_tail(shop) -> None:
    from local_checks import run_in_worktree

    subprocess.run(["git", "-C", str(shop), "branch", "t"], check=True)
    green = run_in_worktree(shop, "t", "python3 check.py")
    red = run_in_worktree(shop, "t", "echo boom >&2; exit 3")
    gone = run_in_worktree(shop, "no-such-branch", "true")
    assert (green.conclusion, "2 checks passed" in green.text) == ("success", True)
    assert (red.conclusion, red.title, red.text.strip()) == ("failure", "exit status 3", "boom")
    assert gone.conclusion == "failure" and "checked out" in gone.title
    # and every temporary worktree is gone again
    assert len(git.Repo(shop).git.worktree("list").splitlines()) == 1
