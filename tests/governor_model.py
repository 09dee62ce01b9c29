"""An in-memory governor ledger (no AWS at all) and event-sequence strategies for the governor's properties.

``Ledger`` keeps exactly the state ``GovernorStore`` keeps — identities decided, cooldown and
attempts per (runbook, resource), pauses, fleet and hourly slots with leases, open actions — and
feeds it to the pure ``governor.decide``. The property tests run hypothesis sequences through it;
the dynalite tests run the same sequences through the real store and compare the decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from chalicelib.core import governor
from chalicelib.core.runbooks.plan import Call, Incident, Limits, Plan, Target

if TYPE_CHECKING:
    from collections.abc import Sequence

START_MS = 1_800_000_000_000
FLEETS = {"i-1": "asg:web", "i-2": "asg:web", "i-3": "asg:web", "i-4": "asg:web", "i-5": "asg:db", "i-6": "asg:db"}
FLEET_SIZE = {"asg:web": 4, "asg:db": 2}


@dataclass
class Entry:
    """One audit record of the ledger."""

    action_id: str
    identity: str
    runbook: str
    resource: str
    fleet: str
    decision: str
    rule: str
    at: int
    pause: bool = False
    priority: int = 0
    signal: str = ""
    closed_at: int | None = None
    deadline: int = 0
    healed: tuple[str, ...] = ()
    seq: int = 0  # position in the order things happened
    closed_seq: int | None = None
    held_deadline: int = 0  # a held-back decision: by when it must be acted on, escalated or closed


@dataclass
class HeldWork:
    """An incident a limit held back, as the store's held item keeps it."""

    delivery: Delivery
    since: int
    deadline: int


@dataclass
class Ledger:
    """The governor's state in memory; ``admit`` mirrors ``GovernorStore.admit`` one event at a time."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    cool: dict[tuple[str, str], int] = field(default_factory=dict)
    tries: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # until (ms) per act
    paused: dict[str, tuple[str, int]] = field(default_factory=dict)  # resource → (why, priority)
    fleet_leases: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # fleet → action → (end, prio)
    rate_leases: dict[str, list[int]] = field(default_factory=dict)
    open: dict[str, Entry] = field(default_factory=dict)
    audit: list[Entry] = field(default_factory=list)
    resumes: list[tuple[str, int]] = field(default_factory=list)  # (resource, seq) of every resume asked
    held: dict[tuple[str, str], HeldWork] = field(default_factory=dict)  # (identity, runbook) → held work
    signals: dict[str, str] = field(default_factory=dict)  # alarm signal → last state ("open"/"resolved")
    seq: int = 0

    def state(self, incident: Incident, plan: Plan, limits: Limits, now: int, fleet_size: int | None, kill: bool):
        key = (plan.runbook, plan.target.id if plan.target else "")
        resource, fleet = key[1], fleet_of(plan)
        priority = governor.priority_of(incident.source)
        why, paused_priority = self.paused.get(resource, ("", 0))
        signal = governor.signal_of(incident.identity)
        return governor.State(
            seen=(incident.identity, plan.runbook) in self.seen,
            paused=why,
            last_action_ms=self.cool.get(key),
            attempts_in_window=sum(1 for until in self.tries.get(key, []) if until > now),
            in_flight=sum(1 for end, p in self.fleet_leases.get(fleet, {}).values() if end > now and p >= priority),
            fleet_size=fleet_size,
            runbook_last_hour=sum(1 for end in self.rate_leases.get(plan.runbook, []) if end > now),
            open_action=next((a for a, e in self.open.items() if e.resource == resource and e.signal == signal), ""),
            kill_switch=kill,
            priority=priority,
            paused_priority=paused_priority,
        )

    def admit(
        self,
        incident: Incident,
        plan: Plan,
        limits: Limits,
        now: int,
        *,
        fleet_size: int | None = None,
        kill: bool = False,
        revisit: bool = False,
    ) -> Entry:
        state = self.state(incident, plan, limits, now, fleet_size, kill)
        verdict = governor.decide(incident, plan, limits, state, now)
        resource, fleet = (plan.target.id if plan.target else ""), fleet_of(plan)
        held = verdict.decision == "suppressed" and verdict.rule in governor.HELD_RULES
        key = (incident.identity, plan.runbook)
        entry = Entry(
            f"a{len(self.audit)}", incident.identity, plan.runbook, resource, fleet, verdict.decision, verdict.rule, now
        )
        entry.pause, entry.priority, entry.signal = verdict.pause, state.priority, governor.signal_of(incident.identity)
        if incident.source == "alarm":
            self.signals[entry.signal] = incident.state
        if held:
            work = self.held.get(key)
            if work is None:
                delivery = Delivery(incident, plan, now, kill, fleet_size)
                work = self.held[key] = HeldWork(delivery, now, governor.hold_deadline(incident, now))
            entry.held_deadline = work.deadline
            if revisit:
                return entry  # held again: no audit record
        elif verdict.rule != "duplicate":
            self.seen.add(key)
            self.held.pop(key, None)
        self.seq += 1
        entry.seq = self.seq
        if verdict.decision == "act":
            entry.deadline = now + limits.verify_deadline_s * 1000
            self.cool[(plan.runbook, resource)] = now
            self.tries.setdefault((plan.runbook, resource), []).append(now + limits.attempt_window_s * 1000)
            self.fleet_leases.setdefault(fleet, {})[entry.action_id] = (entry.deadline, state.priority)
            self.rate_leases.setdefault(plan.runbook, []).append(now + governor.HOUR_MS)
            self.open[entry.action_id] = entry
        elif verdict.pause:
            self.paused[resource] = (verdict.reason, state.priority)
        elif verdict.decision == "healed":
            entry.healed = tuple(a for a, e in self.open.items() if e.resource == resource and e.signal == entry.signal)
            for action_id in entry.healed:
                self._close(action_id, now)
        self.audit.append(entry)
        return entry

    def deliver(self, delivery: Delivery, limits: Limits) -> Entry:
        return self.admit(
            delivery.incident, delivery.plan, limits, delivery.now, fleet_size=delivery.fleet_size, kill=delivery.kill
        )

    def revisit(self, limits: Limits, now: int) -> list[Entry]:
        """The verifier's pass over held work (usecases/remediate.py ``revisit``): give up what is past
        its deadline, close what an alarm's OK ended, decide the rest again; the entries it audited."""
        out = []
        for key, work in sorted(
            self.held.items(), key=lambda kv: (-governor.priority_of(kv[1].delivery.incident.source), kv[1].deadline)
        ):
            if key not in self.held:
                continue
            incident, plan = work.delivery.incident, work.delivery.plan
            if now >= work.deadline or self.signals.get(governor.signal_of(incident.identity)) == "resolved":
                del self.held[key]
                self.seq += 1
                rule = "held-too-long" if now >= work.deadline else "signal-ended"
                entry = Entry(
                    f"a{len(self.audit)}",
                    incident.identity,
                    plan.runbook,
                    plan.target.id,
                    fleet_of(plan),
                    "escalate" if rule == "held-too-long" else "ignore",
                    rule,
                    now,
                )
                entry.seq, entry.priority = self.seq, governor.priority_of(incident.source)
                self.audit.append(entry)
                out.append(entry)
                continue
            entry = self.admit(
                incident, plan, limits, now, fleet_size=work.delivery.fleet_size, kill=work.delivery.kill, revisit=True
            )
            if entry.seq:
                out.append(entry)
        return out

    def _close(self, action_id: str, now: int) -> None:
        entry = self.open.pop(action_id)
        entry.closed_at, entry.closed_seq = now, self.seq
        self.fleet_leases[entry.fleet].pop(action_id, None)

    def fail(self, resource: str, now: int) -> list[str]:
        """The executor reports the open actions on ``resource`` failed: their fleet slots are freed."""
        self.seq += 1
        failed = [a for a, e in self.open.items() if e.resource == resource]
        for action_id in failed:
            self._close(action_id, now)
        return failed

    def overdue(self, resource: str, now: int) -> list[str]:  # noqa: ARG002 - the sweep covers every resource
        self.seq += 1
        late = [a for a, e in self.open.items() if e.deadline < now]
        for action_id in late:
            self._close(action_id, now)
        return late

    def resume(self, resource: str, now: int) -> bool:  # noqa: ARG002 - same signature as the store's
        self.seq += 1
        self.resumes.append((resource, self.seq))
        if resource not in self.paused:
            return False
        del self.paused[resource]
        for key in [k for k in self.tries if k[1] == resource]:
            self.tries[key] = []
        return True


def fleet_of(plan: Plan) -> str:
    return (plan.target.fleet or f"standalone:{plan.runbook}") if plan.target else ""


def plan_for(resource: str, runbook: str = "ec2-reboot") -> Plan:
    return Plan(
        runbook,
        Target("ec2-instance", resource, FLEETS.get(resource, "")),
        (Call("ec2", "reboot_instances", {"InstanceIds": [resource]}),),
    )


@dataclass(frozen=True)
class Step:
    """One thing that happens: an event delivered, an executor's failure, the overdue sweep, a resume."""

    kind: (
        str  # "alarm", "ok", "finding", "again" (re-delivery of an earlier event), "fail", "overdue", "resume", "kill"
    )
    resource: str
    advance_ms: int
    pick: int = 0  # which earlier event "again" re-delivers


ADVANCES = st.sampled_from([0, 0, 1_000, 30_000, 5 * 60_000, 16 * 60_000, 2 * 3_600_000])
STEPS = st.builds(
    Step,
    kind=st.sampled_from(
        [
            "alarm",
            "alarm",
            "alarm",
            "ok",
            "disk",
            "diskok",
            "finding",
            "again",
            "again",
            "fail",
            "overdue",
            "resume",
            "kill",
        ]
    ),
    resource=st.sampled_from(sorted(FLEETS)),
    advance_ms=ADVANCES,
    pick=st.integers(0, 50),
)
LIMITS = st.builds(
    Limits,
    cooldown_s=st.sampled_from([0, 60, 900]),
    max_attempts=st.integers(1, 3),
    attempt_window_s=st.sampled_from([3600, 6 * 3600]),
    max_in_flight=st.integers(1, 3),
    max_in_flight_pct=st.sampled_from([0.0, 50.0]),
    hourly_rate=st.integers(1, 8),
    verify_deadline_s=st.sampled_from([600, 900]),
    approval=st.just(False),
    dry_run=st.just(False),
)


@dataclass
class Delivery:
    """An event as delivered to ``admit``: the incident, its plan, when, and the switches then."""

    incident: Incident
    plan: Plan
    now: int
    kill: bool
    fleet_size: int | None


@dataclass
class Run:
    """What a sequence of steps did: deliveries in order, other operations, and the time they happened."""

    deliveries: list[Delivery] = field(default_factory=list)
    operations: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, resource, now) in step order
    order: list[tuple[str, int]] = field(default_factory=list)  # ("deliver", i) | ("op", i)


def play(steps: Sequence[Step]) -> Run:
    """Turn steps into deliveries and operations (identities, re-publications, time), with no governor."""
    run = Run()
    now, kill, counter = START_MS, False, 0
    for step in steps:
        now += step.advance_ms
        if step.kind == "kill":
            kill = not kill
            continue
        if step.kind in ("fail", "overdue", "resume"):
            run.order.append(("op", len(run.operations)))
            run.operations.append((step.kind, step.resource, now))
            continue
        if step.kind == "again":
            if not run.deliveries:
                continue
            earlier = run.deliveries[step.pick % len(run.deliveries)]
            incident = earlier.incident
            if incident.source == "guardduty":  # re-published with a higher count, same finding id
                incident = Incident(
                    "guardduty",
                    incident.identity,
                    "open",
                    incident.subject,
                    incident.resources,
                    facts={"count": counter},
                )
            plan = earlier.plan
        else:
            counter += 1
            metric = "disk" if step.kind in ("disk", "diskok") else "cpu"
            alarm = f"arn:aws:cloudwatch:us-east-1:1:alarm:{metric}-{step.resource}"
            if step.kind == "finding":
                incident = Incident(
                    "guardduty",
                    f"finding-{counter}",
                    "open",
                    "Backdoor:EC2/C&CActivity.B",
                    (step.resource,),
                    facts={"count": 1},
                )
            else:
                state = "resolved" if step.kind in ("ok", "diskok") else "open"
                incident = Incident("alarm", f"{alarm}#{now}-{counter}", state, f"AWS/EC2/{metric}", (step.resource,))
            runbook = {"finding": "ec2-isolate", "disk": "disk-cleanup", "diskok": "disk-cleanup"}
            plan = plan_for(step.resource, runbook.get(step.kind, "ec2-reboot"))
        fleet = FLEETS[step.resource]
        run.order.append(("deliver", len(run.deliveries)))
        run.deliveries.append(Delivery(incident, plan, now, kill, FLEET_SIZE[fleet]))
    return run


def replay(run: Run, limits: Limits, governor_under_test: object) -> list[object]:
    """Play a run through a governor (``deliver``, ``fail``, ``overdue``, ``resume``); what each delivery returned."""
    answers = []
    for what, index in run.order:
        if what == "deliver":
            answers.append(governor_under_test.deliver(run.deliveries[index], limits))  # type: ignore[attr-defined]
        else:
            kind, resource, now = run.operations[index]
            getattr(governor_under_test, kind)(resource, now)
    return answers
