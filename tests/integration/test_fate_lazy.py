"""Without the webhook, and after the merge: recurrences through the real log_processor on moto, the
PR's state read from the GitHub-like server, regressions into new jobs, and the heal checker."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import app
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.adapters.github_api import GitHubReads
from chalicelib.adapters.store import MERGED_PREFIX
from chalicelib.core.models import Status
from chalicelib.core.webhooks import epoch_ms
from chalicelib.events.streams import GroupStreamRecord
from tests.factories import logs_event, payload
from tests.fate_fixtures import HOUR, MINUTE, T0, Told, observation, open_pr
from tests.fix_fixtures import NONE_DISCOUNT_TRACE
from tests.github_server import FakeGitHub

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import Aws

MERGED_AT = "2026-11-20T10:00:00Z"
MERGED_MS = epoch_ms(MERGED_AT)


@dataclasses.dataclass
class World:
    aws: Aws
    github: FakeGitHub
    told: Told
    clock: list[int]
    fingerprint: str
    number: int

    def occur(self, at: int) -> dict[str, Any]:
        """The sample bug is logged at ``at`` (epoch ms) and delivered to log_processor."""
        return app.log_processor(logs_event(payload(NONE_DISCOUNT_TRACE.splitlines(), start=at)), None)

    def group(self) -> Any:
        return runtime.store().get(self.fingerprint)

    def pr_reads(self) -> int:
        return sum(1 for method, path in self.github.requests if method == "GET" and path.endswith(f"/{self.number}"))


@pytest.fixture
def world(aws: Aws) -> Iterator[World]:
    github = FakeGitHub("acme", "shop", {"shop/pricing.py": "DISCOUNTS = {}\n"}).start()
    told, clock = Told(), [T0 + 2 * HOUR]
    runtime.override(
        github_reads=GitHubReads("acme/shop", github.token, github.base_url, paced=False, retry=0),
        clock=lambda: clock[0],
        notifier=told,
    )
    seen = observation(T0)
    pr_url = github.open_pull(f"selfheal/{seen.fingerprint[:12]}", f"- error group: `{seen.fingerprint}`")
    open_pr(runtime.store(), seen, pr_url, T0 + HOUR)
    yield World(aws, github, told, clock, seen.fingerprint, len(github.pulls))
    github.stop()


def test_a_recurring_pr_opened_group_learns_its_pr_was_merged(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    result = world.occur(T0 + 2 * HOUR)
    group = world.group()
    assert result["groups"] == 1 and group.occurrences == 2  # the delivery itself is recorded as usual
    assert group.status == Status.MERGED and group.merged_at == MERGED_MS


def test_a_recurring_pr_opened_group_learns_its_pr_was_closed_and_why(world: World) -> None:
    world.github.review(world.number, "acme", "CHANGES_REQUESTED", "This hides the bug instead of fixing it")
    world.github.close(world.number)
    world.occur(T0 + 2 * HOUR)
    group = world.group()
    assert group.status == Status.REJECTED and "hides the bug" in group.review_reason


def test_the_pr_is_read_at_most_once_a_check_period(world: World) -> None:
    world.occur(T0 + 2 * HOUR)
    world.occur(T0 + 2 * HOUR + 1)
    world.occur(T0 + 2 * HOUR + 2)
    assert world.pr_reads() == 1 and world.group().pr_checked_at == world.clock[0]
    world.clock[0] += 61 * MINUTE  # the default check period is an hour
    world.occur(T0 + 3 * HOUR)
    assert world.pr_reads() == 2 and world.group().status == Status.PR_OPENED


def test_github_down_never_fails_the_delivery_and_pauses_the_reads(world: World) -> None:
    # GIVEN a second selfheal PR for another bug, and GitHub answering 503
    other = observation(T0, variant="_v2")
    other_url = world.github.open_pull(f"selfheal/{other.fingerprint[:12]}", "body")
    open_pr(runtime.store(), other, other_url, T0 + HOUR)
    world.github.unavailable = 100
    # WHEN the first bug recurs
    result = world.occur(T0 + 2 * HOUR)
    # THEN the delivery is recorded as usual and the group keeps its status
    assert result["groups"] == 1 and world.group().occurrences == 2 and world.group().status == Status.PR_OPENED
    # AND for a while this container reads no other PR (an outage costs one timeout, not one per group)
    requests = len(world.github.requests)
    lines = NONE_DISCOUNT_TRACE.replace("discount_percent", "discount_percent_v2").splitlines()
    app.log_processor(logs_event(payload(lines, start=T0 + 2 * HOUR)), None)
    assert len(world.github.requests) == requests
    assert runtime.store().get(other.fingerprint).occurrences == 2


def test_an_occurrence_after_the_merge_and_grace_regresses_into_a_new_job_and_a_notice(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)  # learns MERGED
    world.aws.sources.stream_records()  # what the pipeline already handled
    # WHEN the bug occurs 31 minutes after the merge (the deploy grace is 30)
    world.occur(MERGED_MS + 31 * MINUTE)
    # THEN the group regressed, with a fresh attempt budget and the merged diff kept
    group = world.group()
    assert (group.status, group.attempts, group.regressions) == (Status.REGRESSED, 0, 1)
    assert group.previous_attempt == "regressed" and "if not code" in group.pr_diff
    assert group.regressed_at == MERGED_MS + 31 * MINUTE
    assert [n.kind for n in world.told.notices] == ["selfheal.fix.regressed"]
    # AND the stream makes it a job, which the stream processor queues
    records = world.aws.sources.stream_records()
    jobs = [job for r in records if (job := GroupStreamRecord(r).job())]
    assert [(j.fingerprint, j.trigger) for j in jobs] == [(world.fingerprint, "regressed")]
    app.stream_processor({"Records": records}, None)
    assert world.group().status == Status.QUEUED and len(world.aws.queued()) == 1


def test_an_occurrence_inside_the_deploy_grace_is_not_a_regression(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)
    world.occur(MERGED_MS + 10 * MINUTE)
    assert world.group().status == Status.MERGED and world.told.notices == []


def heal(clock: list[int], at: int) -> dict[str, int]:
    clock[0] = at
    with Client(app.app) as client:
        return client.lambda_.invoke(
            "heal_checker", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        ).payload


def test_a_merged_fix_quiet_for_the_quiet_period_heals(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)
    world.occur(MERGED_MS + 20 * MINUTE)  # inside the grace: the quiet period counts from here
    assert heal(world.clock, MERGED_MS + 72 * HOUR)["healed"] == 0  # 71 h 40 min quiet
    assert world.group().status == Status.MERGED
    result = heal(world.clock, MERGED_MS + 72 * HOUR + 20 * MINUTE)
    assert result["healed"] == 1 and world.group().status == Status.HEALED
    assert world.group().healed_at == MERGED_MS + 72 * HOUR + 20 * MINUTE
    # the merge day's set is emptied, so later runs read nothing more of it
    day = world.aws.clients.dynamodb.get_item(
        TableName=world.aws.stack.table_name, Key={"fingerprint": {"S": f"{MERGED_PREFIX}2026-11-20"}}
    )["Item"]
    assert "members" not in day
    assert heal(world.clock, MERGED_MS + 80 * HOUR)["healed"] == 0


def test_a_healed_group_that_recurs_regresses(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)
    heal(world.clock, MERGED_MS + 73 * HOUR)
    assert world.group().status == Status.HEALED
    world.occur(MERGED_MS + 100 * HOUR)
    assert world.group().status == Status.REGRESSED


def test_a_regressed_group_is_dropped_from_its_merge_day_without_healing(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)
    world.occur(MERGED_MS + HOUR)
    result = heal(world.clock, MERGED_MS + 100 * HOUR)
    # it leaves both the set of its PR's opening day and the set of its merge day
    assert (result["healed"], result["dropped"]) == (0, 2) and world.group().status == Status.REGRESSED


def test_the_heal_checker_reads_merge_days_not_the_table(world: World) -> None:
    world.github.merge(world.number, MERGED_AT)
    world.occur(T0 + 2 * HOUR)
    before = dict(world.aws.calls)
    heal(world.clock, MERGED_MS + 73 * HOUR)
    calls = {k: v - before.get(k, 0) for k, v in world.aws.calls.items() if v != before.get(k, 0)}
    assert "dynamodb.Scan" not in calls and "dynamodb.Query" not in calls
    # opened days, their groups, one left the set; merge days, their groups, HEALED, one left the set
    assert calls == {"dynamodb.BatchGetItem": 4, "dynamodb.UpdateItem": 3}


def test_without_webhook_or_recurrence_a_merged_fix_is_found_and_healed_by_the_checker(
    world: World, capsys: pytest.CaptureFixture
) -> None:
    # GIVEN the PR is merged, no webhook says so, and the fix works: the bug never recurs
    world.github.merge(world.number, MERGED_AT)
    # WHEN the heal checker runs after the merge, then after the quiet period
    first = heal(world.clock, MERGED_MS + HOUR)
    assert first["prs_read"] == 1 and world.group().status == Status.MERGED
    assert world.group().merged_at == MERGED_MS and '"FixesMerged"' in capsys.readouterr().out
    # THEN the group heals
    assert heal(world.clock, MERGED_MS + 73 * HOUR)["healed"] == 1 and world.group().status == Status.HEALED
    assert '"FixesHealed"' in capsys.readouterr().out


def test_the_checker_reads_an_open_pr_at_most_once_a_check_period(world: World) -> None:
    assert heal(world.clock, T0 + 2 * HOUR)["prs_read"] == 1
    assert heal(world.clock, T0 + 2 * HOUR + 30 * MINUTE)["prs_read"] == 0
    assert heal(world.clock, T0 + 4 * HOUR)["prs_read"] == 1 and world.pr_reads() == 2
