"""The application- and network-layer runbooks on the moto server, and ecs-redeploy / lambda-rollback on the
alarm forms they also read (Container Insights, an error-rate ratio): facts read, plan, executor, state.

moto gaps, each said where it matters: Run Command always succeeds and ``list_command_invocations`` is
missing (a Stubber answers that read with a real host's failure); ``GetHealthCheckStatus`` always reports
every checker's success (the failing report a real checker sends is set on the read facts); ECS has no
real rollout (a service with no task to start reads COMPLETED); EventBridge cannot invoke a Lambda in
moto, so the governor's path is shown by calling the alarm remediator handler with the events.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.stub import Stubber
from chalice.test import Client
from local_infra import alarm as local_alarm
from local_infra import enabled_catalog

from chalicelib.adapters.executor import Executor
from chalicelib.adapters.facts import Facts
from chalicelib.adapters.runbook_config import CATALOG as CATALOG_PARAMETER
from chalicelib.core.runbooks import RUNBOOKS, flag_switch, memory_restart, plan_for, reads_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event
from tests.integration.test_remediator_handlers import estate, invoke  # noqa: F401 - the fixture
from tests.integration.test_runbooks_moto import AMI, Aws, ecs_service, lambda_function

CATALOG = default_catalog()


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    return Aws(moto_endpoint)


def with_params(runbook: str, **params: Any) -> tuple:
    """The default catalog with the runbook's entry given ``params``."""
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == runbook:
            entry["params"] = {**entry.get("params", {}), **params}
    return load_catalog(doc)


def alarm(fixture: str, **dimensions: str) -> Any:
    """The fixture's alarm with every metric input's dimensions replaced by ``dimensions``."""
    raw = load_event(fixture)
    for metric in raw["detail"]["configuration"]["metrics"]:
        if "metricStat" in metric:
            metric["metricStat"]["metric"]["dimensions"] = dict(dimensions)
    return parse_event(raw).incident()


def planned_on(aws: Aws, incident: Any, catalog: tuple = CATALOG, **facts_override: Any) -> tuple[Any, dict]:
    """Match, read the facts on moto (optionally overridden), plan with them."""
    entry = plan_for(catalog, incident).entry
    facts = Facts(aws.client).read(reads_for(entry, incident))
    facts.update(facts_override)
    return plan_for(catalog, incident, facts), facts


# --- memory-restart ---------------------------------------------------------------------------------


def host(aws: Aws) -> str:
    """One running Linux instance, in no Auto Scaling group."""
    return aws.client("ec2").run_instances(ImageId=AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_memory_restart_restarts_the_named_service_through_run_command(aws: Aws) -> None:
    instance = host(aws)
    catalog = with_params("memory-restart", service="orders-api.service")
    planned, facts = planned_on(aws, alarm("memory_restart/mem_used_percent", InstanceId=instance), catalog)
    assert planned.entry.name == "memory-restart" and planned.entry.limits.dry_run  # dry-run by default
    results = Executor(aws.client).run(planned.plan.calls)
    assert all(r.ok for r in results), planned.plan
    command_id = results[0].response["Command"]["CommandId"]
    sent = aws.client("ssm").list_commands(CommandId=command_id)["Commands"][0]
    assert sent["DocumentName"] == "AWS-RunShellScript" and planned.plan.calls[0].params["InstanceIds"] == [instance]
    assert sent["Parameters"]["commands"] == [
        "systemctl restart -- orders-api.service",
        "systemctl is-active -- orders-api.service",
    ]
    follow = RUNBOOKS["memory-restart"].followup(planned.plan, [r.response for r in results])
    # moto gap: list_command_invocations is missing; a Stubber answers with a real host's success
    ssm = aws.client("ssm")
    with Stubber(ssm) as stub:
        stub.add_response(
            "list_command_invocations",
            {"CommandInvocations": [{"CommandId": command_id, "InstanceId": instance, "Status": "Success"}]},
            {"CommandId": command_id, "Details": True},
        )
        status = Facts(lambda _: ssm).read(follow)
    assert RUNBOOKS["memory-restart"].outcome(status) == "succeeded"
    assert memory_restart.before(facts)["state"] == "running"


def test_memory_restart_without_a_named_service_escalates_and_sends_nothing(aws: Aws) -> None:
    instance = host(aws)
    planned, _ = planned_on(aws, alarm("memory_restart/mem_used_percent", InstanceId=instance))
    assert planned.plan.calls == ()
    assert planned.plan.problem == f"a memory leak on {instance}: name the service to restart (catalog params.service)"
    assert aws.calls["SendCommand"] == 0


def test_memory_restart_escalates_for_a_stopped_instance(aws: Aws) -> None:
    instance = host(aws)
    aws.client("ec2").stop_instances(InstanceIds=[instance])
    catalog = with_params("memory-restart", service="orders-api")
    planned, _ = planned_on(aws, alarm("memory_restart/mem_used_percent", InstanceId=instance), catalog)
    assert planned.plan.calls == () and "not running" in planned.plan.problem


# --- flag-switch ------------------------------------------------------------------------------------


def flag(aws: Aws, value: str, kind: str = "String") -> str:
    name = f"/orders-{uuid.uuid4().hex[:8]}/flags/payments"
    aws.client("ssm").put_parameter(Name=name, Value=value, Type=kind, Tags=[{"Key": "selfheal", "Value": "on"}])
    return name


def test_flag_switch_sets_the_flag_records_the_previous_value_and_release_puts_it_back(aws: Aws) -> None:
    name = flag(aws, "on")
    catalog = with_params("flag-switch", parameter=name, value="off")
    incident = parse_event(load_event("flag_switch/circuit_breaker")).incident()
    planned, facts = planned_on(aws, incident, catalog)
    assert planned.plan.target.id == name and planned.plan.target.kind == "ssm-parameter"
    assert [r.ok for r in Executor(aws.client).run(planned.plan.calls)] == [True]
    assert aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "off"
    pre = flag_switch.before(facts)
    assert pre == {"parameter": name, "value": "on", "version": 1}
    # the same alarm again (redelivered, or a second one): the flag is already set, nothing is written
    again, _ = planned_on(aws, incident, catalog)
    assert again.plan.calls == () and again.plan.stand_down == f"parameter {name} is already 'off'"
    assert aws.calls["PutParameter"] == 2  # the fixture's creation and the switch
    Executor(aws.client).run(RUNBOOKS["flag-switch"].release(pre).calls)
    assert aws.client("ssm").get_parameter(Name=name)["Parameter"]["Value"] == "on"


def test_flag_switch_never_creates_a_parameter_nor_writes_a_secret(aws: Aws) -> None:
    incident = parse_event(load_event("flag_switch/circuit_breaker")).incident()
    missing = f"/orders-{uuid.uuid4().hex[:8]}/flags/payments"
    planned, _ = planned_on(aws, incident, with_params("flag-switch", parameter=missing, value="off"))
    assert planned.plan.calls == () and "ParameterNotFound" in planned.plan.problem
    secret = flag(aws, "on", kind="SecureString")
    planned, _ = planned_on(aws, incident, with_params("flag-switch", parameter=secret, value="off"))
    assert planned.plan.calls == () and "is a SecureString" in planned.plan.problem
    assert aws.calls["PutParameter"] == 1  # the fixture's secret only


# --- route53-health ---------------------------------------------------------------------------------


def health_check(aws: Aws) -> str:
    config = {
        "Type": "HTTPS", "FullyQualifiedDomainName": "api.example.com", "Port": 443, "ResourcePath": "/health",
        "RequestInterval": 30, "FailureThreshold": 3,
    }  # fmt: skip
    created = aws.client("route53").create_health_check(CallerReference=uuid.uuid4().hex, HealthCheckConfig=config)
    return created["HealthCheck"]["Id"]


def test_route53_health_says_which_endpoint_fails_and_how_and_changes_nothing(aws: Aws) -> None:
    check = health_check(aws)
    incident = alarm("route53_health/health_check_status", HealthCheckId=check)
    # moto gap: every checker reports success; a real checker's failure is set on the read facts
    failing = {
        "HealthCheckObservations": [
            {"Region": "us-east-1", "IPAddress": "15.177.2.10",
             "StatusReport": {"Status": "Failure: HTTP Status Code 503, Service Unavailable. Resolved IP: 192.0.2.44"}},
            {"Region": "eu-west-1", "IPAddress": "15.177.62.5",
             "StatusReport": {"Status": "Success: HTTP Status Code 200, OK. Resolved IP: 192.0.2.44"}},
        ]
    }  # fmt: skip
    planned, facts = planned_on(aws, incident, get_health_check_status=failing)
    assert planned.entry.name == "route53-health" and planned.plan.calls == ()
    assert planned.plan.tell == (
        f"Route 53 health check {check} on HTTPS api.example.com:443/health is unhealthy; 1 of 2 checkers fail: "
        "us-east-1 (15.177.2.10): Failure: HTTP Status Code 503, Service Unavailable. Resolved IP: 192.0.2.44; "
        "DNS failover already routes around it; nothing changed"
    )
    assert RUNBOOKS["route53-health"].before(facts) == {
        "endpoint": "HTTPS api.example.com:443/health",
        "failing_checkers": 1,
    }
    assert not [op for op in aws.calls if not op.startswith(("Get", "Create"))]  # reads only


def test_route53_health_of_a_deleted_check_escalates_with_the_error(aws: Aws) -> None:
    gone = str(uuid.uuid4())
    planned, _ = planned_on(aws, alarm("route53_health/health_check_status", HealthCheckId=gone))
    assert planned.plan.calls == () and "NoSuchHealthCheck" in planned.plan.problem and gone in planned.plan.problem


def test_route53_health_stands_down_when_every_checker_reports_success(aws: Aws) -> None:
    check = health_check(aws)
    planned, _ = planned_on(aws, alarm("route53_health/health_check_status", HealthCheckId=check))
    assert planned.plan.calls == () and planned.plan.stand_down.startswith("every checker of health check")


# --- the other forms ecs-redeploy and lambda-rollback read ------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["ecs_redeploy/container_insights_memory_utilized", "ecs_redeploy/container_insights_memory_ratio"]
)
def test_ecs_redeploy_on_container_insights_memory(aws: Aws, fixture: str) -> None:
    # moto gap: no rollout; a service with no task to start reads COMPLETED
    cluster, service = ecs_service(aws, desired=0)
    planned, _ = planned_on(aws, alarm(fixture, ClusterName=cluster, ServiceName=service))
    results = Executor(aws.client).run(planned.plan.calls)
    assert [r.call.operation for r in results] == ["update_service"] and all(r.ok for r in results)


def test_lambda_rollback_on_an_error_rate_alarm_of_an_alias(aws: Aws) -> None:
    function = lambda_function(aws)
    incident = alarm("lambda_rollback/error_rate_alias", FunctionName=function, Resource=f"{function}:live")
    planned, facts = planned_on(aws, incident)
    assert all(r.ok for r in Executor(aws.client).run(planned.plan.calls))
    assert facts["get_alias"]["FunctionVersion"] == "3"
    assert aws.client("lambda").get_alias(FunctionName=function, Name="live")["FunctionVersion"] == "2"


# --- behind the governor: the alarm remediator handler ----------------------------------------------


def test_flag_switch_through_the_remediator_acts_once_stands_down_then_heals(estate: Any) -> None:  # noqa: F811
    # GIVEN the estate's catalog with flag-switch live on a tagged flag, and the breaker alarm
    estate, clients, clock = estate
    import app

    name = f"/{estate.prefix.strip('/')}/flags/payments"
    clients.ssm.put_parameter(Name=name, Value="on", Type="String", Tags=[{"Key": "selfheal", "Value": "enabled"}])
    doc = enabled_catalog()
    for entry in doc["runbooks"]:
        if entry["name"] == "flag-switch":
            entry["params"] = {"parameter": name, "value": "off"}
    stored = {"Name": estate.prefix + CATALOG_PARAMETER, "Value": json.dumps(doc), "Type": "String"}
    clients.ssm.put_parameter(**stored, Overwrite=True)
    written = clients.calls["PutParameter"]  # the flag's and the catalog's creation above

    def breaker(state: str = "ALARM") -> dict:
        """A transition of the breaker alarm at the clock's time (each its own identity)."""
        raw = local_alarm("flag_switch/circuit_breaker", "checkout-circuit-breaker", clock(), Provider="acme-pay")
        raw["detail"]["state"]["value"] = state
        return raw

    with Client(app.app) as client:
        # WHEN it fires, fires again (a new transition) while the flag is off, then returns to OK
        first = invoke(client, "alarm_remediator", breaker())
        clock.advance(2)
        again = invoke(client, "alarm_remediator", breaker())
        clock.advance(2)
        resolved = invoke(client, "alarm_remediator", breaker("OK"))
    # THEN one write, a stand-down, and the action verified as healed by the alarm's OK
    assert [(d["decision"], d["rule"]) for d in first["decisions"]] == [("act", "ok")]
    assert [(d["decision"], d["rule"]) for d in again["decisions"]] == [("suppressed", "stand-down")]
    assert [(d["decision"], d["rule"]) for d in resolved["decisions"]] == [("healed", "resolved")]
    assert clients.ssm.get_parameter(Name=name)["Parameter"]["Value"] == "off"
    assert clients.calls["PutParameter"] == written + 1
