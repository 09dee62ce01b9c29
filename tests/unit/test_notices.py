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
