"""Shared test setup: import path, hypothesis profiles, no real AWS credentials."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "chalice_app"))
sys.path.insert(0, str(ROOT / "scripts"))

SHARED = Path(os.environ.get("SELFHEAL_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
EVENTS = Path(__file__).resolve().parent / "events"

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
