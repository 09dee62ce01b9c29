"""The payload's event columns: ids kept as the strings CloudWatch sends, other ids made strings."""

from __future__ import annotations

from chalicelib.core.logs_payload import parse_batch


def _payload(ids: list[object]) -> dict[str, object]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/shop",
        "logStream": "s",
        "subscriptionFilters": ["selfheal"],
        "logEvents": [{"id": i, "timestamp": 1795000000000 + n, "message": "m"} for n, i in enumerate(ids)],
    }


def test_string_ids_are_kept() -> None:
    # GIVEN CloudWatch's string ids
    ids = [
        "36000000000000000000000000000000000000000000000000000000",
        "36000000000000000000000000000000000000000000000000000001",
    ]
    # THEN the batch holds them as they are
    assert parse_batch(_payload(ids)).ids == tuple(ids)


def test_other_ids_become_strings() -> None:
    # GIVEN a payload (a replay, a test harness) with integer ids among string ones
    batch = parse_batch(_payload([7, "8", 9]))
    # THEN every id is a string, as the windowing's order by (timestamp, id) expects
    assert batch.ids == ("7", "8", "9")
    assert {type(i) for i in batch.ids} == {str}
