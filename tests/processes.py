"""The processes a pytest process started, read from /proc (psutil is not a dependency).

``tests/conftest.py`` checks at the end of the session that none is left: a server or CLI that a
test started and did not end (a ``chalice local`` whose reloader child outlived its parent, a
fixture torn down by a failure) fails the run by name, and is ended so CI does not hang on it.
Where /proc is absent (macOS) the check finds nothing and passes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

PROC = Path("/proc")
BEFORE = pytest.StashKey[dict[int, str]]()  # this process's children when the session started
REPORTED = pytest.StashKey[dict[int, str]]()  # what pytest-xdist workers found left behind


def _parent_and_state(pid: str) -> tuple[int, str] | None:
    try:
        stat = (PROC / pid / "stat").read_text()
    except OSError:  # gone meanwhile, or no /proc
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[1]), fields[0]


def _command(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:300] or "?"


def descendants(root: int) -> dict[int, str]:
    """Every live (not zombie) process below ``root``, by pid, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*"):
        found = _parent_and_state(entry.name)
        if found is not None and found[1] != "Z":
            children.setdefault(found[0], []).append(int(entry.name))
    out: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in out:
            out[pid] = _command(pid)
            todo.extend(children.get(pid, []))
    return out


def left_behind(root: int, before: dict[int, str], grace_s: float = 5.0) -> dict[int, str]:
    """The descendants of ``root`` not in ``before`` that are still alive after ``grace_s`` (a
    process told to stop may take a moment to exit)."""
    deadline = time.monotonic() + grace_s
    while True:
        left = {pid: cmd for pid, cmd in descendants(root).items() if pid not in before}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def end(pids: dict[int, str]) -> None:
    """SIGTERM, then SIGKILL after a few seconds, each of ``pids`` (a process already gone is fine)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not; one that is our own child is reaped here)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: its parent reaps it
        pass
    found = _parent_and_state(str(pid))
    return found is not None and found[1] != "Z"
