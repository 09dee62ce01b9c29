"""Shared test setup: the import path (selfheal_cli's), hypothesis profiles, no real AWS credentials, and a check at the
end of the session that every process a test started has ended (tests/processes.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import selfheal_cli  # the one place that puts chalice_app/ and scripts/ on the import path
from tests import processes

ROOT = selfheal_cli.ROOT

pytest_plugins = ["tests.cpu_time"]  # --cpu-durations=N

SHARED = Path(os.environ.get("SELFHEAL_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
EVENTS = Path(__file__).resolve().parent / "events"

# Profiles (HYPOTHESIS_PROFILE; "ci" when CI is set, else "dev"):
# - dev: random examples, saved failures replayed from ./.hypothesis (git-ignored, local only);
# - ci: the same 100 examples on every run (derandomize: a red CI run reproduces with
#   HYPOTHESIS_PROFILE=ci, and a green one is not a draw) and no example database, so nothing a
#   previous run saved changes what this one checks. 200 examples cost the property tier 45 s of
#   CPU against 25 s; the fixed set is not where new counterexamples come from (dev and explore are);
# - explore: many random examples without a database, to hunt for counterexamples on purpose.
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=2000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def load_corpus(name: str) -> list[dict]:
    """Rows of ``shared/samples/<name>/corpus.jsonl``; skips the test where shared/ is absent."""
    path = SAMPLES / name / "corpus.jsonl"
    if not path.exists():
        pytest.skip(f"no sample corpus at {path}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_event(name: str) -> dict:
    """A sample event from ``tests/events`` (``name`` with or without ``.json``), a fresh copy each call."""
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text())


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Real credentials never reach a test: every client gets fake keys and a fixed region; and
    `selfheal local` keeps its state in a directory of the test's, never the user's home."""
    monkeypatch.setenv("SELFHEAL_STATE_DIR", str(tmp_path_factory.mktemp("selfheal-state")))
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture(autouse=True)
def no_metrics_left_over() -> None:
    """Each test starts with no pending EMF metric: Powertools' Metrics instances share one metric
    set per process, so what an earlier test counted and did not flush was flushed by a later one
    (test_metrics.py failed when pytest-xdist ran it after a pipeline test)."""
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", default=False,
        help="also run the tests marked slow (the terraform apply tier; CI runs them as a step of its own)",
    )  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` are skipped, with the way to run them, unless ``--slow`` is given."""
    if config.getoption("slow"):
        return
    skip = pytest.mark.skip(reason="slow tier: run with --slow (CI: pytest tests -m slow --slow, in .ci/run)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note the processes this pytest process already had (none, normally) before any test ran."""
    session.config.stash[processes.BEFORE] = processes.descendants(os.getpid())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run, loudly, when a process a test or fixture started is still running; end it.

    Under pytest-xdist each worker checks its own processes and hands what it found to the
    controller (``workeroutput``), whose own children are the workers."""
    config = session.config
    if config.pluginmanager.has_plugin("dsession"):  # the xdist controller
        left = config.stash.get(processes.REPORTED, {})
    else:
        left = processes.left_behind(os.getpid(), config.stash.get(processes.BEFORE, {}))
        processes.end(left)
        if hasattr(config, "workeroutput"):  # an xdist worker: the controller reports
            config.workeroutput["processes_left_behind"] = {str(pid): command for pid, command in left.items()}
            return
    if not left:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"{len(left)} process(es) started by the tests still ran at the end (now ended):"]
    lines += [f"  pid {pid}: {command}" for pid, command in left.items()]
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("!", "processes left behind", red=True)
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines), file=sys.stderr)  # noqa: T201 - the terminal reporter is off
    if exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist: collect what a finished worker found left behind."""
    found = getattr(node, "workeroutput", {}).get("processes_left_behind", {})
    node.config.stash.setdefault(processes.REPORTED, {}).update({int(pid): cmd for pid, cmd in found.items()})
