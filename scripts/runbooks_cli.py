"""`selfheal runbooks plan|catalog`: what the runbooks would do with EventBridge events, without AWS.

``runbooks plan EVENT_FILE... [--catalog FILE] [--json]`` (**contract**): for each event (a file holds
one event or a JSON list of them), with no prior state and every runbook of the catalog enabled
(not dry-run), prints ``{"decisions": [{"source", "runbook", "target", "decision", "reason",
"calls": [{"service", "operation", "params"}]}]}``. ``source`` is ``<file>:<index>``; ``decision`` is
``act``, ``awaiting_approval``, ``escalate`` or ``ignore``; ``calls`` are the mutating calls a real run
makes, in order (empty unless it acts or awaits approval). No AWS call is made: a parameter only a
read could tell is null. A Health event naming several instances gives one decision per instance.
Extension: ``notify`` is true when a person is told about an ``ignore`` (no runbook applies to an
open signal about a resource selfheal knows). ``--account``/``--region`` name the deployment's
account and region: an event about another one is ignored, as the deployed remediator does.

``runbooks catalog [--catalog FILE]`` prints the (default) catalog as JSON, ready to edit.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.core.governor import State, decide
from chalicelib.core.runbooks import plan_for
from chalicelib.core.runbooks.catalog import Catalog, default_catalog, load_catalog
from chalicelib.core.runbooks.plan import Limits
from chalicelib.errors import ConfigError, PayloadError
from chalicelib.events.parse import parse_event

if TYPE_CHECKING:
    import argparse

    from chalicelib.core.runbooks.plan import Incident, Plan

# Decisions a call list belongs to (the calls a real run makes now or after approval).
WITH_CALLS = ("act", "awaiting_approval", "approved", "dry_run")


def _decide_empty_state(incident: Incident, plan: Plan | None, limits: Limits | None) -> tuple[str, str, str]:
    """(decision, rule, reason) with no prior state: the governor's rules that an empty state can reach."""
    verdict = decide(incident, plan, limits, State(), 0)
    return str(verdict.decision), str(verdict.rule), str(verdict.reason)


def events_in(path: Path) -> list[Any]:
    """The events a file holds: one JSON object, or a JSON list of them."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"{path}: not a JSON event file: {exc}") from exc
    return doc if isinstance(doc, list) else [doc]


def decisions(paths: list[Path], catalog: Catalog, home: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """One contract decision per incident of every event of ``paths`` (``home``: the deployment's
    account and region, None when unknown)."""
    enabled = {e.name: dataclasses.replace(e.limits, dry_run=False) for e in catalog}
    out = []
    for path in paths:
        for index, raw in enumerate(events_in(path)):
            source = f"{path}:{index}"
            try:
                incidents = parse_event(raw, home=home).incidents()
            except PayloadError as exc:
                out.append(_row(source, None, None, "ignore", str(exc), None))
                continue
            for incident in incidents:
                planned = plan_for(catalog, incident)
                # An ambiguous alarm no runbook matches still escalates: it gets the default limits.
                limits = enabled[planned.entry.name] if planned.entry else Limits(dry_run=False)
                decision, rule, reason = _decide_empty_state(planned.incident, planned.plan, limits)
                if rule == "no-runbook" and planned.reason:
                    own = planned.incident.caused_by_selfheal
                    reason = f"caused by selfheal ({own}); {planned.reason}" if own else planned.reason
                notify = bool(planned.notify) and decision == "ignore"
                if notify:
                    reason = f"a person is told: {planned.notify}"
                row = _row(source, planned.entry.name if planned.entry else None, planned.plan, decision, reason, rule)
                out.append({**row, "notify": notify})
    return out


def _row(source: str, runbook: str | None, plan: Plan | None, decision: str, reason: str, rule: str | None) -> dict:
    calls = [c.as_dict() for c in plan.calls if c.mutating] if plan is not None and decision in WITH_CALLS else []
    target = plan.target.id if plan is not None and plan.target is not None else None
    row = {"source": source, "runbook": runbook, "target": target, "decision": decision, "reason": reason}
    return {**row, "calls": calls, "rule": rule, "notify": False}


def _catalog(path: str | None) -> Catalog:
    if not path:
        return default_catalog()
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"runbook catalog {path}: {exc}") from exc
    return load_catalog(text)


def _print_table(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        calls = ", ".join(f"{c['service']}.{c['operation']}" for c in row["calls"]) or "-"
        told = " (a person is told)" if row["notify"] else ""
        print(f"{row['source']}  {row['decision']:<17} {row['runbook'] or '-':<15} {row['target'] or '-'}{told}")
        print(f"    {row['reason']}\n    calls: {calls}")


def cmd_plan(args: argparse.Namespace) -> int:
    """`runbooks plan`: exit 0, or 2 with a message when a file or the catalog cannot be read."""
    try:
        catalog = _catalog(args.catalog)
        home = (args.account or "", args.region or "") if args.account or args.region else None
        rows = decisions([Path(f) for f in args.files], catalog, home)
    except (ConfigError, PayloadError) as exc:
        print(f"selfheal runbooks plan: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for row in rows:
            row.pop("rule")
        print(json.dumps({"decisions": rows}, indent=2, default=str))
    else:
        _print_table(rows)
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    """`runbooks catalog`: the catalog as JSON (validated), or exit 2 with the error."""
    try:
        catalog = _catalog(args.catalog)
    except ConfigError as exc:
        print(f"selfheal runbooks catalog: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"runbooks": [e.as_dict() for e in catalog]}, indent=2))
    return 0
