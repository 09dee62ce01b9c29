"""Per-service spend limits (issue 14 × issue 12): a service's own budgets beside the deployment's. Pure.

A service of the catalog may carry limits of its own (``fixes_per_hour``, ``fixes_per_day``,
``tokens_per_day``, and a ``min_occurrences`` above the deployment's). Its jobs are then decided
twice with core/spend.py ``decide_spend``: with the deployment's limits against the deployment's
counters, and with the service's limits against the service's own counters. A job leaves only when
both say send; when either refuses, the stricter refusal is stored (rule order of ``SPEND_RULES``:
a daily budget before an hourly one, so the wait is the longer; on the same rule the later wait).
A refusal by the service's limits names them: ``hourly-budget: billing's hourly budget: this
hour's 1 fix jobs are spent; ...``.

A service without limits of its own (every field 0, no minimum above the deployment's; the
default service without a catalog) is decided exactly as before: the deployment's limits alone,
no counter of its own read or written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.core.spend import SPEND_RULES, SpendLimits, decide_claim, decide_spend

if TYPE_CHECKING:
    from chalicelib.core.services import Service
    from chalicelib.core.spend import GroupFacts, SpendState, SpendVerdict

# How a refusal by a service's own limit names that limit ("billing's hourly budget").
LIMIT_NAMES = {
    "hourly-budget": "hourly budget",
    "daily-budget": "daily budget",
    "token-ceiling": "daily token ceiling",
    "min-occurrences": "minimum occurrences",
}


def service_limits(service: Service | None, overall: SpendLimits) -> SpendLimits | None:
    """The limits of ``service`` of its own, or None when it has none (the deployment's decide alone).

    ``min_occurrences`` counts as a limit of its own only above the deployment's (a lower one
    cannot loosen the deployment's minimum: both decisions apply)."""
    if service is None:
        return None
    minimum = service.min_occurrences or 0
    own_minimum = minimum if minimum > max(1, overall.min_occurrences) else 0
    if not (service.fixes_per_hour or service.fixes_per_day or service.tokens_per_day or own_minimum):
        return None
    return SpendLimits(
        fixes_per_hour=service.fixes_per_hour,
        fixes_per_day=service.fixes_per_day,
        min_occurrences=own_minimum,
        tokens_per_day=service.tokens_per_day,
    )


def counts_jobs(limits: SpendLimits | None) -> bool:
    """Whether ``limits`` bound the number of jobs (a unit is taken per job)."""
    return limits is not None and bool(limits.fixes_per_hour or limits.fixes_per_day)


def reads_counters(limits: SpendLimits | None) -> bool:
    """Whether deciding with ``limits`` needs the counters (any budget or ceiling set)."""
    return limits is not None and bool(limits.fixes_per_hour or limits.fixes_per_day or limits.tokens_per_day)


def named(service: str, verdict: SpendVerdict) -> SpendVerdict:
    """A refusal by the service's own limits, its reason naming the service and the limit."""
    if verdict.send or verdict.rule not in LIMIT_NAMES:
        return verdict
    return replace(verdict, reason=f"{service}'s {LIMIT_NAMES[verdict.rule]}: {verdict.reason}")


def stricter(first: SpendVerdict, second: SpendVerdict) -> SpendVerdict:
    """The verdict that holds when both must pass: a send only when both send; of two refusals,
    the earlier rule of ``SPEND_RULES`` (the longer wait), then the later wait; ``first`` on a tie."""
    if first.send:
        return second
    if second.send:
        return first
    order = SPEND_RULES.index
    if order(first.rule) != order(second.rule):
        return first if order(first.rule) < order(second.rule) else second
    later = (second.wait_until_ms, second.reopen_at) > (first.wait_until_ms, first.reopen_at)
    return second if later else first


def decide_service_spend(
    facts: GroupFacts,
    overall: SpendLimits,
    overall_state: SpendState,
    service: str,
    own: SpendLimits | None,
    own_state: SpendState,
    now_ms: int,
) -> SpendVerdict:
    """May the job of ``service`` leave now? The deployment's verdict, and when the service has
    limits of its own (``own``), the stricter of it and the service's (never raises)."""
    verdict = decide_spend(facts, overall, overall_state, now_ms)
    if own is None:
        return verdict
    return stricter(verdict, named(service, decide_spend(facts, own, own_state, now_ms)))


def decide_service_claim(
    overall: SpendLimits,
    overall_state: SpendState,
    service: str,
    own: SpendLimits | None,
    own_state: SpendState,
    now_ms: int,
) -> SpendVerdict:
    """The fixer's claim-time look: the deployment's token ceiling and the service's own."""
    verdict = decide_claim(overall, overall_state, now_ms)
    if own is None:
        return verdict
    return stricter(verdict, named(service, decide_claim(own, own_state, now_ms)))
