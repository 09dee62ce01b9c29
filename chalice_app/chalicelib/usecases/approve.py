"""Approve or deny a critical action that waits for a human; an approved plan runs in the remediator.

    operator (CLI)                                  remediator Lambda (its own, tag-scoped role)
    approve(id) ─ digest check ─ governor.approve ─▶ {"source": "selfheal.approval", action_id}
                  (conditional write: once)          carry_out: re-read the target, re-plan,
                                                     compare with the approved plan, check the tag
                                                     ─▶ run │ refuse (failed, with why) ─▶ notify

The operator's process records the approval and invokes the remediator (``run``): the plan's calls
are made by the deployed remediator's role, whose IAM allows them only on resources carrying the
target tag, never with the operator's credentials. Locally ``run`` calls the handler in-process.

Before running, the remediator re-reads the target and re-makes the plan from the fresh reads:
the approved plan's digest binds *what* is done; the fresh reads decide *to which parts* (an
interface attached after the finding is isolated too, one detached since is left alone). A fresh
plan that differs in anything else (other quarantine groups, another Auto Scaling group, a target
gone, a runbook problem) is refused: the approved action ends ``failed`` with the reason, and a
notice says so. An EC2 instance without the target tag is refused before any call.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.core import runbooks
from chalicelib.core.clock import now_ms
from chalicelib.core.runbooks import with_waits
from chalicelib.core.runbooks.plan import Incident
from chalicelib.core.runbooks.registry import event_sources
from chalicelib.core.runbooks.targets import instance_tags
from chalicelib.errors import PayloadError, Refused, SelfHealError
from chalicelib.usecases.remediate import decision_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from chalicelib.core.runbooks.catalog import RunbookEntry
    from chalicelib.core.runbooks.plan import Call, Plan
    from chalicelib.usecases.remediate import Executor, Remediate

log = logging.getLogger(__name__)

APPROVAL_SOURCE = "selfheal.approval"  # the event the operator's approve sends the remediator
APPROVAL_DETAIL_TYPE = "selfheal approval"
# Runbooks act only on resources carrying this tag: terraform's var.runbook_target_tag (default) in
# IAM, and this check in code before an approved plan runs (the IAM condition is the backstop).
TARGET_TAG = ("selfheal", "enabled")
# Parameters that name a *part* of the target (an instance's network interfaces): a plan re-made
# from fresh reads may cover more or fewer parts than the approved one; everything else must match.
PART_KEYS = frozenset({"NetworkInterfaceId"})
DEFAULT_HANDLER = "alarm_remediator"


def handler_for(runbook: str) -> str:
    """The remediator handler (Lambda ``<prefix>-<stage>-<handler>``) that runs ``runbook``'s plans:
    the one of its default trigger source, whose role holds its policy (terraform
    local.runbook_default_functions, generated from the same declaration)."""
    declared = runbooks.RUNBOOKS.get(runbook)
    return declared.handlers()[0] if declared else DEFAULT_HANDLER


def approval_event(action_id: str, runbook: str, region: str, at_ms: int) -> dict[str, Any]:
    """The event that asks the remediator to carry out an approved action (EventBridge's shape, so
    the handler's event class reads it like any other)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": APPROVAL_DETAIL_TYPE,
        "source": APPROVAL_SOURCE,
        "account": "",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_ms / 1000)),
        "region": region,
        "resources": [],
        "detail": {"action_id": action_id, "runbook": runbook},
    }


def is_approval(raw: Mapping[str, Any]) -> bool:
    """Whether a remediator event is an operator's approval (not an AWS event)."""
    return raw.get("source") == APPROVAL_SOURCE


def incident_of(record: Any) -> Incident:
    """The incident an awaiting action was planned for, as far as re-planning its target needs:
    the resource, the region, and what the identity says (the finding id, the alarm name)."""
    identity = record.identity
    facts: dict[str, Any] = {}
    if identity.startswith("guardduty:"):
        source = "guardduty"
        facts["finding_id"] = identity.removeprefix("guardduty:").rsplit("#", 1)[0]
    elif ":health:" in identity:
        source = "health"
    elif identity.split(":", 1)[0] in event_sources():  # "<declared source>:<identity fields>"
        source = identity.split(":", 1)[0]
    else:
        source = "alarm"
        facts["alarm_name"] = identity.rsplit("#", 1)[0].rsplit(":alarm:", 1)[-1]
    return Incident(
        source, identity, "open", subject="", resources=(record.resource,), region=record.region, facts=facts
    )  # type: ignore[arg-type]


def _form(call: Call) -> str:
    """A call with the parts of the target it names left out: what an approval binds."""
    params = {k: v for k, v in call.params.items() if k not in PART_KEYS}
    return json.dumps([call.service, call.operation, params], sort_keys=True, default=str)


def _parts(calls: Iterable[Call]) -> set[str]:
    return {str(c.params[k]) for c in calls for k in PART_KEYS if k in c.params}


def compare(approved: Plan, fresh: Plan) -> tuple[str, str]:
    """('', what the re-read changed) when ``fresh`` may run in place of ``approved``; (why not, '').

    ``fresh`` may run when it targets the same resource and every call of it is, but for the parts
    it names, a call of the approved plan (a call the approved plan had and the fresh one has not,
    such as the detach of an instance no longer in a group, is fine: the target no longer needs it).
    """
    if fresh.problem:
        return f"the target, read again, cannot be repaired as approved: {fresh.problem}", ""
    if fresh.stand_down:
        return f"the target, read again, needs nothing: {fresh.stand_down}", ""
    if fresh.target is None or approved.target is None or fresh.target.id != approved.target.id:
        return "the re-made plan targets another resource", ""
    allowed = {_form(c) for c in approved.calls}
    new = [c for c in fresh.calls if _form(c) not in allowed]
    if new:
        return (
            f"the target changed since the plan was approved: {new[0].service}.{new[0].operation} "
            f"{json.dumps(dict(new[0].params), default=str)[:160]} was not in it",
            "",
        )
    added = sorted(_parts(fresh.calls) - _parts(approved.calls))
    gone = sorted(_parts(approved.calls) - _parts(fresh.calls))
    change = "; ".join(
        [f"re-read: also {', '.join(added)} (attached since)"] * bool(added)
        + [f"re-read: no longer {', '.join(gone)} (detached since)"] * bool(gone)
    )
    return "", change


def untagged(plan: Plan, facts: Mapping[str, Any]) -> str:
    """Why an instance target may not be acted on ('' when it carries the target tag, or is no instance)."""
    if plan.target is None or plan.target.kind != "ec2-instance":
        return ""
    key, value = TARGET_TAG
    if instance_tags(facts).get(key) == value:
        return ""
    return f"instance {plan.target.id} does not carry the tag {key}={value}: runbooks act only on opted-in resources"


class Approvals:
    """The approve / deny entry points (the operator's CLI) and the remediator's ``carry_out``.

    ``run`` sends an approval event to the remediator (a Lambda invoke, or the handler in-process)
    and returns its decision; ``read`` runs read-only calls (adapters/facts.Facts.read); ``catalog``
    is the catalog in force; ``executor`` runs a plan's calls.
    """

    def __init__(
        self,
        governor: Any,
        remediate: Remediate,
        kill_switch: Callable[[], bool],
        clock: Callable[[], int] = now_ms,
        *,
        run: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
        read: Callable[[Iterable[Call]], dict[str, Any]] | None = None,
        catalog: Callable[[], Sequence[RunbookEntry]] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self._governor = governor
        self._remediate = remediate
        self._kill_switch = kill_switch
        self._clock = clock
        self._run = run or self.carry_out
        self._read = read
        self._catalog = catalog
        self._executor = executor

    def approve(self, action_id: str, expect_digest: str = "") -> dict[str, Any]:
        """Approve a pending action and have the remediator carry it out; its decision, with the
        ``digest`` approved. Refused when it cannot be approved (nothing recorded, nothing run),
        also when ``expect_digest`` (the digest, or a prefix of it, the approval request showed) is
        given and the stored plan's is another."""
        stored = self._governor.get(action_id)
        if stored is None:
            raise Refused(f"no action {action_id}")
        if expect_digest and not stored.digest.startswith(expect_digest.lower()):
            raise Refused(f"action {action_id}: its plan is {stored.digest[:12]}, not {expect_digest}; not approved")
        if stored.plan().digest() != stored.digest:
            raise Refused(f"action {action_id}: the stored plan does not match its digest; not run")
        record = self._governor.approve(action_id, stored.digest, self._clock(), kill_switch=self._kill_switch())
        event = approval_event(record.action_id, record.runbook, record.region, self._clock())
        try:
            answer = self._run(event)
        except SelfHealError as exc:
            # Recorded but not run: the approved action holds its slot until its deadline escalates it.
            raise SelfHealError(
                f"approved as {record.action_id}, but the remediator did not run it: {exc}; "
                "it escalates at its verification deadline"
            ) from exc
        return {**answer, "digest": stored.digest}

    def carry_out(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The remediator's side of an approval: re-read, re-plan, compare, check the tag, run.

        Returns the decision (``approved`` when the calls ran, ``failed`` with why when they did not
        or were refused); PayloadError for an event that names no approved action to run.
        """
        action_id = str((raw.get("detail") or {}).get("action_id", ""))
        record = self._governor.get(action_id) if action_id else None
        if record is None or record.decision != "approved":
            raise PayloadError(f"approval event for {action_id or 'no action'}: not an approved action")
        if record.executed_ms or record.outcome:
            raise Refused(f"approved action {action_id} already ran ({record.outcome or 'executed'})")
        if self._kill_switch():  # turned on between the approval and this run
            return self._fail(record, "not run: the kill switch is on")
        approved = record.plan()
        try:
            fresh, why, change = self._replan(record, approved)
        except SelfHealError as exc:  # a read failed: nothing ran; the slot is freed, people are told
            fresh, why, change = approved, f"could not read the target again: {exc}", ""
        if why:
            return self._fail(record, f"not run: {why}")
        ran = dataclasses.replace(record, calls=tuple(c.as_dict() for c in fresh.calls))
        try:
            results = self._executor_run(with_waits(fresh))
        except SelfHealError as exc:
            log.warning("approved %s failed on %s: %s", record.runbook, record.resource, exc, exc_info=True)
            return self._fail(ran, str(exc))
        after: dict[str, Any] = {"results": [str(r)[:200] for r in results][:20]}
        if fresh.digest() != approved.digest():
            after |= {"ran_digest": fresh.digest(), "ran_calls": [c.as_dict() for c in fresh.calls], "change": change}
        self._governor.complete(record.action_id, "act", self._clock(), after=after)
        reason = record.reason + (f" ({change})" if change else "")
        self._remediate.announce(ran, "approved", reason=reason)
        return decision_json(record, "approved", reason)

    def _executor_run(self, plan: Plan) -> list[Any]:
        if self._executor is None:
            raise SelfHealError("no executor: approvals run in the remediator")
        return self._executor.run(plan)

    def _replan(self, record: Any, approved: Plan) -> tuple[Plan, str, str]:
        """(the plan to run, why not ('' to run), what the re-read changed)."""
        if self._read is None or self._catalog is None:
            return approved, "", ""
        entry = next((e for e in self._catalog() if e.name == record.runbook), None)
        if entry is None:
            return approved, f"runbook {record.runbook} is no longer in the catalog", ""
        incident = incident_of(record)
        facts = runbooks.read_facts(self._read, entry, incident)
        fresh = runbooks.module(entry).plan(entry, entry.target_of(incident), facts)
        why, change = compare(approved, fresh)
        return fresh, why or untagged(fresh, facts), change

    def _fail(self, record: Any, reason: str) -> dict[str, Any]:
        self._governor.complete(record.action_id, "failed", self._clock(), reason=reason)
        self._remediate.announce(record, "failed", reason=reason)
        return decision_json(record, "failed", reason)

    def deny(self, action_id: str) -> dict[str, Any]:
        """Close a pending action without running it; Refused when it is no longer pending."""
        record = self._governor.deny(action_id, self._clock())
        self._remediate.announce(record, "denied", reason="denied by an operator")
        return decision_json(record, "denied", "denied by an operator")
