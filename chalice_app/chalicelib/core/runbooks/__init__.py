"""Runbooks as data: a catalog of entries (catalog.py) and one pure module per runbook.

A runbook module declares everything about its runbook once, as ``RUNBOOK`` (a
core.runbooks.declare.Runbook): its trigger defaults, what it matches, how the target is read from
the event, the Plan of AWS calls a repair makes, how the repair is verified, its healing layer and
the IAM actions it may call. It makes no call itself (adapters/executor.py runs a Plan's calls, so
dry-run, approval hashing, execution and the IAM test all read the same data). The runbooks are
discovered (core/runbooks/registry.py), not listed.

Use ``plan_for`` (match → loop check on the facts → plan) rather than the modules one by one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks.catalog import RunbookEntry, explain
from chalicelib.core.runbooks.declare import Runbook
from chalicelib.core.runbooks.loop import marked_by_selfheal
from chalicelib.core.runbooks.plan import Call, Incident, Plan
from chalicelib.core.runbooks.registry import runbooks
from chalicelib.core.runbooks.targets import fleet_reads, fleet_size, instance_tags

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

# Every declared runbook, by name (discovered in core/runbooks/).
RUNBOOKS: Mapping[str, Runbook] = runbooks()


@dataclass(frozen=True)
class Planned:
    """What the catalog and a runbook make of one incident.

    ``plan`` is None when no runbook matches (``reason`` says why); an open alarm that names no single
    resource and matches no runbook gets a plan with a ``problem`` and no runbook, so it escalates
    instead of being dropped. ``incident`` carries ``caused_by_selfheal`` when the facts show selfheal's
    mark on the target (alarm events cannot show it; see core/runbooks/loop.py).

    ``notify`` is set (the sentence a person reads) when no runbook applies to an open signal about
    one resource selfheal knows (an instance, an ECS service or cluster, a Lambda function): nothing
    is done, and a person is told instead of nobody. Never for a sample, archived, foreign or
    resolved signal, nor for selfheal's own.
    """

    entry: RunbookEntry | None
    incident: Incident
    plan: Plan | None
    reason: str = ""
    notify: str = ""


def layer_of(name: str) -> str:
    """The healing layer of the named runbook (infrastructure, platform, application, data, network),
    read from its declaration; "infrastructure" for a name no module declares (any more)."""
    runbook = RUNBOOKS.get(name)
    return runbook.layer if runbook else "infrastructure"


def module(entry: RunbookEntry) -> Runbook:
    """The runbook (its declaration) of a catalog entry."""
    return RUNBOOKS[entry.action]


def reads_for(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    """The non-mutating calls the entry's runbook needs before it plans (empty when the target is bad)."""
    return tuple(module(entry).reads(entry, entry.target_of(incident)))


def read_facts(
    read: Callable[[Iterable[Call]], dict[str, Any]], entry: RunbookEntry, incident: Incident
) -> dict[str, Any]:
    """The facts the entry's runbook plans with: its reads, then the reads their answers call for
    (``Runbook.then_reads``), made with ``read`` (adapters/facts.py ``Facts.read``)."""
    target = entry.target_of(incident)
    facts = read(module(entry).reads(entry, target))
    more = module(entry).then_reads(entry, target, facts)
    return {**facts, **read(more)} if more else facts


def fleet_reads_for(plan: Plan | None) -> tuple[Call, ...]:
    """The read of the plan's fleet size (an Auto Scaling group, an ECS cluster); () when it has none."""
    return fleet_reads(plan.target if plan is not None else None)


__all__ = [
    "RUNBOOKS",
    "Planned",
    "Runbook",
    "layer_of",
    "before_for",
    "notify_only",
    "fleet_reads_for",
    "fleet_size",
    "followup_for",
    "plan_for",
    "read_facts",
    "reads_for",
    "verified_for",
    "verify_reads_for",
]


def with_waits(plan: Plan) -> Plan:
    """``plan`` with the waiters its runbook puts after some calls (a plan rebuilt from the audit's
    ``{service, operation, params}`` shape lacks them: an approved ec2-retire must wait for the stop)."""
    runbook = RUNBOOKS.get(plan.runbook)
    waits = runbook.waits if runbook else {}
    calls = tuple(dataclasses.replace(c, wait_for=waits.get((c.service, c.operation), c.wait_for)) for c in plan.calls)
    return dataclasses.replace(plan, calls=calls)


def before_for(entry: RunbookEntry, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The pre-state the audit records before the entry's runbook acts (from its facts)."""
    return dict(module(entry).before(facts))


def followup_for(entry: RunbookEntry, plan: Plan, responses: Sequence[Mapping[str, Any]]) -> tuple[Call, ...]:
    """The reads that record an asynchronous action's status after it ran (disk-cleanup's Run Command)."""
    return tuple(module(entry).followup(plan, responses))


def verify_reads_for(plan: Plan) -> tuple[Call, ...]:
    """The reads that show an executed plan healed its target; () when only an event can tell (an
    alarm back to OK). A GuardDuty finding never sends one, so ec2-isolate verifies by reading."""
    runbook = RUNBOOKS.get(plan.runbook)
    return tuple(runbook.verify_reads(plan)) if runbook else ()


def verified_for(plan: Plan, facts: Mapping[str, Any]) -> bool:
    """Whether the facts read by ``verify_reads_for(plan)`` show the repair in place."""
    return bool(RUNBOOKS[plan.runbook].verified(plan, facts))


def notify_only(incident: Incident, why: str) -> str:
    """The notice for an open signal about one known resource that no runbook applies to ('' for none)."""
    kind = str(incident.facts.get("resource_kind") or "")
    if incident.never_act or incident.caused_by_selfheal or incident.state != "open" or not kind:
        return ""
    if incident.source == "alarm" and incident.facts.get("state_value") != "ALARM":
        return ""
    if len(incident.resources) != 1 or incident.ambiguity:
        return ""
    what = incident.subject or incident.source
    return f"{what} on {kind} {incident.resources[0]}: nothing done, no runbook applies ({why})"


def plan_for(catalog: Sequence[RunbookEntry], incident: Incident, facts: Mapping[str, Any] | None = None) -> Planned:
    """Match ``incident`` in ``catalog`` and plan it with ``facts`` (None: no reads were made)."""
    entry, why = explain(catalog, incident)
    if entry is None:
        # An alarm routed to selfheal that names no single resource is escalated, not dropped: a
        # person expected a repair (composite alarms, metric math over several resources).
        alarm_open = incident.source == "alarm" and incident.facts.get("state_value") == "ALARM"
        if alarm_open and incident.ambiguity and not incident.never_act:
            return Planned(None, incident, Plan(runbook="", target=None, problem=incident.ambiguity), why)
        return Planned(None, incident, None, why, notify_only(incident, why))
    incident = entry.target_of(incident)
    # Alarm events carry no resource tags: selfheal's mark is seen only once the facts are read.
    if facts is not None and not incident.caused_by_selfheal:
        marked = marked_by_selfheal(instance_tags(facts))
        if marked:
            incident = dataclasses.replace(incident, caused_by_selfheal=marked)
    return Planned(entry, incident, module(entry).plan(entry, incident, facts))
