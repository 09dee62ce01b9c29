"""CloudWatch Logs subscription payloads: decoding, validation, reassembly."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from chalicelib.core.logs_payload import decode_batch, find_in_batch
from chalicelib.errors import PayloadError
from tests.factories import encode_payload, payload

LINES = [
    "Traceback (most recent call last):",
    '  File "/var/task/app.py", line 4, in handler',
    "    return 1 / 0",
    "ZeroDivisionError: division by zero",
]


def test_decodes_a_data_message() -> None:
    batch = decode_batch(encode_payload(payload(["hello", "world"], log_group="/aws/lambda/x")))
    assert batch.log_group == "/aws/lambda/x"
    assert [e.message for e in batch.events] == ["hello", "world"]
    assert batch.events[0].timestamp > 0 and batch.events[0].id


def test_control_message_has_no_tracebacks() -> None:
    data = encode_payload({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logEvents": []})
    batch = decode_batch(data)
    assert batch.is_control
    assert find_in_batch(batch) == []


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("not base64!!", "not base64"),
        (base64.b64encode(b"plain bytes").decode(), "not gzip"),
        (base64.b64encode(gzip.compress(b"{nope")).decode(), "not JSON"),
        (base64.b64encode(gzip.compress(b"[1, 2]")).decode(), "must be a JSON object"),
        (encode_payload({"messageType": "DATA_MESSAGE", "logGroup": "g", "logStream": "s"}), "logEvents"),
        (encode_payload({"messageType": "WHAT", "logEvents": []}), "unknown logs messageType"),
        (encode_payload({**payload(["x"]), "logEvents": [{"id": "1", "timestamp": 1}]}), "no message"),
    ],
    # gzip stamps the time into its header: ids from the data would differ between two collections
    ids=["not-base64", "not-gzip", "not-json", "not-an-object", "no-log-events", "unknown-type", "no-message"],
)
def test_malformed_payload_raises_a_clear_payload_error(data: str, says: str) -> None:
    with pytest.raises(PayloadError, match=says):
        decode_batch(data)


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    raw = json.dumps(payload(["caf\udce9"])).encode("utf-8", "surrogateescape")
    raw = raw.replace(b"\\udce9", b"\xe9")
    batch = decode_batch(base64.b64encode(gzip.compress(raw)).decode())
    assert batch.events[0].message == "caf\ufffd"


def test_one_line_per_event_is_reassembled_in_timestamp_then_id_order() -> None:
    # GIVEN the events of a split traceback, delivered out of order
    doc = payload(LINES)
    doc["logEvents"] = list(reversed(doc["logEvents"]))
    # WHEN
    [tb] = find_in_batch(decode_batch(encode_payload(doc)))
    # THEN
    assert tb.final.type == "ZeroDivisionError"
    assert tb.final.frames[0].source == "return 1 / 0"
    assert tb.origin == 3  # index of the header event in the delivered payload
    assert tb.log_stream == doc["logStream"]


def test_whole_traceback_in_one_event_does_not_swallow_the_next_event() -> None:
    doc = payload(["\n".join(LINES), "unrelated follow-up line"])
    [tb] = find_in_batch(decode_batch(encode_payload(doc)))
    assert tb.final.notes == ()


def test_header_alone_is_flagged_truncated() -> None:
    [tb] = find_in_batch(decode_batch(encode_payload(payload(LINES[:2]))))
    assert tb.truncated
