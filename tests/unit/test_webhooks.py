"""The webhook's pure core: GitHub's signature and what each delivery asks."""

from __future__ import annotations

import pytest

from chalicelib.core.webhooks import command, epoch_ms, group_in_body, intent, pr_number, sign, signature_valid
from chalicelib.errors import PayloadError
from chalicelib.events.github import MAX_BODY_BYTES, WebhookDelivery
from tests.github_hooks import SECRET, delivery, sample

# GitHub's documented test values (docs.github.com, "Validating webhook deliveries").
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_the_signature_is_githubs_documented_example() -> None:
    assert sign(SECRET.encode(), b"Hello, World!") == GITHUB_SIGNATURE
    assert signature_valid(SECRET.encode(), b"Hello, World!", GITHUB_SIGNATURE)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        GITHUB_SIGNATURE.upper(),  # hex digests compare exactly, as GitHub's reference code does
        GITHUB_SIGNATURE[:-1] + "f",
        "sha1=" + GITHUB_SIGNATURE[7:],
        GITHUB_SIGNATURE[7:],  # the hex without its prefix
    ],
)
def test_a_missing_or_wrong_signature_does_not_validate(header: str | None) -> None:
    assert not signature_valid(SECRET.encode(), b"Hello, World!", header)


def test_a_changed_body_or_secret_does_not_validate() -> None:
    assert not signature_valid(SECRET.encode(), b"Hello, World?", GITHUB_SIGNATURE)
    assert not signature_valid(b"another secret", b"Hello, World!", GITHUB_SIGNATURE)


def test_an_empty_secret_validates_nothing() -> None:
    assert not signature_valid(b"", b"x", sign(b"", b"x"))


def test_ping_is_a_ping() -> None:
    assert intent("ping", sample("ping")).kind == "ping"


def test_a_merged_pull_request_is_merged_at_githubs_time() -> None:
    found = intent("pull_request", sample("pull_request_closed_merged"))
    assert found.kind == "merged"
    assert found.merged_at == epoch_ms("2026-11-20T10:00:00Z") == 1_795_168_800_000
    assert found.pr_url == "https://github.com/acme/shop/pull/7" and found.number == 7
    assert found.branch == "selfheal/0717b95b0278"
    assert found.fingerprint == "0717b95b0278aa11bb22cc33dd44ee55"


def test_a_pull_request_closed_unmerged_is_rejected() -> None:
    found = intent("pull_request", sample("pull_request_closed_unmerged"))
    assert found.kind == "rejected" and found.merged_at == 0 and found.actor == "octocat"


def test_other_pull_request_actions_are_ignored() -> None:
    found = intent("pull_request", sample("pull_request_opened"))
    assert found.kind == "ignored" and found.why == "pull_request opened"


def test_selfheal_commands_on_a_pull_request_are_retry_and_stop() -> None:
    retry = intent("issue_comment", sample("issue_comment_retry"))
    assert retry.kind == "retry" and retry.actor == "octocat" and retry.number == 7
    assert retry.pr_url == "https://github.com/acme/shop/pull/7"
    assert intent("issue_comment", sample("issue_comment_stop")).kind == "stop"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/selfheal retry", "retry"),
        ("  /selfheal stop  \nbecause", "stop"),
        ("/selfheal retry please", ""),  # the first line must be exactly the command
        ("please /selfheal retry", ""),
        ("/SELFHEAL RETRY", ""),
        ("/selfheal", ""),
        ("", ""),
        (None, ""),
        (42, ""),
    ],
)
def test_a_command_is_the_exact_first_line(text: object, expected: str) -> None:
    assert command(text) == expected


def test_comments_that_are_not_commands_or_not_on_a_pull_request_are_ignored() -> None:
    assert intent("issue_comment", sample("issue_comment_plain")).kind == "ignored"
    on_issue = intent("issue_comment", sample("issue_comment_on_issue"))
    assert on_issue.kind == "ignored" and "not a pull request" in on_issue.why
    edited = sample("issue_comment_retry")
    edited["action"] = "edited"  # an edit that adds a command does not run it
    assert intent("issue_comment", edited).kind == "ignored"


@pytest.mark.parametrize("event", ["push", "check_run", "", "pull_request_review"])
def test_unknown_events_are_ignored(event: str) -> None:
    assert intent(event, {"action": "closed"}).kind == "ignored"


def test_payload_fields_of_the_wrong_type_make_the_delivery_ignored_not_an_error() -> None:
    assert intent("pull_request", {"action": "closed", "pull_request": "x"}).kind == "ignored"
    assert intent("pull_request", {"action": ["closed"]}).kind == "ignored"
    assert intent("issue_comment", {"action": "created", "issue": {"pull_request": {}}, "comment": 3}).kind == "ignored"
    odd = sample("pull_request_closed_merged")
    odd["pull_request"]["number"] = "7"
    odd["pull_request"]["merged_at"] = "yesterday"
    found = intent("pull_request", odd)
    assert found.kind == "merged" and found.number == 0 and found.merged_at == 0


def test_the_group_is_read_from_selfheals_pr_body_and_the_number_from_the_url() -> None:
    assert group_in_body("- error group: `" + "a" * 32 + "`") == "a" * 32
    assert group_in_body("error group: `" + "A" * 32 + "`") == ""
    assert group_in_body("") == ""
    assert pr_number("https://github.com/acme/shop/pull/42") == 42
    assert pr_number("file:///tmp/shop.selfheal-prs/selfheal-0717.md") == 0


def test_the_delivery_view_reads_headers_in_any_case() -> None:
    headers, body = delivery("ping", sample("ping"), delivery_id="d-1", lower=True)
    view = WebhookDelivery(headers, body)
    assert (view.event, view.delivery_id) == ("ping", "d-1") and view.signature.startswith("sha256=")
    mixed = WebhookDelivery({"X-GITHUB-EVENT": "ping", "x-Hub-Signature-256": "sha256=1"}, b"{}")
    assert mixed.event == "ping" and mixed.signature == "sha256=1" and mixed.payload == {}


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"[" * 100_000, b" " * (MAX_BODY_BYTES + 1)],
)
def test_a_body_that_is_not_a_bounded_json_object_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(PayloadError):
        _ = WebhookDelivery({}, body).payload
