"""The governor's notify-only verdict over any state and any limits (pure, no AWS).

A runbook that found its one target and chose to tell a person (``Plan.tell``) is decided by the rule
``notify-only``: escalate (a person is told now), nothing run, nothing paused, whatever the limits,
the counters or the kill switch say; only a duplicate, selfheal's own action or a resolved event
decide before it. A plan without a target keeps ``ambiguous-target``.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.governor import CONSUMING, RULES, State, decide
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target

NOW = 1_800_000_000_000
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80)

STATES = st.builds(
    State,
    seen=st.booleans(),
    paused=st.sampled_from(["", "acted twice in 6h"]),
    last_action_ms=st.one_of(st.none(), st.integers(NOW - 3_600_000, NOW)),
    attempts_in_window=st.integers(0, 9),
    in_flight=st.integers(0, 9),
    fleet_size=st.one_of(st.none(), st.integers(1, 20)),
    runbook_last_hour=st.integers(0, 50),
    open_action=st.sampled_from(["", "a1"]),
    kill_switch=st.booleans(),
    own_action=st.sampled_from(["", "a0"]),
)
LIMITS = st.builds(
    Limits,
    cooldown_s=st.sampled_from([0, 900, 1800]),
    max_attempts=st.integers(1, 3),
    max_in_flight=st.integers(1, 3),
    hourly_rate=st.integers(1, 20),
    approval=st.booleans(),
    dry_run=st.booleans(),
)
INCIDENTS = st.builds(
    Incident,
    source=st.sampled_from(["alarm", "health", "guardduty"]),
    identity=st.just("arn:aws:cloudwatch:us-east-1:1:alarm:hc#2026-12-05T10:00:00"),
    state=st.sampled_from(["open", "resolved"]),
    subject=st.just("AWS/Route53/HealthCheckStatus"),
    resources=st.just(("hc-1",)),
    caused_by_selfheal=st.sampled_from(["", "tagged selfheal:action"]),
)
TARGETS = st.builds(Target, kind=st.just("ec2-instance"), id=st.sampled_from(["hc-1", "i-1", "tg/1"]))
# A malformed runbook may set calls beside ``tell``: telling still wins and nothing runs.
CALLS = st.lists(st.just(Call("ec2", "reboot_instances", {"InstanceIds": ["i-1"]})), max_size=2).map(tuple)


@given(INCIDENTS, TARGETS, TEXT, CALLS, LIMITS, STATES)
def test_a_plan_that_tells_is_told_or_decided_earlier_never_acted_nor_called_ambiguous(
    incident: Incident, target: Target, facts: str, calls: tuple[Call, ...], limits: Limits, state: State
) -> None:
    plan = Plan("route53-health", target, calls, tell=facts)
    verdict = decide(incident, plan, limits, state, NOW)
    assert verdict.rule in RULES
    assert verdict.decision not in CONSUMING and verdict.decision not in ("dry_run", "awaiting_approval")
    assert verdict.rule != "ambiguous-target"
    earlier = state.seen or incident.state == "resolved" or incident.caused_by_selfheal
    if not earlier:
        assert (verdict.decision, verdict.rule, verdict.reason, verdict.pause) == (
            "escalate",
            "notify-only",
            facts,
            False,
        )
    else:
        assert verdict.rule in ("duplicate", "own-action", "resolved", "notify-only")


@given(INCIDENTS, TEXT, LIMITS, STATES)
def test_a_plan_without_a_target_is_never_notify_only(
    incident: Incident, problem: str, limits: Limits, state: State
) -> None:
    # even when a runbook sets ``tell`` on it: telling needs the one target it is about
    verdict = decide(incident, Plan("route53-health", None, problem=problem, tell=problem), limits, state, NOW)
    assert verdict.rule != "notify-only" and verdict.decision not in CONSUMING
    if not (state.seen or incident.state == "resolved" or incident.caused_by_selfheal):
        assert (verdict.decision, verdict.rule) == ("escalate", "ambiguous-target")
