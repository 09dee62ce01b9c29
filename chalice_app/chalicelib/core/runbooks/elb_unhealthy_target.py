"""elb-unhealthy-target: a load balancer's unhealthy-host alarm → say which targets are unhealthy and why;
deregister one of them only when the catalog allows it.

Its business (``MATCHES``): an alarm on ``AWS/ApplicationELB`` or ``AWS/NetworkELB``
``UnHealthyHostCount`` breached *above* its threshold on measured datapoints, about one target group
(its ``TargetGroup`` dimension, read as the entry's target). The load balancer already stops routing
to an unhealthy target (and failover routing reroutes), so by default nothing is changed: the plan
escalates with the unhealthy targets, their reasons and descriptions, for a person to read.

With the catalog's ``deregister: true`` it deregisters *one* unhealthy target (the first by id; never
the last healthy one's group: a group with no healthy target escalates, as removing more would not
help), so an Auto Scaling group's ELB health check replaces it. One at a time per group by the
default limits. Verify: the alarm returns to OK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "elb-unhealthy-target"
METRIC = "UnHealthyHostCount"
TARGET_GROUPS = "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/*/*"


def group_arn(incident: Incident) -> tuple[str, str]:
    """(the target group's ARN, '') from the ``TargetGroup`` dimension ("targetgroup/<name>/<id>"), or ('', why)."""
    group, problem = targets.one_resource(incident)
    if problem:
        return "", problem
    if group.startswith("arn:"):
        return group, ""
    if not group.startswith("targetgroup/") or not incident.region or not incident.account:
        return "", f"{group!r} is not a target group of a known region and account"
    partition = "aws-cn" if incident.region.startswith("cn-") else "aws"
    return f"arn:{partition}:elasticloadbalancing:{incident.region}:{incident.account}:{group}", ""


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The health of every target of the group."""
    arn, problem = group_arn(incident)
    return () if problem else (Call("elbv2", "describe_target_health", {"TargetGroupArn": arn}, mutating=False),)


def health(facts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The read's target health descriptions."""
    return list(((facts or {}).get("describe_target_health") or {}).get("TargetHealthDescriptions") or [])


def unhealthy(facts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The unhealthy targets, by id."""
    sick = [d for d in health(facts) if (d.get("TargetHealth") or {}).get("State") == "unhealthy"]
    return sorted(sick, key=lambda d: str((d.get("Target") or {}).get("Id", "")))


def described(found: list[dict[str, Any]]) -> str:
    """``i-1:80 (Target.FailedHealthChecks: Health checks failed), ...``."""
    words = []
    for d in found[:10]:
        target, state = d.get("Target") or {}, d.get("TargetHealth") or {}
        where = f"{target.get('Id')}:{target.get('Port')}" if target.get("Port") else str(target.get("Id"))
        words.append(f"{where} ({state.get('Reason', '?')}: {state.get('Description', '')})".replace(": )", ")"))
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""  # noqa: PLR2004 - the notice's length
    return ", ".join(words) + more


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Deregister one unhealthy target when allowed; otherwise escalate with what is unhealthy."""
    arn, problem = group_arn(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="target-group", id=arn, region=incident.region)
    if facts is None:
        if not entry.params.get("deregister"):
            return targets.tell(entry.name, target, f"targets of {arn} are unhealthy: nothing done (deregister is off)")
        return Plan(
            entry.name,
            target,
            (Call("elbv2", "deregister_targets", {"TargetGroupArn": arn, "Targets": None}),),
        )
    error = targets.read_error(facts, "describe_target_health")
    if error:
        return targets.no_target(entry.name, f"target group {arn}: {error}")
    sick = unhealthy(facts)
    if not sick:
        return Plan(entry.name, target, stand_down=f"no target of {arn} is unhealthy any more")
    what = f"{len(sick)} unhealthy target(s) in {arn}: {described(sick)}"
    if not entry.params.get("deregister"):
        return targets.tell(entry.name, target, f"{what}; nothing done (deregister is off)")
    healthy = [d for d in health(facts) if (d.get("TargetHealth") or {}).get("State") == "healthy"]
    if not healthy:
        return targets.tell(entry.name, target, f"{what}; none is healthy: deregistering one would not help")
    one = {k: v for k, v in (sick[0].get("Target") or {}).items() if k in ("Id", "Port", "AvailabilityZone")}
    call = Call("elbv2", "deregister_targets", {"TargetGroupArn": arn, "Targets": [one]})
    return Plan(entry.name, target, (call,))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: every target's state."""
    return {str((d.get("Target") or {}).get("Id")): (d.get("TargetHealth") or {}).get("State") for d in health(facts)}


def _alarm(namespace: str) -> dict[str, Any]:
    return {"source": "alarm", "namespace": namespace, "metric": METRIC, "dimensions": ["TargetGroup"]}


RUNBOOK = Runbook(
    name=NAME,
    summary="Say which targets of a load balancer are unhealthy and why; deregister one when the catalog allows",
    target_kind="target-group",
    layer="network",
    rank=90,
    matches=Condition(
        source="alarm",
        metrics=(f"AWS/ApplicationELB/{METRIC}", f"AWS/NetworkELB/{METRIC}"),
        direction="above",
        needs_datapoints=True,
    ),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    params={"deregister": False},
    param_types={"deregister": bool},
    default={
        "triggers": [_alarm("AWS/ApplicationELB"), _alarm("AWS/NetworkELB")],
        "target": {"dimension": "TargetGroup"},
        "limits": {"cooldown_s": 1800, "max_attempts": 1, "max_in_flight": 1},
    },
    permissions=(
        Grant(
            "ReadTargetHealth",
            ("elasticloadbalancing:DescribeTargetHealth",),
            ANY,
            why="no resource-level permissions for this read",
        ),
        Grant(
            "DeregisterFromTaggedTargetGroups",
            ("elasticloadbalancing:DeregisterTargets",),
            (TARGET_GROUPS,),
            tagged=True,
        ),
    ),
)
