"""The operators' policy (terraform/iam_operator.tf) lets a person approve without any permission
on the estate: approved plans run in the remediator functions it may invoke, the ones
usecases/approve.py sends each runbook's approvals to."""

from __future__ import annotations

import re

from chalicelib.core.runbooks import RUNBOOKS
from chalicelib.usecases.approve import handler_for
from tests.conftest import ROOT

POLICY = (ROOT / "terraform" / "iam_operator.tf").read_text()


def actions() -> set[str]:
    return {a for block in re.findall(r"actions\s*=\s*\[([^\]]*)\]", POLICY) for a in re.findall(r'"([^"]+)"', block)}


def test_the_operator_policy_grants_nothing_on_the_estate() -> None:
    granted = actions()
    assert "lambda:InvokeFunction" in granted and "dynamodb:UpdateItem" in granted
    assert not {a for a in granted if a.split(":")[0] in ("ec2", "autoscaling", "ecs", "ssm") and a not in
                {"ssm:GetParameter", "ssm:PutParameter"}}  # fmt: skip
    assert not {a for a in granted if a.startswith("lambda:") and a != "lambda:InvokeFunction"}
    assert "*" not in "".join(granted)


def test_the_operator_may_invoke_every_remediator_an_approval_is_sent_to() -> None:
    invoked = set(re.findall(r"aws_lambda_function\.(\w+)\.arn", POLICY))
    assert {handler_for(runbook) for runbook in RUNBOOKS} <= invoked
    assert invoked <= {"alarm_remediator", "finding_remediator", "health_remediator", "event_remediator"}
