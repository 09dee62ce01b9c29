"""EventBridge views: real shapes in, Incidents out (identity, target, ambiguity, loop marks, never-act)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.runbooks import plan_for
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.errors import PayloadError
from chalicelib.events.eventbridge import AlarmStateChange, GuardDutyFinding, HealthEvent
from chalicelib.events.parse import parse_event
from tests.conftest import EVENTS, load_event

I1, I2 = "i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-cpu-high"
CATALOG = default_catalog()


def test_every_fixture_parses_into_a_view_with_incidents() -> None:
    names = sorted(p.name for p in EVENTS.glob("*.json"))
    assert len(names) >= 19
    for name in names:
        view = parse_event(load_event(name))
        assert view.incidents(), name


def test_single_metric_alarm_reads_dimensions_as_a_map_and_reason_data_from_its_json_string() -> None:
    view = parse_event(load_event("alarm_ec2_cpu"))
    assert isinstance(view, AlarmStateChange)
    assert view.metrics[0].dimensions == {"InstanceId": I1}
    assert view.reason_data["threshold"] == 80.0  # decoded from the string AWS sends
    assert view.reason_data["recentDatapoints"] == [93.2]
    incident = view.incident()
    assert incident.identity == f"{ALARM_ARN}#2026-11-23T10:45:12.345+0000"
    assert (incident.source, incident.state, incident.subject) == ("alarm", "open", "AWS/EC2/CPUUtilization")
    assert incident.resources == (I1,) and incident.ambiguity == ""
    assert incident.facts["state_value"] == "ALARM"


def test_ok_transition_resolves_the_same_alarm_with_a_new_identity() -> None:
    alarm = parse_event(load_event("alarm_ec2_cpu")).incident()
    ok = parse_event(load_event("alarm_ec2_cpu_ok")).incident()
    assert ok.state == "resolved" and ok.resources == alarm.resources
    assert ok.identity.split("#")[0] == alarm.identity.split("#")[0] and ok.identity != alarm.identity


@pytest.mark.parametrize(
    ("fixture", "subject", "resource"),
    [
        ("alarm_cwagent_disk", "CWAgent/disk_used_percent", I1),
        ("alarm_system_linux_disk", "System/Linux/DiskSpaceUtilization", I2),
        ("alarm_ecs_memory", "AWS/ECS/MemoryUtilization", "prod/orders-api"),
        ("alarm_lambda_errors_alias", "AWS/Lambda/Errors", "orders:live"),
    ],
)
def test_alarm_dimensions_name_the_resource(fixture: str, subject: str, resource: str) -> None:
    incident = parse_event(load_event(fixture)).incident()
    assert (incident.subject, incident.resources, incident.ambiguity) == (subject, (resource,), "")


def test_metric_math_over_different_instances_is_ambiguous_and_names_them_all() -> None:
    view = parse_event(load_event("alarm_metric_math_two_instances"))
    assert [m.expression for m in view.metrics if m.expression] == ["m1 + m2"]
    incident = view.incident()
    assert incident.resources == (I1, I2)
    assert "2 resources" in incident.ambiguity and I1 in incident.ambiguity and I2 in incident.ambiguity


def test_metric_math_over_one_instance_targets_it() -> None:
    incident = parse_event(load_event("alarm_metric_math_one_instance")).incident()
    assert incident.resources == (I1,) and incident.ambiguity == ""
    assert incident.facts["dimension_names"] == ["InstanceId"]


def test_composite_alarm_names_no_resource() -> None:
    view = parse_event(load_event("alarm_composite"))
    assert view.is_composite and view.metrics == ()
    incident = view.incident()
    assert incident.resources == () and "composite alarm" in incident.ambiguity
    assert view.reason_data["triggeringAlarms"][0]["arn"].endswith(":alarm:web-cpu-high")


def test_metric_without_a_known_resource_dimension_is_ambiguous() -> None:
    raw = load_event("alarm_ec2_cpu")
    raw["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"AutoScalingGroupNam": "x"}
    incident = parse_event(raw).incident()
    assert incident.resources == () and "name no resource" in incident.ambiguity


def test_unparsable_reason_data_reads_as_empty() -> None:
    raw = load_event("alarm_ec2_cpu")
    raw["detail"]["state"]["reasonData"] = "{not json"
    assert parse_event(raw).reason_data == {}


def test_republished_finding_with_a_higher_count_keeps_its_identity() -> None:
    first = parse_event(load_event("guardduty_cc_activity_b"))
    again = parse_event(load_event("guardduty_cc_activity_b_republished"))
    assert isinstance(first, GuardDutyFinding) and again.count > first.count
    assert again.incident().identity == first.incident().identity
    dns = parse_event(load_event("guardduty_cc_activity_b_dns")).incident()
    assert dns.identity != first.incident().identity and dns.identity.endswith("#DNS_REQUEST")


def test_finding_incident_names_the_instance_its_interfaces_and_severity() -> None:
    incident = parse_event(load_event("guardduty_cc_activity_b")).incident()
    assert incident.subject == "Backdoor:EC2/C&CActivity.B" and incident.resources == (I1,)
    assert incident.facts["severity"] == 8.0
    assert [e["id"] for e in incident.facts["network_interfaces"]] == ["eni-0aa11bb22cc33dd01", "eni-0aa11bb22cc33dd02"]
    assert incident.facts["tags"]["aws:autoscaling:groupName"] == "web-asg"
    assert incident.never_act == "" and incident.caused_by_selfheal == ""


@pytest.mark.parametrize(("fixture", "why"), [("guardduty_sample", "sample"), ("guardduty_archived", "archived")])
def test_sample_and_archived_findings_never_act(fixture: str, why: str) -> None:
    assert why in parse_event(load_event(fixture)).incident().never_act


def test_finding_about_selfheals_own_api_calls_is_its_own_action() -> None:
    incident = parse_event(load_event("guardduty_own_principal")).incident()
    assert "selfheal-dev-finding_remediator" in incident.caused_by_selfheal
    other = parse_event(load_event("guardduty_own_principal"), principal="ops-").incident()
    assert other.caused_by_selfheal == ""


def test_finding_about_an_instance_selfheal_marked_is_its_own_action() -> None:
    raw = load_event("guardduty_cc_activity_b_dns")
    raw["detail"]["resource"]["instanceDetails"]["tags"].append({"key": MARKER_TAG, "value": "ec2-isolate"})
    assert MARKER_TAG in parse_event(raw).incident().caused_by_selfheal


def test_health_identity_is_event_arn_and_entity_and_closed_resolves() -> None:
    view = parse_event(load_event("health_instance_retirement"))
    assert isinstance(view, HealthEvent)
    incident = view.incident()
    assert incident.identity == f"{view.event_arn}#{I2}" and incident.resources == (I2,)
    assert incident.state == "open" and incident.subject == "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"
    assert incident.facts["start_time"] == "Mon, 07 Dec 2026 00:00:00 GMT"
    closed = parse_event(load_event("health_instance_retirement_closed")).incident()
    assert closed.state == "resolved" and closed.identity == incident.identity


def test_health_event_with_several_entities_is_one_incident_per_entity() -> None:
    raw = load_event("health_instance_retirement")
    raw["detail"]["affectedEntities"].append({"entityValue": I1})
    view = parse_event(raw)
    assert [i.resources for i in view.incidents()] == [(I2,), (I1,)]
    assert "2 entities" in view.incident().ambiguity


def test_str_masks_the_raw_event() -> None:
    for name in ("alarm_ec2_cpu", "guardduty_cc_activity_b", "health_instance_retirement"):
        raw = load_event(name)
        view = parse_event(raw)
        text = f"{view} {view!r}"
        assert "i-0a1b" not in text and "detail" not in text and raw["id"] in text
        assert view.raw is raw


def test_views_are_read_only() -> None:
    view = parse_event(load_event("alarm_ec2_cpu"))
    with pytest.raises(AttributeError):
        view.alarm_name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "raw",
    [[], "text", {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}},
     {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": "x"}],
)  # fmt: skip
def test_other_events_raise_payload_error(raw: object) -> None:
    with pytest.raises(PayloadError):
        parse_event(raw)


def test_fixtures_keep_reason_data_as_a_json_string_like_aws() -> None:
    raw = load_event("alarm_ec2_cpu")
    assert isinstance(raw["detail"]["state"]["reasonData"], str)
    assert json.loads(raw["detail"]["state"]["reasonData"])["threshold"] == 80.0


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.just([]), st.just({}), st.just("{"))


@given(st.sampled_from(sorted(p.name for p in EVENTS.glob("*.json"))), st.data())
def test_a_malformed_event_never_crashes_and_never_acts_on_garbage(name: str, data: st.DataObject) -> None:
    # GIVEN a fixture with one field anywhere replaced by junk
    raw = load_event(name)
    path = data.draw(st.sampled_from(_paths(raw)))
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = data.draw(JUNK)
    # WHEN it is parsed and planned THEN it is refused as a payload, or planned without crashing
    try:
        incidents = parse_event(raw).incidents()
    except PayloadError:
        return
    for found in incidents:
        planned = plan_for(CATALOG, found)
        if planned.plan is not None and planned.plan.calls:
            assert planned.plan.target is not None and planned.plan.target.id
