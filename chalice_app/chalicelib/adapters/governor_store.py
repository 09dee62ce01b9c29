"""The governor's state in DynamoDB: exactly-once, cooldowns, budgets, fleet slots, approvals and the audit.

One table, key (``pk``, ``sk``), items by role::

    action#<action id> / action     the audit record: one per event decided (ActionRecord), also the
                                    approval request and the open (acted, unverified) action
    res#<resource>     / state      pause, cooldown per runbook, attempts in the window, version ``ver``
    fleet#<fleet>      / slot#<k>   an in-flight slot, k < in_flight_limit: holder, lease_until = deadline
                       / slot#p<p>#<k>   the same for a decision of priority p > 0 (security, deadline)
    rate#<runbook>     / slot#<k>   an hourly slot, k < hourly_rate: holder, lease_until = now + 1 h
    held               / <first id> an incident held back by a limit (paused, cooldown, hourly rate,
                                    blast radius): the verifier decides it again until its deadline
    tell#<kind>        / <key>      a notice told once until ``until`` (a repeat inside a cooldown)
    tell               / note#...   a notify-only decision waiting for the next digest
    stats#<day>        / <runbook>  the runbook's decision counters of that UTC day (``ADD`` per decision)
                       / <runbook>#tth   the times to heal of the actions healed that day

TransactWriteItems is not used: dynalite, the atomic local DynamoDB the concurrency tests run on,
does not implement it (checked: dynalite 4.0.0 lists transactions under TODO and has no action for
them), and one design tested under real atomicity beats a transactional one tested nowhere. Every
invariant is instead held by ONE single-item conditional write on the item that owns it, and the
audit record is the commit point (see ``GovernorStore.admit`` for the timeline).

The actions and approvals (one audit record), the resource state, the slots and the day counters
are written together by an admission or an approval, so ``GovernorStore`` keeps them. The kinds
of item no admission needs to read write on their own: held incidents (``HeldIncidents``,
adapters/held_incidents.py: the admission keeps the item through it, and a release drops it
through it before auditing) and the digest's notes and told-once notices (``Notices``,
adapters/governor_notices.py). ``GovernorStore`` is both, over the shared calls of
adapters/governor_table.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws_errors import translate
from chalicelib.adapters.governor_notices import Notices
from chalicelib.adapters.governor_table import DAY_S as _DAY_S
from chalicelib.adapters.governor_table import KEPT_AFTER_LEASE_S as _KEPT_AFTER_LEASE_S
from chalicelib.adapters.governor_table import TTL_ATTRIBUTE
from chalicelib.adapters.governor_table import dump as _dump
from chalicelib.adapters.governor_table import item_key as _key
from chalicelib.adapters.governor_table import load as _load
from chalicelib.adapters.governor_table import values as _values
from chalicelib.adapters.held_incidents import HELD_PK, Held, HeldIncidents
from chalicelib.core import governor
from chalicelib.core.heal_stats import COUNTS, DayCounts, day_of
from chalicelib.core.redact import redact
from chalicelib.core.runbooks.plan import Call, Limits, Plan, Target
from chalicelib.errors import Conflict, Refused, SelfHealError, TransientError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from chalicelib.core.runbooks.plan import Incident

log = logging.getLogger(__name__)

INDEX_TIME = "by_time"  # every audit record, newest first
INDEX_RUNBOOK = "by_runbook"
INDEX_RESOURCE = "by_resource"
INDEX_DECISION = "by_decision"
INDEX_OPEN = "open_by_deadline"  # sparse: acted, unverified actions by verify deadline
INDEX_OPEN_RESOURCE = "open_by_resource"  # sparse: the same, per resource (for "resolved" events)
Outcome = Literal["", "healed", "failed", "escalated", "approved", "denied"]

_FREE = "attribute_not_exists(pk) OR lease_until <= :now OR holder = :me"  # a slot anyone (or we again) may take
_SLOT_TRIES = 3
_OPEN = "1"  # value of the sparse ``open_flag`` while an action is in flight
STATS_PK = "stats#"  # + the UTC day: one counter item per runbook (core/heal_stats.py reads them)
# What each audited decision counts as in the day counters (a decision not named is not counted).
_TALLIED = {"act": "acted", "approved": "acted", "suppressed": "suppressed", "escalate": "escalated",
            "dry_run": "dry_run"}  # fmt: skip


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
    outcome_reason: str = ""  # why the outcome (failure message, overdue, which event resolved it)
    open: bool = False  # acted and neither verified, failed nor overdue: holds a fleet slot
    executed_ms: int = 0  # when the executor finished its calls (0: not run yet)
    attempt: int = 0  # for an act (or approval): which attempt of (runbook, resource) in its window

    def plan(self) -> Plan:
        """The plan this record holds, rebuilt so that ``plan().digest() == digest``."""
        # A standalone target's plan had no fleet: ``standalone:<runbook>`` is the record's key only.
        fleet = "" if self.fleet == f"standalone:{self.runbook}" else self.fleet
        target = Target(self.kind, self.resource, fleet, self.region) if self.kind else None  # type: ignore[arg-type]
        calls = tuple(Call(c["service"], c["operation"], c.get("params") or {}) for c in self.calls)
        return Plan(self.runbook, target, calls)


def table_definition(table_name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments for the governor table (tests; Terraform mirrors it).

    On-demand billing; every index projects all attributes (records are small and ``actions`` shows
    them whole). Only audit records carry index keys, so state and slot items stay out of the indexes.
    TTL on ``expires_at`` is enabled separately (``update_time_to_live``).
    """

    def index(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": range_key, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    strings = ("pk", "sk", "audit", "ordering", "runbook", "resource", "decision", "open_flag", "open_resource")
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in strings]
        + [{"AttributeName": "deadline_ms", "AttributeType": "N"}],
        "GlobalSecondaryIndexes": [
            index(INDEX_TIME, "audit", "ordering"),
            index(INDEX_RUNBOOK, "runbook", "ordering"),
            index(INDEX_RESOURCE, "resource", "ordering"),
            index(INDEX_DECISION, "decision", "ordering"),
            index(INDEX_OPEN, "open_flag", "deadline_ms"),
            index(INDEX_OPEN_RESOURCE, "open_resource", "deadline_ms"),
        ],
    }


def first_id(identity: str, runbook: str) -> str:
    """The id of the audit record of an identity's first decision: one per (identity, runbook), ever."""
    return "e" + hashlib.sha256(f"{identity}\x00{runbook}".encode()).hexdigest()[:24]


def to_record(item: Mapping[str, Any]) -> ActionRecord:
    """An ActionRecord from an audit item (typed DynamoDB JSON)."""
    p = _load(item)
    return ActionRecord(
        action_id=p["action_id"],
        identity=p.get("identity", ""),
        runbook=p.get("runbook", ""),
        resource=p.get("resource", ""),
        fleet=p.get("fleet", ""),
        decision=p["decision"],
        rule=p.get("rule", ""),
        reason=p.get("reason", ""),
        calls=tuple(json.loads(p.get("calls_json", "[]"))),
        digest=p.get("digest", ""),
        created_ms=int(p.get("created_ms", 0)),
        expires_ms=int(p.get("expires_ms", 0)),
        deadline_ms=int(p.get("deadline_ms", 0)),
        before=json.loads(p.get("before_json", "{}")),
        after=json.loads(p.get("after_json", "{}")),
        outcome=p.get("outcome", ""),
        kind=p.get("kind", ""),
        region=p.get("region", ""),
        pause=bool(p.get("pause", False)),
        decided_ms=int(p.get("decided_ms", 0)),
        approval_of=p.get("approval_of", ""),
        outcome_reason=p.get("outcome_reason", ""),
        open=p.get("open_flag") == _OPEN,
        executed_ms=int(p.get("executed_ms", 0)),
        attempt=int(p.get("attempt", 0)),
    )


def _held(verdict: governor.Verdict) -> bool:
    return verdict.decision == "suppressed" and verdict.rule in governor.HELD_RULES


@dataclass(frozen=True)
class _Slots:
    """The slots of one partition (fleet or runbook rate) as read: how many are live, which may be taken."""

    key: str
    live: int = 0
    free: tuple[int, ...] = ()
    priority: int = governor.REPAIR


@dataclass(frozen=True)
class _Snapshot:
    """Everything one decision read, with what the conditional writes need to re-check it."""

    state: governor.State
    resource: str
    item: dict[str, Any]  # the res#<resource> state item, plain ({} when absent)
    fleet: _Slots
    rate: _Slots
    open_ids: tuple[str, ...] = ()
    held: dict[str, Any] | None = None  # the held item of this identity, when it was held back before


def _resource_of(incident: Incident, plan: Plan | None) -> str:
    if plan is not None and plan.target is not None:
        return plan.target.id
    return incident.resources[0] if len(incident.resources) == 1 else ""


def _fleet_of(plan: Plan | None) -> str:
    """The fleet key; targets in no known fleet (standalone instances) share one fleet per runbook,
    ``standalone:<runbook>``, so the runbook's ``max_in_flight`` caps them together (the percentage
    needs a size and does not apply)."""
    if plan is None or plan.target is None:
        return ""
    return plan.target.fleet or f"standalone:{plan.runbook}"


def _slot_sk(priority: int, k: int) -> str:
    """A slot's sort key: ``slot#k`` for repairs (as always), ``slot#p<priority>#k`` above them."""
    return f"slot#{k}" if priority <= governor.REPAIR else f"slot#p{priority}#{k}"


def _slot_of(sk: str) -> tuple[int, int]:
    """(priority, k) of a slot sort key."""
    rest = sk.removeprefix("slot#")
    if rest.startswith("p"):
        priority, _, k = rest[1:].partition("#")
        return int(priority), int(k)
    return governor.REPAIR, int(rest)


def _resource_state(item: Mapping[str, Any], runbook: str, me: str, now_ms: int) -> tuple[int | None, int]:
    """(last act of ``runbook``, its attempts in the window) from a state item, ignoring claims of ``me``.

    A claim left by an earlier try of the same event (``me``) that never committed is not an act:
    the retry decides as if it were absent, and re-claims over it.
    """
    cool = (item.get("cool") or {}).get(runbook)
    last: int | None = None
    if cool:
        last = cool.get("prev") if cool.get("by") == me else cool.get("at")
    tries = item.get("tries") or {}
    attempts = sum(1 for tid, t in tries.items() if tid != me and t.get("rb") == runbook and t.get("until", 0) > now_ms)
    return last, attempts


class GovernorStore(HeldIncidents, Notices):
    """The governor's durable state: every method is safe under concurrent Lambdas and replays.

    ``rounds`` bounds how often a decision lost to a concurrent writer is re-read and re-made
    before ``TransientError`` says: nothing was recorded, retry the event.
    """

    def __init__(self, client: Any, table_name: str, *, audit_days: int = 90, rounds: int = 16) -> None:
        super().__init__(client, table_name)
        self._audit_s = audit_days * _DAY_S
        self._rounds = rounds

    def _slots(self, pk: str, capacity: int, me: str, now_ms: int, priority: int = governor.REPAIR) -> _Slots:
        """Live slots of a partition that hold back a decision of ``priority`` (those of the same or a
        higher priority) and the indices below ``capacity`` of its own priority that are free (or ours).

        Each priority claims in its own slot range, so equals are capped atomically; a higher
        priority is never held back by lower ones, and a lower one counts the higher ones it read.
        """
        held: set[int] = set()
        live = 0
        items = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues=_values(pk=pk), ConsistentRead=True
        )
        for raw in items:
            slot = _load(raw)
            if slot["lease_until"] > now_ms and slot.get("holder") != me:
                slot_priority, k = _slot_of(slot["sk"])
                live += slot_priority >= priority
                if slot_priority == priority:
                    held.add(k)
        return _Slots(pk, live, tuple(k for k in range(capacity) if k not in held), priority)

    def _claim_slot(self, slots: _Slots, me: str, lease_until: int, now_ms: int, about: Mapping[str, str]) -> str:
        """Take one slot read free (a few, in random order); its sort key, or Conflict: read again.

        Random order spreads concurrent claimers over the free slots; past a few lost slots the read
        is stale and a fresh one is cheaper than trying the rest.
        """
        for k in random.sample(slots.free, min(len(slots.free), _SLOT_TRIES)):
            sk = _slot_sk(slots.priority, k)
            item = {"pk": slots.key, "sk": sk, "holder": me, "lease_until": lease_until, **about}
            item[TTL_ATTRIBUTE] = lease_until // 1000 + _KEPT_AFTER_LEASE_S
            taken = self._call(
                "put_item",
                Item=_dump(item),
                ConditionExpression=_FREE,
                ExpressionAttributeValues=_values(now=now_ms, me=me),
            )
            if taken is not None:
                return sk
        raise Conflict(f"no free slot left in {slots.key}")

    def _release_slot(self, pk: str, sk: str, holder: str) -> None:
        """Free a slot if ``holder`` still holds it (an expired slot may have passed to another action)."""
        if pk and sk:
            self._call(
                "delete_item",
                Key=_key(pk, sk),
                ConditionExpression="holder = :me",
                ExpressionAttributeValues=_values(me=holder),
            )

    def _put_resource(self, resource: str, item: Mapping[str, Any], now_ms: int) -> bool:
        """Write the state item of a resource if nobody wrote it since it was read (optimistic version)."""
        ver = int(item.get("ver", 0))
        new = {k: v for k, v in item.items() if k not in ("pk", "sk", TTL_ATTRIBUTE)}
        new.update(pk=f"res#{resource}", sk="state", ver=ver + 1)
        if not new.get("paused"):  # a paused resource is kept until a person resumes it
            horizon = max([now_ms, *(t.get("until", 0) for t in (new.get("tries") or {}).values())])
            new[TTL_ATTRIBUTE] = horizon // 1000 + _KEPT_AFTER_LEASE_S
        condition = "attribute_not_exists(pk)" if ver == 0 else "ver = :ver"
        done = self._call(
            "put_item",
            Item=_dump(new),
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": _values(ver=ver)} if ver else {}),
        )
        return done is not None

    def _edit_resource(self, resource: str, edit: Any, now_ms: int, tries: int = 8) -> dict[str, Any] | None:
        """Read-modify-write the state item until it sticks; ``edit(item) -> item | None`` (None: nothing to do)."""
        for _ in range(tries):
            raw = self._get(f"res#{resource}", "state")
            item = _load(raw) if raw else {}
            new = edit(dict(item))
            if new is None:
                return item
            if self._put_resource(resource, {**new, "ver": item.get("ver", 0)}, now_ms):
                return new
        raise TransientError(f"state of {resource} keeps changing")

    # -- reading the state -------------------------------------------------------------------------

    def _get_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Items by (pk, sk), strongly consistent, in one BatchGetItem (absent keys are left out)."""
        wanted = [_key(pk, sk) for pk, sk in keys]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        while wanted:
            try:
                answer = self._db.batch_get_item(RequestItems={self._table: {"Keys": wanted, "ConsistentRead": True}})
            except ClientError as exc:
                raise translate(exc, "DynamoDB batch_get_item") from exc
            for raw in answer.get("Responses", {}).get(self._table, []):
                found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
            wanted = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if wanted:
                time.sleep(random.uniform(0.005, 0.02))  # throttled: DynamoDB asks for a backoff
        return found

    def _read(
        self,
        incident: Incident | None,
        plan: Plan | None,
        now_ms: int,
        me: str,
        *,
        fleet_size: int | None = None,
        kill_switch: bool = False,
        priority: int | None = None,
    ) -> _Snapshot:
        """The state a decision needs, except the fleet and hourly counts (``_count`` adds them).

        One BatchGetItem (the identity's record, the resource's state item, the identity's held item),
        plus the open actions of the incident's signal on the resource for a resolved incident, and
        for a security finding that claims to be selfheal's own doing, the governor's record of it.
        """
        resource = (
            _resource_of(incident, plan) if incident is not None else (plan.target.id if plan and plan.target else "")
        )
        if priority is None:
            priority = governor.priority_of(incident.source) if incident is not None else governor.REPAIR
        identity_key, resource_key, held_key = (f"action#{me}", "action"), (f"res#{resource}", "state"), (HELD_PK, me)
        keys = [identity_key, resource_key] if resource else [identity_key]
        found = self._get_many([*keys, held_key] if incident is not None else keys)
        item = _load(found[resource_key]) if resource_key in found else {}
        last, attempts = _resource_state(item, plan.runbook, me, now_ms) if plan is not None else (None, 0)
        open_ids: tuple[str, ...] = ()
        if incident is not None and incident.state == "resolved" and resource:
            signal = governor.signal_of(incident.identity)
            open_ids = tuple(r.action_id for r in self._open_on(resource) if governor.signal_of(r.identity) == signal)
        own = ""
        if incident is not None and incident.caused_by_selfheal and priority >= governor.SECURITY and resource:
            own = self._own_action_on(resource)
        state = governor.State(
            seen=incident is not None and identity_key in found,
            paused=str(item.get("paused", "")),
            last_action_ms=last,
            attempts_in_window=attempts,
            fleet_size=fleet_size,
            open_action=open_ids[0] if open_ids else "",
            kill_switch=kill_switch,
            priority=priority,
            paused_priority=int(item.get("paused_prio", governor.REPAIR)),
            own_action=own,
        )
        held = _load(found[held_key]) if held_key in found else None
        return _Snapshot(state, resource, item, _Slots(""), _Slots(""), open_ids, held)

    def _own_action_on(self, resource: str) -> str:
        """The id of an action selfheal ran (acted or approved) on ``resource``, '' when the audit has none.

        A workload can set a tag or name a user like selfheal, never write this table.
        """
        items = self._query(
            IndexName=INDEX_RESOURCE,
            KeyConditionExpression="#r = :r",
            FilterExpression="#d IN (:act, :approved)",
            ExpressionAttributeNames={"#r": "resource", "#d": "decision"},
            ExpressionAttributeValues=_values(r=resource, act="act", approved="approved"),
            ScanIndexForward=False,
        )
        return next((str(_load(raw)["action_id"]) for raw in items), "")

    def _count(self, snap: _Snapshot, plan: Plan, limits: Limits, now_ms: int, me: str, cap: int) -> _Snapshot:
        """The snapshot with the fleet's in-flight slots and the runbook's hourly slots read."""
        fleet = self._slots(f"fleet#{_fleet_of(plan)}", cap, me, now_ms, snap.state.priority)
        rate = self._slots(f"rate#{plan.runbook}", limits.hourly_rate, me, now_ms)
        state = replace(snap.state, in_flight=fleet.live, runbook_last_hour=rate.live)
        return replace(snap, state=state, fleet=fleet, rate=rate)

    def _open_on(self, resource: str) -> list[ActionRecord]:
        items = self._query(
            IndexName=INDEX_OPEN_RESOURCE,
            KeyConditionExpression="open_resource = :r",
            ExpressionAttributeValues=_values(r=resource),
        )
        return [to_record(i) for i in items]

    def get(self, action_id: str) -> ActionRecord | None:
        """One audit record by id (strongly consistent), None when there is none."""
        raw = self._get(f"action#{action_id}", "action")
        return to_record(raw) if raw else None

    # -- the audit record ----------------------------------------------------------------------------

    def _record(
        self,
        incident: Incident,
        plan: Plan | None,
        limits: Limits | None,
        verdict: governor.Verdict,
        snap: _Snapshot,
        now_ms: int,
        me: str,
        before: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The audit item for one decision (plain); a duplicate or a held-back decision gets an id of its
        own (so the identity stays undecided and is decided again), the final decision the identity's."""
        final = verdict.rule != "duplicate" and not _held(verdict)
        action_id = me if final else f"{me}.{uuid.uuid4().hex[:12]}"
        target = plan.target if plan is not None else None
        keeps_calls = verdict.decision in ("act", "dry_run", "awaiting_approval", "suppressed")
        item: dict[str, Any] = {
            "pk": f"action#{action_id}",
            "sk": "action",
            "audit": "action",
            "ordering": f"{now_ms:013d}#{action_id}",
            "action_id": action_id,
            # Alarm names and rules are anyone's text (PutMetricAlarm): redacted at rest like logs.
            "identity": redact(incident.identity),
            "runbook": plan.runbook if plan is not None else "",
            "resource": snap.resource,
            "fleet": _fleet_of(plan),
            "kind": target.kind if target is not None else "",
            "region": (target.region if target is not None else "") or incident.region,
            "decision": verdict.decision,
            "rule": verdict.rule,
            "reason": redact(verdict.reason),
            "pause": verdict.pause,
            "prio": snap.state.priority,
            "attempt": snap.state.attempts_in_window + (verdict.decision == "act"),
            "calls_json": json.dumps(
                [c.as_dict() for c in plan.calls] if plan is not None and keeps_calls else [], default=str
            ),
            "digest": plan.digest() if plan is not None else "",
            "created_ms": now_ms,
            "before_json": json.dumps(dict(before or {}), default=str),
            TTL_ATTRIBUTE: now_ms // 1000 + self._audit_s,
        }
        if limits is not None and verdict.decision == "awaiting_approval":
            item["expires_ms"] = now_ms + limits.approval_ttl_s * 1000
            cap = governor.in_flight_limit(limits, snap.state.fleet_size)
            item["limits_json"] = json.dumps(
                {
                    "cooldown_s": limits.cooldown_s,
                    "max_attempts": limits.max_attempts,
                    "attempt_window_s": limits.attempt_window_s,
                    "hourly_rate": limits.hourly_rate,
                    "in_flight_cap": cap,
                    "verify_deadline_s": limits.verify_deadline_s,
                }
            )
        return item

    # -- held-back incidents --------------------------------------------------------------------------

    def _hold(
        self, incident: Incident, plan: Plan | None, verdict: governor.Verdict, snap: _Snapshot, me: str, now_ms: int
    ) -> None:
        """Keep (or refresh) the held item of an incident a limit held back (``HeldIncidents.hold``)."""
        runbook = plan.runbook if plan is not None else ""
        self.hold(me, incident, verdict, runbook, snap.resource, _fleet_of(plan), snap.state.priority, now_ms)

    def release_held(
        self, held: Held, decision: Literal["escalate", "ignore"], rule: str, reason: str, now_ms: int
    ) -> ActionRecord | None:
        """End a held incident without acting: audit it (an id of its own: a later copy of the event is
        decided afresh) and drop the held item; None when another run ended it first."""
        if not self.drop_held(held):
            return None
        action_id = f"{held.key}.{uuid.uuid4().hex[:12]}"
        item = {
            "pk": f"action#{action_id}",
            "sk": "action",
            "audit": "action",
            "ordering": f"{now_ms:013d}#{action_id}",
            "action_id": action_id,
            "identity": held.incident.identity,
            "runbook": held.runbook,
            "resource": held.resource,
            "fleet": held.fleet,
            "decision": decision,
            "rule": rule,
            "reason": reason,
            "prio": held.priority,
            "calls_json": "[]",
            "created_ms": now_ms,
            TTL_ATTRIBUTE: now_ms // 1000 + self._audit_s,
        }
        self._put_record(item)
        self._tally_decision(item, now_ms)
        return to_record(_dump(item))

    def _put_record(self, item: Mapping[str, Any]) -> None:
        """The commit: the audit record appears once, or Conflict (another delivery decided this identity)."""
        done = self._call("put_item", Item=_dump(item), ConditionExpression="attribute_not_exists(pk)")
        if done is None:
            raise Conflict(f"{item['action_id']} was decided concurrently")

    # -- claims and their undo -------------------------------------------------------------------------

    def _claim_resource(self, snap: _Snapshot, runbook: str, me: str, now_ms: int, window_ms: int) -> None:
        """Take the cooldown and one attempt of (runbook, resource), if the item is as it was read."""
        item = dict(snap.item)
        cool = dict(item.get("cool") or {})
        mine = cool.get(runbook) or {}
        prev = mine.get("prev") if mine.get("by") == me else mine.get("at")
        cool[runbook] = {"at": now_ms, "by": me, **({"prev": prev} if prev is not None else {})}
        tries = {k: v for k, v in (item.get("tries") or {}).items() if v.get("until", 0) > now_ms}
        tries[me] = {"rb": runbook, "at": now_ms, "until": now_ms + window_ms}
        if not self._put_resource(snap.resource, {**item, "cool": cool, "tries": tries}, now_ms):
            raise Conflict(f"state of {snap.resource} changed since it was read")

    def _unclaim_resource(self, resource: str, runbook: str, me: str, now_ms: int) -> None:
        def edit(item: dict[str, Any]) -> dict[str, Any] | None:
            cool = dict(item.get("cool") or {})
            tries = dict(item.get("tries") or {})
            mine = cool.get(runbook) or {}
            if me not in tries and mine.get("by") != me:
                return None
            tries.pop(me, None)
            if mine.get("by") == me:
                if mine.get("prev") is None:
                    cool.pop(runbook)
                else:
                    cool[runbook] = {"at": mine["prev"]}
            return {**item, "cool": cool, "tries": tries}

        self._edit_resource(resource, edit, now_ms)

    def _claim_act(
        self, snap: _Snapshot, plan: Plan, limits: Limits, me: str, now_ms: int, deadline_ms: int, undo: list[Any]
    ) -> dict[str, Any]:
        """Claims 1–3 of an act (see ``admit``); each success appends its undo; returns the record's slot fields."""
        # Most contended first: a member that finds the fleet full gives up before touching anything else.
        runbook = plan.runbook
        about = {"for_resource": snap.resource, "for_runbook": runbook}
        fleet_sk = self._claim_slot(snap.fleet, me, deadline_ms, now_ms, about)
        undo.append(lambda: self._release_slot(snap.fleet.key, fleet_sk, me))
        rate_sk = self._claim_slot(snap.rate, me, now_ms + governor.HOUR_MS, now_ms, about)
        undo.append(lambda: self._release_slot(snap.rate.key, rate_sk, me))
        self._claim_resource(snap, runbook, me, now_ms, limits.attempt_window_s * 1000)
        undo.append(lambda: self._unclaim_resource(snap.resource, runbook, me, now_ms))
        return {
            "rate_key": snap.rate.key,
            "rate_slot": rate_sk,
            "fleet_key": snap.fleet.key,
            "fleet_slot": fleet_sk,
            "open_flag": _OPEN,
            "open_resource": snap.resource,
            "deadline_ms": deadline_ms,
        }

    def _claim_pause(self, snap: _Snapshot, reason: str, me: str, now_ms: int, undo: list[Any]) -> None:
        item = {**snap.item, "paused": reason, "paused_by": me, "paused_ms": now_ms, "paused_prio": snap.state.priority}
        if not self._put_resource(snap.resource, item, now_ms):
            raise Conflict(f"state of {snap.resource} changed since it was read")

        def unpause(current: dict[str, Any]) -> dict[str, Any] | None:
            if current.get("paused_by") != me:
                return None
            return {k: v for k, v in current.items() if k not in ("paused", "paused_by", "paused_ms", "paused_prio")}

        undo.append(lambda: self._edit_resource(snap.resource, unpause, now_ms))

    @staticmethod
    def _undo(undo: list[Any]) -> None:
        """Give back the claims of a decision that did not commit; what cannot be given back expires."""
        for step in reversed(undo):
            try:
                step()
            except Exception:  # the lease or window ends it anyway; keep undoing the rest
                log.warning("governor could not undo a claim; it expires by its lease", exc_info=True)

    # -- admit -------------------------------------------------------------------------------------

    def admit(
        self,
        incident: Incident,
        plan: Plan | None,
        limits: Limits | None,
        now_ms: int,
        *,
        fleet_size: int | None = None,
        kill_switch: bool = False,
        before: Mapping[str, Any] | None = None,
        revisit: bool = False,
    ) -> ActionRecord:
        """Decide one event and make the decision durable, exactly once per identity; returns its audit record.

        Every call writes exactly one audit record; the executor runs the plan only when the returned
        decision is ``act``. ``before`` is the resource's state as read (kept on the record). Raises
        TransientError when it kept losing races (nothing was recorded: retry the event).

        A suppression by one of ``governor.HELD_RULES`` is not final: its record gets an id of its own
        and the incident is kept in the ``held`` partition, so a later copy of the event, or the
        verifier's ``revisit=True`` call, decides it again. A revisit that is held again writes no
        audit record (the held item counts the looks); any other decision drops the held item.

        Timeline of an ``act`` — every step one single-item conditional write; step 4 commits::

            read    BatchGet action#<first id> (seen?), res#R     Query fleet#F, rate#RB (only when the
                    rules up to the attempt budget let it through: the counts decide nothing earlier)
            decide  governor.decide(...) → act
            1 claim fleet#F     Put slot#k (k < in-flight limit, any read free) if absent, lease over or ours:
                                holder = me, lease_until = verify deadline
            2 claim rate#RB     Put slot#k (k < hourly rate), same condition: lease_until = now + 1 h
            3 claim res#R       Put if ver = <ver read>: cool[RB] = me@now, tries[me] = now..now+window
            4 COMMIT            Put action#<first id> if attribute_not_exists: audit + open + slot refs
            ─ a condition fails → undo 3..1 (each only if still ours) → read again, decide again
            ─ crash before 4    → no record, so no action; the claims are ours (me = first id), the
                                  retried event ignores and re-takes them, or their leases end them
            ─ crash after 4     → the executor never ran: the verify deadline escalates it (overdue)

        Escalation with pause: claim 3 sets ``paused`` instead, then commits. Healed: close each open
        action (conditional on it still being open) and free its slot, then commit; when another event
        closed them all first, read again (→ ignore). Everything else only commits its audit record.
        """
        me = first_id(incident.identity, plan.runbook if plan is not None else "")
        for attempt in range(self._rounds):
            snap = self._read(incident, plan, now_ms, me, fleet_size=fleet_size, kill_switch=kill_switch)
            verdict = governor.decide(incident, plan, limits, snap.state, now_ms)
            if verdict.rule in governor.AFTER_COUNTS and plan is not None and limits is not None:
                # Only now can the hourly rate or the blast radius decide: read their slots, decide again.
                snap = self._count(snap, plan, limits, now_ms, me, governor.in_flight_limit(limits, fleet_size))
                verdict = governor.decide(incident, plan, limits, snap.state, now_ms)
            item = self._record(incident, plan, limits, verdict, snap, now_ms, me, before)
            if _held(verdict):
                self._hold(incident, plan, verdict, snap, me, now_ms)
                if revisit:
                    return to_record(_dump(item))
            undo: list[Any] = []
            try:
                if verdict.decision == "act" and plan is not None and limits is not None:
                    item["deadline_ms"] = now_ms + limits.verify_deadline_s * 1000
                    item.update(self._claim_act(snap, plan, limits, me, now_ms, item["deadline_ms"], undo))
                elif verdict.pause:
                    self._claim_pause(snap, verdict.reason, me, now_ms, undo)
                elif verdict.decision == "healed":
                    # Close first: only the event that actually closed an action records "healed".
                    healed = self._heal(snap.open_ids, incident, now_ms)
                    if not healed:
                        raise Conflict(f"the open actions on {snap.resource} closed meanwhile")
                    item["reason"] = f"resolved: {', '.join(r.action_id for r in healed)} verified as healed"
                    # How long the repair took to heal, from the act to this event (dashboards).
                    item["after_json"] = json.dumps({"time_to_heal_ms": now_ms - min(r.created_ms for r in healed)})
                self._put_record(item)
                self._tally_decision(item, now_ms)
                if snap.held is not None and (item["action_id"] == me or verdict.rule == "duplicate"):
                    # Decided at last (or found decided: a crash kept the held item): no longer held.
                    self._call("delete_item", Key=_key(HELD_PK, me))
            except Conflict as lost:
                self._undo(undo)
                log.info(
                    "governor lost a race; deciding again", extra={"identity": incident.identity, "why": str(lost)}
                )
                time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))
                continue
            except Exception:
                self._undo(undo)
                raise
            log.info(
                "governor decided",
                extra={
                    "identity": incident.identity,
                    "decision": verdict.decision,
                    "rule": verdict.rule,
                    "action_id": item["action_id"],
                },
            )
            return to_record(_dump(item))
        raise TransientError(f"governor kept losing races on {incident.identity}; nothing recorded")

    # -- closing actions ----------------------------------------------------------------------------

    def _close(
        self, action_id: str, outcome: Outcome, now_ms: int, reason: str, after: Mapping[str, Any] | None = None
    ) -> ActionRecord | None:
        """Close an open action (healed / failed / escalated) and free its fleet slot; None if it was not open."""
        sets = "SET outcome = :o, decided_ms = :t, outcome_reason = :r"
        values = _values(o=outcome, t=now_ms, r=reason or outcome, open=_OPEN)
        if after is not None:
            sets += ", after_json = :a"
            values.update(_values(a=json.dumps(dict(after), default=str)))
        answer = self._call(
            "update_item",
            Key=_key(f"action#{action_id}", "action"),
            UpdateExpression=f"{sets} REMOVE open_flag, open_resource",
            ConditionExpression="open_flag = :open",
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        if answer is None:
            return None
        item = _load(answer["Attributes"])
        self._release_slot(item.get("fleet_key", ""), item.get("fleet_slot", ""), action_id)
        record = to_record(answer["Attributes"])
        heal_s = (now_ms - record.created_ms) / 1000 if outcome == "healed" else None
        self._tally(record.runbook, outcome, now_ms, heal_s)
        return record

    def _heal(self, action_ids: Iterable[str], incident: Incident, now_ms: int) -> list[ActionRecord]:
        healed = []
        for action_id in action_ids:
            record = self._close(action_id, "healed", now_ms, f"resolved by event {incident.identity}")
            if record is None:
                log.info("action was no longer open when its resource resolved", extra={"action_id": action_id})
            else:
                healed.append(record)
        return healed

    def complete(
        self,
        action_id: str,
        outcome: Literal["act", "failed"],
        now_ms: int,
        *,
        after: Mapping[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        """Record what the executor did with an acted (or approved) action.

        ``act``: the calls ran; ``after`` is kept and the action stays in flight until its resource
        resolves (healed) or its deadline passes (overdue). ``failed``: outcome failed, its fleet slot
        is freed; the attempt and cooldown still count, so a failing repair is not hammered. Completing
        an action that was closed meanwhile (overdue, healed) keeps that outcome.
        """
        if outcome == "failed":
            if self._close(action_id, "failed", now_ms, reason or "the action failed", after) is None:
                log.warning("failed action was already closed", extra={"action_id": action_id})
            return
        answer = self._call(
            "update_item",
            Key=_key(f"action#{action_id}", "action"),
            UpdateExpression="SET after_json = :a, executed_ms = :t",
            ConditionExpression="decision IN (:act, :approved)",
            ExpressionAttributeValues=_values(
                a=json.dumps(dict(after or {}), default=str), t=now_ms, act="act", approved="approved"
            ),
        )
        if answer is None:
            raise Conflict(f"action {action_id} is not an acted action")

    def resolve(self, incident: Incident, now_ms: int) -> list[ActionRecord]:
        """Mark the open actions on the incident's resources healed and free their fleet slots.

        ``admit`` already does this for a resolved incident whose runbook matches; this is for events
        that close an incident without one (an AWS Health event closed, a person's word).
        """
        signal = governor.signal_of(incident.identity)
        open_ids = [
            r.action_id
            for resource in incident.resources
            for r in self._open_on(resource)
            if governor.signal_of(r.identity) == signal
        ]
        return self._heal(open_ids, incident, now_ms)

    def open_actions(self) -> list[ActionRecord]:
        """Acted actions neither verified, failed nor overdue (each holds a fleet slot: few)."""
        items = self._query(
            IndexName=INDEX_OPEN,
            KeyConditionExpression="open_flag = :open",
            ExpressionAttributeValues=_values(open=_OPEN),
        )
        return [to_record(raw) for raw in items]

    def heal(self, action_id: str, now_ms: int, reason: str) -> ActionRecord | None:
        """Close an open action as healed (its fleet slot freed); None when it was no longer open."""
        return self._close(action_id, "healed", now_ms, reason)

    def escalate(self, action_id: str, now_ms: int, reason: str) -> ActionRecord | None:
        """Close an open action as escalated (its fleet slot freed); None when it was no longer open."""
        return self._close(action_id, "escalated", now_ms, reason)

    def overdue(self, now_ms: int) -> list[ActionRecord]:
        """Acted actions not verified by their deadline → outcome ``escalated``, fleet slot freed."""
        items = self._query(
            IndexName=INDEX_OPEN,
            KeyConditionExpression="open_flag = :open AND deadline_ms < :now",
            ExpressionAttributeValues=_values(open=_OPEN, now=now_ms),
        )
        escalated = []
        for raw in list(items):
            record = self._close(_load(raw)["action_id"], "escalated", now_ms, "not verified healed by its deadline")
            if record is not None:
                escalated.append(record)
        return escalated

    # -- approvals ------------------------------------------------------------------------------------

    @staticmethod
    def _approvable(record: ActionRecord, digest: str, now_ms: int) -> None:
        if record.decision != "awaiting_approval":
            raise Refused(f"action {record.action_id} is not awaiting approval (decision {record.decision})")
        if record.outcome:
            raise Refused(f"action {record.action_id} was already {record.outcome}")
        if now_ms >= record.expires_ms:
            raise Refused(f"approval of action {record.action_id} expired {(now_ms - record.expires_ms) // 1000}s ago")
        if digest != record.digest:
            raise Refused(f"digest {digest[:12]} does not match the plan awaiting approval ({record.digest[:12]})")

    def approve(self, action_id: str, digest: str, now_ms: int, *, kill_switch: bool = False) -> ActionRecord:
        """Approve an awaiting action bound to ``digest``; returns the ``approved`` record to execute.

        The executor runs exactly ``record.plan()`` (whose digest is the one approved) and completes
        the returned record. Raises ``errors.Refused`` (with why) when there is no such action, it is
        not awaiting approval, was already decided, expired, the digest does not match, the kill switch
        is on, or the limits forbid acting now (paused, cooldown, attempt budget, hourly rate, blast
        radius: approve again later). Timeline: claims 1–3 as in ``admit`` for the approved id, then
        the awaiting record is updated if still undecided, unexpired and of this digest (the commit,
        exactly once), then the approved record is written.
        """
        for attempt in range(self._rounds):
            raw = self._get(f"action#{action_id}", "action")
            if raw is None:
                raise Refused(f"no action {action_id}")
            record = to_record(raw)
            self._approvable(record, digest, now_ms)
            if kill_switch:
                raise Refused("the kill switch is on: nothing runs until it is turned off")
            saved = json.loads(_load(raw).get("limits_json", "{}"))
            cap = int(saved.get("in_flight_cap", 1))
            limits = Limits(
                cooldown_s=int(saved.get("cooldown_s", 900)),
                max_attempts=int(saved.get("max_attempts", 2)),
                attempt_window_s=int(saved.get("attempt_window_s", 6 * 3600)),
                max_in_flight=cap,
                hourly_rate=int(saved.get("hourly_rate", 20)),
                verify_deadline_s=int(saved.get("verify_deadline_s", 900)),
                dry_run=False,
            )
            plan = record.plan()
            me = f"{action_id}.approved"
            snap = self._read(None, plan, now_ms, me, priority=int(_load(raw).get("prio", governor.REPAIR)))
            snap = self._count(snap, plan, limits, now_ms, me, cap)
            blocked = governor.gate(plan, limits, snap.state, now_ms)
            if blocked is not None:
                raise Refused(f"approved plan cannot run now ({blocked.rule}): {blocked.reason}")
            undo: list[Any] = []
            deadline = now_ms + limits.verify_deadline_s * 1000
            try:
                slots = self._claim_act(snap, plan, limits, me, now_ms, deadline, undo)
                self._commit_approval(action_id, digest, me, now_ms)
            except Conflict:
                self._undo(undo)
                time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))
                continue
            except Exception:
                self._undo(undo)
                raise
            item = {
                **{k: v for k, v in _load(raw).items() if k not in ("limits_json", "expires_ms", "outcome")},
                "pk": f"action#{me}",
                "action_id": me,
                "ordering": f"{now_ms:013d}#{me}",
                "decision": "approved",
                "rule": "approval",
                "reason": f"a person approved plan {digest[:12]} of action {action_id}",
                "approval_of": action_id,
                "created_ms": now_ms,
                "attempt": snap.state.attempts_in_window + 1,
                TTL_ATTRIBUTE: now_ms // 1000 + self._audit_s,
                **slots,
            }
            self._put_record(item)
            self._tally_decision(item, now_ms)
            return to_record(_dump(item))
        raise TransientError(f"approval of {action_id} kept losing races; nothing recorded")

    def _commit_approval(self, action_id: str, digest: str, me: str, now_ms: int) -> None:
        done = self._call(
            "update_item",
            Key=_key(f"action#{action_id}", "action"),
            UpdateExpression="SET outcome = :o, decided_ms = :t, outcome_reason = :r",
            ConditionExpression="decision = :aw AND attribute_not_exists(outcome) AND expires_ms > :t AND digest = :d",
            ExpressionAttributeValues=_values(
                o="approved", t=now_ms, r=f"approved as {me}", aw="awaiting_approval", d=digest
            ),
        )
        if done is None:
            raise Conflict(f"action {action_id} changed while it was being approved")

    def deny(self, action_id: str, now_ms: int) -> ActionRecord:
        """Deny an awaiting action; ``errors.Refused`` when there is none or it was already decided."""
        answer = self._call(
            "update_item",
            Key=_key(f"action#{action_id}", "action"),
            UpdateExpression="SET outcome = :o, decided_ms = :t, outcome_reason = :r",
            ConditionExpression="decision = :aw AND attribute_not_exists(outcome)",
            ExpressionAttributeValues=_values(o="denied", t=now_ms, r="denied by a person", aw="awaiting_approval"),
            ReturnValues="ALL_NEW",
        )
        if answer is None:
            record = self.get(action_id)
            if record is None:
                raise Refused(f"no action {action_id}")
            raise Refused(f"action {action_id} is not awaiting approval ({record.outcome or record.decision})")
        return to_record(answer["Attributes"])

    def resume(self, resource: str, now_ms: int) -> None:
        """Lift the pause of a resource and clear its attempts; ``errors.Refused`` when it is not paused.

        The cooldown stays: a resumed resource is not repaired again sooner than any other.
        """
        paused_by: list[str] = []

        def lift(item: dict[str, Any]) -> dict[str, Any] | None:
            if not item.get("paused"):
                raise Refused(f"{resource} is not paused")
            paused_by.append(str(item.get("paused_by", "")))
            lifted = ("paused", "paused_by", "paused_ms", "paused_prio")
            return {**{k: v for k, v in item.items() if k not in lifted}, "tries": {}}

        self._edit_resource(resource, lift, now_ms)
        if paused_by and paused_by[-1]:
            self._call(
                "update_item",
                Key=_key(f"action#{paused_by[-1]}", "action"),
                UpdateExpression="SET resumed_ms = :t",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=_values(t=now_ms),
            )

    def paused(self, resource: str) -> str:
        """Why a resource is paused ("" when it is not)."""
        raw = self._get(f"res#{resource}", "state")
        return str(_load(raw).get("paused", "")) if raw else ""

    # -- healing statistics ------------------------------------------------------------------------

    def _tally_decision(self, item: Mapping[str, Any], now_ms: int) -> None:
        """Count a committed audit record in its day's counters (a duplicate apart from suppressions)."""
        counter = _TALLIED.get(str(item.get("decision", "")), "")
        if counter == "suppressed" and item.get("rule") == "duplicate":
            counter = "duplicates"
        self._tally(str(item.get("runbook", "")), counter, now_ms)

    def _tally(self, runbook: str, counter: str, now_ms: int, heal_s: float | None = None) -> None:
        """``ADD`` one to ``counter`` of (day, runbook), after the write it counts committed.

        One UpdateItem per counted decision (a heal: one more for its time to heal). It cannot share
        the audit record's conditional write (another item, and no transactions, see the module
        docstring), so a crash between the two loses one count: the statistics may undercount,
        never count twice (the commit happens once). A failed count is logged, never raised: the
        decision stands. Decisions without a runbook (an ambiguous alarm) are not counted.
        """
        if not runbook or not counter:
            return
        day = day_of(now_ms)
        ttl = now_ms // 1000 + self._audit_s + _DAY_S
        try:
            self._call(
                "update_item",
                Key=_key(f"{STATS_PK}{day}", runbook),
                UpdateExpression=f"ADD #c :one SET {TTL_ATTRIBUTE} = :ttl",
                ExpressionAttributeNames={"#c": f"n_{counter}"},
                ExpressionAttributeValues=_values(one=1, ttl=ttl),
            )
            if heal_s is not None:
                self._call(
                    "update_item",
                    Key=_key(f"{STATS_PK}{day}", f"{runbook}#tth"),
                    UpdateExpression=f"SET tth = list_append(if_not_exists(tth, :none), :s), {TTL_ATTRIBUTE} = :ttl",
                    ExpressionAttributeValues=_values(none=[], s=[Decimal(str(round(max(heal_s, 0.0), 3)))], ttl=ttl),
                )
        except (SelfHealError, BotoCoreError):  # never raised: the caller's commit must not be undone
            log.warning("could not count a decision in the healing statistics", exc_info=True,
                        extra={"runbook": runbook, "counter": counter})  # fmt: skip

    def day_counts(self, days: Iterable[str]) -> list[DayCounts]:
        """The counters of each runbook on each of ``days`` (UTC ``YYYY-MM-DD``): one Query per day."""
        rows: list[DayCounts] = []
        for day in days:
            counts: dict[str, dict[str, Any]] = {}
            items = self._query(
                KeyConditionExpression="pk = :pk", ExpressionAttributeValues=_values(pk=f"{STATS_PK}{day}")
            )
            for raw in items:
                plain = _load(raw)
                runbook, _, part = str(plain["sk"]).partition("#")
                into = counts.setdefault(runbook, {})
                if part == "tth":
                    into["heal_seconds"] = tuple(float(v) for v in plain.get("tth", []))
                else:
                    into.update({name: int(plain.get(f"n_{name}", 0)) for name in COUNTS})
            rows += [DayCounts(day=day, runbook=rb, **fields) for rb, fields in sorted(counts.items())]
        return rows

    # -- listing -----------------------------------------------------------------------------------

    def actions(
        self, *, runbook: str | None = None, resource: str | None = None, decision: str | None = None, limit: int = 100
    ) -> list[ActionRecord]:
        """Audit records, newest first, filtered by runbook, resource and decision (all that are given).

        Queries the index of the most selective filter given (resource, runbook, decision, else all by
        time); the others filter on the way. Index reads are eventually consistent.
        """
        wanted = {"resource": resource, "runbook": runbook, "decision": decision}
        given = {k: v for k, v in wanted.items() if v}
        index = {"resource": INDEX_RESOURCE, "runbook": INDEX_RUNBOOK, "decision": INDEX_DECISION}
        hash_name = next(iter(given), "audit")
        hash_value = given.pop(hash_name, "action")
        kwargs: dict[str, Any] = {
            "IndexName": index.get(hash_name, INDEX_TIME),
            "KeyConditionExpression": "#h = :h",
            "ExpressionAttributeNames": {"#h": hash_name},
            "ExpressionAttributeValues": _values(h=hash_value),
            "ScanIndexForward": False,
        }
        if given:
            kwargs["FilterExpression"] = " AND ".join(f"#{k} = :{k}" for k in given)
            kwargs["ExpressionAttributeNames"].update({f"#{k}": k for k in given})
            kwargs["ExpressionAttributeValues"].update(_values(**given))
        found: list[ActionRecord] = []
        for raw in self._query(**kwargs):
            found.append(to_record(raw))
            if len(found) >= limit:
                break
        return found
