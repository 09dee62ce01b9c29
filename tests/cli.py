"""``scripts/selfheal.py`` run in the test's own process, answering as ``subprocess.run`` would.

A new interpreter per command costs about a second on a loaded machine (imports of boto3,
botocore's models, moto), and the CLI tests ran ~60 of them. ``run_cli`` calls
``selfheal.main(argv)`` instead, as Chalice's tests use click's ``CliRunner``: stdout and stderr
are captured both as Python streams and at the file descriptors (what a child process or the
``local`` command's descriptor swap writes), the exit status is main's return value, a
``SystemExit``'s code (argparse's 2) or 1 with the traceback for an uncaught exception. The
environment, working directory, stdin, SIGPIPE handler and the runtime's cached parts are put back
afterwards, so a command cannot leak state into later tests.

What only a real process shows (the shebang-free ``python scripts/selfheal.py`` start, the import
path it sets up, exit codes through the interpreter) is kept in one subprocess test per command
group: ``run_script``.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Mapping

SCRIPT = ROOT / "scripts" / "selfheal.py"


def run_script(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    input: str | None = None,  # noqa: A002 - subprocess.run's name
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``python scripts/selfheal.py ARGS`` in a new process (the smoke test of a command group)."""
    return subprocess.run(  # noqa: S603 - this interpreter and the repository's script
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else dict(env),
        cwd=cwd,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=timeout,
    )


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    input: str | None = None,  # noqa: A002 - subprocess.run's name
) -> subprocess.CompletedProcess[str]:
    """``selfheal ARGS`` in this process; the answer has the fields ``subprocess.run`` gives.

    ``env`` replaces the environment for the call, as ``subprocess.run(env=...)`` does; ``input``
    is stdin's text (none: an empty stdin, as ``stdin=DEVNULL``)."""
    import selfheal

    from chalicelib import runtime

    saved_env, saved_cwd, saved_stdin = dict(os.environ), Path.cwd(), sys.stdin
    saved_pipe = signal.getsignal(signal.SIGPIPE) if hasattr(signal, "SIGPIPE") else None
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryFile() as fd_out, tempfile.TemporaryFile() as fd_err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved_fds = (os.dup(1), os.dup(2))
        os.dup2(fd_out.fileno(), 1)
        os.dup2(fd_err.fileno(), 2)
        try:
            if env is not None:
                os.environ.clear()
                os.environ.update(env)
            if cwd is not None:
                os.chdir(cwd)
            sys.stdin = io.StringIO(input or "")
            with redirect_stdout(out), redirect_stderr(err):
                code = _main(selfheal.main, list(args))
        finally:
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
            sys.stdin = saved_stdin
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            if saved_pipe is not None:
                signal.signal(signal.SIGPIPE, saved_pipe)
            runtime.clear()
        fd_out.seek(0)
        fd_err.seek(0)
        stdout = out.getvalue() + fd_out.read().decode(errors="replace")
        stderr = err.getvalue() + fd_err.read().decode(errors="replace")
    return subprocess.CompletedProcess(["selfheal", *args], code, stdout, stderr)


def _main(main: object, argv: list[str]) -> int:
    """main's status as the interpreter would make it the process's exit status."""
    try:
        return int(main(argv))  # type: ignore[operator]
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)  # noqa: T201 - sys.exit("message") prints it, status 1
        return 1
    except Exception:  # noqa: BLE001 - the interpreter prints any uncaught exception and exits 1
        traceback.print_exc()
        return 1


def run_local(*args: str, cwd: Path | str | None = None) -> subprocess.CompletedProcess[str]:
    """``selfheal local ARGS`` in this process, on a moto state as fresh as a new process's.

    ``local`` without ``--endpoint-url`` starts an embedded moto server; in a process of its own
    that server's state starts empty. moto keeps state per process, shared by every moto server
    in it (the session's included), so the state is reset before the run, and after it so that
    later tests do not find its groups (no test keeps moto state across tests: the ``aws``
    stacks are per test)."""
    reset_moto()
    try:
        return run_cli("local", *args, cwd=cwd)
    finally:
        reset_moto()


def reset_moto() -> None:
    """Empty every moto backend of this process (what ``POST /moto-api/reset`` does)."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
