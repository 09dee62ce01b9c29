"""Notices of the governor table: the lines waiting for the next digest, and notices told once.

    tell               / note#<ms>#<rand>   a notify-only decision (or a problem) waiting for the digest
    tell#<kind>        / <key>              a notice told once until ``until`` (a repeat inside a cooldown)

Both are TTL'd; a digest forgets the lines it published (usecases/remediate.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.adapters.governor_table import DAY_S as _DAY_S
from chalicelib.adapters.governor_table import KEPT_AFTER_LEASE_S as _KEPT_AFTER_LEASE_S
from chalicelib.adapters.governor_table import TTL_ATTRIBUTE, GovernorTable
from chalicelib.adapters.governor_table import dump as _dump
from chalicelib.adapters.governor_table import item_key as _key
from chalicelib.adapters.governor_table import load as _load
from chalicelib.adapters.governor_table import values as _values

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["NOTES_PK", "Notices"]

NOTES_PK = "tell"  # notify-only decisions waiting for the digest


class Notices(GovernorTable):
    """The governor table's digest lines and told-once notices (the ``tell`` partitions)."""

    def note(self, kind: str, text: str, now_ms: int) -> None:
        """Keep one line for the next digest (a notify-only decision, a problem to tell once a run)."""
        self._call(
            "put_item",
            Item=_dump(
                {
                    "pk": NOTES_PK,
                    "sk": f"note#{now_ms:013d}#{uuid.uuid4().hex[:8]}",
                    "kind": kind,
                    "text": text[:500],
                    TTL_ATTRIBUTE: now_ms // 1000 + _KEPT_AFTER_LEASE_S,
                }
            ),
        )

    def notes(self, limit: int = 200) -> list[tuple[str, str, str]]:
        """(key, kind, text) of the lines waiting for the digest, oldest first."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :n)",
            ExpressionAttributeValues=_values(pk=NOTES_PK, n="note#"),
            ConsistentRead=True,
            Limit=limit,
        )
        out = []
        for raw in items:
            plain = _load(raw)
            out.append((str(plain["sk"]), str(plain.get("kind", "")), str(plain.get("text", ""))))
            if len(out) >= limit:
                break
        return out

    def forget_notes(self, keys: Iterable[str]) -> None:
        """Drop digest lines once the digest was published."""
        for key in keys:
            self._call("delete_item", Key=_key(NOTES_PK, key))

    def tell_once(self, kind: str, key: str, until_ms: int, now_ms: int) -> bool:
        """True for the first caller until ``until_ms`` (one page for a repeat, not one per event)."""
        done = self._call(
            "put_item",
            Item=_dump({"pk": f"tell#{kind}", "sk": key, "until": until_ms, TTL_ATTRIBUTE: until_ms // 1000 + _DAY_S}),
            ConditionExpression="attribute_not_exists(pk) OR #u <= :now",
            ExpressionAttributeNames={"#u": "until"},
            ExpressionAttributeValues=_values(now=now_ms),
        )
        return done is not None
