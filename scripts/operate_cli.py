"""The operator's commands over the runbooks: actions, approve, deny, resume, kill-switch, runbooks list.

Each takes ``--endpoint-url`` like ``status``, prints a table for people and ``--json`` for scripts,
and exits 0, or 2 with one line on stderr when the request cannot be honoured (expired approval,
already decided, unknown action).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Refused, SelfHealError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

COLUMNS = ("WHEN", "DECISION", "RUNBOOK", "RESOURCE", "ACTION", "RULE / REASON")


def _settings(args: argparse.Namespace) -> Any:
    """Settings from the environment, with the command's options over them."""
    from chalicelib.adapters.settings import Settings

    return Settings.from_env(
        os.environ,
        endpoint_url=args.endpoint_url,
        region=args.region,
        governor_table_name=args.governor_table,
        parameter_prefix=args.prefix,
    )


def _governor(args: argparse.Namespace) -> Any:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.governor_store import GovernorStore

    settings = _settings(args)
    return GovernorStore(Clients(settings).dynamodb, settings.governor_table_name)


def _config(args: argparse.Namespace) -> Any:
    from chalicelib.adapters.clients import Clients
    from chalicelib.adapters.runbook_config import RunbookConfig
    from chalicelib.core.runbooks.catalog import stored_catalog

    settings = _settings(args)
    return RunbookConfig(Clients(settings).ssm, settings.parameter_prefix, stored_catalog)


def _fail(command: str, exc: Exception) -> int:
    print(f"selfheal {command}: {exc}", file=sys.stderr)
    return 2


def record_json(record: Any) -> dict[str, Any]:
    """One audit record as the `actions --json` document lists it."""
    return {
        "action_id": record.action_id,
        "time": record.created_ms,
        "decision": record.decision,
        "outcome": record.outcome,
        "runbook": record.runbook,
        "resource": record.resource,
        "fleet": record.fleet,
        "rule": record.rule,
        "reason": record.reason,
        "calls": list(record.calls),
        "digest": record.digest,
    }


def _when(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch_ms / 1000)) if epoch_ms else "-"


def render_actions(records: list[Any]) -> str:
    """The audit trail as a table, newest first."""
    rows = [
        (
            _when(r.created_ms),
            r.decision + (f" ({r.outcome})" if r.outcome else ""),
            r.runbook or "-",
            r.resource or "-",
            r.action_id[:12],
            redacted(f"{r.rule}: {r.reason}")[:70],
        )
        for r in records
    ]
    return _table(COLUMNS, rows) if rows else "no actions recorded"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() for row in (header, *rows)]
    return "\n".join(lines)


def cmd_actions(args: argparse.Namespace) -> int:
    if args.show:
        return cmd_actions_show(args)
    records = _governor(args).actions(
        runbook=args.runbook, resource=args.resource, decision=args.decision, limit=args.limit
    )
    if args.json:
        print(json.dumps({"actions": [redacted(record_json(r)) for r in records]}, indent=2))
    else:
        print(render_actions(records))
    return 0


# How far back a short id is looked for: the newest records of the audit (as `actions` lists them).
PREFIX_SCAN = 5000


def resolve_id(governor: Any, given: str, decision: str | None = None) -> str:
    """The action id ``given`` names: itself when it is one, else the one id that starts with it
    (among the ``decision`` records, newest ``PREFIX_SCAN``). Refused, listing the candidates,
    when none or several do."""
    if not given:
        raise Refused("no action id given")
    if governor.get(given) is not None:
        return given
    found = sorted({r.action_id for r in governor.actions(decision=decision, limit=PREFIX_SCAN)
                    if r.action_id.startswith(given)})  # fmt: skip
    if len(found) == 1:
        return found[0]
    if not found:
        raise Refused(f"no action {given}" + (f" ({decision})" if decision else ""))
    shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
    raise Refused(f"{given!r} is ambiguous: {len(found)} actions start with it: {shown}")


def cmd_actions_show(args: argparse.Namespace) -> int:
    """One audit record in full (a unique prefix of its id is enough)."""
    governor = _governor(args)
    record = governor.get(resolve_id(governor, args.action_id or ""))
    doc = {
        **record_json(record),
        "outcome_reason": record.outcome_reason,
        "expires_ms": record.expires_ms,
        "deadline_ms": record.deadline_ms,
        "approval_of": record.approval_of,
        "before": record.before,
        "after": record.after,
    }
    doc = redacted(doc)
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        for key, value in doc.items():
            if value not in ("", 0, [], {}, None):
                shown = value if isinstance(value, str | int) else json.dumps(value, default=str)
                print(f"{key:15} {shown}")
    return 0


def redacted(value: Any) -> Any:
    """``value`` (JSON-like) with secrets replaced in every string, as core/redact.py does for logs:
    alarm names, reasons and call parameters come from events anyone with PutMetricAlarm can shape."""
    from chalicelib.core.redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def _approvals(args: argparse.Namespace) -> Any:
    from chalicelib import runtime

    settings = _settings(args)
    local = args.in_process or bool(settings.endpoint_url)
    runner = _in_process if local else _lambda_runner(settings, args.functions)
    runtime.override(settings=settings, approval_runner=runner)
    return runtime.approvals()


def _in_process(event: dict[str, Any]) -> dict[str, Any]:
    """Local mode: the remediator handler, called in this process (the local stack's credentials).

    Its log lines and metric lines stay off stdout, which carries the command's answer (--json).
    """
    import app

    from chalicelib.usecases.approve import handler_for

    handler = getattr(app, handler_for(event["detail"]["runbook"]))
    logger = logging.getLogger("chalicelib")
    level, metrics = logger.level, os.environ.get("POWERTOOLS_METRICS_DISABLED")
    logger.setLevel(logging.WARNING)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return dict(handler(event, None))
    finally:
        logger.setLevel(level)
        if metrics is None:
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        else:
            os.environ["POWERTOOLS_METRICS_DISABLED"] = metrics


def _lambda_runner(settings: Any, prefix: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Deployed: invoke the remediator function (its role makes the calls, not the operator's)."""
    from chalicelib.adapters.invoke import LambdaInvoker
    from chalicelib.usecases.approve import handler_for

    def run(event: dict[str, Any]) -> dict[str, Any]:
        name = f"{prefix}-{handler_for(event['detail']['runbook'])}"
        return LambdaInvoker.for_settings(settings).invoke(name, event)

    return run


def _approve_line(action_id: str, result: dict[str, Any]) -> str:
    digest = str(result.get("digest", ""))[:12]
    if result.get("decision") == "approved":
        return f"{action_id}: approved plan {digest} and run; {result.get('reason', '')}"
    return f"{action_id}: approved plan {digest}, {result.get('decision')}: {result.get('reason', '')}"


def cmd_approve(args: argparse.Namespace) -> int:
    approvals = _approvals(args)
    from chalicelib import runtime

    action_id = resolve_id(runtime.governor(), args.action_id, "awaiting_approval")
    result = approvals.approve(action_id, args.digest or "")
    print(json.dumps(result, indent=2) if args.json else _approve_line(action_id, result))
    return 0 if result.get("decision") == "approved" else 2


def cmd_deny(args: argparse.Namespace) -> int:
    approvals = _approvals(args)
    from chalicelib import runtime

    action_id = resolve_id(runtime.governor(), args.action_id, "awaiting_approval")
    result = approvals.deny(action_id)
    print(json.dumps(result, indent=2) if args.json else f"{action_id}: denied")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    _governor(args).resume(args.resource_id, int(time.time() * 1000))
    doc = {"resource": args.resource_id, "paused": False}
    print(json.dumps(doc) if args.json else f"{args.resource_id}: resumed; runbooks may act on it again")
    return 0


def cmd_kill_switch(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.state in ("on", "off"):
        config.set_kill_switch(args.state == "on")
    on = config.kill_switch()
    text = "on: every runbook only dry-runs" if on else "off: enabled runbooks act"
    print(json.dumps({"kill_switch": "on" if on else "off"}) if args.json else f"kill switch {text}")
    return 0


def cmd_runbooks_list(args: argparse.Namespace) -> int:
    from chalicelib.core.runbooks.catalog import load_catalog

    catalog = load_catalog(Path(args.catalog).read_text()) if args.catalog else _config(args).catalog()
    entries = [entry_json(e) for e in catalog]
    if args.json:
        print(json.dumps({"runbooks": entries}, indent=2))
    else:
        rows = [
            (
                e["name"],
                "dry-run" if e["dry_run"] else "enabled",
                e["trigger"],
                e["limits"],
                "yes" if e["approval"] else "no",
            )
            for e in entries
        ]
        print(_table(("RUNBOOK", "MODE", "TRIGGER", "LIMITS", "APPROVAL"), rows))
    return 0


def entry_json(entry: Any) -> dict[str, Any]:
    """One catalog entry as `runbooks list --json` shows it."""
    limits = entry.limits
    return {
        "name": entry.name,
        "dry_run": limits.dry_run,
        "approval": limits.approval,
        "trigger": entry.describe_trigger(),
        "limits": f"cooldown {limits.cooldown_s}s, {limits.max_attempts}/{limits.attempt_window_s}s, "
        f"in flight {limits.max_in_flight}"
        + (f" or {limits.max_in_flight_pct:g}%" if limits.max_in_flight_pct else "")
        + f", {limits.hourly_rate}/h",
    }


def _guarded(command: str, func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """One line on stderr and exit 2 for what a person can act on: no credentials, no endpoint, refusals."""
    from botocore.exceptions import BotoCoreError, ClientError

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (SelfHealError, BotoCoreError, ClientError, OSError) as exc:
            return _fail(command, exc)

    return run
