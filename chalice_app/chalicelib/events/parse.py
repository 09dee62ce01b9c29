"""Which view reads an EventBridge event: the three built-in sources (events/eventbridge.py) and
the sources runbooks declare (events/declared.py). Its own module so that neither imports the other's
dispatcher (declared views build on eventbridge's base class)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import PayloadError
from chalicelib.events.declared import DeclaredEvent, view_of
from chalicelib.events.eventbridge import DEFAULT_PRINCIPAL, VIEWS, EventBridgeEvent


def parse_event(
    raw: Any, *, principal: str = DEFAULT_PRINCIPAL, home: tuple[str, str] | None = None
) -> EventBridgeEvent:
    """The view for ``raw`` by its ``source`` and ``detail-type``; PayloadError for any other event.

    ``home`` is the deployment's (account, region): an event about another one never acts.
    """
    if not isinstance(raw, dict):
        raise PayloadError(f"an EventBridge event is a JSON object, not {type(raw).__name__}")
    key = tuple(v if isinstance(v, str) else "" for v in (raw.get("source"), raw.get("detail-type")))
    view = VIEWS.get(key)
    # An event source a runbook declares (events/declared.py reads it by the declaration).
    declared = None if view is not None else view_of(*key)
    if view is None and declared is None:
        raise PayloadError(f"not an event selfheal handles: source={key[0]!r} detail-type={key[1]!r}")
    if not isinstance(raw.get("detail"), dict):
        raise PayloadError(f"{key[1]} event {raw.get('id')!r} has no detail object")
    if declared is not None:
        return DeclaredEvent(raw, declared, principal=principal, home=home)
    return view(raw, principal=principal, home=home)
