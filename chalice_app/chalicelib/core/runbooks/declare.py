"""What a runbook declares once: ``Runbook`` (one object per runbook module, named ``RUNBOOK``) and the
``Grant`` s of the AWS actions it may call.

Everything about a runbook is read from its declaration: the catalog's default entry and its schema
(core/runbooks/catalog.py), what it matches (``matches``), the reads, the plan, the verification,
its layer, and the IAM statements `selfheal.py package` writes for it (scripts/runbook_terraform.py).
The hooks a runbook does not need keep their defaults (no reads, nothing to record, no follow-up):
callers never ask whether a hook exists.

Resource patterns of a ``Grant`` name the deployment's parts in braces, which the generator turns
into Terraform: ``{partition}``, ``{region}``, ``{account}``; a condition value ``{quarantine_vpcs}``
is the list of VPC ARNs ec2-isolate quarantines in. Pure: no AWS call, no Terraform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.runbooks import targets
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from chalicelib.core.runbooks.conditions import Condition
    from chalicelib.core.runbooks.entry import RunbookEntry
    from chalicelib.core.runbooks.plan import Call, Incident, Plan

# REL11-BP03's healing layers, in the order reports list them.
LAYERS = ("infrastructure", "platform", "application", "data", "network")
# Which remediator handler receives the events of a trigger source (app.py); the verifier runs every runbook.
HANDLERS = {"alarm": "alarm_remediator", "guardduty": "finding_remediator", "health": "health_remediator"}
# The handler of every event source a runbook declares (``EventSource``): one rule, built from the declarations.
EVENT_HANDLER = "event_remediator"
VERIFIER = "remediation_verifier"

# Resource patterns the runbooks share.
INSTANCES = "arn:{partition}:ec2:{region}:{account}:instance/*"
GROUPS = "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/*"
SERVICES = "arn:{partition}:ecs:{region}:{account}:service/*/*"
CLUSTERS = "arn:{partition}:ecs:{region}:{account}:cluster/*"
FUNCTIONS = (
    "arn:{partition}:lambda:{region}:{account}:function:*",
    "arn:{partition}:lambda:{region}:{account}:function:*:*",
)
ANY = ("*",)
INSTANCE_READS = (
    "ec2:DescribeInstances",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeAutoScalingGroups",
)


@dataclass(frozen=True)
class Grant:
    """One IAM statement a runbook needs: actions on resources, under conditions.

    ``tagged``: the resource must carry the deployment's opt-in tag (``aws:ResourceTag/<key>`` =
    value; var.runbook_target_tag). ``conditions``: further (test, condition key, values) triples.
    ``why``: why the statement is as wide as it is (written beside it in the generated policy).
    """

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ANY
    tagged: bool = False
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    why: str = ""
    # The API action (e.g. "backup:StartBackupJob") for which AWS also authorizes these actions (an
    # iam:PassRole of the call's role, the tags a create call sets): granted, though never called.
    implied_by: str = ""

    def reads(self) -> tuple[str, ...]:
        """The actions of the grant that change nothing (Describe*, Get*, List*)."""
        return tuple(a for a in self.actions if a.split(":", 1)[1].startswith(("Describe", "Get", "List")))


@dataclass(frozen=True)
class EventSource:
    """An EventBridge event a runbook reads besides alarms, GuardDuty findings and Health events.

    Declared on the runbook (``Runbook.events``); the event remediator's rule matches every declared
    one, each narrowed to its ``detail`` filter (EventBridge pattern syntax), and one generic view
    (events/declared.py) turns such an event into an ``Incident`` whose ``source`` is ``name``:
    ``subject`` (what Condition.types and catalog triggers match) is the detail field ``subject``,
    the resource the detail field ``resource``, the identity ``<name>:`` + the ``identity`` fields
    joined by ``#``; ``facts`` are copied from the detail; a subject in ``resolved`` resolves.
    Fields are top-level keys of ``detail``. Two runbooks may declare the same source only identically.
    """

    name: str
    source: str
    detail_type: str
    subject: str
    resource: str
    resource_kind: str
    identity: tuple[str, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)
    facts: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    doc: str = ""  # the AWS page that documents the event

    def __post_init__(self) -> None:
        if self.name in HANDLERS or not self.name.isidentifier():
            raise ConfigError(f"event source {self.name!r}: a new lower-case word, not one of {list(HANDLERS)}")
        if not self.identity:
            raise ConfigError(f"event source {self.name}: declares no identity fields")

    def pattern(self) -> dict[str, Any]:
        """Its EventBridge pattern: source, detail-type and the detail filter."""
        out: dict[str, Any] = {"source": [self.source], "detail-type": [self.detail_type]}
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


# Run Command with AWS's shell-script document on the tagged instances, and the reads of the
# instance, its group and the command's status (targets.shell_script: disk-cleanup, memory-restart).
RUN_SHELL_SCRIPT = (
    Grant(
        "ReadInstanceGroupAndCommandStatus",
        (*INSTANCE_READS, "ssm:ListCommandInvocations"),
        ANY,
        why="no resource-level permissions for these reads",
    ),
    Grant("RunCommandOnTaggedInstances", ("ssm:SendCommand",), (INSTANCES,), tagged=True),
    Grant(
        "WithTheShellScriptDocument",
        ("ssm:SendCommand",),
        (f"arn:{{partition}}:ssm:{{region}}::document/{targets.SHELL_DOCUMENT}",),
        why="the SSM document is AWS's own: exact ARN, no tags",
    ),
)


def _no_reads(entry: RunbookEntry, incident: Incident) -> tuple[Call, ...]:
    return ()


def _no_then_reads(entry: RunbookEntry, incident: Incident, facts: Mapping[str, Any]) -> tuple[Call, ...]:
    return ()


def _nothing_before(facts: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def _no_followup(plan: Plan, responses: Sequence[Mapping[str, Any]]) -> tuple[Call, ...]:
    return ()


def _no_verify_reads(plan: Plan) -> tuple[Call, ...]:
    return ()


def _not_verified(plan: Plan, facts: Mapping[str, Any]) -> bool:
    return False


def _no_outcome(facts: Mapping[str, Any]) -> str:
    return ""


@dataclass(frozen=True)
class Runbook:
    """Everything about one runbook, declared once in its module as ``RUNBOOK``.

    ``default``: its entry in the default catalog (``triggers``, ``limits``, optional ``approval``,
    ``dry_run``, ``params``; the name is added), dry-run unless it says otherwise. ``params`` are the
    defaults of its parameters, ``param_types`` their schema ({name: type or (type, item type)}).
    ``plan(entry, incident, facts)`` builds the Plan (facts None: no read was made); ``reads`` the
    non-mutating calls its facts need; ``then_reads(entry, incident, facts)`` the reads that need the
    answers of the first ones (an instance's type, once the instance was read); ``before`` the
    pre-state the audit records; ``verify`` says how it is verified; ``verify_reads``/``verified``
    verify by reading when no event will tell; ``followup``/``outcome`` read an asynchronous
    action's status; ``release`` undoes it from the recorded pre-state; ``waits`` are the waiters
    after some calls (kept out of the audit's call shape).
    ``permissions``: the IAM statements of every call above, and of the read of its fleet's size.
    """

    name: str
    summary: str
    target_kind: str
    layer: str
    matches: Condition
    verify: str
    plan: Callable[[RunbookEntry, Incident, Mapping[str, Any] | None], Plan]
    default: Mapping[str, Any]
    permissions: tuple[Grant, ...]
    reads: Callable[[RunbookEntry, Incident], tuple[Call, ...]] = _no_reads
    then_reads: Callable[[RunbookEntry, Incident, Mapping[str, Any]], tuple[Call, ...]] = _no_then_reads
    before: Callable[[Mapping[str, Any]], dict[str, Any]] = _nothing_before
    params: Mapping[str, Any] = field(default_factory=dict)
    param_types: Mapping[str, Any] = field(default_factory=dict)
    followup: Callable[[Plan, Sequence[Mapping[str, Any]]], tuple[Call, ...]] = _no_followup
    outcome: Callable[[Mapping[str, Any]], str] = _no_outcome
    verify_reads: Callable[[Plan], tuple[Call, ...]] = _no_verify_reads
    verified: Callable[[Plan, Mapping[str, Any]], bool] = _not_verified
    release: Callable[[Mapping[str, Any]], Plan] | None = None
    waits: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # Its place in the default catalog, where the first matching entry wins (narrow before broad).
    rank: int = 100
    # The event sources it reads besides alarms, GuardDuty and Health (its triggers name them).
    events: tuple[EventSource, ...] = ()

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ConfigError(f"runbook {self.name}: layer {self.layer!r} is not one of {list(LAYERS)}")
        if not self.permissions:
            raise ConfigError(f"runbook {self.name}: declares no permissions")

    def check_params(self, params: Mapping[str, Any]) -> str:
        """Why ``params`` are not this runbook's ('' when they are)."""
        return targets.check_params(params, self.param_types)

    def catalog_entry(self) -> dict[str, Any]:
        """Its entry of the default catalog, in the catalog's JSON shape."""
        return {"name": self.name, **{k: v for k, v in self.default.items() if k != "name"}}

    def handlers(self) -> tuple[str, ...]:
        """The remediator handlers that run it: those of its default triggers' sources, and the verifier."""
        declared = {e.name for e in self.events}
        sources = [t["source"] for t in self.default.get("triggers", ())]
        handlers = (HANDLERS.get(s, EVENT_HANDLER if s in declared else "") for s in sources)
        return (*dict.fromkeys(h for h in handlers if h), VERIFIER)


class DuplicateRunbookError(ConfigError):
    """Two modules declare runbooks of the same name."""
