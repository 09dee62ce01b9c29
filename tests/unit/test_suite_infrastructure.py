"""The suite's own parts: the left-behind process check (tests/processes.py) and the in-process CLI
runner (tests/cli.py). A real child process is started here: finding one is what is tested."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests import processes
from tests.cli import run_cli


def test_a_child_and_its_child_are_found_and_ended() -> None:
    # GIVEN a child that started a grandchild, both running
    before = processes.descendants(os.getpid())
    child = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])  # noqa: S607 - sh from PATH
    try:
        want = ["sh -c sleep 30 & wait", "sleep 30"]
        left: dict[int, str] = {}
        for _ in range(100):  # the grandchild may not be forked yet, or forked and not yet sleep
            left = processes.left_behind(os.getpid(), before, grace_s=0)
            if sorted(left.values()) == want:
                break
            time.sleep(0.1)
        # THEN both are named with their command lines
        assert sorted(left.values()) == want
        # WHEN they are ended
        processes.end(left)
        # THEN nothing is left (end() also reaped its own child)
        assert processes.left_behind(os.getpid(), before, grace_s=0.5) == {}
    finally:
        child.kill()
        child.wait()


def test_run_cli_answers_as_a_process_would_and_puts_the_process_state_back(tmp_path) -> None:
    # GIVEN the environment and working directory of this test
    env, cwd, stdin = dict(os.environ), os.getcwd(), sys.stdin  # noqa: PTH109 - compared as strings
    # WHEN a command refuses its arguments (argparse exits 2) with another environment and directory
    done = run_cli("inspect", "--no-such-flag", env={"PATH": os.environ.get("PATH", "")}, cwd=tmp_path)
    # THEN the status and the message are what the process gives, and nothing leaked
    assert done.returncode == 2 and "unrecognized arguments: --no-such-flag" in done.stderr and done.stdout == ""
    assert (dict(os.environ), os.getcwd(), sys.stdin) == (env, cwd, stdin)  # noqa: PTH109
    # AND a command that succeeds answers 0 with its output
    log = tmp_path / "app.log"
    log.write_text("Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\n    g()\nKeyError: 'x'\n")
    ok = run_cli("inspect", str(log), "--json")
    assert ok.returncode == 0 and '"KeyError"' in ok.stdout
