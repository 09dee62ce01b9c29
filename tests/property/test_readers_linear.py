"""Every regex-driven reader of log text runs in linear time on hostile input (issue 13, A21).

Each reader gets arbitrary text and text built to make backtracking patterns blow up (repeated
markers, spaces, quotes, frame-like fragments, headers, box bars) at a size where a quadratic
pattern takes seconds (the audit's caret message: 16 KB → 3.6 s, 32 KB → 12 s) and a linear one
milliseconds. The budget is CPU time of the call alone, so a loaded machine does not make it flake.
"""

from __future__ import annotations

import json
import time

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from chalicelib.core.filter_pattern import FilterPatternError, parse_filter_pattern
from chalicelib.core.fingerprint import module_key, normalize_variables
from chalicelib.core.frames import is_in_app
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.logs_payload import LogEvent, find_in_events
from chalicelib.core.tracebacks import find_in_records, find_in_text, scan_lines, split_lines
from chalicelib.errors import PayloadError

SIZE = 12_000  # characters of hostile text per call
# CPU seconds per call: the linear readers need a few ms here; the quadratic patterns the audit
# found took 1-4 s at this size. No shrinking: a smaller input would only hide the blow-up.
BUDGET = 0.5

FRAGMENTS = [
    "^ ", "^", "~", "~^", " ", "    ", "\t", '"', "'", "\\", "-", "+", ".", ":", ": ", "@", "/", "0x", "1", "a", "f",
    "9a", "Z", "{", "}", "[", "]", "|", "| ", "+-+", "+---", "\n", "\r", "\r\n", "\u00a0",
    'File "x", line 1', 'File "', '", line ', "1, in ", ", in f ", "line 12",
    "Traceback (most recent call last):", "Exception Group ", "  + Exception Group Traceback (most recent call last):",
    "[ERROR] ", "ValueError", "Error: ", "a.b.", "'m': KeyError", "errorType", '"Cause": "',
    "[Previous line repeated 2 more times]",
    "...<2 lines>...", "During handling of the above exception, another exception occurred:",
    "2026-11-22 10:00:00,123 ERROR ", "app_1  | ", "> ", "AKIA", "user@", "10.0.0.", "-1.5e3",
]  # fmt: skip
CONTEXTS = [
    'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n    @@\nValueError: x\n',
    "@@",
    'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in @@\n',
    'Traceback (most recent call last):\n  File "/var/task/a.py", line 1, in f\n    g()\nValueError: @@\n',
    '  File "@@", line 1\n    x\n    ^\nSyntaxError: bad\n',
    '2026-11-22 10:00:00,123 ERROR @@Traceback (most recent call last):\n  File "/a.py", line 1, in f\nE: x\n',
    "  + Exception Group Traceback (most recent call last):\n  | @@\n  +-+---------------- 1 ----------------\n",
    "'@@': KeyError\nFile \"/var/task/a.py\", line 1, in f\n@@\nKeyError: 'x'\n",
    '[ERROR] KeyError: @@\rTraceback (most recent call last):\r  File "/a.py", line 1, in f\r',
]
UNIT = st.sampled_from(FRAGMENTS) | st.lists(
    st.sampled_from(FRAGMENTS) | st.text(max_size=3), min_size=1, max_size=5
).map("".join)


# What ends a run: a pattern that matched the whole run must fail here and backtrack.
SPOILERS = ["x", "", "!", '"', "'", ":", "@", "\x00", "é"]


@st.composite
def hostile(draw: st.DrawFn) -> str:
    unit = draw(UNIT.filter(bool))
    body = (unit * (SIZE // len(unit) + 1))[:SIZE] + draw(st.sampled_from(SPOILERS))
    return draw(st.sampled_from(CONTEXTS)).replace("@@", body)


def _events(text: str) -> list[LogEvent]:
    return [LogEvent(f"{k:056d}", 1000 + k, line, k) for k, line in enumerate(text.split("\n"))]


def _records(text: str) -> list:
    nested = json.dumps({"errorType": "E", "errorMessage": text, "stackTrace": [text]})
    return [
        ({"errorType": "E", "errorMessage": text, "stackTrace": [text, [text, 1, text, text]]}, 1),
        ({"level": "ERROR", "exception": text, "exception_name": "E"}, 2),
        ({"Error": "E", "Cause": nested}, 3),
        ({"message": text}, 4),
    ]


def _filter(text: str) -> object:
    try:
        return parse_filter_pattern(text).matches(text)
    except FilterPatternError:
        return None


def _file(text: str) -> object:
    try:
        return read_tracebacks(text.encode("utf-8", "surrogatepass"))
    except PayloadError:
        return None


READERS = {
    "find_in_text": find_in_text,
    "line_events": lambda t: find_in_events(_events(t)),
    "one_event": lambda t: find_in_events([LogEvent("1", 1, t, 0)]),
    "bare_header_scan": lambda t: scan_lines(split_lines(t, 0), "line_events", bare_headers=True),
    "records": lambda t: find_in_records(_records(t)),
    "log_file": _file,
    "normalize_variables": normalize_variables,
    "frame_paths": lambda t: (is_in_app.__wrapped__(t), module_key.__wrapped__(t)),
    "filter_pattern": _filter,
}


def _slowest(text: str) -> tuple[float, str]:
    """The slowest reader on ``text`` and its CPU time: the better of two runs, so a garbage
    collection or a lazy first compile under a loaded machine is not taken for a blow-up (a
    quadratic reader is slow on both)."""
    worst = (0.0, "")
    for name, reader in READERS.items():
        took = float("inf")
        for _ in range(2):
            start = time.process_time()
            reader(text)
            took = min(took, time.process_time() - start)
            if took < BUDGET / 2:
                break
        worst = max(worst, (took, name))
    return worst


NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
CARETS = CONTEXTS[0].replace("@@", "^ " * (SIZE // 2) + "x")  # the audit's A21


@settings(max_examples=25, phases=NO_SHRINK)
@given(hostile())
@example(CARETS)
@example(CONTEXTS[0].replace("@@", " " * SIZE + "x"))  # a source line of spaces
@example(CONTEXTS[2].replace("@@", "f" + " " * SIZE + "x"))  # a frame line padded with spaces
@example(CONTEXTS[5].replace("@@", "f" * SIZE + " "))  # a log prefix of hex letters
@example(CONTEXTS[3].replace("@@", "a." * (SIZE // 2) + "!"))  # an e-mail-like run in a message
def test_every_reader_is_linear_on_hostile_text(text: str) -> None:
    took, reader = _slowest(text)
    assert took < BUDGET, f"{reader} took {took:.2f}s CPU on {len(text)} chars"


@settings(max_examples=12, phases=NO_SHRINK)
@given(st.text(min_size=1, max_size=400))
def test_every_reader_is_linear_on_arbitrary_text(text: str) -> None:
    long = (text * (SIZE // len(text) + 1))[:SIZE]
    took, reader = _slowest(long)
    assert took < BUDGET, f"{reader} took {took:.2f}s CPU on {len(long)} chars"
