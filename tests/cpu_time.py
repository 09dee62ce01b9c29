"""``--cpu-durations=N``: the N tests that used the most CPU (this process, its threads and the
child processes it waited for), beside pytest's wall-clock ``--durations``.

On a machine shared with other work, wall-clock durations say more about the neighbours than
about the test; CPU seconds are what a test costs wherever it runs. Setup, call and teardown
count together. A test that mostly waits (a server's start, a retry's back-off) shows a wall
time far above its CPU time.
"""

from __future__ import annotations

import resource
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator

SPENT = pytest.StashKey[dict[str, tuple[float, float]]]()


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations", type=int, default=None, metavar="N",
        help="show the N tests that used the most CPU seconds (with children); 0 for all",
    )  # fmt: skip


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    if item.config.getoption("cpu_durations") is None:
        return (yield)
    cpu, wall = _cpu(), time.monotonic()
    try:
        return (yield)
    finally:
        item.config.stash.setdefault(SPENT, {})[item.nodeid] = (_cpu() - cpu, time.monotonic() - wall)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    wanted = config.getoption("cpu_durations")
    spent = config.stash.get(SPENT, {})
    if wanted is None or not spent:
        return
    ranked = sorted(spent.items(), key=lambda kv: kv[1][0], reverse=True)
    total = sum(cpu for cpu, _ in spent.values())
    terminalreporter.write_sep("=", f"slowest {wanted or len(ranked)} by CPU (all tests: {total:.1f} s CPU)")
    for nodeid, (cpu, wall) in ranked[: wanted or None]:
        terminalreporter.write_line(f"{cpu:7.2f}s cpu {wall:7.2f}s wall  {nodeid}")
