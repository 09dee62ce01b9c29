"""The governor's state in DynamoDB: exactly-once, cooldowns, budgets, fleet slots, approvals and the audit.

One table, key (``pk``, ``sk``), items by role::

    action#<action id> / action     the audit record: one per event decided (ActionRecord), also the
                                    approval request and the open (acted, unverified) action
    res#<resource>     / state      pause, cooldown per runbook, attempts in the window, version ``ver``
    fleet#<fleet>      / slot#<k>   an in-flight slot, k < in_flight_limit: holder, lease_until = deadline
    rate#<runbook>     / slot#<k>   an hourly slot, k < hourly_rate: holder, lease_until = now + 1 h

TransactWriteItems is not used: dynalite, the atomic local DynamoDB the concurrency tests run on,
does not implement it (checked: dynalite 4.0.0 lists transactions under TODO and has no action for
them), and one design tested under real atomicity beats a transactional one tested nowhere. Every
invariant is instead held by ONE single-item conditional write on the item that owns it, and the
audit record is the commit point (see ``GovernorStore.admit`` for the timeline).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

TTL_ATTRIBUTE = "expires_at"  # DynamoDB TTL (epoch seconds); never relied on for correctness, only cleanup
INDEX_TIME = "by_time"  # every audit record, newest first
INDEX_RUNBOOK = "by_runbook"
INDEX_RESOURCE = "by_resource"
INDEX_DECISION = "by_decision"
INDEX_OPEN = "open_by_deadline"  # sparse: acted, unverified actions by verify deadline
INDEX_OPEN_RESOURCE = "open_by_resource"  # sparse: the same, per resource (for "resolved" events)
Outcome = Literal["", "healed", "failed", "escalated", "approved", "denied"]


@dataclass(frozen=True)
class ActionRecord:
    """One audit record == one decision on one event; what ``GovernorStore.actions`` lists.

    ``calls`` are ``Call.as_dict()`` of the plan, ``digest`` its ``Plan.digest()``; ``expires_ms``
    is when an approval request expires, ``deadline_ms`` when an acted action must be verified by;
    ``outcome`` is what became of it later ("" while nothing did).
    """

    action_id: str
    identity: str
    runbook: str
    resource: str
    fleet: str
    decision: str
    rule: str
    reason: str
    calls: tuple[dict[str, Any], ...]
    digest: str
    created_ms: int
    expires_ms: int = 0
    deadline_ms: int = 0
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    outcome: str = ""
    # Added to the agreed shape (nothing renamed):
    kind: str = ""  # Target.kind, so an approved record rebuilds its Plan
    region: str = ""  # Target.region
    pause: bool = False  # this escalation paused the resource
    decided_ms: int = 0  # when ``outcome`` was set
    approval_of: str = ""  # for decision "approved": the awaiting_approval record it approves
    outcome_reason: str = ""  # why the outcome (failure message, overdue, who resolved)


def table_definition(table_name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments for the governor table (tests; Terraform mirrors it).

    On-demand billing; GSIs project everything (records are small and ``actions`` shows them all).
    TTL on ``expires_at`` must be enabled separately (``update_time_to_live``).
    """
    raise NotImplementedError  # filled in the next commit


class GovernorStore:
    """The governor's durable state: every method is safe under concurrent Lambdas and replays."""

    def __init__(self, client: Any, table_name: str, *, audit_days: int = 90, identity_days: int = 30) -> None:
        self._db = client
        self._table = table_name
        self._audit_s = audit_days * 86_400
        self._identity_s = identity_days * 86_400

    def admit(self, incident: Any, plan: Any, limits: Any, now_ms: int, *, fleet_size: int | None = None,
              kill_switch: bool = False) -> ActionRecord:  # fmt: skip
        """Decide one event and make the decision durable, exactly once per identity; returns its audit record.

        Reads the state, calls ``governor.decide``, claims what an ``act`` consumes with conditional
        writes, and commits by writing the audit record; a lost race re-reads and re-decides (bounded,
        then TransientError: nothing was committed, the event is retried). Every call writes exactly
        one audit record. The executor runs the plan only when the returned decision is ``act``.
        """
        raise NotImplementedError

    def complete(self, action_id: str, outcome: Literal["act", "failed"], now_ms: int, *,
                 after: dict[str, Any] | None = None, reason: str = "") -> None:  # fmt: skip
        """Record what the executor did: ``act`` keeps the action in flight until healed or overdue;
        ``failed`` marks it failed and releases its fleet slot (the attempt still counts)."""
        raise NotImplementedError

    def resolve(self, incident: Any, now_ms: int) -> list[ActionRecord]:
        """Mark the open actions on the incident's resources healed and free their fleet slots."""
        raise NotImplementedError

    def overdue(self, now_ms: int) -> list[ActionRecord]:
        """Acted actions not verified by their deadline → outcome ``escalated``, fleet slot freed."""
        raise NotImplementedError

    def approve(self, action_id: str, digest: str, now_ms: int) -> ActionRecord:
        """Approve an awaiting action bound to ``digest``; returns the ``approved`` record to execute.

        Raises ``errors.Refused`` (with why) when the request expired, was already decided, the digest
        does not match, or the limits forbid acting now (paused, cooldown, budget, rate, blast radius).
        """
        raise NotImplementedError

    def deny(self, action_id: str, now_ms: int) -> ActionRecord:
        """Deny an awaiting action; ``errors.Refused`` when it was already decided."""
        raise NotImplementedError

    def resume(self, resource: str, now_ms: int) -> None:
        """Lift the pause of a resource and clear its attempt budget; ``errors.Refused`` when not paused."""
        raise NotImplementedError

    def actions(self, *, runbook: str | None = None, resource: str | None = None, decision: str | None = None,
                limit: int = 100) -> list[ActionRecord]:  # fmt: skip
        """Audit records, newest first, filtered by runbook, resource and decision (all that are given)."""
        raise NotImplementedError
