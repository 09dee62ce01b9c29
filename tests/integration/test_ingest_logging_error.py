"""A logging error through the log subscription's pipeline (moto server, the real ingest): one
group, the handler's ``TypeError``, whose frames hold the application's logging call, and no group
named ``Message``. The text is CPython's own (tests/logging_errors.py), one line per event as
Lambda writes stderr."""

from __future__ import annotations

import pytest
from local_stack import put_log_lines

from chalicelib import runtime
from chalicelib.core.tracebacks import find_in_text
from tests.factories import logs_event, payload
from tests.integration.test_pipeline import deliver, items
from tests.logging_errors import LOGGING_CALL, logging_error

pytestmark = pytest.mark.integration


def _the_group(aws) -> dict:
    [item] = items(aws)
    return item


def _assert_the_logging_call_is_traced(aws) -> None:
    item = _the_group(aws)
    assert item["exception_type"]["S"] == "TypeError"
    group = runtime.store().get(item["fingerprint"]["S"])
    assert LOGGING_CALL in [f.source for f in group.frames]
    # the sample, read back as the fixer reads it, is the one joined traceback
    [again] = find_in_text(group.sample)
    assert (again.final.type, again.final.frames) == ("TypeError", group.frames)


def test_a_logging_error_delivered_line_by_line_is_one_group_with_the_logging_call(aws) -> None:
    # GIVEN a delivery of every line of a logging error, one event each (a filter that passes all)
    lines = logging_error().rstrip("\n").split("\n")
    # WHEN
    result = deliver(logs_event(payload(["START RequestId: 1", *lines, "END RequestId: 1"])))
    # THEN one traceback, one new group: the TypeError whose frames include the app's logging call
    assert (result["tracebacks"], result["groups"], result["new_groups"]) == (1, 1, 1)
    _assert_the_logging_call_is_traced(aws)


def test_a_logging_error_whose_header_alone_was_delivered_is_completed_into_one_group(aws) -> None:
    # GIVEN the stream holds a logging error one line per event, and the default subscription
    # filter delivered only its "Traceback" line
    lines = logging_error().rstrip("\n").split("\n")
    stream = put_log_lines(aws.clients, aws.stack.log_group, ["booting", *lines, "next request"])
    stored = aws.clients.logs.get_log_events(logGroupName=aws.stack.log_group, logStreamName=stream)["events"]
    header = next(e for e in stored if e["message"].startswith("Traceback"))
    doc = payload([header["message"]], log_group=aws.stack.log_group, log_stream=stream, start=header["timestamp"])
    # WHEN
    result = deliver(logs_event(doc))
    # THEN the rest read from the stream makes one group with the call stack's frames
    assert (result["tracebacks"], result["groups"]) == (1, 1)
    _assert_the_logging_call_is_traced(aws)
