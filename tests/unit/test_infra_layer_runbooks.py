"""The infrastructure layer's EBS and Auto Scaling runbooks, pure: which real-shaped events reach them, and
the safety of their plans for any read (hypothesis) — a volume is only ever snapshotted (never detached,
deleted or replaced), a group's desired capacity only rises by one, within MaxSize, when allowed and when
launches are not failing; nothing is terminated."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chalicelib import sources
from chalicelib.core.runbooks import RUNBOOKS, asg_capacity, ebs_volume, plan_for
from chalicelib.core.runbooks.catalog import default_catalog, load_catalog
from chalicelib.core.runbooks.loop import MARKER_TAG
from chalicelib.events.parse import parse_event
from tests.conftest import ROOT, load_event

CATALOG = default_catalog()
VOLUME = "vol-0a1b2c3d4e5f60011"


def incident(fixture: str) -> Any:
    return parse_event(load_event(fixture)).incident()


def with_params(name: str, **params: Any) -> tuple:
    doc = {"runbooks": [e.as_dict() for e in CATALOG]}
    for entry in doc["runbooks"]:
        if entry["name"] == name:
            entry["params"] = params
    return load_catalog(doc)


def test_each_fixture_reaches_its_runbook() -> None:
    reached = {
        f: plan_for(CATALOG, incident(f)).entry.name
        for f in (
            "ebs_volume/degraded",
            "ebs_volume/lost",
            "ebs_volume/stalled_io",
            "asg_capacity/below_minimum",
            "asg_capacity/short_of_desired_math",
        )
    }
    assert reached == {
        "ebs_volume/degraded": "ebs-volume",
        "ebs_volume/lost": "ebs-volume",
        "ebs_volume/stalled_io": "ebs-stalled-io",
        "asg_capacity/below_minimum": "asg-capacity",
        "asg_capacity/short_of_desired_math": "asg-capacity",
    }


def test_a_plan_made_without_reads_snapshots_marked_or_escalates() -> None:
    [call] = plan_for(CATALOG, incident("ebs_volume/stalled_io")).plan.calls
    assert call.operation == "create_snapshot" and call.params["VolumeId"] == VOLUME
    assert {"Key": MARKER_TAG, "Value": "ebs-stalled-io"} in call.params["TagSpecifications"][0]["Tags"]
    lost = plan_for(CATALOG, incident("ebs_volume/lost")).plan
    assert lost.calls == () and "latest snapshot is unknown" in lost.problem
    # scale-out allowed but no read: the desired capacity is what only the read can tell
    [scale] = plan_for(with_params("asg-capacity", scale_out=True), incident("asg_capacity/below_minimum")).plan.calls
    assert scale.params["DesiredCapacity"] is None


def test_a_stalled_alarm_on_missing_data_repairs_nothing() -> None:
    raw = load_event("ebs_volume/stalled_io")
    raw["detail"]["state"] = load_event("alarm_ec2_cpu_missing_data")["detail"]["state"]
    planned = plan_for(CATALOG, parse_event(raw).incident())
    # no measured value: not evidence of a stalled volume; a person is told about the volume instead
    assert planned.plan is None and "ebs-stalled-io" in planned.reason
    assert planned.notify.startswith(f"AWS/EBS/VolumeStalledIOCheck on ebs-volume {VOLUME}: nothing done")


def test_an_in_service_alarm_breached_above_stands_down() -> None:
    raw = load_event("asg_capacity/below_minimum")
    raw["detail"]["state"]["reason"] = raw["detail"]["state"]["reason"].replace("less than", "greater than")
    plan = plan_for(with_params("asg-capacity", scale_out=True), parse_event(raw).incident()).plan
    assert plan.calls == () and "not short" in plan.stand_down


def test_the_health_pattern_and_terraform_take_the_health_runbooks_codes() -> None:
    codes = {
        t
        for r in RUNBOOKS.values()
        for trig in r.default.get("triggers", ())
        for t in trig.get("types", ())
        if trig["source"] == "health"
    }
    detail = sources.HEALTH_PATTERN["detail"]
    assert codes <= set(detail["eventTypeCode"]) and {"EC2", "EBS"} <= set(detail["service"])
    assert "issue" in detail["eventTypeCategory"]
    text = (ROOT / "terraform" / "variables_remediation.tf").read_text()
    block = text[text.index('variable "health_event_types"') :]
    default = re.findall(r'"(AWS_[A-Z0-9_]+)"', block[block.index("default") : block.index("]")])
    assert default == detail["eventTypeCode"]
    remediation = (ROOT / "terraform" / "remediation.tf").read_text()
    assert 'service = ["EC2", "EBS"], eventTypeCategory = ["scheduledChange", "issue"]' in remediation


# --- safety of the plans, for any read ------------------------------------------------------------

VOLUME_STATES = st.sampled_from(["creating", "available", "in-use", "deleting", "deleted", "error"])
SNAPSHOT = st.fixed_dictionaries(
    {
        "SnapshotId": st.from_regex(r"snap-[0-9a-f]{8}", fullmatch=True),
        "State": st.sampled_from(["pending", "completed", "error", "recoverable"]),
        "StartTime": st.sampled_from(["2026-11-20T00:00:00Z", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"]),
        "Tags": st.sampled_from([[], [{"Key": MARKER_TAG, "Value": "ebs-volume"}], [{"Key": "Name", "Value": "x"}]]),
    }
)


@given(
    fixture=st.sampled_from(["ebs_volume/degraded", "ebs_volume/lost", "ebs_volume/stalled_io"]),
    state=st.one_of(st.none(), VOLUME_STATES),
    snaps=st.lists(SNAPSHOT, max_size=4),
)
def test_an_ebs_plan_only_ever_snapshots_the_volume(fixture: str, state: str | None, snaps: list[dict]) -> None:
    volumes = [] if state is None else [{"VolumeId": VOLUME, "State": state, "AvailabilityZone": "us-east-1a"}]
    facts = {"describe_volumes": {"Volumes": volumes}, "describe_snapshots": {"Snapshots": snaps}}
    plan = plan_for(CATALOG, incident(fixture), facts).plan
    assert all(c.operation == "create_snapshot" and c.params["VolumeId"] == VOLUME for c in plan.calls)
    if plan.calls:  # only a readable volume, with no snapshot of it still pending
        assert fixture != "ebs_volume/lost" and state in ("creating", "available", "in-use")
        assert ebs_volume.pending(facts) is None
    if fixture == "ebs_volume/lost" and state is not None:
        latest = ebs_volume.latest_completed(facts)
        assert (latest["SnapshotId"] if latest else "no completed snapshot") in plan.problem


ACTIVITY = st.fixed_dictionaries(
    {
        "StatusCode": st.sampled_from(["Successful", "Failed", "Cancelled", "InProgress", "PreInService"]),
        "Description": st.just("Launching a new EC2 instance"),
        "StartTime": st.sampled_from(["2026-11-23T10:00:00Z", "2026-11-23T10:30:00Z"]),
        "StatusMessage": st.just("We currently do not have sufficient t3.micro capacity"),
    }
)


@given(
    minimum=st.integers(0, 5),
    extra=st.integers(0, 5),
    room=st.integers(0, 3),
    serving=st.integers(0, 10),
    found=st.lists(ACTIVITY, max_size=4),
    scale_out=st.booleans(),
)
def test_an_asg_plan_scales_out_by_one_within_max_size_only_when_safe(
    minimum: int, extra: int, room: int, serving: int, found: list[dict], scale_out: bool
) -> None:
    desired = minimum + extra
    group = {
        "AutoScalingGroupName": "web-asg",
        "MinSize": minimum,
        "DesiredCapacity": desired,
        "MaxSize": desired + room,
        "Instances": [{"InstanceId": f"i-{n:017x}", "LifecycleState": "InService"} for n in range(serving)],
    }
    facts = {
        "describe_auto_scaling_groups": {"AutoScalingGroups": [group]},
        "describe_scaling_activities": {"Activities": found},
    }
    cat = with_params("asg-capacity", scale_out=scale_out)
    plan = plan_for(cat, incident("asg_capacity/below_minimum"), facts).plan
    assert all(c.operation == "set_desired_capacity" for c in plan.calls)
    codes = {a["StatusCode"] for a in found}
    if plan.calls:
        [call] = plan.calls
        assert scale_out and serving < desired and room > 0 and not codes & {"Failed", "Cancelled"}
        assert call.params["DesiredCapacity"] == desired + 1 <= group["MaxSize"]
    elif serving < max(desired, minimum) and not codes & set(asg_capacity.UNDER_WAY):
        assert "in service of desired" in plan.problem  # a person reads the sizes
