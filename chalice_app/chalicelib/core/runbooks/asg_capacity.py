"""asg-capacity: an Auto Scaling group below its capacity → tell a person what the group says (sizes and
its last activities); scale out within ``MaxSize`` only when the catalog allows it.

Its business (``MATCHES``): an alarm on ``AWS/AutoScaling`` ``GroupInServiceInstances`` about one group
(its ``AutoScalingGroupName`` dimension) on measured datapoints: breached *below* its threshold, or a
metric-math alarm comparing it with ``GroupDesiredCapacity`` (``IF(m1 < m2, 1, 0)``, whose side the
event cannot tell) — group metrics are published only when the group's metrics collection is on
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-metrics.html). What decides is
the read, not the alarm: the group (``DescribeAutoScalingGroups``) with fewer instances ``InService``
than its desired capacity or its minimum is below capacity; otherwise the runbook stands down.

- A launch under way (an activity ``InProgress``, ``PreInService``, ...) stands down: the group is
  catching up by itself.
- By default nothing is changed: the plan escalates with min / desired / max / in service and the
  group's last activities (``DescribeScalingActivities``), the failed ones with their
  ``StatusMessage`` (a launch template's missing AMI, an exhausted subnet, an instance-type shortage).
- With the catalog's ``scale_out: true`` it raises the desired capacity by one
  (``SetDesiredCapacity``, honouring the group's cooldown) — never above ``MaxSize``, and never when
  the recent launches failed: more launches of the same template fail the same way, so that escalates.

Never terminates, detaches or suspends anything. Verify: the alarm returns to OK. Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.core.runbooks.conditions import Condition
from chalicelib.core.runbooks.declare import ANY, GROUPS, Grant, Runbook
from chalicelib.core.runbooks.plan import Call, Incident, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.entry import RunbookEntry

NAME = "asg-capacity"
METRIC = "GroupInServiceInstances"
# Activities read (newest first) and shown in the notice.
ACTIVITIES = 10
SHOWN = 5
# Activity status codes of a launch that is still going
# (https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_Activity.html).
UNDER_WAY = (
    "PendingSpotBidPlacement",
    "WaitingForSpotInstanceRequestId",
    "WaitingForSpotInstanceId",
    "WaitingForInstanceId",
    "PreInService",
    "InProgress",
    "WaitingForELBConnectionDraining",
    "MidLifecycleAction",
    "WaitingForInstanceWarmup",
    "WaitingForConnectionDraining",
)
FAILED = ("Failed", "Cancelled")


def group_name(incident: Incident) -> tuple[str, str]:
    """(the Auto Scaling group's name, '') from the incident's one resource ("asg:<name>"), or ('', why)."""
    resource, problem = targets.one_resource(incident)
    if problem:
        return "", problem
    name = resource.removeprefix("asg:")  # a catalog's own target dimension gives the bare name
    return (name, "") if name else ("", f"{resource!r} is not an Auto Scaling group")


def reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The group (sizes, instances) and its last activities."""
    name, problem = group_name(incident)
    if problem:
        return ()
    return (
        Call("autoscaling", "describe_auto_scaling_groups", {"AutoScalingGroupNames": [name]}, mutating=False),
        Call(
            "autoscaling",
            "describe_scaling_activities",
            # The history spans six weeks: read only the last page's worth (the reads paginate).
            {"AutoScalingGroupName": name, "PaginationConfig": {"MaxItems": ACTIVITIES, "PageSize": ACTIVITIES}},
            mutating=False,
        ),
    )


def group(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The group the read found (None when none)."""
    found = ((facts or {}).get("describe_auto_scaling_groups") or {}).get("AutoScalingGroups") or []
    return found[0] if found else None


def in_service(found: Mapping[str, Any]) -> int:
    """The group's instances in the ``InService`` lifecycle state."""
    return sum(1 for i in found.get("Instances") or [] if i.get("LifecycleState") == "InService")


def activities(facts: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The group's activities the read returned, newest first."""
    found = list(((facts or {}).get("describe_scaling_activities") or {}).get("Activities") or [])
    return sorted(found, key=lambda a: str(a.get("StartTime", "")), reverse=True)[:ACTIVITIES]


def sizes(found: Mapping[str, Any]) -> str:
    """``1 in service of desired 3 (min 2, max 4)``."""
    return (
        f"{in_service(found)} in service of desired {found.get('DesiredCapacity')} "
        f"(min {found.get('MinSize')}, max {found.get('MaxSize')})"
    )


def described(found: list[dict[str, Any]]) -> str:
    """The last activities in a few words, a failed one with its status message."""
    words = []
    for activity in found[:SHOWN]:
        status = str(activity.get("StatusCode", "?"))
        text = f"{status}: {activity.get('Description', '')}".strip()
        if status in FAILED and activity.get("StatusMessage"):
            text += f" ({activity['StatusMessage']})"
        words.append(text)
    return "; ".join(words) if words else "none recorded"


def plan(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any] | None) -> Plan:
    """Escalate with the group's sizes and activities; scale out by one within MaxSize when allowed."""
    name, problem = group_name(incident)
    if problem:
        return targets.no_target(entry.name, problem)
    target = Target(kind="asg", id=name, region=incident.region)
    if incident.facts.get("breached") == "above":
        return Plan(entry.name, target, stand_down=f"the alarm breached above its threshold: {name} is not short")
    scale_out = bool(entry.params.get("scale_out"))
    if facts is None:
        if not scale_out:
            return Plan(entry.name, target, problem=f"group {name} is below capacity: nothing done (scale_out is off)")
        call = Call("autoscaling", "set_desired_capacity", {"AutoScalingGroupName": name, "DesiredCapacity": None})
        return Plan(entry.name, target, (call,))
    found = group(facts)
    error = targets.read_error(facts, "describe_auto_scaling_groups")
    if error or found is None:
        return targets.no_target(entry.name, f"Auto Scaling group {name}: {error or 'not found'}")
    desired, minimum, maximum = (int(found.get(k) or 0) for k in ("DesiredCapacity", "MinSize", "MaxSize"))
    if in_service(found) >= max(desired, minimum):
        return Plan(entry.name, target, stand_down=f"group {name} is at capacity: {sizes(found)}")
    recent = activities(facts)
    going = [a for a in recent if a.get("StatusCode") in UNDER_WAY]
    if going:
        return Plan(entry.name, target, stand_down=f"group {name} is launching ({described(going)}): {sizes(found)}")
    what = f"group {name} is below capacity: {sizes(found)}; last activities: {described(recent)}"
    failing = [a for a in recent if a.get("StatusCode") in FAILED]
    if not scale_out:
        return Plan(entry.name, target, problem=f"{what}; nothing done (scale_out is off)")
    if failing:
        return Plan(entry.name, target, problem=f"{what}; launches are failing: more launches would not help")
    if desired >= maximum:
        return Plan(entry.name, target, problem=f"{what}; desired capacity is at MaxSize {maximum}: not raised")
    params = {"AutoScalingGroupName": name, "DesiredCapacity": desired + 1, "HonorCooldown": True}
    return Plan(entry.name, target, (Call("autoscaling", "set_desired_capacity", params),))


def before(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state recorded in the audit: the group's sizes and in-service count."""
    found = group(facts) or {}
    return {
        **{k: found.get(k) for k in ("MinSize", "DesiredCapacity", "MaxSize")},
        "in_service": in_service(found) if found else None,
    }


RUNBOOK = Runbook(
    name=NAME,
    summary="Tell a person why an Auto Scaling group is below capacity (sizes, failed activities); "
    "scale out by one within MaxSize when the catalog allows",
    target_kind="asg",
    layer="infrastructure",
    rank=76,
    # The side is not required: a metric-math alarm (in service < desired) cannot show it; the read decides.
    matches=Condition(source="alarm", kinds=("asg",), metrics=(f"AWS/AutoScaling/{METRIC}",), needs_datapoints=True),
    verify="the alarm returns to OK",
    plan=plan,
    reads=reads,
    before=before,
    params={"scale_out": False},
    param_types={"scale_out": bool},
    default={
        "triggers": [
            {
                "source": "alarm",
                "namespace": "AWS/AutoScaling",
                "metric": METRIC,
                "dimensions": ["AutoScalingGroupName"],
            }
        ],
        "limits": {"cooldown_s": 1800, "max_attempts": 2, "max_in_flight": 1},
    },
    permissions=(
        Grant(
            "ReadGroupsAndActivities",
            ("autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"),
            ANY,
            why="no resource-level permissions for these reads",
        ),
        Grant("ScaleOutTaggedGroups", ("autoscaling:SetDesiredCapacity",), (GROUPS,), tagged=True),
    ),
)
