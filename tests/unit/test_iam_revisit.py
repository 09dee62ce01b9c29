"""The verifier's revisit of held-back work: it reads alarm states (its concern read_alarm_states in
iam.tf allows exactly that) and runs the runbooks it admits (every runbook's policy is attached to its
role by default)."""

from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT
from tests.iam_layout import actions_in, documents, role_concerns

SIGNALS = ROOT / "chalice_app" / "chalicelib" / "adapters" / "signals.py"


def signal_reads() -> set[str]:
    """The CloudWatch operations adapters/signals.py makes (through paginators or directly)."""
    names = set()
    for node in ast.walk(ast.parse(SIGNALS.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if isinstance(target, ast.Attribute) and target.attr == "_cloudwatch":
                if node.func.attr == "get_paginator" and isinstance(node.args[0], ast.Constant):
                    names.add(node.args[0].value)
                else:
                    names.add(node.func.attr)
    return names


def test_the_revisit_policy_allows_exactly_the_alarm_reads_it_makes() -> None:
    assert signal_reads() == {"describe_alarms"}
    document = documents()["read_alarm_states"]
    assert actions_in(document) == {"cloudwatch:DescribeAlarms"}
    assert '"*"' not in document
    assert "read_alarm_states" in role_concerns()["remediation_verifier"]


def test_the_verifier_runs_every_runbook_by_default() -> None:
    from runbook_terraform import generate

    defaults = generate()["locals"]["runbook_default_functions"]
    text = (ROOT / "terraform" / "iam_runbooks.tf").read_text()
    assert "merge(local.runbook_default_functions, var.runbook_functions)" in text
    assert defaults and all("remediation_verifier" in functions for functions in defaults.values())


def test_the_terraform_list_of_notice_kinds_is_the_codes() -> None:
    from chalicelib.core.notices import NOTICE_KINDS, quiet_kinds

    text = (ROOT / "terraform" / "variables_remediation.tf").read_text()
    block = text[text.index('variable "quiet_notices"') :]
    listed = re.findall(r'"([a-z_]+)"', block[block.index("contains([") : block.index("], kind)")])
    assert set(listed) == NOTICE_KINDS
    assert quiet_kinds("dry_run, digest") == {"dry_run", "digest"}
    with pytest.raises(ValueError, match="unknown notice kind"):
        quiet_kinds("act,everything")
