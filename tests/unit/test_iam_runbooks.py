"""Each runbook's IAM policy allows exactly the calls its code makes (Cloud Custodian's meta-lint).

The policy is the one `selfheal.py package` generates from the runbook's declared permissions
(scripts/runbook_terraform.py → terraform/runbooks.tf.json). The calls are read from the runbook
modules' source (every ``Call(service, operation, ...)`` literal, those of the shared target helpers
they use, and the reads behind ``wait_for`` waiters); botocore names the API of each boto3 method.
Mutating actions on the repaired resource must carry the ``aws:ResourceTag`` condition. A grant AWS
checks on a call without it being a call (``Grant.implied_by``: iam:PassRole of a role the call names)
is left out of the comparison, and its implying call must be one the code makes.
"""

from __future__ import annotations

import ast
import json

import boto3
import pytest
from runbook_terraform import OUTPUT, generate, merged_statements, render

from chalicelib.core.runbooks import RUNBOOKS
from chalicelib.core.runbooks.plan import Target
from chalicelib.core.runbooks.targets import fleet_reads
from tests.conftest import ROOT

RUNBOOK_DIR = ROOT / "chalice_app" / "chalicelib" / "core" / "runbooks"
TAG_CONDITION = "${local.runbook_tag_condition}"
# Mutating actions granted without the tag condition, and why (the policy's header says the same); a
# runbook's own such grant says why in its declaration (``Grant.why``).
UNTAGGED = {
    "ssm:SendCommand": "the SSM document is AWS's own: exact ARN",
    "ec2:CreateSnapshots": "volumes carry no instance tag; new snapshots must carry selfheal's mark",
    "ec2:CreateSnapshot": "a new snapshot has no tag yet: it must carry selfheal's mark (aws:RequestTag)",
    "ec2:CreateTags": "tags on new snapshots, only at creation",
    "ec2:ModifyNetworkInterfaceAttribute": "interfaces and groups carry no instance tag",
}
# EC2 authorises tags given at creation (TagSpecifications) as ec2:CreateTags on the new resource.
TAG_ON_CREATE = {"ec2:CreateSnapshot": "ec2:CreateTags", "ec2:CreateSnapshots": "ec2:CreateTags"}
# The resources a runbook repairs: a mutating action on these is always tag-conditioned.
REPAIRED = ("instance/*", "autoScalingGroup", "service/*", "function:*")


def documents() -> dict[str, list[dict]]:
    """{document name: [{"actions", "resources", "tagged", "conditions"}]} of every generated policy
    document: each runbook's statements alone (``runbook_<name>``: the policy of a function that runs
    it alone, as terraform/iam_runbooks.tf merges them) and the verifier's (``runbook_verify``)."""
    out = {}
    bodies = {f"runbook_{name.replace('-', '_')}": {"statement": merged_statements([name])} for name in RUNBOOKS}
    bodies.update(generate()["data"]["aws_iam_policy_document"])
    for name, body in bodies.items():
        out[name] = [
            {
                "actions": set(st["actions"]),
                "resources": json.dumps(st["resources"]),
                "tagged": any(c["variable"] == TAG_CONDITION for c in st.get("condition", [])),
                "conditions": st.get("condition", []),
                "sid": st["sid"],
            }
            for st in body["statement"]
        ]
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
    calls += [(s, op, True, w) for (s, op), w in RUNBOOKS[runbook].waits.items()]
    actions = set()
    for service, operation, mutating, waiter in calls:
        client = boto3.client(service, region_name="us-east-1")
        prefix = client.meta.service_model.signing_name  # IAM's prefix (elbv2 → elasticloadbalancing)
        actions.add((f"{prefix}:{client.meta.method_to_api_mapping[operation]}", mutating))
        if waiter:
            actions.add((f"{prefix}:{client.get_waiter(waiter).config.operation}", False))
    return actions | {(TAG_ON_CREATE[a], True) for a, _ in actions if a in TAG_ON_CREATE}


# The fleet each target kind belongs to, as the runbooks write it (targets.instance_target, ecs_redeploy).
FLEETS = {"ec2-instance": "asg:web", "ecs-service": "ecs:prod", "lambda-alias": "lambda:orders"}


def fleet_actions(runbook: str) -> set[str]:
    """The IAM actions of the read of the runbook's fleet size."""
    kind = RUNBOOKS[runbook].target_kind
    target = Target(kind=kind, id="x", fleet=FLEETS.get(kind, ""))  # a kind without a fleet reads none
    out = set()
    for call in fleet_reads(target):
        client = boto3.client(call.service, region_name="us-east-1")
        out.add(f"{client.meta.service_model.signing_name}:{client.meta.method_to_api_mapping[call.operation]}")
    return out


def allowed(statements: list[dict], implied: set[str] = frozenset()) -> set[str]:
    return {a for s in statements for a in s["actions"]} - set(implied)


def implied_actions(runbook: str) -> dict[str, str]:
    """{action: the API action that implies it} of the runbook's implied grants."""
    return {a: g.implied_by for g in RUNBOOKS[runbook].permissions if g.implied_by for a in g.actions}


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS))
def test_each_runbook_policy_allows_exactly_the_calls_its_code_makes(runbook: str) -> None:
    calls = code_calls(runbook)
    implied = implied_actions(runbook)
    # the scan sees the plan's calls: every changing action granted is a mutating call (a runbook that
    # only reads and tells a person grants none)
    changing = {a for g in RUNBOOKS[runbook].permissions for a in set(g.actions) - set(g.reads())} - set(implied)
    assert {a for a, mutating in calls if mutating} == changing
    assert allowed(documents()[f"runbook_{runbook.replace('-', '_')}"], set(implied)) == {
        a for a, _ in calls
    } | fleet_actions(runbook)
    assert set(implied.values()) <= {a for a, _ in calls}, f"{runbook}: an implied grant names a call it never makes"


def declared_why(runbook: str, action: str) -> str:
    """The ``why`` the runbook's grant of ``action`` declares for being as wide as it is ('' when none;
    the generated statements are merged by shape, so the grant is found by its action)."""
    return next((g.why for g in RUNBOOKS[runbook].permissions if action in g.actions and g.why), "")


@pytest.mark.parametrize("runbook", sorted(RUNBOOKS))
def test_mutating_actions_on_the_repaired_resource_need_the_tag(runbook: str) -> None:
    statements = documents()[f"runbook_{runbook.replace('-', '_')}"]
    for action in {a for a, mutating in code_calls(runbook) if mutating} | set(implied_actions(runbook)):
        granting = [s for s in statements if action in s["actions"]]
        assert granting, action
        for statement in granting:
            if statement["tagged"]:
                continue
            why = UNTAGGED.get(action) or declared_why(runbook, action)
            assert why, f"{runbook}: {action} is granted without the tag condition, and no grant says why"
            assert not any(r in statement["resources"] for r in REPAIRED), (action, statement["resources"])
            assert '"*"' not in statement["resources"], (action, statement["resources"])


def test_verifier_reads_what_runbooks_read_and_changes_nothing() -> None:
    reads = {a for runbook in RUNBOOKS for a, mutating in code_calls(runbook) if not mutating}
    fleets = {a for runbook in RUNBOOKS for a in fleet_actions(runbook)}
    assert allowed(documents()["runbook_verify"]) == reads | fleets


def test_every_runbook_has_a_document_and_default_handlers() -> None:
    names = {n.removeprefix("runbook_").replace("_", "-") for n in documents()} - {"verify"}
    assert names == set(RUNBOOKS)
    local = generate()["locals"]
    assert local["runbook_names"] == sorted(RUNBOOKS) == sorted(local["runbook_default_functions"])
    assert all(functions[-1] == "remediation_verifier" for functions in local["runbook_default_functions"].values())


def test_the_committed_terraform_is_what_the_declarations_generate() -> None:
    """terraform/runbooks.tf.json is generated (`selfheal.py package`): a declaration changed
    without it would deploy yesterday's policy."""
    assert OUTPUT.read_text() == render(), "run: python scripts/runbook_terraform.py (or selfheal.py package)"


def test_no_terraform_file_lists_runbook_names_by_hand() -> None:
    for path in (ROOT / "terraform").glob("*.tf"):
        text = path.read_text()
        listed = [name for name in RUNBOOKS if f'"{name}"' in text]
        assert not listed, f"{path.name} lists runbook names by hand: {listed}"
