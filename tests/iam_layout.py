"""The functions' IAM as terraform/iam.tf lays it out, read from its text: one policy document per
concern (``data "aws_iam_policy_document" "<concern>"``), the concerns each role is granted
(``local.role_concerns``), and the project key's actions and services (``local.key_use``).

The IAM tests ask it what a role may do, role by role, instead of reading whole files.
"""

from __future__ import annotations

import re

from app_handlers import declared
from package import REMEDIATORS

from tests.conftest import ROOT

IAM = ROOT / "terraform" / "iam.tf"
# The functions' roles, from app.py as the package step reads it: the remediators (the governor's
# table, runbooks) and every other handler (code healing), so a new handler's grants are checked too.
REMEDIATOR_ROLES = tuple(REMEDIATORS)
CODE_HEALING_ROLES = tuple(f for f in declared().functions if f not in REMEDIATORS)


def text() -> str:
    return IAM.read_text()


def block(source: str, opener: str) -> str:
    """The text from ``opener`` to its closing brace (braces balance in Terraform's text)."""
    start = source.index(opener)
    depth = 0
    for end in range(start, len(source)):
        depth += {"{": 1, "}": -1}.get(source[end], 0)
        if depth == 0 and source[end] == "}":
            return source[start : end + 1]
    raise AssertionError(f"unbalanced block {opener!r}")


def actions_in(source: str) -> set[str]:
    """Every action named in ``actions = [...]`` lists of a Terraform text."""
    return {a for b in re.findall(r"actions\s*=\s*\[([^\]]*)\]", source) for a in re.findall(r'"([^"]+)"', b)}


def documents() -> dict[str, str]:
    """Each policy document of iam.tf by name: its block's text."""
    source = text()
    names = re.findall(r'data "aws_iam_policy_document" "(\w+)" \{', source)
    return {name: block(source, f'data "aws_iam_policy_document" "{name}" {{') for name in names}


def _map_of_lists(opener: str) -> dict[str, list[str]]:
    body = block(text(), opener)
    entries = re.findall(r"^\s*(\w+)\s*=\s*\[([^\]]*)\]", body, re.M)
    return {key: re.findall(r'"([^"]+)"', values) for key, values in entries}


def role_concerns() -> dict[str, list[str]]:
    """local.role_concerns: the concerns each function's role is granted."""
    return _map_of_lists("role_concerns = {")


def concern_key_services() -> dict[str, str]:
    """local.concern_key_services: the service through which a concern uses the project's key."""
    body = block(text(), "concern_key_services = {")
    return dict(re.findall(r'^\s*(\w+)\s*=\s*"(\w+)"', body, re.M))


def key_use(role: str) -> tuple[set[str], set[str]]:
    """The project key's actions and services (kms:ViaService) for a role, as local.key_use builds them."""
    source = text()
    overrides = _map_of_lists("key_actions = {")
    default = re.search(r"lookup\(local\.key_actions, role, \[([^\]]*)\]\)", source)
    assert default, "iam.tf no longer builds key_use with lookup(local.key_actions, role, [...]): update this helper"
    actions = overrides.get(role) or re.findall(r'"([^"]+)"', default.group(1))
    services = concern_key_services()
    return set(actions), {services[c] for c in role_concerns()[role] if c in services}


def role_actions(role: str, *, own_logs: bool = False) -> set[str]:
    """Every action a function's role is granted by its concerns and the project key (and, asked, its
    own logs' document), with the key's customer-managed mode (every gated statement present)."""
    docs = documents()
    granted = {a for c in role_concerns()[role] for a in actions_in(docs[c])}
    key_actions, services = key_use(role)
    if services:
        granted |= key_actions
    if own_logs:
        granted |= actions_in(docs["own_logs"])
    return granted
