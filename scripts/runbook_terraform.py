"""What Terraform knows of the runbooks, generated from their declarations: terraform/runbooks.tf.json.

`selfheal.py package` writes it (and the repository holds it, so `terraform validate` and checkov
see it without a package step; tests/unit/test_runbook_terraform.py checks it is up to date). It holds:

- ``local.runbook_shapes``: the runbooks' ``Grant`` s as statements merged by shape (the same
  resources under the same conditions, one short Sid each), with the actions each runbook needs in
  each (``actions``: {runbook: [action]}); a tagged grant carries
  ``aws:ResourceTag/<var.runbook_target_tag.key>`` = ``var.runbook_target_tag.value``.
  terraform/iam_runbooks.tf builds one customer-managed policy per (function, part) from them;
- ``local.runbook_parts``: the runbooks packed into parts, one per layer (split where the merged
  policy of a layer's runbooks would exceed ``PART_BUDGET`` characters as AWS counts them,
  scripts/iam_size.py), so that no policy reaches AWS's 6,144 and a role needs few of them;
- ``aws_iam_policy_document.runbook_verify``, every read action of every runbook (the verifier
  reads what the runbooks changed, and changes nothing);
- ``var.runbooks``, the catalog, whose ``params`` type is the union of the runbooks' parameter
  schemas (``param_types``);
- ``local.runbook_names`` (the validation lists of var.runbooks and var.runbook_functions),
  ``local.runbook_default_functions`` (the
  remediator handlers that run each runbook, from its default triggers' sources) and
  ``local.runbook_default_catalog`` (the default catalog, what var.runbooks = null deploys) and
  ``local.runbook_event_pattern`` (the event remediator's EventBridge pattern: every event source the
  runbooks declare, ``declare.EventSource``).

The JSON shape is the one checkov's terraform_json runner reads.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "chalice_app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from iam_size import MANAGED_SIZE, characters, document  # noqa: E402

from chalicelib.core.runbooks.catalog import default_document, sources  # noqa: E402
from chalicelib.core.runbooks.declare import LAYERS, Grant  # noqa: E402
from chalicelib.core.runbooks.registry import event_pattern, runbooks  # noqa: E402

OUTPUT = ROOT / "terraform" / "runbooks.tf.json"
# The deployment's parts a Grant names in braces, as Terraform expressions.
PLACES = {"{partition}": "${local.partition}", "{region}": "${local.region}", "{account}": "${local.account_id}"}
# Condition values that stand for a list Terraform computes.
LISTS = {"{quarantine_vpcs}": "${local.quarantine_vpc_arns}"}
# var.runbooks: the catalog's shape; its parameters are the union of the runbooks' declared schemas.
CATALOG_TYPE = """list(object({
  name        = string
  action      = optional(string)
  description = optional(string, "")
  triggers = list(object({
    source           = string
    namespace        = optional(string)
    metric           = optional(string)
    dimensions       = optional(list(string))
    alarm_names      = optional(list(string))
    types            = optional(list(string))
    min_severity     = optional(number)
    direction        = optional(string)
    min_threshold    = optional(number)
    max_threshold    = optional(number)
    dimension_values = optional(map(list(string)))
  }))
  target   = optional(object({ dimension = string }))
  params   = optional(object({ PARAMS }), {})
  limits   = optional(map(number), {})
  approval = optional(bool, false)
  dry_run  = optional(bool, true)
}))"""
RUNBOOKS_GIVEN = "coalesce(var.runbooks, [])"
CATALOG_VALIDATIONS = [
    {
        "condition": f"${{length(distinct([for r in {RUNBOOKS_GIVEN} : r.name])) == length({RUNBOOKS_GIVEN})}}",
        "error_message": "runbooks: every entry needs a unique name.",
    },
    {
        "condition": f"${{alltrue([for r in {RUNBOOKS_GIVEN} : "
        "contains(local.runbook_names, coalesce(r.action, r.name))])}",
        "error_message": "runbooks: action (or name) must be a runbook's name "
        "(local.runbook_names, generated from core/runbooks/).",
    },
    {
        "condition": f"${{alltrue(flatten([for r in {RUNBOOKS_GIVEN} : [for t in r.triggers : "
        f"contains({json.dumps(list(sources()))}, t.source)]]))}}",
        "error_message": f"runbooks: trigger source must be one of {', '.join(sources())}.",
    },
    {
        "condition": f"${{alltrue(flatten([for r in {RUNBOOKS_GIVEN} : [for t in r.triggers : "
        't.direction == null ? true : contains(["above", "below"], t.direction)]]))}',
        "error_message": "runbooks: a trigger's direction must be above or below.",
    },
]
TAG_CONDITION = {
    "test": "StringEquals",
    "variable": "${local.runbook_tag_condition}",
    "values": ["${var.runbook_target_tag.value}"],
}


def _place(pattern: str) -> str:
    for token, expression in PLACES.items():
        pattern = pattern.replace(token, expression)
    return pattern


def statement(grant: Grant) -> dict[str, Any]:
    """One IAM statement of an ``aws_iam_policy_document``, in Terraform JSON."""
    conditions = [TAG_CONDITION] if grant.tagged else []
    for test, key, values in grant.conditions:
        rendered: Any = LISTS[values[0]] if len(values) == 1 and values[0] in LISTS else list(values)
        conditions.append({"test": test, "variable": key, "values": rendered})
    out: dict[str, Any] = {
        "sid": grant.sid,
        "actions": list(grant.actions),
        "resources": [_place(r) for r in grant.resources],
    }
    if conditions:
        out["condition"] = conditions
    return out


def verify_grants() -> tuple[Grant, ...]:
    """The reads of every runbook, grouped by the resources they are granted on."""
    by_resources: dict[tuple[str, ...], list[str]] = {}
    for runbook in runbooks().values():
        for grant in runbook.permissions:
            if not grant.conditions and not grant.tagged:
                by_resources.setdefault(grant.resources, []).extend(grant.reads())
    grants = []
    for i, (resources, actions) in enumerate(sorted(by_resources.items())):
        if actions:
            grants.append(Grant(f"ReadWhatRunbooksChanged{i}", tuple(sorted(set(actions))), resources))
    return tuple(grants)


def documents() -> dict[str, dict[str, Any]]:
    """{document name: aws_iam_policy_document body}: the verifier's reads (the runbooks' own
    statements are ``shapes()``, merged per function in terraform/iam_runbooks.tf)."""
    return {"runbook_verify": {"statement": [statement(g) for g in verify_grants()]}}


# A part's merged policy, rendered at its longest (iam_size.py), stays this far under AWS's 6,144
# characters: room for a longer tag or names than iam_size.LONGEST assumes.
PART_BUDGET = MANAGED_SIZE - 600


def _shape_name(resources: list[str], conditions: list[dict[str, Any]]) -> str:
    """A short Sid for the statements on ``resources`` under ``conditions``: service, resource type, and
    how it is narrowed (``Tagged``: the opt-in tag; ``If``: another condition)."""
    if resources == ["*"]:
        name = "Any"
    else:
        arn = resources[0].split(":", 5)
        kind = re.split(r"[/:]", arn[5])[0] if len(arn) > 5 else ""
        name = "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", f"{arn[2]} {kind}") if w)
    if TAG_CONDITION in conditions:
        name += "Tagged"
    if any(c != TAG_CONDITION for c in conditions):
        name += "If"
    return name


def shapes() -> dict[str, dict[str, Any]]:
    """{Sid: {"resources", "conditions", "actions": {runbook: [action]}}}: every runbook's grants, those
    on the same resources under the same conditions merged into one statement (least privilege is
    the same: each action keeps its resources and conditions), sorted by Sid."""
    merged: dict[str, dict[str, Any]] = {}
    for runbook in runbooks().values():
        for grant in runbook.permissions:
            st = statement(grant)
            shape = {"resources": st["resources"], "conditions": st.get("condition", [])}
            key = json.dumps(shape, sort_keys=True)
            entry = merged.setdefault(key, {**shape, "actions": {}})
            entry["actions"][runbook.name] = sorted({*entry["actions"].get(runbook.name, ()), *st["actions"]})
    named: dict[str, dict[str, Any]] = {}
    for entry in merged.values():
        base = _shape_name(entry["resources"], entry["conditions"])
        sid, n = base, 1
        while sid in named:
            n += 1
            sid = f"{base}{n}"
        named[sid] = entry
    return dict(sorted(named.items()))


def merged_statements(names: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """The statements of one function's policy holding the runbooks ``names`` (what
    terraform/iam_runbooks.tf's data.aws_iam_policy_document.runbooks renders)."""
    out = []
    for sid, shape in shapes().items():
        actions = sorted({a for r in names for a in shape["actions"].get(r, ())})
        if actions:
            st = {"sid": sid, "actions": actions, "resources": shape["resources"]}
            out.append({**st, "condition": shape["conditions"]} if shape["conditions"] else st)
    return out


def parts() -> dict[str, list[str]]:
    """{part: [runbook]}: the runbooks of each layer (in name order), a layer split into
    ``<layer>-2``, ``<layer>-3``... where its merged policy would exceed ``PART_BUDGET``. A function's
    policy of a part holds a subset of the part's runbooks, so it is never larger."""
    out: dict[str, list[str]] = {}
    for layer in LAYERS:
        part, n = layer, 1
        for runbook in sorted(r.name for r in runbooks().values() if r.layer == layer):
            if out.get(part) and characters(document(merged_statements([*out[part], runbook]))) > PART_BUDGET:
                n += 1
                part = f"{layer}-{n}"
            out.setdefault(part, []).append(runbook)
    return out


def _hcl_type(kind: Any) -> str:
    if isinstance(kind, tuple):
        return f"list({_hcl_type(kind[1])})"
    return {bool: "bool", int: "number", float: "number", str: "string"}[kind]


def params_type() -> str:
    """The object type of every runbook's parameters, each optional (two runbooks must agree on a name)."""
    fields: dict[str, str] = {}
    for runbook in runbooks().values():
        for name, kind in runbook.param_types.items():
            hcl = _hcl_type(kind)
            if fields.setdefault(name, hcl) != hcl:
                raise ValueError(f"parameter {name!r} of {runbook.name} is {hcl}, another runbook's is {fields[name]}")
    return ", ".join(f"{name} = optional({hcl})" for name, hcl in sorted(fields.items()))


def catalog_variable() -> dict[str, Any]:
    """var.runbooks: the catalog, null for the default one."""
    return {
        "description": "The runbook catalog (chalicelib/core/runbooks/catalog.py documents each field). Safe "
        "default (null): every declared runbook with its default entry, in dry-run (audits and notifies what it "
        "would do, changes nothing); enable one at a time with dry_run = false.",
        "type": CATALOG_TYPE.replace("PARAMS", params_type()),
        "default": None,
        "validation": CATALOG_VALIDATIONS,
    }


def generate() -> dict[str, Any]:
    """The whole of terraform/runbooks.tf.json."""
    declared = runbooks()
    return {
        "//": "Generated by `selfheal.py package` from core/runbooks/*.py (RUNBOOK declarations): do not edit.",
        "variable": {"runbooks": catalog_variable()},
        "data": {"aws_iam_policy_document": documents()},
        "locals": {
            "runbook_names": list(declared),
            "runbook_shapes": shapes(),
            "runbook_parts": parts(),
            "runbook_default_functions": {name: list(r.handlers()) for name, r in declared.items()},
            "runbook_default_catalog": default_document()["runbooks"],
            # the event remediator's rule: the event sources the runbooks declare
            "runbook_event_pattern": json.dumps(event_pattern(), sort_keys=True),
        },
    }


def render() -> str:
    """The file's text (stable: sorted the way the declarations are)."""
    return json.dumps(generate(), indent=2) + "\n"


def write(path: Path = OUTPUT) -> Path:
    """Write the generated file to ``path``; returns it."""
    path.write_text(render())
    return path


if __name__ == "__main__":
    print(write())
