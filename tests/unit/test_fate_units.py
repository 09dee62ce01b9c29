"""Small pure pieces of the fate: the regressed job, the settings, the notice, the status line."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from status_view import fate_line

from chalicelib.adapters.settings import Settings
from chalicelib.core.models import ErrorGroup, Status
from chalicelib.core.notices import fate_notice
from chalicelib.errors import ConfigError, TransientError
from chalicelib.events.streams import GroupStreamRecord

_SER = TypeSerializer()
FP = "0717b95b0278aa11bb22cc33dd44ee55"


def record(event: str, new: dict | None, old: dict | None) -> GroupStreamRecord:
    change: dict = {"SequenceNumber": "1"}
    if new is not None:
        change["NewImage"] = {k: _SER.serialize(v) for k, v in {"fingerprint": FP, **new}.items()}
    if old is not None:
        change["OldImage"] = {k: _SER.serialize(v) for k, v in {"fingerprint": FP, **old}.items()}
    return GroupStreamRecord({"eventID": "e1", "eventName": event, "dynamodb": change})


@pytest.mark.parametrize(
    ("new", "old", "trigger"),
    [
        (Status.REGRESSED, Status.MERGED, "regressed"),
        (Status.REGRESSED, Status.HEALED, "regressed"),
        (Status.REGRESSED, Status.REGRESSED, None),  # a counter bump of a regressed group
        (Status.MERGED, Status.PR_OPENED, None),
        (Status.HEALED, Status.MERGED, None),
        (Status.REJECTED, Status.PR_OPENED, None),
        (Status.NEW, Status.REJECTED, "reopened"),  # /selfheal retry after a rejection
        (Status.NEW, Status.REGRESSED, "reopened"),  # selfheal retry of a regressed group
    ],
)
def test_which_fate_changes_are_fix_jobs(new: str, old: str, trigger: str | None) -> None:
    job = record("MODIFY", {"status": new}, {"status": old}).job()
    assert (job.trigger if job else None) == trigger


@pytest.mark.parametrize("name", ["DEPLOY_GRACE_MINUTES", "QUIET_HOURS", "PR_CHECK_MINUTES", "HEAL_LOOKBACK_DAYS"])
def test_fate_settings_come_from_the_environment_and_refuse_negatives(name: str) -> None:
    assert getattr(Settings.from_env({f"SELFHEAL_{name}": "7"}), name.lower()) == 7
    with pytest.raises(ConfigError, match=f"SELFHEAL_{name}"):
        Settings.from_env({f"SELFHEAL_{name}": "-1"})


def test_only_a_regression_is_announced() -> None:
    notice = fate_notice(
        Status.REGRESSED, fingerprint=FP, exception_type="KeyError", pr_url="https://github.com/a/b/pull/3",
        occurred_at=1_795_000_000_000,
    )  # fmt: skip
    assert notice is not None and notice.kind == "selfheal.fix.regressed"
    assert "0717b95b0278" in notice.title and "https://github.com/a/b/pull/3" in notice.text()
    assert notice.subject().isascii()
    for status in (Status.MERGED, Status.REJECTED, Status.HEALED):
        assert fate_notice(status, fingerprint=FP, exception_type="KeyError") is None


def test_the_status_line_says_what_happened_to_the_pr() -> None:
    assert fate_line(ErrorGroup(FP, Status.PR_OPENED)) == ""
    healed = ErrorGroup(FP, Status.HEALED, merged_at=1_795_000_000_000, healed_at=1_795_300_000_000)
    assert fate_line(healed) == "merged 2026-11-18 11:06 UTC; healed 2026-11-21 22:26 UTC"
    rejected = ErrorGroup(FP, Status.REJECTED, review_reason="x" * 300)
    assert fate_line(rejected) == "review: " + "x" * 100 + "…"


def _stubbed_store() -> tuple[Any, Any]:
    import boto3
    from botocore.stub import Stubber

    from chalicelib.adapters.store import ErrorGroupStore

    client = boto3.client("dynamodb", region_name="us-east-1")
    return ErrorGroupStore(client, "groups"), Stubber(client)


def _item(fp: str) -> dict:
    return {"fingerprint": {"S": fp}, "status": {"S": Status.MERGED}}


def test_groups_dynamodb_left_unprocessed_are_asked_again() -> None:
    store, stub = _stubbed_store()
    keys = {"groups": {"Keys": [{"fingerprint": {"S": "b"}}], "ConsistentRead": True}}
    stub.add_response("batch_get_item", {"Responses": {"groups": [_item("a")]}, "UnprocessedKeys": keys})
    stub.add_response("batch_get_item", {"Responses": {"groups": [_item("b")]}}, {"RequestItems": keys})
    with stub:
        assert [g.fingerprint for g in store.get_many(["a", "b"])] == ["a", "b"]


def test_groups_still_unprocessed_are_a_transient_error_never_missing_groups() -> None:
    store, stub = _stubbed_store()
    keys = {"groups": {"Keys": [{"fingerprint": {"S": "b"}}], "ConsistentRead": True}}
    for _ in range(4):
        stub.add_response("batch_get_item", {"Responses": {"groups": []}, "UnprocessedKeys": keys})
    with stub, pytest.raises(TransientError):
        store.get_many(["a", "b"])
