"""What every command shares: running a command with the options it was given, the shared option
groups, and one line on stderr for what a person can act on.

A command's options become an ``argparse.Namespace`` named as the options are (``--endpoint-url``
→ ``args.endpoint_url``; repeatable options and variadic arguments as lists), with ``args.command``
the top-level command's name: the command implementations (here and in ``scripts/``) take that object.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    Implementation = Callable[[argparse.Namespace], int]

# The commands given --local (state_options) that write to the local run's state: it is saved back.
STATE_WRITERS = frozenset({"retry", "approve", "deny", "resume", "kill-switch"})


def expand_prefixes(args: list[str], long_options: list[str]) -> list[str]:
    """``args`` with each unique prefix of a long option written in full (``--auto`` →
    ``--auto-approve``, ``--serv=x`` → ``--service=x``), as argparse accepts them; up to ``--``.
    ValueError for a prefix of several options."""
    out = []
    for n, arg in enumerate(args):
        if arg == "--":
            return [*out, *args[n:]]
        name, eq, value = arg.partition("=")
        if name.startswith("--") and name not in long_options:
            found = [o for o in long_options if o.startswith(name)]
            if len(found) == 1:
                arg = found[0] + eq + value
            elif found:
                raise ValueError(f"ambiguous option: {name} could match {', '.join(found)}")
        out.append(arg)
    return out


class Command(click.Command):
    """A click command that also takes a unique prefix of a long option, as the argparse command
    line did (click itself only suggests the option)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Write abbreviated long options in full, then parse as click does."""
        names = [o for p in self.get_params(ctx) for o in (*p.opts, *p.secondary_opts) if o.startswith("--")]
        try:
            args = expand_prefixes(args, names)
        except ValueError as exc:
            raise click.UsageError(str(exc), ctx=ctx) from exc
        return super().parse_args(ctx, args)


class Group(click.Group):
    """A command group whose commands are ``Command``s; a missing subcommand is a usage error (exit 2)."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", False)
        super().__init__(*args, **kwargs)


def fail(command: str, problem: str, code: int = 2) -> int:
    """One line on stderr saying what is wrong and what to do; the exit code."""
    print(f"selfheal {command}: {problem}", file=sys.stderr)
    return code


def namespace(command: str, func: Implementation, params: Mapping[str, Any], **more: Any) -> argparse.Namespace:
    """The arguments object a command implementation reads (tuples of repeatable options as lists)."""
    values = {name: list(v) if isinstance(v, tuple) else v for name, v in params.items()}
    return argparse.Namespace(command=command, func=func, **more, **values)


def run(command: str, func: Implementation, params: Mapping[str, Any], **more: Any) -> int:
    """Run ``func`` with the command's options: against the last local run's stack when --local or
    --state-dir is given, and with one line on stderr (exit 2) when AWS cannot be reached."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    args = namespace(command, func, params, **more)
    try:
        if command != "local" and (getattr(args, "local", False) or getattr(args, "state_dir", None)):
            return with_local_state(args)
        return int(func(args))
    except NoCredentialsError:
        return fail(command, "no AWS credentials found: set AWS_PROFILE or run `aws configure` "
                    "(or --local for the stack of the last local run)")  # fmt: skip
    except NoRegionError:
        return fail(command, "no AWS region: pass --region or set AWS_REGION")
    except EndpointConnectionError as exc:
        return fail(command, f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is it running?")


def state_dir(args: argparse.Namespace) -> Path:
    """The local state directory the command names (--state-dir, $SELFHEAL_STATE_DIR or the default)."""
    from local_state import state_dir as chosen

    return chosen(getattr(args, "state_dir", None))


def with_local_state(args: argparse.Namespace) -> int:
    """Run the command against the stack a `local` run kept (scripts/local_state.py)."""
    from local_mode import stderr
    from local_state import opened

    if getattr(args, "endpoint_url", None):
        return fail(args.command, "give --local (the last local run's stack) or --endpoint-url, not both")
    try:
        with opened(state_dir(args), args.command in STATE_WRITERS, stderr):
            return int(args.func(args))
    except LookupError as exc:
        return fail(args.command, str(exc.args[0]))


def progress(args: argparse.Namespace, message: str) -> None:
    """A progress line on stderr (none under --json)."""
    if not getattr(args, "json", False):
        print(message, file=sys.stderr, flush=True)


def env_default(name: str, default: str | None = None) -> Callable[[], str | None]:
    """A default read from the environment when the command runs (``default`` when unset)."""
    return lambda: os.environ.get(name, default)


def options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Several option decorators as one, applied so that help lists them in the order given."""

    def apply(func: Any) -> Any:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


json_option = click.option("--json", is_flag=True, help="print one JSON document (contract shape)")

# The error-group table's commands (status, show, retry, fixes stats).
table_options = options(
    click.option("--endpoint-url", help="one URL for every AWS service (a local moto server)"),
    click.option("--table", help="error-group table (default: SELFHEAL_TABLE_NAME or selfheal-error-groups)"),
    click.option("--region", help="AWS region"),
)

# The governor's commands (actions, approve, deny, resume, kill-switch, runbooks list/stats).
governor_options = options(
    click.option("--endpoint-url", help="one URL for every AWS service (a local moto server)"),
    click.option("--region", help="AWS region"),
    click.option("--governor-table", help="governor table (default: SELFHEAL_GOVERNOR_TABLE_NAME)"),
    click.option("--prefix", help="SSM parameter prefix (default: SELFHEAL_PARAMETER_PREFIX or /selfheal/)"),
    click.option("--json", is_flag=True, help="print JSON for scripts"),
)

# The commands that also read the stack the last `selfheal local` run kept.
state_options = options(
    click.option("--local", is_flag=True, help="the stack the last `selfheal local` run kept (instead of AWS)"),
    click.option("--state-dir", help="the local state to use (implies --local; default ~/.selfheal/local)"),
)
