"""The spend decision's properties over any sequence of bugs, recurrences, re-opens and time (no AWS).

Gap covered: the moto tests (tests/integration/test_spend.py) follow a few hand-written paths; here
hypothesis throws sequences at ``decide_spend`` through ``Ledger`` — the state the store keeps
(the day's counter item with its hours and tokens, and per group its status, wait, ``auto_jobs``,
``reopened_by`` / ``resumed_by``) kept in memory, written the way ``usecases/enqueue.py``,
``usecases/fix.py``, ``usecases/sweep.py`` and ``usecases/ingest.py`` write it. What they check:

- every limit holds over the whole run: jobs per clock hour and per UTC day, none sent while the
  day's tokens are at the ceiling, none for a group under the minimum unless a person asked;
- one automatic attempt: between two explicit re-opens a group's fixer runs at most once;
- no group is lost: every refused group is SKIPPED with a rule and a reason, and once the
  sequence ends, days of hourly sweeps (and the recurrences an occurrences wait needs) give every
  waiting group its job; only a group that had its job waits for a person.

The atomicity of the counters (what the ledger takes for granted) is tested against dynalite in
tests/integration/test_spend_counters.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.core.spend import (
    DAY_MS,
    HOUR_MS,
    SPEND_RULES,
    WAIT_BUDGET,
    WAIT_OCCURRENCES,
    GroupFacts,
    SpendLimits,
    SpendState,
    day_start,
    decide_claim,
    decide_spend,
    hour_start,
    resume_on_recurrence,
    spend_room,
)

START = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS + 7 * HOUR_MS
SWEEP_MAX = 50
TOKENS_PER_FIX = (3_000, 700)


@dataclass
class Group:
    """One error-group item, as far as spend goes."""

    fp: str
    occurrences: int
    status: str = "NEW"
    trigger: str = "new"
    reason: str = ""
    wait: str = ""
    wait_until: int = 0
    reopen_at: int = 0
    budget_since: int = 0
    reopened_by: str = ""
    resumed_by: str = ""
    previous: str = ""
    auto_jobs: int = 0
    runs_since_explicit: int = 0  # fixer runs since the last explicit re-open (the property's count)


@dataclass
class Sent:
    fp: str
    at: int
    explicit: bool
    occurrences: int
    tokens_today: int


@dataclass
class Ledger:
    limits: SpendLimits
    now: int = START
    groups: dict[str, Group] = field(default_factory=dict)
    jobs: dict[int, int] = field(default_factory=dict)  # day start → jobs taken
    hours: dict[int, int] = field(default_factory=dict)  # hour start → jobs taken
    tokens: dict[int, int] = field(default_factory=dict)  # day start → tokens
    sent: list[Sent] = field(default_factory=list)
    max_runs_between_explicit: int = 0

    def state(self) -> SpendState:
        return SpendState(
            hour_used=self.hours.get(hour_start(self.now), 0),
            day_used=self.jobs.get(day_start(self.now), 0),
            tokens_today=self.tokens.get(day_start(self.now), 0),
        )

    # -- the stream (usecases/enqueue.py) --------------------------------------------------------

    def enqueue(self, g: Group) -> None:
        """A NEW group's stream record: decide; take both units at once, or skip with the wait."""
        facts = GroupFacts(g.fp, g.occurrences, g.trigger, g.reopened_by, g.auto_jobs, g.previous, g.resumed_by)
        verdict = decide_spend(facts, self.limits, self.state(), self.now)
        assert verdict.rule in SPEND_RULES and verdict.send == (verdict.rule == "ok")
        if verdict.send:
            self.take()
            self.sent.append(Sent(g.fp, self.now, facts.explicit, g.occurrences, self.state().tokens_today))
            g.status, g.auto_jobs, g.resumed_by, g.wait, g.reopen_at = "QUEUED", g.auto_jobs + 1, "", "", 0
            g.budget_since = 0
            return
        g.status, g.reason, g.wait = "SKIPPED", verdict.stored_reason(), verdict.wait
        if verdict.wait == WAIT_BUDGET:
            g.wait_until, g.budget_since = verdict.wait_until_ms, g.budget_since or self.now
        elif verdict.wait == WAIT_OCCURRENCES:
            g.reopen_at = verdict.reopen_at

    def take(self) -> None:
        lim, state = self.limits, self.state()
        # The store's conditional write: both windows checked, both taken, or nothing.
        assert not (lim.fixes_per_hour and state.hour_used >= lim.fixes_per_hour)
        assert not (lim.fixes_per_day and state.day_used >= lim.fixes_per_day)
        self.hours[hour_start(self.now)] = state.hour_used + 1
        self.jobs[day_start(self.now)] = state.day_used + 1

    # -- the fixer (usecases/fix.py): claim-time token check, then tokens recorded -----------------

    def fix(self, g: Group) -> None:
        verdict = decide_claim(self.limits, self.state(), self.now)
        if not verdict.send:  # deferred before any model call: the job's count is given back
            g.status, g.reason, g.wait, g.wait_until = (
                "SKIPPED",
                verdict.stored_reason(),
                WAIT_BUDGET,
                verdict.wait_until_ms,
            )
            g.budget_since = g.budget_since or self.now
            g.auto_jobs -= 1
            return
        g.runs_since_explicit += 1
        self.max_runs_between_explicit = max(self.max_runs_between_explicit, g.runs_since_explicit)
        self.tokens[day_start(self.now)] = self.tokens.get(day_start(self.now), 0) + sum(TOKENS_PER_FIX)
        g.status, g.reason = "PR_OPENED", ""

    def run_queue(self) -> None:
        for g in self.groups.values():
            if g.status == "QUEUED":
                self.fix(g)

    # -- re-opens ----------------------------------------------------------------------------------

    def resume(self, g: Group, by: str) -> None:
        g.status, g.trigger, g.previous, g.resumed_by, g.wait, g.reopen_at = "NEW", "reopened", "SKIPPED", by, "", 0
        self.enqueue(g)

    def occur(self, fp: str, count: int) -> None:
        g = self.groups.get(fp)
        if g is None:
            self.groups[fp] = g = Group(fp, count)
            self.enqueue(g)
            return
        g.occurrences += count
        by = resume_on_recurrence(g.status, g.wait, g.wait_until, g.reopen_at, g.occurrences, self.now)
        if by:
            self.resume(g, by)

    def explicit(self, fp: str, by: str) -> None:
        g = self.groups.get(fp)
        if g is None or g.status not in ("SKIPPED", "PR_OPENED"):
            return
        g.status, g.trigger, g.previous, g.reopened_by = "NEW", "reopened", g.status, by
        g.auto_jobs = g.runs_since_explicit = 0
        g.wait, g.reopen_at, g.budget_since, g.resumed_by = "", 0, 0, ""
        self.enqueue(g)

    def automatic_reopen(self, fp: str) -> None:
        """A re-open by some automatic path that is not a resumed wait (none exists today): the
        one-automatic-attempt rule is the backstop."""
        g = self.groups.get(fp)
        if g is None or g.status not in ("SKIPPED", "PR_OPENED"):
            return
        g.status, g.trigger, g.previous, g.reopened_by, g.resumed_by = "NEW", "reopened", g.status, "automatic", ""
        self.enqueue(g)

    def sweep(self) -> None:
        room = spend_room(self.limits, self.state())
        n = SWEEP_MAX if room is None else min(room, SWEEP_MAX)
        waiting = sorted(
            (g for g in self.groups.values() if g.status == "SKIPPED" and g.wait == WAIT_BUDGET),
            key=lambda g: (g.budget_since, g.fp),
        )
        for g in waiting[:n]:
            self.resume(g, "spend")


LIMITS = st.builds(
    SpendLimits,
    fixes_per_hour=st.integers(0, 4),
    fixes_per_day=st.integers(0, 9),
    min_occurrences=st.integers(0, 3),
    tokens_per_day=st.sampled_from([0, 4_000, 10_000, 50_000]),
)
FPS = st.sampled_from([f"g{n}" for n in range(5)])  # few groups: sequences revisit them
STEPS = st.one_of(
    st.tuples(st.just("occur"), FPS, st.integers(1, 3)),
    st.tuples(st.just("fix")),
    st.tuples(st.just("advance"), st.sampled_from([60_000, 20 * 60_000, HOUR_MS, 5 * HOUR_MS, DAY_MS])),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("retry"), FPS, st.sampled_from(["retry", "regression"])),
    st.tuples(st.just("auto"), FPS),
)


def play(limits: SpendLimits, steps) -> Ledger:
    ledger = Ledger(limits)
    for step in steps:
        if step[0] == "occur":
            ledger.occur(step[1], step[2])
        elif step[0] == "fix":
            ledger.run_queue()
        elif step[0] == "advance":
            ledger.now += step[1]
        elif step[0] == "sweep":
            ledger.sweep()
        elif step[0] == "retry":
            ledger.explicit(step[1], step[2])
        else:
            ledger.automatic_reopen(step[1])
    return ledger


@given(LIMITS, st.lists(STEPS, max_size=60))
def test_no_window_ever_sends_more_jobs_than_its_limit(limits: SpendLimits, steps) -> None:
    ledger = play(limits, steps)
    per_hour: dict[int, int] = {}
    per_day: dict[int, int] = {}
    for job in ledger.sent:
        per_hour[hour_start(job.at)] = per_hour.get(hour_start(job.at), 0) + 1
        per_day[day_start(job.at)] = per_day.get(day_start(job.at), 0) + 1
    if limits.fixes_per_hour:
        assert max(per_hour.values(), default=0) <= limits.fixes_per_hour
    if limits.fixes_per_day:
        assert max(per_day.values(), default=0) <= limits.fixes_per_day
    if limits.tokens_per_day:
        assert all(job.tokens_today < limits.tokens_per_day for job in ledger.sent)
    # The fixer never started with the day's tokens at the ceiling: at most one fix's worth past it.
    if limits.tokens_per_day:
        assert max(ledger.tokens.values(), default=0) < limits.tokens_per_day + sum(TOKENS_PER_FIX) * max(
            1, len(ledger.groups)
        )


@given(LIMITS, st.lists(STEPS, max_size=60))
@example(SpendLimits(), [("occur", "g0", 1), ("fix",), ("auto", "g0"), ("fix",)])  # the second automatic job
def test_an_automatic_job_needs_the_minimum_and_a_group_gets_one_automatic_run(limits: SpendLimits, steps) -> None:
    ledger = play(limits, steps)
    for job in ledger.sent:
        if not job.explicit:
            assert job.occurrences >= limits.min_occurrences
    assert ledger.max_runs_between_explicit <= 1


@given(LIMITS, st.lists(STEPS, max_size=60))
@example(  # a storm over every limit, then a person's retry of a group still under the minimum
    SpendLimits(fixes_per_hour=1, fixes_per_day=2, min_occurrences=2, tokens_per_day=4_000),
    [("occur", f"g{n}", 1 + n % 2) for n in range(5)] + [("fix",), ("retry", "g0", "retry"), ("sweep",)],
)
def test_no_refused_group_is_lost(limits: SpendLimits, steps) -> None:
    ledger = play(limits, steps)
    # Every refused group says why.
    for g in ledger.groups.values():
        if g.status == "SKIPPED":
            assert g.reason.split(":", 1)[0] in SPEND_RULES and g.reason.split(": ", 1)[1]
    # WHEN the run goes on: the fixer drains its queue, each waiting group occurs until its minimum,
    # and the hourly sweep runs for as many days as the waiting groups need.
    for _ in range(24 * (len(ledger.groups) + 2)):
        ledger.run_queue()
        for g in list(ledger.groups.values()):
            if g.status == "SKIPPED" and g.wait == WAIT_OCCURRENCES:
                ledger.occur(g.fp, g.reopen_at - g.occurrences)
        ledger.now = hour_start(ledger.now) + HOUR_MS + 2 * 60_000
        ledger.sweep()
    ledger.run_queue()
    # THEN every group had its job; the only ones still waiting wait for a person after theirs.
    for g in ledger.groups.values():
        if g.status == "SKIPPED":
            assert g.wait == "" and g.reason.startswith("one-automatic-attempt") and g.auto_jobs >= 1
        else:
            assert g.status == "PR_OPENED", g


FACTS = st.builds(
    GroupFacts,
    fingerprint=st.just("f" * 32),
    occurrences=st.integers(1, 5),  # a group exists once seen
    trigger=st.sampled_from(["new", "reopened", "regressed"]),
    reopened_by=st.sampled_from(["", "retry", "regression", "spend", "automatic"]),
    auto_jobs=st.integers(0, 3),
    previous_status=st.sampled_from(["", "SKIPPED", "PR_OPENED", "FAILED", "REGRESSED"]),
    resumed_by=st.sampled_from(["", "spend", "occurrences"]),
)
STATES = st.builds(
    SpendState, hour_used=st.integers(0, 12), day_used=st.integers(0, 60), tokens_today=st.integers(0, 60_000)
)
NOW = st.integers(START, START + 30 * DAY_MS)


@given(FACTS, LIMITS, STATES, NOW)
def test_a_job_is_sent_only_within_every_limit_and_a_refusal_says_how_it_waits(facts, limits, state, now) -> None:
    verdict = decide_spend(facts, limits, state, now)
    assert verdict.rule in SPEND_RULES and verdict.reason
    if verdict.send:
        assert not limits.fixes_per_hour or state.hour_used < limits.fixes_per_hour
        assert not limits.fixes_per_day or state.day_used < limits.fixes_per_day
        assert not limits.tokens_per_day or state.tokens_today < limits.tokens_per_day
        assert facts.explicit or facts.occurrences >= limits.min_occurrences
    elif verdict.rule in ("hourly-budget", "daily-budget", "token-ceiling"):
        assert verdict.wait == WAIT_BUDGET and now < verdict.wait_until_ms <= day_start(now) + DAY_MS
    elif verdict.rule == "min-occurrences":
        assert verdict.wait == WAIT_OCCURRENCES and verdict.reopen_at == limits.min_occurrences > facts.occurrences
        assert not facts.explicit
    else:
        assert verdict.rule == "one-automatic-attempt" and verdict.wait == ""
        assert not facts.explicit and not facts.resumed and facts.auto_jobs >= 1


@given(FACTS, LIMITS, STATES, NOW, st.integers(0, 3), st.integers(0, 3), st.integers(0, 5_000))
def test_more_spent_never_turns_a_refusal_into_a_job(facts, limits, state, now, more_h, more_d, more_t) -> None:
    worse = replace(
        state,
        hour_used=state.hour_used + more_h,
        day_used=state.day_used + more_d,
        tokens_today=state.tokens_today + more_t,
    )
    if not decide_spend(facts, limits, state, now).send:
        assert not decide_spend(facts, limits, worse, now).send


@given(st.integers(1, 5), st.integers(0, 8), NOW, st.integers(-2 * HOUR_MS, 2 * HOUR_MS))
def test_a_waiting_group_is_re_opened_by_its_recurrence_only_when_its_wait_is_over(reopen_at, count, now, delta):
    assert (resume_on_recurrence("SKIPPED", WAIT_OCCURRENCES, 0, reopen_at, count, now) == "occurrences") == (
        count >= reopen_at
    )
    until = now + delta
    assert (resume_on_recurrence("SKIPPED", WAIT_BUDGET, until, 0, count, now) == "spend") == (now >= until)
    assert resume_on_recurrence("PR_OPENED", WAIT_BUDGET, 0, 0, count, now) == ""
    assert resume_on_recurrence("SKIPPED", "", 0, 0, count, now) == ""
