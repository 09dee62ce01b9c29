"""The view of every event source a runbook declares (core/runbooks/declare.py ``EventSource``).

One class for all of them: what an AWS Backup job state change or an RDS instance event means to a
runbook is read from its declaration (the detail fields of its subject, resource and identity), so a
new source is a declaration in the runbook's module, not a new class here. Fields are read leniently
like the other views: a missing resource makes the incident ambiguous, which escalates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.plan import Incident
from chalicelib.events.eventbridge import EventBridgeEvent

if TYPE_CHECKING:
    from collections.abc import Mapping

    from chalicelib.core.runbooks.declare import EventSource


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


class DeclaredEvent(EventBridgeEvent):
    """An event of a source a runbook declares, read by its declaration."""

    def __init__(self, raw: Mapping[str, Any], declared: EventSource, **kwargs: Any) -> None:
        super().__init__(raw, **kwargs)
        self.declared = declared
        self.source_name = declared.name

    @property
    def subject(self) -> str:
        """The declared subject field (a job's state, an event id)."""
        return _text(self.detail.get(self.declared.subject))

    @property
    def resource(self) -> str:
        """The declared resource field (a resource ARN, a DB instance identifier)."""
        return _text(self.detail.get(self.declared.resource))

    @property
    def identity(self) -> str:
        """``<source name>:`` + the declared identity fields, ``#`` between them."""
        return f"{self.declared.name}:" + "#".join(_text(self.detail.get(k)) for k in self.declared.identity)

    def incident(self) -> Incident:
        """The incident: subject, resource and the declared facts of the detail."""
        resource = self.resource
        facts: dict[str, Any] = {k: self.detail[k] for k in self.declared.facts if k in self.detail}
        facts["resource_kind"] = self.declared.resource_kind if resource else ""
        return Incident(
            source=self.declared.name,
            identity=self.identity,
            state="resolved" if self.subject in self.declared.resolved else "open",
            subject=self.subject,
            resources=(resource,) if resource else (),
            ambiguity="" if resource else f"the event names no {self.declared.resource}",
            never_act=self.foreign(),
            facts=facts,
            **self._envelope(),
        )


def view_of(source: str, detail_type: str) -> EventSource | None:
    """The declared event source of (``source``, ``detail-type``), None when no runbook declares it."""
    from chalicelib.core.runbooks.registry import event_sources

    return next((s for s in event_sources().values() if (s.source, s.detail_type) == (source, detail_type)), None)
