"""An occurrence of a known bug is one write unit in every status the group can be in.

DynamoDB bills an UpdateItem by the larger of the item before and after the write, rounded up per
1 KB. A hot group keeps up to BATCH_MEMORY delivery tokens (one more, for one write, before the trim),
so each status's group item is sized here as the fixer and the fate writers leave it, with realistic
values (a GitHub PR URL, a 40-hex head commit, changed ranges, reviewers, risks), and with the
largest token set an occurrence's write ever sees. Against the moto server, with the store's own
writes (what bench/bench_cost.py prices).
"""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.adapters.store import BATCH_MEMORY
from chalicelib.core.group_fields import batch_token, packed_token
from chalicelib.core.models import Status
from tests.integration.test_group_detail import _deliver, _fingerprint, _item_size, _raw

pytestmark = pytest.mark.integration

PR = "https://github.com/acme-corporation/checkout-service/pull/12345"
RECORD = "0f4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"  # a DynamoDB stream record's eventID (the job's token)
OWNER = "9b2f6a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b:1a2b3c4d"  # an SQS message id and the claim's suffix
REPORT = {
    "model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "tokens_in": 1843, "tokens_out": 201, "rounds": 1,
    "context_shown": "shop/pricing.py:1-40; shop/orders.py:10-30", "confidence": "0.9", "lines_changed": 2,
    "apply_result": "applied in round 1", "context_tokens": 1200, "risk_flags": 1,
    "risks": ["adds a network call (requests.get) in shop/pricing.py:21"], "weakened_checks": 0, "draft": True,
    "reviewers": "alice, bob", "reviewers_source": "CODEOWNERS", "reviewers_notes": "",
    "pr_diff": "-    return price / count\n+    return price / max(count, 1)\n" * 20,
    "head_sha": "3ce3b65d9d48f55234c66fa69fdfa7e555984b69", "prompt_version": "fix-v7",
    "checks": "pending", "repairs": 0, "ready": False, "reviewers_pending": "alice, bob", "check_output": "",
    "repository": "github.com/acme-corporation/checkout-service",
    "pr_ranges": '{"shop/pricing.py":[[20,21]],"shop/orders.py":[[12,12]]}', "checks_since": 1_796_464_270_260,
}  # fmt: skip


def _largest_write(aws, fp: str) -> int:
    """The group item's size with BATCH_MEMORY + 1 delivery tokens: the largest image an occurrence's
    write of it is billed by (the set is trimmed back once it grows past BATCH_MEMORY)."""
    item = {k: v for k, v in _raw(aws, fp).items() if k != "seen"}
    token = batch_token("/aws/lambda/shop", "2026/12/05/[$LATEST]0123456789abcdef", ["1"], 1_796_464_270_260)
    return _item_size()(item) + len("seen") + (BATCH_MEMORY + 1) * len(packed_token(token))


def test_an_occurrence_is_one_write_unit_in_every_status(aws) -> None:
    store = runtime.store()
    _deliver(1)
    fp = _fingerprint()
    for _ in range(3):  # a hot group's edge tokens and counters as a steady state holds them
        _deliver(2)
    sizes = {Status.NEW: _largest_write(aws, fp)}
    assert store.mark_queued(fp, RECORD, 10)
    assert store.job_sent(fp, RECORD, 11)
    sizes[Status.QUEUED] = _largest_write(aws, fp)
    assert store.claim(fp, OWNER, 12, 900, 3).claimed
    store.set_branch(fp, OWNER, f"selfheal/{fp[:12]}", 13)
    sizes[Status.FIXING] = _largest_write(aws, fp)
    store.finish(
        fp, OWNER, Status.PR_OPENED, 14, pr_url=PR, branch=f"selfheal/{fp[:12]}", extra=REPORT, spent=(1843, 201)
    )
    store.record_checks(fp, PR, "pending", 15)
    sizes[Status.PR_OPENED] = _largest_write(aws, fp)
    store.mark_merged(fp, PR, 1_796_464_270_260, 16)
    sizes[Status.MERGED] = _largest_write(aws, fp)
    store.regress(fp, 1_796_464_270_260 + 10**8, 1_800_000, 17)
    sizes[Status.REGRESSED] = _largest_write(aws, fp)
    # a regression's second attempt, then its PR closed unmerged with a reviewer's words
    assert store.mark_queued(fp, RECORD[::-1], 18)
    assert store.claim(fp, OWNER, 19, 900, 3).claimed
    store.finish(fp, OWNER, Status.PR_OPENED, 20, pr_url=PR, branch=f"selfheal/{fp[:12]}", extra=REPORT)
    store.mark_rejected(fp, PR, "rejected: the pull request was closed", "@alice: not the right fix " * 20, 21)
    sizes[Status.REJECTED] = _largest_write(aws, fp)
    # THEN every status's item, with the most tokens it ever holds, is billed one write unit
    assert all(size <= 1024 for size in sizes.values()), sizes
    # and a reader still gets the whole group: the report, the words and the tokens spent
    group = store.get(fp)
    assert group.head_sha == REPORT["head_sha"] and group.pr_ranges == REPORT["pr_ranges"]
    assert group.review_reason.startswith("@alice") and group.spent_tokens_in == 1843


def test_a_delivery_counted_before_tokens_were_packed_is_not_counted_again(aws) -> None:
    # GIVEN a group stored before tokens were packed: its delivery's text token in ``batches`` only
    from tests.integration.test_group_detail import TRACE, _batch

    store = runtime.store()
    _deliver(1)
    fp = _fingerprint()
    retried = _batch([TRACE, TRACE])
    token = batch_token(retried.log_group, retried.log_stream, retried.ids, max(retried.timestamps))
    aws.clients.dynamodb.update_item(
        TableName=aws.stack.table_name, Key={"fingerprint": {"S": fp}},
        UpdateExpression="ADD #b :t", ExpressionAttributeNames={"#b": "batches"},
        ExpressionAttributeValues={":t": {"SS": [token]}},
    )  # fmt: skip
    # WHEN Lambda retries that delivery after the upgrade
    assert runtime.ingest().handle(retried)["duplicates"] == 1
    # THEN it counted nothing, and the large-delivery precheck knows it too
    assert store.get(fp).occurrences == 1
    assert store.counted([fp], token) == {fp}
    # WHEN the packed set holds the newest BATCH_MEMORY // 2 deliveries: the text set is gone
    for _ in range(BATCH_MEMORY // 2 - 2):
        _deliver(1)
    assert "batches" in _raw(aws, fp)
    _deliver(1)
    assert "batches" not in _raw(aws, fp)
    # and when it grows past BATCH_MEMORY, it is trimmed; every delivery counted once
    for _ in range(BATCH_MEMORY):
        _deliver(1)
    item = _raw(aws, fp)
    assert BATCH_MEMORY // 2 <= len(item["seen"]["BS"]) <= BATCH_MEMORY
    assert store.get(fp).occurrences == BATCH_MEMORY // 2 + BATCH_MEMORY
