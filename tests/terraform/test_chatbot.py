"""Slack and Teams channels through AWS Chatbot: a Terraform option (terraform/chatbot.tf) whose
channels only receive the notification topic.

Fast: the three variables exactly as terraform/ declares them, planned in a folder of their own (no
provider, no AWS), and the channels' IAM read from the text of every .tf file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT
from tests.iam_layout import block

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform
TERRAFORM = shutil.which("terraform")
if TERRAFORM is None:
    pytest.skip("needs terraform on PATH", allow_module_level=True)

VARIABLES = ("chatbot_slack_channels", "chatbot_teams_channels", "chatbot_guardrail_policies")
SLACK = {"workspace_id": "T012AB3CD", "channel_id": "C0123456789"}
TEAMS = {
    "tenant_id": "a1b2c3d4-0000-4000-8000-000000000001",
    "team_id": "a1b2c3d4-0000-4000-8000-000000000002",
    "channel_id": "19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
}


@pytest.fixture(scope="module")
def variables_only(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("tf-chatbot")
    text = (ROOT / "terraform" / "variables_remediation.tf").read_text()
    (work / "variables.tf").write_text("\n\n".join(block(text, f'variable "{v}" {{') for v in VARIABLES) + "\n")
    return work


def plan(work: Path, **variables: Any) -> subprocess.CompletedProcess[str]:
    args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={json.dumps(value)}")]
    return subprocess.run(
        [TERRAFORM, f"-chdir={work}", "plan", "-input=false", "-no-color", *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_channels_and_a_narrow_guardrail_plan(variables_only) -> None:
    run = plan(
        variables_only,
        chatbot_slack_channels=[SLACK],
        chatbot_teams_channels=[TEAMS],
        chatbot_guardrail_policies=["CloudWatchReadOnlyAccess"],
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"chatbot_slack_channels": [{**SLACK, "channel_id": "#alerts"}]}, "are Slack ids"),
        ({"chatbot_slack_channels": [SLACK, SLACK]}, "each channel once"),
        ({"chatbot_teams_channels": [{**TEAMS, "tenant_id": "acme"}]}, "tenant_id and team_id are GUIDs"),
        ({"chatbot_guardrail_policies": ["ReadOnlyAccess"]}, "too wide for a chat channel"),
        ({"chatbot_guardrail_policies": ["AdministratorAccess"]}, "too wide for a chat channel"),
        ({"chatbot_guardrail_policies": []}, "at least one"),
    ],
)
def test_a_bad_channel_or_a_wide_guardrail_is_refused_at_plan(variables_only, variables, says) -> None:
    run = plan(variables_only, **variables)
    assert run.returncode != 0
    assert says in " ".join(run.stderr.split())


def test_the_channels_only_receive_the_notification_topic() -> None:
    """The channel role has no policy anywhere in terraform/, the guardrail denies every call unless an
    operator narrows it otherwise, and the channels subscribe to the one notification topic."""
    sources = {p.name: p.read_text() for p in (ROOT / "terraform").glob("*.tf")}
    chatbot = sources["chatbot.tf"]
    everything = "\n".join(sources.values())
    assert re.findall(r"aws_iam_role\.chatbot\[0\]\.(\w+)", everything) == ["arn", "arn"]  # the two channel kinds
    assert "aws_iam_role_policy" not in chatbot and "policy_attachment" not in chatbot
    guardrails = block(sources["variables_remediation.tf"], 'variable "chatbot_guardrail_policies" {')
    assert re.search(r'default\s*=\s*\["AWSDenyAll"\]', guardrails)
    for kind in ("slack", "teams"):
        resource = block(chatbot, f'resource "aws_chatbot_{kind}_channel_configuration" "notifications" {{')
        assert "sns_topic_arns              = [aws_sns_topic.notifications.arn]" in resource
        assert "guardrail_policy_arns       = local.chatbot_guardrails" in resource
        assert "user_authorization_required = true" in resource
