"""The error-group table's shared layer: one ``Update`` builder, the table's client and name, and
``_update`` (one UpdateItem, its error translated), under every per-kind store of the table.

The table holds several kinds of item under one partition key ``fingerprint``; each kind has its
own class (the model is Powertools' persistence layer: a base for keys and rules, a thin DynamoDB
layer per record kind):

    groups            <fingerprint>, ~detail~<fp>, ~unrouted~<md5>   adapters/groups.py GroupStore
    spend counters    ~budget~<name>~<start>, ~budget~spend~…        adapters/spend_counters.py SpendCounters
    PR index          ~pr~<url>, ~branch~<branch>, ~openprs~<repo>   adapters/pr_index.py PullRequestIndex
    delivery markers  ~delivery~<id>                                 adapters/deliveries.py DeliveryMarkers
    day sets          ~merged~ ~opened~ ~queued~ ~new~ + <day>       adapters/day_sets.py DaySets

Only groups have a ``status``: ``scan`` skips the other items and the stream turns them into no job.
``adapters/store.py`` ``ErrorGroupStore`` composes them all for the callers that take the table whole.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.core.models import Status

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SER = TypeSerializer()
_DE = TypeDeserializer()
DAY = 86_400
BATCH_GET = 100  # BatchGetItem's limit
BATCH_TRIES = 4  # BatchGetItem requests for one batch's unprocessed keys
_STATUSES = (
    Status.NEW, Status.QUEUED, Status.FIXING, Status.PR_OPENED, Status.FAILED, Status.SKIPPED,
    Status.MERGED, Status.REJECTED, Status.REGRESSED, Status.HEALED, Status.CI_FAILED,
)  # fmt: skip


def any_of(*conditions: str) -> str:
    """The disjunction of named conditions."""
    return "(" + " OR ".join(conditions) + ")"


def all_of(*conditions: str) -> str:
    """The conjunction of named conditions."""
    return "(" + " AND ".join(conditions) + ")"


class Update:
    """One UpdateItem request: SET / ADD / DELETE / REMOVE clauses and an optional condition.

    Every attribute name is aliased ``#name`` (``status``, ``sample`` are reserved words) and every
    value bound, so callers only say what changes.
    """

    def __init__(self) -> None:
        self._clauses: dict[str, list[str]] = {"SET": [], "ADD": [], "DELETE": [], "REMOVE": []}
        self._values: dict[str, Any] = {}

    def _bind(self, typed: dict[str, Any]) -> str:
        key = f":v{len(self._values)}"
        self._values[key] = typed
        return key

    def set(self, attr: str, value: object) -> Update:
        self._clauses["SET"].append(f"#{attr} = {self._bind(av(value))}")
        return self

    def set_if_absent(self, attr: str, value: object) -> Update:
        """Set on creation only: later writes keep what the first one stored."""
        self._clauses["SET"].append(f"#{attr} = if_not_exists(#{attr}, {self._bind(av(value))})")
        return self

    def add(self, attr: str, value: object) -> Update:
        """ADD a number, or members to a set (a ``{"SS": [...]}`` typed value)."""
        typed = value if isinstance(value, dict) else av(value)
        self._clauses["ADD"].append(f"#{attr} {self._bind(typed)}")
        return self

    def delete(self, attr: str, members: Sequence[str] | Sequence[bytes]) -> Update:
        """DELETE members from a string set (or a binary set, for bytes)."""
        kind = "BS" if members and isinstance(members[0], bytes) else "SS"
        self._clauses["DELETE"].append(f"#{attr} {self._bind({kind: list(members)})}")
        return self

    def remove(self, *attrs: str) -> Update:
        self._clauses["REMOVE"].extend(f"#{a}" for a in attrs)
        return self

    def put(self, attr: str, value: object) -> Update:
        """SET ``attr``, or REMOVE it when ``value`` is its reader's default (empty, zero, false):
        an absent attribute reads the same, and costs no bytes in every later write of the item."""
        if value is None or value is False or value in ("", 0, [], ()):
            return self.remove(attr)
        return self.set(attr, value)

    def request(self, condition: str = "", **values: object) -> dict[str, Any]:
        """The UpdateItem keyword arguments; ``values`` bind the condition's ``:name`` placeholders."""
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in self._clauses.items() if parts)
        names = {f"#{n}": n for n in re.findall(r"#(\w+)", f"{expression} {condition}")}
        bound = dict(self._values)
        used = set(re.findall(r":(\w+)", condition))
        bound.update({f":{s}": av(s) for s in _STATUSES if s in used})
        bound.update({f":{k}": av(v) for k, v in values.items()})
        out: dict[str, Any] = {"UpdateExpression": expression, "ExpressionAttributeNames": names}
        if bound:
            out["ExpressionAttributeValues"] = bound
        if condition:
            out["ConditionExpression"] = condition
        return out


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item's attributes as plain values (typed ``{"S": ...}`` JSON, or already plain)."""
    return {k: _DE.deserialize(v) if isinstance(v, dict) and len(v) == 1 else v for k, v in item.items()}


def av(value: object) -> dict[str, Any]:
    """A plain value as a typed DynamoDB attribute value."""
    return _SER.serialize(value)


class Table:
    """One kind of item of the error-group table: the client and the table's name, and one
    UpdateItem of an item by its key. ``now`` arguments of the subclasses are epoch milliseconds."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._db = client
        self._table = table_name

    def _update(self, key: str, request: Mapping[str, Any], returns: str, what: str) -> dict[str, Any]:
        try:
            answer = self._db.update_item(
                TableName=self._table, Key={"fingerprint": av(key)}, ReturnValues=returns, **request
            )
        except ClientError as exc:
            raise translate(exc, f"DynamoDB {what} {key}") from exc
        return dict(answer.get("Attributes") or {})
