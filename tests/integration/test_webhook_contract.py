"""Contract (issue 12): ``chalice local`` with SELFHEAL_WEBHOOK_SECRET set answers a correctly signed
``ping`` on POST /github/webhook with 200, an unsigned or wrongly signed one with 401, and needs no
AWS service to do so (the AWS endpoint points at a closed port)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT, load_event
from tests.github_hooks import delivery

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET = "contract-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chalice_local() -> Iterator[str]:
    chalice = Path(sys.executable).parent / "chalice"
    if not chalice.exists():
        pytest.skip("the chalice command is not installed beside this Python")
    port, closed = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SELFHEAL_"))}
    env |= {
        "SELFHEAL_WEBHOOK_SECRET": SECRET,
        "SELFHEAL_ENDPOINT_URL": f"http://127.0.0.1:{closed}",  # nothing listens: no AWS service is reachable
        "AWS_ACCESS_KEY_ID": "none",
        "AWS_SECRET_ACCESS_KEY": "none",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # --no-autoreload: the reloader serves from a child process that outlives a terminated parent
    # (it was left running); a session of its own lets the teardown end the whole group anyway.
    process = subprocess.Popen(
        [str(chalice), "local", "--host", "127.0.0.1", "--port", str(port), "--stage", "dev", "--no-autoreload"],
        cwd=ROOT / "chalice_app",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/github/webhook"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    out = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"chalice local exited: {out[-2000:]}")
                time.sleep(0.1)
        else:
            pytest.fail("chalice local did not listen within 30 s")
        yield url
    finally:
        end_group(process)


def end_group(process: subprocess.Popen) -> None:
    """SIGTERM the process's group, SIGKILL it if it has not exited within 10 s, then what is left of the
    group; close its pipe."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    try:  # anything the server started, in its group, goes with it
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.stdout:
        process.stdout.close()


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - a local URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_chalice_local_answers_a_signed_ping_200(chalice_local: str) -> None:
    headers, body = delivery("ping", load_event("github/ping"), secret=SECRET)
    assert post(chalice_local, headers, body) == (200, "pong")


def test_chalice_local_answers_an_unsigned_ping_401(chalice_local: str) -> None:
    headers, body = delivery("ping", load_event("github/ping"), secret=None)
    assert post(chalice_local, headers, body)[0] == 401


def test_chalice_local_answers_a_wrongly_signed_ping_401(chalice_local: str) -> None:
    headers, body = delivery("ping", load_event("github/ping"), secret="not the secret")
    assert post(chalice_local, headers, body)[0] == 401
    # and a body changed after signing
    headers, body = delivery("ping", load_event("github/ping"), secret=SECRET)
    assert post(chalice_local, headers, json.dumps({"zen": "changed"}).encode())[0] == 401
