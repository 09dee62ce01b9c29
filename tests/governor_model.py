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
    closed_at: int | None = None
    deadline: int = 0
    healed: tuple[str, ...] = ()
    seq: int = 0  # position in the order things happened
    closed_seq: int | None = None


@dataclass
class Ledger:
    """The governor's state in memory; ``admit`` mirrors ``GovernorStore.admit`` one event at a time."""

    seen: set[tuple[str, str]] = field(default_factory=set)
    cool: dict[tuple[str, str], int] = field(default_factory=dict)
    tries: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # until (ms) per act
    paused: dict[str, str] = field(default_factory=dict)
    fleet_leases: dict[str, dict[str, int]] = field(default_factory=dict)  # fleet → action → lease end
    rate_leases: dict[str, list[int]] = field(default_factory=dict)
    open: dict[str, Entry] = field(default_factory=dict)
    audit: list[Entry] = field(default_factory=list)
    resumes: list[tuple[str, int]] = field(default_factory=list)  # (resource, seq) of every resume asked
    seq: int = 0

    def state(self, incident: Incident, plan: Plan, limits: Limits, now: int, fleet_size: int | None, kill: bool):
        key = (plan.runbook, plan.target.id if plan.target else "")
        resource, fleet = key[1], fleet_of(plan)
        return governor.State(
            seen=(incident.identity, plan.runbook) in self.seen,
            paused=self.paused.get(resource, ""),
            last_action_ms=self.cool.get(key),
            attempts_in_window=sum(1 for until in self.tries.get(key, []) if until > now),
            in_flight=sum(1 for end in self.fleet_leases.get(fleet, {}).values() if end > now),
            fleet_size=fleet_size,
            runbook_last_hour=sum(1 for end in self.rate_leases.get(plan.runbook, []) if end > now),
            open_action=next((a for a, e in self.open.items() if e.resource == resource), ""),
            kill_switch=kill,
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
    ) -> Entry:
        state = self.state(incident, plan, limits, now, fleet_size, kill)
        verdict = governor.decide(incident, plan, limits, state, now)
        resource, fleet = (plan.target.id if plan.target else ""), fleet_of(plan)
        self.seq += 1
        entry = Entry(
            f"a{len(self.audit)}", incident.identity, plan.runbook, resource, fleet, verdict.decision, verdict.rule, now
        )
        entry.seq, entry.pause = self.seq, verdict.pause
        if verdict.rule != "duplicate":
            self.seen.add((incident.identity, plan.runbook))
        if verdict.decision == "act":
            key = (plan.runbook, resource)
            entry.deadline = now + limits.verify_deadline_s * 1000
            self.cool[key] = now
            self.tries.setdefault(key, []).append(now + limits.attempt_window_s * 1000)
            self.fleet_leases.setdefault(fleet, {})[entry.action_id] = entry.deadline
            self.rate_leases.setdefault(plan.runbook, []).append(now + governor.HOUR_MS)
            self.open[entry.action_id] = entry
        elif verdict.pause:
            self.paused[resource] = verdict.reason
        elif verdict.decision == "healed":
            entry.healed = tuple(a for a, e in self.open.items() if e.resource == resource)
            for action_id in entry.healed:
                self._close(action_id, now)
        self.audit.append(entry)
        return entry

    def deliver(self, delivery: Delivery, limits: Limits) -> Entry:
        return self.admit(
            delivery.incident, delivery.plan, limits, delivery.now, fleet_size=delivery.fleet_size, kill=delivery.kill
        )

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
    return (plan.target.fleet or f"solo:{plan.target.id}") if plan.target else ""


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
        ["alarm", "alarm", "alarm", "ok", "finding", "again", "again", "fail", "overdue", "resume", "kill"]
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
            alarm = f"arn:aws:cloudwatch:us-east-1:1:alarm:cpu-{step.resource}"
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
                state = "resolved" if step.kind == "ok" else "open"
                incident = Incident(
                    "alarm", f"{alarm}#{now}-{counter}", state, "AWS/EC2/CPUUtilization", (step.resource,)
                )
            plan = plan_for(step.resource, "ec2-isolate" if step.kind == "finding" else "ec2-reboot")
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
