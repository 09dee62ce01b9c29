"""The dashboard reads what the code writes: every metric a widget names is counted somewhere in
chalicelib, every field a Logs Insights widget sums is a logged count, and every id a metric-math
expression uses is defined in its widget. A misspelt name would draw an empty chart forever and
no test of the code would notice; CloudWatch accepts any name at apply.

Read from terraform/dashboard.tf's text (no Terraform run): the names are literal there.
"""

from __future__ import annotations

import re

from chalicelib.usecases.metrics import ROUTINE_COUNTS
from tests.conftest import ROOT

DASHBOARD = (ROOT / "terraform" / "dashboard.tf").read_text()
CODE = "\n".join(p.read_text() for p in (ROOT / "chalice_app" / "chalicelib").rglob("*.py"))


def _list(name: str) -> list[str]:
    match = re.search(rf"^\s*{name}\s*=\s*\[([^\]]*)\]", DASHBOARD, re.MULTILINE)
    assert match, f"dashboard.tf has no list {name}"
    return re.findall(r'"(\w+)"', match.group(1))


def _counted(name: str) -> bool:
    """Whether chalicelib counts ``name`` by its literal name."""
    return re.search(rf'(count|seconds)\(\s*"{name}"', CODE) is not None


def test_every_named_fix_metric_is_counted_by_the_code() -> None:
    literal = re.findall(r'\[local\.metrics_namespace,\s*"(\w+)"', DASHBOARD)
    names = {*literal, *_list("fix_fates"), *_list("ci_outcomes")}
    assert {"FixesReady", "FixesRepairing", "FixesCiFailed", "FixesMerged", "FixesRejected"} <= names
    # Runbook decisions and FixFailed / FixSkipped are counted under composed names (remediate.py, fix.py).
    composed = {n for n in names if n.startswith("Runbook")} | {"FixFailed"}
    missing = sorted(n for n in names - composed if not _counted(n))
    assert missing == []


def test_every_ci_outcome_has_a_label() -> None:
    labels = re.search(r"ci_outcome_labels\s*=\s*\{(.*?)\n\s*\}", DASHBOARD, re.DOTALL)
    assert labels is not None
    assert set(re.findall(r"(\w+)\s*=", labels.group(1))) == set(_list("ci_outcomes"))


def test_log_widgets_sum_only_logged_counts() -> None:
    summed = set(re.findall(r"sum\((\w+)\)", DASHBOARD))
    assert summed and summed <= ROUTINE_COUNTS


def test_metric_math_uses_only_ids_its_widget_defines() -> None:
    widgets = [w for w in re.split(r"\n    \{\n", DASHBOARD) if "expression" in w]
    assert len(widgets) == 2  # the merge rate: over the week, and by day
    for widget in widgets:
        defined = set(re.findall(r'id = "(\w+)"', widget))
        for expression in re.findall(r'expression = "([^"]+)"', widget):
            used = set(re.findall(r"\b([a-z]\w*)\b", expression))
            assert used <= defined, (expression, defined)
