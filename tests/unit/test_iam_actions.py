"""Every AWS API action the Lambda code calls is allowed to the code-healing functions' roles by
terraform/iam.tf (the concerns each role is granted, its own logs, the project key), and nothing more."""

from __future__ import annotations

import ast

from tests.conftest import ROOT
from tests.iam_layout import CODE_HEALING_ROLES, role_actions

ADAPTERS = ROOT / "chalice_app" / "chalicelib" / "adapters"
# boto3 method → IAM action, for the clients the deployed functions use.
ACTIONS = {
    "update_item": "dynamodb:UpdateItem",
    "get_item": "dynamodb:GetItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "query": "dynamodb:Query",  # the budget sweeper reads the sparse budget_wait index
    "send_message_batch": "sqs:SendMessage",
    "get_log_events": "logs:GetLogEvents",
    "converse": "bedrock:InvokeModel",
    "get_multiple": "ssm:GetParametersByPath",  # Powertools SSMProvider.get_multiple
    "get_parameter": "ssm:GetParameter",  # the service catalog (adapters/service_catalog.py)
    "publish": "sns:Publish",  # notifications (adapters/notify.py)
}
# Calls Lambda itself makes for the event sources, destinations and logs (not in our code).
SERVICE_ACTIONS = {
    "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "logs:CreateLogStream", "logs:PutLogEvents",
    "kms:Decrypt", "kms:GenerateDataKey",
}  # fmt: skip
# Adapter calls made only by the command line (status, configure), never by a deployed function.
# invoke: the operator's approve invokes the remediator function (adapters/invoke.py).
CLI_ONLY = {"scan", "get_paginator", "put_parameter", "invoke"}
# The attributes the adapters keep their boto3 clients in.
CLIENTS = ("_db", "_sqs", "_logs", "_client", "_sns", "_ssm")


def called_methods() -> set[str]:
    names = set()
    for path in ADAPTERS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = node.func.value
                if isinstance(target, ast.Attribute) and target.attr in CLIENTS:
                    names.add(node.func.attr)
                elif isinstance(target, ast.Name) and target.id == "provider":
                    names.add(node.func.attr)
    return names


def policy_actions() -> set[str]:
    """Every action the code-healing functions' roles are granted (their concerns, own logs and key)."""
    return {a for role in CODE_HEALING_ROLES for a in role_actions(role, own_logs=True)}


def test_iam_allows_exactly_what_the_code_calls() -> None:
    calls = called_methods() - CLI_ONLY
    assert {"update_item", "send_message_batch", "converse"} <= calls  # the scan sees the adapters
    unknown = calls - set(ACTIONS)
    assert unknown == set(), f"map these boto3 calls to IAM actions: {unknown}"
    needed = {ACTIONS[c] for c in calls} | SERVICE_ACTIONS
    assert policy_actions() == needed


def test_no_wildcard_actions_or_resources_in_function_policies() -> None:
    text = (ROOT / "terraform" / "iam.tf").read_text()
    assert '"*"' not in text and ':*"]' not in text.replace(':*"', "")
