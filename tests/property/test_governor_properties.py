"""The governor's safety properties over any sequence of events, on in-memory state (no AWS, no moto).

hypothesis throws event sequences at ``governor.decide`` through ``Ledger`` (the store's state kept
in memory): duplicates and re-published GuardDuty findings with higher counts, reorderings, ALARM/OK
flapping, several fleet members at the same instant, executors failing, the overdue sweep, resumes,
the kill switch toggled, time advancing by seconds to hours. Every property is checked from the
audit the ledger wrote, not from its internal counters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.governor import (
    AFTER_COUNTS,
    HELD_RULES,
    RULES,
    SECURITY,
    State,
    decide,
    in_flight_limit,
    signal_of,
)
from chalicelib.core.runbooks.plan import Incident, Limits, Plan
from tests.governor_model import FLEET_SIZE, LIMITS, START_MS, STEPS, Entry, Ledger, Run, plan_for, play, replay

SEQUENCES = st.lists(STEPS, min_size=1, max_size=60)


def run_ledger(steps, limits: Limits) -> tuple[Run, Ledger, list[Entry]]:
    run = play(steps)
    ledger = Ledger()
    entries = replay(run, limits, ledger)
    return run, ledger, entries


@given(SEQUENCES, LIMITS)
def test_every_event_is_audited_exactly_once_with_a_rule(steps, limits: Limits) -> None:
    run, ledger, entries = run_ledger(steps, limits)
    assert len(ledger.audit) == len(run.deliveries) == len(entries)
    assert all(e.rule in RULES for e in ledger.audit)
    final, decided = defaultdict(int), set()
    for delivery, entry in zip(run.deliveries, entries, strict=True):
        key = (delivery.incident.identity, delivery.plan.runbook)
        if entry.rule != "duplicate":
            decided.add(key)
        if entry.rule != "duplicate" and entry.rule not in HELD_RULES:
            final[key] += 1
    identities = {(d.incident.identity, d.plan.runbook) for d in run.deliveries}
    assert decided == identities  # every identity is decided (a re-delivery is a duplicate only once decided)
    assert all(n == 1 for n in final.values())  # at most one final decision each; held back is not final


@given(SEQUENCES, LIMITS)
def test_at_most_one_act_per_runbook_and_resource_per_cooldown_window(steps, limits: Limits) -> None:
    run, _, entries = run_ledger(steps, limits)
    acts = defaultdict(list)
    for delivery, entry in zip(run.deliveries, entries, strict=True):
        if entry.decision == "act":
            acts[(delivery.plan.runbook, entry.resource)].append(entry.at)
    for times in acts.values():
        assert all(b - a >= limits.cooldown_s * 1000 for a, b in zip(times, times[1:], strict=False))


@given(SEQUENCES, LIMITS)
def test_never_more_in_flight_per_fleet_than_the_limit(steps, limits: Limits) -> None:
    _, ledger, _ = run_ledger(steps, limits)
    acts = [e for e in ledger.audit if e.decision == "act"]
    for k, act in enumerate(acts):
        flying = [  # what holds an act back: in flight in its fleet, of the same or a higher priority
            j
            for j in acts[:k]
            if j.fleet == act.fleet
            and (j.closed_seq is None or j.closed_seq > act.seq)
            and j.deadline > act.at
            and j.priority >= act.priority
        ]
        assert len(flying) + 1 <= in_flight_limit(limits, FLEET_SIZE[act.fleet])


@given(SEQUENCES, LIMITS)
def test_attempt_budget_holds_and_its_escalation_pauses_once_until_resume(steps, limits: Limits) -> None:
    _, ledger, _ = run_ledger(steps, limits)
    for resource in {e.resource for e in ledger.audit}:
        mine = [e for e in ledger.audit if e.resource == resource]
        resumes = sorted(seq for r, seq in ledger.resumes if r == resource)
        epochs = defaultdict(list)  # entries between two resumes
        for e in mine:
            epochs[sum(1 for s in resumes if s < e.seq)].append(e)
        for epoch in epochs.values():
            pauses = [e for e in epoch if e.pause]
            # GIVEN a pause escalated in this epoch, THEN it is one per priority, and nothing of its
            # priority or a lower one acts after it (a higher priority is not held back by it)
            assert len({p.priority for p in pauses}) == len(pauses)
            for pause in pauses:
                assert pause.rule == "attempt-budget"
                assert not [
                    e for e in epoch if e.seq > pause.seq and e.decision == "act" and e.priority <= pause.priority
                ]
            window = limits.attempt_window_s * 1000
            for runbook in {e.runbook for e in epoch}:
                acts = [e.at for e in epoch if e.decision == "act" and e.runbook == runbook]
                assert all(sum(1 for t in acts if s <= t < s + window) <= limits.max_attempts for s in acts)


@given(SEQUENCES, LIMITS)
def test_the_kill_switch_turns_every_act_into_a_dry_run(steps, limits: Limits) -> None:
    run, _, entries = run_ledger(steps, limits)
    for delivery, entry in zip(run.deliveries, entries, strict=True):
        if delivery.kill:
            assert entry.decision != "act"
            assert entry.rule != "ok"


@given(SEQUENCES, LIMITS)
def test_a_resolved_event_heals_only_an_open_action_and_never_acts(steps, limits: Limits) -> None:
    run, _, entries = run_ledger(steps, limits)
    for delivery, entry in zip(run.deliveries, entries, strict=True):
        if delivery.incident.state == "resolved":
            assert entry.decision in ("healed", "ignore", "suppressed")
        if entry.decision == "healed":
            assert entry.healed  # it closed at least one action that was open on the resource
            assert delivery.incident.state == "resolved"


@given(st.integers(1, 5), st.integers(2, 30))
def test_flapping_one_instance_acts_once_per_cooldown_window(windows: int, per_window: int) -> None:
    # GIVEN an alarm flapping ALARM/OK every few seconds over several cooldown windows
    limits = Limits(dry_run=False, cooldown_s=900, max_attempts=100, hourly_rate=100, max_in_flight=1)
    ledger = Ledger()
    step_ms = 900_000 // per_window
    acts = 0
    for n in range(windows * per_window):
        now = 1_800_000_000_000 + n * step_ms
        state = "open" if n % 2 == 0 else "resolved"
        incident = Incident("alarm", f"cpu#{n}", state, "AWS/EC2/CPUUtilization", ("i-1",))
        acts += ledger.admit(incident, plan_for("i-1"), limits, now).decision == "act"
    # THEN one act per window at most, and at least one whenever the window starts with an ALARM
    assert acts <= windows + 1
    assert acts >= 1


STATES = st.builds(
    State,
    seen=st.booleans(),
    paused=st.sampled_from(["", "acted twice"]),
    last_action_ms=st.one_of(st.none(), st.integers(START_MS - 3_600_000, START_MS)),
    attempts_in_window=st.integers(0, 4),
    in_flight=st.integers(0, 6),
    fleet_size=st.one_of(st.none(), st.integers(1, 100)),
    runbook_last_hour=st.integers(0, 10),
    open_action=st.sampled_from(["", "a1"]),
    kill_switch=st.booleans(),
)
INCIDENTS = st.builds(
    Incident,
    source=st.just("alarm"),
    identity=st.just("cpu#1"),
    state=st.sampled_from(["open", "resolved"]),
    subject=st.just("AWS/EC2/CPUUtilization"),
    resources=st.just(("i-1",)),
    caused_by_selfheal=st.sampled_from(["", "tag"]),
)


@given(
    INCIDENTS,
    st.sampled_from([plan_for("i-1"), Plan("ec2-reboot", None, (), "composite")]),
    LIMITS,
    STATES,
    st.booleans(),
    st.booleans(),
)
def test_a_verdict_made_before_the_counts_holds_whatever_the_counts(
    incident, plan, limits, state, dry_run, approval
) -> None:
    # The store reads the fleet and hourly slots only when the verdict without them is one of AFTER_COUNTS.
    limits = replace(limits, dry_run=dry_run, approval=approval)
    uncounted = decide(incident, plan, limits, replace(state, in_flight=0, runbook_last_hour=0), START_MS)
    if uncounted.rule not in AFTER_COUNTS:
        assert decide(incident, plan, limits, state, START_MS) == uncounted


@given(SEQUENCES, LIMITS)
def test_no_security_action_is_ever_suppressed_by_a_non_security_one(steps, limits: Limits) -> None:
    run, ledger, entries = run_ledger(steps, limits)
    audit = ledger.audit
    for delivery, entry in zip(run.deliveries, entries, strict=True):
        if delivery.incident.source != "guardduty" or entry.decision != "suppressed":
            continue
        before = [e for e in audit if e.seq < entry.seq]
        if entry.rule == "paused":
            # THEN a security escalation paused the resource (and nobody resumed it since)
            resumed = max((seq for r, seq in ledger.resumes if r == entry.resource), default=0)
            assert any(
                e.pause and e.priority >= SECURITY and e.resource == entry.resource and e.seq > resumed for e in before
            )
        elif entry.rule == "blast-radius":
            # THEN security actions alone fill the fleet's limit
            flying = [
                e
                for e in before
                if e.decision == "act"
                and e.fleet == entry.fleet
                and e.priority >= SECURITY
                and (e.closed_seq is None or e.closed_seq > entry.seq)
                and e.deadline > entry.at
            ]
            assert len(flying) >= in_flight_limit(limits, FLEET_SIZE[entry.fleet])
        elif entry.rule in ("cooldown", "hourly-rate"):
            # THEN it is the security runbook's own cooldown or rate (both count one runbook's acts)
            assert any(e.decision == "act" and e.runbook == delivery.plan.runbook for e in before)


@given(SEQUENCES, LIMITS)
def test_no_alarm_heals_another_alarms_action(steps, limits: Limits) -> None:
    _, ledger, _ = run_ledger(steps, limits)
    by_id = {e.action_id: e for e in ledger.audit}
    for entry in ledger.audit:
        for action_id in entry.healed:
            assert by_id[action_id].signal == entry.signal == signal_of(entry.identity)


REVISIT_MS = 5 * 60_000


@given(SEQUENCES, LIMITS)
def test_every_held_back_incident_is_acted_on_escalated_or_closed_by_its_deadline(steps, limits: Limits) -> None:
    # GIVEN the verifier's schedule: held work decided again every 5 minutes of the run, and after it
    run = play(steps)
    ledger = Ledger()
    last = START_MS
    for what, index in run.order:
        now = run.deliveries[index].now if what == "deliver" else run.operations[index][2]
        while last + REVISIT_MS <= now:
            last += REVISIT_MS
            ledger.revisit(limits, last)
        if what == "deliver":
            ledger.deliver(run.deliveries[index], limits)
        else:
            kind, resource, at = run.operations[index]
            getattr(ledger, kind)(resource, at)
    while ledger.held:
        last += REVISIT_MS
        ledger.revisit(limits, last)
    # THEN every held identity ends in a final entry no later than one verifier period after its deadline
    for held in [e for e in ledger.audit if e.rule in HELD_RULES]:
        final = [
            e
            for e in ledger.audit
            if e.identity == held.identity
            and e.runbook == held.runbook
            and e.seq > held.seq
            and e.rule not in HELD_RULES
            and e.rule != "duplicate"
        ]
        assert final, held
        assert final[0].at <= held.held_deadline + REVISIT_MS
        assert final[0].decision in ("act", "escalate", "ignore", "dry_run", "awaiting_approval", "suppressed")
