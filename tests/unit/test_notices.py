"""Notices: what a person reads, and the Chatbot custom-notification document, both redacted."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.notices import PUBLISHED, decision_notice

CALLS = [{"service": "ec2", "operation": "reboot_instances", "params": {"InstanceIds": ["i-0abc"]}}]


def test_audit_only_decisions_publish_nothing() -> None:
    for decision in ("suppressed", "ignore"):
        assert decision_notice(decision, runbook="ec2-reboot", resource="i-0abc", reason="cooldown") is None


@pytest.mark.parametrize("decision", sorted(PUBLISHED))
def test_every_published_decision_is_a_valid_chatbot_custom_notification(decision: str) -> None:
    # GIVEN a decision that people must hear about
    notice = decision_notice(
        decision, runbook="ec2-reboot", resource="i-0abc", reason="CPU above 95%", action_id="a-1", calls=CALLS
    )
    # THEN the SNS body is json-structured: Chatbot's document by default, text for e-mail
    assert notice is not None
    body = json.loads(notice.sns_message())
    document = json.loads(body["default"])
    assert document["version"] == "1.0"
    assert document["source"] == "custom"
    assert document["content"]["textType"] == "client-markdown"
    assert "i-0abc" in document["content"]["title"]
    assert document["metadata"]["threadId"] == "selfheal/i-0abc"
    assert body["email"].startswith(notice.title)
    assert len(notice.subject()) <= 100
    assert "\n" not in notice.subject()


def test_approval_request_tells_how_to_approve_and_deny() -> None:
    notice = decision_notice(
        "awaiting_approval",
        runbook="ec2-isolate",
        resource="i-0abc",
        reason="critical",
        action_id="act-42",
        expires_ms=1_800_000_000_000,
    )
    assert notice is not None
    steps = " ".join(notice.next_steps)
    assert "approve act-42" in steps
    assert "deny act-42" in steps
    assert "2027-01-15T08:00:00Z" in steps


def test_secrets_in_a_reason_never_reach_the_topic() -> None:
    secret = "ghp_" + "A" * 36
    notice = decision_notice("failed", runbook="disk-cleanup", resource="i-0abc", reason=f"command said {secret}")
    assert notice is not None
    assert secret not in notice.sns_message()
    assert secret not in notice.subject()


def test_a_pr_opened_says_where_how_sure_and_how_big() -> None:
    from chalicelib.core.notices import fix_notice

    notice = fix_notice(
        "PR_OPENED",
        fingerprint="0123456789abcdef" * 2,
        exception_type="KeyError",
        pr_url="https://github.com/acme/shop/pull/7",
        details={"confidence": "0.82", "lines_changed": 4, "draft": False},
    )
    assert notice is not None
    text = notice.text()
    assert "https://github.com/acme/shop/pull/7" in text and "0.82" in text and "Lines changed: 4" in text
    assert "KeyError" in notice.title and "0123456789ab" in notice.title


def test_a_failed_fix_says_why_redacted_and_skipped_says_nothing() -> None:
    from chalicelib.core.notices import fix_notice

    secret = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
    failed = fix_notice("FAILED", fingerprint="f" * 32, exception_type="ValueError", reason=f"model echoed {secret}")
    assert failed is not None and "retry ffffffffffff" in " ".join(failed.next_steps)
    assert secret not in failed.sns_message()
    assert fix_notice("SKIPPED", fingerprint="f" * 32, exception_type="ValueError") is None


def test_a_burst_of_new_groups_is_one_summary() -> None:
    from chalicelib.core.notices import burst_notice

    assert burst_notice(new_groups=1, queued=1, over_budget=0, budget=50) is None
    notice = burst_notice(new_groups=300, queued=50, over_budget=250, budget=50)
    assert notice is not None
    assert "300" in notice.title and "budget" in notice.title
    assert "250 over the fix budget of 50 an hour" in notice.description


def test_a_lost_notification_is_counted_never_raised() -> None:
    from chalicelib.core.notices import burst_notice
    from chalicelib.errors import TransientError
    from chalicelib.usecases.notifications import tell

    class Throttled:
        def publish(self, notice: object) -> str:
            raise TransientError("SNS Publish: Throttling")

    class Counts:
        def __init__(self) -> None:
            self.counted: dict[str, int] = {}

        def count(self, name: str, value: int = 1) -> None:
            self.counted[name] = self.counted.get(name, 0) + value

        def flush(self) -> None:
            pass

    metrics = Counts()
    tell(Throttled(), burst_notice(new_groups=5, queued=5, over_budget=0, budget=50), metrics)
    assert metrics.counted == {"NotificationsFailed": 1}
