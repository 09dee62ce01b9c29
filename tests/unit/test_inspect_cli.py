"""`selfheal inspect`: the contract shape and error handling."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.cli import run_cli, run_script
from tests.conftest import ROOT
from tests.factories import encode_payload, payload

if TYPE_CHECKING:
    import subprocess

SCRIPT = ROOT / "scripts" / "selfheal.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """In this process (tests/cli.py); the contract-shape test runs the script in its own."""
    return run_cli(*args)


def test_json_output_has_exactly_the_contract_shape(tmp_path) -> None:
    # GIVEN a text log and a base64 payload, read in one run
    log = tmp_path / "app.log"
    log.write_text(
        'boot\nTraceback (most recent call last):\n  File "/a.py", line 1, in f\n    g()\n'
        "KeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "/a.py", line 3, in f\n    h()\nValueError: bad\n'
    )
    lines = [
        "noise",
        "Traceback (most recent call last):",
        '  File "/b.py", line 2, in k',
        "    z()",
        "OSError: e",
    ]
    pay = tmp_path / "payload.b64"
    pay.write_text(encode_payload(payload(lines)))
    # WHEN
    result = run_script("inspect", str(log), str(pay), "--json")  # the command's one real process
    # THEN
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert list(doc) == ["tracebacks"]
    first, second = doc["tracebacks"]
    assert list(first) == ["fingerprint", "exception_type", "exception_message", "frames", "chain", "source"]
    assert first["frames"] == [{"file": "/a.py", "line": 3, "function": "f"}]
    assert first["chain"] == [
        {"exception_type": "KeyError", "exception_message": "'x'"},
        {"exception_type": "ValueError", "exception_message": "bad"},
    ]
    assert first["source"] == f"{log}:2"
    assert second["source"] == f"{pay}:1"
    assert second["exception_type"] == "OSError"


def test_human_output_lists_groups_of_the_bundled_samples() -> None:
    result = run("inspect")
    assert result.returncode == 0, result.stderr
    assert "group(s)" in result.stdout
    assert "pricing.py in discount_percent" in result.stdout


def test_bad_file_is_reported_and_the_rest_still_read(tmp_path) -> None:
    good = ROOT / "scripts" / "sample_app" / "logs" / "jobs.log"
    bad = tmp_path / "broken.gz"
    bad.write_bytes(b"\x1f\x8b\x08garbage")
    result = run("inspect", str(bad), str(tmp_path / "missing.log"), str(good), "--json")
    assert result.returncode == 1
    assert "broken.gz" in result.stderr and "missing.log" in result.stderr
    assert len(json.loads(result.stdout)["tracebacks"]) == 2


def test_malformed_wire_payloads_and_gzip_bombs_exit_1_with_a_reason(tmp_path) -> None:
    # GIVEN A12's .b64 files (read silently as text before) and A14's bomb (2.1 GB RSS before)
    import base64
    import gzip

    good = gzip.compress(json.dumps(payload(["x"])).encode())
    (tmp_path / "truncated.b64").write_bytes(base64.b64encode(good[: len(good) // 2]))
    (tmp_path / "notgzip.b64").write_bytes(base64.b64encode(b"hello this is not gzip at all, just text"))
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\0" * (16 << 20)) * 5)
    # WHEN
    result = run("inspect", *(str(tmp_path / n) for n in ("truncated.b64", "notgzip.b64", "bomb.gz")), "--json")
    # THEN
    assert result.returncode == 1
    assert "truncated.b64: logs payload is truncated" in result.stderr
    assert "notgzip.b64: logs payload is not gzip data" in result.stderr
    assert "bomb.gz: gzip file is corrupt or too large" in result.stderr and "refused" in result.stderr
    assert json.loads(result.stdout) == {"tracebacks": []}


def test_explain_says_why_a_traceback_is_truncated(tmp_path) -> None:
    log = tmp_path / "cut.log"
    log.write_text('Traceback (most recent call last):\n  File "/srv/app/jobs.py", line 3, in run\n    go()\n')
    result = run("inspect", str(log), "--explain")
    assert result.returncode == 0, result.stderr
    assert "truncated: no exception line after the frames" in result.stdout
