"""Runbooks act on what a signal means: every EventBridge fixture decided as a careful operator would.

The table holds, for every fixture of tests/events, the decision an operator expects from the
default catalog with every runbook enabled, in the deployment's account and region: which runbook
acts (or none), whether a person is told about an ``ignore``, and the mutating calls. A fixture
missing from the table fails the test, so a new fixture needs its expected decision.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from runbooks_cli import decisions

from chalicelib.core.runbooks import RUNBOOKS, ec2_isolate, plan_for
from chalicelib.core.runbooks.catalog import DEFAULT_DOCUMENT, default_catalog, load_catalog
from chalicelib.errors import ConfigError
from chalicelib.events.eventbridge import OPERATORS, AlarmStateChange
from chalicelib.events.parse import parse_event
from tests.conftest import EVENTS, load_event

HOME = ("123456789012", "us-east-1")
I1, I2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
REBOOT, SEND, REDEPLOY, ROLLBACK = (
    ["ec2.reboot_instances"],
    ["ssm.send_command"],
    ["ecs.update_service"],
    ["lambda.update_alias"],
)
STOP_START = ["ec2.stop_instances", "ec2.start_instances"]
ISOLATE = ["autoscaling.detach_instances", "ec2.modify_instance_attribute", "ec2.create_snapshots", "ec2.create_tags"]
ISOLATE += ["ec2.modify_network_interface_attribute"] * 4
TOLD, SILENT = True, False

# fixture → (runbook, decision, a person is told about an ignore, mutating calls); the comment says why
EXPECTED: dict[str, tuple[str | None, str, bool, list[str]]] = {
    # CPU: ec2-reboot repairs CPU too high for a while, nothing else
    "alarm_ec2_cpu": ("ec2-reboot", "act", SILENT, REBOOT),  # >= 80 % for 5 min
    "alarm_ec2_cpu_high_sustained": ("ec2-reboot", "act", SILENT, REBOOT),  # 3 × 5 min >= 85 %
    "alarm_ec2_cpu_anomaly_above": ("ec2-reboot", "act", SILENT, REBOOT),  # 98.6 % over a band topping at 83 %
    "alarm_metric_math_one_instance": ("ec2-reboot", "act", SILENT, REBOOT),
    # `100 - m1 >= 98`: CPU at 2 % or less, though the operator says "greater": the side is unknown
    "alarm_metric_math_idle_inverted": (None, "ignore", TOLD, []),
    "alarm_ec2_cpu_low_idle": (None, "ignore", TOLD, []),  # idle (< 2 %): a cost alarm, not a fault
    "alarm_ec2_cpu_anomaly_below": (None, "ignore", TOLD, []),  # fell below its band
    "alarm_ec2_cpu_anomaly_above_low_band": (None, "ignore", TOLD, []),  # "above" a band topping at 0.3 %
    "alarm_ec2_cpu_above_50": (None, "ignore", TOLD, []),  # AWS's sample, CPU > 50 %: not a reboot's business
    "alarm_ec2_cpu_spike_one_minute": (None, "ignore", TOLD, []),  # one 1-minute datapoint
    "alarm_ec2_cpu_missing_data": (None, "ignore", TOLD, []),  # no datapoint: missing data treated as breaching
    "alarm_ec2_cpu_set_alarm_state": (None, "ignore", TOLD, []),  # SetAlarmState: the event says no direction
    "alarm_ec2_cpu_foreign_account": (None, "ignore", SILENT, []),  # another account's event
    "alarm_ec2_cpu_ok": ("ec2-reboot", "ignore", SILENT, []),  # resolved, nothing open
    "alarm_metric_math_two_instances": ("ec2-reboot", "escalate", SILENT, []),  # which of two?
    "alarm_composite": (None, "escalate", SILENT, []),  # names alarms, no resource
    # disk: disk-cleanup frees the root filesystem only
    "alarm_cwagent_disk": ("disk-cleanup", "act", SILENT, SEND),
    "alarm_system_linux_disk": ("disk-cleanup", "act", SILENT, SEND),
    "alarm_cwagent_disk_root_by_device": ("disk-cleanup", "act", SILENT, SEND),  # no path, root device
    "alarm_cwagent_disk_data_volume": (None, "ignore", TOLD, []),  # /var/lib/postgresql
    "alarm_system_linux_disk_data_volume": (None, "ignore", TOLD, []),  # /data
    # ECS: a service is redeployed, a cluster is not a service
    "alarm_ecs_memory": ("ecs-redeploy", "act", SILENT, REDEPLOY),
    "alarm_ecs_cluster_memory": (None, "ignore", TOLD, []),
    # Lambda: an alias rolls back (a weighted one only drops its weight: the read tells), nothing else
    "alarm_lambda_errors_alias": ("lambda-rollback", "act", SILENT, ROLLBACK),
    "alarm_lambda_errors_canary_alias": ("lambda-rollback", "act", SILENT, ROLLBACK),
    "alarm_lambda_errors_alias_ok": ("lambda-rollback", "ignore", SILENT, []),
    "alarm_lambda_errors_unaliased": (None, "ignore", TOLD, []),
    "alarm_lambda_errors_version": (None, "ignore", TOLD, []),
    # GuardDuty: isolation awaits a human; samples, archived and own findings never page
    "guardduty_cc_activity_b": ("ec2-isolate", "awaiting_approval", SILENT, ISOLATE),
    "guardduty_cc_activity_b_dns": ("ec2-isolate", "awaiting_approval", SILENT, ISOLATE),
    "guardduty_cc_activity_b_republished": ("ec2-isolate", "awaiting_approval", SILENT, ISOLATE),
    "guardduty_sample": (None, "ignore", SILENT, []),
    "guardduty_sample_value_form": (None, "ignore", SILENT, []),
    "guardduty_sample_flag_text": (None, "ignore", SILENT, []),
    "guardduty_archived": (None, "ignore", SILENT, []),
    "guardduty_own_principal": (None, "ignore", SILENT, []),
    "guardduty_low_severity": (None, "ignore", TOLD, []),  # about one of our instances, below isolation's bar
    # Health: retirement and stop move the instance before the date; reboots and late events do not act
    "health_instance_retirement": ("ec2-retire", "act", SILENT, STOP_START),
    "health_persistent_retirement": ("ec2-retire", "act", SILENT, STOP_START),
    "health_instance_stop": ("ec2-retire", "act", SILENT, STOP_START),
    "health_instance_retirement_closed": ("ec2-retire", "ignore", SILENT, []),
    "health_retirement_past_deadline": ("ec2-retire", "escalate", SILENT, []),
    "health_reboot_maintenance": (None, "ignore", TOLD, []),  # a stop/start costs more than the reboot
    "health_reboot_flexible_maintenance": (None, "ignore", TOLD, []),
}
FIXTURES = sorted(p.stem for p in EVENTS.glob("*.json"))


def decided(name: str) -> tuple[str | None, str, bool, list[str]]:
    (row,) = decisions([EVENTS / f"{name}.json"], default_catalog(), HOME)
    return row["runbook"], row["decision"], row["notify"], [f"{c['service']}.{c['operation']}" for c in row["calls"]]


def test_the_table_covers_every_eventbridge_fixture() -> None:
    assert sorted(EXPECTED) == FIXTURES


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_is_decided_as_an_operator_expects(name: str) -> None:
    assert decided(name) == EXPECTED[name]


# --- the alarm's meaning, read from the event ------------------------------------------------------


def meaning(name: str, **change):
    raw = load_event(name)
    for key, value in change.items():
        raw["detail"]["configuration"][key] = value
    view = parse_event(raw)
    assert isinstance(view, AlarmStateChange)
    return view.meaning


def test_a_static_alarm_tells_its_operator_threshold_and_datapoints() -> None:
    high, idle = meaning("alarm_ec2_cpu_high_sustained"), meaning("alarm_ec2_cpu_low_idle")
    assert (high.comparison, high.direction, high.breached) == ("GreaterThanOrEqualToThreshold", "above", "above")
    assert (high.threshold, high.statistic, high.period, high.breaching_datapoints, high.breach_seconds) == (
        85.0,
        "Average",
        300,
        3,
        900,
    )
    assert (idle.comparison, idle.breached, idle.threshold, idle.datapoints) == (
        "LessThanThreshold",
        "below",
        2.0,
        (0.41, 0.38, 0.52),
    )


def test_an_outside_band_anomaly_alarm_tells_the_side_its_datapoints_left_the_band() -> None:
    below, above = meaning("alarm_ec2_cpu_anomaly_below"), meaning("alarm_ec2_cpu_anomaly_above")
    assert below.anomaly and below.direction == "outside band" and below.breached == "below"
    assert above.breached == "above" and above.level == 83.2 and above.threshold is None
    raw = load_event("alarm_ec2_cpu_anomaly_below")
    del raw["detail"]["state"]["reasonData"]  # the band is in reasonData alone
    assert parse_event(raw).meaning.breached == "unknown"


def test_the_configuration_operator_wins_over_the_sentence_and_an_event_without_either_is_unknown() -> None:
    assert meaning("alarm_ec2_cpu", comparisonOperator="LessThanThreshold").breached == "below"
    unknown = meaning("alarm_ec2_cpu_set_alarm_state")
    assert (unknown.comparison, unknown.direction, unknown.breached, unknown.breach_seconds) == (
        "",
        "unknown",
        "unknown",
        None,
    )
    missing = meaning("alarm_ec2_cpu_missing_data")
    assert missing.missing_data_breached and missing.treat_missing_data == "breaching"
    assert missing.breaching_datapoints == 0


# --- what a runbook declares it repairs -------------------------------------------------------------


@given(
    operator=st.sampled_from(["LessThanThreshold", "LessThanOrEqualToThreshold", "LessThanLowerThreshold", ""]),
    threshold=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    points=st.lists(st.floats(min_value=0, max_value=100), max_size=5),
    period=st.sampled_from([10, 60, 300, 3600]),
    fixture=st.sampled_from(["alarm_ec2_cpu", "alarm_cwagent_disk", "alarm_ecs_memory", "alarm_lambda_errors_alias"]),
    reason=st.sampled_from(["keep", "drop", "was less than the threshold (1.0)", "x"]),
)
def test_an_alarm_whose_side_is_not_the_runbooks_never_plans_a_mutating_call(
    operator: str, threshold: float, points: list[float], period: int, fixture: str, reason: str
) -> None:
    # GIVEN an alarm every repair runbook's metric matches, breaching below or on a side the event does not say
    raw = load_event(fixture)
    state = raw["detail"]["state"]
    if operator:
        raw["detail"]["configuration"]["comparisonOperator"] = operator
        raw["detail"]["configuration"]["threshold"] = threshold
    if reason == "drop":
        state.pop("reason", None)
        state.pop("reasonData", None)
    elif reason != "keep":
        state["reason"] = reason
    if not operator and reason == "keep":
        state["reason"] = "was not anything the parser knows"
    state["reasonData"] = json.dumps({"recentDatapoints": points, "threshold": threshold, "period": period})
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["period"] = period
    # WHEN it is planned with every runbook enabled
    incident = parse_event(raw, home=HOME).incident()
    planned = plan_for(default_catalog(), incident)
    # THEN no runbook takes it: nothing to call, and a person is told
    assert planned.plan is None
    assert planned.notify


WIDE = load_catalog(
    {
        "runbooks": [
            {"name": name, "triggers": [{"source": "alarm", "alarm_names": ["*"]}]}
            for name in ("ec2-reboot", "disk-cleanup", "ecs-redeploy", "lambda-rollback")
        ]
    }
)
SENTENCES = {
    "above": "1 out of the last 1 datapoints [{v} (23/11/26 10:40:00)] was greater than the threshold ({t})",
    "below": "1 out of the last 1 datapoints [{v} (23/11/26 10:40:00)] was less than the threshold ({t})",
    "band": "1 out of the last 1 datapoints [{v} (23/11/26 10:40:00)] was less than the lower thresholds [{lo}] "
    "or greater than the upper thresholds [{hi}]",
    "none": "{v}",
}


@given(
    fixture=st.sampled_from(["alarm_ec2_cpu", "alarm_cwagent_disk", "alarm_ecs_memory", "alarm_lambda_errors_alias"]),
    operator=st.sampled_from([*OPERATORS, ""]),
    sentence=st.sampled_from(sorted(SENTENCES)),
    value=st.floats(-10, 200),
    threshold=st.floats(-10, 200),
    band=st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted),
    with_data=st.booleans(),
    catalog=st.sampled_from([default_catalog(), WIDE]),
)
def test_a_mutating_plan_only_ever_follows_an_alarm_breached_on_its_runbooks_side(
    fixture: str,
    operator: str,
    sentence: str,
    value: float,
    threshold: float,
    band: list[float],
    with_data: bool,
    catalog: tuple,
) -> None:
    # GIVEN any alarm on a resource a repair runbook knows: any operator, reason sentence and reasonData
    raw = load_event(fixture)
    state, config = raw["detail"]["state"], raw["detail"]["configuration"]
    if operator:
        config["comparisonOperator"] = operator
    lo, hi = band
    state["reason"] = "Threshold Crossed: " + SENTENCES[sentence].format(v=value, t=threshold, lo=lo, hi=hi)
    data = {"period": 300, "recentDatapoints": [value], "threshold": threshold}
    if sentence == "band" or "Upper" in operator or "Lower" in operator:
        data.update(recentLowerThresholds=[lo], recentUpperThresholds=[hi])
    state["reasonData"] = json.dumps(data) if with_data else ""
    # WHEN it is planned, by the default catalog or one that sends every alarm to every runbook
    incident = parse_event(raw, home=HOME).incident()
    planned = plan_for(catalog, incident)
    # THEN a plan with calls exists only when the alarm breached on the side its runbook repairs
    if planned.plan is not None and planned.plan.calls:
        assert incident.facts["breached"] == RUNBOOKS[planned.plan.runbook].matches.direction == "above"
    event(f"planned calls: {bool(planned.plan and planned.plan.calls)}")


@given(side=st.sampled_from(["below", "unknown"]), low=st.floats(0, 50), high=st.floats(50.5, 100))
def test_an_anomaly_alarm_not_breached_above_its_band_never_reboots(side: str, low: float, high: float) -> None:
    raw = load_event("alarm_ec2_cpu_anomaly_below")
    value = {"below": low / 2 - 1, "unknown": (low + high) / 2}[side]
    data = json.loads(raw["detail"]["state"]["reasonData"])
    data.update(recentDatapoints=[value], recentLowerThresholds=[low], recentUpperThresholds=[high])
    raw["detail"]["state"]["reasonData"] = json.dumps(data)
    assert parse_event(raw).meaning.breached == side
    assert plan_for(default_catalog(), parse_event(raw).incident()).plan is None


def test_a_catalog_cannot_widen_a_runbook_but_can_narrow_it() -> None:
    # GIVEN ec2-reboot triggered by every alarm name
    wide = load_catalog({"runbooks": [{"name": "ec2-reboot", "triggers": [{"source": "alarm", "alarm_names": ["*"]}]}]})
    # THEN its own condition still refuses an idle alarm and a disk alarm
    assert plan_for(wide, parse_event(load_event("alarm_ec2_cpu_low_idle")).incident()).plan is None
    assert plan_for(wide, parse_event(load_event("alarm_cwagent_disk")).incident()).plan is None
    assert plan_for(wide, parse_event(load_event("alarm_ec2_cpu")).incident()).plan is not None
    # AND the CloudWatch agent's idle CPU high (95 % idle for 15 min) is not busy CPU, whatever the catalog
    idle = load_event("alarm_ec2_cpu_high_sustained")
    for metric in idle["detail"]["configuration"]["metrics"]:
        metric["metricStat"]["metric"].update(namespace="CWAgent", name="cpu_usage_idle")
    assert plan_for(wide, parse_event(idle).incident()).plan is None
    # AND a trigger's own threshold bound narrows (or moves) the runbook's default
    strict = {"source": "alarm", "namespace": "AWS/EC2", "metric": "CPUUtilization", "min_threshold": 90}
    narrow = load_catalog({"runbooks": [{"name": "ec2-reboot", "triggers": [strict]}]})
    assert plan_for(narrow, parse_event(load_event("alarm_ec2_cpu")).incident()).plan is None
    lower = load_catalog({"runbooks": [{"name": "ec2-reboot", "triggers": [{**strict, "min_threshold": 50}]}]})
    assert plan_for(lower, parse_event(load_event("alarm_ec2_cpu_above_50")).incident()).plan is not None


def test_trigger_conditions_compose_names_and_metric_must_both_hold() -> None:
    metric = {"source": "alarm", "namespace": "CWAgent", "metric": "disk_used_percent"}
    both = load_catalog({"runbooks": [{"name": "disk-cleanup", "triggers": [{**metric, "alarm_names": ["db-*"]}]}]})
    # web-1-root-disk has the metric, not the name; db-1-pgdata-disk the name, then the data volume refuses it
    assert plan_for(both, parse_event(load_event("alarm_cwagent_disk")).incident()).plan is None
    names = load_catalog({"runbooks": [{"name": "disk-cleanup", "triggers": [{**metric, "alarm_names": ["web-*"]}]}]})
    assert plan_for(names, parse_event(load_event("alarm_cwagent_disk")).incident()).plan is not None
    pinned = {**metric, "dimension_values": {"fstype": ["ext4"]}, "direction": "above"}
    ext4 = load_catalog({"runbooks": [{"name": "disk-cleanup", "triggers": [pinned]}]})
    planned = plan_for(ext4, parse_event(load_event("alarm_cwagent_disk")).incident())
    assert planned.plan is None and "fstype=ext4" in planned.reason
    assert load_catalog({"runbooks": [e.as_dict() for e in ext4]}) == ext4


@pytest.mark.parametrize(
    ("where", "value", "says"),
    [
        ("limits.cooldown_s", math.nan, "limits.cooldown_s: must be a finite number"),
        ("limits.max_in_flight_pct", math.nan, "limits.max_in_flight_pct: must be a finite number"),
        ("limits.hourly_rate", math.inf, "limits.hourly_rate: must be a finite number"),
        ("triggers.0.min_threshold", math.nan, "triggers[0].min_threshold: must be a finite number"),
        ("triggers.0.direction", "up", "triggers[0].direction: must be one of ['above', 'below']"),
        ("triggers.0.dimension_values", {"path": []}, "dimension_values: must be an object of non-empty lists"),
        ("triggers.0.max_threshold", -1, "max_threshold: is below min_threshold"),
    ],
)
def test_a_catalog_value_that_is_not_finite_or_not_a_meaning_is_refused_naming_it(where, value, says) -> None:
    doc = copy.deepcopy(DEFAULT_DOCUMENT)
    node = doc["runbooks"][0]
    *path, last = where.split(".")
    for key in path:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    if last == "max_threshold":
        node["min_threshold"] = 0
    with pytest.raises(ConfigError, match="runbook catalog") as raised:
        load_catalog(json.dumps(doc))  # Python's json writes NaN and Infinity, and reads them back
    assert says in str(raised.value)


def test_1e400_in_catalog_text_is_refused_not_an_overflow() -> None:
    text = json.dumps(DEFAULT_DOCUMENT).replace('"cooldown_s": 1800', '"cooldown_s": 1e400', 1)
    with pytest.raises(ConfigError, match=r"runbooks\[0\] \(ec2-reboot\)\.limits\.cooldown_s"):
        load_catalog(text)


# --- findings, Health, foreign events -------------------------------------------------------------


@pytest.mark.parametrize(
    "info",
    [
        {"sample": True},
        {"sample": "true"},
        {"sample": "TRUE"},
        {"value": '{"sample":true}', "type": "default"},
        {"value": '{"sample": "true", "threatListName": "GeneratedFindingThreatListName"}', "type": "default"},
    ],
)
def test_a_sample_finding_in_every_documented_form_never_acts_nor_pages(info: dict) -> None:
    raw = load_event("guardduty_cc_activity_b")
    raw["detail"]["service"]["additionalInfo"] = info
    planned = plan_for(default_catalog(), parse_event(raw).incident())
    assert planned.plan is None and "sample" in planned.reason and planned.notify == ""


def test_a_real_finding_whose_value_is_other_json_is_not_a_sample() -> None:
    assert not parse_event(load_event("guardduty_cc_activity_b")).is_sample


@pytest.mark.parametrize(("account", "region"), [("999999999999", "us-east-1"), ("123456789012", "ap-south-1")])
def test_an_event_of_another_account_or_region_never_acts_nor_pages(account: str, region: str) -> None:
    for name in ("alarm_ec2_cpu", "guardduty_cc_activity_b", "health_instance_retirement"):
        raw = load_event(name)
        raw["account"], raw["region"] = account, region
        for incident in parse_event(raw, home=HOME).incidents():
            planned = plan_for(default_catalog(), incident)
            assert planned.plan is None and planned.notify == "" and "this deployment runs in" in planned.reason


def test_health_reboot_codes_are_not_ec2_retires_business_even_when_a_catalog_names_them() -> None:
    doc = {"runbooks": [{"name": "ec2-retire", "triggers": [{"source": "health", "types": ["AWS_EC2_*"]}]}]}
    planned = plan_for(load_catalog(doc), parse_event(load_event("health_reboot_maintenance")).incident())
    assert planned.plan is None and "not one of" in planned.reason and I2 in planned.notify


# --- weighted Lambda aliases and quarantine groups ------------------------------------------------


def lambda_facts(version: str, weights: dict[str, float] | None) -> dict:
    alias = {"FunctionVersion": version, "RoutingConfig": {"AdditionalVersionWeights": weights} if weights else {}}
    versions = [{"Version": v} for v in ("$LATEST", "1", "2", "3")]
    return {"get_alias": alias, "list_versions_by_function": {"Versions": versions}}


def test_a_weighted_canary_rolls_back_to_its_stable_version_never_past_it() -> None:
    incident = parse_event(load_event("alarm_lambda_errors_canary_alias")).incident()
    planned = plan_for(default_catalog(), incident, lambda_facts("2", {"3": 0.1}))
    [call] = planned.plan.calls
    assert call.params["FunctionVersion"] == "2" and call.params["RoutingConfig"] == {"AdditionalVersionWeights": {}}
    plain = plan_for(default_catalog(), incident, lambda_facts("3", None)).plan
    assert plain.calls[0].params["FunctionVersion"] == "2"


def test_weights_on_an_older_version_escalate() -> None:
    incident = parse_event(load_event("alarm_lambda_errors_canary_alias")).incident()
    planned = plan_for(default_catalog(), incident, lambda_facts("3", {"2": 0.5}))
    assert planned.plan.calls == () and "which is stable is unclear" in planned.plan.problem


def isolate_facts(*groups: dict) -> dict:
    enis = [{"NetworkInterfaceId": "eni-1", "Groups": [{"GroupId": "sg-app"}]}]
    found = {"InstanceId": I1, "State": {"Name": "running"}, "VpcId": "vpc-1", "NetworkInterfaces": enis, "Tags": []}
    return {
        "describe_instances": {"Reservations": [{"Instances": [found]}]},
        "describe_auto_scaling_instances": {"AutoScalingInstances": []},
        "describe_instance_attribute": {"DisableApiTermination": {"Value": False}},
        "describe_security_groups": {"SecurityGroups": list(groups)},
    }


def group(gid: str, role: str, **rules) -> dict:
    return {"GroupId": gid, "VpcId": "vpc-1", "Tags": [{"Key": ec2_isolate.QUARANTINE_TAG, "Value": role}], **rules}


@pytest.mark.parametrize(
    ("groups", "says"),
    [
        ((group("sg-u", "untrack"), group("sg-i", "isolate"), group("sg-rogue", "isolate")), "2 security groups"),
        ((group("sg-u", "untrack"), group("sg-u2", "untrack"), group("sg-i", "isolate")), "=untrack (sg-u, sg-u2)"),
        ((group("sg-u", "untrack"), group("sg-i", "isolate", IpPermissionsEgress=[{"IpProtocol": "-1"}])), "rules"),
    ],
)
def test_isolation_escalates_rather_than_guess_its_quarantine_group(groups: tuple, says: str) -> None:
    incident = parse_event(load_event("guardduty_cc_activity_b")).incident()
    planned = plan_for(default_catalog(), incident, isolate_facts(*groups))
    assert planned.plan.calls == () and says in planned.plan.problem
    good = plan_for(default_catalog(), incident, isolate_facts(group("sg-u", "untrack"), group("sg-i", "isolate")))
    assert good.plan.calls[-1].params["Groups"] == ["sg-i"]


def test_a_finding_that_names_no_instance_still_escalates() -> None:
    raw = load_event("guardduty_cc_activity_b")
    del raw["detail"]["resource"]["instanceDetails"]["instanceId"]
    planned = plan_for(default_catalog(), parse_event(raw).incident())
    assert planned.entry.name == "ec2-isolate" and planned.plan.calls == () and "no instance id" in planned.plan.problem
