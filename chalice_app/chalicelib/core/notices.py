"""What selfheal tells people: one Notice per action, escalation or approval request. Pure.

A Notice renders two ways from the same data: plain text a person reads at a glance (e-mail, the
SNS default), and AWS Chatbot's custom-notification JSON (``version`` 1.0, ``source`` custom,
``content`` + ``metadata``: https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html).
Every string goes through ``redact`` when rendered: a reason or a resource name may quote log or
event text.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.redact import redact

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# One headline per decision; decisions that are audited only (suppressed, ignore) are not published
# one by one: held-back work and notify-only decisions reach people in the digest (``digest_notice``),
# and a repair needed again inside its cooldown pages once ("repeat").
_HEADLINES = {
    "repeat": "🔁 {resource} needs {runbook} again inside its cooldown",
    "act": "✅ {runbook} acted on {resource}",
    "dry_run": "📝 {runbook} would act on {resource} (dry run)",
    "awaiting_approval": "✋ {runbook} on {resource} awaits approval",
    "approved": "✅ {runbook} on {resource} approved and run",
    "denied": "🚫 {runbook} on {resource} denied",
    "escalate": "🚨 {runbook} on {resource} needs a human",
    "failed": "❌ {runbook} failed on {resource}",
    "healed": "💚 {resource} healed after {runbook}",
    "notify": "👀 {resource} needs a look: no runbook applies",
}
# A notify-only runbook's escalation (rule "notify-only"): it found its target and tells, by design.
_TOLD_HEADLINE = "👀 {resource} needs a look: {runbook} tells, changes nothing"
PUBLISHED = frozenset(_HEADLINES)
# Every kind of runbook notice an operator may turn off (SELFHEAL_QUIET_NOTICES, comma-separated).
NOTICE_KINDS = frozenset({*PUBLISHED, "digest", "kill_switch"})


def quiet_kinds(text: str) -> frozenset[str]:
    """The notice kinds an operator turned off, from ``"dry_run, digest"``; ValueError names an unknown one."""
    kinds = frozenset(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(kinds - NOTICE_KINDS)
    if unknown:
        raise ValueError(f"unknown notice kind(s) {unknown}; known: {sorted(NOTICE_KINDS)}")
    return kinds


# Chatbot limits the title and description; keep each message readable at a glance.
_MAX_TITLE = 250
_MAX_DESCRIPTION = 3_500
_MAX_CALLS_SHOWN = 12


@dataclass(frozen=True)
class Notice:
    """One message: what happened, why, and what a person may do next."""

    kind: str
    title: str
    description: str
    next_steps: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    thread_id: str = ""  # one thread per resource in chat
    resources: tuple[str, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """Plain text for e-mail and the SNS default message, redacted."""
        lines = [self.title, "", self.description]
        if self.next_steps:
            lines += ["", "Next steps:", *(f"- {step}" for step in self.next_steps)]
        if self.context:
            lines += ["", *(f"{key}: {value}" for key, value in self.context.items())]
        return redact("\n".join(lines))

    def chatbot(self) -> dict[str, Any]:
        """AWS Chatbot custom-notification document, redacted. Every field is the documented type:
        ``id`` (optional, a string) is left out when the notice has no action id, never null, and the
        required ``description`` is never empty."""
        action_id = redact(self.context.get("action_id", ""))
        return {
            "version": "1.0",
            "source": "custom",
            **({"id": action_id} if action_id else {}),
            "content": {
                "textType": "client-markdown",
                "title": redact(self.title)[:_MAX_TITLE],
                # required by Chatbot: a notice with nothing more to say repeats its title
                "description": redact(self.description if self.description.strip() else self.title)[:_MAX_DESCRIPTION],
                "nextSteps": [redact(step) for step in self.next_steps],
                "keywords": [redact(k) for k in self.keywords],
            },
            "metadata": {
                "threadId": redact(self.thread_id),
                "summary": redact(self.title)[:_MAX_TITLE],
                "eventType": self.kind,
                "relatedResources": [redact(r) for r in self.resources],
                "additionalContext": {k: redact(v) for k, v in self.context.items()},
            },
        }

    def subject(self) -> str:
        """An e-mail subject: SNS allows 100 printable ASCII characters, no line breaks."""
        ascii_title = redact(self.title).encode("ascii", "ignore").decode().strip()
        return " ".join(ascii_title.split())[:100] or "selfheal"

    def sns_message(self) -> str:
        """The SNS ``MessageStructure=json`` body: Chatbot JSON by default, plain text for e-mail."""
        document = json.dumps(self.chatbot(), ensure_ascii=False)
        return json.dumps({"default": document, "email": self.text(), "email-json": document})


def decision_notice(
    decision: str,
    *,
    runbook: str,
    resource: str,
    reason: str,
    action_id: str = "",
    subject: str = "",
    calls: Sequence[Mapping[str, Any]] = (),
    expires_ms: int = 0,
    digest: str = "",
    layer: str = "",
    started_ms: int = 0,
    ended_ms: int = 0,
    attempt: int = 0,
    rule: str = "",
) -> Notice | None:
    """The Notice for one governor decision, or None for decisions that are only audited.

    ``layer`` is the runbook's healing layer, ``started_ms`` when the action began (its decision),
    ``ended_ms`` when this notice's step ended (0: still running), ``attempt`` which attempt of the
    runbook on the resource in its attempt window (0: not an action); each shows in the text and
    in the chat context (``layer``, ``started``, ``ended``, ``attempt``) when given. ``rule`` is the
    governor's rule: a notify-only escalation reads as what it is (told, nothing paused), not as a
    runbook that gave up."""
    if decision not in PUBLISHED:
        return None
    resource = resource or "(no target)"
    told = decision == "escalate" and rule == "notify-only"
    title = (_TOLD_HEADLINE if told else _HEADLINES[decision]).format(runbook=runbook or "selfheal", resource=resource)
    parts = [reason]
    if subject:
        parts.append(f"Trigger: {subject}")
    if calls:
        verb = "Calls made" if decision in ("act", "approved") else "Calls planned"
        shown = [f"`{c.get('service')}.{c.get('operation')}`" for c in calls[:_MAX_CALLS_SHOWN]]
        more = len(calls) - len(shown)
        parts.append(f"{verb}: " + ", ".join(shown) + (f" and {more} more" if more > 0 else ""))
    timing = _timing(layer, started_ms, ended_ms, attempt)
    if timing:
        parts.append(timing)
    steps = _told_steps(resource) if told else _next_steps(decision, action_id, resource, expires_ms)
    context = {"action_id": action_id, "runbook": runbook, "resource": resource, "decision": decision}
    if rule:
        context["rule"] = rule
    if digest:
        context["plan_digest"] = digest
    context.update(
        layer=layer,
        started=_iso(started_ms) if started_ms else "",
        ended=_iso(ended_ms) if ended_ms else "",
        attempt=str(attempt) if attempt else "",
    )
    return Notice(
        kind=f"selfheal.{decision}",
        title=title,
        description="\n".join(p for p in parts if p),
        next_steps=steps,
        keywords=tuple(k for k in ("selfheal", runbook, decision) if k),
        thread_id=f"selfheal/{resource}",
        resources=(resource,),
        context={k: v for k, v in context.items() if v},
    )


def _timing(layer: str, started_ms: int, ended_ms: int, attempt: int) -> str:
    """One line: the layer, the attempt, when the action started and ended (and how long it took)."""
    bits = [f"Layer: {layer}"] if layer else []
    if attempt:
        bits.append(f"attempt {attempt}")
    if started_ms:
        bits.append(f"started {_iso(started_ms)}")
    if ended_ms:
        took = max(0, ended_ms - started_ms) // 1000 if started_ms else -1
        bits.append(f"ended {_iso(ended_ms)}" + (f" ({took}s)" if took >= 0 else ""))
    return "; ".join(bits)


def _told_steps(resource: str) -> tuple[str, ...]:
    return (
        f"Look at {resource}: the facts above are what the runbook read; it changed nothing and paused nothing",
        f"The audit: `selfheal.py actions --resource {resource}`",
    )


def _next_steps(decision: str, action_id: str, resource: str, expires_ms: int) -> tuple[str, ...]:
    if decision == "awaiting_approval":
        by = f" before {_iso(expires_ms)}" if expires_ms else ""
        return (
            f"Approve{by}: `selfheal.py approve {action_id}`",
            f"Or deny: `selfheal.py deny {action_id}`",
        )
    if decision == "escalate":
        return (
            f"Look at {resource}; automation stands down on it",
            f"When it is safe again: `selfheal.py resume {resource}`",
        )
    if decision == "dry_run":
        return ("Enable the runbook in the catalog to let it act",)
    if decision == "failed":
        return (f"Read the audit record: `selfheal.py actions --resource {resource}`",)
    if decision == "repeat":
        return (
            f"Look at {resource}: the repair did not hold; automation does not repeat it before the cooldown ends",
            f"The audit: `selfheal.py actions --resource {resource}`",
        )
    return ()


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))


def fix_notice(
    status: str,
    *,
    fingerprint: str,
    exception_type: str,
    reason: str = "",
    pr_url: str = "",
    details: Mapping[str, Any] | None = None,
    service: str = "default",
) -> Notice | None:
    """The Notice for a code fix's outcome: a PR opened, or a fix that ended FAILED; None otherwise.
    It names the group's service (core/services.py) in its title, first line and context."""
    group = fingerprint[:12]
    details = details or {}
    service = service or "default"
    if status == "PR_OPENED":
        draft = " (draft)" if details.get("draft") else ""
        facts = [f"Service: {service}", f"Pull request{draft}: {pr_url}"]
        if "confidence" in details:
            facts.append(f"Confidence: {details['confidence']}")
        if "lines_changed" in details:
            facts.append(f"Lines changed: {details['lines_changed']}")
        if details.get("risk_flags"):
            facts.append(f"Risky additions flagged: {details['risk_flags']} (see the PR's warning section)")
        title = f"🔧 selfheal opened a fix for {exception_type or 'an error'} in {service} ({group})"
        steps: tuple[str, ...] = ("Review the pull request; its own CI runs the tests",)
    elif status == "FAILED":
        facts = [f"Service: {service}", f"Reason: {reason}"]
        title = f"❌ selfheal could not fix {exception_type or 'an error'} in {service} ({group})"
        steps = (f"Retry once fixed: `selfheal.py retry {group}`",)
    else:
        return None
    return Notice(
        kind=f"selfheal.fix.{status.lower()}",
        title=title,
        description="\n".join(facts),
        next_steps=steps,
        keywords=tuple(k for k in ("selfheal", "fix", service, exception_type) if k),
        thread_id=f"selfheal/group/{group}",
        resources=(pr_url,) if pr_url else (),
        context={"fingerprint": fingerprint, "status": status, "service": service},
    )


STUCK_LISTED = 20  # groups named in a stuck-new digest; the rest are counted


def stuck_new_notice(groups: Sequence[tuple[str, str, str, str]], grace_minutes: int) -> Notice | None:
    """One digest for the groups a sweep run failed because the stream never queued them, even after
    the sweep handed them to it again; None when there are none. ``groups`` are (fingerprint,
    exception type, service, the status they waited in)."""
    n = len(groups)
    lead = (
        f"The stream never queued {'these groups' if n > 1 else 'this group'}: its records failed for good, and "
        f"again {grace_minutes} min after the hourly sweep handed {'them' if n > 1 else 'it'} to the stream "
        "once more. FAILED with the reason; the failed-events queue names the records"
    )
    title = f"❌ {n} error group{'s' if n > 1 else ''} never became {'fix jobs' if n > 1 else 'a fix job'}"
    return _stuck_digest(groups, title, lead, "Read the stream processor's errors (its logs, the failed-events queue)")


def stuck_jobs_notice(groups: Sequence[tuple[str, str, str, str]]) -> Notice | None:
    """One digest for the QUEUED groups a sweep run failed because their fix jobs never reached the
    fixer; None when there are none. ``groups`` are (fingerprint, exception type, service, reason)."""
    lead = (
        "Their fix jobs never reached the fixer (the stream record failed before the job left, or the job "
        "was sent again and still not claimed). FAILED with the reason"
    )
    title = f"❌ {len(groups)} fix job{'s' if len(groups) > 1 else ''} never reached the fixer"
    return _stuck_digest(groups, title, lead, "Read the failed-events queue and the fix queue's dead-letter queue")


def _stuck_digest(groups: Sequence[tuple[str, str, str, str]], title: str, lead: str, look: str) -> Notice | None:
    """A sweep run's one notice for the groups it failed: the first STUCK_LISTED named, the rest counted."""
    if not groups:
        return None
    n = len(groups)
    parts = [
        lead,
        *(
            f"- {fp[:12]} {exception_type or 'an error'} in {service or 'default'} ({detail})"
            for fp, exception_type, service, detail in groups[:STUCK_LISTED]
        ),
    ]
    if n > STUCK_LISTED:
        parts.append(f"- and {n - STUCK_LISTED} more: `selfheal.py status --status FAILED`")
    return Notice(
        kind="selfheal.fix.stuck",
        title=title,
        description="\n".join(parts),
        next_steps=(look, "Once fixed, retry each: `selfheal.py retry <id>`"),
        keywords=("selfheal", "fix", "stuck"),
        thread_id="selfheal/stuck",
        context={"groups": str(n), "fingerprints": ", ".join(fp[:12] for fp, *_ in groups[:STUCK_LISTED])},
    )


# What happens next to a group each spend rule skipped (core/spend.py).
_SKIP_WORDS = {
    "hourly-budget": "picked up oldest first when the next hour's budget returns",
    "daily-budget": "picked up oldest first when tomorrow's budget returns",
    "token-ceiling": "picked up oldest first when tomorrow's token budget returns",
    "min-occurrences": "re-opened when they reach the minimum occurrences",
    "one-automatic-attempt": "they had their automatic fix; `selfheal.py retry` asks for another",
}


def burst_notice(
    *,
    new_groups: int,
    queued: int,
    over_budget: int,
    budget: int,
    skipped: Mapping[str, int] | None = None,
    limits: str = "",
    services: Mapping[str, int] | None = None,
) -> Notice | None:
    """One summary for a batch of new error groups, instead of a message per group (a bad deploy
    can open hundreds at once); None when the batch holds no more than one and none over budget.

    ``skipped`` counts the groups each spend rule held back (core/spend.py SPEND_RULES) and
    ``limits`` says the limits in words; without them the hourly ``budget`` is reported alone.
    ``services`` counts the new groups per service, named in the summary."""
    if new_groups <= 1 and over_budget == 0:
        return None
    parts = [f"{new_groups} new error groups in one batch: {queued} queued for a fix"]
    if services:
        parts.append("Services: " + ", ".join(f"{name} {n}" for name, n in sorted(services.items())))
    if skipped:
        parts += [f"{n} SKIPPED by {rule}: {_SKIP_WORDS.get(rule, '')}" for rule, n in sorted(skipped.items()) if n]
        if limits:
            parts.append(f"Limits: {limits}")
    elif over_budget:
        parts.append(f"{over_budget} over the fix budget of {budget} an hour: SKIPPED, re-opened when they occur again")
    return Notice(
        kind="selfheal.fix.burst",
        title=f"📈 {new_groups} new error groups at once" + (" — fix budget reached" if over_budget else ""),
        description="\n".join(parts),
        next_steps=("See them: `selfheal.py status`",),
        keywords=("selfheal", "burst"),
        thread_id="selfheal/burst",
        context={
            "new_groups": str(new_groups),
            "queued": str(queued),
            "over_budget": str(over_budget),
            **({"services": ", ".join(sorted(services))} if services else {}),
        },
    )


def fate_notice(
    status: str, *, fingerprint: str, exception_type: str, pr_url: str = "", reason: str = "", occurred_at: int = 0
) -> Notice | None:
    """The Notice for a merged fix that did not hold (REGRESSED); None for any other status (a merge,
    a rejection and a heal are counted, not announced)."""
    if status != "REGRESSED":
        return None
    group = fingerprint[:12]
    facts = [f"The fix merged in {pr_url or 'its pull request'} did not hold: the error occurred again"]
    if occurred_at:
        facts[0] += f" at {_iso(occurred_at)}"
    facts.append("A new fix job was queued; its prompt carries the failed attempt's diff")
    if reason:
        facts.append(f"Reason: {reason}")
    return Notice(
        kind="selfheal.fix.regressed",
        title=f"🔁 the fix for {exception_type or 'an error'} ({group}) regressed",
        description="\n".join(facts),
        next_steps=("See the group: `selfheal.py status`", "Review the new pull request when it opens"),
        keywords=("selfheal", "fix", "regressed"),
        thread_id=f"selfheal/group/{group}",
        resources=(pr_url,) if pr_url else (),
        context={"fingerprint": fingerprint, "status": status},
    )


@dataclass(frozen=True)
class HeldGroup:
    """Held-back incidents with one reason: ``count`` of ``runbook`` in ``fleet`` held by ``rule``."""

    rule: str
    runbook: str
    fleet: str
    count: int
    example: str = ""  # one of their reasons, e.g. "4 actions already in flight in asg:web of 40 (limit 4)"


_HELD_WORDS = {
    "blast-radius": "the in-flight limit",
    "hourly-rate": "the hourly rate",
    "cooldown": "a cooldown",
    "paused": "a pause (a person resumes it)",
}


def digest_notice(
    groups: Sequence[HeldGroup],
    *,
    next_look_ms: int,
    escalated: Sequence[str] = (),
    notes: Sequence[str] = (),
    waiting: int = 0,
) -> Notice | None:
    """One notice for a burst of decisions that are not actions: work held back by a limit (grouped by
    rule, runbook and fleet), held work given up at its deadline, notify-only lines; None when empty.

    ``next_look_ms`` is when the held work is decided again (the verifier's next run); ``waiting``
    is how many held incidents wait in all (new and already told).
    """
    if not groups and not escalated and not notes:
        return None
    held = sum(g.count for g in groups)
    parts = []
    for g in groups:
        words = _HELD_WORDS.get(g.rule, g.rule)
        parts.append(
            f"{g.count} {g.runbook or 'selfheal'} held back by {words} in {g.fleet}"
            + (f" ({g.example})" if g.example else "")
        )
    if groups:
        parts.append(
            "Held work is decided again now and every 5 minutes while its signal is active "
            f"(next wave {_iso(next_look_ms)}); past its deadline a person is told"
        )
    if waiting:
        parts.append(f"{waiting} held incident(s) wait after this run")
    if escalated:
        parts += [f"{len(escalated)} held past their deadline, given up for a person:", *(f"- {e}" for e in escalated)]
    if notes:
        parts += [f"{len(notes)} for your information (no runbook acts):", *(f"- {n}" for n in notes[:20])]
        if len(notes) > 20:
            parts.append(f"- and {len(notes) - 20} more")
    title_bits = [
        f"{held} held back" if held else "",
        f"{len(escalated)} given up" if escalated else "",
        f"{len(notes)} notify-only" if notes else "",
    ]
    return Notice(
        kind="selfheal.digest",
        title="📋 selfheal digest: " + ", ".join(b for b in title_bits if b),
        description="\n".join(parts),
        next_steps=("See them: `selfheal.py actions --decision suppressed`",),
        keywords=("selfheal", "digest"),
        thread_id="selfheal/digest",
        context={"held": str(held), "escalated": str(len(escalated)), "notes": str(len(notes))},
    )


def kill_switch_notice(problem: str) -> Notice:
    """The kill switch could not be read as on/off: automation dry-runs until it can."""
    return Notice(
        kind="selfheal.kill_switch",
        title="🛑 selfheal's kill switch is unreadable: every runbook only dry-runs",
        description=problem,
        next_steps=("Set it: `selfheal.py kill-switch off` (or `on`)",),
        keywords=("selfheal", "kill-switch"),
        thread_id="selfheal/kill-switch",
    )
