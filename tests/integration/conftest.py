"""A real local AWS: moto in server mode on 127.0.0.1, reached by real boto3 clients."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from local_stack import EventSources, Stack, create_stack
from moto.server import ThreadedMotoServer

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from tests.dynalite import dynalite_endpoint, dynalite_table  # noqa: F401 - one dynalite server per session

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


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One boto3 session for the tests' clients: a session loads each service's model once, and a new
    one per test cost ~0.2 s of CPU (seconds on a loaded machine) in every test that takes ``aws``.
    Credentials are resolved at the first client, inside a test, from no_real_aws's fake keys."""
    return boto3.session.Session()


@dataclass
class Aws:
    """One test's stack on the shared moto server, and what was called."""

    settings: Settings
    clients: Clients
    stack: Stack
    sources: EventSources
    calls: Counter
    sends: Counter  # SQS requests sent, per operation: a botocore retry is one call, two sends

    def items(self) -> list[dict[str, Any]]:
        return self.clients.dynamodb.scan(TableName=self.stack.table_name)["Items"]

    def queued(self) -> list[dict[str, Any]]:
        """Every job now in the fix queue, once each (received: in flight for 30 s).

        The queue is a standard SQS queue, at-least-once: when a SendMessageBatch is slow but
        succeeds, botocore's retry sends the batch again and the same job (same body, same
        token) is queued twice; the fixer's claim absorbs the second (usecases/enqueue.py). What
        the system guarantees is each job at least once, so a message whose body is already
        listed is dropped here, but only when a SendMessageBatch was retried: a duplicate
        without a retry is a real second send, and fails the test."""
        messages: list[dict[str, Any]] = []
        while True:
            answer = self.clients.sqs.receive_message(
                QueueUrl=self.stack.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30
            )
            if not answer.get("Messages"):
                break
            messages.extend(answer["Messages"])
        jobs = list({m["Body"]: m for m in reversed(messages)}.values())[::-1]  # the first of each body
        retried = self.sends["sqs.SendMessageBatch"] > self.calls["sqs.SendMessageBatch"]
        assert len(jobs) == len(messages) or retried, f"a job queued twice without a retried send: {messages}"
        return jobs


@pytest.fixture
def aws(moto_endpoint: str, boto_session: boto3.session.Session) -> Iterator[Aws]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(endpoint_url=moto_endpoint, table_name=f"{prefix}-error-groups", lease_seconds=60)
    clients = Clients(settings, boto_session)
    stack = create_stack(clients, prefix=prefix)
    # One occurrence is enough here: the tests of the minimum set it themselves (test_spend.py).
    settings = Settings(
        endpoint_url=moto_endpoint,
        table_name=stack.table_name,
        queue_url=stack.queue_url,
        lease_seconds=60,
        min_occurrences=1,
    )
    clients = Clients(settings, boto_session)
    calls: Counter = Counter()
    sends: Counter = Counter()

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.split(".", 1)[1]] += 1  # "before-call.dynamodb.UpdateItem"

    def attempt(event_name: str, **_: Any) -> None:
        sends[event_name.split(".", 1)[1]] += 1  # "before-send.sqs.SendMessageBatch", once per attempt

    for client in (clients.dynamodb, clients.sqs, clients.logs):
        client.meta.events.register("before-call.*.*", count)
    clients.sqs.meta.events.register("before-send.sqs.*", attempt)
    runtime.use(runtime.Container(settings=settings, clients=clients))
    yield Aws(settings, clients, stack, EventSources(clients, stack), calls, sends)
    runtime.clear()
