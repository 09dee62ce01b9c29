"""ecs-redeploy: an ECS service memory alarm (ClusterName + ServiceName) → force a new deployment.

Two metric families reach it: ``AWS/ECS`` ``MemoryUtilization`` (percent of the task definition's
memory) and Container Insights' ``ECS/ContainerInsights`` ``MemoryUtilized`` (MiB used; alarmed on
directly or as the ratio ``100*(m1/m2)`` over ``MemoryReserved``, which is about its numerator).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html

Stands down (no call, no escalation) while a deployment of the service is already in progress.
Verify: the alarm returns to OK.

Its business (``MATCHES``): memory *above* the threshold of one service (``ClusterName`` and
``ServiceName``). A cluster-wide alarm (``ClusterName`` alone) names no service to redeploy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import CLUSTERS, SERVICES, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "ecs-redeploy"
SUMMARY = "Force a new deployment of the ECS service a memory alarm names"
TARGET = "ecs-service"
DEFAULT_PARAMS: dict[str, Any] = {}
PARAM_TYPES: dict[str, Any] = {}
VERIFY = "the alarm returns to OK"
INSIGHTS = "ECS/ContainerInsights"
SERVICE_DIMENSIONS = ["ClusterName", "ServiceName"]
MATCHES = Condition(
    source="alarm", kinds=("ecs-service",), metrics=("AWS/ECS/MemoryUtilization", f"{INSIGHTS}/MemoryUtilized"),
    direction="above", needs_datapoints=True,
)  # fmt: skip


def check_params(params: Mapping[str, Any]) -> str:
    """Why ``params`` are not this runbook's ('' when they are)."""
    return targets.check_params(params, PARAM_TYPES)


def service_of(incident: Incident) -> tuple[str, str, str]:
    """(cluster, service, '') or ('', '', why the incident names no ECS service)."""
    resource, problem = targets.one_resource(incident)
    if problem:
        return "", "", problem
    cluster, _, service = resource.partition("/")
    if not cluster or not service or "/" in service:
        return "", "", f"{resource!r} is not an ECS cluster/service"
    return cluster, service, ""


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The service's deployments."""
    cluster, service, problem = service_of(incident)
    if problem:
        return ()
    return (Call("ecs", "describe_services", {"cluster": cluster, "services": [service]}, mutating=False),)


def in_progress(service: Mapping[str, Any]) -> str:
    """The id of a deployment still rolling out ('' when none)."""
    deployments = service.get("deployments") or []
    # rolloutState exists only with the deployment circuit breaker; otherwise a second live
    # deployment (the PRIMARY beside an ACTIVE one) means a rollout has not finished.
    for deployment in deployments:
        if deployment.get("rolloutState") == "IN_PROGRESS" or (
            len(deployments) > 1 and deployment.get("status") == "PRIMARY"
        ):
            return str(deployment.get("id", "?"))
    return ""


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """``update_service(forceNewDeployment=True)``, unless a deployment is in progress."""
    cluster, service, problem = service_of(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="ecs-service", id=f"{cluster}/{service}", fleet=f"ecs:{cluster}", region=incident.region)
    if facts is not None:
        found = ((facts.get("describe_services") or {}).get("services") or [None])[0]
        error = targets.read_error(facts, "describe_services")
        if error or not found or found.get("status") != "ACTIVE":
            return targets.no_target(entry.name, error or f"service {cluster}/{service} is not an active service")
        rolling = in_progress(found)
        if rolling:
            return Plan(entry.name, target, stand_down=f"deployment {rolling} of {cluster}/{service} is in progress")
    call = Call("ecs", "update_service", {"cluster": cluster, "service": service, "forceNewDeployment": True})
    return Plan(entry.name, target, (call,))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the service's deployments and task counts."""
    found = ((facts.get("describe_services") or {}).get("services") or [{}])[0]
    return {
        "task_definition": found.get("taskDefinition"),
        "running_count": found.get("runningCount"),
        "deployments": [d.get("id") for d in found.get("deployments") or []],
    }


RUNBOOK = Runbook(
    name=NAME,
    summary=SUMMARY,
    target_kind=TARGET,
    rank=30,
    layer="platform",
    matches=MATCHES,
    verify=VERIFY,
    plan=plan,
    reads=reads,
    before=before,
    params=DEFAULT_PARAMS,
    param_types=PARAM_TYPES,
    default={
        "triggers": [
            {
                "source": "alarm",
                "namespace": "AWS/ECS",
                "metric": "MemoryUtilization",
                "dimensions": ["ClusterName", "ServiceName"],
            },
            {"source": "alarm", "namespace": INSIGHTS, "metric": "MemoryUtilized", "dimensions": SERVICE_DIMENSIONS},
        ],  # fmt: skip
        "limits": {"cooldown_s": 1800, "max_attempts": 2, "max_in_flight": 1},
    },
    permissions=(
        Grant("ReadDeployments", ("ecs:DescribeServices",), (SERVICES,)),
        Grant("ReadFleetSize", ("ecs:DescribeClusters",), (CLUSTERS,)),
        Grant("RedeployTaggedServices", ("ecs:UpdateService",), (SERVICES,), tagged=True),
    ),
)
