"""A QUEUED group whose fix job never reached the fixer is sent once more, or ends FAILED and told:
the sweep of stuck jobs (usecases/requeue.py) with the real store, queue and fixer on the moto server.

moto gap: the stream's retries and its on-failure destination are Lambda's, not DynamoDB's; a record
that failed "for good" is one the test stops handing to the stream processor after it failed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib import runtime
from chalicelib.adapters.queue import FixQueue
from chalicelib.core.heal_stats import day_of
from chalicelib.core.logs_payload import decode_batch
from chalicelib.core.models import FixJob, Status
from chalicelib.core.spend import SpendLimits
from chalicelib.usecases.requeue import STUCK_AFTER_MS, Requeue
from tests.factories import encode_payload, payload
from tests.integration.test_spend import Notices, Pipeline, Quiet, trace

if TYPE_CHECKING:
    from collections.abc import Sequence

pytestmark = pytest.mark.integration
MIN = 60_000


class Unreachable:
    """The fix queue as a stream processor saw it while SendMessageBatch kept failing: nothing accepted."""

    def __init__(self) -> None:
        self.tried: list[FixJob] = []

    def send(self, jobs: Sequence[FixJob]) -> list[FixJob]:
        self.tried += jobs
        return list(jobs)


def lost_job(aws: Any) -> tuple[Pipeline, str, Requeue]:
    """A new bug whose stream record counted its job and failed at every try to send it, then given up."""
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10))
    p.enqueue._queue = Unreachable()  # noqa: SLF001 - the stream processor of this one record
    p.ingest.handle(batch("lost"))
    event = aws.sources.stream_event()
    for _ in range(1 + 5):  # the first try and the stream's five retries (maximum_retry_attempts)
        assert p.enqueue.handle(event)["batchItemFailures"]  # the record fails: its job was not sent
    fingerprint = next(g.fingerprint for g in p.store.scan() if g.status == Status.QUEUED)
    sweep = Requeue(p.store, FixQueue(aws.clients.sqs, aws.stack.queue_url), Quiet(), p.clock, p.notices)
    return p, fingerprint, sweep


def batch(func: str) -> Any:
    """One log delivery with one traceback of ``func``."""
    return decode_batch(encode_payload(payload([trace(func)])))


def jobs_in_queue(aws: Any) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in aws.queued()]


def test_a_counted_job_that_never_reached_the_queue_is_sent_again_once_and_fixed(aws: Any) -> None:
    # GIVEN a group QUEUED by a stream record that counted its job but could never send it
    p, fingerprint, sweep = lost_job(aws)
    token = p.store.raw(fingerprint)["job_token"]
    # WHEN the sweep runs before it is stuck: nothing; after STUCK_AFTER_MS: its job is sent again
    p.clock.jump(STUCK_AFTER_MS // 2)
    assert sweep.run() == {"queued": 1, "requeued": 0, "failed": 0}
    p.clock.jump(STUCK_AFTER_MS // 2 + MIN)
    assert sweep.run() == {"queued": 1, "requeued": 1, "failed": 0}
    again = sweep.run()  # the next run (or a concurrent one) sends nothing more
    # THEN one job, with the token of the record that queued it, and the fixer takes it once
    assert again == {"queued": 1, "requeued": 0, "failed": 0}
    [job] = jobs_in_queue(aws)
    assert (job["fingerprint"], job["token"]) == (fingerprint, token)
    p.fix_service.handle({"Records": [{"messageId": "m1", "body": json.dumps(job)}]})
    p.fix_service.handle({"Records": [{"messageId": "m2", "body": json.dumps(job)}]})  # a late copy
    assert p.group(fingerprint).status == Status.PR_OPENED and p.fixer.fixed == [fingerprint]
    # and the sweep forgets it: its day set is empty
    assert sweep.run() == {"queued": 0, "requeued": 0, "failed": 0}
    assert set().union(*p.store.queued_sets([day_of(p.clock.now)]).values()) == set()


def test_a_job_sent_again_and_still_not_claimed_ends_failed_and_is_told(aws: Any) -> None:
    # GIVEN the lost job sent again, and that copy lost too (gone to the fix queue's DLQ)
    p, fingerprint, sweep = lost_job(aws)
    p.clock.jump(STUCK_AFTER_MS + MIN)
    assert sweep.run()["requeued"] == 1
    [lost] = jobs_in_queue(aws)
    aws.clients.sqs.purge_queue(QueueUrl=aws.stack.queue_url)
    # WHEN another STUCK_AFTER_MS passes with no claim
    p.clock.jump(STUCK_AFTER_MS // 2)
    assert sweep.run() == {"queued": 1, "requeued": 0, "failed": 0}  # not yet
    p.clock.jump(STUCK_AFTER_MS // 2 + MIN)
    # THEN FAILED, not retryable, with the reason; one notice; nothing sent a third time
    assert sweep.run() == {"queued": 0, "requeued": 0, "failed": 1}
    group = p.group(fingerprint)
    assert group.status == Status.FAILED and group.reason.startswith("stuck-job: its fix job was sent again")
    [notice] = [n for n in p.notices.sent if n.kind == "selfheal.fix.failed"]
    assert fingerprint[:12] in notice.title and "stuck-job" in notice.description
    assert jobs_in_queue(aws) == [] and sweep.run() == {"queued": 0, "requeued": 0, "failed": 0}
    # a late copy of the job claims nothing; `selfheal retry` re-opens it
    p.fix_service.handle({"Records": [{"messageId": "m3", "body": json.dumps(lost)}]})
    assert p.group(fingerprint).status == Status.FAILED and p.fixer.fixed == []
    assert p.store.reopen(fingerprint, p.clock(), by="retry").status == Status.NEW


def test_a_group_whose_record_never_reached_the_spend_decision_fails_through_the_budget_sweeper(aws: Any) -> None:
    # GIVEN a group QUEUED by a stream record that failed for good before deciding its job
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10))
    p.ingest.handle(batch("undecided"))
    fingerprint = p.store.scan()[0].fingerprint
    assert p.store.mark_queued(fingerprint, "record-1", p.clock())
    notices = Notices()
    runtime.override(clock=p.clock, notifier=notices)
    # WHEN the deployed budget sweeper runs after STUCK_AFTER_MS
    p.clock.jump(STUCK_AFTER_MS + MIN)
    result = runtime.sweep().run()
    # THEN it is not sent (no budget unit was taken for it): FAILED with its reason, and told
    assert (result["requeued"], result["failed"]) == (0, 1) and jobs_in_queue(aws) == []
    group = p.group(fingerprint)
    assert group.status == Status.FAILED and "never left the stream" in group.reason
    assert [n.kind for n in notices.sent] == ["selfheal.fix.failed"]
