"""The operator's commands against a moto estate: kill switch, catalog, audit trail, approve / deny, resume."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest
import selfheal
from local_infra import Clock, Estate, alarm, build_estate, finding

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[tuple[Estate, list[str], Clock]]:
    estate = build_estate(Clients(Settings(endpoint_url=moto_endpoint)), size=2)
    settings = Settings(endpoint_url=moto_endpoint, governor_table_name=estate.governor_table,
                        parameter_prefix=estate.prefix)  # fmt: skip
    # Real time: approvals expire against the operator's clock.
    clock = Clock(int(time.time() * 1000))
    runtime.use(runtime.Container(settings=settings, clients=Clients(settings), clock=clock))
    options = ["--endpoint-url", moto_endpoint, "--governor-table", estate.governor_table, "--prefix", estate.prefix]
    yield estate, options, clock
    runtime.clear()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()  # what the handlers logged before
    code = selfheal.main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip().startswith(("{", "[")) else out, err


def test_kill_switch_on_off_and_status(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, options, _ = estate
    assert cli(capsys, "kill-switch", "status", "--json", *options)[1] == {"kill_switch": "off"}
    assert cli(capsys, "kill-switch", "on", "--json", *options)[1] == {"kill_switch": "on"}
    code, text, _ = cli(capsys, "kill-switch", "status", *options)
    assert code == 0 and "dry-run" in text
    assert cli(capsys, "kill-switch", "off", "--json", *options)[1] == {"kill_switch": "off"}


def test_runbooks_list_shows_the_deployed_catalog(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, options, _ = estate
    code, doc, _ = cli(capsys, "runbooks", "list", "--json", *options)
    by_name = {r["name"]: r for r in doc["runbooks"]}
    assert code == 0 and by_name["ec2-isolate"]["approval"] is True
    assert all(r["dry_run"] is False for r in doc["runbooks"])  # the local estate enables every runbook
    code, table, _ = cli(capsys, "runbooks", "list", *options)
    assert "ec2-reboot" in table and "enabled" in table


def test_actions_lists_the_audit_newest_first_with_filters(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    estate, options, clock = estate
    import app

    app.alarm_remediator(alarm("alarm_ec2_cpu", "cpu-a", clock(), InstanceId=estate.instances[0]), None)
    clock.advance(0.1)
    app.alarm_remediator(alarm("alarm_ec2_cpu", "cpu-b", clock(), InstanceId=estate.instances[1]), None)
    code, doc, _ = cli(capsys, "actions", "--json", *options)
    assert code == 0 and [a["decision"] for a in doc["actions"]] == ["suppressed", "act"]
    assert doc["actions"][0]["rule"] == "blast-radius"
    code, doc, _ = cli(capsys, "actions", "--decision", "act", "--json", *options)
    assert [a["resource"] for a in doc["actions"]] == [estate.instances[0]]
    code, table, _ = cli(capsys, "actions", "--runbook", "ec2-reboot", *options)
    assert table.splitlines()[0].startswith("WHEN") and len(table.splitlines()) == 3


def test_deny_closes_a_pending_action_and_approve_then_refuses(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    estate, options, clock = estate
    import app

    [pending] = app.finding_remediator(finding(estate.instances[0], clock()), None)["decisions"]
    code, doc, _ = cli(capsys, "deny", pending["action_id"], "--json", *options)
    assert code == 0 and doc["decision"] == "denied"
    code, _, err = cli(capsys, "approve", pending["action_id"], *options)
    assert code == 2 and "already" in err


def test_approve_an_unknown_action_is_refused_in_one_line(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, options, _ = estate
    code, _, err = cli(capsys, "approve", "no-such-action", *options)
    assert code == 2 and err.count("\n") == 1 and "no action" in err


def test_resume_clears_an_escalation_pause(estate: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an instance the same repair was needed for three times: escalated and paused
    estate, options, clock = estate
    import app

    instance = estate.instances[0]
    for _ in range(3):
        app.alarm_remediator(alarm("alarm_ec2_cpu", "cpu", clock(), InstanceId=instance), None)
        clock.advance(5)
        app.alarm_remediator(alarm("alarm_ec2_cpu_ok", "cpu", clock(), InstanceId=instance), None)
        clock.advance(31)
    assert runtime.governor().paused(instance)
    # WHEN an operator resumes it, THEN runbooks may act on it again
    code, doc, _ = cli(capsys, "resume", instance, "--json", *options)
    assert code == 0 and doc == {"resource": instance, "paused": False}
    assert not runtime.governor().paused(instance)
    # AND resuming what is not paused says so
    code, _, err = cli(capsys, "resume", instance, *options)
    assert code == 2 and "not paused" in err
