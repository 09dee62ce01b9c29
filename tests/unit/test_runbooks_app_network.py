"""memory-restart, flag-switch and route53-health planned from real-shaped alarms (no I/O), and the alarm
forms ecs-redeploy and lambda-rollback also read: Container Insights memory, an error-rate ratio.

The safety decisions are property-tested: no text that is not a systemd unit name reaches a command; a
ratio keeps its numerator's side, anything with a subtraction keeps the side unknown.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.core.runbooks import RUNBOOKS, flag_switch, memory_restart, plan_for, route53_health
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

if TYPE_CHECKING:
    from chalicelib.core.runbooks.plan import Incident

CATALOG = default_catalog()
I1 = "i-0a1b2c3d4e5f60001"


def incident(name: str, **detail_changes: object) -> Incident:
    raw = load_event(name)
    raw["detail"].update(detail_changes)
    return parse_event(raw).incident()


def with_params(runbook: str, **params: object) -> tuple:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == runbook:
            entry["params"] = {**entry.get("params", {}), **params}
    return load_catalog(doc)


def running(instance: str = I1, platform: str = "") -> dict:
    found = {"InstanceId": instance, "State": {"Name": "running"}, "Tags": []}
    if platform:
        found["Platform"] = platform
    return {"describe_instances": {"Reservations": [{"Instances": [found]}]}, "describe_auto_scaling_instances": {}}


def memory_alarm(reason: str = "", period: int = 300, threshold: float = 90.0) -> Incident:
    raw = load_event("memory_restart/mem_used_percent")
    if reason:
        raw["detail"]["state"]["reason"] = reason
    data = json.loads(raw["detail"]["state"]["reasonData"])
    raw["detail"]["state"]["reasonData"] = json.dumps({**data, "period": period, "threshold": threshold})
    return parse_event(raw).incident()


# --- memory-restart ---------------------------------------------------------------------------------


def test_memory_restart_matches_a_sustained_cwagent_memory_alarm_and_is_application_layer() -> None:
    planned = plan_for(CATALOG, memory_alarm())
    assert planned.entry.name == "memory-restart" and RUNBOOKS["memory-restart"].layer == "application"
    assert planned.entry.limits.dry_run and not planned.entry.limits.approval


def test_memory_restart_never_acts_on_a_spike_or_a_low_threshold() -> None:
    spike = memory_alarm(
        "Threshold Crossed: 1 out of the last 1 datapoints [97.0 (23/11/26 10:40:00)] was greater than or equal to "
        "the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition).",
        period=60,
    )
    assert "repairs a breach of 600 s or more" in plan_for(CATALOG, spike).reason  # a spike, not a leak
    low = memory_alarm(
        "Threshold Crossed: 3 out of the last 3 datapoints [66.0 (23/11/26 10:40:00), 65.0 (23/11/26 10:35:00), "
        "64.0 (23/11/26 10:30:00)] was greater than or equal to the threshold (60.0) (minimum 3 datapoints for OK "
        "-> ALARM transition).",
        threshold=60.0,
    )
    assert low.facts["breach_seconds"] == 900 and "threshold 60 is below 80" in plan_for(CATALOG, low).reason


def test_memory_restart_escalates_without_a_service_rather_than_reboot() -> None:
    plan = plan_for(CATALOG, memory_alarm(), running()).plan
    assert (
        plan.calls == ()
        and plan.problem == f"a memory leak on {I1}: name the service to restart (catalog params.service)"
    )


def test_memory_restart_restarts_the_named_unit_then_checks_it_is_active() -> None:
    plan = plan_for(with_params("memory-restart", service="orders-api@2.service"), memory_alarm(), running()).plan
    [call] = plan.calls
    assert (call.service, call.operation) == ("ssm", "send_command")
    assert call.params["DocumentName"] == "AWS-RunShellScript" and call.params["InstanceIds"] == [I1]
    assert call.params["Parameters"]["commands"] == [
        "systemctl restart -- orders-api@2.service",
        "systemctl is-active -- orders-api@2.service",
    ]
    windows = plan_for(with_params("memory-restart", service="orders"), memory_alarm(), running(platform="windows"))
    assert windows.plan.calls == () and "Windows" in windows.plan.problem


@given(st.text(min_size=1, max_size=60))
@example("orders\n")
@example("orders; reboot")
@example("-f")
@example("orders$(id)")
def test_no_text_but_a_unit_name_reaches_the_command(service: str) -> None:
    plan = plan_for(with_params("memory-restart", service=service), memory_alarm(), running()).plan
    is_unit = re.fullmatch(r"[A-Za-z0-9:_.@][A-Za-z0-9:_.@-]*", service) is not None
    assert bool(plan.calls) == is_unit
    for command in plan.calls[0].params["Parameters"]["commands"] if plan.calls else []:
        # nothing a shell reads as syntax: no space but the template's, no quote, $, ;, |, &, `, newline
        assert command.split(" ")[-1] == service and not set(service) & set(" \t\n'\"$;|&`<>()\\*?[]{}!#~")


def test_memory_restart_records_the_command_status_like_disk_cleanup() -> None:
    plan = plan_for(with_params("memory-restart", service="orders"), memory_alarm(), running()).plan
    [read] = RUNBOOKS["memory-restart"].followup(plan, [{"Command": {"CommandId": "c-1"}}])
    assert (read.operation, read.params, read.mutating) == (
        "list_command_invocations",
        {"CommandId": "c-1", "Details": True},
        False,
    )
    failed = {"list_command_invocations": {"CommandInvocations": [{"Status": "TimedOut"}]}}
    assert RUNBOOKS["memory-restart"].outcome(failed) == "failed: TimedOut"
    assert memory_restart.before(running()) == {"state": "running", "auto_scaling_group": None}


# --- flag-switch ------------------------------------------------------------------------------------

FLAG = "/orders/flags/payments"


def flag_facts(value: str = "on", kind: str = "String") -> dict:
    return {"get_parameter": {"Parameter": {"Name": FLAG, "Value": value, "Type": kind, "Version": 4}}}


def breaker() -> Incident:
    return incident("flag_switch/circuit_breaker")


def test_flag_switch_matches_the_alarm_the_catalog_names_and_escalates_until_it_names_a_flag() -> None:
    planned = plan_for(CATALOG, breaker())
    assert planned.entry.name == "flag-switch" and planned.entry.limits.dry_run
    assert planned.plan.calls == () and "name the parameter and the value" in planned.plan.problem
    assert plan_for(CATALOG, incident("flag_switch/circuit_breaker", alarmName="checkout-latency")).entry is None


def test_flag_switch_overwrites_the_flag_and_stands_down_when_it_is_already_set() -> None:
    catalog = with_params("flag-switch", parameter=FLAG, value="off")
    entry = plan_for(catalog, breaker()).entry
    assert [c.as_dict() for c in RUNBOOKS["flag-switch"].reads(entry, breaker())] == [
        {"service": "ssm", "operation": "get_parameter", "params": {"Name": FLAG}}
    ]
    plan = plan_for(catalog, breaker(), flag_facts("on")).plan
    assert [c.as_dict() for c in plan.calls] == [
        {"service": "ssm", "operation": "put_parameter", "params": {"Name": FLAG, "Value": "off", "Overwrite": True}}
    ]
    already = plan_for(catalog, breaker(), flag_facts("off")).plan
    assert already.calls == () and already.stand_down == f"parameter {FLAG} is already 'off'"


def test_flag_switch_release_puts_the_previous_value_back() -> None:
    pre = flag_switch.before(flag_facts("on"))
    assert pre == {"parameter": FLAG, "value": "on", "version": 4}
    undo = RUNBOOKS["flag-switch"].release(json.loads(json.dumps(pre)))  # the audit stores it as JSON
    assert [c.params for c in undo.calls] == [{"Name": FLAG, "Value": "on", "Overwrite": True}]


def test_flag_switch_refuses_a_secret_a_missing_flag_and_a_name_outside_a_flags_path() -> None:
    catalog = with_params("flag-switch", parameter=FLAG, value="off")
    secret = plan_for(catalog, breaker(), flag_facts(kind="SecureString")).plan
    assert secret.calls == () and "SecureString" in secret.problem
    gone = plan_for(catalog, breaker(), {"get_parameter": {"error": "NotFound: ParameterNotFound"}}).plan
    assert gone.calls == () and "never creates one" in gone.problem
    outside = plan_for(with_params("flag-switch", parameter="/orders/db/password", value="x"), breaker()).plan
    assert outside.calls == () and "not under a flags path" in outside.problem


@given(st.text(alphabet="/abcflgs._-\n", max_size=30))
@example("/orders/flags/payments\n")
def test_only_names_the_iam_grant_covers_are_switched(name: str) -> None:
    plan = plan_for(with_params("flag-switch", parameter=name or "/x", value="off"), breaker()).plan
    if plan.calls:
        # IAM's parameter/*flags/* (the ARN drops the leading "/"): a "flags" level, then a name
        arn_path = plan.calls[0].params["Name"].removeprefix("/")
        assert re.fullmatch(r".*flags/.+", arn_path) and name.startswith("/") and "//" not in name


# --- route53-health ---------------------------------------------------------------------------------

CHECK = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"


def check_facts(config: dict, statuses: list[str]) -> dict:
    observations = [
        {"Region": f"region-{i}", "IPAddress": f"15.177.0.{i}", "StatusReport": {"Status": s}}
        for i, s in enumerate(statuses)
    ]
    return {
        "get_health_check": {"HealthCheck": {"Id": CHECK, "HealthCheckConfig": config}},
        "get_health_check_status": {"HealthCheckObservations": observations},
    }


def test_route53_health_is_a_notify_only_network_runbook_on_the_check_the_alarm_names() -> None:
    planned = plan_for(CATALOG, incident("route53_health/health_check_status"))
    assert planned.entry.name == "route53-health" and planned.entry.target_dimension == "HealthCheckId"
    assert planned.incident.resources == (CHECK,) and RUNBOOKS["route53-health"].layer == "network"
    assert planned.plan.calls == () and "DNS failover already routes around it" in planned.plan.tell
    reads = RUNBOOKS["route53-health"].reads(planned.entry, planned.incident)
    assert [(c.operation, c.mutating) for c in reads] == [
        ("get_health_check", False),
        ("get_health_check_status", False),
    ]


def test_route53_health_names_the_endpoint_and_quotes_the_failing_checkers() -> None:
    config = {
        "Type": "HTTP_STR_MATCH",
        "IPAddress": "192.0.2.44",
        "Port": 80,
        "ResourcePath": "/ping",
        "SearchString": "ok",
    }
    facts = check_facts(
        config, ["Failure: Resolved IP: 192.0.2.44. The search string was not found."] * 7 + ["Success: OK"]
    )
    plan = plan_for(CATALOG, incident("route53_health/health_check_status"), facts).plan
    assert plan.tell.startswith(f"Route 53 health check {CHECK} on HTTP_STR_MATCH 192.0.2.44:80/ping expecting 'ok'")
    assert "7 of 8 checkers fail: region-0 (15.177.0.0): Failure" in plan.tell and "and 2 more" in plan.tell
    calculated = route53_health.endpoint({"Type": "CALCULATED", "ChildHealthChecks": ["a", "b"]})
    assert calculated == "CALCULATED over a, b"


def test_route53_health_stands_down_when_every_checker_succeeds_and_ignores_a_check_back_above() -> None:
    facts = check_facts({"Type": "TCP", "IPAddress": "192.0.2.44", "Port": 5432}, ["Success: TCP connection"] * 3)
    plan = plan_for(CATALOG, incident("route53_health/health_check_status"), facts).plan
    assert plan.calls == () and plan.stand_down and not plan.problem and not plan.tell
    raw = load_event("route53_health/health_check_status")
    raw["detail"]["state"]["reason"] = raw["detail"]["state"]["reason"].replace("was less than", "was greater than")
    assert plan_for(CATALOG, parse_event(raw).incident()).entry is None  # not HealthCheckStatus going down


# --- Container Insights and error-rate forms --------------------------------------------------------


def test_ecs_redeploy_reads_container_insights_memory_direct_and_as_a_ratio() -> None:
    for name in ("ecs_redeploy/container_insights_memory_utilized", "ecs_redeploy/container_insights_memory_ratio"):
        found = incident(name)
        assert found.subject == "ECS/ContainerInsights/MemoryUtilized" and found.resources == ("prod/orders-api",)
        plan = plan_for(CATALOG, found).plan
        assert plan.runbook == "ecs-redeploy" and [c.operation for c in plan.calls] == ["update_service"]
    cluster_only = load_event("ecs_redeploy/container_insights_memory_utilized")
    del cluster_only["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["ServiceName"]
    assert plan_for(CATALOG, parse_event(cluster_only).incident()).entry is None  # a cluster names no service


def test_lambda_rollback_reads_an_error_rate_ratio_on_one_alias() -> None:
    found = incident("lambda_rollback/error_rate_alias")
    assert found.subject == "AWS/Lambda/Errors" and found.resources == ("orders:live",)
    assert found.facts["breached"] == "above" and found.facts["level"] == 5.0
    assert plan_for(CATALOG, found).plan.runbook == "lambda-rollback"


def with_expression(expression: str, fixture: str = "lambda_rollback/error_rate_alias") -> Incident:
    raw = load_event(fixture)
    raw["detail"]["configuration"]["metrics"][0]["expression"] = expression
    return parse_event(raw).incident()


def test_an_inverted_or_upside_down_rate_is_not_an_error_rate() -> None:
    availability = with_expression("100 - 100*(m1/m2)")  # success rate: its side is not the errors'
    assert availability.facts["breached"] == "unknown" and plan_for(CATALOG, availability).entry is None
    upside_down = with_expression("m2/m1")  # invocations per error: about Invocations
    assert upside_down.subject == "AWS/Lambda/Invocations" and plan_for(CATALOG, upside_down).entry is None
    unbalanced = with_expression("(m1/m2")
    assert unbalanced.facts["breached"] == "unknown"


@given(
    st.lists(st.sampled_from(["m1", "m2", "100", "*", "/", "-", "+", "(", ")", " "]), min_size=1, max_size=9),
)
def test_a_subtraction_anywhere_keeps_the_side_unknown(tokens: list[str]) -> None:
    expression = "".join(tokens)
    found = with_expression(expression)
    if "-" in expression:
        assert found.facts["breached"] == "unknown"
    if found.facts["breached"] == "above":
        # a ratio of the two metrics, or a sum/identity of them: never with the numerator turned around
        assert "-" not in expression and found.subject in ("AWS/Lambda/Errors", "AWS/Lambda/Invocations")
