"""DynamoDB error-group store: one item per fingerprint, every status change conditional.

Item (partition key ``fingerprint``): status, exception_type, message and sample (redacted),
frames, occurrences, first_seen / last_seen (epoch ms), log_groups (string set), attempts,
pr_url, branch, reason, updated_at, expires_at (TTL, epoch s), lease_owner, lease_until.

Writes, and why they are safe under concurrency and replays:

    ingest   UpdateItem  SET status = if_not_exists(status, NEW), first_seen = if_not_exists(..)
                         ADD occurrences :n, log_groups :g          (one per fingerprint per batch)
    enqueue  NEW → QUEUED        if status = NEW, or QUEUED by this same stream record (replay)
    claim    QUEUED|FAILED → FIXING, or FIXING whose lease expired; attempts += 1 < max
    finish   FIXING → PR_OPENED | SKIPPED | FAILED   if lease_owner = me
    reopen   FAILED | SKIPPED | PR_OPENED → NEW      (a MODIFY the stream turns into a job)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.core.fingerprint import grouping
from chalicelib.core.models import ErrorGroup, Frame, Observation, Status
from chalicelib.core.redact import redact
from chalicelib.core.tracebacks import render
from chalicelib.errors import SelfHealError, TransientError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

log = logging.getLogger(__name__)

_SER = TypeSerializer()
_DE = TypeDeserializer()
_THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "TransactionConflictException",
    }
)
SAMPLE_LIMIT = 8_000  # characters of redacted trace text kept on the item
DAY = 86_400


class InvalidTransition(SelfHealError):  # noqa: N818 - reads as a sentence
    """A conditional status change was refused: the group is not in a state that allows it."""

    def __init__(self, fingerprint: str, target: str, current: str | None, group: ErrorGroup | None = None) -> None:
        super().__init__(f"group {fingerprint} cannot move to {target} from {current or 'nowhere'}")
        self.fingerprint = fingerprint
        self.target = target
        self.current = current
        self.group = group  # the group as it was read after the refusal


@dataclass(frozen=True)
class Claim:
    """The result of trying to claim a group for fixing."""

    claimed: bool
    group: ErrorGroup | None
    why: str = ""  # when not claimed: "busy", "done", "exhausted", "missing"


def _av(value: object) -> dict[str, Any]:
    return _SER.serialize(value)


def _frames_value(frames: Sequence[Frame]) -> list[dict[str, object]]:
    return [
        {"file": f.file, "line": f.line or 0, "function": f.function or "", "source": redact(f.source)} for f in frames
    ]


def to_group(item: Mapping[str, Any]) -> ErrorGroup:
    """An ErrorGroup from a DynamoDB item (typed ``{"S": ...}`` JSON or already plain)."""
    plain = {k: _DE.deserialize(v) if isinstance(v, dict) and len(v) == 1 else v for k, v in item.items()}
    frames = tuple(
        Frame(
            str(f.get("file", "")),
            int(f.get("line", 0)) or None,
            str(f.get("function", "")),
            str(f.get("source", "")),
        )
        for f in plain.get("frames") or ()
    )
    return ErrorGroup(
        fingerprint=str(plain["fingerprint"]),
        status=str(plain.get("status", Status.NEW)),
        exception_type=str(plain.get("exception_type", "")),
        message=str(plain.get("message", "")),
        frames=frames,
        sample=str(plain.get("sample", "")),
        occurrences=int(plain.get("occurrences", 0)),
        first_seen=int(plain.get("first_seen", 0)),
        last_seen=int(plain.get("last_seen", 0)),
        log_groups=frozenset(plain.get("log_groups") or ()),
        attempts=int(plain.get("attempts", 0)),
        pr_url=str(plain.get("pr_url", "")),
        branch=str(plain.get("branch", "")),
        reason=str(plain.get("reason", "")),
        updated_at=int(plain.get("updated_at", 0)),
        expires_at=int(plain.get("expires_at", 0)),
        raw_fingerprint=str(plain.get("raw_fingerprint", "")),
        lease_owner=str(plain.get("lease_owner", "")),
        lease_until=int(plain.get("lease_until", 0)),
    )


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _translate(exc: ClientError, what: str) -> SelfHealError:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        return TransientError(f"DynamoDB {what} throttled: {code}")
    return SelfHealError(f"DynamoDB {what} failed: {code}: {exc}")


class ErrorGroupStore:
    """The error-group table. ``now`` arguments are epoch milliseconds."""

    def __init__(self, client: Any, table_name: str, stale_after_days: int = 30, resolved_ttl_days: int = 14) -> None:
        self._db = client
        self._table = table_name
        self._stale_s = stale_after_days * DAY
        self._resolved_s = resolved_ttl_days * DAY

    # --- ingest -------------------------------------------------------------------------------

    def record(self, observation: Observation, now: int) -> bool:
        """Add one batch's occurrences of a bug; create the group on first sight. True if new.

        One UpdateItem: creation and counting are a single atomic write, so concurrent batches
        of the same new bug create it once and lose no count.
        """
        tb = observation.traceback
        final = tb.final
        result = grouping(tb)
        # Set once, on creation (if_not_exists), then never overwritten by later batches.
        created = {
            "status": Status.NEW,
            "exception_type": final.type,
            "message": redact(final.message),
            "frames": _frames_value(final.frames),
            "sample": redact(render(tb))[:SAMPLE_LIMIT],
            "raw_fingerprint": result.raw_fingerprint,
            "first_seen": observation.first_seen,
            "attempts": 0,
        }
        updated = {
            "last_seen": observation.last_seen,
            "updated_at": now,
            "expires_at": observation.last_seen // 1000 + self._stale_s,
        }
        added = {"occurrences": _av(observation.count), "log_groups": {"SS": [observation.log_group or "-"]}}
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: list[str] = []
        for n, (attr, value) in enumerate(created.items()):
            names[f"#c{n}"] = attr  # every name aliased: "sample", "status" are reserved words
            values[f":c{n}"] = _av(value)
            clauses.append(f"#c{n} = if_not_exists(#c{n}, :c{n})")
        for n, (attr, value) in enumerate(updated.items()):
            names[f"#u{n}"] = attr
            values[f":u{n}"] = _av(value)
            clauses.append(f"#u{n} = :u{n}")
        adds = []
        for n, (attr, value) in enumerate(added.items()):
            names[f"#a{n}"] = attr
            values[f":a{n}"] = value
            adds.append(f"#a{n} :a{n}")
        expression = "SET " + ", ".join(clauses) + " ADD " + ", ".join(adds)
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key={"fingerprint": _av(observation.fingerprint)},
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as exc:
            raise _translate(exc, "update") from exc
        return "occurrences" not in answer.get("Attributes", {})

    def record_all(self, observations: Iterable[Observation], now: int) -> int:
        """``record`` each observation; returns how many groups were new."""
        return sum(self.record(o, now) for o in observations)

    # --- reads ----------------------------------------------------------------------------------

    def get(self, fingerprint: str) -> ErrorGroup | None:
        """The group, read consistently, or None."""
        try:
            item = self._db.get_item(
                TableName=self._table, Key={"fingerprint": _av(fingerprint)}, ConsistentRead=True
            ).get("Item")
        except ClientError as exc:
            raise _translate(exc, "read") from exc
        return to_group(item) if item else None

    def scan(self, status: str | None = None) -> list[ErrorGroup]:
        """Every group (optionally of one status), newest last_seen first."""
        kwargs: dict[str, Any] = {"TableName": self._table}
        if status:
            kwargs |= {
                "FilterExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": _av(status)},
            }
        groups: list[ErrorGroup] = []
        paginator = self._db.get_paginator("scan")
        for page in paginator.paginate(**kwargs):
            groups.extend(to_group(item) for item in page.get("Items", []))
        return sorted(groups, key=lambda g: g.last_seen, reverse=True)

    # --- transitions ----------------------------------------------------------------------------

    def _transition(
        self,
        fingerprint: str,
        target: str,
        condition: str,
        sets: Mapping[str, object],
        values: Mapping[str, object],
        now: int,
        remove: Sequence[str] = (),
        add: Mapping[str, int] | None = None,
    ) -> ErrorGroup:
        names = {"#s": "status"}
        assignments = ["#s = :target", "updated_at = :now"]
        all_values: dict[str, Any] = {":target": _av(target), ":now": _av(now)}
        for n, (attr, value) in enumerate(sets.items()):
            names[f"#a{n}"] = attr
            assignments.append(f"#a{n} = :a{n}")
            all_values[f":a{n}"] = _av(value)
        all_values.update({k: _av(v) for k, v in values.items()})
        expression = "SET " + ", ".join(assignments)
        if add:
            increments = []
            for n, (attr, amount) in enumerate(add.items()):
                names[f"#i{n}"] = attr
                increments.append(f"#i{n} :i{n}")
                all_values[f":i{n}"] = _av(amount)
            expression += " ADD " + ", ".join(increments)
        if remove:
            expression += " REMOVE " + ", ".join(remove)
        try:
            answer = self._db.update_item(
                TableName=self._table,
                Key={"fingerprint": _av(fingerprint)},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=all_values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _is_conditional_failure(exc):
                current = self.get(fingerprint)
                raise InvalidTransition(fingerprint, target, current.status if current else None, current) from exc
            raise _translate(exc, "update") from exc
        return to_group(answer["Attributes"])

    def mark_queued(self, fingerprint: str, token: str, now: int) -> bool:
        """NEW → QUEUED, remembering the stream record that did it. True when this call (or an
        earlier delivery of the same record) queued the group: the job may be sent."""
        try:
            self._transition(
                fingerprint,
                Status.QUEUED,
                "#s = :new OR (#s = :target AND job_token = :token)",
                {"job_token": token, "reason": ""},
                {":new": Status.NEW, ":token": token},
                now,
            )
        except InvalidTransition:
            return False
        return True

    def claim(self, fingerprint: str, owner: str, now: int, lease_seconds: int, max_attempts: int) -> Claim:
        """Take the group for one fix attempt: QUEUED or retryable FAILED, or FIXING whose lease
        expired. A second claim of the same job while the lease runs is refused."""
        try:
            group = self._transition(
                fingerprint,
                Status.FIXING,
                "(#s = :queued OR (#s = :failed AND retryable = :yes) "
                "OR (#s = :target AND lease_until < :now)) AND attempts < :max",
                {"lease_owner": owner, "lease_until": now + lease_seconds * 1000, "retryable": False},
                {":queued": Status.QUEUED, ":failed": Status.FAILED, ":yes": True, ":max": max_attempts},
                now,
                add={"attempts": 1},
            )
        except InvalidTransition as refused:
            current = refused.group  # read once, by _transition
            if current is None:
                return Claim(False, None, "missing")
            if current.status == Status.FIXING and current.lease_until >= now:
                return Claim(False, current, "busy")
            if current.status in (Status.QUEUED, Status.FAILED, Status.FIXING) and current.attempts >= max_attempts:
                return Claim(False, current, "exhausted")
            log.info("claim refused", extra={"fingerprint": fingerprint, "status": refused.current})
            return Claim(False, current, "done")
        return Claim(True, group)

    def finish(
        self,
        fingerprint: str,
        owner: str,
        target: str,
        now: int,
        reason: str = "",
        pr_url: str = "",
        branch: str = "",
        retryable: bool = False,
        extra: Mapping[str, object] | None = None,
    ) -> ErrorGroup:
        """FIXING → PR_OPENED / SKIPPED / FAILED, only by the claim's owner."""
        if target not in (Status.PR_OPENED, Status.SKIPPED, Status.FAILED):
            raise InvalidTransition(fingerprint, target, Status.FIXING)
        sets: dict[str, object] = {"reason": reason, "retryable": retryable, "lease_until": 0}
        if pr_url:
            sets["pr_url"] = pr_url
        if branch:
            sets["branch"] = branch
        if target == Status.PR_OPENED:
            sets["expires_at"] = now // 1000 + self._resolved_s
        sets.update(extra or {})
        return self._transition(
            fingerprint, target, "#s = :fixing AND lease_owner = :owner", sets,
            {":fixing": Status.FIXING, ":owner": owner}, now,
        )  # fmt: skip

    def set_branch(self, fingerprint: str, owner: str, branch: str, now: int) -> None:
        """Store the branch name before the PR exists, so a retry reuses branch and PR."""
        self._transition(
            fingerprint, Status.FIXING, "#s = :target AND lease_owner = :owner",
            {"branch": branch}, {":owner": owner}, now,
        )  # fmt: skip

    def reopen(self, fingerprint: str, now: int, reason: str = "re-opened") -> ErrorGroup:
        """FAILED / SKIPPED / PR_OPENED → NEW with a fresh attempt budget: the stream turns this
        MODIFY into a fix job."""
        return self._transition(
            fingerprint,
            Status.NEW,
            "#s IN (:a, :b, :c)",
            {"attempts": 0, "reason": reason, "retryable": False},
            {":a": Status.FAILED, ":b": Status.SKIPPED, ":c": Status.PR_OPENED},
            now,
            remove=("job_token", "lease_owner", "lease_until"),
        )
