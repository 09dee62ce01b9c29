"""`selfheal redact [FILE...]` from outside: a subprocess, as a user runs it (contract)."""

from __future__ import annotations

import subprocess
import sys

from chalicelib.core.redact import redact
from tests.conftest import ROOT
from tests.unit.test_redact import SAMPLES

SCRIPT = ROOT / "scripts" / "selfheal.py"
TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def selfheal_redact(*files: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "redact", *files], input=stdin, capture_output=True, timeout=60, check=False
    )


def test_a_file_is_printed_with_secrets_replaced_and_every_other_byte_kept(tmp_path) -> None:
    # GIVEN a log with CRLF and CR line endings, a tab, bytes that are not UTF-8, and secrets
    log = tmp_path / "app.log"
    log.write_bytes(b"start\r\nDB_PASSWORD=hunter2secret\r\n\xff\xfe raw\rtoken " + TOKEN.encode() + b"\n\tend")
    # WHEN
    run = selfheal_redact(str(log))
    # THEN
    assert run.returncode == 0, run.stderr
    assert run.stdout == (
        b"start\r\nDB_PASSWORD=<redacted:password>\r\n\xff\xfe raw\rtoken <redacted:github-token>\n\tend"
    )
    assert run.stderr == b""


def test_standard_input_is_read_when_no_file_is_given() -> None:
    run = selfheal_redact(stdin=b"mail jane.doe@example.com\ncard 4111 1111 1111 1111\n")
    assert run.returncode == 0
    assert run.stdout == b"mail <redacted:email>\ncard <redacted:card-number>\n"


def test_every_sample_kind_is_redacted_as_the_library_does(tmp_path) -> None:
    # A key cut short runs to the end of the text: those samples go last.
    texts = sorted((t for t, _ in SAMPLES), key=lambda t: t.startswith("cut: "))
    text = "\n".join(texts) + "\n"
    (tmp_path / "all.txt").write_text(text)
    run = selfheal_redact(str(tmp_path / "all.txt"))
    assert run.returncode == 0
    out = run.stdout.decode()
    assert out == redact(text)
    for _, secrets in SAMPLES:
        for secret, kind in secrets:
            assert secret not in out
            assert f"<redacted:{kind}>" in out


def test_an_unreadable_file_is_reported_and_the_others_still_printed(tmp_path) -> None:
    good = tmp_path / "good.log"
    good.write_text("x_api_key=abc123def\n")
    run = selfheal_redact(str(tmp_path / "missing.log"), str(good), str(tmp_path))
    assert run.returncode == 1
    assert run.stdout == b"x_api_key=<redacted:secret>\n"
    err = run.stderr.decode()
    assert "missing.log" in err and str(tmp_path) in err
    assert "Traceback" not in err


def test_text_without_secrets_comes_out_identical(tmp_path) -> None:
    data = (ROOT / "scripts" / "sample_app" / "logs" / "app.log").read_bytes()
    run = selfheal_redact(str(ROOT / "scripts" / "sample_app" / "logs" / "app.log"))
    assert run.returncode == 0
    assert run.stdout == data
