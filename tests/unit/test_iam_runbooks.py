"""Each runbook's IAM policy (terraform/iam_runbooks.tf) allows exactly the calls its code makes.

The calls are read from the runbook modules' source (every ``Call(service, operation, ...)`` literal,
those of the shared target helpers they use, and the reads behind ``wait_for`` waiters), the actions
from the policy documents; botocore names the API of each boto3 method. Mutating actions on the
repaired resource must carry the ``aws:ResourceTag`` condition.
"""

from __future__ import annotations

import ast
import re

import boto3
import pytest

from chalicelib.core.runbooks import RUNBOOKS
from chalicelib.core.runbooks.plan import Target
from chalicelib.core.runbooks.targets import fleet_reads
from tests.conftest import ROOT

RUNBOOK_DIR = ROOT / "chalice_app" / "chalicelib" / "core" / "runbooks"
POLICY = ROOT / "terraform" / "iam_runbooks.tf"
TAG_CONDITION = "local.runbook_tag_condition"
# Mutating actions granted without the tag condition, and why (the policy's header says the same).
UNTAGGED = {
    "ssm:SendCommand": "the SSM document is AWS's own: exact ARN",
    "ec2:CreateSnapshots": "volumes carry no instance tag; new snapshots must carry selfheal's mark",
    "ec2:CreateTags": "tags on new snapshots, only at creation",
    "ec2:ModifyNetworkInterfaceAttribute": "interfaces and groups carry no instance tag",
}
# The resources a runbook repairs: a mutating action on these is always tag-conditioned.
REPAIRED = ("instance/*", "autoScalingGroup", "service/*", "function:*")


def _block(text: str, start: int) -> str:
    depth, i = 0, text.index("{", start)
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i : j + 1]
    raise AssertionError("unbalanced braces")


def documents() -> dict[str, list[dict]]:
    """{document name: [{"actions", "resources", "tagged"}]} of every policy document in the file."""
    text = POLICY.read_text()
    out = {}
    for found in re.finditer(r'data "aws_iam_policy_document" "(\w+)"', text):
        body = _block(text, found.end())
        statements = []
        for st in re.finditer(r"\bstatement\s*\{", body):
            block = _block(body, st.start())
            actions = re.search(r"actions\s*=\s*\[([^\]]*)\]", block).group(1)
            resources = re.search(r"resources\s*=\s*(\[[^\]]*\]|[^\n]+)", block).group(1)
            statements.append(
                {
                    "actions": set(re.findall(r'"([^"]+)"', actions)),
                    "resources": resources,
                    "tagged": TAG_CONDITION in block,
                }
            )
        out[found.group(1)] = statements
    return out


def _literal_calls(tree: ast.AST) -> list[tuple[str, str, bool, str]]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Call":
            service, operation = (a.value for a in node.args[:2])
            kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            kw.setdefault("wait_for", "")
            calls.append((service, operation, kw.get("mutating", True), kw.get("wait_for", "")))
    return calls


def code_calls(runbook: str) -> set[tuple[str, bool]]:
    """{(IAM action, mutating)} of every call a runbook module can make, waiters' reads included."""
    # targets.py helpers with the calls they make, through the helpers they call in turn
    functions = {
        n.name: n for n in ast.parse((RUNBOOK_DIR / "targets.py").read_text()).body if isinstance(n, ast.FunctionDef)
    }

    def helper_calls(name: str, seen: frozenset[str] = frozenset()) -> list[tuple[str, str, bool, str]]:
        calls = _literal_calls(functions[name])
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
                if node.func.id not in seen | {name}:
                    calls += helper_calls(node.func.id, seen | {name})
        return calls

    helpers = {name: found for name in functions if (found := helper_calls(name))}
    tree = ast.parse((RUNBOOK_DIR / f"{runbook.replace('-', '_')}.py").read_text())
    calls = _literal_calls(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "targets":
            calls += helpers.get(node.attr, [])
    # waiters named through the module's WAITS table (``wait_for=WAITS[...]``)
    calls += [(s, op, True, w) for (s, op), w in getattr(RUNBOOKS[runbook], "WAITS", {}).items()]
    actions = set()
    for service, operation, mutating, waiter in calls:
        client = boto3.client(service, region_name="us-east-1")
        actions.add((f"{service}:{client.meta.method_to_api_mapping[operation]}", mutating))
        if waiter:
            actions.add((f"{service}:{client.get_waiter(waiter).config.operation}", False))
    return actions


# The fleet each target kind belongs to, as the runbooks write it (targets.instance_target, ecs_redeploy).
FLEETS = {"ec2-instance": "asg:web", "ecs-service": "ecs:prod", "lambda-alias": "lambda:orders"}


def fleet_actions(runbook: str) -> set[str]:
    """The IAM actions of the read of the runbook's fleet size."""
    target = Target(kind=RUNBOOKS[runbook].TARGET, id="x", fleet=FLEETS[RUNBOOKS[runbook].TARGET])
    out = set()
    for call in fleet_reads(target):
        client = boto3.client(call.service, region_name="us-east-1")
        out.add(f"{call.service}:{client.meta.method_to_api_mapping[call.operation]}")
    return out


def allowed(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in s["actions"]}


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS))
def test_each_runbook_policy_allows_exactly_the_calls_its_code_makes(runbook: str) -> None:
    calls = code_calls(runbook)
    assert any(mutating for _, mutating in calls)  # the scan sees the plan's calls
    assert allowed(documents()[f"runbook_{runbook.replace('-', '_')}"]) == {a for a, _ in calls} | fleet_actions(
        runbook
    )


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS))
def test_mutating_actions_on_the_repaired_resource_need_the_tag(runbook: str) -> None:
    statements = documents()[f"runbook_{runbook.replace('-', '_')}"]
    for action in {a for a, mutating in code_calls(runbook) if mutating}:
        granting = [s for s in statements if action in s["actions"]]
        assert granting, action
        for statement in granting:
            if statement["tagged"]:
                continue
            assert action in UNTAGGED, f"{runbook}: {action} is granted without the tag condition"
            assert not any(r in statement["resources"] for r in REPAIRED), (action, statement["resources"])
            assert '"*"' not in statement["resources"], (action, statement["resources"])


def test_verifier_reads_what_runbooks_read_and_changes_nothing() -> None:
    reads = {a for runbook in RUNBOOKS for a, mutating in code_calls(runbook) if not mutating}
    assert allowed(documents()["runbook_verify"]) == reads


def test_every_runbook_has_a_document_and_a_default_role() -> None:
    text = POLICY.read_text()
    names = {n.removeprefix("runbook_").replace("_", "-") for n in documents()} - {"verify"}
    assert names == set(RUNBOOKS)
    default = _block(text, text.index('variable "runbook_functions"'))
    assert set(re.findall(r'"([a-z0-9-]+)"\s*=\s*\[', default)) == set(RUNBOOKS)
