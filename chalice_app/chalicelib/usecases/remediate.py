"""The remediator's use case: an EventBridge event in, at most one governed repair out, always audited.

    event ─▶ view.incident() ─▶ catalog match ─▶ runbook plan (after its reads)
          ─▶ governor store admit (decide + claim + audit, one conditional step)
          ─▶ act: executor runs exactly the plan ─▶ complete (after-state) │ failed: slot released
             dry_run: nothing runs │ awaiting_approval: plan stored, bound to its digest
          ─▶ notify (act, dry_run, approval request, escalation, failure, healed)

A resolved incident (alarm back to OK) closes the open action of the same signal on that resource
as healed (in the governor's admission). Approvals run exactly the stored plan (usecases/approve.py).

The verifier (every ``REVISIT_EVERY_MS``) does the rest, so nothing waits forever and nothing is silent::

    verify by reads ─▶ healed │ overdue ─▶ escalate │ interrupted mid-plan ─▶ escalate
    revisit held work (highest priority, nearest deadline first):
        signal ended (alarm OK / gone) ─▶ closed
        past its deadline ─▶ given up: escalate (a person is told)
        still active ─▶ decided again (may act now that the limit freed; held again otherwise)
    digest: one notice for what was held back since the last one, given up, or notify-only

Notices an operator turned off (``quiet``: decision kinds, "repeat", "digest", "kill_switch") are
not published; the audit keeps everything.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core.clock import now_ms
from chalicelib.core.governor import DEADLINE, HELD_RULES
from chalicelib.core.notices import HeldGroup, decision_notice, digest_notice, kill_switch_notice
from chalicelib.core.runbooks import layer_of
from chalicelib.errors import SelfHealError
from chalicelib.usecases.notifications import tell
from chalicelib.usecases.ports import HeldPort, NoticePort

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from chalicelib.core.runbooks.plan import Incident, Limits, Plan, Proposal
    from chalicelib.usecases.metrics import Counter
    from chalicelib.usecases.notifications import Notifier

log = logging.getLogger(__name__)

REVISIT_EVERY_MS = 5 * 60_000  # the verifier's schedule (sources.VERIFY_SCHEDULE)
# An action admitted but never completed this long after: its invocation died mid-plan (the longest
# remediator timeout is 600 s). The verifier escalates it at its next run: within 16 minutes.
RUN_LEASE_MS = 11 * 60_000
REVISITS_PER_RUN = 50  # held incidents decided again per verifier run at most (bounded work)
# Decide no more held work once a run has spent this long (the verifier's timeout is 600 s, and an
# ec2-retire waits up to 300 s for its stop): the rest waits for the next run, its deadline still holds.
REVISIT_BUDGET_S = 240


class Planner(Protocol):
    """Catalog + runbooks + the reads they need: what would be done about an incident."""

    def propose(self, incident: Incident) -> Proposal: ...

    def verified(self, plan: Plan) -> bool | None: ...


class Executor(Protocol):
    def run(self, plan: Plan) -> list[Any]: ...


class Governor(HeldPort, NoticePort, Protocol):
    """adapters/governor_store.GovernorStore, as the remediator uses it: admissions and actions, and
    the kinds it keeps beside them (held incidents, notices: usecases/ports.py)."""

    def admit(self, incident: Incident, plan: Plan | None, limits: Limits | None, now_ms: int, **kw: Any) -> Any: ...

    def complete(self, action_id: str, outcome: str, now_ms: int, **kw: Any) -> None: ...

    def overdue(self, now_ms: int) -> list[Any]: ...

    def open_actions(self) -> list[Any]: ...

    def heal(self, action_id: str, now_ms: int, reason: str) -> Any: ...

    def escalate(self, action_id: str, now_ms: int, reason: str) -> Any: ...

    def release_held(self, held: Any, decision: Any, rule: str, reason: str, now_ms: int) -> Any: ...


class Signals(Protocol):
    """adapters/signals.SignalReader: is the signal behind a held incident still active?"""

    def states(self, incidents: Iterable[Incident]) -> dict[str, str]: ...


class Remediate:
    """One EventBridge event → one audited decision (and, when allowed, one repair)."""

    def __init__(
        self,
        parse_event: Callable[[Mapping[str, Any]], Any],
        planner: Planner,
        governor: Governor,
        executor: Executor,
        notifier: Notifier,
        kill_switch: Callable[[], bool],
        metrics: Counter,
        clock: Callable[[], int] = now_ms,
        *,
        signals: Signals | None = None,
        quiet: frozenset[str] = frozenset(),
        switch_problem: Callable[[], str] | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parse = parse_event
        self._planner = planner
        self._governor = governor
        self._executor = executor
        self._notifier = notifier
        self._kill_switch = kill_switch
        self._metrics = metrics
        self._clock = clock
        self._signals = signals
        self._quiet = quiet
        self._switch_problem = switch_problem or (lambda: "")
        self._timer = timer

    def handle(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Decide and act on one event: ``{"decisions": [...]}``, one per incident it reports (a Health
        event may name several instances). PayloadError (not an event we know) propagates to the DLQ;
        TransientError before admission (a read or the governor throttled) propagates so Lambda's
        async retry tries again; admission is exactly once, so a retry never acts twice."""
        decisions = [self._decide(incident) for incident in self._parse(raw).incidents()]
        self._metrics.flush()
        return {"decisions": decisions}

    def _decide(self, incident: Incident, *, revisit: bool = False) -> dict[str, Any]:
        proposal = self._planner.propose(incident)
        now = self._clock()
        record = self._governor.admit(
            proposal.incident,
            proposal.plan,
            proposal.limits,
            now,
            fleet_size=proposal.fleet_size,
            kill_switch=self._kill_switch(),
            before=proposal.before,
            **({"revisit": True} if revisit else {}),
        )
        decision, reason = record.decision, record.reason
        if decision == "act" and proposal.plan is not None:
            decision, reason = self.execute(record, proposal.plan)
        if decision == "suppressed" and record.rule == "cooldown" and not revisit and proposal.limits is not None:
            # The seed practice: the same repair needed again inside its cooldown does not run again;
            # a person is paged, once per cooldown window of (runbook, resource).
            until = now + proposal.limits.cooldown_s * 1000
            if self._governor.tell_once("repeat", f"{record.runbook}#{record.resource}", until, now):
                self.announce(record, "repeat", proposal.incident.subject, reason)
        elif decision == "notify":
            # A signal about a resource selfheal knows that no runbook applies to: told in the next
            # digest (one notice per burst), not silent and not a page per event.
            self._governor.note("notify", f"{record.resource or proposal.incident.subject}: {reason}", now)
        else:
            self.announce(record, decision, proposal.incident.subject, reason)
        self._metrics.count(f"Runbook{_camel(decision)}")
        outcome(record, decision)
        if decision == "healed" and "time_to_heal_ms" in record.after:
            # EMF has one unit per metric: this one's values are seconds (the dashboard says so).
            self._metrics.seconds("TimeToHealSeconds", int(record.after["time_to_heal_ms"]) / 1000)
        return decision_json(record, decision, reason)

    def verify(self) -> dict[str, Any]:
        """The verifier's pass: executed actions whose runbook verifies by reading (a GuardDuty finding
        never sends an OK) are read and closed healed when the repair is in place; actions that did
        not heal by their deadline, or whose invocation died mid-plan, escalate (one notice each);
        held-back work is decided again or given up (module docstring); then one digest."""
        decisions = self._verify_by_reads()
        escalated = 0
        for record in self._governor.overdue(self._clock()):
            escalated += 1
            outcome(record, "escalate")
            reason = f"not verified healed by its deadline: {record.reason}"
            self.announce(record, "escalate", "", reason=reason)
            decisions.append(decision_json(record, "escalate", reason))
        interrupted = self._interrupted()
        escalated += len(interrupted)
        decisions += interrupted
        given_up: list[str] = []
        fresh = [h for h in self._governor.held() if not h.told_ms and h.rule in HELD_RULES]
        decisions += self.revisit(given_up)
        self._digest(fresh, given_up)
        self._tell_switch()
        self._metrics.count("RunbookEscalate", escalated)
        self._metrics.flush()
        return {"decisions": decisions}

    def _interrupted(self) -> list[dict[str, Any]]:
        """Actions admitted but never completed within ``RUN_LEASE_MS``: their invocation died between
        the calls (an ec2-retire after StopInstances leaves the instance stopped). A person is told now,
        not at the verify deadline."""
        now, decisions = self._clock(), []
        for record in self._governor.open_actions():
            if record.executed_ms or now - record.created_ms < RUN_LEASE_MS:
                continue
            reason = (
                f"interrupted mid-plan: its run ended before the calls finished; {record.resource} may be half "
                f"changed (read it; calls planned: {', '.join(c.get('operation', '') for c in record.calls)})"
            )
            closed = self._governor.escalate(record.action_id, now, reason)
            if closed is None:
                continue
            outcome(closed, "escalate")
            self.announce(closed, "escalate", "", reason=reason)
            decisions.append(decision_json(closed, "escalate", reason))
        return decisions

    def revisit(self, given_up: list[str] | None = None) -> list[dict[str, Any]]:
        """Decide held-back incidents again while their signal is active; give up (escalate) those past
        their deadline, close those whose signal ended. Skips the rest of a fleet (or a runbook's hourly
        rate) found full in this run: they would only be held again."""
        given_up = given_up if given_up is not None else []
        now = self._clock()
        held = self._governor.held()
        if not held:
            return []
        states = self._signals.states(h.incident for h in held) if self._signals is not None else {}
        decisions: list[dict[str, Any]] = []
        full: set[tuple[str, str]] = set()
        decided, started = 0, self._timer()
        # With the kill switch on, a decision would be a final dry run: held work waits for it to go off.
        switched_off = self._kill_switch()
        for h in held:
            if states.get(h.incident.identity, "active") == "ended":
                reason = f"its signal ended (alarm back to OK or gone) while held back by {h.rule}"
                record = self._governor.release_held(h, "ignore", "signal-ended", reason, now)
                if record is not None:
                    decisions.append(decision_json(record, "ignore", reason))
                continue
            if now >= h.deadline_ms:
                decisions += self._give_up(h, now, given_up)
                continue
            if switched_off or states.get(h.incident.identity) == "quiet":
                continue  # kept held: decided when the switch is off or a datapoint says ALARM again
            spent = self._timer() - started >= REVISIT_BUDGET_S
            if (
                spent
                or decided >= REVISITS_PER_RUN
                or (h.rule, h.fleet if h.rule == "blast-radius" else h.runbook) in full
            ):
                continue
            decided += 1
            try:
                answer = self._decide(h.incident, revisit=True)
            except SelfHealError:  # a read failed: the next run tries again, the deadline still holds
                log.warning("could not decide held incident %s again", h.key, exc_info=True)
                continue
            if answer["decision"] == "suppressed" and answer["rule"] in ("blast-radius", "hourly-rate"):
                full.add((answer["rule"], h.fleet if answer["rule"] == "blast-radius" else h.runbook))
                continue
            decisions.append(answer)
        self._metrics.count("RunbookRevisited", decided)
        return decisions

    def _give_up(self, h: Any, now: int, given_up: list[str]) -> list[dict[str, Any]]:
        reason = f"held back by {h.rule} past its deadline, nothing done: {h.reason}"
        record = self._governor.release_held(h, "escalate", "held-too-long", reason, now)
        if record is None:
            return []
        if h.priority >= DEADLINE:  # an isolation or a dated retirement: a page of its own
            self.announce(record, "escalate", h.incident.subject, reason)
        else:
            given_up.append(f"{h.runbook} on {h.resource}: {h.reason}")
        return [decision_json(record, "escalate", reason)]

    def _digest(self, fresh: Sequence[Any], given_up: Sequence[str]) -> None:
        """One notice for the burst: held work not told yet (grouped, as the run found it before
        deciding it again), work given up, notify-only lines."""
        now = self._clock()
        held = self._governor.held()
        groups = Tally((h.rule, h.runbook, h.fleet) for h in fresh)
        examples = {(h.rule, h.runbook, h.fleet): h.reason for h in fresh}
        notes = self._governor.notes()
        quiet_notes = "notify" in self._quiet
        notice = digest_notice(
            [HeldGroup(rule, rb, fleet, n, examples[(rule, rb, fleet)]) for (rule, rb, fleet), n in groups.items()],
            next_look_ms=now + REVISIT_EVERY_MS,
            escalated=given_up,
            notes=[] if quiet_notes else [text for _, _, text in notes],
            waiting=len(held),
        )
        if notice is not None and "digest" not in self._quiet:
            tell(self._notifier, notice, self._metrics)
        self._governor.told([h.key for h in fresh], now)
        self._governor.forget_notes([key for key, _, _ in notes])

    def _tell_switch(self) -> None:
        """The kill switch could not be read as set: automation dry-runs; a person is told once an hour."""
        problem = self._switch_problem()
        now = self._clock()
        if (
            problem
            and "kill_switch" not in self._quiet
            and self._governor.tell_once("switch", "-", now + 3_600_000, now)
        ):
            tell(self._notifier, kill_switch_notice(problem), self._metrics)

    def _verify_by_reads(self) -> list[dict[str, Any]]:
        decisions = []
        for record in self._governor.open_actions():
            if not record.executed_ms:
                continue  # admitted, its calls not run yet: the target still reads as before
            try:
                healed = self._planner.verified(record.plan())
            except SelfHealError:  # a read failed: the deadline still escalates it if it never reads healed
                log.warning("could not verify %s by reading", record.action_id, exc_info=True)
                continue
            if not healed:
                continue
            now = self._clock()
            closed = self._governor.heal(record.action_id, now, "verified by reading the target")
            if closed is None:
                continue  # closed meanwhile (an event, the deadline)
            reason = f"verified healed by reading the target: {record.reason}"
            self.announce(closed, "healed", "", reason=reason)
            self._metrics.count("RunbookHealed")
            self._metrics.seconds("TimeToHealSeconds", (now - record.created_ms) / 1000)
            outcome(closed, "healed", (now - record.created_ms) / 1000)
            decisions.append(decision_json(closed, "healed", reason))
        return decisions

    def execute(self, record: Any, plan: Plan) -> tuple[str, str]:
        """Run an admitted (or approved) plan and record its outcome: ('act' | 'failed', reason)."""
        # Any failure of the calls (throttling included) ends the action FAILED with its reason and a
        # notice: admission is exactly once, so a retried event would only be audited as a duplicate.
        try:
            results = self._executor.run(plan)
        except SelfHealError as exc:
            log.warning("runbook %s failed on %s: %s", record.runbook, record.resource, exc, exc_info=True)
            self._governor.complete(record.action_id, "failed", self._clock(), reason=str(exc))
            return "failed", str(exc)
        self._governor.complete(record.action_id, "act", self._clock(), after={"results": _summary(results)})
        return "act", record.reason

    def announce(self, record: Any, decision: str, subject: str = "", reason: str | None = None) -> None:
        """Publish the notice for a decision (audited already; a lost notice never repeats an action),
        unless an operator turned that kind of notice off."""
        if decision in self._quiet:
            return
        started, ended = timing(record, decision, self._clock())
        notice = decision_notice(
            decision,
            runbook=record.runbook,
            resource=record.resource,
            reason=reason or record.reason,
            action_id=record.action_id,
            subject=subject,
            calls=record.calls,
            expires_ms=record.expires_ms,
            digest=record.digest,
            layer=layer_of(record.runbook) if record.runbook else "",
            started_ms=started,
            ended_ms=ended,
            attempt=int(getattr(record, "attempt", 0) or 0),
            rule=str(getattr(record, "rule", "") or ""),
        )
        tell(self._notifier, notice, self._metrics)


# Decisions after which nothing more runs: their notice carries an end time.
_ENDED = frozenset({"act", "approved", "failed", "healed", "escalate", "denied", "dry_run"})


def timing(record: Any, decision: str, now_ms: int) -> tuple[int, int]:
    """(started, ended) epoch ms of the action a notice is about: it started at its decision (a
    healed record from an OK event started at the act it verified, ``time_to_heal_ms`` before);
    it ended when it was closed, or now for a decision that ends here (0 while it waits)."""
    started = int(record.created_ms or 0)
    after = record.after if isinstance(getattr(record, "after", None), dict) else {}
    if decision == "healed" and "time_to_heal_ms" in after:
        started -= int(after["time_to_heal_ms"])
    ended = int(getattr(record, "decided_ms", 0) or 0) or (now_ms if decision in _ENDED else 0)
    return started, ended


def outcome(record: Any, decision: str, heal_s: float | None = None) -> None:
    """One log line per runbook decision with its layer: the dashboard's per-layer widgets count
    them with Logs Insights (a metric dimension per layer would be billed every month)."""
    if not record.runbook:
        return
    if heal_s is None and decision == "healed" and "time_to_heal_ms" in (record.after or {}):
        heal_s = int(record.after["time_to_heal_ms"]) / 1000
    fields: dict[str, Any] = {
        "runbook": record.runbook,
        "layer": layer_of(record.runbook),
        "decision": decision,
        "rule": record.rule,  # a redelivery is "suppressed" by rule "duplicate"
    }
    if heal_s is not None:
        fields["time_to_heal_s"] = heal_s
    log.info("runbook outcome", extra=fields)


def decision_json(record: Any, decision: str, reason: str) -> dict[str, Any]:
    """One decision as handlers return it and `local --infra --json` lists it."""
    return {
        "runbook": record.runbook or None,
        "target": record.resource or None,
        "decision": decision,
        "rule": record.rule,
        "reason": reason,
        "action_id": record.action_id,
    }


def _summary(results: Sequence[Any]) -> list[str]:
    return [str(r)[:200] for r in results][:20]


def _camel(decision: str) -> str:
    return "".join(part.capitalize() for part in decision.split("_"))
