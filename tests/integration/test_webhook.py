"""POST /github/webhook through chalice.test.Client, on the moto stack and the GitHub-like server:
signed GitHub-shaped deliveries move a selfheal PR's group; anything else changes nothing."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import app
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.adapters.github_api import GitHubReads
from chalicelib.core.models import Status
from chalicelib.events.streams import GroupStreamRecord
from tests.fate_fixtures import DIFF, HOUR, T0, observation, open_pr
from tests.github_hooks import SECRET, delivery, sample
from tests.github_server import FakeGitHub

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import Aws

NOW = T0 + 2 * HOUR


@dataclasses.dataclass
class Hook:
    """One test's world: the stack, GitHub, a group whose PR is open there, and the route."""

    aws: Aws
    github: FakeGitHub
    fingerprint: str
    pr_url: str
    number: int
    client: Client

    def post(self, event: str, payload: dict[str, Any] | bytes, **kwargs: Any) -> Any:
        headers, body = delivery(event, payload, **kwargs)
        return self.client.http.post("/github/webhook", headers=headers, body=body)

    def group(self) -> Any:
        return runtime.store().get(self.fingerprint)

    def payload(self, name: str, **changes: Any) -> dict[str, Any]:
        """A sample delivery about this world's PR (its URL, number and selfheal's body)."""
        return sample(name, pr_url=self.pr_url, number=self.number, body=self.body(), **changes)

    def body(self) -> str:
        return f"## What failed\n\n- error group: `{self.fingerprint}`\n"


@pytest.fixture
def hook(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hook]:
    monkeypatch.setenv("SELFHEAL_WEBHOOK_SECRET", SECRET)
    github = FakeGitHub("acme", "shop", {"shop/pricing.py": "DISCOUNTS = {}\n"}).start()
    github.permissions |= {"maintainer": "maintain", "reader": "read", "triager": "triage"}
    runtime.override(
        github_reads=GitHubReads("acme/shop", github.token, github.base_url, paced=False, retry=0),
        clock=lambda: NOW,
    )
    seen = observation(T0)
    pr_url = github.open_pull(f"selfheal/{seen.fingerprint[:12]}", f"- error group: `{seen.fingerprint}`")
    open_pr(runtime.store(), seen, pr_url, T0 + HOUR)
    with Client(app.app) as client:
        yield Hook(aws, github, seen.fingerprint, pr_url, len(github.pulls), client)
    github.stop()


def test_a_merged_pr_makes_its_group_merged_at_githubs_merge_time(hook: Hook, capsys: Any) -> None:
    # WHEN GitHub delivers the PR's merge
    answer = hook.post("pull_request", hook.payload("pull_request_closed_merged"))
    # THEN the group is MERGED at the time GitHub merged it, and the merge is counted
    assert answer.status_code == 200 and answer.body.decode() == f"merged: {hook.fingerprint}"
    group = hook.group()
    assert group.status == Status.MERGED and group.merged_at == 1_795_168_800_000
    assert "FixesMerged" in capsys.readouterr().out  # the EMF line


def test_a_pr_closed_unmerged_is_rejected_with_the_reviewers_words_redacted(hook: Hook) -> None:
    hook.github.review(hook.number, "maintainer", "CHANGES_REQUESTED", "Wrong layer; token AKIAIOSFODNN7EXAMPLE leaked")
    answer = hook.post("pull_request", hook.payload("pull_request_closed_unmerged"))
    assert answer.status_code == 200
    group = hook.group()
    assert group.status == Status.REJECTED and group.reason.startswith("rejected")
    assert "@maintainer (review CHANGES_REQUESTED): Wrong layer" in group.review_reason
    assert "AKIAIOSFODNN7EXAMPLE" not in group.review_reason


@pytest.mark.parametrize("secret", [None, "a wrong secret"], ids=["unsigned", "wrongly-signed"])
def test_an_unsigned_or_wrongly_signed_delivery_is_401_and_touches_nothing(hook: Hook, secret: str | None) -> None:
    before = dict(hook.aws.calls)
    github_requests = len(hook.github.requests)
    answer = hook.post("pull_request", hook.payload("pull_request_closed_merged"), secret=secret)
    assert answer.status_code == 401
    assert dict(hook.aws.calls) == before and len(hook.github.requests) == github_requests
    assert hook.group().status == Status.PR_OPENED


def test_a_body_changed_after_signing_is_401(hook: Hook) -> None:
    headers, body = delivery("pull_request", hook.payload("pull_request_closed_merged"))
    tampered = body.replace(b'"merged": true', b'"merged": false')
    assert tampered != body
    answer = hook.client.http.post("/github/webhook", headers=headers, body=tampered)
    assert answer.status_code == 401 and hook.group().status == Status.PR_OPENED


def test_a_replayed_delivery_is_applied_once(hook: Hook) -> None:
    payload = hook.payload("pull_request_closed_merged")
    first = hook.post("pull_request", payload, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    updated_at = hook.group().updated_at
    again = hook.post("pull_request", payload, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert (first.status_code, again.status_code) == (200, 200) and again.body.decode() == "duplicate"
    assert hook.group().status == Status.MERGED and hook.group().updated_at == updated_at


@pytest.mark.parametrize(
    ("event", "name"), [("ping", "ping"), ("push", "ping"), ("pull_request", "pull_request_opened")]
)
def test_ping_and_events_selfheal_ignores_are_200_without_an_aws_call(hook: Hook, event: str, name: str) -> None:
    before = dict(hook.aws.calls)
    answer = hook.post(event, hook.payload(name))
    assert answer.status_code == 200
    assert answer.body.decode() == "pong" if event == "ping" else answer.body.decode().startswith("ignored")
    assert dict(hook.aws.calls) == before and hook.group().status == Status.PR_OPENED


def test_header_names_in_lower_case_are_read_the_same(hook: Hook) -> None:
    answer = hook.post("pull_request", hook.payload("pull_request_closed_merged"), lower=True)
    assert answer.status_code == 200 and hook.group().status == Status.MERGED


def test_a_malformed_but_signed_body_is_400(hook: Hook) -> None:
    assert hook.post("pull_request", b"{not json").status_code == 400


def test_retry_from_a_writer_reopens_the_group_with_the_diff_and_the_reviewers_words(hook: Hook) -> None:
    hook.github.review(hook.number, "maintainer", "CHANGES_REQUESTED", "Check the caller, not the callee")
    hook.aws.sources.stream_records()  # what the pipeline already handled
    # WHEN a maintainer comments "/selfheal retry"
    answer = hook.post("issue_comment", hook.payload("issue_comment_retry", login="maintainer"))
    # THEN the group is NEW again with a fresh attempt budget, the last diff and the reviewers' words
    assert answer.status_code == 200 and answer.body.decode() == f"retry: {hook.fingerprint}"
    group = hook.group()
    assert (group.status, group.attempts, group.previous_attempt) == (Status.NEW, 0, "retry")
    assert group.pr_diff == DIFF and "Check the caller, not the callee" in group.review_reason
    assert "/selfheal retry" not in group.review_reason  # the command itself is not a review
    # AND the stream turns the change into a fix job
    jobs = [GroupStreamRecord(r).job() for r in hook.aws.sources.stream_records()]
    assert [(j.fingerprint, j.trigger) for j in jobs if j] == [(hook.fingerprint, "reopened")]


@pytest.mark.parametrize("login", ["reader", "triager", "ghost-someone"])
def test_a_command_from_someone_without_write_access_is_ignored(hook: Hook, login: str) -> None:
    answer = hook.post("issue_comment", hook.payload("issue_comment_retry", login=login))
    assert answer.status_code == 200 and "no write access" in answer.body.decode()
    assert hook.group().status == Status.PR_OPENED


def test_stop_from_a_writer_rejects_the_group(hook: Hook) -> None:
    answer = hook.post("issue_comment", hook.payload("issue_comment_stop", login="acme"))
    group = hook.group()
    assert answer.status_code == 200 and group.status == Status.REJECTED
    assert group.reason == "stopped by @acme with /selfheal stop"


def test_retry_after_a_rejection_reopens_it(hook: Hook) -> None:
    hook.post("pull_request", hook.payload("pull_request_closed_unmerged"))
    assert hook.group().status == Status.REJECTED
    hook.post("issue_comment", hook.payload("issue_comment_retry", login="maintainer"))
    assert hook.group().status == Status.NEW


def test_a_pr_that_is_not_selfheals_changes_nothing(hook: Hook) -> None:
    # A PR whose body names no group, and one whose body names our group but is another PR.
    stranger = sample("pull_request_closed_merged", pr_url="https://github.com/acme/shop/pull/99", body="hi")
    forged = sample(
        "pull_request_closed_merged", pr_url="https://github.com/acme/shop/pull/98", body=hook.body(), number=98
    )
    for payload in (stranger, forged):
        answer = hook.post("pull_request", payload)
        assert answer.status_code == 200 and answer.body.decode() == "ignored: not a selfheal pull request"
    assert hook.group().status == Status.PR_OPENED


def test_a_pr_whose_body_lost_the_group_is_found_by_its_pointer(hook: Hook) -> None:
    edited = hook.payload("pull_request_closed_merged")
    edited["pull_request"]["body"] = "a reviewer rewrote the description"
    assert hook.post("pull_request", edited).status_code == 200
    assert hook.group().status == Status.MERGED


def test_a_delivery_that_could_not_be_applied_is_applied_when_redelivered(hook: Hook) -> None:
    hook.github.unavailable = 3  # GitHub cannot say whether the commenter may command selfheal
    payload = hook.payload("issue_comment_stop", login="maintainer")
    failed = hook.post("issue_comment", payload, delivery_id="d-flaky")
    assert failed.status_code == 503 and hook.group().status == Status.PR_OPENED
    hook.github.unavailable = 0
    redelivered = hook.post("issue_comment", payload, delivery_id="d-flaky")
    assert redelivered.status_code == 200 and hook.group().status == Status.REJECTED


def test_deployed_the_secret_is_the_ssm_parameter(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SELFHEAL_WEBHOOK_SECRET")
    prefix = f"/{hook.aws.stack.table_name}/"
    hook.aws.clients.ssm.put_parameter(Name=f"{prefix}webhook_secret", Value="from-ssm", Type="SecureString")
    runtime.override(settings=dataclasses.replace(runtime.settings(), parameter_prefix=prefix))
    assert hook.post("pull_request", hook.payload("pull_request_closed_merged")).status_code == 401
    answer = hook.post("pull_request", hook.payload("pull_request_closed_merged"), secret="from-ssm")
    assert answer.status_code == 200 and hook.group().status == Status.MERGED


def test_no_secret_anywhere_refuses_every_delivery(hook: Hook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SELFHEAL_WEBHOOK_SECRET")
    prefix = f"/{hook.aws.stack.table_name}-none/"
    runtime.override(settings=dataclasses.replace(runtime.settings(), parameter_prefix=prefix))
    answer = hook.post("pull_request", hook.payload("pull_request_closed_merged"))
    assert answer.status_code == 500 and answer.body.decode() == "webhook secret not configured"
    assert hook.group().status == Status.PR_OPENED


def test_a_merge_costs_four_dynamodb_requests_and_no_scan(hook: Hook) -> None:
    before = dict(hook.aws.calls)
    assert hook.post("pull_request", hook.payload("pull_request_closed_merged")).status_code == 200
    calls = {k: v - before.get(k, 0) for k, v in hook.aws.calls.items() if v != before.get(k, 0)}
    # the delivery marker, the group, MERGED, the merge day's set
    assert calls == {"dynamodb.UpdateItem": 3, "dynamodb.GetItem": 1}
