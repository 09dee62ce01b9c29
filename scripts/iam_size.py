"""The functions' IAM policies as AWS counts them against its quotas, before any deployment.

AWS caps a role's inline policies at 10,240 characters in total, a customer-managed policy at
6,144, and the managed policies attached to a role at 10 (the default quota, adjustable to 20);
whitespace is not counted. Terraform only learns the real ARNs at apply time, so the policies are
rendered here with the longest plausible value of every interpolation (``LONGEST``: the longest
partition, a 14-character region, the longest ``name_prefix`` var.name_prefix allows, a long stage,
a long opt-in tag, three quarantine VPCs) and their non-whitespace characters are counted.

Two sources: the generated statements of scripts/runbook_terraform.py (Terraform JSON), and the
hand-written documents of terraform/iam.tf (HCL: its ``statement`` blocks, read by brace matching;
every reference they make must be in ``REFERENCES`` or be a resource's ``.arn``, else ``KeyError``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IAM_TF = ROOT / "terraform" / "iam.tf"

INLINE_TOTAL = 10_240  # per role, every inline policy together
MANAGED_SIZE = 6_144  # per customer-managed policy
MANAGED_PER_ROLE = 10  # attached to one role (default quota; adjustable to 20)

PARTITION = "aws-us-gov"  # the longest partition name
REGION = "ap-southeast-1"  # 14 characters, as long as any region's name
ACCOUNT = "123456789012"
NAME = "n" * 31 + "-" + "production-eu"  # var.name_prefix at its 31-character limit, a long stage
TAG_KEY = "platform-team:selfheal-remediation"
TAG_VALUE = "enabled-by-platform-team"
VPCS = [f"arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:vpc/vpc-{i:017x}" for i in range(3)]
KEY_ARN = f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/12345678-1234-1234-1234-123456789012"
PARAMETER_PREFIX = "/" + NAME + "/"
_PARAMETERS = f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter{PARAMETER_PREFIX}"

# Terraform expressions → their longest plausible value (a list where the expression is one).
LONGEST: dict[str, Any] = {
    "local.partition": PARTITION,
    "local.region": REGION,
    "local.account_id": ACCOUNT,
    "local.arn_prefix": f"arn:{PARTITION}",
    "local.name": NAME,
    "var.name_prefix": NAME.split("-", maxsplit=1)[0],
    "var.stage": "production-eu",
    "var.parameter_prefix": PARAMETER_PREFIX,
    "local.runbook_tag_condition": f"aws:ResourceTag/{TAG_KEY}",
    "var.runbook_target_tag.value": TAG_VALUE,
    "local.quarantine_vpc_arns": VPCS,
    "local.kms_key_arn": KEY_ARN,
}
# References of iam.tf's remediator documents that are not plain ARNs of a resource.
REFERENCES: dict[str, Any] = {
    **LONGEST,
    "each.value.actions": ["kms:Decrypt", "kms:GenerateDataKey"],
    '[for service in each.value.services : "${service}.${local.region}.amazonaws.com"]': [
        f"{s}.{REGION}.amazonaws.com" for s in ("dynamodb", "sns", "sqs", "ssm")
    ],
    "aws_cloudwatch_log_group.functions[each.key].arn": (
        f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{NAME}-remediation_verifier"
    ),
    "aws_ssm_parameter.runbook_catalog.arn": f"{_PARAMETERS}runbooks/catalog",
    "aws_ssm_parameter.kill_switch.arn": f"{_PARAMETERS}runbooks/kill_switch",
}
_RESOURCE_ARN = re.compile(r"aws_([a-z0-9]+)_(\w+?)\.(\w+)\.(arn|stream_arn)$")


def value(expression: str, given: dict[str, Any] | None = None) -> Any:
    """The longest plausible value of one Terraform expression (a reference, or a string with ${});
    ``given``: values to use instead (e.g. a test deployment's)."""
    values = {**REFERENCES, **(given or {})}
    if expression in values:
        return values[expression]
    if found := _RESOURCE_ARN.match(expression):
        service, kind, name, _ = found.groups()
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT}:{kind}/{NAME}-{name}-long-suffix"
    if expression.startswith("${") and expression.endswith("}") and expression.count("${") == 1:
        return value(expression[2:-1], given)
    if "${" in expression:
        return re.sub(r"\$\{([^}]*)\}", lambda m: str(value(m.group(1), given)), expression)
    raise KeyError(f"no longest value for the Terraform expression {expression!r}")


def _values(items: Any, given: dict[str, Any] | None) -> list[str]:
    if isinstance(items, str):
        resolved = value(items, given) if "${" in items else items
        return resolved if isinstance(resolved, list) else [resolved]
    return [v for item in items for v in _values(item, given)]


def _one_or_list(items: list[str]) -> str | list[str]:
    return items[0] if len(items) == 1 else items  # the provider writes a single value as a string


def document(statements: list[dict[str, Any]], given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON aws_iam_policy_document renders from Terraform-JSON statements (sid, actions,
    resources, condition), every interpolation at its longest (or as ``given``)."""
    out = []
    for st in statements:
        rendered: dict[str, Any] = {"Sid": st.get("sid", ""), "Effect": "Allow"}
        rendered["Action"] = _one_or_list(_values(st["actions"], given))
        rendered["Resource"] = _one_or_list(_values(st["resources"], given))
        conditions: dict[str, dict[str, Any]] = {}
        for c in st.get("condition", []):
            variable = _values(c["variable"], given)[0]
            conditions.setdefault(c["test"], {})[variable] = _one_or_list(_values(c["values"], given))
        if conditions:
            rendered["Condition"] = conditions
        out.append({k: v for k, v in rendered.items() if v != ""})
    return {"Version": "2012-10-17", "Statement": out}


def characters(policy: dict[str, Any]) -> int:
    """What AWS counts of a policy: its characters but whitespace."""
    return len(re.sub(r"\s", "", json.dumps(policy, separators=(",", ":"))))


# --- the hand-written documents of iam.tf ---------------------------------------------------------


def _block(text: str, start: int) -> str:
    """The brace-balanced block of ``text`` whose opening brace is the first at or after ``start``."""
    depth, begin = 0, text.index("{", start)
    for end in range(begin, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[begin + 1 : end]
    raise ValueError("unbalanced braces")


def _attribute(block: str, name: str) -> Any:
    """An attribute's value: a string, or a list of elements (strings, references), or a reference."""
    found = re.search(rf"^\s*{name}\s*=\s*", block, re.M)
    if not found:
        return None
    rest = block[found.end() :]
    if rest.startswith("[for"):
        return rest[: _closing(rest) + 1]
    if rest.startswith("["):
        inner = rest[1 : _closing(rest)]
        return [m.group(1) or m.group(2) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][\w.\[\]]*)', inner)]
    if rest.startswith('"'):
        return re.match(r'"((?:[^"\\]|\\.)*)"', rest).group(1)  # type: ignore[union-attr]
    return rest.split("\n", 1)[0].strip()


def _closing(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if depth == 0:
            return i
    raise ValueError("unbalanced brackets")


def _resolved(item: Any) -> Any:
    if isinstance(item, list):
        return [v for i in item for v in _listed(_resolved_one(i))]
    return _resolved_one(item)


def _resolved_one(item: str) -> Any:
    if item.startswith("[for") or re.fullmatch(r"[A-Za-z_][\w.\[\]]*", item) and "." in item:
        return value(item)
    return value(item) if "${" in item else item


def _listed(item: Any) -> list[str]:
    return item if isinstance(item, list) else [item]


def hcl_documents(names: Any, path: Path = IAM_TF) -> dict[str, list[dict[str, Any]]]:
    """{document name: Terraform-JSON statements} of the aws_iam_policy_documents ``names`` of
    ``path``, references resolved to their longest values (a dynamic statement counted as present)."""
    text = path.read_text()
    out = {}
    for found in re.finditer(r'data "aws_iam_policy_document" "(\w+)" \{', text):
        if found.group(1) not in names:
            continue
        body = _block(text, found.start())
        statements = []
        for opener in re.finditer(r"^\s*(statement|content) \{", body, re.M):
            if opener.group(1) == "content" and "condition" in body[max(0, opener.start() - 40) : opener.start()]:
                continue
            block = _block(body, opener.start())
            conditions = [_block(block, c.start()) for c in re.finditer(r"^\s*condition \{", block, re.M)]
            own = re.sub(r"condition \{[^{}]*\}", "", block)
            if _attribute(own, "actions") is None:
                continue  # a dynamic "statement"'s outer block
            statements.append(
                {
                    "sid": _attribute(own, "sid") or "",
                    "actions": _listed(_resolved(_attribute(own, "actions"))),
                    "resources": _listed(_resolved(_attribute(own, "resources"))),
                    "condition": [
                        {
                            "test": _attribute(c, "test"),
                            "variable": _attribute(c, "variable"),
                            "values": _listed(_resolved(_attribute(c, "values"))),
                        }
                        for c in conditions
                    ],
                }
            )
        out[found.group(1)] = statements
    return out


def role_concerns(path: Path = IAM_TF) -> dict[str, list[str]]:
    """iam.tf's local.role_concerns: {function: [concern document]}."""
    body = _block(path.read_text(), path.read_text().index("role_concerns = {"))
    return {m.group(1): re.findall(r'"(\w+)"', m.group(2)) for m in re.finditer(r"(\w+)\s*=\s*\[([^\]]*)\]", body)}
