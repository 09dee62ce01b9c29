"""A group the stream never turned into a job (its record failed for good before the group was
QUEUED) is swept once through the stream's own decision, or ends FAILED and is told in one digest:
the sweep of groups left NEW (usecases/requeue.py ``SweepNew``) with the real store, stream
processor, queue and fixer on the moto server.

moto gap: the stream's retries and its on-failure destination are Lambda's, not DynamoDB's; a record
that failed "for good" is one the test stops handing to the stream processor after it failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.adapters.queue import FixQueue
from chalicelib.core.heal_stats import day_of
from chalicelib.core.models import Status
from chalicelib.core.spend import SpendLimits
from chalicelib.errors import TransientError
from chalicelib.usecases.requeue import NEW_GRACE_MS, STUCK_AFTER_MS, Requeue, SweepNew
from tests.integration.test_spend import Notices, Pipeline, Quiet
from tests.integration.test_stuck_jobs import batch, jobs_in_queue

pytestmark = pytest.mark.integration
MIN = 60_000
RETRIES = 5  # the stream's maximum_retry_attempts (scripts/package.py)


def unreadable_catalog() -> Any:
    """The service catalog as a stream processor saw it while SSM kept failing: the record fails
    before its group is QUEUED (usecases/enqueue.py reads the service's limits first)."""
    raise TransientError("SSM GetParametersByPath throttled")


def stranded(aws: Any, func: str = "stranded") -> tuple[Pipeline, str]:
    """A new bug whose stream record failed at every try before its group was QUEUED, then given up."""
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10, min_occurrences=1))
    working = p.enqueue._services  # noqa: SLF001 - the stream processor of this one record
    p.enqueue._services = unreadable_catalog  # noqa: SLF001
    p.ingest.handle(batch(func))
    event = aws.sources.stream_event()
    for _ in range(1 + RETRIES):
        assert p.enqueue.handle(event)["batchItemFailures"]  # fails: the group is not QUEUED
    p.enqueue._services = working  # noqa: SLF001 - SSM answers again
    [group] = [g for g in p.store.scan() if g.status == Status.NEW]
    return p, group.fingerprint


def sweep_of(p: Pipeline, notices: Notices | None = None) -> SweepNew:
    return SweepNew(p.store, Quiet(), p.clock, notices if notices is not None else p.notices)


def test_a_group_left_new_by_the_deployed_budget_sweeper_becomes_a_job_once(aws: Any) -> None:
    # GIVEN a new group whose stream record failed for good before it was QUEUED
    p, fingerprint = stranded(aws)
    runtime.override(clock=p.clock, notifier=Notices())
    # WHEN the deployed budget sweeper runs an hour later, and the stream sees what it wrote
    p.clock.jump(NEW_GRACE_MS + MIN)
    result = runtime.sweep().run()
    p.stream()
    # THEN the stream's own decision queued it: one job, and the fixer opens its PR
    assert result["new_swept"] == 1
    [job] = jobs_in_queue(aws)
    assert job["fingerprint"] == fingerprint and p.group(fingerprint).status == Status.QUEUED
    p.fix_service.handle({"Records": [{"messageId": "m1", "body": json.dumps(job)}]})
    assert p.group(fingerprint).status == Status.PR_OPENED and p.fixer.fixed == [fingerprint]


def test_a_group_new_for_less_than_the_grace_is_left_alone(aws: Any) -> None:
    # GIVEN a group left NEW half the grace ago
    p, fingerprint = stranded(aws)
    sweep = sweep_of(p)
    p.clock.jump(NEW_GRACE_MS // 2)
    # WHEN the sweep runs: THEN nothing is written, nothing sent, nothing told
    assert sweep.run() == {"new_waiting": 1, "new_swept": 0, "new_failed": 0}
    p.stream()
    assert jobs_in_queue(aws) == [] and p.notices.sent == []
    assert "swept_at" not in p.store.raw(fingerprint) and p.group(fingerprint).status == Status.NEW


def test_a_stranded_group_is_swept_once_and_a_concurrent_stream_retry_sends_no_second_job(aws: Any) -> None:
    # GIVEN a group left NEW past the grace, and the record that failed still in the stream
    p, fingerprint = stranded(aws)
    sweep = sweep_of(p)
    p.clock.jump(NEW_GRACE_MS + MIN)
    # WHEN the sweep touches it, a second sweep runs, and the old record's late retry succeeds first
    assert sweep.run() == {"new_waiting": 0, "new_swept": 1, "new_failed": 0}
    assert sweep.run() == {"new_waiting": 1, "new_swept": 0, "new_failed": 0}  # swept once: it waits
    late = p.store.mark_queued(fingerprint, "the-failed-record", p.clock())
    p.stream()  # the sweep's record: its QUEUED write is refused (queued by the other record)
    # THEN the group is QUEUED by the late retry and the sweep's record sent no job
    assert late and p.store.raw(fingerprint)["job_token"] == "the-failed-record"
    assert jobs_in_queue(aws) == []
    # and the sweep forgets it (it is QUEUED: the stuck-job sweep watches it from here)
    assert sweep.run() == {"new_waiting": 0, "new_swept": 0, "new_failed": 0}
    assert set().union(*p.store.new_sets([day_of(p.clock.now)]).values()) == set()


def test_a_group_still_new_after_its_sweep_ends_failed_and_is_told_once_in_a_digest(aws: Any) -> None:
    # GIVEN two groups left NEW, swept, and the stream failing their new records too
    p, first = stranded(aws, "first")
    _, second = stranded_again(p, aws, "second")
    notices = Notices()
    sweep = sweep_of(p, notices)
    p.clock.jump(NEW_GRACE_MS + MIN)
    assert sweep.run()["new_swept"] == 2
    p.enqueue._services = unreadable_catalog  # noqa: SLF001 - the second attempt fails as well
    event = aws.sources.stream_event()
    assert len(p.enqueue.handle(event)["batchItemFailures"]) == 2
    # WHEN the sweep runs before and after another grace
    p.clock.jump(NEW_GRACE_MS // 2)
    assert sweep.run() == {"new_waiting": 2, "new_swept": 0, "new_failed": 0}
    p.clock.jump(NEW_GRACE_MS // 2 + MIN)
    assert sweep.run() == {"new_waiting": 0, "new_swept": 0, "new_failed": 2}
    # THEN both FAILED, not retryable, with the reason; one notice names both; no job; told once
    for fingerprint in (first, second):
        group = p.group(fingerprint)
        assert group.status == Status.FAILED and group.reason.startswith("stuck-new:")
        assert p.store.raw(fingerprint)["retryable"] is False
    [digest] = notices.sent
    assert digest.kind == "selfheal.fix.stuck" and "2 error groups" in digest.title
    assert first[:12] in digest.description and second[:12] in digest.description
    assert "selfheal.py retry" in " ".join(digest.next_steps)
    assert sweep.run() == {"new_waiting": 0, "new_swept": 0, "new_failed": 0} and len(notices.sent) == 1
    assert jobs_in_queue(aws) == []
    # `selfheal retry` re-opens one: a new episode, watched again from the start
    assert p.store.reopen(first, p.clock(), by="retry").status == Status.NEW
    assert "swept_at" not in p.store.raw(first)
    assert first in set().union(*p.store.new_sets([day_of(p.clock.now)]).values())


def stranded_again(p: Pipeline, aws: Any, func: str) -> tuple[Pipeline, str]:
    """A second stranded group in the same pipeline."""
    working = p.enqueue._services  # noqa: SLF001
    p.enqueue._services = unreadable_catalog  # noqa: SLF001
    before = {g.fingerprint for g in p.store.scan()}
    p.ingest.handle(batch(func))
    event = aws.sources.stream_event()
    for _ in range(1 + RETRIES):
        assert p.enqueue.handle(event)["batchItemFailures"]
    p.enqueue._services = working  # noqa: SLF001
    [fingerprint] = {g.fingerprint for g in p.store.scan()} - before
    return p, fingerprint


def test_a_regressed_group_the_stream_missed_is_swept_as_a_regression(aws: Any) -> None:
    # GIVEN a merged group that regressed, whose REGRESSED record failed for good
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10, min_occurrences=1))
    p.occur("regress")
    assert p.run_jobs() == [Status.PR_OPENED]
    fingerprint = p.fps["regress"]
    pr_url = p.group(fingerprint).pr_url
    p.store.mark_merged(fingerprint, pr_url, p.clock(), p.clock())
    p.clock.jump(2 * NEW_GRACE_MS)
    p.store.regress(fingerprint, p.clock(), 0, p.clock())
    while aws.sources.stream_event() is not None:  # given up: the record never reaches the processor
        pass
    sweep = sweep_of(p)
    # WHEN the sweep runs past the grace and the stream sees its record
    p.clock.jump(NEW_GRACE_MS + MIN)
    assert sweep.run()["new_swept"] == 1
    p.stream()
    # THEN one job, decided as a regression (explicit: not refused as a second automatic attempt)
    [job] = jobs_in_queue(aws)
    assert (job["fingerprint"], job["trigger"]) == (fingerprint, "regressed")
    assert json.loads(json.dumps(job))["token"] == p.store.raw(fingerprint)["job_token"]


def test_two_stuck_queued_jobs_failed_in_one_run_are_told_in_one_digest(aws: Any) -> None:
    # GIVEN two groups QUEUED by stream records that failed for good before deciding their jobs
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10))
    fingerprints = []
    for func in ("undecided_a", "undecided_b"):
        before = {g.fingerprint for g in p.store.scan()}
        p.ingest.handle(batch(func))
        [fingerprint] = {g.fingerprint for g in p.store.scan()} - before
        assert p.store.mark_queued(fingerprint, f"record-{func}", p.clock())
        fingerprints.append(fingerprint)
    notices = Notices()
    stuck = Requeue(p.store, FixQueue(aws.clients.sqs, aws.stack.queue_url), Quiet(), p.clock, notices)
    # WHEN the stuck-job sweep fails both in one run
    p.clock.jump(STUCK_AFTER_MS + MIN)
    assert stuck.run() == {"queued": 0, "requeued": 0, "failed": 2}
    # THEN one digest names both, with their reasons; no notice per group
    [digest] = notices.sent
    assert digest.kind == "selfheal.fix.stuck" and digest.title.startswith("❌ 2 fix jobs never reached")
    assert all(fp[:12] in digest.description for fp in fingerprints) and "stuck-job" in digest.description


def test_an_idle_sweep_of_groups_left_new_reads_once_and_writes_nothing(aws: Any) -> None:
    # GIVEN groups the stream queued normally (their ~new~ notes still there until the sweep)
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10, min_occurrences=1))
    p.occur("fine_a", "fine_b")
    sweep = sweep_of(p)
    # WHEN the sweep runs: it forgets them (one BatchGetItem of the day sets, one of the groups, one
    # forget); and the next run, with nothing noted, is one BatchGetItem and no write
    assert sweep.run() == {"new_waiting": 0, "new_swept": 0, "new_failed": 0}
    before = dict(aws.calls)
    assert sweep.run() == {"new_waiting": 0, "new_swept": 0, "new_failed": 0}
    # THEN no scan, no write: one read
    assert {k: n - before.get(k, 0) for k, n in aws.calls.items() if n != before.get(k, 0)} == {
        "dynamodb.BatchGetItem": 1
    }


def test_a_new_group_whose_first_delivery_failed_after_its_creation_is_still_noted(aws: Any) -> None:
    # GIVEN DynamoDB throttling the write of a new group's detail, once (the delivery fails after
    # the group item was created and counted; Lambda retries it, and the retry counts nothing)
    p = Pipeline(aws, SpendLimits(fixes_per_hour=10, min_occurrences=1))
    throttled: list[str] = []

    def hook(params: Any, **_: Any) -> Any:
        key = json.loads(params["body"])["Key"]["fingerprint"]["S"]
        if key.startswith("~detail~") and not throttled:
            throttled.append(key)
            return Throttled(), {"Error": {"Code": "ThrottlingException", "Message": "throttled (test)"}}
        return None

    aws.clients.dynamodb.meta.events.register_first("before-call.dynamodb.UpdateItem", hook)
    with pytest.raises(TransientError):
        p.ingest.handle(batch("throttled"))
    p.ingest.handle(batch("throttled"))  # Lambda's retry
    # THEN the group is in the day's ~new~ set: the sweep would find it
    [group] = p.store.scan()
    assert throttled and group.status == Status.NEW
    assert group.fingerprint in set().union(*p.store.new_sets([day_of(p.clock.now)]).values())


class Throttled:
    """What botocore's before-call hook returns to answer a call itself (as Stubber does)."""

    status_code = 400


def test_a_run_sweeps_at_most_its_bound_and_leaves_the_rest_for_the_next(aws: Any) -> None:
    # GIVEN two groups left NEW past the grace, and a sweep bounded to one group a run
    p, _ = stranded(aws, "bounded_a")
    stranded_again(p, aws, "bounded_b")
    sweep = SweepNew(p.store, Quiet(), p.clock, p.notices, max_per_run=1)
    p.clock.jump(NEW_GRACE_MS + MIN)
    # WHEN it runs twice: THEN one each run, the other waiting in between
    assert sweep.run() == {"new_waiting": 1, "new_swept": 1, "new_failed": 0}
    assert sweep.run() == {"new_waiting": 1, "new_swept": 1, "new_failed": 0}
    assert sorted(g.fingerprint for g in p.store.scan() if "swept_at" in p.store.raw(g.fingerprint)) == sorted(
        g.fingerprint for g in p.store.scan()
    )
