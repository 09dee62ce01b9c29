"""Every notice selfheal publishes is a custom notification AWS Chatbot accepts, so a Slack or Teams
channel is only a subscription of the topic (terraform/chatbot.tf).

The schema is the one AWS documents for custom notifications
(https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html, "Event schema" and
"Parameter details"): ``version`` must be "1.0", ``source`` must be "custom", ``content.description``
is required; ``id``, ``textType`` (only "client-markdown"), ``title``, ``nextSteps``, ``keywords`` and
the ``metadata`` fields are optional, and each is a string, a list of strings or (additionalContext)
a map of strings: a null is none of these.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.notices import (
    PUBLISHED,
    HeldGroup,
    Notice,
    burst_notice,
    decision_notice,
    digest_notice,
    fate_notice,
    fix_notice,
    kill_switch_notice,
)

CONTENT = {"textType", "title", "description", "nextSteps", "keywords"}
METADATA = {"threadId", "summary", "eventType", "relatedResources", "additionalContext"}
SNS_LIMIT = 256 * 1024  # bytes of one SNS message


def schema_errors(document: dict[str, Any]) -> list[str]:
    """What in ``document`` the documented custom-notification schema refuses (empty: accepted)."""
    errors = []
    if set(document) - {"version", "source", "id", "content", "metadata"}:
        errors.append(f"unknown top-level keys {sorted(set(document))}")
    if document.get("version") != "1.0":
        errors.append("version must be 1.0")
    if document.get("source") != "custom":
        errors.append("source must be custom")
    if "id" in document and not isinstance(document["id"], str):
        errors.append(f"id must be a string, not {document['id']!r}")
    return errors + _content_errors(document.get("content")) + _metadata_errors(document.get("metadata", {}))


def _content_errors(content: Any) -> list[str]:
    if not isinstance(content, dict) or set(content) - CONTENT:
        return [f"content must be an object of {sorted(CONTENT)}"]
    errors = []
    if not isinstance(content.get("description"), str) or not content["description"]:
        errors.append("content.description is required")
    if content.get("textType", "client-markdown") != "client-markdown":
        errors.append("only client-markdown textType is supported")
    if "title" in content and not isinstance(content["title"], str):
        errors.append("content.title must be a string")
    for key in ("nextSteps", "keywords"):
        if key in content and not all(isinstance(s, str) for s in content[key]):
            errors.append(f"content.{key} must be strings")
    return errors


def _metadata_errors(metadata: dict[str, Any]) -> list[str]:
    errors = []
    if set(metadata) - METADATA:
        errors.append(f"unknown metadata keys {sorted(set(metadata) - METADATA)}")
    for key in ("threadId", "summary", "eventType"):
        if key in metadata and not isinstance(metadata[key], str):
            errors.append(f"metadata.{key} must be a string")
    if not all(isinstance(r, str) for r in metadata.get("relatedResources", [])):
        errors.append("metadata.relatedResources must be strings")
    context = metadata.get("additionalContext", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        errors.append("metadata.additionalContext must map strings to strings")
    return errors


def what_chatbot_receives(notice: Notice) -> dict[str, Any]:
    """The document a Chatbot subscription gets: SNS delivers a MessageStructure=json body's part for
    the subscriber's protocol (Chatbot subscribes over HTTPS) or, without one, its ``default``."""
    body = json.loads(notice.sns_message())
    assert "https" not in body and "http" not in body, "an https part would replace the Chatbot document"
    assert len(notice.sns_message().encode()) <= SNS_LIMIT
    return json.loads(body["default"])


def every_kind_of_notice() -> list[Notice]:
    """One notice of each kind selfheal publishes: runbook decisions, code fixes, bursts, fates, digests."""
    calls = [{"service": "ec2", "operation": "reboot_instances", "params": {"InstanceIds": ["i-0abc"]}}]
    notices = [
        decision_notice(d, runbook="ec2-reboot", resource="i-0abc", reason="CPU high", action_id="a-1", calls=calls)
        for d in sorted(PUBLISHED)
    ]
    notices += [
        decision_notice("escalate", runbook="", resource="", reason="ambiguous alarm"),  # no action id
        fix_notice("PR_OPENED", fingerprint="f" * 32, exception_type="KeyError", pr_url="https://git/pr/1",
                   details={"confidence": 0.9}, service="billing"),
        fix_notice("FAILED", fingerprint="f" * 32, exception_type="KeyError", reason="tests failed"),
        burst_notice(new_groups=40, queued=10, over_budget=30, budget=10, services={"billing": 40}),
        fate_notice("REGRESSED", fingerprint="f" * 32, exception_type="KeyError", pr_url="https://git/pr/1"),
        digest_notice([HeldGroup(rule="fleet", runbook="ec2-reboot", fleet="asg:web", count=4)], next_look_ms=1),
        kill_switch_notice("the kill switch parameter is unreadable"),
    ]  # fmt: skip
    assert all(n is not None for n in notices)
    return [n for n in notices if n is not None]


def test_every_kind_of_notice_is_a_custom_notification_chatbot_accepts() -> None:
    for notice in every_kind_of_notice():
        document = what_chatbot_receives(notice)
        assert schema_errors(document) == [], (notice.kind, document)
        assert document["content"]["title"] and document["metadata"]["eventType"] == notice.kind


def test_a_notice_without_an_action_id_leaves_id_out_rather_than_null() -> None:
    with_id = decision_notice("act", runbook="ec2-reboot", resource="i-0abc", reason="CPU", action_id="a-1")
    without = decision_notice("escalate", runbook="", resource="", reason="ambiguous alarm")
    assert with_id is not None and without is not None
    assert what_chatbot_receives(with_id)["id"] == "a-1"
    assert "id" not in what_chatbot_receives(without)


def test_the_schema_check_refuses_what_chatbot_refuses() -> None:
    """The check above is not vacuous: each documented rule, broken once, is reported."""
    good = what_chatbot_receives(every_kind_of_notice()[0])
    broken = [
        {**good, "version": "2.0"},
        {**good, "source": "selfheal"},
        {**good, "id": None},
        {**good, "content": {**good["content"], "description": ""}},
        {**good, "content": {**good["content"], "textType": "markdown"}},
        {**good, "metadata": {**good["metadata"], "additionalContext": {"attempt": 2}}},
    ]
    assert schema_errors(good) == []
    assert all(schema_errors(doc) for doc in broken)


@given(
    decision=st.sampled_from(sorted(PUBLISHED)),
    runbook=st.text(max_size=60),
    resource=st.text(max_size=200),
    reason=st.text(max_size=5_000),
    action_id=st.text(max_size=40),
)
def test_any_decision_text_still_renders_an_accepted_document(
    decision: str, runbook: str, resource: str, reason: str, action_id: str
) -> None:
    """Reasons and resource names quote event and log text: whatever they hold, the document keeps its shape."""
    notice = decision_notice(decision, runbook=runbook, resource=resource, reason=reason, action_id=action_id)
    assert notice is not None
    document = what_chatbot_receives(notice)
    assert schema_errors(document) == []
