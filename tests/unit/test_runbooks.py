"""Catalog (as validated data, matching) and the six runbooks (pure: incident + facts → plan); the executor."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.adapters.executor import Executor, unresolved
from chalicelib.core.runbooks import (
    RUNBOOKS,
    before_for,
    disk_cleanup,
    ec2_isolate,
    fleet_reads_for,
    fleet_size,
    followup_for,
    lambda_rollback,
    plan_for,
    reads_for,
    with_waits,
)
from chalicelib.core.runbooks.catalog import DEFAULT_DOCUMENT, default_catalog, load_catalog, match
from chalicelib.core.runbooks.declare import LAYERS
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.core.runbooks.plan import Call, Incident, Plan
from chalicelib.errors import ConfigError, NotFound, PayloadError, TransientError
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

I1, I2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
CATALOG = default_catalog()


def incident(name: str) -> Incident:
    return parse_event(load_event(name)).incident()


def instance_facts(instance: str = I1, *, state: str = "running", group: str | None = "web-asg", **extra) -> dict:
    enis = [
        {"NetworkInterfaceId": "eni-1", "Groups": [{"GroupId": "sg-web", "GroupName": "web"}]},
        {"NetworkInterfaceId": "eni-2", "Groups": [{"GroupId": "sg-admin", "GroupName": "admin"}, {"GroupId": "sg-x"}]},
    ]
    found = {
        "InstanceId": instance,
        "State": {"Name": state},
        "VpcId": "vpc-1",
        "RootDeviceType": "ebs",
        "NetworkInterfaces": enis,
        "Tags": [{"Key": "Name", "Value": "web-1"}],
        **extra,
    }
    members = [{"InstanceId": instance, "AutoScalingGroupName": group}] if group else []
    return {
        "describe_instances": {"Reservations": [{"Instances": [found]}]},
        "describe_auto_scaling_instances": {"AutoScalingInstances": members},
    }


def ops(plan: Plan) -> list[str]:
    return [f"{c.service}.{c.operation}" for c in plan.calls]


# --- catalog -----------------------------------------------------------------------------------


def test_default_catalog_matches_alarms_people_already_have_by_namespace_and_metric() -> None:
    expected = {
        "alarm_ec2_cpu": "ec2-reboot",
        "alarm_cwagent_disk": "disk-cleanup",
        "alarm_system_linux_disk": "disk-cleanup",
        "alarm_ecs_memory": "ecs-redeploy",
        "alarm_lambda_errors_alias": "lambda-rollback",
        "guardduty_cc_activity_b": "ec2-isolate",
        "guardduty_cc_activity_b_dns": "ec2-isolate",
        "health_instance_retirement": "ec2-retire",
        "guardduty_low_severity": None,
        "guardduty_sample": None,
        "guardduty_archived": None,
        "guardduty_own_principal": None,
        "alarm_composite": None,
    }
    assert {name: getattr(match(CATALOG, incident(name)), "name", None) for name in expected} == expected


def test_default_catalog_is_dry_run_and_isolation_needs_approval() -> None:
    assert all(e.limits.dry_run for e in CATALOG)
    # approval where the declaration asks for it (isolation always does), never lost on the way
    approving = {name for name, runbook in RUNBOOKS.items() if runbook.default.get("approval")}
    assert {e.name for e in CATALOG if e.limits.approval} == approving and "ec2-isolate" in approving
    assert {e.action for e in CATALOG} == set(RUNBOOKS)


def test_catalog_round_trips_through_its_json_shape() -> None:
    again = load_catalog(json.dumps({"runbooks": [e.as_dict() for e in CATALOG]}))
    assert again == CATALOG


def test_insufficient_data_never_matches() -> None:
    raw = load_event("alarm_ec2_cpu")
    raw["detail"]["state"]["value"] = "INSUFFICIENT_DATA"
    assert match(CATALOG, parse_event(raw).incident()) is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["runbooks"][0].update(action="ec2-reboots"), "runbooks[0] (ec2-reboot).action: unknown runbook"),
        (lambda d: d["runbooks"][0]["limits"].update(cooldown=5), "limits.cooldown: unknown limit"),
        (lambda d: d["runbooks"][0]["limits"].update(cooldown_s=-1), "limits.cooldown_s: must be a non-negative"),
        (lambda d: d["runbooks"][0]["limits"].update(max_in_flight_pct=150), "max_in_flight_pct: is a percentage"),
        (lambda d: d["runbooks"][1].update(params={"commands": []}), "(disk-cleanup).params: commands must be"),
        (lambda d: d["runbooks"][1].update(params={"command": ["x"]}), "unknown parameter 'command'"),
        (lambda d: d["runbooks"][0]["triggers"][0].update(source="sns"), "triggers[0].source: must be one of"),
        (lambda d: d["runbooks"][0]["triggers"][0].pop("metric"), "needs namespace and metric"),
        (lambda d: d["runbooks"][4]["triggers"][0].update(namespace="x"), "unknown key(s) ['namespace']"),
        (lambda d: d["runbooks"][0].update(approval="yes"), "(ec2-reboot).approval: must be true or false"),
        (lambda d: d["runbooks"].append(copy.deepcopy(d["runbooks"][0])), "duplicate name(s) ['ec2-reboot']"),
        (lambda d: d.update(extra=1), 'must be {"runbooks"'),
    ],
)
def test_invalid_catalog_is_refused_with_the_path_of_the_problem(mutate, message: str) -> None:
    doc = copy.deepcopy(DEFAULT_DOCUMENT)
    mutate(doc)
    with pytest.raises(ConfigError, match="runbook catalog") as raised:
        load_catalog(json.dumps(doc))
    assert message in str(raised.value)


def test_catalog_that_is_not_json_is_refused() -> None:
    with pytest.raises(ConfigError, match="runbook catalog JSON"):
        load_catalog("{runbooks")


def test_custom_entry_matches_alarm_names_and_carries_params_and_limits() -> None:
    doc = {
        "runbooks": [
            {
                "name": "tmp-cleanup",
                "action": "disk-cleanup",
                "triggers": [{"source": "alarm", "alarm_names": ["web-*"]}],
                "params": {"commands": ["rm -rf /tmp/cache"]},
                "limits": {"cooldown_s": 60},
                "dry_run": False,
            }
        ]
    }
    (entry,) = load_catalog(json.dumps(doc))
    assert entry.limits.cooldown_s == 60 and not entry.limits.dry_run and entry.params["execution_timeout_s"] == 600
    # (a disk alarm: disk-cleanup's commands repair the root filesystem, never a CPU alarm named web-*)
    assert plan_for((entry,), incident("alarm_ec2_cpu")).plan is None
    planned = plan_for((entry,), incident("alarm_cwagent_disk"))
    assert planned.entry == entry
    assert planned.plan.calls[0].params["Parameters"]["commands"] == ["rm -rf /tmp/cache"]


# --- ambiguity, loops, never-act ---------------------------------------------------------------


def test_ambiguous_alarm_makes_no_call_and_has_a_problem() -> None:
    planned = plan_for(CATALOG, incident("alarm_metric_math_two_instances"))
    assert planned.entry.name == "ec2-reboot" and planned.plan.calls == () and "2 resources" in planned.plan.problem
    composite = plan_for(CATALOG, incident("alarm_composite"))
    assert composite.entry is None and composite.plan.calls == () and "composite" in composite.plan.problem


def test_resolved_composite_alarm_is_not_escalated() -> None:
    raw = load_event("alarm_composite")
    raw["detail"]["state"]["value"] = "OK"
    assert plan_for(CATALOG, parse_event(raw).incident()).plan is None


def test_facts_showing_selfheals_mark_make_the_alarm_its_own_action() -> None:
    facts = instance_facts()
    facts["describe_instances"]["Reservations"][0]["Instances"][0]["Tags"].append({"Key": MARKER_TAG, "Value": "x"})
    planned = plan_for(CATALOG, incident("alarm_ec2_cpu"), facts)
    assert MARKER_TAG in planned.incident.caused_by_selfheal


def test_sample_finding_matches_no_runbook_whatever_the_catalog() -> None:
    doc = {"runbooks": [{"name": "ec2-isolate", "triggers": [{"source": "guardduty", "types": ["*"]}]}]}
    planned = plan_for(load_catalog(doc), incident("guardduty_sample"))
    assert planned.plan is None and "sample" in planned.reason


@given(
    st.lists(st.sampled_from([I1, I2, "i-0a1b2c3d4e5f60003"]), min_size=1, max_size=4),
    st.sampled_from(list(RUNBOOKS)),
)
def test_no_plan_for_an_alarm_naming_several_instances_has_a_call(instances: list[str], runbook: str) -> None:
    raw = load_event("alarm_metric_math_two_instances")
    metrics = [{"id": "e1", "expression": "SUM(METRICS())", "returnData": True}]
    metrics += [
        {
            "id": f"m{i}",
            "metricStat": {
                "metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": x}},
                "period": 60,
                "stat": "Average",
            },
            "returnData": False,
        }
        for i, x in enumerate(instances)
    ]
    raw["detail"]["configuration"]["metrics"] = metrics
    found = parse_event(raw).incident()
    entry = next(e for e in CATALOG if e.action == runbook)
    plan = RUNBOOKS[runbook].plan(entry, found, None)
    if len(set(instances)) > 1:
        assert plan.calls == () and plan.problem
    elif runbook in ("ec2-reboot", "disk-cleanup", "ec2-retire"):
        assert plan.calls and plan.target.id == instances[0]


# --- the runbooks ------------------------------------------------------------------------------


def test_ec2_reboot_reboots_the_instance_in_its_fleet() -> None:
    planned = plan_for(CATALOG, incident("alarm_ec2_cpu"), instance_facts())
    assert ops(planned.plan) == ["ec2.reboot_instances"]
    assert planned.plan.calls[0].params == {"InstanceIds": [I1]}
    assert planned.plan.target.fleet == "asg:web-asg"
    assert [c.operation for c in reads_for(planned.entry, planned.incident)] == [
        "describe_instances",
        "describe_auto_scaling_instances",
    ]


def test_ec2_reboot_escalates_for_a_stopped_or_missing_instance() -> None:
    stopped = plan_for(CATALOG, incident("alarm_ec2_cpu"), instance_facts(state="stopped"))
    assert stopped.plan.calls == () and "stopped" in stopped.plan.problem
    gone = plan_for(CATALOG, incident("alarm_ec2_cpu"), {"describe_instances": {"error": "NotFound: x"}})
    assert gone.plan.calls == () and "NotFound" in gone.plan.problem


def test_disk_cleanup_sends_the_configured_commands_then_reads_the_command_status() -> None:
    planned = plan_for(CATALOG, incident("alarm_cwagent_disk"), instance_facts())
    (call,) = planned.plan.calls
    assert (call.service, call.operation, call.params["DocumentName"]) == ("ssm", "send_command", "AWS-RunShellScript")
    assert call.params["Parameters"]["commands"] == disk_cleanup.DEFAULT_PARAMS["commands"]
    follow = disk_cleanup.followup(planned.plan, [{"Command": {"CommandId": "c-1"}}])
    assert [(c.operation, dict(c.params), c.mutating) for c in follow] == [
        ("list_command_invocations", {"CommandId": "c-1", "Details": True}, False)
    ]
    status = lambda *s: {"list_command_invocations": {"CommandInvocations": [{"Status": x} for x in s]}}  # noqa: E731
    assert disk_cleanup.outcome(status("Success")) == "succeeded"
    assert disk_cleanup.outcome(status("Success", "Failed")) == "failed: Failed"
    assert disk_cleanup.outcome(status("InProgress")) == ""


def test_disk_cleanup_refuses_windows() -> None:
    planned = plan_for(CATALOG, incident("alarm_cwagent_disk"), instance_facts(Platform="windows"))
    assert planned.plan.calls == () and "Windows" in planned.plan.problem


def test_ecs_redeploy_forces_a_new_deployment_and_stands_down_while_one_rolls_out() -> None:
    service = {
        "status": "ACTIVE",
        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "COMPLETED"}],
    }
    planned = plan_for(CATALOG, incident("alarm_ecs_memory"), {"describe_services": {"services": [service]}})
    assert [(c.operation, dict(c.params)) for c in planned.plan.calls] == [
        ("update_service", {"cluster": "prod", "service": "orders-api", "forceNewDeployment": True})
    ]
    assert planned.plan.target.fleet == "ecs:prod"
    rolling = {
        **service,
        "deployments": [
            {"id": "ecs-svc/2", "status": "PRIMARY", "rolloutState": "IN_PROGRESS"},
            {"id": "ecs-svc/1", "status": "ACTIVE", "rolloutState": "COMPLETED"},
        ],
    }
    waiting = plan_for(CATALOG, incident("alarm_ecs_memory"), {"describe_services": {"services": [rolling]}})
    assert waiting.plan.calls == () and "ecs-svc/2" in waiting.plan.stand_down and waiting.plan.problem == ""


def test_lambda_rollback_points_the_alias_at_the_version_before_the_one_it_serves() -> None:
    facts = {
        "get_alias": {"FunctionVersion": "7", "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}}},
        "list_versions_by_function": {"Versions": [{"Version": v} for v in ("$LATEST", "3", "5", "7", "8")]},
    }
    # during a canary of 8 on top of 7, the rollback drops the weight and keeps 7 (never goes past it)
    planned = plan_for(CATALOG, incident("alarm_lambda_errors_alias"), facts)
    (call,) = planned.plan.calls
    assert call.params == {
        "FunctionName": "orders",
        "Name": "live",
        "FunctionVersion": "7",
        "RoutingConfig": {"AdditionalVersionWeights": {}},
    }
    unweighted = {**facts, "get_alias": {"FunctionVersion": "7"}}
    assert (
        plan_for(CATALOG, incident("alarm_lambda_errors_alias"), unweighted).plan.calls[0].params["FunctionVersion"]
        == "5"
    )
    assert lambda_rollback.before(facts)["function_version"] == "7"
    first = {**facts, "get_alias": {"FunctionVersion": "3"}}
    assert "none before it" in plan_for(CATALOG, incident("alarm_lambda_errors_alias"), first).plan.problem


def test_lambda_rollback_needs_an_alias() -> None:
    raw = load_event("alarm_lambda_errors_alias")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["Resource"] = "orders"
    # An unaliased function has nothing to roll back: not the runbook's business, a person is told
    planned = plan_for(CATALOG, parse_event(raw).incident())
    assert planned.plan is None and "lambda-function" in planned.reason and "orders" in planned.notify


def quarantine(vpc: str = "vpc-1") -> dict:
    tag = lambda v: [{"Key": ec2_isolate.QUARANTINE_TAG, "Value": v}]  # noqa: E731
    return {
        "describe_security_groups": {
            "SecurityGroups": [
                {"GroupId": "sg-untrack", "VpcId": vpc, "Tags": tag("untrack")},
                {"GroupId": "sg-isolate", "VpcId": vpc, "Tags": tag("isolate")},
                {"GroupId": "sg-elsewhere", "VpcId": "vpc-9", "Tags": tag("isolate")},
            ]
        },
        "describe_instance_attribute": {"DisableApiTermination": {"Value": False}},
    }


def test_ec2_isolate_detaches_protects_snapshots_tags_then_quarantines_every_interface_in_two_steps() -> None:
    facts = {**instance_facts(), **quarantine()}
    planned = plan_for(CATALOG, incident("guardduty_cc_activity_b"), facts)
    assert (
        ops(planned.plan)
        == ["autoscaling.detach_instances", "ec2.modify_instance_attribute", "ec2.create_snapshots", "ec2.create_tags"]
        + ["ec2.modify_network_interface_attribute"] * 4
    )
    swaps = [(c.params["NetworkInterfaceId"], c.params["Groups"]) for c in planned.plan.calls[4:]]
    assert swaps == [
        ("eni-1", ["sg-untrack"]),
        ("eni-2", ["sg-untrack"]),
        ("eni-1", ["sg-isolate"]),
        ("eni-2", ["sg-isolate"]),
    ]
    assert planned.plan.calls[0].params["ShouldDecrementDesiredCapacity"] is False
    assert {"Key": MARKER_TAG, "Value": "ec2-isolate"} in planned.plan.calls[3].params["Tags"]
    assert planned.entry.limits.approval


def test_ec2_isolate_without_an_auto_scaling_group_skips_the_detach() -> None:
    planned = plan_for(CATALOG, incident("guardduty_cc_activity_b"), {**instance_facts(group=None), **quarantine()})
    assert ops(planned.plan)[0] == "ec2.modify_instance_attribute"


def test_ec2_isolate_escalates_without_quarantine_groups_in_the_vpc() -> None:
    planned = plan_for(CATALOG, incident("guardduty_cc_activity_b"), {**instance_facts(), **quarantine("vpc-2")})
    assert planned.plan.calls == () and "vpc-1 lacks security groups" in planned.plan.problem


def test_ec2_isolate_records_the_pre_state_and_release_restores_it() -> None:
    facts = {**instance_facts(), **quarantine()}
    pre = ec2_isolate.before(facts)
    assert pre["network_interfaces"] == {"eni-1": ["sg-web"], "eni-2": ["sg-admin", "sg-x"]}
    assert pre["auto_scaling_group"] == "web-asg" and pre["termination_protection"] is False
    undo = ec2_isolate.release(json.loads(json.dumps(pre)))  # the audit stores it as JSON
    assert [(c.operation, c.params.get("Groups")) for c in undo.calls[:2]] == [
        ("modify_network_interface_attribute", ["sg-web"]),
        ("modify_network_interface_attribute", ["sg-admin", "sg-x"]),
    ]
    assert undo.calls[2].params["DisableApiTermination"] == {"Value": False}
    assert undo.calls[3].operation == "delete_tags"


def test_ec2_retire_stops_waits_and_starts_an_ebs_instance() -> None:
    planned = plan_for(CATALOG, incident("health_instance_retirement"), instance_facts(I2, group=None))
    assert ops(planned.plan) == ["ec2.stop_instances", "ec2.start_instances"]
    assert planned.plan.calls[0].wait_for == "instance_stopped"


def test_ec2_retire_lets_auto_scaling_replace_a_member() -> None:
    planned = plan_for(CATALOG, incident("health_instance_retirement"), instance_facts(I2))
    assert [(c.operation, dict(c.params)) for c in planned.plan.calls] == [
        ("terminate_instance_in_auto_scaling_group", {"InstanceId": I2, "ShouldDecrementDesiredCapacity": False})
    ]


def test_ec2_retire_escalates_an_instance_store_root_and_stands_down_when_stopped() -> None:
    store = plan_for(
        CATALOG, incident("health_instance_retirement"), instance_facts(I2, group=None, RootDeviceType="instance-store")
    )
    assert store.plan.calls == () and "instance-store" in store.plan.problem
    stopped = plan_for(CATALOG, incident("health_instance_retirement"), instance_facts(I2, state="stopped"))
    assert stopped.plan.calls == () and stopped.plan.stand_down


def test_without_reads_only_read_values_are_null() -> None:
    isolate = plan_for(CATALOG, incident("guardduty_cc_activity_b")).plan
    assert unresolved([dict(c.params) for c in isolate.calls]) == [f"[{i}].Groups[0]" for i in range(4, 8)]
    rollback = plan_for(CATALOG, incident("alarm_lambda_errors_alias")).plan
    assert unresolved([dict(c.params) for c in rollback.calls]) == ["[0].FunctionVersion"]
    reboot = plan_for(CATALOG, incident("alarm_ec2_cpu")).plan
    assert unresolved([dict(c.params) for c in reboot.calls]) == []


def test_every_runbook_declares_the_runbook_interface() -> None:
    for name, runbook in RUNBOOKS.items():
        assert runbook.name == name and runbook.summary and runbook.verify and runbook.target_kind
        assert runbook.layer in LAYERS and runbook.permissions and runbook.default["triggers"]
        for attr in ("check_params", "reads", "plan", "before", "followup", "verify_reads", "verified"):
            assert callable(getattr(runbook, attr)), (name, attr)


# --- executor ----------------------------------------------------------------------------------


def stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def test_executor_runs_exactly_the_calls_in_order() -> None:
    client, stub = stubbed("ec2")
    stub.add_response("modify_instance_attribute", {}, {"InstanceId": I1, "DisableApiTermination": {"Value": True}})
    stub.add_response("reboot_instances", {}, {"InstanceIds": [I1]})
    calls = [
        Call("ec2", "modify_instance_attribute", {"InstanceId": I1, "DisableApiTermination": {"Value": True}}),
        Call("ec2", "reboot_instances", {"InstanceIds": [I1]}),
    ]
    with stub:
        results = Executor(lambda _: client).run(calls)
    stub.assert_no_pending_responses()
    assert [r.call for r in results] == calls and all(r.ok for r in results)


def test_executor_stops_at_the_first_error_translated() -> None:
    client, stub = stubbed("ec2")
    stub.add_client_error("reboot_instances", "InvalidInstanceID.NotFound", "no such instance")
    calls = [
        Call("ec2", "reboot_instances", {"InstanceIds": [I1]}),
        Call("ec2", "reboot_instances", {"InstanceIds": [I2]}),
    ]
    with stub, pytest.raises(NotFound) as raised:
        Executor(lambda _: client).run(calls)
    # the error carries what was done: the failing call, and nothing after it
    results = raised.value.results
    assert len(results) == 1 and results[0].error is raised.value and not results[0].ok
    assert results[0].as_dict()["error"].startswith("ec2.reboot_instances")


def test_executor_can_return_the_error_instead_of_raising_it() -> None:
    client, stub = stubbed("ec2")
    stub.add_client_error("reboot_instances", "UnauthorizedOperation", "not allowed")
    with stub:
        (result,) = Executor(lambda _: client).run(
            [Call("ec2", "reboot_instances", {"InstanceIds": [I1]})], raise_error=False
        )
    assert isinstance(result.error, ConfigError)


def test_executor_translates_throttling_as_transient() -> None:
    client, stub = stubbed("ecs")
    stub.add_client_error("update_service", "ThrottlingException", "slow down")
    with stub, pytest.raises(TransientError):
        Executor(lambda _: client).run([Call("ecs", "update_service", {"service": "s", "forceNewDeployment": True})])


def test_dry_run_makes_no_call_and_returns_the_same_calls() -> None:
    made: list[str] = []
    plan = plan_for(CATALOG, incident("alarm_ec2_cpu")).plan
    results = Executor(made.append).run(plan.calls, dry_run=True)
    assert made == [] and [r.call for r in results] == list(plan.calls) and all(r.dry_run for r in results)


def test_executor_refuses_a_plan_with_unresolved_parameters_before_any_call() -> None:
    made: list[str] = []
    plan = plan_for(CATALOG, incident("guardduty_cc_activity_b")).plan
    with pytest.raises(PayloadError, match="Groups"):
        Executor(made.append).run(plan.calls)
    assert made == []


def test_an_entry_can_name_the_dimension_that_holds_the_target() -> None:
    # GIVEN a custom metric whose "Host" dimension holds the instance id
    doc = {
        "runbooks": [
            {
                "name": "app-reboot",
                "action": "ec2-reboot",
                "target": {"dimension": "Host"},
                "triggers": [{"source": "alarm", "namespace": "MyApp", "metric": "Latency"}],
            }
        ]
    }
    catalog = load_catalog(json.dumps(doc))
    raw = load_event("alarm_ec2_cpu")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
        namespace="MyApp", name="Latency", dimensions={"Host": I2, "Stage": "prod"}
    )
    # WHEN it is planned THEN the instance comes from that dimension
    planned = plan_for(catalog, parse_event(raw).incident())
    assert planned.plan.calls[0].params == {"InstanceIds": [I2]}
    assert load_catalog(json.dumps({"runbooks": [e.as_dict() for e in catalog]})) == catalog
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"Stage": "prod"}
    assert "lacks dimension Host" in plan_for(catalog, parse_event(raw).incident()).plan.problem


def test_a_target_dimension_on_a_non_alarm_entry_is_refused() -> None:
    doc = {
        "runbooks": [
            {
                "name": "x",
                "action": "ec2-isolate",
                "target": {"dimension": "Host"},
                "triggers": [{"source": "guardduty", "types": ["*"]}],
            }
        ]
    }
    with pytest.raises(ConfigError, match="target dimension needs alarm triggers"):
        load_catalog(json.dumps(doc))


def test_before_and_followup_are_reached_through_the_entry() -> None:
    entries = {e.name: e for e in CATALOG}
    assert before_for(entries["ec2-reboot"], instance_facts()) == {"state": "running", "launch_time": ""}
    plan = plan_for(CATALOG, incident("alarm_cwagent_disk")).plan
    assert followup_for(entries["disk-cleanup"], plan, [{"Command": {"CommandId": "c"}}])[0].operation == (
        "list_command_invocations"
    )
    assert followup_for(entries["ec2-reboot"], plan, [{}]) == ()


def test_executor_takes_a_plan_or_its_calls() -> None:
    plan = plan_for(CATALOG, incident("alarm_ec2_cpu")).plan
    assert [r.call for r in Executor(list).run(plan, dry_run=True)] == list(plan.calls)


def test_triggers_describe_themselves_in_a_few_words() -> None:
    entries = {e.name: e for e in CATALOG}
    assert entries["ec2-reboot"].describe_trigger() == "alarm AWS/EC2 CPUUtilization [InstanceId]"
    assert entries["disk-cleanup"].describe_trigger().count(" | ") == 1
    assert entries["ec2-isolate"].describe_trigger() == (
        "guardduty Backdoor:EC2/C&CActivity.B or Backdoor:EC2/C&CActivity.B!DNS severity >= 7"
    )
    assert entries["ec2-retire"].describe_trigger() == (
        "health AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED or AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"
        " or AWS_EC2_INSTANCE_STOP_SCHEDULED"
    )


def test_fleet_size_is_read_for_groups_and_clusters() -> None:
    reboot = plan_for(CATALOG, incident("alarm_ec2_cpu"), instance_facts()).plan
    (read,) = fleet_reads_for(reboot)
    assert (read.operation, dict(read.params), read.mutating) == (
        "describe_auto_scaling_groups",
        {"AutoScalingGroupNames": ["web-asg"]},
        False,
    )
    assert fleet_size({"describe_auto_scaling_groups": {"AutoScalingGroups": [{"DesiredCapacity": 100}]}}) == 100
    redeploy = plan_for(CATALOG, incident("alarm_ecs_memory")).plan
    assert fleet_reads_for(redeploy)[0].params == {"clusters": ["prod"]}
    assert fleet_size({"describe_clusters": {"clusters": [{"activeServicesCount": 12}]}}) == 12
    assert fleet_reads_for(plan_for(CATALOG, incident("alarm_lambda_errors_alias")).plan) == ()
    assert fleet_size({}) is None and fleet_reads_for(None) == ()


def test_ec2_retire_escalates_an_event_sent_after_the_retirement_date() -> None:
    raw = load_event("health_instance_retirement")
    raw["time"] = "2026-12-07T00:00:01Z"  # the fixture's date is Mon, 07 Dec 2026 00:00:00 GMT
    planned = plan_for(CATALOG, parse_event(raw).incident())
    assert planned.plan.calls == () and "had passed" in planned.plan.problem
    raw["time"] = "2026-12-06T23:59:59Z"
    assert plan_for(CATALOG, parse_event(raw).incident()).plan.calls
    raw["detail"]["startTime"] = "soon"
    assert plan_for(CATALOG, parse_event(raw).incident()).plan.calls  # an unreadable date does not block


def test_a_plan_rebuilt_from_the_audit_shape_gets_its_waiters_back() -> None:
    planned = plan_for(CATALOG, incident("health_instance_retirement"), instance_facts(I2, group=None))
    rebuilt = Plan(planned.plan.runbook, planned.plan.target, tuple(Call(**c.as_dict()) for c in planned.plan.calls))
    assert rebuilt.calls[0].wait_for == "" and rebuilt.digest() == planned.plan.digest()
    assert with_waits(rebuilt) == planned.plan
