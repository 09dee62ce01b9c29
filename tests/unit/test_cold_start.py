"""Cold start: importing app.py declares the handlers and builds nothing (bench/bench_cold_start.py
prints how long the import takes)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_app_import_declares_handlers_and_builds_no_clients() -> None:
    code = (
        "import app; from chalicelib import runtime; "
        "print(len(runtime.current().built()), *sorted(app.app.handler_map))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "chalice_app", check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == [
        "0",
        "alarm_remediator",
        "budget_sweeper",
        "event_remediator",
        "finding_remediator",
        "fixer",
        "github_webhook",
        "heal_checker",
        "health_remediator",
        "log_processor",
        "remediation_verifier",
        "stream_processor",
    ]


def test_every_handler_string_names_a_module_attribute_of_app() -> None:
    """Chalice packages each function with its handler string "app.<name>": it must resolve."""
    code = (
        "import app; fs = app.app.pure_lambda_functions + app.app.event_sources; "
        "ok = lambda f: callable(getattr(app, f.handler_string[4:], None)); "
        "print(*sorted(f'{f.name}={f.handler_string}:{ok(f)}' for f in fs))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "chalice_app", check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == [
        "alarm_remediator=app.alarm_remediator:True",
        "budget_sweeper=app.budget_sweeper:True",
        "event_remediator=app.event_remediator:True",
        "finding_remediator=app.finding_remediator:True",
        "fixer=app.fixer:True",
        "heal_checker=app.heal_checker:True",
        "health_remediator=app.health_remediator:True",
        "log_processor=app.log_processor:True",
        "remediation_verifier=app.remediation_verifier:True",
        "stream_processor=app.stream_processor:True",
    ]
