"""One failure recorded twice (the handler's record, then the Lambda runtime's) counts once, also
when the two records arrive in two subscription deliveries (moto server: the counts are state)."""

from __future__ import annotations

import json
from pathlib import Path

import app as handlers
import pytest
from chalice.local import LambdaContext

from chalicelib import runtime
from tests.factories import logs_event, payload

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parent.parent / "samples" / "runtime"
STREAM = "2026/11/30/[$LATEST]4b1e0c2f9a8d4e7f"


def invocations() -> list[list[dict]]:
    """The corpus's Lambda text events (the runtime's own output), one list per invocation."""
    rows = json.loads((CORPUS / "lambda_text.filter.json").read_text())["events"]
    out: list[list[dict]] = []
    for row in rows:
        if row["message"].startswith("START RequestId"):
            out.append([])
        out[-1].append(row)
    return out


def deliver(rows: list[dict]) -> dict:
    doc = payload([r["message"] for r in rows], log_stream=STREAM, start=rows[0]["timestamp"])
    for event, row in zip(doc["logEvents"], rows, strict=True):
        event["timestamp"] = row["timestamp"]
    return handlers.log_processor(logs_event(doc), LambdaContext("log_processor", 512, max_runtime_ms=60_000))


def occurrences() -> list[int]:
    return sorted(g.occurrences for g in runtime.store().scan() if g.status)


def split(invocation: list[dict]) -> tuple[list[dict], list[dict]]:
    """The invocation cut between the handler's record and the runtime's."""
    at = next(n for n, r in enumerate(invocation) if r["message"].startswith("[ERROR] "))
    return invocation[:at], invocation[at:]


def test_both_records_in_one_delivery_count_once(aws) -> None:
    [first, second, *_] = invocations()
    deliver(first + second)  # the same bug, failing twice
    assert occurrences() == [2]
    # ... with no correction write: no record sat at the delivery's edge without its pair (a new
    # group is four writes: its small item, its detail once, the item's note of it, its ~new~ day set)
    assert aws.calls["dynamodb.UpdateItem"] == 4


@pytest.mark.parametrize("reverse", [False, True], ids=["in order", "later delivery first"])
def test_records_split_over_two_deliveries_count_once(aws, reverse: bool) -> None:
    # GIVEN one failure whose handler record ends one delivery and whose runtime record starts the next
    [first, second, *_] = invocations()
    head, tail = split(first)
    batches = [head, tail] if not reverse else [tail, head]
    # WHEN both are delivered, then the next invocation's failure
    for batch in batches:
        deliver(batch)
    assert occurrences() == [1]
    deliver(second)
    # THEN two failures, two occurrences; the kept tokens of the split one were forgotten
    assert occurrences() == [2]
    # (the recipe's version is written once, with the trace, in the group's detail item)
    key = {"fingerprint": {"S": "~detail~" + _fp()}}
    item = aws.clients.dynamodb.get_item(TableName=aws.stack.table_name, Key=key)["Item"]
    assert item["grouping_version"]["N"] == "3"


def _fp() -> str:
    [group] = [g for g in runtime.store().scan() if g.status]
    return group.fingerprint


def test_a_chain_written_one_line_per_event_counts_once_when_only_its_headers_are_delivered(aws) -> None:
    from local_stack import put_log_lines

    # GIVEN a container's chained traceback, one line per event (the awslogs driver), and a
    # subscription filter that delivers only the lines holding "Traceback": both of its headers
    lines = (CORPUS / "basic.log").read_text().split("\n")
    start = next(n for n, line in enumerate(lines) if "OrderError" in line) - 1
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("shop.orders.OrderError"))
    first_record = lines[next(n for n in range(start, 0, -1) if "ERROR shop.app" in lines[n]) : end + 1]
    stream = put_log_lines(aws.clients, aws.stack.log_group, ["booting", *first_record, "next request"])
    stored = aws.clients.logs.get_log_events(logGroupName=aws.stack.log_group, logStreamName=stream)["events"]
    headers = [e for e in stored if e["message"].startswith("Traceback")]
    assert len(headers) == 2
    doc = payload([e["message"] for e in headers], log_group=aws.stack.log_group, log_stream=stream)
    for event, header in zip(doc["logEvents"], headers, strict=True):
        event["timestamp"] = header["timestamp"]
    # WHEN
    handlers.log_processor(logs_event(doc), LambdaContext("log_processor", 512, max_runtime_ms=60_000))
    # THEN each header was completed from the stream, and the chain's later part is not a second failure
    [group] = [g for g in runtime.store().scan() if g.status]
    assert (group.exception_type, group.occurrences) == ("shop.orders.OrderError", 1)
    assert "The above exception was the direct cause" in group.sample
