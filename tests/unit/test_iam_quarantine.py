"""ec2-isolate's swap of interface groups is limited to the quarantine VPCs (its generated policy):
ModifyNetworkInterfaceAttribute on interfaces and groups carries an ec2:Vpc condition built from
var.quarantine_vpc_ids, never granted on every interface of the account. The release plan (original
groups back) stays within it: it touches the same interfaces, in the same VPC."""

from __future__ import annotations

from chalicelib.core.runbooks import ec2_isolate
from tests.conftest import ROOT
from tests.unit.test_iam_runbooks import documents

POLICY = ROOT / "terraform" / "iam_runbooks.tf"


def swap_statements() -> list[dict]:
    return [s for s in documents()["runbook_ec2_isolate"] if "ec2:ModifyNetworkInterfaceAttribute" in s["actions"]]


def test_interface_group_swaps_are_limited_to_the_quarantine_vpcs() -> None:
    [statement] = swap_statements()
    assert statement["conditions"] == [
        {"test": "ArnEquals", "variable": "ec2:Vpc", "values": "${local.quarantine_vpc_arns}"}
    ]
    text = POLICY.read_text()
    local = text[text.index("quarantine_vpc_arns =") :][:400]
    assert "var.quarantine_vpc_ids" in local and ":vpc/${vpc}" in local
    # with no VPC configured the statement names an ARN no VPC has: it allows nothing
    assert "vpc/no-quarantine-vpc-configured" in local


def test_the_only_grant_of_the_swap_is_the_conditioned_one() -> None:
    granting = [s for s in documents()["runbook_ec2_isolate"] if "ec2:ModifyNetworkInterfaceAttribute" in s["actions"]]
    assert len(granting) == 1 and len(swap_statements()) == 1


def test_the_release_plan_swaps_only_the_interfaces_the_isolation_recorded() -> None:
    pre = {
        "instance_id": "i-0123456789abcdef0",
        "termination_protection": False,
        "network_interfaces": {"eni-1": ["sg-app"], "eni-2": ["sg-app", "sg-admin"]},
    }
    swaps = [c for c in ec2_isolate.release(pre).calls if c.operation == "modify_network_interface_attribute"]
    assert {c.params["NetworkInterfaceId"]: list(c.params["Groups"]) for c in swaps} == pre["network_interfaces"]
