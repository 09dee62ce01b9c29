"""A real local AWS: moto in server mode on 127.0.0.1, reached by real boto3 clients."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from local_stack import EventSources, Stack, create_stack
from moto.server import ThreadedMotoServer

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Aws:
    """One test's stack on the shared moto server, and what was called."""

    settings: Settings
    clients: Clients
    stack: Stack
    sources: EventSources
    calls: Counter

    def items(self) -> list[dict[str, Any]]:
        return self.clients.dynamodb.scan(TableName=self.stack.table_name)["Items"]

    def queued(self) -> list[dict[str, Any]]:
        """Every message now in the fix queue (received, then made visible again)."""
        bodies = []
        while True:
            answer = self.clients.sqs.receive_message(
                QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
            )
            if not answer.get("Messages"):
                return bodies
            bodies.extend(answer["Messages"])


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[Aws]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(endpoint_url=moto_endpoint, table_name=f"{prefix}-error-groups", lease_seconds=60)
    clients = Clients(settings)
    stack = create_stack(clients, prefix=prefix)
    # One occurrence is enough here: the tests of the minimum set it themselves (test_spend.py).
    settings = Settings(
        endpoint_url=moto_endpoint,
        table_name=stack.table_name,
        queue_url=stack.queue_url,
        lease_seconds=60,
        min_occurrences=1,
    )
    clients = Clients(settings)
    calls: Counter = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.split(".", 1)[1]] += 1  # "before-call.dynamodb.UpdateItem"

    for client in (clients.dynamodb, clients.sqs, clients.logs):
        client.meta.events.register("before-call.*.*", count)
    runtime.override(settings=settings, clients=clients, fixer=None)
    yield Aws(settings, clients, stack, EventSources(clients, stack), calls)
    runtime.clear()
