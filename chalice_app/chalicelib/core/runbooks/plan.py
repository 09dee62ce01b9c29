"""The data a runbook produces and the governor, executor, audit and CLI read: Incident, Target, Call, Plan.

Shared contract between the event views, the runbooks, the governor and the adapters. Pure.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from collections.abc import Mapping

# What an event says about a resource: something is wrong ("open"), or it healed ("resolved":
# an alarm back to OK, a Health event closed) — a resolved incident verifies, it never acts.
IncidentState = Literal["open", "resolved"]

# The decision recorded for every event (audit and `local --infra --json` contract).
Decision = Literal[
    "act",
    "dry_run",
    "suppressed",
    "awaiting_approval",
    "approved",
    "escalate",
    "ignore",
    "failed",
    "healed",
    "notify",
]
DECISIONS: tuple[str, ...] = get_args(Decision)


@dataclass(frozen=True)
class Incident:
    """What one EventBridge event reports, independent of its wire shape.

    ``identity`` is the exactly-once key (alarm ARN + state timestamp; GuardDuty finding id; Health
    event ARN + entity; ECS task ARN + version). ``subject`` names what it is about for matching
    (alarm: "<namespace>/<metric>", GuardDuty: the finding type, Health: the event type code, a
    declared source: its declared subject field, e.g. a backup job's state, an RDS event id).
    ``resources`` are the resource ids the event names (instance ids, "cluster/service",
    "function:alias"); ``facts`` holds the rest a runbook may read (dimensions, severity, ...).
    """

    # "alarm", "guardduty", "health", or the name of an event source a runbook declares
    # (declare.EventSource: "backup", "rds", ...)
    source: str
    identity: str
    state: IncidentState
    subject: str
    resources: tuple[str, ...] = ()
    region: str = ""
    account: str = ""
    time: str = ""
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Why the event cannot name one target (composite alarm, metric math over several resources, ...).
    ambiguity: str = ""
    # Set when the event was caused by selfheal's own action (loop protection), with how it is known.
    caused_by_selfheal: str = ""
    # Set when the event must never cause an action whatever the catalog says (a GuardDuty sample
    # finding, an archived finding), with why; no runbook matches such an incident.
    never_act: str = ""
    # Set when no runbook applies to an open signal about one resource selfheal knows: the sentence a
    # person reads (core.runbooks.notify_only); the governor decides "notify", nothing runs.
    notify: str = ""


@dataclass(frozen=True)
class Target:
    """The one resource a plan acts on, and the fleet it belongs to for the blast-radius limit."""

    kind: Literal["ec2-instance", "ecs-service", "lambda-alias"]
    id: str
    # Fleet key: "asg:<name>", "ecs:<cluster>", "tag:<key>=<value>", or "" when unknown before a read.
    fleet: str = ""
    region: str = ""


@dataclass(frozen=True)
class Call:
    """One AWS call as data: boto3 client name, boto3 method name, keyword arguments.

    A parameter only a read could tell (an instance's volumes, its Auto Scaling group) is None in a
    plan made without reads.
    """

    service: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    mutating: bool = True
    # A boto3 waiter the executor runs after the call (with the call's matching params), when the
    # next call needs the state this one starts (stop_instances → "instance_stopped" → start_instances).
    wait_for: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the `runbooks plan` contract: {"service", "operation", "params"}."""
        return {"service": self.service, "operation": self.operation, "params": dict(self.params)}


@dataclass(frozen=True)
class Plan:
    """What a runbook would do for one incident: the calls, in order, or why it will not act.

    A plan with a ``problem`` (empty, ambiguous or unparsable target) has no calls and escalates as
    ``ambiguous-target``; a plan that ``tell``s found its one target and chose to tell a person what
    it read instead of acting (a notify-only runbook): no calls, the governor decides ``notify-only``.
    """

    runbook: str
    target: Target | None
    calls: tuple[Call, ...] = ()
    problem: str = ""
    # Set when the runbook stands down without escalating (e.g. an ECS deployment already in
    # progress): no calls; the event is recorded as suppressed with this reason.
    stand_down: str = ""
    # Set when the runbook found its target and tells a person instead of acting (route53-health,
    # elb-unhealthy-target by default): the facts a person reads; no calls. Never set with ``problem``.
    tell: str = ""
    # Set when the plan must wait for a person's approval whatever the catalog says: the risk the
    # runbook read and a person accepts by approving (ec2-retire: instance-store data a stop loses).
    approval: str = ""

    def digest(self) -> str:
        """SHA-256 of the canonical JSON of the plan: approval binds to exactly these calls."""
        canon = json.dumps(
            {
                "runbook": self.runbook,
                "target": None if self.target is None else [self.target.kind, self.target.id, self.target.fleet],
                "calls": [c.as_dict() for c in self.calls],
            },
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(canon.encode()).hexdigest()


@dataclass(frozen=True)
class Limits:
    """A runbook's safety limits, from its catalog entry; the governor enforces them.

    In flight at once per fleet: at most ``max_in_flight`` and, when ``max_in_flight_pct`` is set,
    at most that share of the fleet (the stricter wins, never below one).
    """

    cooldown_s: int = 900
    max_attempts: int = 2  # repairs of one resource per rolling window; one more escalates and pauses
    attempt_window_s: int = 6 * 3600
    max_in_flight: int = 1
    max_in_flight_pct: float = 0.0
    hourly_rate: int = 20  # actions of this runbook per rolling hour, all resources
    verify_deadline_s: int = 900  # no return to OK by then: escalate
    approval: bool = False  # critical: wait for a human, bound to the plan's digest
    approval_ttl_s: int = 3600
    dry_run: bool = True  # safe default: audit and notify what it would do, change nothing


@dataclass(frozen=True)
class Proposal:
    """What the catalog, a runbook and its reads make of one incident, for the governor to decide."""

    incident: Incident  # as the reads left it (selfheal's own mark on the target → caused_by_selfheal)
    plan: Plan | None = None  # None: no runbook matches
    limits: Limits | None = None
    fleet_size: int | None = None
    before: Mapping[str, Any] = field(default_factory=dict)  # the resource as read, for the audit
    # No runbook applies to an open signal about a resource selfheal knows: what a person is told.
    notify: str = ""
