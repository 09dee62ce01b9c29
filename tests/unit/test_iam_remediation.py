"""The remediators' own concerns (terraform/iam.tf) allow exactly what their adapters call.

The runbooks' calls are checked in test_iam_runbooks.py; these are the governor store's, the catalog
and kill switch reads and the notifications. Operator-only calls (the kill switch's PutParameter) are
made by people's credentials through the CLI, never by a function.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT
from tests.iam_layout import REMEDIATOR_ROLES, documents, role_actions, role_concerns

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


# The governor table's modules: its shared calls and one module per kind of item.
GOVERNOR_TABLE = ("governor_table.py", "governor_store.py", "held_incidents.py", "governor_notices.py")


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
    calls = set().union(*map(calls_in, GOVERNOR_TABLE)) | calls_in("runbook_config.py") | calls_in("notify.py")
    assert {"put_item", "get_parameter", "publish"} <= calls  # the scan sees the adapters
    calls -= OPERATOR_ONLY
    unknown = calls - set(ACTIONS)
    assert unknown == set(), f"map these boto3 calls to IAM actions: {unknown}"
    expected = {ACTIONS[c] for c in calls} | SERVICE_ACTIONS
    # The verifier also reads alarm states before it decides held-back work again (test_iam_revisit.py).
    extra = {"remediation_verifier": {"cloudwatch:DescribeAlarms"}}
    for role in REMEDIATOR_ROLES:
        assert role_actions(role) == expected | extra.get(role, set()), role


def test_the_remediators_policy_names_exact_resources() -> None:
    docs = documents()
    text = "\n".join(docs[c] for role in REMEDIATOR_ROLES for c in role_concerns()[role]) + docs["project_key"]
    assert '"*"' not in text
    assert "kms:ViaService" in text
