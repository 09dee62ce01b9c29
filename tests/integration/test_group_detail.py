"""An occurrence is one small write: the group's large fields live in a detail item written once.

DynamoDB bills an UpdateItem by the size of the whole item (before or after, the larger), so the
counter must not share an item with the trace. Against the moto server, with the store's own writes.
"""

from __future__ import annotations

import importlib.util
import math
import sys

import pytest

from chalicelib import runtime
from chalicelib.adapters.store import BATCH_MEMORY, DETAIL_PREFIX
from chalicelib.core.models import Status
from chalicelib.core.tracebacks import find_in_text
from chalicelib.errors import TransientError
from tests.conftest import ROOT
from tests.factories import logs_event, payload

pytestmark = pytest.mark.integration

TRACE = "\n".join(
    [
        "Traceback (most recent call last):",
        '  File "/var/task/app/handler.py", line 10, in handle',
        "    return orders.total(event)",
        '  File "/var/task/app/orders.py", line 20, in total',
        "    return price / count",
        "ZeroDivisionError: division by zero",
    ]
)


def _item_size():
    """bench/cost_meter.py's item size (AWS's rules), the one bench_cost prices with."""
    spec = importlib.util.spec_from_file_location("cost_meter", ROOT / "bench" / "cost_meter.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("cost_meter", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.item_size


def _raw(aws, key: str) -> dict:
    return aws.clients.dynamodb.get_item(TableName=aws.stack.table_name, Key={"fingerprint": {"S": key}}).get(
        "Item", {}
    )


def _deliver(n: int, trace: str = TRACE) -> dict:
    return runtime.ingest().handle(_batch([trace] * n))


def _batch(messages: list[str]):
    from chalicelib.core.logs_payload import decode_batch

    return decode_batch(logs_event(payload(messages))["awslogs"]["data"])


def _fingerprint() -> str:
    from chalicelib.core.fingerprint import fingerprint

    return fingerprint(find_in_text(TRACE)[0])


def test_a_known_bug_once_fixed_is_one_write_of_at_most_one_kilobyte(aws) -> None:
    # GIVEN a bug whose fix was opened, reviewed and rejected, seen in BATCH_MEMORY deliveries
    store = runtime.store()
    _deliver(1)
    fp, pr = _fingerprint(), "https://github.com/acme/shop/pull/7"
    assert store.mark_queued(fp, "record-1", 1) and store.claim(fp, "fixer-1", 2, 60, 3).claimed
    store.finish(
        fp, "fixer-1", Status.PR_OPENED, 3, pr_url=pr, branch="selfheal/x", extra={"pr_diff": "-a\n+b\n" * 400}
    )
    store.mark_rejected(fp, pr, "closed", "@r (review): no " * 100, 4)
    for _ in range(BATCH_MEMORY):
        _deliver(1)
    # WHEN one more delivery of it arrives
    before = aws.calls["dynamodb.UpdateItem"]
    _deliver(2)
    # THEN it is one UpdateItem, of an item that costs one write unit
    assert aws.calls["dynamodb.UpdateItem"] - before == 1
    size = _item_size()(_raw(aws, fp))
    assert math.ceil(size / 1024) == 1, size
    # and the whole group, trace and all, is still what a reader gets
    group = store.get(fp)
    assert group.occurrences == BATCH_MEMORY + 3 and "return price / count" in group.sample
    assert group.pr_diff.startswith("-a") and group.review_reason.startswith("@r")
    assert group.frames[-1].function == "total"


def test_a_crash_between_the_group_and_its_detail_is_mended_by_the_retry(aws) -> None:
    # GIVEN the first delivery of a new bug writes its group, then fails to write the detail (throttled)
    refused: list[str] = []

    def refuse_detail(params, **_):
        import json

        request = json.loads(params["body"])
        if request["Key"]["fingerprint"]["S"].startswith(DETAIL_PREFIX) and not refused:
            refused.append("once")
            from tests.integration.test_pipeline import _Refused

            code = "ProvisionedThroughputExceededException"
            return _Refused(code, 400), {"Error": {"Code": code, "Message": "throttled (test)"}}
        return None

    aws.clients.dynamodb.meta.events.register_first("before-call.dynamodb.UpdateItem", refuse_detail)
    batch = _batch([TRACE, TRACE])
    with pytest.raises(TransientError):
        runtime.ingest().handle(batch)
    fp = _fingerprint()
    assert _raw(aws, fp)["occurrences"]["N"] == "2" and not _raw(aws, DETAIL_PREFIX + fp)
    # WHEN Lambda retries the delivery
    again = runtime.ingest().handle(batch)
    # THEN it counts nothing again, and the detail is there
    assert again["duplicates"] == 1
    group = runtime.store().get(fp)
    assert group.occurrences == 2 and "return price / count" in group.sample


def test_a_detail_no_attempt_could_write_is_written_by_the_next_occurrence(aws) -> None:
    # GIVEN the detail of a new bug refused on the delivery and on both of Lambda's retries
    refused: list[str] = []

    def refuse_detail(params, **_):
        import json

        request = json.loads(params["body"])
        if request["Key"]["fingerprint"]["S"].startswith(DETAIL_PREFIX) and len(refused) < 3:
            refused.append("again")
            from tests.integration.test_pipeline import _Refused

            code = "ProvisionedThroughputExceededException"
            return _Refused(code, 400), {"Error": {"Code": code, "Message": "throttled (test)"}}
        return None

    aws.clients.dynamodb.meta.events.register_first("before-call.dynamodb.UpdateItem", refuse_detail)
    batch = _batch([TRACE])
    for _ in range(3):
        with pytest.raises(TransientError):
            runtime.ingest().handle(batch)
    fp = _fingerprint()
    assert "detail_until" not in _raw(aws, fp) and not _raw(aws, DETAIL_PREFIX + fp)
    # WHEN the bug occurs again in a later delivery
    _deliver(1)
    # THEN the trace is there, noted on the group, and the count is right
    group = runtime.store().get(fp)
    assert group.occurrences == 2 and "return price / count" in group.sample
    assert int(_raw(aws, fp)["detail_until"]["N"]) > 0


def test_a_group_stored_before_details_moves_its_trace_on_its_next_occurrence(aws) -> None:
    # GIVEN a group item as the store wrote it before details existed (the trace on the item)
    fp = _fingerprint()
    legacy = {
        "fingerprint": {"S": fp},
        "status": {"S": Status.REJECTED},
        "exception_type": {"S": "ZeroDivisionError"},
        "message": {"S": "division by zero " * 30},
        "sample": {"S": TRACE},
        "frames": {"L": [{"M": {"file": {"S": "/var/task/app/orders.py"}, "line": {"N": "20"},
                                "function": {"S": "total"}, "source": {"S": "return price / count"}}}]},
        "review_reason": {"S": "@r (review): not like this"},
        "occurrences": {"N": "5"},
        "attempts": {"N": "1"},
        "first_seen": {"N": "1"},
        "last_seen": {"N": "1"},
    }  # fmt: skip
    aws.clients.dynamodb.put_item(TableName=aws.stack.table_name, Item=legacy)
    # WHEN it occurs again
    _deliver(1)
    # THEN its item is small, its detail holds what it had, and a reader sees no difference
    item = _raw(aws, fp)
    assert "sample" not in item and "frames" not in item and "review_reason" not in item
    assert len(item["message"]["S"].encode()) <= 200
    group = runtime.store().get(fp)
    assert group.occurrences == 6 and group.sample == TRACE and group.review_reason == "@r (review): not like this"
    assert group.message == "division by zero " * 30 and group.frames[0].function == "total"


def test_a_detail_that_would_expire_before_its_group_is_renewed(aws) -> None:
    # GIVEN a group whose detail's expiry is nearly reached (it lives longer than any one stale period)
    _deliver(1)
    fp = _fingerprint()
    table, key = aws.stack.table_name, {"fingerprint": {"S": fp}}
    aws.clients.dynamodb.update_item(
        TableName=table, Key=key, UpdateExpression="SET detail_until = :t", ExpressionAttributeValues={":t": {"N": "5"}}
    )
    # WHEN it occurs again
    _deliver(1)
    # THEN the detail's expiry and the group's note of it move on together
    until = int(_raw(aws, fp)["detail_until"]["N"])
    assert until > 5 and int(_raw(aws, DETAIL_PREFIX + fp)["expires_at"]["N"]) == until


def test_a_refused_report_never_costs_the_pr_its_pointers(aws) -> None:
    # GIVEN a fix whose report cannot be written to the detail (throttled for good)
    store = runtime.store()
    _deliver(1)
    fp, pr = _fingerprint(), "https://github.com/acme/shop/pull/9"
    assert store.mark_queued(fp, "record-1", 1) and store.claim(fp, "fixer-1", 2, 60, 3).claimed

    def refuse_detail(params, **_):
        import json

        if json.loads(params["body"])["Key"]["fingerprint"]["S"].startswith(DETAIL_PREFIX):
            from tests.integration.test_pipeline import _Refused

            code = "ProvisionedThroughputExceededException"
            return _Refused(code, 400), {"Error": {"Code": code, "Message": "throttled (test)"}}
        return None

    aws.clients.dynamodb.meta.events.register_first("before-call.dynamodb.UpdateItem", refuse_detail)
    # WHEN the fixer records its PR
    group = store.finish(fp, "fixer-1", Status.PR_OPENED, 3, pr_url=pr, branch="selfheal/x", extra={"pr_diff": "-a"})
    # THEN the PR is recorded with what its fate needs (the webhook finds the group by its URL)
    assert group.status == Status.PR_OPENED and store.find_pr(pr) == fp
