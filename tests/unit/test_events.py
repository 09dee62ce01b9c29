"""Typed event views: what becomes a fix job, and malformed events."""

from __future__ import annotations

import json
import time

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.adapters.settings import Settings
from chalicelib.core.models import Status
from chalicelib.errors import ConfigError, PayloadError
from chalicelib.events.queue import FixJobMessage
from chalicelib.events.streams import GroupStreamRecord

FP = "0123456789abcdef0123456789abcdef"


def stream_record(name: str, new: dict | None, old: dict | None = None, seq: str = "1") -> dict:
    ser = TypeSerializer()
    change = {
        "SequenceNumber": seq,
        "ApproximateCreationDateTime": time.time(),
        "Keys": {"fingerprint": {"S": FP}},
    }
    if new is not None:
        change["NewImage"] = {k: ser.serialize(v) for k, v in {"fingerprint": FP, **new}.items()}
    if old is not None:
        change["OldImage"] = {k: ser.serialize(v) for k, v in {"fingerprint": FP, **old}.items()}
    return {"eventID": f"ev-{seq}", "eventName": name, "dynamodb": change}


@pytest.mark.parametrize(
    ("name", "new", "old", "trigger"),
    [
        ("INSERT", {"status": Status.NEW, "occurrences": 3}, None, "new"),
        ("MODIFY", {"status": Status.NEW, "occurrences": 4}, {"status": Status.NEW, "occurrences": 3}, None),
        ("MODIFY", {"status": Status.NEW}, {"status": Status.FAILED}, "reopened"),
        ("MODIFY", {"status": Status.NEW}, {"status": Status.PR_OPENED}, "reopened"),
        # `retry` of a FIXING group whose fixer died (its lease expired)
        ("MODIFY", {"status": Status.NEW}, {"status": Status.FIXING}, "reopened"),
        # a budget counter of the same table: no status, no job
        ("INSERT", {"used": 1}, None, None),
        ("MODIFY", {"status": Status.QUEUED}, {"status": Status.NEW}, None),
        ("REMOVE", None, {"status": Status.NEW}, None),
    ],
)
def test_only_new_and_reopened_groups_become_jobs(name, new, old, trigger) -> None:
    job = GroupStreamRecord(stream_record(name, new, old)).job()
    assert (job.trigger if job else None) == trigger
    if job:
        assert job.fingerprint == FP
        assert job.token == "ev-1"


def test_stream_record_without_sequence_number_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="SequenceNumber"):
        GroupStreamRecord({"eventID": "e", "eventName": "INSERT", "dynamodb": {}})


@pytest.mark.parametrize("body", ["not json", json.dumps({"x": 1}), json.dumps({"fingerprint": "short"})])
def test_fix_job_message_that_is_not_a_job_is_a_payload_error(body: str) -> None:
    with pytest.raises(PayloadError, match="m-1"):
        FixJobMessage({"messageId": "m-1", "body": body})


def test_settings_from_env_with_types_and_validation() -> None:
    s = Settings.from_env({"SELFHEAL_MAX_ATTEMPTS": "5", "SELFHEAL_TABLE_NAME": "t", "AWS_REGION": "eu-west-1"})
    assert (s.max_attempts, s.table_name, s.region) == (5, "t", "eu-west-1")
    with pytest.raises(ConfigError, match="SELFHEAL_LEASE_SECONDS must be a whole number"):
        Settings.from_env({"SELFHEAL_LEASE_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="SELFHEAL_MAX_ATTEMPTS must be at least 1"):
        Settings.from_env({"SELFHEAL_MAX_ATTEMPTS": "0"})


def test_logs_event_hands_ingest_the_invocations_remaining_time() -> None:
    from chalice.local import LambdaContext

    from chalicelib.events.logs import CloudWatchLogsEvent

    context = LambdaContext("log_processor", 512, max_runtime_ms=60_000)
    remaining = CloudWatchLogsEvent({"awslogs": {"data": "x"}}, context).remaining_ms
    assert remaining is not None and 0 < remaining() <= 60_000
    assert CloudWatchLogsEvent({"awslogs": {"data": "x"}}, None).remaining_ms is None
