"""The stuck-job sweep's decision (usecases/requeue.py ``verdict``) over any group it may read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.store import QueuedJob
from chalicelib.core.models import Status
from chalicelib.usecases.requeue import FAIL, FORGET, REQUEUE, STUCK_AFTER_MS, WAIT, verdict

NOW = 1_800_000_000_000
TIMES = st.one_of(st.just(0), st.integers(NOW - 3 * STUCK_AFTER_MS, NOW))
JOBS = st.builds(
    QueuedJob,
    fingerprint=st.just("f" * 32),
    status=st.sampled_from([Status.NEW, Status.QUEUED, Status.FIXING, Status.FAILED, Status.SKIPPED]),
    token=st.sampled_from(["", "record-1"]),
    sent=st.booleans(),
    queued_at=TIMES,
    requeued_at=TIMES,
)


@given(JOBS)
def test_only_a_queued_group_past_its_wait_is_touched_and_a_job_is_sent_again_at_most_once(job: QueuedJob) -> None:
    decided = verdict(job, NOW)
    assert decided in (WAIT, FORGET, REQUEUE, FAIL)
    assert (decided == FORGET) == (job.status != Status.QUEUED or not job.token)
    if decided in (REQUEUE, FAIL):
        assert NOW - max(job.queued_at, job.requeued_at) >= STUCK_AFTER_MS  # never before its wait
    if decided == REQUEUE:
        assert job.sent and not job.requeued_at  # only a job the stream counted, and only once
    if job.status == Status.QUEUED and job.token and not job.sent:
        assert decided in (WAIT, FAIL)  # never sent past the spend decision it never had


@given(JOBS)
def test_a_stuck_group_is_never_left_queued_for_good(job: QueuedJob) -> None:
    # a group still QUEUED is acted on once its wait is over: sent again, or FAILED
    later = max(job.queued_at, job.requeued_at) + STUCK_AFTER_MS
    if job.status == Status.QUEUED and job.token:
        assert verdict(job, later) in (REQUEUE, FAIL)
