"""The remediators' own policy (terraform/iam_remediation.tf) allows exactly what their adapters call.

The runbooks' calls are checked in test_iam_runbooks.py; these are the governor store's, the catalog
and kill switch reads and the notifications. Operator-only calls (the kill switch's PutParameter) are
made by people's credentials through the CLI, never by a function.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT
from tests.unit.test_iam_actions import policy_actions

ADAPTERS = ROOT / "chalice_app" / "chalicelib" / "adapters"
ACTIONS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "query": "dynamodb:Query",
    "batch_get_item": "dynamodb:BatchGetItem",
    "get_parameter": "ssm:GetParameter",
    "publish": "sns:Publish",
}
OPERATOR_ONLY = {"put_parameter"}
# Lambda's own calls: the failure destination of async invocations, and the key behind each service.
SERVICE_ACTIONS = {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}


def calls_in(module: str) -> set[str]:
    """boto3 operations a module calls: ``self._call("op", ...)`` and ``self._<client>.op(...)``."""
    names = set()
    for node in ast.walk(ast.parse((ADAPTERS / module).read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        target = node.func.value
        if node.func.attr == "_call" and node.args and isinstance(node.args[0], ast.Constant):
            names.add(node.args[0].value)
        elif isinstance(target, ast.Attribute) and target.attr in ("_db", "_ssm", "_sns"):
            names.add(node.func.attr)
    return names


def test_the_remediators_policy_allows_exactly_what_their_adapters_call() -> None:
    calls = calls_in("governor_store.py") | calls_in("runbook_config.py") | calls_in("notify.py")
    assert {"put_item", "get_parameter", "publish"} <= calls  # the scan sees the adapters
    calls -= OPERATOR_ONLY
    unknown = calls - set(ACTIONS)
    assert unknown == set(), f"map these boto3 calls to IAM actions: {unknown}"
    assert policy_actions("iam_remediation.tf") == {ACTIONS[c] for c in calls} | SERVICE_ACTIONS


def test_the_remediators_policy_names_exact_resources() -> None:
    text = (ROOT / "terraform" / "iam_remediation.tf").read_text()
    assert '"*"' not in text
    assert "kms:ViaService" in text
