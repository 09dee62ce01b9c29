"""A `selfheal local` run's stack outlives it: `status --local`, `show --local`, `retry --local`
read and change it afterwards, and the next `local` run on the same repository continues from it
(a retried group is fixed again, the others are counted, not fixed).

The embedded moto server keeps its state in memory only; what is tested is that the state
directory carries it from one server to the next (a real moto server each time, in process).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from tests.fix_fixtures import GOOD_EDIT, NONE_DISCOUNT_TRACE, converse_answer

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration
DAY_S = 86_400


def service_log(now_s: float) -> tuple[str, str, str]:
    """One bug logged twice by a Python logging service, with its own timestamps (three and two
    days ago: CloudWatch takes them as they are); and the two times as status prints them."""
    first, last = time.gmtime(now_s - 3 * DAY_S), time.gmtime(now_s - 2 * DAY_S)
    text = (
        time.strftime("%Y-%m-%d %H:%M:%S,125 ERROR shop request failed\n", first)
        + NONE_DISCOUNT_TRACE
        + time.strftime("%Y-%m-%d %H:%M:%S,900 INFO shop next request\n", first)
        + time.strftime("%Y-%m-%d %H:%M:%S,500 ERROR shop request failed\n", last)
        + NONE_DISCOUNT_TRACE
    )
    return text, time.strftime("%m-%d %H:%M", first), time.strftime("%m-%d %H:%M", last)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    import selfheal

    code = selfheal.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_state_of_a_local_run_is_read_changed_and_continued(capsys, tmp_path: Path) -> None:
    from local_mode import commit_sample_app

    # GIVEN a service's log (timestamps of its own), its repository and a replay answer
    repo = commit_sample_app(tmp_path / "shop")
    log = tmp_path / "service.log"
    text, first, last = service_log(time.time())
    log.write_text(text)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"AttributeError": converse_answer([GOOD_EDIT])}))
    state = tmp_path / "state"
    run = ["local", "--logs", str(log), "--repo", str(repo), "--model", f"replay:{answers}", "--state-dir", str(state)]
    # WHEN it runs locally
    code, out, err = cli(capsys, *run, "--json")
    assert code == 0, err
    [group] = json.loads(out)["groups"]
    assert group["status"] == "PR_OPENED"
    assert f"state kept in {state}" in err
    # THEN status reads the kept stack: culprit, the log's first and last seen, --since
    code, out, err = cli(capsys, "status", "--state-dir", str(state))
    assert code == 0, err
    assert "pricing.py in discount_percent" in out
    assert first in out and last in out
    code, out, _ = cli(capsys, "status", "--state-dir", str(state), "--since", "1h", "--json")
    assert json.loads(out)["groups"] == []
    # and show finds it by a prefix, with its sample and the fix's diff
    code, out, err = cli(capsys, "show", "--state-dir", str(state), group["fingerprint"][:6])
    assert code == 0, err
    assert f"-{first} " in out and f"-{last} " in out  # show prints the year too: 2026-12-01 10:00 UTC
    assert "AttributeError: 'NoneType' object has no attribute 'upper'" in out
    assert "+    if not code:" in out
    # WHEN the group is retried, and local runs again on the same repository
    code, out, err = cli(capsys, "retry", "--state-dir", str(state), group["fingerprint"][:8])
    assert code == 0, err
    code, out, err = cli(capsys, "show", "--state-dir", str(state), group["fingerprint"][:8], "--json")
    assert (json.loads(out)["status"], json.loads(out)["attempts"]) == ("NEW", 0)
    code, out, err = cli(capsys, *run, "--json")
    # THEN the retried group was fixed again by that run (its PR updated), counted twice over
    assert code == 0, err
    assert "item(s) of the earlier run" in err
    [again] = json.loads(out)["groups"]
    assert again["status"] == "PR_OPENED" and again["occurrences"] == 4
    # (the fixer's progress line is quiet under --json: the kept group says it; the retry re-opened
    # it with attempts 0, only a fix brings it back to PR_OPENED, and it was claimed once since)
    code, out, err = cli(capsys, "show", "--state-dir", str(state), group["fingerprint"][:8], "--json")
    assert code == 0, err
    kept = json.loads(out)
    assert (kept["status"], kept["attempts"]) == ("PR_OPENED", 1)


def test_show_and_status_without_state_say_what_to_do(capsys, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "status", "--state-dir", str(tmp_path / "none"))
    assert code == 2 and "run `selfheal local` first" in err and len(err.strip().splitlines()) == 1


def test_local_and_an_endpoint_are_exclusive(capsys, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "show", "abc", "--local", "--endpoint-url", "http://127.0.0.1:1")
    assert code == 2 and "not both" in err


def test_an_operators_change_to_a_kept_state_is_kept(capsys, tmp_path: Path) -> None:
    # GIVEN a state as local --infra keeps it: a governor table and the runbooks' parameters
    from local_state import LocalState, save

    from chalicelib.adapters.governor_store import table_definition

    state = tmp_path / "state"
    state.mkdir()
    dump = {
        "tables": [{"definition": table_definition("selfheal-governor-kept"), "items": []}],
        "parameters": [{"Name": "/sh-kept/runbooks/catalog", "Type": "String", "Value": '{"runbooks": []}'}],
    }
    (state / "tables.json").write_text(json.dumps(dump))
    save(state, LocalState("", "", "selfheal-governor-kept", "/sh-kept/"))  # no clients: the dump stays
    # WHEN the kill switch is turned on in it, and read back by the next command (a new server)
    assert cli(capsys, "kill-switch", "on", "--state-dir", str(state))[0] == 0
    code, out, err = cli(capsys, "kill-switch", "status", "--json", "--state-dir", str(state))
    # THEN the change outlived the server it was made on
    assert code == 0, err
    assert json.loads(out) == {"kill_switch": "on"}
    code, out, _ = cli(capsys, "actions", "--json", "--state-dir", str(state))
    assert code == 0 and json.loads(out)["actions"] == []
