"""The remediator's use case: an EventBridge event in, at most one governed repair out, always audited.

    event ─▶ view.incident() ─▶ catalog match ─▶ runbook plan (after its reads)
          ─▶ governor store admit (decide + claim + audit, one conditional step)
          ─▶ act: executor runs exactly the plan ─▶ complete (after-state) │ failed: slot released
             dry_run: nothing runs │ awaiting_approval: plan stored, bound to its digest
          ─▶ notify (act, dry_run, approval request, escalation, failure, healed)

A resolved incident (alarm back to OK) closes the open action on that resource as healed (in the
governor's admission); the verifier (a schedule) escalates actions that did not heal by their
deadline. Approvals run exactly the stored plan (services/approve.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core.notices import decision_notice
from chalicelib.errors import SelfHealError
from chalicelib.services.ingest import now_ms
from chalicelib.services.notifications import tell

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chalicelib.core.runbooks.plan import Incident, Limits, Plan, Proposal
    from chalicelib.services.metrics import Counter
    from chalicelib.services.notifications import Notifier

log = logging.getLogger(__name__)


class Planner(Protocol):
    """Catalog + runbooks + the reads they need: what would be done about an incident."""

    def propose(self, incident: Incident) -> Proposal: ...

    def verified(self, plan: Plan) -> bool | None: ...


class Executor(Protocol):
    def run(self, plan: Plan) -> list[Any]: ...


class Governor(Protocol):
    """adapters/governor_store.GovernorStore, as the remediator uses it."""

    def admit(self, incident: Incident, plan: Plan | None, limits: Limits | None, now_ms: int, **kw: Any) -> Any: ...

    def complete(self, action_id: str, outcome: str, now_ms: int, **kw: Any) -> None: ...

    def overdue(self, now_ms: int) -> list[Any]: ...

    def open_actions(self) -> list[Any]: ...

    def heal(self, action_id: str, now_ms: int, reason: str) -> Any: ...


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
    ) -> None:
        self._parse = parse_event
        self._planner = planner
        self._governor = governor
        self._executor = executor
        self._notifier = notifier
        self._kill_switch = kill_switch
        self._metrics = metrics
        self._clock = clock

    def handle(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Decide and act on one event: ``{"decisions": [...]}``, one per incident it reports (a Health
        event may name several instances). PayloadError (not an event we know) propagates to the DLQ;
        TransientError before admission (a read or the governor throttled) propagates so Lambda's
        async retry tries again; admission is exactly once, so a retry never acts twice."""
        decisions = [self._decide(incident) for incident in self._parse(raw).incidents()]
        self._metrics.flush()
        return {"decisions": decisions}

    def _decide(self, incident: Incident) -> dict[str, Any]:
        proposal = self._planner.propose(incident)
        record = self._governor.admit(
            proposal.incident,
            proposal.plan,
            proposal.limits,
            self._clock(),
            fleet_size=proposal.fleet_size,
            kill_switch=self._kill_switch(),
            before=proposal.before,
        )
        decision, reason = record.decision, record.reason
        if decision == "act" and proposal.plan is not None:
            decision, reason = self.execute(record, proposal.plan)
        self.announce(record, decision, proposal.incident.subject, reason)
        if decision == "ignore" and record.rule == "no-runbook" and proposal.notify:
            # A signal about a resource selfheal knows that no runbook applies to: told, not silent.
            self.announce(record, "notify", proposal.incident.subject, proposal.notify)
        self._metrics.count(f"Runbook{_camel(decision)}")
        if decision == "healed" and "time_to_heal_ms" in record.after:
            # EMF has one unit per metric: this one's values are seconds (the dashboard says so).
            self._metrics.seconds("TimeToHealSeconds", int(record.after["time_to_heal_ms"]) / 1000)
        return decision_json(record, decision, reason)

    def verify(self) -> dict[str, Any]:
        """The verifier's pass: executed actions whose runbook verifies by reading (a GuardDuty finding
        never sends an OK) are read and closed healed when the repair is in place; then actions that
        did not heal by their deadline escalate (one notice each)."""
        decisions = self._verify_by_reads()
        escalated = 0
        for record in self._governor.overdue(self._clock()):
            escalated += 1
            reason = f"not verified healed by its deadline: {record.reason}"
            self.announce(record, "escalate", "", reason=reason)
            decisions.append(decision_json(record, "escalate", reason))
        self._metrics.count("RunbookEscalate", escalated)
        self._metrics.flush()
        return {"decisions": decisions}

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
        """Publish the notice for a decision (audited already; a lost notice never repeats an action)."""
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
        )
        tell(self._notifier, notice, self._metrics)


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
