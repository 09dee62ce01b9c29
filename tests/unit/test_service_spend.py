"""core/service_spend.py: which services have limits of their own, and which refusal is the stricter."""

from __future__ import annotations

from chalicelib.core.service_spend import decide_service_claim, decide_service_spend, service_limits, stricter
from chalicelib.core.services import DEFAULT, Service
from chalicelib.core.spend import DAY_MS, HOUR_MS, GroupFacts, SpendLimits, SpendState, day_start

NOW = day_start(1_800_000_000_000) + 9 * HOUR_MS + 5 * 60_000
OVERALL = SpendLimits(fixes_per_hour=10, fixes_per_day=50, min_occurrences=2, tokens_per_day=2_000_000)
FACTS = GroupFacts("f" * 32, occurrences=2)


def test_a_service_without_limits_of_its_own_is_decided_by_the_deployments_alone() -> None:
    assert service_limits(DEFAULT, OVERALL) is None
    assert service_limits(None, OVERALL) is None
    # a minimum at or below the deployment's adds nothing: the deployment's minimum applies anyway
    assert service_limits(Service("billing", min_occurrences=2), OVERALL) is None
    assert service_limits(Service("billing", min_occurrences=3), OVERALL) == SpendLimits(min_occurrences=3)
    assert service_limits(Service("billing", fixes_per_hour=1), OVERALL) == SpendLimits(fixes_per_hour=1)


def test_a_job_leaves_only_when_both_send_and_the_services_refusal_names_it() -> None:
    own = SpendLimits(fixes_per_hour=1)
    sent = decide_service_spend(FACTS, OVERALL, SpendState(), "billing", own, SpendState(), NOW)
    assert sent.send
    refused = decide_service_spend(FACTS, OVERALL, SpendState(), "billing", own, SpendState(hour_used=1), NOW)
    assert (refused.send, refused.rule) == (False, "hourly-budget")
    assert refused.stored_reason().startswith("hourly-budget: billing's hourly budget: this hour's 1 fix jobs")
    # the deployment's refusal is not the service's
    spent = SpendState(hour_used=10)
    assert decide_service_spend(FACTS, OVERALL, spent, "billing", own, SpendState(), NOW).reason.startswith("this hour")


def test_the_stricter_refusal_wins_the_longer_wait() -> None:
    own = SpendLimits(fixes_per_day=3)
    # the deployment's hour is spent (wait: next hour), billing's day too (wait: tomorrow) → billing's day
    verdict = decide_service_spend(
        FACTS, OVERALL, SpendState(hour_used=10), "billing", own, SpendState(day_used=3), NOW
    )
    assert verdict.rule == "daily-budget" and verdict.reason.startswith("billing's daily budget")
    assert verdict.wait_until_ms == day_start(NOW) + DAY_MS
    # same rule: the higher minimum
    low = decide_service_spend(
        GroupFacts("f" * 32, occurrences=1),
        OVERALL,
        SpendState(),
        "b",
        SpendLimits(min_occurrences=4),
        SpendState(),
        NOW,
    )
    assert (low.rule, low.reopen_at) == ("min-occurrences", 4)
    assert stricter(low, decide_service_spend(FACTS, OVERALL, SpendState(), "b", None, SpendState(), NOW)) == low


def test_the_claim_checks_the_services_token_ceiling_too() -> None:
    own = SpendLimits(tokens_per_day=20_000)
    assert decide_service_claim(OVERALL, SpendState(), "billing", own, SpendState(tokens_today=19_999), NOW).send
    over = decide_service_claim(OVERALL, SpendState(), "billing", own, SpendState(tokens_today=20_000), NOW)
    assert over.rule == "token-ceiling" and over.reason.startswith("billing's daily token ceiling")
