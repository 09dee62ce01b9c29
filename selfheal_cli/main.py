"""The ``selfheal`` command tree and ``main(argv) -> int``, the one entry of the console script, of
``python scripts/selfheal.py`` and of the tests' in-process ``run_cli``.

Each command group is one module of this package, a click command or group over the
implementation it runs. ``main`` parses with click but answers as the command line always has:
a usage error is one line on stderr, ``selfheal COMMAND: what is wrong (see selfheal COMMAND
--help)``, with exit status 2; a command's own status is its return value.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING

import click

from selfheal_cli import deploy, fixes, groups, inspect_logs, local, localize, operate, parameters, redact, runbooks
from selfheal_cli.common import Group

if TYPE_CHECKING:
    from collections.abc import Sequence

COMMANDS: tuple[click.Command, ...] = (
    inspect_logs.inspect,
    local.local,
    groups.status,
    groups.show,
    groups.retry,
    parameters.configure_command,
    parameters.delete_parameters,
    deploy.package_command,
    deploy.deploy,
    deploy.destroy,
    runbooks.runbooks,
    operate.actions,
    operate.approve,
    operate.deny,
    operate.resume,
    operate.kill_switch,
    redact.redact_command,
    localize.localize,
    fixes.fixes,
)


class Selfheal(Group):
    """The root group: lists the commands in the order above (the order of a run-through), not sorted."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names in declaration order."""
        return list(self.commands)


@click.group(
    "selfheal",
    cls=Selfheal,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)
def cli() -> None:
    """selfheal: turn logged Python tracebacks into fix PRs, and run runbooks behind a safety governor.

    Start with `selfheal local` (the whole pipeline on this machine, docs/local.md) or
    `selfheal inspect FILE...` (the tracebacks in log files). Every command has --help.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def usage_problem(error: click.UsageError) -> str:
    """A usage error as one line, in the words the argparse command line used for the common ones."""
    if isinstance(error, click.NoSuchOption):
        return f"unrecognized arguments: {error.option_name}"
    message = error.format_message()
    if message.startswith("Got unexpected extra argument"):
        return "unrecognized arguments: " + message.partition("(")[2].rstrip(")")
    if isinstance(error, click.MissingParameter) and error.param is not None:
        names = error.param.opts if isinstance(error.param, click.Option) else [error.param.human_readable_name]
        return f"the following arguments are required: {'/'.join(names)}"
    return message.replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line (``sys.argv[1:]`` when ``argv`` is None); its exit status."""
    if hasattr(signal, "SIGPIPE"):  # `selfheal inspect | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with cli.make_context("selfheal", args) as ctx:
            return int(cli.invoke(ctx) or 0)
    except click.exceptions.Exit as done:  # --help
        return int(done.exit_code)
    except click.UsageError as error:
        prog = error.ctx.command_path if error.ctx is not None else "selfheal"
        print(f"{prog}: {usage_problem(error)} (see {prog} --help)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
