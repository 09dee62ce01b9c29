"""The notify-only verdict: a runbook that found its target and tells a person, as the governor decides
it, words it and counts it; the ambiguous target keeps its own rule."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.governor import RULES, State, decide
from chalicelib.core.heal_stats import DayCounts, aggregate
from chalicelib.core.notices import decision_notice
from chalicelib.core.runbooks import plan_for
from chalicelib.core.runbooks.catalog import default_catalog
from chalicelib.core.runbooks.plan import Incident, Limits, Plan, Target
from chalicelib.events.parse import parse_event
from tests.conftest import load_event

NOW = 1_800_000_000_000
ALARM = Incident(
    "alarm", "arn:aws:cloudwatch:us-east-1:1:alarm:hc#2026-12-05T10:00:00", "open", "AWS/Route53/HealthCheckStatus",
    ("hc-1",),
)  # fmt: skip
CHECK = Target("route53-health-check", "hc-1")
TOLD = Plan("route53-health", CHECK, tell="Route 53 health check hc-1 on HTTPS api.example.com:443/health is unhealthy")
LIVE = Limits(dry_run=False)


def test_a_runbook_that_tells_is_decided_notify_only_with_its_facts_as_the_reason() -> None:
    verdict = decide(ALARM, TOLD, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule, verdict.pause) == ("escalate", "notify-only", False)
    assert verdict.reason == TOLD.tell and "no single target" not in verdict.reason
    assert "notify-only" in RULES


def test_a_composite_alarm_stays_ambiguous() -> None:
    composite = Plan("ec2-reboot", None, problem="a composite alarm names no metric")
    verdict = decide(ALARM, composite, LIVE, State(), NOW)
    assert (verdict.decision, verdict.rule) == ("escalate", "ambiguous-target")
    assert verdict.reason == "no single target, nothing done: a composite alarm names no metric"


def test_duplicate_own_action_and_resolved_decide_before_telling() -> None:
    assert decide(ALARM, TOLD, LIVE, State(seen=True), NOW).rule == "duplicate"
    assert decide(replace(ALARM, caused_by_selfheal="tag"), TOLD, LIVE, State(), NOW).rule == "own-action"
    assert decide(replace(ALARM, state="resolved"), TOLD, LIVE, State(), NOW).rule == "resolved"


def test_no_limit_holds_back_a_notice_and_telling_consumes_none() -> None:
    # GIVEN every limit exhausted, the kill switch on, the runbook critical and in dry-run
    limits = Limits(dry_run=True, approval=True, max_attempts=1, hourly_rate=1)
    state = State(
        paused="p", last_action_ms=NOW, attempts_in_window=5, runbook_last_hour=5, in_flight=5, kill_switch=True
    )
    # THEN the person is still told, and no pause is asked for
    verdict = decide(ALARM, TOLD, limits, state, NOW)
    assert (verdict.decision, verdict.rule, verdict.pause) == ("escalate", "notify-only", False)


def test_the_route53_and_elb_runbooks_tell_rather_than_report_a_problem() -> None:
    catalog = default_catalog()
    raw = load_event("route53_health/health_check_status")
    planned = plan_for(catalog, parse_event(raw).incident())
    assert planned.plan.tell and not planned.plan.problem and planned.plan.target is not None
    verdict = decide(planned.incident, planned.plan, planned.entry.limits, State(), NOW)
    assert (verdict.decision, verdict.rule) == ("escalate", "notify-only")


def test_its_notice_says_a_person_is_told_not_that_automation_gave_up() -> None:
    notice = decision_notice(
        "escalate", runbook="route53-health", resource="hc-1", reason=TOLD.tell, rule="notify-only"
    )
    assert notice is not None and notice.kind == "selfheal.escalate"
    assert notice.title == "👀 hc-1 needs a look: route53-health tells, changes nothing"
    assert TOLD.tell in notice.description and notice.context["rule"] == "notify-only"
    assert not any("resume" in step for step in notice.next_steps)
    assert "selfheal.py actions --resource hc-1" in notice.next_steps[-1]
    ambiguous = decision_notice("escalate", runbook="ec2-reboot", resource="", reason="x", rule="ambiguous-target")
    assert ambiguous is not None and "needs a human" in ambiguous.title


def test_it_counts_as_escalated_in_the_stats_contract() -> None:
    stats = aggregate([DayCounts("2026-12-05", "route53-health", escalated=2)], lambda _: "network").as_json()
    [row] = stats["runbooks"]
    assert {"runbook", "layer", "acted", "healed", "escalated", "failed", "suppressed", "success_rate",
            "median_time_to_heal_s"} <= set(row)  # fmt: skip
    assert (row["escalated"], row["acted"], row["success_rate"]) == (2, 0, None)
