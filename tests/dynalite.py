"""A real, atomic local DynamoDB for concurrency tests: dynalite (npm) on 127.0.0.1.

Why not moto: moto's server handles requests on threads without isolating a conditional write's
check from its write, so two concurrent ``attribute_not_exists`` puts can both succeed (seen in this
project's tests). dynalite takes a per-item lock around check-and-write, which is the atomicity
DynamoDB gives single-item conditional writes. dynalite has no TransactWriteItems (4.0.0 lists
transactions under TODO), which is why the governor store does not use transactions.

The fixture installs the pinned dynalite into ``.cache/dynalite`` (git-ignored by a ``.gitignore``
it writes there) when it is missing, starts it on a free port, and stops it at the end of the
session; it skips with the reason where Node or npm is absent or the install fails.

Use: take ``dynalite_endpoint`` (a URL) or ``dynalite_table`` (a fresh governor table) as a
fixture in a test under tests/integration/ (its conftest registers them). Do not import the
fixtures into a test module: each module that does gets a dynalite server of its own.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import socket
import subprocess
import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator

DYNALITE_VERSION = "4.0.0"
CACHE = ROOT / ".cache" / "dynalite"
CLI = CACHE / "node_modules" / "dynalite" / "cli.js"
STARTUP_S = 20


def install() -> str:
    """The path of dynalite's cli.js, installed on first use; '' with pytest.skip when it cannot be."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("dynalite needs Node.js and npm on PATH (the atomic DynamoDB for concurrency tests)")
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    with (CACHE.parent / "dynalite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest processes do not install at once
        if not CLI.exists():
            done = subprocess.run(  # noqa: S603 - fixed arguments, npm from PATH
                [npm, "install", "--prefix", str(CACHE), f"dynalite@{DYNALITE_VERSION}", "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if done.returncode != 0 or not CLI.exists():
                pytest.skip(f"npm could not install dynalite@{DYNALITE_VERSION}: {done.stderr.strip()[-400:]}")
    return str(CLI)


def free_port() -> int:
    """A port nobody listens on now (dynalite reads ``--port 0`` as its default 4567, so it cannot pick one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """The URL of a dynalite server (in memory) for this test session."""
    cli = install()
    node = shutil.which("node") or "node"
    port = str(free_port())
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [node, cli, "--host", "127.0.0.1", "--port", port, "--createTableMs", "0", "--deleteTableMs", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = ""
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline and server.poll() is None:
            line = server.stdout.readline() if server.stdout else ""
            found = re.search(r"listening at: (http://[^:]+:\d+)", line)
            if found:
                break
        else:
            pytest.skip(f"dynalite did not start: {line.strip() or server.returncode}")
        yield found.group(1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def dynamodb_client(endpoint: str, pool: int = 128):  # noqa: ANN201 - a boto3 client
    """A DynamoDB client on ``endpoint`` with room for ``pool`` concurrent requests and no retries hiding races."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="dynalite",  # dynalite checks that a request is signed, not by whom
        aws_secret_access_key="dynalite",  # noqa: S106 - not a secret
        config=Config(max_pool_connections=pool, retries={"max_attempts": 2, "mode": "standard"}),
    )


@pytest.fixture
def dynalite_table(dynalite_endpoint: str) -> Iterator[tuple[object, str]]:
    """(client, table name) of a fresh governor table on dynalite, deleted afterwards."""
    from chalicelib.adapters.governor_store import table_definition

    client = dynamodb_client(dynalite_endpoint)
    name = create_table(client, table_definition(f"governor-{uuid.uuid4().hex[:10]}"))
    yield client, name
    client.delete_table(TableName=name)


def create_table(client: Any, definition: dict[str, Any]) -> str:
    """Create a table and wait until it is ACTIVE: dynalite creates tables asynchronously (even with
    --createTableMs 0), so a request made at once may find no table on a loaded machine."""
    client.create_table(**definition)
    name = definition["TableName"]
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    return name
