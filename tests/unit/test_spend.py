"""Spend: settings, the stream record's facts, the burst notice and the status view (no I/O).

Gap covered: what the property and moto tests take as given — the defaults and their validation,
that a regression (the fate branch's REGRESSED, or a re-open by ``regression``) counts as explicit
when read from a real stream record, and what people read (notice, status table).
"""

from __future__ import annotations

import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.adapters.settings import Settings
from chalicelib.core.models import ErrorGroup, FixJob, Status
from chalicelib.core.notices import burst_notice
from chalicelib.core.spend import SpendLimits, SpendState, decide_spend, spend_room
from chalicelib.errors import ConfigError
from chalicelib.events.streams import GroupStreamRecord
from chalicelib.usecases.enqueue import group_facts

NOW = 1_800_000_000_000
_SER = TypeSerializer()


def modify(old: dict, new: dict) -> GroupStreamRecord:
    image = {"fingerprint": "a" * 32, "exception_type": "KeyError", "occurrences": 1}
    return GroupStreamRecord(
        {
            "eventID": "e1",
            "eventName": "MODIFY",
            "dynamodb": {
                "SequenceNumber": "1",
                "OldImage": {k: _SER.serialize(v) for k, v in (image | old).items()},
                "NewImage": {k: _SER.serialize(v) for k, v in (image | new).items()},
            },
        }
    )


def test_the_defaults_are_a_small_teams_and_come_from_the_environment() -> None:
    assert Settings().spend_limits() == SpendLimits(
        fixes_per_hour=10, fixes_per_day=50, min_occurrences=2, tokens_per_day=2_000_000
    )
    env = {"SELFHEAL_MAX_JOBS_PER_DAY": "80", "SELFHEAL_MIN_OCCURRENCES": "1", "SELFHEAL_MAX_TOKENS_PER_DAY": "0"}
    assert Settings.from_env(env).spend_limits() == SpendLimits(10, 80, 1, 0)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SELFHEAL_MAX_JOBS_PER_DAY": "-1"}, "SELFHEAL_MAX_JOBS_PER_DAY must be 0"),
        ({"SELFHEAL_MIN_OCCURRENCES": "-2"}, "SELFHEAL_MIN_OCCURRENCES must be 0"),
        ({"SELFHEAL_MAX_JOBS_PER_HOUR": "60"}, "one hour could spend the whole day"),
        ({"SELFHEAL_MAX_TOKENS_PER_DAY": "5000"}, "below one fix's worth"),
        ({"SELFHEAL_MAX_TOKENS_PER_DAY": "lots"}, "must be a whole number"),
    ],
)
def test_limits_no_deployment_should_run_with_are_refused(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Settings.from_env(env)


def test_a_regression_read_from_the_stream_is_explicit_and_passes_the_one_attempt_rule() -> None:
    limits = SpendLimits(min_occurrences=5)
    for old, new in (
        ({"status": "REGRESSED", "auto_jobs": 1}, {"status": Status.NEW, "auto_jobs": 1}),  # the fate branch's path
        ({"status": Status.PR_OPENED}, {"status": Status.NEW, "reopened_by": "regression", "auto_jobs": 0}),
    ):
        record = modify(old, new)
        # (REGRESSED → NEW becomes a job once the fate branch adds it to Status.REOPENED_FROM)
        job = record.job() or FixJob(record.fingerprint, trigger="reopened", token=record.event_id)
        facts = group_facts(record, job)
        assert facts.explicit
        assert decide_spend(facts, limits, SpendState(), NOW).rule == "ok"
    # An automatic re-open of a group that had its job is not.
    record = modify({"status": Status.PR_OPENED}, {"status": Status.NEW, "reopened_by": "automatic", "auto_jobs": 1})
    assert decide_spend(group_facts(record, record.job()), limits, SpendState(), NOW).rule == "one-automatic-attempt"


def test_the_sweep_room_is_the_least_left_and_nothing_past_the_token_ceiling() -> None:
    assert spend_room(SpendLimits(10, 50), SpendState(hour_used=4, day_used=48)) == 2
    assert spend_room(SpendLimits(10, 50, tokens_per_day=100), SpendState(tokens_today=100)) == 0
    assert spend_room(SpendLimits(), SpendState(hour_used=99)) is None


def test_the_burst_notice_says_what_each_rule_held_back_and_the_limits() -> None:
    limits = SpendLimits(10, 50, 2, 2_000_000)
    notice = burst_notice(
        new_groups=40,
        queued=10,
        over_budget=25,
        budget=10,
        skipped={"hourly-budget": 25, "min-occurrences": 5},
        limits=limits.describe(),
    )
    assert notice is not None and "fix budget reached" in notice.title
    assert "25 SKIPPED by hourly-budget: picked up oldest first" in notice.description
    assert "5 SKIPPED by min-occurrences: re-opened when they reach" in notice.description
    assert "Limits: 10 fixes an hour, 50 fixes a day, 2,000,000 model tokens a day, fixing from 2" in notice.text()


def test_status_shows_tokens_and_what_a_skipped_group_waits_for() -> None:
    from status_view import status_document, status_table

    waiting = ErrorGroup(
        "b" * 32, Status.SKIPPED, "KeyError", occurrences=3, reason="hourly-budget: this hour's 10 fix jobs are spent",
        wait="budget", wait_until=NOW,
    )  # fmt: skip
    fixed = ErrorGroup("c" * 32, Status.PR_OPENED, "ValueError", spent_tokens_in=12_345, spent_tokens_out=678)
    text = status_table([waiting, fixed])
    assert "TOKENS IN/OUT" in text and "12,345/678" in text
    assert "hourly-budget: this hour's 10 fix jobs are spent — waits for budget (from 2027-01-15 08:00 UTC" in text
    row = status_document([fixed])["groups"][0]
    assert (row["spent_tokens_in"], row["spent_tokens_out"], row["status"]) == (12_345, 678, Status.PR_OPENED)
