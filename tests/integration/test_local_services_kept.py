"""`local --services FILE` works like `local`: `--test-command` judges each fix branch in its own
service's repository (one repair after red checks), the run's stack is kept in the state directory
for `status --local` and continued by the next run of the same file, and under `--json` stderr
holds notices only (the replay model, where the state is), no progress.

Real parts: git repositories with a check script, the test command in a worktree of each branch
(a real subprocess: that is what is tested), the embedded moto server of `local`, recorded answers.
"""

from __future__ import annotations

import json

import git
import pytest

from tests.cli import run_cli, run_local
from tests.fix_fixtures import converse_answer
from tests.integration.test_ci_judge_local import CHECK, DISCOUNT, RETURN, WRONG, _trace

pytestmark = pytest.mark.integration
PROGRESS = ("log_processor:", "stream_processor:", "fixer:", "checks of", "pipeline:", "local AWS:")


def _shop(path):
    """The sample app and its check script, committed: a repository with tests."""
    from local_mode import commit_sample_app

    work = commit_sample_app(path)
    (work / "check.py").write_text(CHECK)
    repo = git.Repo(work)
    repo.index.add(["check.py"])
    repo.index.commit("Checks")
    return work


def test_services_run_judges_each_branch_in_its_own_repository_and_keeps_its_state(tmp_path) -> None:
    # GIVEN two services with the same bug in two repositories that have tests: "billing" answers
    # wrong first (its check goes red, then one repair), "orders" answers right at once
    good = "    return DISCOUNTS.get(code.upper(), 0) if code else 0"
    answers = {
        "billing": [converse_answer([{"path": "shop/pricing.py", "search": RETURN, "replace": WRONG}], title="Wrong"),
                    converse_answer([{"path": "shop/pricing.py", "search": WRONG, "replace": good}], title="Repair")],
        "orders": converse_answer([{"path": "shop/pricing.py", "search": RETURN, "replace": good}], title="Right"),
    }  # fmt: skip
    entries = []
    for name in ("billing", "orders"):
        _shop(tmp_path / name)
        (tmp_path / f"{name}.log").write_text(
            _trace(DISCOUNT, "AttributeError: 'NoneType' object has no attribute 'upper'") + "\n"
        )
        (tmp_path / f"{name}.json").write_text(json.dumps({"AttributeError": answers[name]}))
        entries.append({"name": name, "logs": f"{name}.log", "repo": name, "model": f"replay:{name}.json"})
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"services": entries}))
    state = tmp_path / "state"
    args = ["--services", str(services), "--test-command", "python3 check.py", "--state-dir", str(state), "--json"]
    # WHEN
    run = run_local(*args)
    # THEN each service's branch was tested in its own repository: billing repaired once, both ready
    assert run.returncode == 0, run.stderr
    doc = {g["service"]: g for g in json.loads(run.stdout)["groups"]}
    assert {n: (g["status"], g["checks"], g["repairs"], g["ready"]) for n, g in doc.items()} == {
        "billing": ("PR_OPENED", "passed", 1, True), "orders": ("PR_OPENED", "passed", 0, True),
    }  # fmt: skip
    billing = git.Repo(tmp_path / "billing").git.log("--format=%s", f"main..{doc['billing']['branch']}")
    assert billing.splitlines() == ["Repair", "Wrong"]
    for name in ("billing", "orders"):
        record = tmp_path / f"{name}.selfheal-prs" / f"{doc[name]['branch'].replace('/', '-')}.md"
        assert "- ready for review: yes" in record.read_text()
    # and under --json stderr holds the notices, no progress line
    assert "replaying recorded answers" in run.stderr and f"state kept in {state}" in run.stderr
    assert not [line for line in run.stderr.splitlines() if line.startswith(PROGRESS)], run.stderr
    # WHEN the kept state is read afterwards
    status = run_cli("status", "--local", "--state-dir", str(state), "--json")
    # THEN it holds both services' groups as the run left them
    assert status.returncode == 0, status.stderr
    kept = {g["service"]: g["status"] for g in json.loads(status.stdout)["groups"]}
    assert kept == {"billing": "PR_OPENED", "orders": "PR_OPENED"}
    # WHEN the same services file runs again
    again = run_local(*args)
    # THEN it continues from the state: the groups are counted again, not fixed again
    assert again.returncode == 0, again.stderr
    assert f"from {state}" in again.stderr
    second = {g["service"]: g for g in json.loads(again.stdout)["groups"]}
    assert {n: (g["occurrences"], g["repairs"]) for n, g in second.items()} == {"billing": (2, 1), "orders": (2, 0)}
    assert git.Repo(tmp_path / "billing").git.log("--format=%s", f"main..{doc['billing']['branch']}") == billing


def test_a_test_command_with_a_remote_repository_is_refused_before_anything_starts(tmp_path) -> None:
    (tmp_path / "a.log").write_text("x\n")
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"services": [
        {"name": "billing", "logs": "a.log", "repo": "acme/billing", "model": "replay:none.json"}]}))  # fmt: skip
    run = run_cli("local", "--services", str(services), "--test-command", "true", "--state-dir", str(tmp_path))
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "selfheal local: --test-command tests each fix branch in a local repository: service(s) billing name a "
        "remote one (give a local clone)"
    ]
    assert not (tmp_path / "state.json").exists()  # nothing ran, nothing was kept


def test_a_services_file_carries_the_fixability_overrides(tmp_path) -> None:
    from local_services import load_services

    from chalicelib.errors import ConfigError

    (tmp_path / "a.log").write_text("x\n")
    entry = {"name": "billing", "logs": "a.log", "repo": "acme/billing", "model": "replay:r.json",
             "always_fix": ["ValueError"], "never_fix": ["billing.legacy"], "fix_library": True}  # fmt: skip
    services = tmp_path / "services.json"
    services.write_text(json.dumps({"services": [entry]}))
    [billing] = load_services(services)
    policy = billing.service.fix_policy
    assert (policy.always_fix, policy.never_fix, policy.fix_library) == (("ValueError",), ("billing.legacy",), True)
    services.write_text(json.dumps({"services": [{**entry, "never_fix": ["not a name"]}]}))
    with pytest.raises(ConfigError, match="service 'billing': never_fix entry 'not a name' is not valid"):
        load_services(services)
