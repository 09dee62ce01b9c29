"""route53-health: a Route 53 health-check alarm (``AWS/Route53`` ``HealthCheckStatus`` below 1) → tell a
person what is unhealthy; change nothing.

DNS failover routing already takes an unhealthy endpoint out of the answers (that is what the health
check is for), so there is nothing left to repair automatically: the plan escalates with the
endpoint the check probes (``GetHealthCheck``: type, FQDN or IP, port, path; a calculated check's
children; a CloudWatch-alarm check's alarm) and the checkers' last reports (``GetHealthCheckStatus``:
region, checker IP, status sentence), so the notice says *what* is failing and *how*. When every
checker reports success again it stands down.

Its business (``MATCHES``): an alarm breached *below* its threshold (``HealthCheckStatus`` is 1 when
healthy, 0 when not) about one health check, named by the metric's ``HealthCheckId`` dimension (the
default entry reads the target from it: ``target.dimension``). Route 53 publishes these metrics in
us-east-1 only, so only a deployment in us-east-1 receives the alarms.
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-checks.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "route53-health"
DIMENSION = "HealthCheckId"
HEALTH_CHECKS = "arn:{partition}:route53:::healthcheck/*"
# How many checker reports the notice quotes (Route 53 has up to 16 checker regions x 3 checkers).
QUOTED = 5


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The health check's configuration and its checkers' last reports."""
    check, problem = targets.one_resource(incident)
    if problem:
        return ()
    return (
        Call("route53", "get_health_check", {"HealthCheckId": check}, mutating=False),
        Call("route53", "get_health_check_status", {"HealthCheckId": check}, mutating=False),
    )


def endpoint(config: Mapping[str, Any]) -> str:
    """What the check probes, e.g. ``HTTPS api.example.com:443/health``."""
    kind = str(config.get("Type", "?"))
    if kind == "CALCULATED":
        return f"CALCULATED over {', '.join(map(str, config.get('ChildHealthChecks') or [])) or 'no child'}"
    if kind == "CLOUDWATCH_METRIC":
        alarm = config.get("AlarmIdentifier") or {}
        return f"CLOUDWATCH_METRIC on alarm {alarm.get('Name', '?')} ({alarm.get('Region', '?')})"
    host = config.get("FullyQualifiedDomainName") or config.get("IPAddress") or "?"
    via = f" (IP {config['IPAddress']})" if config.get("IPAddress") and config.get("FullyQualifiedDomainName") else ""
    port = f":{config['Port']}" if config.get("Port") else ""
    match = f" expecting {config['SearchString']!r}" if config.get("SearchString") else ""
    return f"{kind} {host}{port}{config.get('ResourcePath') or ''}{via}{match}"


def failing(facts: Mapping[str, Any]) -> list[str]:
    """The checkers' reports that are not a success, as ``region (checker IP): status``."""
    reports = []
    for seen in (facts.get("get_health_check_status") or {}).get("HealthCheckObservations") or []:
        status = str((seen.get("StatusReport") or {}).get("Status", ""))
        if not status.startswith("Success"):
            reports.append(f"{seen.get('Region', '?')} ({seen.get('IPAddress', '?')}): {status or 'no report'}")
    return sorted(reports)


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """No call: escalate with the endpoint and the failing checkers' reports, or stand down when healthy."""
    check, problem = targets.one_resource(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="route53-health-check", id=check, region=incident.region)
    reroutes = "DNS failover already routes around it; nothing changed"
    if facts is None:
        return targets.tell(entry.name, target, f"Route 53 health check {check} is unhealthy: {reroutes}")
    error = targets.read_error(facts, "get_health_check") or targets.read_error(facts, "get_health_check_status")
    if error:
        return targets.no_target(entry.name, f"Route 53 health check {check}: {error}")
    config = ((facts.get("get_health_check") or {}).get("HealthCheck") or {}).get("HealthCheckConfig") or {}
    observations = (facts.get("get_health_check_status") or {}).get("HealthCheckObservations") or []
    reports = failing(facts)
    if observations and not reports:
        return Plan(entry.name, target, stand_down=f"every checker of health check {check} reports success again")
    quoted = "; ".join(reports[:QUOTED]) + (f" and {len(reports) - QUOTED} more" if len(reports) > QUOTED else "")
    said = f"{len(reports)} of {len(observations)} checkers fail: {quoted}" if reports else "no checker report"
    inverted = " (inverted)" if config.get("Inverted") else ""
    disabled = " (disabled: Route 53 treats it as healthy)" if config.get("Disabled") else ""
    what = f"Route 53 health check {check} on {endpoint(config)}{inverted}{disabled}"
    return targets.tell(entry.name, target, f"{what} is unhealthy; {said}; {reroutes}")


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit records: the endpoint and how many checkers fail."""
    config = ((facts.get("get_health_check") or {}).get("HealthCheck") or {}).get("HealthCheckConfig") or {}
    return {"endpoint": endpoint(config) if config else None, "failing_checkers": len(failing(facts))}


RUNBOOK = Runbook(
    name=NAME,
    summary="Say which Route 53 health check is unhealthy, on which endpoint and why (notify only: failover reroutes)",
    target_kind="route53-health-check",
    layer="network",
    rank=95,
    matches=Condition(source="alarm", metrics=("AWS/Route53/HealthCheckStatus",), direction="below"),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    default={
        "triggers": [
            {"source": "alarm", "namespace": "AWS/Route53", "metric": "HealthCheckStatus", "dimensions": [DIMENSION]}
        ],
        "target": {"dimension": DIMENSION},
        "limits": {"cooldown_s": 1800, "max_attempts": 1, "max_in_flight": 1},
    },
    permissions=(
        Grant("ReadHealthChecks", ("route53:GetHealthCheck", "route53:GetHealthCheckStatus"), (HEALTH_CHECKS,)),
    ),
)
