"""Held-back incidents of the governor table: one item per incident a limit held back (paused,
cooldown, hourly rate, blast radius), decided again by the verifier until its deadline.

    held               / <first id>   the incident (as JSON), the rule and reason that held it, its
                                      priority, first hold (``since_ms``), deadline, last look, looks,
                                      and when a digest told it (``told_ms``)

The admission (adapters/governor_store.py ``GovernorStore.admit``) keeps or refreshes the item; the
verifier lists them (one Query of the partition: no Scan, no index), and a release drops the item as
it was read before the release is audited.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.governor_table import KEPT_AFTER_LEASE_S as _KEPT_AFTER_LEASE_S
from chalicelib.adapters.governor_table import TTL_ATTRIBUTE, GovernorTable
from chalicelib.adapters.governor_table import item_key as _key
from chalicelib.adapters.governor_table import load as _load
from chalicelib.adapters.governor_table import values as _values
from chalicelib.core import governor

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from chalicelib.core.runbooks.plan import Incident

__all__ = ["HELD_PK", "Held", "HeldIncidents", "incident_from_json", "incident_json"]

HELD_PK = "held"  # the partition of held-back incidents (one Query lists them; no Scan, no index)


@dataclass(frozen=True)
class Held:
    """An incident a limit held back, waiting to be decided again (the verifier's revisit)."""

    key: str  # the first id of (identity, runbook): the id its final decision will have
    incident: Incident
    runbook: str
    resource: str
    fleet: str
    rule: str
    reason: str
    priority: int
    since_ms: int
    deadline_ms: int
    last_ms: int
    looks: int = 1
    told_ms: int = 0


def incident_json(incident: Incident) -> str:
    """An incident as JSON (the held item keeps it to decide it again)."""
    return json.dumps(dataclasses.asdict(incident), default=str)


def incident_from_json(text: str) -> Incident:
    """The incident ``incident_json`` wrote."""
    from chalicelib.core.runbooks.plan import Incident

    plain = json.loads(text)
    names = {f.name for f in dataclasses.fields(Incident)}
    plain = {k: v for k, v in plain.items() if k in names}
    plain["resources"] = tuple(plain.get("resources") or ())
    return Incident(**plain)


def _to_held(p: Mapping[str, Any]) -> Held:
    return Held(
        key=str(p["sk"]),
        incident=incident_from_json(p.get("incident_json", "{}")),
        runbook=str(p.get("held_runbook", "")),
        resource=str(p.get("held_resource", "")),
        fleet=str(p.get("held_fleet", "")),
        rule=str(p.get("rule", "")),
        reason=str(p.get("reason", "")),
        priority=int(p.get("prio", governor.REPAIR)),
        since_ms=int(p.get("since_ms", 0)),
        deadline_ms=int(p.get("deadline_ms", 0)),
        last_ms=int(p.get("last_ms", 0)),
        looks=int(p.get("looks", 1)),
        told_ms=int(p.get("told_ms", 0)),
    )


class HeldIncidents(GovernorTable):
    """The governor table's held-back incidents (the ``held`` partition)."""

    def hold(
        self,
        key: str,
        incident: Incident,
        verdict: governor.Verdict,
        runbook: str,
        resource: str,
        fleet: str,
        priority: int,
        now_ms: int,
    ) -> None:
        """Keep (or refresh) the held item of an incident a limit held back; its first hold and deadline stay."""
        deadline = governor.hold_deadline(incident, now_ms)
        self._call(
            "update_item",
            Key=_key(HELD_PK, key),
            UpdateExpression=(
                "SET since_ms = if_not_exists(since_ms, :now), deadline_ms = if_not_exists(deadline_ms, :d), "
                "#rule = :rule, reason = :reason, last_ms = :now, incident_json = :inc, held_runbook = :rb, "
                "held_resource = :res, held_fleet = :fleet, prio = :p, looks = if_not_exists(looks, :zero) + :one, "
                f"{TTL_ATTRIBUTE} = :ttl"
            ),
            ExpressionAttributeNames={"#rule": "rule"},
            ExpressionAttributeValues=_values(
                now=now_ms,
                d=deadline,
                rule=verdict.rule,
                reason=verdict.reason,
                inc=incident_json(incident),
                rb=runbook,
                res=resource or "-",
                fleet=fleet or "-",
                p=priority,
                zero=0,
                one=1,
                ttl=max(deadline, now_ms) // 1000 + _KEPT_AFTER_LEASE_S,
            ),
        )

    def held(self, limit: int = 500) -> list[Held]:
        """Incidents held back by a limit, highest priority first, then the nearest deadline."""
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=_values(pk=HELD_PK), ConsistentRead=True
        )
        found = [_to_held(_load(raw)) for raw in items]
        found.sort(key=lambda h: (-h.priority, h.deadline_ms, h.since_ms))
        return found[:limit]

    def told(self, keys: Iterable[str], now_ms: int) -> None:
        """Mark held items as told in a digest (each is in one digest while it waits)."""
        for key in keys:
            self._call(
                "update_item",
                Key=_key(HELD_PK, key),
                UpdateExpression="SET told_ms = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=_values(t=now_ms),
            )

    def drop_held(self, held: Held) -> bool:
        """Drop a held item as it was read (its ``last_ms``); False when another run changed or ended it first."""
        gone = self._call(
            "delete_item",
            Key=_key(HELD_PK, held.key),
            ConditionExpression="last_ms = :last",
            ExpressionAttributeValues=_values(last=held.last_ms),
        )
        return gone is not None
