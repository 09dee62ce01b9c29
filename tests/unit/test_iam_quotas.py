"""Every function's IAM stays within AWS's quotas, and packing the runbooks' permissions changes none.

AWS refuses, at apply time only (moto does not check), a role whose inline policies exceed 10,240
characters in total, a managed policy over 6,144, and an eleventh managed policy on a role (the
default quota). The policies are rendered as the provider writes them with the longest plausible
value of every interpolation (scripts/iam_size.py: partition, region, name_prefix at its limit, a
long stage and opt-in tag, three quarantine VPCs) and counted as AWS counts them (no whitespace).

The runbooks' statements are merged per function in Terraform (terraform/iam_runbooks.tf) into
one customer-managed policy per part (runbooks.tf.json's local.runbook_parts); the property test
checks, for any set of runbooks a function may be given (var.runbook_functions), that the merged
statements allow exactly what the runbooks' own statements allow. That Terraform renders the
merge as ``merged_statements`` says is checked on a plan in the slow tier
(tests/terraform/test_runbook_policies.py).
"""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st
from iam_size import (
    INLINE_TOTAL,
    MANAGED_PER_ROLE,
    MANAGED_SIZE,
    characters,
    document,
    hcl_documents,
    role_concerns,
)
from runbook_terraform import PART_BUDGET, generate, merged_statements, parts, statement

from chalicelib.core.runbooks import RUNBOOKS
from tests.conftest import ROOT

REMEDIATORS = ("alarm_remediator", "finding_remediator", "health_remediator", "remediation_verifier")
# The inline policies the functions' roles get (resource "aws_iam_role_policy" "<name>"), and which
# of them this test counts for the remediators: a new one must be counted here before it deploys.
INLINE = {"concerns", "own_logs", "runbook_verify", "api_gateway_logs"}  # api_gateway_logs: API Gateway's role


def _inline_documents(function: str) -> list[dict]:
    """The rendered inline policies of a remediator's role: its concerns, its key, its logs, and the
    verifier's reads of every runbook."""
    names = [*role_concerns()[function], "project_key", "own_logs"]
    rendered = hcl_documents(names)
    out = [document(rendered[name]) for name in names]
    if function == "remediation_verifier":
        out.append(document(generate()["data"]["aws_iam_policy_document"]["runbook_verify"]["statement"]))
    return out


def test_the_terraform_has_no_inline_policy_this_test_does_not_count() -> None:
    found = set()
    for path in (ROOT / "terraform").glob("*.tf"):
        found |= set(re.findall(r'resource "aws_iam_role_policy" "(\w+)"', path.read_text()))
    assert found == INLINE
    attachments = set()
    for path in (ROOT / "terraform").glob("*.tf"):
        attachments |= set(re.findall(r'resource "aws_iam_role_policy_attachment" "(\w+)"', path.read_text()))
    assert attachments == {"runbooks"}  # the only managed policies on the functions' roles


def test_every_remediator_role_is_within_the_inline_quota() -> None:
    for function in REMEDIATORS:
        total = sum(characters(policy) for policy in _inline_documents(function))
        assert total <= INLINE_TOTAL, f"{function}: inline policies {total} > {INLINE_TOTAL} characters"


def test_every_part_is_within_the_managed_policy_size() -> None:
    for part, names in parts().items():
        size = characters(document(merged_statements(names)))
        assert size <= MANAGED_SIZE, f"runbook part {part} ({names}): {size} > {MANAGED_SIZE} characters"


def test_a_role_gets_at_most_one_managed_policy_per_part_within_the_quota() -> None:
    # Whatever var.runbook_functions gives a function, its runbooks fall into these parts.
    assert len(parts()) <= MANAGED_PER_ROLE
    every = [name for names in parts().values() for name in names]
    assert sorted(every) == sorted(RUNBOOKS)  # each runbook in exactly one part


def test_the_generated_locals_are_what_the_packing_computes() -> None:
    local = generate()["locals"]
    assert local["runbook_parts"] == parts()
    statements = [st for names in parts().values() for st in merged_statements(names)]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", st["sid"]) for st in statements)  # IAM's Sid alphabet


def _allowed(statements: list[dict]) -> set[tuple[str, str, str]]:
    """{(action, resource, conditions)}: what statements allow, one resource and action at a time."""
    return {
        (action, resource, json.dumps(st.get("condition", []), sort_keys=True))
        for st in statements
        for action in st["actions"]
        for resource in st["resources"]
    }


@given(st.sets(st.sampled_from(sorted(RUNBOOKS)), min_size=1))
def test_merging_allows_exactly_what_the_runbooks_own_statements_allow(names: set[str]) -> None:
    own = [statement(grant) for name in names for grant in RUNBOOKS[name].permissions]
    merged = merged_statements(sorted(names))
    assert _allowed(merged) == _allowed(own)
    assert len({st["sid"] for st in merged}) == len(merged)  # one statement per shape
    # and never larger than the part's whole policy, which the size test bounds
    for part_names in parts().values():
        subset = [n for n in part_names if n in names]
        if subset:
            assert characters(document(merged_statements(subset))) <= characters(
                document(merged_statements(part_names))
            )


# The design's room: this many runbooks more than today, each as large as the largest today.
GROWTH = 10


def _reads_alone(name: str) -> int:
    """The characters of a runbook's reads in the verifier's document, were it the only runbook."""
    grants = [g for g in RUNBOOKS[name].permissions if not g.conditions and not g.tagged and g.reads()]
    return characters(document([{**statement(g), "actions": list(g.reads())} for g in grants]))


def test_there_is_room_for_ten_more_runbooks() -> None:
    """A warning before the quota: ten more runbooks (about 25) like today's, merging with none, fit."""
    sizes = [characters(document(merged_statements([name]))) for name in RUNBOOKS]
    mean, largest = sum(sizes) / len(sizes), max(sizes)
    # First fit closes a part only when the next runbook would not fit: a closed part holds more than
    # the budget less the largest runbook.
    more_parts = -(-GROWTH * mean // (PART_BUDGET - largest))
    assert len(parts()) + more_parts <= MANAGED_PER_ROLE, (len(parts()), more_parts)
    total = sum(characters(policy) for policy in _inline_documents("remediation_verifier"))
    reads = max(_reads_alone(name) for name in RUNBOOKS)
    assert total + GROWTH * reads <= INLINE_TOTAL, (total, reads)
