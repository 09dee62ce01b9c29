"""The audit's probes of detection (adversarial-2026-11-23.md, section A): hostile input ends in
bounded time and memory with a clear result."""

from __future__ import annotations

import base64
import gzip
import time
import zlib

import pytest

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.log_files import MAX_ENCODING_LAYERS, read_tracebacks
from chalicelib.core.logs_payload import MAX_PAYLOAD_BYTES, decode_batch, decode_data, encode_data, inflate
from chalicelib.core.tracebacks import MAX_GROUP_DEPTH, find_in_text, render
from chalicelib.errors import PayloadError
from tests.factories import payload

BUDGET = 1.0  # CPU seconds; the audit measured 12-58 s for these inputs before the fix


def _cpu(fn, *args):
    start = time.process_time()
    result = fn(*args)
    return result, time.process_time() - start


def _caret_message(n: int) -> str:
    """A21: an attacker-controlled exception message that looks like a frame + caret line."""
    evil = '\n  File "x", line 1\n    ' + "^ " * n + "x"
    return (
        "Traceback (most recent call last):\n"
        '  File "/var/task/shop/orders.py", line 12, in parse_order\n'
        '    raise ValueError(f"invalid sku {sku}")\n'
        f"ValueError: invalid sku {evil}\n"
    )


def test_caret_marker_message_is_read_in_linear_time() -> None:
    # GIVEN the audit's A21 message at 64 KB (57.7 s through the handler before the fix)
    text = _caret_message(32_000)
    # WHEN
    found, took = _cpu(find_in_text, text)
    # THEN
    assert took < BUDGET
    assert found[0].final.type == "ValueError"


@pytest.mark.parametrize(
    "line",
    [
        '  File "/var/task/a.py", line 1, in f' + " " * 32_000 + "x",  # frame line padded with spaces
        " " * 32_000 + "x",  # a source line of spaces
        "    " + "~^" * 16_000 + "!",  # tilde/caret run that is not a marker line
        '  File "' + "a" * 32_000,  # unterminated file name
    ],
    ids=["padded-frame", "space-source", "marker-run", "open-quote"],
)
def test_frame_and_source_lines_are_read_in_linear_time(line: str) -> None:
    text = f'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n{line}\nValueError: x\n'
    _, took = _cpu(find_in_text, text)
    assert took < BUDGET


def test_log_prefix_of_hex_letters_is_linear() -> None:
    # A prefix of hex letters with no digit made the prefix tokenizer quadratic (25 s at 32 KB).
    text = "f" * 200 + " Traceback (most recent call last):\n" + "f" * 32_000 + "\nE: x\n"
    _, took = _cpu(find_in_text, text)
    assert took < BUDGET


def test_long_line_of_repeated_headers_is_not_compiled_as_a_prefix() -> None:
    # GIVEN A5 scaled down: 2 MB of headers on one line (50 MB took 2 min and 8.3 GB before)
    text = "Traceback (most recent call last): " * 60_000
    # WHEN
    found, took = _cpu(find_in_text, text)
    # THEN a mention, read in linear time
    assert found == []
    assert took < BUDGET


def _deep_groups(depth: int) -> str:
    """A10: boxed exception groups nested ``depth`` deep (the audit's r_small.py deep)."""
    lines = ["  + Exception Group Traceback (most recent call last):"]
    for i in range(depth):
        lines += [
            "  " * i + f"  | ExceptionGroup: level {i} (1 sub-exception)",
            "  " * i + "  +-+---------------- 1 ----------------",
        ]
    lines += ["  " * depth + "  | ValueError: leaf", "  " * depth + "  +------------------------------------"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("depth", [500, 1200])
def test_deep_exception_groups_end_truncated_without_recursion_error(depth: int) -> None:
    # WHEN
    [tb], took = _cpu(find_in_text, _deep_groups(depth))
    # THEN the first levels are kept, the traceback says why the rest is not
    assert tb.final.type == "ExceptionGroup"
    assert tb.truncated and "nested deeper than" in tb.truncated_reason
    levels, exc = 0, tb.final
    while exc.children:
        levels, exc = levels + 1, exc.children[0]
    assert levels == MAX_GROUP_DEPTH
    assert len(fingerprint(tb)) == 32 and render(tb)  # what runs downstream works on the result
    assert took < 2 * BUDGET


def test_groups_within_the_depth_limit_are_complete() -> None:
    [tb] = find_in_text(_deep_groups(50))
    assert not tb.truncated
    exc = tb.final
    while exc.children:
        exc = exc.children[0]
    assert (exc.type, exc.message) == ("ValueError", "leaf")


def _zeros_gzip(size: int, members: int = 1) -> bytes:
    return gzip.compress(b"\0" * size) * members


def test_gzip_bomb_payload_is_refused_with_bounded_memory() -> None:
    # GIVEN A15: awslogs.data that inflates past the payload limit
    data = base64.b64encode(_zeros_gzip(MAX_PAYLOAD_BYTES + 1))
    # THEN refused, with a clear error, after inflating at most the limit plus one step
    with pytest.raises(PayloadError, match="inflates past"):
        decode_batch(data)


def test_gzip_bomb_file_is_refused() -> None:
    # GIVEN A14: a .gz log file of several members that together inflate past the file limit
    data = _zeros_gzip(16 << 20, members=5)
    with pytest.raises(PayloadError, match="too large"):
        read_tracebacks(data)


def test_inflate_stops_at_its_limit_whatever_the_ratio() -> None:
    with pytest.raises(PayloadError, match="inflates past 1,000 bytes"):
        inflate(_zeros_gzip(1 << 20), 1000)
    assert inflate(gzip.compress(b"abc") + gzip.compress(b"def"), 10, members=True) == b"abcdef"


def test_truncated_gzip_payload_says_so() -> None:
    good = gzip.compress(b'{"messageType": "DATA_MESSAGE"}' * 50)
    with pytest.raises(PayloadError, match="truncated"):
        decode_data(base64.b64encode(good[: len(good) // 2]))


@pytest.mark.parametrize(
    "content",
    [
        base64.b64encode(gzip.compress(b'{"messageType": "DATA_MESSAGE"}')[:20]),  # truncated gzip
        base64.b64encode(b"hello this is not gzip at all, just text"),  # base64, not gzip
    ],
    ids=["truncated", "not-gzip"],
)
def test_base64_file_that_is_not_a_gzip_payload_is_an_error(content: bytes) -> None:
    # A12: read silently as text before (0 tracebacks, exit 0)
    with pytest.raises(PayloadError):
        read_tracebacks(content)


def test_text_that_only_looks_like_base64_is_still_text() -> None:
    assert read_tracebacks(b"deadbeef") == []  # a word, not padded base64 of a payload
    assert read_tracebacks(b"hello world this is a log line\n") == []


def test_nested_encodings_are_bounded() -> None:
    data = gzip.compress(b"x")
    for _ in range(MAX_ENCODING_LAYERS + 1):
        data = gzip.compress(base64.b64encode(data))
    with pytest.raises(PayloadError, match="layers"):
        read_tracebacks(data)


def test_encode_data_is_the_inverse_of_decode_data() -> None:
    doc = payload(["Traceback (most recent call last):", "ValueError: x"])
    assert decode_batch(encode_data(doc)).messages == tuple(e["message"] for e in doc["logEvents"])
    assert zlib.decompress(base64.b64decode(encode_data(b"raw")), 31) == b"raw"


NEAR_MISSES = {
    "bare headers": "Traceback (most recent call last):",
    "prefixed headers": "2026-11-22 10:00:00,123 ERROR [req-{n}] Traceback (most recent call last):",
    "frames": '  File "/var/task/x{n}.py", line {n}, in f',
    "locations": '  File "/var/task/x{n}.py", line {n}',
    "exception lines": "ValueError: bad {n}",
    "box pairs": "  | ValueError: {n}\n  +-+---- 1 ----",
    "lambda lines": "[ERROR] KeyError: '{n}'",
    "legacy lines": "'{n}': KeyError",
}


@pytest.mark.parametrize("kind", list(NEAR_MISSES))
def test_near_miss_lines_are_linear(kind: str) -> None:
    # A22 (20,000 lines here; the audit's 100,000 took up to 5.6 s): stays linear after the change
    text = "\n".join(NEAR_MISSES[kind].format(n=n) for n in range(20_000))
    _, took = _cpu(find_in_text, text)
    assert took < 3 * BUDGET


def test_header_with_many_frames_and_no_exception_line_is_linear() -> None:
    frames = "".join(f'  File "/var/task/m{n}.py", line {n}, in f{n}\n    call_{n}()\n' for n in range(20_000))
    [tb], took = _cpu(find_in_text, "Traceback (most recent call last):\n" + frames)
    assert tb.truncated and tb.truncated_reason and len(tb.final.frames) == 20_000
    assert took < 3 * BUDGET


def test_json_nested_past_the_stack_is_text_not_a_recursion_crash() -> None:
    # Found by the linear-readers property: json.loads raises RecursionError, not JSONDecodeError,
    # on "[[[[…" nested deeper than the interpreter's stack; a log line may hold exactly that.
    from chalicelib.core.log_files import read_tracebacks
    from chalicelib.core.tracebacks import find_in_text

    deep = "[" * 50_000
    assert find_in_text(deep) == []
    assert read_tracebacks(deep.encode()) == []
