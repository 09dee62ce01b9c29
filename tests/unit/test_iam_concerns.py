"""The functions' IAM is one policy document per concern, attached to the roles that list it
(terraform/iam.tf): a grant is written once, every role's concerns are real documents, and the
project key is used through exactly the services of a role's concerns."""

from __future__ import annotations

import re

from app_handlers import declared

from tests.conftest import ROOT
from tests.iam_layout import (
    CODE_HEALING_ROLES,
    REMEDIATOR_ROLES,
    actions_in,
    block,
    documents,
    key_use,
    role_concerns,
    text,
)

# Not concerns: a document per function (own_logs) and the key statement built from the concerns.
PER_ROLE = {"own_logs", "project_key"}


def test_every_function_has_its_concerns_and_every_concern_a_document() -> None:
    functions = set(declared().functions)  # app.py's handlers, as the package step names them (local.functions)
    concerns = role_concerns()
    assert set(concerns) == functions == {*CODE_HEALING_ROLES, *REMEDIATOR_ROLES}
    docs = documents()
    listed = {c for cs in concerns.values() for c in cs}
    assert listed == set(docs) - PER_ROLE  # no concern without a document, no document nobody is granted
    wired = dict(re.findall(r"^\s*(\w+)\s*=\s*data\.aws_iam_policy_document\.(\w+)\.json", text(), re.M))
    assert wired == {c: c for c in listed}  # local.concern_documents names each document once, by its name
    assert all(len(cs) == len(set(cs)) for cs in concerns.values())


def test_a_grant_is_written_in_one_document() -> None:
    """sns:Publish, the settings tree, the failed-events queue: each in one statement that every role
    needing it is granted (one more secret or topic is one edit)."""
    docs = {name: body for name, body in documents().items() if name not in PER_ROLE}
    statements = [
        (action, re.search(r"resources\s*=\s*(.+)", st).group(1).strip())
        for body in docs.values()
        for st in re.split(r"\bstatement\s*\{|content\s*\{", body)[1:]
        if "resources" in st
        for action in actions_in(st)
        if not action.startswith("kms:")  # the parameters' decrypts differ by their encryption context
    ]
    assert statements and len(statements) == len(set(statements))
    text_all = "\n".join((ROOT / "terraform" / f).read_text() for f in ("iam.tf", "api.tf", "services.tf"))
    for action in ("sns:Publish", "ssm:GetParametersByPath", "bedrock:InvokeModel"):
        assert text_all.count(f'"{action}"') == 1, action


def test_each_role_uses_the_key_through_the_services_of_its_concerns() -> None:
    """The services and actions each role had before the concerns were split out, pinned."""
    both = {"kms:Decrypt", "kms:GenerateDataKey"}
    expected = {
        "log_processor": (both, {"dynamodb", "sqs", "ssm", "sns"}),
        "stream_processor": (both, {"dynamodb", "sqs", "sns"}),
        "fixer": (both, {"dynamodb", "sqs", "ssm", "sns"}),
        "budget_sweeper": (both, {"dynamodb", "sqs", "sns"}),  # sends stuck jobs again, tells (usecases/requeue.py)
        "heal_checker": (both, {"dynamodb", "ssm", "sns"}),
        "api_handler": (both, {"dynamodb", "ssm"}),
    } | dict.fromkeys(REMEDIATOR_ROLES, (both, {"dynamodb", "sns", "ssm", "sqs"}))
    assert {role: key_use(role) for role in role_concerns()} == expected


def test_the_key_statement_and_the_empty_concern_are_attached_only_when_they_grant() -> None:
    """An inline policy needs a statement: the key's only with the project's key, the watched logs'
    only with log groups to read."""
    source = text()
    attached = source[
        source.index("role_policies = merge(") : source.index('resource "aws_iam_role_policy" "concerns"')
    ]
    assert "local.customer_key ? {" in attached and "if length(use.services) > 0" in attached
    assert "watched_logs = length(local.watched_log_group_arns) > 0" in block(source, "concern_granted = {")
    assert 'resource "aws_iam_role_policy" "concerns" {\n  for_each = local.role_policies' in source
