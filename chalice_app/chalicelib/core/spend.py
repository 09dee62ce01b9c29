"""The code fixer's budgets: what code fixes may spend, decided as the runbook governor
(core/governor.py) decides what runbooks may do. The stream (usecases/enqueue.py) asks
``decide_spend`` before a fix job leaves, with the group's facts from the stream record and the
counters read from the table; the store then takes the hour's and the day's unit in one
conditional write (adapters/store.py), and a lost race re-reads and decides again. The fixer asks
``decide_claim`` once more when it claims the job (the token ceiling may have been reached by the
jobs before it). Rule order (the first that applies decides)::

    automatic re-open of a group that already had its job → skip  one-automatic-attempt  (no wait)
    occurrences below the minimum (automatic jobs only)    → skip  min-occurrences  (wait: occurrences)
    tokens used today ≥ the daily ceiling                  → skip  token-ceiling    (wait: budget, day)
    fix jobs sent today ≥ the daily budget                 → skip  daily-budget     (wait: budget, day)
    fix jobs sent this hour ≥ the hourly budget            → skip  hourly-budget    (wait: budget, hour)
    otherwise                                              → send  ok

A skipped group is never lost: "budget" waits are re-opened oldest first by the hourly sweep
(usecases/sweep.py) while budget remains, or by ingest when the group occurs again after the
refusing window ended; "occurrences" waits by ingest when the count reaches the minimum. Only
one-automatic-attempt waits for a person (``selfheal retry``) or a regression, by design.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.clock import DAY_MS, HOUR_MS

SPEND_RULES: tuple[str, ...] = (
    "one-automatic-attempt",
    "min-occurrences",
    "token-ceiling",
    "daily-budget",
    "hourly-budget",
    "ok",
)
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
