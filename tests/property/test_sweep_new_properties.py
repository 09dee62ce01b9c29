"""The sweep of groups left NEW: its decision (usecases/requeue.py ``new_verdict``) over any group it
may read and any schedule of runs, and the stream's side of it (events/streams.py ``job``) against
the stream processor's filter criteria (scripts/package.py ``STREAM_FILTERS``).

Gap covered: Lambda's event filtering is not emulated by moto (the integration tests hand every
record to the processor), so ``matches`` below implements the part of its pattern language the
filters use (lists of literals, ``exists`` on leaves) and checks that no record the processor would
turn into a job is filtered out before it gets there.
"""

from __future__ import annotations

from typing import Any

import package
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.store import QueuedJob
from chalicelib.core.models import Status
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.usecases.requeue import FAIL, FORGET, NEW_GRACE_MS, SWEEP, WAIT, new_verdict

NOW = 1_800_000_000_000
HOUR = 3_600_000
STATUSES = sorted(v for k, v in vars(Status).items() if k.isupper() and isinstance(v, str))
TIMES = st.one_of(st.just(0), st.integers(NOW - 3 * NEW_GRACE_MS, NOW))
JOBS = st.builds(
    QueuedJob,
    fingerprint=st.just("f" * 32),
    status=st.sampled_from(STATUSES),
    new_at=TIMES,
    swept_at=TIMES,
)


@given(JOBS)
def test_only_a_group_waiting_past_its_grace_is_touched_and_swept_at_most_once_a_wait(job: QueuedJob) -> None:
    decided = new_verdict(job, NOW)
    assert decided in (WAIT, FORGET, SWEEP, FAIL)
    assert (decided == FORGET) == (job.status not in (Status.NEW, Status.REGRESSED))
    if decided in (SWEEP, FAIL):
        assert NOW - max(job.new_at, job.swept_at) >= NEW_GRACE_MS  # never before the grace
    if decided == SWEEP:
        assert not job.swept_at  # once a wait: a swept group is never swept again
    if decided == FAIL:
        assert job.swept_at  # failed only after the stream had its second chance


@given(
    status=st.sampled_from([Status.NEW, Status.REGRESSED]),
    since=st.integers(NOW - 3 * NEW_GRACE_MS, NOW),
    gaps=st.lists(st.integers(1, 2 * HOUR), min_size=1, max_size=12),
)
def test_a_group_the_stream_never_queues_is_swept_once_then_failed_never_left_waiting(
    status: str, since: int, gaps: list[int]
) -> None:
    # GIVEN a group the stream never queues, and the sweep run at any schedule
    job, now, actions = QueuedJob("f" * 32, status, new_at=since), since, []
    for gap in gaps:
        now += gap
        action = new_verdict(job, now)
        actions.append(action)
        if action == SWEEP:
            job = QueuedJob(job.fingerprint, job.status, new_at=job.new_at, swept_at=now)
        elif action == FAIL:
            job = QueuedJob(job.fingerprint, Status.FAILED, new_at=job.new_at, swept_at=job.swept_at)
    # THEN it is handed to the stream at most once, failed at most once and only after that
    assert actions.count(SWEEP) <= 1 and actions.count(FAIL) <= 1
    if FAIL in actions:
        assert SWEEP in actions and actions.index(SWEEP) < actions.index(FAIL)
    # and once the runs span two graces and a run's gap past it, it is no longer waiting
    if now - since >= 2 * NEW_GRACE_MS + 2 * max(gaps):
        assert FAIL in actions and job.status == Status.FAILED


# --- the stream's side: every job-asking record passes the filters --------------------------------


def matches(pattern: Any, value: Any, present: bool = True) -> bool:
    """Whether ``value`` (absent when not ``present``) matches a Lambda filter ``pattern``."""
    if isinstance(pattern, dict):  # an absent object: only its leaves' ``exists: false`` hold
        here = present and isinstance(value, dict)
        return all(matches(p, value.get(k) if here else None, here and k in value) for k, p in pattern.items())
    for rule in pattern:  # a list: any of its literals, or an ``exists`` rule
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] == present:
                return True
        elif present and rule == value:
            return True
    return False


IMAGES = st.fixed_dictionaries(
    {"status": st.sampled_from(STATUSES)},
    optional={
        "swept_at": st.sampled_from([1, 2]),
        "new_at": st.just(5),
        "reason": st.sampled_from(["re-opened", "regressed"]),
        "reopened_by": st.just("retry"),
    },
)


def typed(image: dict[str, Any]) -> dict[str, Any]:
    return {"fingerprint": {"S": "f" * 32}} | {
        k: {"N": str(v)} if isinstance(v, int) else {"S": v} for k, v in image.items()
    }


@given(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]), IMAGES, st.one_of(st.none(), IMAGES))
def test_every_record_the_processor_turns_into_a_job_passes_the_stream_filters(
    event_name: str, new: dict[str, Any], old: dict[str, Any] | None
) -> None:
    change: dict[str, Any] = {"SequenceNumber": "1", "NewImage": typed(new)}
    if old is not None:
        change["OldImage"] = typed(old)
    raw = {"eventID": "e1", "eventName": event_name, "dynamodb": change}
    record = GroupStreamRecord(raw)
    if record.job() is not None:
        assert any(matches(p, raw) for p in package.STREAM_FILTERS), raw
    if record.swept:  # and the sweep's record is one
        assert record.job() is not None and new["status"] in (Status.NEW, Status.REGRESSED)


@given(st.sampled_from([Status.NEW, Status.REGRESSED]), IMAGES, st.integers(1, NOW))
def test_the_sweeps_record_asks_for_the_job_its_first_record_would_have_and_passes_the_filters(
    status: str, rest: dict[str, Any], swept_at: int
) -> None:
    # GIVEN the write of sweep_new: the waiting group's image, then the same with swept_at
    old = {k: v for k, v in rest.items() if k != "swept_at"} | {"status": status}
    change = {"SequenceNumber": "1", "OldImage": typed(old), "NewImage": typed(old | {"swept_at": swept_at})}
    raw = {"eventID": "e1", "eventName": "MODIFY", "dynamodb": change}
    # WHEN the stream sees it: THEN a job, as a regression, a re-open or a new group's
    job = GroupStreamRecord(raw).job()
    assert job is not None and any(matches(p, raw) for p in package.STREAM_FILTERS)
    reopened = bool(old.get("reason") or old.get("reopened_by"))
    assert job.trigger == ("regressed" if status == Status.REGRESSED else "reopened" if reopened else "new")


def test_an_occurrence_of_a_swept_group_wakes_nothing() -> None:
    # the status and swept_at unchanged: a counter bump, filtered out and no job either
    image = typed({"status": Status.NEW, "swept_at": 1})
    change = {"SequenceNumber": "1", "NewImage": image, "OldImage": image}
    raw = {"eventID": "e1", "eventName": "MODIFY", "dynamodb": change}
    assert not any(matches(p, raw) for p in package.STREAM_FILTERS)
    assert GroupStreamRecord(raw).job() is None
