"""The spend counters under concurrency, on a real atomic DynamoDB (dynalite on 127.0.0.1).

Gap covered: moto's DynamoDB does not isolate concurrent conditional writes, so "N stream
processors taking units at once never exceed the limit" would pass or fail by luck there
(tests/dynalite.py says why). ``take_fix_job`` takes the hour's and the day's unit in ONE
conditional UpdateItem of the day's counter item; these tests hammer it from threads and check
that no window is ever exceeded and that no day unit leaks when the hour refuses (nor an hour
unit when the day does). Skips, saying why, without Node/npm.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.adapters.store import ErrorGroupStore
from chalicelib.core.spend import DAY_MS, HOUR_MS, day_start
from tests.dynalite import dynamodb_client  # the fixture: tests/integration/conftest.py

pytestmark = pytest.mark.integration

DAY = day_start(1_800_000_000_000)


@pytest.fixture
def store(dynalite_endpoint: str) -> ErrorGroupStore:  # noqa: F811 - the fixture imported above
    client = dynamodb_client(dynalite_endpoint)
    name = f"groups-{uuid.uuid4().hex[:10]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "fingerprint", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "fingerprint", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 100})
    yield ErrorGroupStore(client, name)
    client.delete_table(TableName=name)


def takes(store: ErrorGroupStore, at: int, n: int, per_hour: int, per_day: int) -> int:
    """``n`` concurrent takes at ``at``; how many were granted."""
    with ThreadPoolExecutor(max_workers=min(n, 32)) as pool:
        return sum(pool.map(lambda _: store.take_fix_job(at, per_hour, per_day), range(n)))


def test_concurrent_takes_never_exceed_the_hourly_limit(store: ErrorGroupStore) -> None:
    # GIVEN 10 an hour, 50 a day; WHEN 60 stream processors take at once in one hour
    granted = takes(store, DAY + 9 * HOUR_MS, 60, per_hour=10, per_day=50)
    # THEN exactly 10, and the day counted exactly those 10 (no unit leaked by the 50 refusals)
    state = store.spend_state(DAY + 9 * HOUR_MS)
    assert (granted, state.hour_used, state.day_used) == (10, 10, 10)


def test_concurrent_takes_over_hours_never_exceed_the_day_nor_leak_an_hour(store: ErrorGroupStore) -> None:
    # GIVEN 10 an hour, 25 a day; WHEN 30 concurrent takes in each of four hours
    granted = [takes(store, DAY + h * HOUR_MS + 5, 30, per_hour=10, per_day=25) for h in range(4)]
    # THEN 10, 10, 5, 0: the day holds at 25, and an hour refused by the day took no hour unit
    assert granted == [10, 10, 5, 0]
    hours = [store.spend_state(DAY + h * HOUR_MS).hour_used for h in range(4)]
    assert hours == granted and store.spend_state(DAY).day_used == 25
    # WHEN the next day begins: its own budget
    assert takes(store, DAY + DAY_MS, 30, per_hour=10, per_day=25) == 10


def test_tokens_added_concurrently_are_all_counted(store: ErrorGroupStore) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda _: store.add_spent_tokens(DAY + 1, 300, 40), range(40)))
    assert store.spend_state(DAY + 1).tokens_today == 40 * 340
