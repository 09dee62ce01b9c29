"""A rotated webhook secret takes effect in a warm container within a stated bound: POST
/github/webhook through chalice.test.Client, the secret in moto's SSM, a clock the test moves.

Bounds (core/webhooks.py): the old secret stops validating at most SECRET_TTL_MS after the rotation;
a delivery signed with the new secret is accepted once the last read is SECRET_RECHECK_MS old; bad
signatures read SSM at most once per SECRET_RECHECK_MS.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import app
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.adapters.clients import Clients
from chalicelib.adapters.settings import Settings
from chalicelib.core.webhooks import SECRET_RECHECK_MS, SECRET_TTL_MS, SecretCache
from tests.github_hooks import delivery

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

OLD, NEW = "0f1e2d3c4b5a69788796a5b4c3d2e1f0-old", "9a8b7c6d5e4f30211203f4e5d6c7b8a9-new"


class FakeClock:
    def __init__(self) -> None:
        self.now_ms = 1_795_000_000_000

    def __call__(self) -> int:
        return self.now_ms


class Warm:
    """One warm container's webhook route, the SSM parameter behind it and the reads of it."""

    def __init__(self, client: Client, clients: Clients, name: str, clock: FakeClock) -> None:
        self.client, self.clients, self.name, self.clock = client, clients, name, clock
        self.reads = 0

    def ping(self, secret: str) -> int:
        headers, body = delivery("ping", json.dumps({"zen": "z", "hook_id": 1}).encode(), secret=secret)
        return int(self.client.http.post("/github/webhook", headers=headers, body=body).status_code)

    def rotate(self, value: str) -> None:
        self.clients.ssm.put_parameter(Name=self.name, Value=value, Type="SecureString", Overwrite=True)

    def counted(self, event_name: str, **_: Any) -> None:
        self.reads += event_name.endswith("GetParameter")


@pytest.fixture
def warm(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warm]:
    monkeypatch.delenv("SELFHEAL_WEBHOOK_SECRET", raising=False)
    prefix = f"/t{uuid.uuid4().hex[:10]}/"
    settings = Settings(endpoint_url=moto_endpoint, parameter_prefix=prefix)
    clients = Clients(settings)
    clock = FakeClock()
    clients.ssm.put_parameter(Name=f"{prefix}webhook_secret", Value=OLD, Type="SecureString")
    runtime.use(runtime.Container(settings=settings, clients=clients, clock=clock))
    with Client(app.app) as client:
        state = Warm(client, clients, f"{prefix}webhook_secret", clock)
        clients.ssm.meta.events.register("before-call.ssm.*", state.counted)
        yield state
    runtime.clear()


def test_the_old_secret_stops_validating_within_the_ttl_without_a_cold_start(warm: Warm) -> None:
    # GIVEN a warm container that validated with the old secret
    assert warm.ping(OLD) == 200
    # WHEN the secret is rotated and no delivery signed with the new one arrives
    warm.rotate(NEW)
    warm.clock.now_ms += SECRET_TTL_MS - 1
    assert warm.ping(OLD) == 200  # still inside the bound
    warm.clock.now_ms += 1
    # THEN at the TTL the old secret is refused and the new one accepted, same container
    assert warm.ping(OLD) == 401
    assert warm.ping(NEW) == 200


def test_the_first_delivery_with_the_new_secret_is_accepted_once_the_recheck_interval_passed(warm: Warm) -> None:
    assert warm.ping(OLD) == 200
    warm.rotate(NEW)
    # WHEN GitHub signs with the new secret right after a read: refused until the recheck interval
    assert warm.ping(NEW) == 401
    warm.clock.now_ms += SECRET_RECHECK_MS
    # THEN accepted, and from then on the old secret is refused
    assert warm.ping(NEW) == 200
    assert warm.ping(OLD) == 401


def test_bad_signatures_read_the_secret_at_most_once_per_recheck_interval(warm: Warm) -> None:
    assert warm.ping(OLD) == 200
    reads = warm.reads
    # WHEN 50 deliveries with a wrong secret arrive over 25 s
    for _ in range(50):
        assert warm.ping("not-the-secret") == 401
        warm.clock.now_ms += 500
    # THEN at most one read per recheck interval (and the old secret still validates)
    assert warm.reads - reads <= 25_000 // SECRET_RECHECK_MS + 1
    assert warm.ping(OLD) == 200


def test_secret_cache_reads_again_only_after_ttl_or_on_a_due_recheck() -> None:
    values, now = [b"a", b"b", b"b"], [0]
    cache = SecretCache(lambda: values.pop(0), lambda: now[0], ttl_ms=100, recheck_ms=10)
    assert cache.current() == b"a"
    now[0] = 5
    assert cache.recheck() is None and cache.current() == b"a"  # recheck not due: no read
    now[0] = 10
    assert cache.recheck() == b"b"  # due, and it changed
    now[0] = 20
    assert cache.recheck() is None  # due, unchanged
    assert values == []
