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
HOUR_MS = 3_600_000
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
    if plan.tell and plan.target is not None and not plan.calls:
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


# --- spend: the code fixer's budgets (issue 12) ---------------------------------------------------
#
# The same governor decides what code fixes may spend. The stream (services/enqueue.py) asks
# ``decide_spend`` before a fix job leaves, with the group's facts from the stream record and the
# counters read from the table; the store then takes the hour's and the day's unit in one
# conditional write (adapters/store.py), and a lost race re-reads and decides again. The fixer asks
# ``decide_claim`` once more when it claims the job (the token ceiling may have been reached by the
# jobs before it). Rule order (the first that applies decides)::
#
#     automatic re-open of a group that already had its job → skip  one-automatic-attempt  (no wait)
#     occurrences below the minimum (automatic jobs only)    → skip  min-occurrences  (wait: occurrences)
#     tokens used today ≥ the daily ceiling                  → skip  token-ceiling    (wait: budget, day)
#     fix jobs sent today ≥ the daily budget                 → skip  daily-budget     (wait: budget, day)
#     fix jobs sent this hour ≥ the hourly budget            → skip  hourly-budget    (wait: budget, hour)
#     otherwise                                              → send  ok
#
# A skipped group is never lost: "budget" waits are re-opened oldest first by the hourly sweep
# (services/sweep.py) while budget remains, or by ingest when the group occurs again after the
# refusing window ended; "occurrences" waits by ingest when the count reaches the minimum. Only
# one-automatic-attempt waits for a person (``selfheal retry``) or a regression, by design.

SPEND_RULES: tuple[str, ...] = (
    "one-automatic-attempt",
    "min-occurrences",
    "token-ceiling",
    "daily-budget",
    "hourly-budget",
    "ok",
)
DAY_MS = 24 * HOUR_MS
# Who re-opened a group (the ``reopened_by`` attribute the store writes with every re-open):
# a person or a regression asks for a new attempt; a resumed wait is the same attempt, deferred.
# "duplicate": a group skipped as another's duplicate whose PR closed gets its own automatic attempt.
EXPLICIT_REOPENERS: frozenset[str] = frozenset({"retry", "regression", "webhook", "duplicate"})
RESUMERS: frozenset[str] = frozenset({"spend", "occurrences"})
# Job triggers (FixJob.trigger) that are explicit by themselves: the `fate` branch's REGRESSED groups.
EXPLICIT_TRIGGERS: frozenset[str] = frozenset({"regressed", "retry"})
WAIT_BUDGET = "budget"
WAIT_OCCURRENCES = "occurrences"


@dataclass(frozen=True)
class SpendLimits:
    """The code fixer's limits; 0 means no limit for each (the service catalog uses the same names)."""

    fixes_per_hour: int = 0
    fixes_per_day: int = 0
    min_occurrences: int = 0
    tokens_per_day: int = 0

    def describe(self) -> str:
        """The limits in words, for notices and logs."""

        def one(value: int, what: str) -> str:
            return f"{value:,} {what}" if value > 0 else f"no limit of {what}"

        return ", ".join(
            (
                one(self.fixes_per_hour, "fixes an hour"),
                one(self.fixes_per_day, "fixes a day"),
                one(self.tokens_per_day, "model tokens a day"),
                f"fixing from {max(1, self.min_occurrences)} occurrence(s)",
            )
        )


@dataclass(frozen=True)
class GroupFacts:
    """What the spend decision knows of one group, from the stream record that asks for its job.

    ``auto_jobs`` counts the fix jobs sent for the group since it was created or last re-opened
    explicitly (the store resets it then); ``reopened_by`` is who re-opened it last ('' for a new
    group; kept while its job waits, so a person's retry stays explicit through a budget wait);
    ``resumed_by`` is who ended a wait of its pending job ('' when none did); ``previous_status``
    is the status the re-open came from.
    """

    fingerprint: str
    occurrences: int
    trigger: str = "new"  # FixJob.trigger: "new", "reopened", or "regressed" (the fate branch)
    reopened_by: str = ""
    auto_jobs: int = 0
    previous_status: str = ""
    resumed_by: str = ""

    @property
    def explicit(self) -> bool:
        """A person (``selfheal retry``, ``/selfheal retry``) or a regression asked for this job."""
        return (
            self.trigger in EXPLICIT_TRIGGERS
            or self.reopened_by in EXPLICIT_REOPENERS
            or self.previous_status == "REGRESSED"
        )

    @property
    def resumed(self) -> bool:
        """The job a spend or occurrences wait deferred: the same attempt, not a new one."""
        return self.trigger == "reopened" and self.resumed_by in RESUMERS


@dataclass(frozen=True)
class SpendState:
    """The counters read before deciding (the store re-checks the job counts in its conditional write)."""

    hour_used: int = 0  # fix jobs sent in the current clock hour (UTC)
    day_used: int = 0  # fix jobs sent in the current day (UTC)
    tokens_today: int = 0  # model tokens in + out recorded today (UTC)


@dataclass(frozen=True)
class SpendVerdict:
    """Send the job or not, the rule that decided, a sentence, and how the group waits when not.

    ``wait`` is ``"budget"`` (the sweep or a recurrence after ``wait_until_ms`` re-opens it),
    ``"occurrences"`` (ingest re-opens it when its count reaches ``reopen_at``) or ``""`` (it waits
    for a person: ``selfheal retry``, or a regression).
    """

    send: bool
    rule: str  # one of SPEND_RULES
    reason: str
    wait: str = ""
    wait_until_ms: int = 0
    reopen_at: int = 0

    def stored_reason(self) -> str:
        """The reason stored on a SKIPPED group: the rule, then the sentence."""
        return f"{self.rule}: {self.reason}"


def hour_start(now_ms: int) -> int:
    """The start (epoch ms) of the clock hour holding ``now_ms``."""
    return now_ms - now_ms % HOUR_MS


def day_start(now_ms: int) -> int:
    """The start (epoch ms) of the UTC day holding ``now_ms``."""
    return now_ms - now_ms % DAY_MS


def _budget_wait(rule: str, reason: str, until: int) -> SpendVerdict:
    return SpendVerdict(False, rule, reason, WAIT_BUDGET, until)


def _spent(limits: SpendLimits, state: SpendState, now_ms: int) -> SpendVerdict | None:
    """The rules of the counters — token ceiling, daily budget, hourly budget — or None when all pass."""
    tomorrow = day_start(now_ms) + DAY_MS
    picked_up = "picked up oldest first when budget returns"
    if limits.tokens_per_day > 0 and state.tokens_today >= limits.tokens_per_day:
        return _budget_wait(
            "token-ceiling",
            f"{state.tokens_today:,} model tokens used today, the ceiling is {limits.tokens_per_day:,}; {picked_up}",
            tomorrow,
        )
    if limits.fixes_per_day > 0 and state.day_used >= limits.fixes_per_day:
        return _budget_wait(
            "daily-budget", f"today's {limits.fixes_per_day} fix jobs are spent; {picked_up} (tomorrow)", tomorrow
        )
    if limits.fixes_per_hour > 0 and state.hour_used >= limits.fixes_per_hour:
        return _budget_wait(
            "hourly-budget",
            f"this hour's {limits.fixes_per_hour} fix jobs are spent; {picked_up} (next hour)",
            hour_start(now_ms) + HOUR_MS,
        )
    return None


def decide_spend(facts: GroupFacts, limits: SpendLimits, state: SpendState, now_ms: int) -> SpendVerdict:
    """May a fix job for this group leave now? (rule order above ``SPEND_RULES``); never raises.

    Explicit jobs (a person's retry, a regression) pass the one-automatic-attempt and the
    minimum-occurrences rules, never the budgets: spend is bounded whoever asks. A resumed wait is
    the deferred job itself, so it passes the one-automatic-attempt rule.
    """
    if not facts.explicit and not facts.resumed and facts.trigger != "new" and facts.auto_jobs >= 1:
        return SpendVerdict(
            False,
            "one-automatic-attempt",
            f"{facts.fingerprint[:12]} already had its automatic fix job; `selfheal retry` asks for another",
        )
    if not facts.explicit and limits.min_occurrences > 1 and facts.occurrences < limits.min_occurrences:
        return SpendVerdict(
            False,
            "min-occurrences",
            f"seen {facts.occurrences} time(s), fixing starts at {limits.min_occurrences}; "
            "re-opened when it reaches that",
            WAIT_OCCURRENCES,
            reopen_at=limits.min_occurrences,
        )
    spent = _spent(limits, state, now_ms)
    if spent is not None:
        return spent
    return SpendVerdict(True, "ok", f"within {limits.describe()}")


def decide_claim(limits: SpendLimits, state: SpendState, now_ms: int) -> SpendVerdict:
    """The fixer's second look when it claims a job: only the token ceiling (the job counts were
    taken when the job was sent, and counting them again would refuse the job that holds the unit)."""
    spent = _spent(SpendLimits(tokens_per_day=limits.tokens_per_day), state, now_ms)
    return spent or SpendVerdict(True, "ok", "within the daily token ceiling")


def resume_on_recurrence(
    status: str, wait: str, wait_until_ms: int, reopen_at: int, occurrences: int, now_ms: int
) -> str:
    """Who should re-open a SKIPPED group that just occurred again ('' for nobody).

    ``occurrences`` is the count after this delivery. An occurrences wait resumes when the count
    reaches ``reopen_at`` (not on every occurrence); a budget wait resumes once the window that
    refused it has ended (an earlier recurrence would be refused again: churn, not progress).
    """
    if status != "SKIPPED":
        return ""
    if wait == WAIT_OCCURRENCES or reopen_at > 0:
        return "occurrences" if reopen_at > 0 and occurrences >= reopen_at else ""
    if wait == WAIT_BUDGET and now_ms >= wait_until_ms:
        return "spend"
    return ""


def spend_room(limits: SpendLimits, state: SpendState) -> int | None:
    """How many more fix jobs may leave now: the least of the hour's and the day's units left, 0
    once the token ceiling is reached, None when nothing limits the count."""
    if limits.tokens_per_day > 0 and state.tokens_today >= limits.tokens_per_day:
        return 0
    left = [
        max(0, limit - used)
        for limit, used in ((limits.fixes_per_hour, state.hour_used), (limits.fixes_per_day, state.day_used))
        if limit > 0
    ]
    return min(left) if left else None
