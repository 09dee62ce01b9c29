"""The governor table's shared layer: its client and name, one DynamoDB call with its error
translated (a failed condition reads as None), and the item codec, under every kind of item the
governor keeps (adapters/governor_store.py lists them: actions and approvals, resource state, fleet
and rate slots, day counters in ``GovernorStore``; held incidents in ``HeldIncidents``, digest notes
and told-once notices in ``Notices``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import error_code, translate

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["TTL_ATTRIBUTE", "GovernorTable", "dump", "item_key", "load", "values"]

TTL_ATTRIBUTE = "expires_at"  # DynamoDB TTL (epoch seconds); never relied on for correctness, only cleanup
_SER = TypeSerializer()
_DE = TypeDeserializer()
_CCF = "ConditionalCheckFailedException"
DAY_S = 86_400
KEPT_AFTER_LEASE_S = 7 * DAY_S  # state items outlive their last lease by this much before TTL removes them


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, frozenset, tuple)):
        return [_plain(v) for v in value]
    return value


def load(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item's attributes as plain values (whole numbers as int)."""
    return {k: _plain(_DE.deserialize(v)) for k, v in item.items()}


def dump(plain: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item; empty strings are left out (index keys may not be empty; reads default to "")."""
    return {k: _SER.serialize(v) for k, v in plain.items() if v != "" and v is not None}


def values(**values: Any) -> dict[str, Any]:
    """ExpressionAttributeValues: ``:name`` for each keyword."""
    return {f":{k}": _SER.serialize(v) for k, v in values.items()}


def item_key(pk: str, sk: str) -> dict[str, Any]:
    """The key of the item (``pk``, ``sk``)."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class GovernorTable:
    """One kind of item of the governor table: the client, the table's name and its calls."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """One DynamoDB call on the table; None when its condition failed, other errors translated."""
        try:
            return getattr(self._db, operation)(TableName=self._table, **kwargs)
        except ClientError as exc:
            if error_code(exc) == _CCF:
                return None
            raise translate(exc, f"DynamoDB {operation}") from exc

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self._call("get_item", Key=item_key(pk, sk), ConsistentRead=True) or {}
        return answer.get("Item")

    def _query(self, **kwargs: Any) -> Iterable[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            page = self._call("query", **kwargs, **({"ExclusiveStartKey": start} if start else {})) or {}
            yield from page.get("Items", ())
            start = page.get("LastEvaluatedKey")
            if not start:
                return
