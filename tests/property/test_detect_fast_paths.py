"""The detection fast paths give exactly what the plain paths gave, on generated and real input.

- ``fingerprint(tb)`` hashes the contributing components only: it equals
  ``grouping(tb).fingerprint`` (which still builds every component) for any traceback and service;
- ``observe`` pairs a delivery's records once: it equals the aggregation that paired them twice;
- the event windowing of ``logs_payload`` (the marker search, the window's lines, the window
  growth that skips a one-line window) equals the code before it, kept in
  tests/property/detect_reference.py, on generated event streams and on every sample log split
  into events one line each and in random chunks;
- the ``"|"`` search stays bounded on a payload full of bars.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.core.fingerprint import collapse_recursion, fingerprint, grouping, observe
from chalicelib.core.logs_payload import _candidates, _find
from chalicelib.core.models import Frame, Location, RaisedException, Traceback
from chalicelib.core.tracebacks import from_record, split_lines
from tests.property import detect_reference as reference

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_LOGS = sorted(
    [p for p in (ROOT / "tests" / "samples").rglob("*") if p.is_file() and p.suffix != ".py"]
    + sorted((ROOT / "scripts" / "sample_app" / "logs").glob("*"))
)

# --- fingerprint ----------------------------------------------------------------------------------

FILES = st.sampled_from(
    [
        "/var/task/app.py",
        "/var/task/shop/__init__.py",
        "/srv/app/orders.py",
        "/var/lang/lib/python3.12/json/decoder.py",
        "/opt/python/lib/python3.12/site-packages/botocore/client.py",
        "<frozen importlib._bootstrap>",
        "<string>",
    ]
)
SOURCE = st.sampled_from(["", "return x()", "total += line['qty']", "raise ValueError(f'bad {n}')", "  x  =  1  "])
MESSAGE = st.sampled_from(["", "bad value 42", "'WINTER'", "user a@b.example at 10.0.0.1", "token=abcd1234 failed"])
TYPES = st.sampled_from(
    ["ValueError", "KeyError", "re.PatternError", "socket.timeout", "ExceptionGroup", "SyntaxError"]
)
FRAME = st.builds(Frame, FILES, st.integers(1, 300), st.sampled_from(["f", "g", "handler", None]), SOURCE)


def exceptions(depth: int = 0) -> st.SearchStrategy[RaisedException]:
    children = st.lists(exceptions(depth + 1), max_size=2).map(tuple) if depth < 2 else st.just(())
    return st.builds(
        RaisedException,
        TYPES,
        MESSAGE,
        st.lists(FRAME, max_size=5).map(tuple),
        syntax_error=st.none() | st.builds(Location, FILES, st.integers(1, 9), SOURCE),
        children=children,
    )


TRACEBACKS = st.builds(
    lambda chain: Traceback(tuple(chain), "text", "plain"), st.lists(exceptions(), min_size=1, max_size=3)
)


@given(TRACEBACKS, st.sampled_from(["default", "", "orders", "billing"]))
def test_fingerprint_equals_the_full_groupings_hash(tb: Traceback, service: str) -> None:
    # GIVEN any traceback (frames in-app and library, groups, SyntaxError locations, messages)
    # WHEN hashed alone and through the full grouping
    # THEN both give the same fingerprint, for every service
    assert fingerprint(tb, service) == grouping(tb, service).fingerprint


# --- the event windowing --------------------------------------------------------------------------

LINES = [
    "Traceback (most recent call last):",
    "2026-11-22 10:00:00,001 ERROR order failed Traceback (most recent call last):",
    '  File "/var/task/app.py", line 12, in handler',
    'File "/var/task/app.py", line 3, in <module>',
    '    File "/srv/app/orders.py", line 40, in total',
    '\tFile "/app/x.py", line 7, in run',
    '  File "<string>", line 1',
    "    return orders.handle(event)",
    "           ^^^^^^^^^^^^^^^^^^^^",
    "    ~~~^~~~",
    "    ...<3 lines>...",
    "  [Previous line repeated 5 more times]",
    "ValueError: bad value",
    "KeyError: 'WINTER'",
    "SyntaxError: invalid syntax",
    "Error",
    "a note about it",
    "",
    "   ",
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
    "[ERROR] ValueError: bad value",
    "[ERROR]\t2026-11-22T10:00:00.000Z\t0f0e0d0c-0b0a-0908-0706-050403020100\tfailed",
    "2026-11-22T10:00:00Z stream [ERROR] KeyError: 'x'",
    "'bad value': ValueError",
    "  + Exception Group Traceback (most recent call last):",
    "  | ExceptionGroup: two (2 sub-exceptions)",
    "  +-+---------------- 1 ----------------",
    "    | ValueError: one",
    "    +------------------------------------",
    "| ValueError: flat",
    "+-+---------------- 2 ----------------",
    "START RequestId: 0f0e0d0c Version: $LATEST",
    "INFO order accepted | total 3",
    "a|b||c|",
    '{"errorType": "ValueError", "errorMessage": "x", "stackTrace": ["  File \\"/var/task/a.py\\", line 1, in f\\n'
    '    g()\\n"], "requestId": "r1"}',
    '{"level": "ERROR", "message": "x", "exception": "Traceback (most recent call last):\\n  File \\"/a.py\\", '
    'line 1, in f\\n    g()\\nValueError: x", "function_request_id": "r2"}',
    '{"log": "Traceback (most recent call last):", "container_name": "web", "source": "stderr"}',
    '{"log": "  File \\"/app/a.py\\", line 3, in f", "container_name": "web", "source": "stderr"}',
    '{"log": "ValueError: shipped", "container_name": "web", "source": "stderr"}',
    '{"level": "INFO", "message": "no error here"}',
]
BREAKS = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[str], list[int], list[str]]:
    """(ids, timestamps, messages): lines of the vocabulary grouped into events of 1-4 lines,
    no-break-space indentation here and there, timestamps with ties and out of order."""
    messages = []
    for _ in range(draw(st.integers(1, 40))):
        parts = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=4))
        text = draw(BREAKS).join(parts)
        if draw(st.booleans()) and text.startswith("  "):
            text = "\u00a0\u00a0" + text[2:]
        messages.append(text)
    stamps = draw(st.lists(st.integers(0, 5), min_size=len(messages), max_size=len(messages)))
    if draw(st.booleans()):
        stamps.sort()
    ids = [str(draw(st.integers(0, 10**6))) for _ in messages]
    return ids, [1_795_000_000_000 + s for s in stamps], messages


# Events where the one-event window and the eight-event window read differently: the window
# growth must stay exactly the plain one's (a found, not-cut first window ends the reading).
WINDOW_CASES = [
    ["Traceback (most recent call last):\n[ERROR] ValueError: bad value", "Traceback (most recent call last):"],
    [
        "Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\nKeyError: 'x'\n"
        '  File "/b.py", line 2, in g',
        "ValueError: bad value",
    ],
]


@example((["1", "2"], [1_795_000_000_000, 1_795_000_000_001], WINDOW_CASES[0]), "")
@example((["1", "2"], [1_795_000_000_000, 1_795_000_000_001], WINDOW_CASES[1]), "")
@given(streams(), st.sampled_from(["", "stream-1"]))
def test_the_windowing_finds_what_the_plain_windowing_found(stream: tuple, log_stream: str) -> None:
    # GIVEN events of traceback lines, boxes, Lambda and shipper records, split and glued anyhow
    ids, stamps, messages = stream
    # WHEN read by the fast windowing and by the code before it
    # THEN the tracebacks are the same, field for field, in the same order
    found = _find(ids, stamps, messages, log_stream)
    assert found == reference.find(ids, stamps, messages, log_stream)
    # AND they aggregate into the same observations (counts, samples, failure tokens)
    assert observe(found, "/g", 7, "orders") == reference.observe(found, "/g", 7, "orders")


@given(st.lists(st.text(alphabet='|| a\nTFile"ce[ERROR]', max_size=30), max_size=30))
def test_the_marker_search_finds_the_events_the_plain_search_found(messages: list[str]) -> None:
    # GIVEN events rich in bars, spaces and marker pieces (a marker may span two events)
    # THEN the candidate events are the same as the plain search's
    assert _candidates(messages) == reference.candidates(messages)


def test_a_box_line_after_many_bars_is_still_a_candidate() -> None:
    # GIVEN more bars without a space than the "|" search follows one by one, then a box line
    messages = ["a|b" * 50, "||||" * 40, "x", "  | ValueError: one", "c|d"]
    # THEN the plain "| " search takes over and still finds it
    assert _candidates(messages) == reference.candidates(messages) == [3]


def test_the_bar_search_is_bounded_on_a_payload_of_bars() -> None:
    # GIVEN 8 MB of "|" without a space (the largest payload a delivery inflates to)
    messages = ["|" * 8_000_000]
    # WHEN searched: the bars are followed one by one only up to a bound, then found by str.find
    started = time.process_time()
    found = _candidates(messages)
    spent = time.process_time() - started
    # THEN nothing is found, in a bounded CPU time (one Python step per bar took ~2 s)
    assert found == []
    assert spent < 0.5


def _events(lines: list[str], rng: random.Random) -> list[str]:
    out, i = [], 0
    while i < len(lines):
        n = rng.choice([1, 1, 1, 2, 3, 8, 20])
        out.append("\n".join(lines[i : i + n]))
        i += n
    return out


def test_every_sample_log_gives_what_the_plain_windowing_gave() -> None:
    # GIVEN every sample log of the repository (real runtimes' output, messy pastes, Lambda and
    # Powertools records), delivered one line per event and in random chunks
    compared = 0
    for path in SAMPLE_LOGS:
        lines = path.read_text(errors="replace").split("\n")[:4000]
        rng = random.Random(path.name)
        for messages in (lines, _events(lines, rng)):
            stamps = [1_795_000_000_000 + k // rng.choice([1, 2]) for k in range(len(messages))]
            ids = [str(k) for k in range(len(messages))]
            # THEN the fast windowing finds the same tracebacks, and each one's fingerprint is
            # the full grouping's
            found = _find(ids, stamps, messages, "s")
            assert found == reference.find(ids, stamps, messages, "s"), path
            assert [fingerprint(tb) for tb in found] == [grouping(tb).fingerprint for tb in found]
            assert observe(found, "/g", 0) == reference.observe(found, "/g", 0)
            compared += len(found)
    assert compared > 500


def _collapse_before(keys: list[str], max_period: int = 8) -> list[str]:
    """``collapse_recursion`` as it was: every period tried with slices."""
    out: list[str] = []
    for key in keys:
        out.append(key)
        for period in range(1, max_period + 1):
            if len(out) >= 2 * period and out[-period:] == out[-2 * period : -period]:
                del out[-period:]
                break
    return out


@given(st.lists(st.sampled_from("abcd"), max_size=60), st.integers(1, 9))
def test_recursion_collapses_as_before(keys: list[str], max_period: int) -> None:
    # GIVEN frame keys full of direct and mutual recursion
    # THEN the pre-tested collapse drops exactly what the plain one dropped
    assert collapse_recursion(keys, max_period) == _collapse_before(keys, max_period)


@given(st.text(alphabet="ab \r\n\u00a0\t\v\x1c\u2028", max_size=40))
def test_lines_split_where_the_line_break_pattern_split(text: str) -> None:
    # GIVEN text with every kind of line break, no-break spaces and separators str.splitlines knows
    # THEN split_lines breaks at \r\n, \r and \n only, as the pattern r"\r\n|\r|\n" did
    expected = re.split(r"\r\n|\r|\n", text.replace("\u00a0", " ").rstrip("\r\n"))
    assert [line.text for line in split_lines(text, 0)] == expected


POWERTOOLS_TEXT = (
    "[INFO]\t2026-11-22T10:00:00.000Z\t0f0e0d0c-0b0a-0908-0706-050403020100\tfailed\n"
    'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n    g()\nValueError: x'
)


def test_a_powertools_record_names_its_request_else_the_text_does() -> None:
    # GIVEN a Powertools record whose exception text follows a Lambda runtime log line
    # WHEN the record names no request, THEN the runtime line's request id is kept
    (tb,) = from_record({"level": "ERROR", "exception": POWERTOOLS_TEXT}, 3)
    assert (tb.form, tb.origin, tb.request_id) == ("powertools_json", 3, "0f0e0d0c-0b0a-0908-0706-050403020100")
    # WHEN it names one, THEN the record's request id wins
    (tb,) = from_record({"level": "ERROR", "exception": POWERTOOLS_TEXT, "function_request_id": "r9"}, 3)
    assert (tb.form, tb.origin, tb.request_id) == ("powertools_json", 3, "r9")
