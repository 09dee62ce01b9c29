"""lambda-rollback: an error alarm on a Lambda alias (``Resource`` = "function:alias") → point the
alias at the version before the one it serves, and drop any weighted routing.

During a weighted canary (CodeDeploy's traffic shifting keeps ``FunctionVersion`` on the stable
version and gives the new one a weight in ``AdditionalVersionWeights``) the rollback drops the
weight and keeps the stable version: it never goes past it. Weights on a version that is not newer
than the one the alias serves say no clear stable version: that escalates.

Verify: the alarm returns to OK. The pre-state (version, routing) is recorded, so a person can
point the alias back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import FUNCTIONS, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "lambda-rollback"
SUMMARY = "Point a Lambda alias at its previous version"
TARGET = "lambda-alias"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "the alarm returns to OK"
# Errors above the threshold on an alias: an unaliased function or a version has nothing to roll back.
MATCHES = Condition(
    source="alarm", kinds=("lambda-alias",), metrics=("AWS/Lambda/Errors",), direction="above", needs_datapoints=True
)


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def alias_of(incident: Incident) -> tuple[str, str, str]:
    """(function, alias, '') or ('', '', why the incident names no alias)."""
    resource, problem = targets.one_resource(incident)
    if problem:
        return "", "", problem
    function, _, alias = resource.partition(":")
    if not function or not alias or ":" in alias:
        return "", "", f"{resource!r} names no alias (the alarm must use the Resource dimension function:alias)"
    if alias.isdigit() or alias == "$LATEST":
        return "", "", f"{resource!r} is a version, not an alias"
    return function, alias, ""


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The alias (its version) and the function's published versions."""
    function, alias, problem = alias_of(incident)
    if problem:
        return ()
    return (
        Call("lambda", "get_alias", {"FunctionName": function, "Name": alias}, mutating=False),
        Call("lambda", "list_versions_by_function", {"FunctionName": function}, mutating=False),
    )


def previous_version(current: str, versions: list[str]) -> str | None:
    """The highest published version below ``current`` (None when there is none)."""
    if not current.isdigit():
        return None
    # Versions are numbered in publication order; $LATEST is not a version an alias can roll back to.
    older = [int(v) for v in versions if v.isdigit() and int(v) < int(current)]
    return str(max(older)) if older else None


def canary_problem(current: str, weights: Mapping[str, Any]) -> str:
    """Why weighted routing is not a canary of a newer version on top of ``current`` ('' when it is)."""
    if not current.isdigit():
        return f"serves {current!r} with weighted routing: no stable version to keep"
    odd = sorted(str(v) for v in weights if not str(v).isdigit() or int(v) <= int(current))
    return (
        f"serves version {current} with weights on {odd}, not on a newer version: which is stable is unclear"
        if odd
        else ""
    )


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """``update_alias`` to the previous version (None without reads)."""
    function, alias, problem = alias_of(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="lambda-alias", id=f"{function}:{alias}", fleet=f"lambda:{function}", region=incident.region)
    version: str | None = None
    if facts is not None:
        error = targets.read_error(facts, "get_alias") or targets.read_error(facts, "list_versions_by_function")
        if error:
            return targets.no_target(entry.name, error)
        current = str((facts.get("get_alias") or {}).get("FunctionVersion", ""))
        published = [
            str(v.get("Version", "")) for v in (facts.get("list_versions_by_function") or {}).get("Versions", [])
        ]
        weights = ((facts.get("get_alias") or {}).get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if weights:
            problem = canary_problem(current, weights)
            if problem:
                return targets.no_target(entry.name, f"alias {function}:{alias} {problem}")
            version = current  # the stable version: only the canary's weight goes
        else:
            version = previous_version(current, published)
        if version is None:
            return targets.no_target(entry.name, f"alias {function}:{alias} serves version {current!r}: none before it")
    # Weighted routing is dropped too: during a canary the alias still sends traffic to the new version.
    call = Call(
        "lambda",
        "update_alias",
        {
            "FunctionName": function,
            "Name": alias,
            "FunctionVersion": version,
            "RoutingConfig": {"AdditionalVersionWeights": {}},
        },
    )
    return Plan(entry.name, target, (call,))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the version and routing the alias had."""
    alias = facts.get("get_alias") or {}
    return {"function_version": alias.get("FunctionVersion"), "routing_config": alias.get("RoutingConfig") or {}}


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=40,
    layer="platform",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    before=before,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [{"source": "alarm", "namespace": "AWS/Lambda", "metric": "Errors", "dimensions": ["Resource"]}],
        "limits": {"cooldown_s": 3600, "max_attempts": 1, "max_in_flight": 1},
    },
    permissions=(
        Grant("ReadAliasAndVersions", ("lambda:GetAlias", "lambda:ListVersionsByFunction"), FUNCTIONS),
        Grant("MoveAliasesOfTaggedFunctions", ("lambda:UpdateAlias",), FUNCTIONS, tagged=True),
    ),
)
