"""`selfheal runbooks stats` in-process (tests/cli.py run_cli): on a moto estate through
``--endpoint-url`` after real remediator events, and on a kept local state (``--state-dir``)."""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from local_infra import Clock, alarm, build_estate

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.governor_store import table_definition
from chalicelib.adapters.settings import Settings
from chalicelib.core.heal_stats import day_of
from tests.cli import run_cli

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

CONTRACT = {"runbook", "layer", "acted", "healed", "escalated", "failed", "suppressed", "success_rate",
            "median_time_to_heal_s"}  # fmt: skip


@pytest.fixture
def estate(moto_endpoint: str) -> Iterator[tuple[Any, list[str], Clock]]:
    estate = build_estate(Clients(Settings(endpoint_url=moto_endpoint)), size=2)
    settings = Settings(endpoint_url=moto_endpoint, governor_table_name=estate.governor_table,
                        parameter_prefix=estate.prefix, topic_arn=estate.topic_arn)  # fmt: skip
    clock = Clock(int(time.time() * 1000))
    runtime.use(runtime.Container(settings=settings, clients=Clients(settings), clock=clock))
    yield estate, ["--endpoint-url", moto_endpoint, "--governor-table", estate.governor_table], clock
    runtime.clear()


def test_stats_of_a_reboot_that_healed_per_runbook_and_per_layer(estate: Any) -> None:
    estate, options, clock = estate
    import app

    # GIVEN a CPU alarm rebooted an instance, delivered twice, and its alarm went OK 4 minutes later
    instance = estate.instances[0]
    event = alarm("alarm_ec2_cpu", "cpu-a", clock(), InstanceId=instance)
    with log_lines("chalicelib.usecases.remediate") as lines:
        app.alarm_remediator(event, None)
        app.alarm_remediator(event, None)
        clock.advance(4)
        app.alarm_remediator(alarm("alarm_ec2_cpu_ok", "cpu-a", clock(), InstanceId=instance), None)
    # (the dashboard's per-layer widgets read these lines)
    outcomes = [(r.runbook, r.layer, r.decision, getattr(r, "time_to_heal_s", None))
                for r in lines if r.getMessage() == "runbook outcome"]  # fmt: skip
    assert outcomes == [
        ("ec2-reboot", "infrastructure", "act", None),
        ("ec2-reboot", "infrastructure", "suppressed", None),
        ("ec2-reboot", "infrastructure", "healed", 240.0),
    ]
    # WHEN an operator asks for the week's statistics
    answer = run_cli("runbooks", "stats", "--json", *options)
    # THEN the contract document: the reboot acted once, healed once, in 240 s, in the infrastructure layer
    assert answer.returncode == 0, answer.stderr
    doc = json.loads(answer.stdout)
    [row] = doc["runbooks"]
    assert CONTRACT <= set(row)
    assert (row["runbook"], row["layer"], row["acted"], row["healed"], row["duplicates"]) == (
        "ec2-reboot", "infrastructure", 1, 1, 1,
    )  # fmt: skip
    assert (row["success_rate"], row["median_time_to_heal_s"]) == (1.0, 240.0)
    assert doc["layers"]["infrastructure"]["healed"] == 1 and set(doc["layers"]) == {"infrastructure"}
    table = run_cli("runbooks", "stats", "--since", "24h", *options)
    assert table.returncode == 0 and "ec2-reboot" in table.stdout and "100%" in table.stdout
    assert "(all infrastructure)" in table.stdout
    # and the notices said the layer, the attempt, and when the repair started and ended
    told = {n["metadata"]["eventType"]: n["metadata"]["additionalContext"] for n in published(estate, options[1])}
    assert told["selfheal.act"]["layer"] == "infrastructure" and told["selfheal.act"]["attempt"] == "1"
    healed = told["selfheal.healed"]
    assert (healed["layer"], healed["attempt"]) == ("infrastructure", "1")
    assert healed["started"] == told["selfheal.act"]["started"] < healed["ended"]


@contextmanager
def log_lines(name: str) -> Iterator[list[logging.LogRecord]]:
    """The records a logger emits inside the block (a handler of our own on it, at INFO)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def published(estate: Any, endpoint: str) -> list[dict[str, Any]]:
    """The Chatbot documents the topic delivered to the estate's inbox queue."""
    sqs, found = Clients(Settings(endpoint_url=endpoint)).sqs, []
    while True:
        messages = sqs.receive_message(QueueUrl=estate.inbox_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for m in messages:
            found.append(json.loads(json.loads(m["Body"])["Message"]))  # the default: Chatbot JSON
            sqs.delete_message(QueueUrl=estate.inbox_url, ReceiptHandle=m["ReceiptHandle"])


def test_stats_refuses_a_window_it_cannot_read() -> None:
    # (refused before any request: the endpoint is never reached)
    for bad in (["--since", "7w"], ["--until", "yesterday"]):
        answer = run_cli("runbooks", "stats", *bad, "--endpoint-url", "http://127.0.0.1:9")
        assert answer.returncode == 2 and "selfheal runbooks stats:" in answer.stderr


def test_stats_of_a_kept_local_state_on_its_own_date(tmp_path: Path) -> None:
    # GIVEN a state as local --infra keeps it, with day counters of its (past) date
    from local_state import LocalState, save

    day = day_of(1_795_000_000_000)
    counters = [
        {"pk": {"S": f"stats#{day}"}, "sk": {"S": "lambda-rollback"}, "n_acted": {"N": "2"}, "n_healed": {"N": "1"}},
        {"pk": {"S": f"stats#{day}"}, "sk": {"S": "lambda-rollback#tth"}, "tth": {"L": [{"N": "90"}]}},
    ]
    dump = {"tables": [{"definition": table_definition("selfheal-governor-kept"), "items": counters}], "parameters": []}
    (tmp_path / "tables.json").write_text(json.dumps(dump))
    save(tmp_path, LocalState("", "", "selfheal-governor-kept", "/sh-kept/"))
    # WHEN the stats are read with --state-dir, up to that date, and up to today
    then = run_cli("runbooks", "stats", "--json", "--state-dir", str(tmp_path), "--until", day)
    today = run_cli("runbooks", "stats", "--json", "--state-dir", str(tmp_path))
    # THEN the incident's day shows its figures (platform layer), today's week shows none
    assert then.returncode == 0, then.stderr
    doc = json.loads(then.stdout)
    assert doc["layers"]["platform"]["acted"] == 2 and doc["layers"]["platform"]["success_rate"] == 0.5
    assert doc["runbooks"][0]["median_time_to_heal_s"] == 90.0
    assert json.loads(today.stdout)["runbooks"] == []
