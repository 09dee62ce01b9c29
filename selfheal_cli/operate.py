"""The operator's commands over the runbooks: `selfheal actions`, `approve`, `deny`, `resume` and
`kill-switch` (docs/governor.md). Each prints a table for people and ``--json`` for scripts, and
exits 0, or 2 with one line on stderr when the request cannot be honoured; the work is
scripts/operate_cli.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from operate_cli import _guarded, cmd_actions, cmd_approve, cmd_deny, cmd_kill_switch, cmd_resume

from selfheal_cli.common import Command, env_default, governor_options, options, run, state_options

if TYPE_CHECKING:
    from selfheal_cli.common import Implementation


def _run(name: str, func: Implementation, params: dict[str, Any]) -> int:
    """``func`` with a refusal, a missing credential or an unreachable endpoint as one line (exit 2)."""
    return run(name, _guarded(name, func), params)


@click.command(
    cls=Command,
    name="actions",
    short_help="the runbooks' audit trail, newest first; `actions show ID`: one record",
    help="The runbooks' audit trail, newest first; `actions show ID`: one record in full.",
)
@click.argument("show", required=False, type=click.Choice(["show"]), metavar="[show]")
@click.argument("action_id", required=False, metavar="[ACTION_ID]")
@click.option("--runbook", help="only this runbook's records")
@click.option("--resource", help="only this resource's records")
@click.option("--decision", help="only records with this decision")
@click.option("--limit", type=int, default=100, show_default=True, help="at most this many records")
@governor_options
@state_options
def actions(**params: Any) -> int:
    return _run("actions", cmd_actions, params)


# approve and deny: the action, and how the remediator's part runs.
_approval_options = options(
    click.argument("action_id"),
    governor_options,
)
_runner_options = options(
    click.option(
        "--functions",
        default=env_default("SELFHEAL_FUNCTION_PREFIX", "selfheal-dev"),
        help="the deployed functions' name prefix <name_prefix>-<stage> (the remediator runs the plan)",
    ),
    click.option(
        "--in-process",
        is_flag=True,
        help="run the remediator's part in this process (local mode; implied by --endpoint-url)",
    ),
    state_options,
)


@click.command(
    cls=Command,
    name="approve",
    short_help="run a pending critical action exactly as planned",
    help="Run a pending critical action exactly as planned. ACTION_ID: the action id, or a unique prefix "
    "of it (as `actions` shows).",
)
@_approval_options
@click.option("--digest", help="the plan digest (or a prefix) the notice showed: refused if another")
@_runner_options
def approve(**params: Any) -> int:
    return _run("approve", cmd_approve, params)


@click.command(
    cls=Command,
    name="deny",
    short_help="close a pending critical action exactly as planned",
    help="Close a pending critical action. ACTION_ID: the action id, or a unique prefix of it (as `actions` shows).",
)
@_approval_options
@_runner_options
def deny(**params: Any) -> int:
    return _run("deny", cmd_deny, params)


@click.command(
    cls=Command,
    name="resume",
    short_help="clear the pause an escalation set on a resource",
    help="Clear the pause an escalation set on a resource: runbooks may act on it again.",
)
@click.argument("resource_id")
@governor_options
@state_options
def resume(**params: Any) -> int:
    return _run("resume", cmd_resume, params)


@click.command(
    cls=Command,
    name="kill-switch",
    short_help="turn every runbook to dry-run (on), back (off), or show it",
    help="Turn every runbook to dry-run (on), back (off), or show it (status).",
)
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@governor_options
@state_options
def kill_switch(**params: Any) -> int:
    return _run("kill-switch", cmd_kill_switch, params)
