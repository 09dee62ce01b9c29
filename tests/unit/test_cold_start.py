"""Cold start: importing app.py declares the handlers and builds nothing (bench/bench_cold_start.py
prints how long the import takes)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_app_import_declares_handlers_and_builds_no_clients() -> None:
    code = (
        "import app; from chalicelib import runtime; "
        "print(runtime.clients.cache_info().currsize, runtime.store.cache_info().currsize, "
        "*sorted(app.app.handler_map))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "chalice_app", check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == ["0", "0", "fixer", "log_processor", "stream_processor"]


def test_every_handler_string_names_a_module_attribute_of_app() -> None:
    """Chalice packages each function with handler "app.<function __name__>"."""
    code = (
        "import app; "
        "print(*sorted(f'{n}={h.__name__}:{callable(getattr(app, h.__name__, None))}' "
        "for n, h in app.app.handler_map.items()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "chalice_app", check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == ["fixer=fixer:True", "log_processor=log_processor:True", "stream_processor=stream_processor:True"]
