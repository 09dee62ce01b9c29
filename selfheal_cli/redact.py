"""`selfheal redact [FILE...]`: print text exactly as selfheal would let it leave the account.

Every secret and personal datum becomes a typed placeholder (``<redacted:KIND>``); every other
byte is printed as it was read, line endings and bytes that are not UTF-8 included. With no FILE
(or ``-``), standard input is read. A file that cannot be read is reported on stderr and makes
the exit status 1; the other files are still printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from chalicelib.core.redact import redact
from selfheal_cli.common import Command, run

if TYPE_CHECKING:
    import argparse


def redact_bytes(data: bytes) -> bytes:
    """``data`` redacted: decoded as UTF-8 with undecodable bytes kept (surrogateescape), so
    everything that is not a secret comes back byte for byte."""
    return redact(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")


def _read(name: str, stdin: BinaryIO) -> bytes:
    return stdin.read() if name == "-" else Path(name).read_bytes()


def cmd_redact(args: argparse.Namespace) -> int:
    """Print each FILE (or standard input) redacted; 1 if a file could not be read."""
    out = sys.stdout.buffer
    status = 0
    for name in args.files or ["-"]:
        try:
            data = _read(name, sys.stdin.buffer)
        except OSError as exc:
            print(f"selfheal redact: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        out.write(redact_bytes(data))
        out.flush()
    return status


@click.command(
    cls=Command,
    name="redact",
    short_help="print files (or stdin) with every secret and personal datum replaced",
    help="Print the text of the files (standard input when no FILE, or '-') exactly as "
    "selfheal lets it leave the account: secrets and personal data replaced by <redacted:KIND>, "
    "everything else unchanged.",
)
@click.argument("files", nargs=-1, metavar="[FILE]...")
def redact_command(**params: Any) -> int:
    return run("redact", cmd_redact, params)
