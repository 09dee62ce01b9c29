"""Approve or deny a critical action that waits for a human: the stored plan runs exactly, or closes.

The plan an operator approves is the one stored at admission: it is rebuilt from the audit record,
its digest recomputed and compared with the digest stored beside it, and the store's conditional
approve refuses an expired, already decided or mismatched action (errors.Refused, with why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import with_waits
from chalicelib.errors import Refused
from chalicelib.services.ingest import now_ms
from chalicelib.services.remediate import decision_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from chalicelib.services.remediate import Remediate


class Approvals:
    """The approve / deny entry points (the operator's CLI calls these)."""

    def __init__(
        self,
        governor: Any,
        remediate: Remediate,
        kill_switch: Callable[[], bool],
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._governor = governor
        self._remediate = remediate
        self._kill_switch = kill_switch
        self._clock = clock

    def approve(self, action_id: str) -> dict[str, Any]:
        """Run exactly the stored plan of a pending action; Refused when it cannot be approved."""
        stored = self._governor.get(action_id)
        if stored is None:
            raise Refused(f"no action {action_id}")
        plan = stored.plan()
        if plan.digest() != stored.digest:
            raise Refused(f"action {action_id}: the stored plan does not match its digest; not run")
        record = self._governor.approve(action_id, stored.digest, self._clock(), kill_switch=self._kill_switch())
        self._remediate.announce(record, "approved")
        # The audit's call shape carries no waiters: put back the ones the runbook needs (a stop
        # must finish before the start); the digest is over the calls, which stay as approved.
        outcome, reason = self._remediate.execute(record, with_waits(plan))
        if outcome == "failed":
            self._remediate.announce(record, "failed", reason=reason)
        return decision_json(record, "approved" if outcome == "act" else outcome, reason)

    def deny(self, action_id: str) -> dict[str, Any]:
        """Close a pending action without running it; Refused when it is no longer pending."""
        record = self._governor.deny(action_id, self._clock())
        self._remediate.announce(record, "denied", reason="denied by an operator")
        return decision_json(record, "denied", "denied by an operator")
