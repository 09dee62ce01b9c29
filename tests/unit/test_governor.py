"""The governor's decision: each rule, the order in which they apply, and the in-flight limit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.core.governor import RULES, State, decide, gate, in_flight_limit
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target

NOW = 1_800_000_000_000
MIN = 60_000

ALARM = Incident(
    "alarm", "arn:aws:cloudwatch:us-east-1:1:alarm:cpu#2026-11-23T10:00:00", "open", "AWS/EC2/CPUUtilization", ("i-1",)
)
OK = replace(ALARM, identity="arn:aws:cloudwatch:us-east-1:1:alarm:cpu#2026-11-23T10:20:00", state="resolved")
PLAN = Plan(
    "ec2-reboot",
    Target("ec2-instance", "i-1", "asg:web"),
    (Call("ec2", "reboot_instances", {"InstanceIds": ["i-1"]}),),
)
LIVE = Limits(dry_run=False, cooldown_s=900, max_attempts=2, hourly_rate=5, max_in_flight=3)


def test_a_plan_that_may_act_acts_with_rule_ok() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule, verdict.pause) == ("act", "ok", False)
    assert "ec2-reboot" in verdict.reason and "i-1" in verdict.reason


def test_no_runbook_is_ignored() -> None:
    verdict = decide(ALARM, None, None, State(), NOW)
    assert (verdict.decision, verdict.rule) == ("ignore", "no-runbook")
    assert "AWS/EC2/CPUUtilization" in verdict.reason


def test_an_identity_already_decided_is_a_duplicate_even_when_everything_else_would_act() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(seen=True), NOW)
    assert (verdict.decision, verdict.rule) == ("suppressed", "duplicate")


def test_events_caused_by_selfheal_never_trigger_a_runbook() -> None:
    own = replace(ALARM, caused_by_selfheal="instance tagged selfheal:action")
    verdict = decide(own, PLAN, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule) == ("ignore", "own-action")
    assert "selfheal:action" in verdict.reason


def test_a_resolved_event_heals_only_an_open_action() -> None:
    assert decide(OK, PLAN, LIVE, State(open_action="a1"), NOW).decision == "healed"
    nothing_open = decide(OK, PLAN, LIVE, State(), NOW)
    assert (nothing_open.decision, nothing_open.rule) == ("ignore", "resolved")


def test_a_resolved_event_never_acts_even_on_a_plan_with_calls() -> None:
    assert decide(OK, PLAN, LIVE, State(), NOW).decision != "act"


@pytest.mark.parametrize(
    "plan",
    [
        Plan("ec2-reboot", None, (), problem="metric math over i-1 and i-2"),
        Plan("ec2-reboot", None, ()),
        Plan("ec2-reboot", Target("ec2-instance", "", ""), (), problem="no InstanceId dimension"),
    ],
)
def test_an_ambiguous_or_missing_target_escalates_without_calls(plan: Plan) -> None:
    verdict = decide(ALARM, plan, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule, verdict.pause) == ("escalate", "ambiguous-target", False)


def test_a_paused_resource_is_suppressed_with_the_pause_reason() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(paused="acted twice in 6h"), NOW)
    assert (verdict.decision, verdict.rule) == ("suppressed", "paused")
    assert "acted twice in 6h" in verdict.reason


def test_cooldown_suppresses_until_it_has_fully_passed() -> None:
    inside = decide(ALARM, PLAN, LIVE, State(last_action_ms=NOW - 15 * MIN + 1), NOW)
    assert (inside.decision, inside.rule) == ("suppressed", "cooldown")
    assert "cooldown ends in 0s" in inside.reason
    assert decide(ALARM, PLAN, LIVE, State(last_action_ms=NOW - 15 * MIN), NOW).decision == "act"


def test_an_exhausted_attempt_budget_escalates_and_pauses() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(attempts_in_window=2, last_action_ms=NOW - 16 * MIN), NOW)
    assert (verdict.decision, verdict.rule, verdict.pause) == ("escalate", "attempt-budget", True)
    assert decide(ALARM, PLAN, LIVE, State(attempts_in_window=1), NOW).decision == "act"


def test_the_hourly_rate_suppresses() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(runbook_last_hour=5), NOW)
    assert (verdict.decision, verdict.rule) == ("suppressed", "hourly-rate")


def test_a_full_fleet_suppresses_with_the_blast_radius_rule() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(in_flight=3, fleet_size=40), NOW)
    assert (verdict.decision, verdict.rule) == ("suppressed", "blast-radius")
    assert "asg:web" in verdict.reason and "limit 3" in verdict.reason


def test_the_kill_switch_turns_an_act_into_a_dry_run() -> None:
    verdict = decide(ALARM, PLAN, LIVE, State(kill_switch=True), NOW)
    assert (verdict.decision, verdict.rule) == ("dry_run", "kill-switch")


def test_the_kill_switch_wins_over_approval_and_dry_run() -> None:
    critical = replace(LIVE, approval=True, dry_run=True)
    assert decide(ALARM, PLAN, critical, State(kill_switch=True), NOW).rule == "kill-switch"


def test_a_dry_run_runbook_reports_its_calls() -> None:
    verdict = decide(ALARM, PLAN, replace(LIVE, dry_run=True), State(), NOW)
    assert (verdict.decision, verdict.rule) == ("dry_run", "dry-run")
    assert "1 calls" in verdict.reason


def test_a_critical_runbook_waits_for_approval() -> None:
    verdict = decide(ALARM, PLAN, replace(LIVE, approval=True), State(), NOW)
    assert (verdict.decision, verdict.rule) == ("awaiting_approval", "approval")


def test_the_rules_apply_in_the_agreed_order() -> None:
    # GIVEN a state in which every rule would fire
    everything = State(
        seen=True,
        paused="p",
        last_action_ms=NOW,
        attempts_in_window=9,
        in_flight=9,
        runbook_last_hour=9,
        open_action="a",
        kill_switch=True,
    )
    own = replace(ALARM, caused_by_selfheal="tag")
    ambiguous = replace(PLAN, target=None, problem="composite alarm")
    critical = replace(LIVE, approval=True, dry_run=True)
    # WHEN each rule's cause is removed in turn, THEN the next rule in the agreed order decides
    steps = [
        (ALARM, PLAN, critical, everything, "duplicate"),
        (own, PLAN, critical, replace(everything, seen=False), "own-action"),
        (replace(ALARM, state="resolved"), PLAN, critical, replace(everything, seen=False), "resolved"),
        (ALARM, ambiguous, critical, replace(everything, seen=False), "ambiguous-target"),
        (ALARM, PLAN, critical, replace(everything, seen=False), "paused"),
        (ALARM, PLAN, critical, replace(everything, seen=False, paused=""), "cooldown"),
        (ALARM, PLAN, critical, replace(everything, seen=False, paused="", last_action_ms=None), "attempt-budget"),
    ]
    rest = replace(everything, seen=False, paused="", last_action_ms=None, attempts_in_window=0)
    steps += [
        (ALARM, PLAN, critical, rest, "hourly-rate"),
        (ALARM, PLAN, critical, replace(rest, runbook_last_hour=0), "blast-radius"),
        (ALARM, PLAN, critical, replace(rest, runbook_last_hour=0, in_flight=0), "kill-switch"),
    ]
    calm = State()
    steps += [
        (ALARM, PLAN, critical, calm, "dry-run"),
        (ALARM, PLAN, replace(critical, dry_run=False), calm, "approval"),
        (ALARM, PLAN, LIVE, calm, "ok"),
    ]
    assert [decide(i, p, lim, s, NOW).rule for i, p, lim, s, _ in steps] == [rule for *_, rule in steps]


def test_every_verdict_names_a_known_rule_and_a_sentence() -> None:
    states = [State(), State(seen=True), State(paused="x"), State(in_flight=5), State(kill_switch=True)]
    for state in states:
        for incident in (ALARM, OK):
            verdict = decide(incident, PLAN, LIVE, state, NOW)
            assert verdict.rule in RULES
            assert len(verdict.reason.split()) >= 3


def test_gate_passes_a_plan_the_limits_allow_and_names_the_limit_that_blocks() -> None:
    assert gate(PLAN, LIVE, State(), NOW) is None
    assert gate(PLAN, LIVE, State(in_flight=3), NOW).rule == "blast-radius"


@pytest.mark.parametrize(
    ("max_n", "pct", "size", "expected"),
    [
        (1, 0.0, None, 1),  # the default: one at a time
        (50, 10.0, 100, 10),  # 10 % of 100 is stricter than 50
        (5, 10.0, 100, 5),  # 5 is stricter than 10 %
        (50, 10.0, 15, 1),  # 10 % of 15 rounds down to 1
        (50, 10.0, 5, 1),  # never below one
        (50, 10.0, None, 50),  # unknown fleet size: N alone
        (0, 0.0, None, 1),  # a zero limit still lets one through
        (50, 33.3, 30, 9),  # floor(9.99)
        (50, 10.0, 30, 3),  # floor(3.0) despite float error
    ],
)
def test_in_flight_limit_is_the_stricter_of_n_and_p_percent_never_below_one(
    max_n: int, pct: float, size: int | None, expected: int
) -> None:
    assert in_flight_limit(Limits(max_in_flight=max_n, max_in_flight_pct=pct), size) == expected


def test_the_table_defines_exactly_the_attributes_its_keys_use() -> None:
    from chalicelib.adapters.governor_store import table_definition

    table = table_definition("governor")
    keys = {k["AttributeName"] for k in table["KeySchema"]}
    for index in table["GlobalSecondaryIndexes"]:
        keys |= {k["AttributeName"] for k in index["KeySchema"]}
    assert {a["AttributeName"] for a in table["AttributeDefinitions"]} == keys  # DynamoDB rejects any other
