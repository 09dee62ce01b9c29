"""flag-switch: a circuit breaker / degrade switch → set the SSM parameter the catalog names to the value
it names (the application reads the parameter and degrades: serves from cache, turns a feature off).

The catalog names the alarm (``triggers``: ``alarm_names``), the parameter (``params.parameter``, a
name such as ``/orders/flags/recommendations``) and the value (``params.value``, e.g. ``off``). The
plan reads the parameter first: a value already set stands down (idempotent: a redelivered alarm or
a second alarm changes nothing); a missing parameter, a ``SecureString`` or a name outside a
``flags`` path escalates. selfheal never creates a parameter: the application owns its flags.

``before`` records the previous value (and version), so ``release`` puts it back — the switch is a
degradation, to be undone when the cause is fixed. Verify: the alarm returns to OK.

IAM: ``ssm:PutParameter`` only on parameters under a ``.../flags/...`` path that carry the
deployment's opt-in tag, and only as an overwrite (``ssm:Overwrite`` = true: no new parameter);
``ssm:GetParameter`` on the same paths (without decryption: no KMS grant).
https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policy-conditions.html

AWS AppConfig as a second backend is not offered: the moto server this project tests against does
not implement AppConfig's deployment calls (StartDeployment of a feature-flag profile), so a flip
could not be tested against state.

Its business (``MATCHES``): an open alarm on measured datapoints, on either side of its threshold (an
error rate above, a success rate below): what the alarm means is the catalog's choice of alarm.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "flag-switch"
# The parameters the runbook may read and overwrite: a hierarchy with a "flags" level (IAM's * spans "/").
PARAMETERS = "arn:{partition}:ssm:{region}:{account}:parameter/*flags/*"
# A Parameter Store name under a ".../flags/" path (the letters Parameter Store allows: a-zA-Z0-9_.-/).
FLAG = re.compile(r"/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]*flags/[A-Za-z0-9_.\-/]+")
# Types of parameter the switch writes: plain text, never a secret.
WRITABLE = ("String", "StringList")


def parameter_problem(name: str, value: str) -> str:
    """Why the catalog's ``parameter`` / ``value`` cannot be switched ('' when they can)."""
    if not name or not value:
        return "name the parameter and the value to set (catalog params.parameter and params.value)"
    if not FLAG.fullmatch(name) or "//" in name:
        return f"parameter {name[:200]!r} is not under a flags path (/<app>/flags/<name>)"
    return ""


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The parameter as it is (its value, type and version)."""
    name, value = str(entry.params.get("parameter") or ""), str(entry.params.get("value") or "")
    if parameter_problem(name, value):
        return ()
    return (Call("ssm", "get_parameter", {"Name": name}, mutating=False),)


def put(name: str, value: str) -> Call:
    """The overwrite of the parameter's value (never a creation)."""
    return Call("ssm", "put_parameter", {"Name": name, "Value": value, "Overwrite": True})


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Overwrite the parameter with the value, unless it already holds it."""
    name, value = str(entry.params.get("parameter") or ""), str(entry.params.get("value") or "")
    alarm = str(incident.facts.get("alarm_name") or incident.subject or incident.source)
    problem = parameter_problem(name, value)
    if problem:
        return targets.no_target(entry.name, f"alarm {alarm[:200]}: {problem}")
    target = Target(kind="ssm-parameter", id=name, region=incident.region)
    if facts is not None:
        error = targets.read_error(facts, "get_parameter")
        if error:
            return targets.no_target(entry.name, f"parameter {name}: {error} (selfheal never creates one)")
        found = (facts.get("get_parameter") or {}).get("Parameter") or {}
        kind = str(found.get("Type", ""))
        if kind not in WRITABLE:
            return targets.no_target(entry.name, f"parameter {name} is a {kind or 'parameter of no known type'}, "
                                     f"not {' or '.join(WRITABLE)}")  # fmt: skip
        if str(found.get("Value")) == value:
            return Plan(entry.name, target, stand_down=f"parameter {name} is already {value!r}")
    return Plan(entry.name, target, (put(name, value),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state ``release`` restores: the parameter's name, value and version."""
    found = (facts.get("get_parameter") or {}).get("Parameter") or {}
    return {"parameter": found.get("Name"), "value": found.get("Value"), "version": found.get("Version")}


def release(pre: Mapping[str, Any]) -> Plan:
    """The plan that puts the recorded previous value back."""
    name = str(pre["parameter"])
    target = Target(kind="ssm-parameter", id=name)
    return Plan(NAME, target, (put(name, str(pre["value"])),))


RUNBOOK = Runbook(
    name=NAME,
    summary="Set the SSM parameter the catalog names to the value it names (a circuit breaker the application reads)",
    target_kind="ssm-parameter",
    layer="application",
    rank=85,
    matches=Condition(source="alarm", needs_datapoints=True),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    release=release,
    params={"parameter": "", "value": ""},
    param_types={"parameter": str, "value": str},
    default={
        "triggers": [{"source": "alarm", "alarm_names": ["*circuit-breaker*"]}],
        "limits": {"cooldown_s": 900, "max_attempts": 1, "max_in_flight": 1},
    },
    permissions=(
        Grant("ReadFlags", ("ssm:GetParameter",), (PARAMETERS,), why="flags only; no decryption (no KMS grant)"),
        Grant(
            "OverwriteTaggedFlags",
            ("ssm:PutParameter",),
            (PARAMETERS,),
            tagged=True,
            conditions=(("StringEquals", "ssm:Overwrite", ("true",)),),
        ),
    ),
)
