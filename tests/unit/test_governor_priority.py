"""Priority between runbooks on one resource, held-back rules, signals and hold deadlines (pure)."""

from __future__ import annotations

from dataclasses import replace
from email.utils import formatdate

from chalicelib.core.governor import (
    DEADLINE,
    DEADLINE_MARGIN_MS,
    HELD_RULES,
    HOLD_MS,
    REPAIR,
    SECURITY,
    State,
    decide,
    gate,
    hold_deadline,
    priority_of,
    signal_of,
)
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target

NOW = 1_800_000_000_000
LIVE = Limits(dry_run=False, cooldown_s=900, max_attempts=2, hourly_rate=5, max_in_flight=1)
FINDING = Incident("guardduty", "guardduty:f1#NETWORK_CONNECTION", "open", "Backdoor:EC2/C&CActivity.B", ("i-1",))
ISOLATE = Plan(
    "ec2-isolate",
    Target("ec2-instance", "i-1", "asg:web"),
    (Call("ec2", "modify_network_interface_attribute", {"NetworkInterfaceId": "eni-1"}),),
)


def test_priority_orders_security_before_deadlines_before_repairs() -> None:
    assert priority_of("guardduty") == SECURITY > priority_of("health") == DEADLINE > priority_of("alarm") == REPAIR


def test_a_pause_by_a_repair_does_not_hold_back_an_isolation() -> None:
    # GIVEN i-1 paused by ec2-reboot's attempt budget (a repair)
    state = State(paused="ec2-reboot acted twice", paused_priority=REPAIR, priority=SECURITY)
    # THEN the isolation is decided as if no pause
    assert decide(FINDING, ISOLATE, LIVE, state, NOW).decision == "act"
    # and a pause of its own priority still holds it back
    held = decide(FINDING, ISOLATE, LIVE, replace(state, paused_priority=SECURITY), NOW)
    assert (held.decision, held.rule) == ("suppressed", "paused")


def test_the_gate_of_an_approval_applies_the_same_priority() -> None:
    state = State(paused="repairs paused", paused_priority=REPAIR, priority=SECURITY)
    assert gate(ISOLATE, LIVE, state, NOW) is None
    assert gate(ISOLATE, LIVE, replace(state, priority=REPAIR), NOW).rule == "paused"


def test_a_security_finding_tagged_as_selfheals_is_not_own_action_without_the_governors_record() -> None:
    tagged = replace(FINDING, caused_by_selfheal="the resource carries selfheal's tag selfheal:action=x")
    # GIVEN the tag (a workload can set it) and no record of selfheal acting on i-1
    assert decide(tagged, ISOLATE, LIVE, State(priority=SECURITY), NOW).decision == "act"
    # GIVEN the governor's record of an isolation on i-1 THEN it is selfheal's own doing
    own = decide(tagged, ISOLATE, LIVE, State(priority=SECURITY, own_action="e123"), NOW)
    assert (own.decision, own.rule) == ("ignore", "own-action") and "e123" in own.reason


def test_a_repair_still_trusts_the_tag_toward_doing_less() -> None:
    alarm = Incident("alarm", "arn:a#1", "open", "AWS/EC2/CPUUtilization", ("i-1",), caused_by_selfheal="tag")
    plan = replace(ISOLATE, runbook="ec2-reboot")
    assert decide(alarm, plan, LIVE, State(), NOW).rule == "own-action"


def test_held_rules_are_the_limits_that_free_again() -> None:
    assert frozenset({"paused", "cooldown", "hourly-rate", "blast-radius"}) == HELD_RULES


def test_the_signal_of_an_alarm_is_its_arn_whatever_the_transition() -> None:
    arn = "arn:aws:cloudwatch:us-east-1:1:alarm:cpu-i-1"
    assert signal_of(f"{arn}#2026-12-05T10:00:00.000+0000") == signal_of(f"{arn}#2026-12-05T10:05:00.000+0000") == arn
    assert signal_of("arn:aws:cloudwatch:us-east-1:1:alarm:disk-i-1#t") != arn


def test_a_held_repair_waits_two_hours_at_most() -> None:
    alarm = Incident("alarm", "arn:a#1", "open", "AWS/EC2/CPUUtilization", ("i-1",))
    assert hold_deadline(alarm, NOW) == NOW + HOLD_MS[REPAIR]


def test_a_held_retirement_is_given_up_before_its_date() -> None:
    # GIVEN a retirement dated 10 hours from now
    date = NOW + 10 * 3_600_000
    text = formatdate(date / 1000, usegmt=True)
    retire = Incident("health", "arn:h#i-1", "open", "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", ("i-1",),
                      facts={"start_time": text})  # fmt: skip
    # THEN it must be acted on or escalated at the latest DEADLINE_MARGIN_MS before the date
    assert hold_deadline(retire, NOW) == date - DEADLINE_MARGIN_MS
    # and one already past that margin is escalated at once
    assert hold_deadline(retire, date - 1_000) == date - 1_000


def test_a_retirement_with_an_unreadable_date_waits_its_priority_hold() -> None:
    retire = Incident("health", "arn:h#i-1", "open", "X", ("i-1",), facts={"start_time": "soon"})
    assert hold_deadline(retire, NOW) == NOW + HOLD_MS[DEADLINE]
