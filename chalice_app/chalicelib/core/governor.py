"""The safety governor's decision: one event, its plan and the state read before → one verdict with a rule.

Pure: the store (``adapters/governor_store.py``) reads a ``State``, calls ``decide``, and makes the
verdict durable with conditional writes that re-check what the decision relied on, so a lost race
re-reads and decides again. Every verdict names the rule that decided and a sentence a person reads.

Rule order (the first that applies decides)::

    no plan                              → ignore            no-runbook
    incident identity already decided    → suppressed        duplicate
    caused by selfheal's own action      → ignore            own-action   (security: only when the
                                                                          governor's own record shows it)
    incident resolved (alarm back to OK) → healed            resolved     (an action of this signal is open)
                                         → ignore            resolved     (nothing open)
    runbook tells a person (notify-only) → escalate          notify-only        (zero calls)
    plan names no single target          → escalate          ambiguous-target   (zero calls)
    runbook stands down (rollout running)→ suppressed        stand-down
    resource paused by an escalation of  → suppressed        paused
      the same or a higher priority
    last act within the cooldown         → suppressed        cooldown
    attempts in the window ≥ budget      → escalate, pause   attempt-budget
    runbook acts in the last hour ≥ rate → suppressed        hourly-rate
    fleet in flight ≥ limit              → suppressed        blast-radius
    global kill switch on                → dry_run           kill-switch
    runbook in dry-run                   → dry_run           dry-run
    runbook (or its plan) needs approval → awaiting_approval approval
    otherwise                            → act               ok

Only ``act`` (and a later approval) consumes the cooldown, the attempt budget, the hourly rate and a
fleet slot: a dry run or a suppression changes nothing but the audit, so turning the kill switch off
again finds every resource as it was.

Priority between runbooks on one resource (``priority_of``): security (a GuardDuty finding) before a
scheduled deadline (an AWS Health event) before a repair (an alarm). A pause and the in-flight
actions of the fleet hold back only decisions of the same or a lower priority; the cooldown, the
attempt budget and the hourly rate are per runbook already. So a repair can never keep an isolation
from happening. A suppression by one of ``HELD_RULES`` is not final: the store keeps the incident
and the verifier decides it again while its signal is active (``hold_deadline`` bounds the wait).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from chalicelib.core.clock import HOUR_MS

if TYPE_CHECKING:
    from chalicelib.core.runbooks.plan import Decision, Incident, Limits, Plan

RULES: tuple[str, ...] = (
    "no-runbook",
    "duplicate",
    "own-action",
    "resolved",
    "ambiguous-target",
    "notify-only",
    "notify",
    "stand-down",
    "paused",
    "kill-switch",
    "cooldown",
    "attempt-budget",
    "hourly-rate",
    "blast-radius",
    "approval",
    "dry-run",
    "ok",
)
# Rules that apply only after the hourly rate and the blast radius passed: a verdict by any other rule
# holds whatever the in-flight and hourly counts are, so the store reads those slots only for these.
AFTER_COUNTS: frozenset[str] = frozenset({"kill-switch", "dry-run", "approval", "ok"})
# The decisions that take the resource's cooldown, an attempt, an hourly slot and a fleet slot.
CONSUMING: frozenset[str] = frozenset({"act", "approved"})
# Suppressions that hold work back until a limit frees: not final for the incident's identity.
HELD_RULES: frozenset[str] = frozenset({"paused", "cooldown", "hourly-rate", "blast-radius"})
# Priority of a decision, by the kind of signal that asked for it (higher first).
SECURITY, DEADLINE, REPAIR = 2, 1, 0
PRIORITY_NAMES = {SECURITY: "security", DEADLINE: "scheduled deadline", REPAIR: "repair"}
_PRIORITY_OF_SOURCE = {"guardduty": SECURITY, "health": DEADLINE}
# How long held-back work waits for a limit to free before a person is told (escalated).
HOLD_MS = {SECURITY: HOUR_MS, DEADLINE: 24 * HOUR_MS, REPAIR: 2 * HOUR_MS}
# A scheduled change held back is escalated this long before its date at the latest.
DEADLINE_MARGIN_MS = 6 * HOUR_MS


def priority_of(source: str) -> int:
    """The priority of an incident from ``source`` ("guardduty", "health", "alarm", ...)."""
    return _PRIORITY_OF_SOURCE.get(source, REPAIR)


def signal_of(identity: str) -> str:
    """The signal an incident identity belongs to: the identity without its last ``#`` part.

    An alarm's identity is ``<alarm ARN>#<state timestamp>``, so every transition of one alarm has
    the same signal; a Health event's is ``<event ARN>#<entity>``. Only an event of the same signal
    closes an action as healed: another alarm on the same resource going OK says nothing about it.
    """
    head, sep, _ = identity.rpartition("#")
    return head if sep else identity


def scheduled_ms(incident: Incident) -> int | None:
    """When a scheduled change (a Health event's ``start_time``) happens, epoch ms; None when unknown."""
    text = str((incident.facts or {}).get("start_time") or "")
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def hold_deadline(incident: Incident, held_since_ms: int) -> int:
    """By when held-back work must be acted on or escalated (epoch ms).

    ``HOLD_MS`` of its priority after it was first held; a scheduled change at the latest
    ``DEADLINE_MARGIN_MS`` before its date (and never later than now when the date is that close).
    """
    priority = priority_of(incident.source)
    deadline = held_since_ms + HOLD_MS[priority]
    date = scheduled_ms(incident)
    if date is not None:
        deadline = max(held_since_ms, min(deadline, date - DEADLINE_MARGIN_MS))
    return deadline


@dataclass(frozen=True)
class State:
    """What the store read before deciding (the store re-checks it in its conditional writes).

    Counters are those live at the time of the read: ``attempts_in_window`` counts acts of
    (runbook, resource) within ``limits.attempt_window_s``; ``runbook_last_hour`` counts acts of the
    runbook over all resources in the last hour; ``in_flight`` counts acted, not yet verified (nor
    failed, nor overdue) actions in the target's fleet.
    """

    seen: bool = False  # this incident identity was already decided (duplicate / re-published)
    paused: str = ""  # non-empty: the resource is paused by an escalation (why)
    last_action_ms: int | None = None  # last act of (runbook, resource)
    attempts_in_window: int = 0  # acts of (runbook, resource) in limits.attempt_window_s
    in_flight: int = 0  # actions in flight in the target's fleet
    fleet_size: int | None = None  # members of the fleet (ASG desired/instances, ECS services, ...) when known
    runbook_last_hour: int = 0  # acts of this runbook in the last hour, all resources
    open_action: str = ""  # id of an acted, not yet verified action on this resource (for "resolved" events)
    kill_switch: bool = False  # global kill switch (SSM): everything becomes dry_run
    priority: int = REPAIR  # priority of this decision (priority_of the incident's source)
    paused_priority: int = REPAIR  # priority of the escalation that paused the resource
    own_action: str = ""  # the governor's record of selfheal's own action on the resource ('' = none found)


@dataclass(frozen=True)
class Verdict:
    """The governor's answer for one event: the decision, the rule that made it, and why in words."""

    decision: Decision
    rule: str  # one of RULES
    reason: str  # a sentence a person reads
    pause: bool = False  # escalation that pauses the resource until `resume`


def in_flight_limit(limits: Limits, fleet_size: int | None) -> int:
    """How many actions may be in flight at once in a fleet of ``fleet_size`` members (None: unknown).

    ``max_in_flight`` and, when ``max_in_flight_pct`` (a percentage, 10.0 = 10 %) is set and the
    fleet size is known, ``floor(pct × size / 100)``: the stricter wins, never below one — a limit
    of zero would make a runbook silently useless, one keeps the blast radius at a single member.
    """
    limit = limits.max_in_flight
    if limits.max_in_flight_pct > 0 and fleet_size is not None and fleet_size > 0:
        limit = min(limit, math.floor(limits.max_in_flight_pct * fleet_size / 100 + 1e-9))
    return max(1, limit)


def _seconds(ms: int) -> str:
    seconds = max(0, ms) // 1000
    if seconds >= 3600 and seconds % 60 == 0:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _preliminaries(incident: Incident, plan: Plan | None, limits: Limits | None, state: State) -> Verdict | None:
    """The rules that hold whatever the limits: no runbook, duplicate, own action, resolved, notify-only,
    ambiguous target, stand-down."""
    if plan is None or limits is None:
        if incident.notify and not incident.never_act:
            # A known resource no runbook repairs: a person reads it in the next digest, once per event.
            if state.seen:
                return Verdict("suppressed", "duplicate", f"event {incident.identity} was already decided")
            return Verdict("notify", "notify", incident.notify)
        why = incident.never_act or f"no runbook matches {incident.subject or incident.source}"
        return Verdict("ignore", "no-runbook", why)
    if state.seen:
        return Verdict("suppressed", "duplicate", f"event {incident.identity} was already decided")
    if incident.caused_by_selfheal and (state.priority < SECURITY or state.own_action):
        # A tag or a principal name is something a workload can set: for a security finding only the
        # governor's own record of an action on the resource makes it selfheal's own doing.
        proof = f"; action {state.own_action}" if state.own_action else ""
        return Verdict(
            "ignore", "own-action", f"caused by selfheal's own action ({incident.caused_by_selfheal}{proof})"
        )
    if incident.state == "resolved":
        if state.open_action:
            return Verdict("healed", "resolved", f"resolved: action {state.open_action} verified as healed")
        return Verdict("ignore", "resolved", "resolved with no open action to verify")
    if plan.tell and plan.target is not None:  # telling wins over any calls beside it: nothing runs
        # The runbook found its one target and chose to tell a person what it read: told now (a
        # page, counted as escalated), nothing run, nothing paused, no limit consumed.
        return Verdict("escalate", "notify-only", plan.tell)
    if plan.problem or plan.target is None:
        why = plan.problem or "the event names no target"
        return Verdict("escalate", "ambiguous-target", f"no single target, nothing done: {why}")
    if plan.stand_down:
        return Verdict("suppressed", "stand-down", f"{plan.runbook} stands down on {plan.target.id}: {plan.stand_down}")
    return None


def gate(plan: Plan, limits: Limits, state: State, now_ms: int) -> Verdict | None:
    """The rules of the runbook's limits alone — pause, cooldown, attempt budget, hourly rate, blast radius.

    None when the plan may act as far as the limits go; what an approval must still pass before it
    runs. ``decide`` applies it after the preliminaries.
    """
    target = plan.target.id if plan.target else "?"
    if state.paused and state.paused_priority >= state.priority:
        return Verdict("suppressed", "paused", f"{target} is paused until resumed: {state.paused}")
    cooldown_ms = limits.cooldown_s * 1000
    if state.last_action_ms is not None and now_ms - state.last_action_ms < cooldown_ms:
        left = state.last_action_ms + cooldown_ms - now_ms
        return Verdict(
            "suppressed", "cooldown", f"{plan.runbook} acted on {target} recently; cooldown ends in {_seconds(left)}"
        )
    if state.attempts_in_window >= limits.max_attempts:
        return Verdict(
            "escalate",
            "attempt-budget",
            f"{plan.runbook} already acted {state.attempts_in_window} times on {target} within "
            f"{_seconds(limits.attempt_window_s * 1000)}; paused for a human",
            pause=True,
        )
    if state.runbook_last_hour >= limits.hourly_rate:
        return Verdict(
            "suppressed", "hourly-rate", f"{plan.runbook} reached its rate of {limits.hourly_rate} actions per hour"
        )
    limit = in_flight_limit(limits, state.fleet_size)
    if state.in_flight >= limit:
        fleet = plan.target.fleet if plan.target and plan.target.fleet else target
        size = "" if state.fleet_size is None else f" of {state.fleet_size}"
        return Verdict(
            "suppressed",
            "blast-radius",
            f"{state.in_flight} actions already in flight in {fleet}{size} (limit {limit})",
        )
    return None


def decide(incident: Incident, plan: Plan | None, limits: Limits | None, state: State, now_ms: int) -> Verdict:
    """The governor's verdict for one event (rule order in the module docstring); never raises.

    ``plan`` and ``limits`` are None when no runbook matches. ``now_ms`` is epoch milliseconds.
    A verdict ``act`` means: run exactly ``plan.calls`` now; ``dry_run``: report them, run nothing;
    ``awaiting_approval``: hold them until a human approves the plan's digest; ``escalate``: tell a
    human, run nothing (and pause the resource when ``pause``).
    """
    # The incident's own priority, whatever the caller read (the store reads the same).
    state = replace(state, priority=priority_of(incident.source))
    verdict = _preliminaries(incident, plan, limits, state)
    if verdict is not None:
        return verdict
    assert plan is not None and limits is not None  # noqa: S101 - _preliminaries returned for None
    verdict = gate(plan, limits, state, now_ms)
    if verdict is not None:
        return verdict
    target = plan.target.id if plan.target else "?"
    if state.kill_switch:
        return Verdict("dry_run", "kill-switch", f"kill switch on: {plan.runbook} on {target} reported, not run")
    if limits.dry_run:
        asks = f"; live, it would wait for approval: {plan.approval}" if plan.approval else ""
        return Verdict(
            "dry_run", "dry-run", f"{plan.runbook} is in dry-run: {len(plan.calls)} calls reported, not run{asks}"
        )
    if limits.approval or plan.approval:
        # A plan may ask for approval itself: a risk its runbook read that a person must accept.
        why = f": {plan.approval}" if plan.approval else ""
        return Verdict(
            "awaiting_approval",
            "approval",
            f"{plan.runbook} on {target} needs approval within {_seconds(limits.approval_ttl_s * 1000)}{why}",
        )
    return Verdict("act", "ok", f"{plan.runbook} acts on {target}: {len(plan.calls)} calls")
