"""A window scan that goes on from the scan of its shorter self finds what a scan from its start
finds (``tracebacks.scan_window``: a traceback that ended at the short window's end is not parsed
again when the window grows, unless more lines could have changed it), and a delivery read with
it finds what the plain windowing found (same tracebacks, same fingerprints)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.core.fingerprint import fingerprint
from chalicelib.core.logs_payload import _find
from chalicelib.core.tracebacks import LogLine, scan_lines, scan_window, split_lines
from tests.property import detect_reference as reference
from tests.property.test_detect_fast_paths import BREAKS, LINES

# Events that end where a longer window could still change the traceback: a chain separator, a
# frame, a note of a traceback spread over several events, a header alone, a box.
GROWTH_CASES = [
    [
        'Traceback (most recent call last):\n  File "/a.py", line 1, in f\n    g()\nValueError: x',
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/b.py", line 2, in h',
        "KeyError: 'y'",
    ],
    [
        'Traceback (most recent call last):\n  File "/a.py", line 1, in f\nValueError: x',
        '  File "/b.py", line 2, in h',
        "a note about it",
    ],
    ["Traceback (most recent call last):", '  File "/a.py", line 1, in f', "ValueError: x", "a note about it"],
    [
        '[ERROR] ValueError: bad value\rTraceback (most recent call last):\r  File "/a.py", line 1, in f',
        '  File "/b.py", line 2, in g',
        "    g()",
    ],
    [
        "  + Exception Group Traceback (most recent call last):\n  | ExceptionGroup: two (2 sub-exceptions)",
        "  +-+---------------- 1 ----------------",
        "    | ValueError: one",
        "    +------------------------------------",
    ],
]


def _window(events: list[str]) -> tuple[list[LogLine], list[int]]:
    """The lines of the events (each its own origin), and the line count after each event."""
    lines: list[LogLine] = []
    bounds = []
    for origin, message in enumerate(events):
        lines += split_lines(message, origin, 1_795_000_000_000 + origin)
        bounds.append(len(lines))
    return lines, bounds


FRAMES = st.sampled_from(
    [
        ['  File "/var/task/app.py", line 12, in handler', "    return orders.handle(event)"],
        ['  File "/srv/app/orders.py", line 40, in total', "    total += line['qty']", "             ~~~~^^^^^^^"],
        ['File "/app/x.py", line 7, in run', "x = 1"],
        ['  File "<string>", line 1'],
        ['  File "/a.py", line 3, in f', "  [Previous line repeated 5 more times]"],
    ]
)
ENDINGS = st.sampled_from(
    [["ValueError: bad value"], ["KeyError: 'WINTER'", "a note about it"], ["Error"], [], ["ValueError: x", ""]]
)
PREFIXES = st.sampled_from(["", "2026-11-22 10:00:00,001 ERROR order failed ", "[ERROR] ValueError: bad value\n"])


@st.composite
def whole_tracebacks(draw: st.DrawFn) -> str:
    """One event holding a whole traceback (the case a sealed scan is for), or most of one."""
    lines = [draw(PREFIXES) + "Traceback (most recent call last):"]
    for frame in draw(st.lists(FRAMES, min_size=0, max_size=3)):
        lines += frame
    lines += draw(ENDINGS)
    return draw(BREAKS).join(lines)


@st.composite
def events(draw: st.DrawFn) -> list[str]:
    out = []
    for _ in range(draw(st.integers(1, 24))):
        if draw(st.booleans()):
            out.append(draw(whole_tracebacks()))
            continue
        parts = draw(st.lists(st.sampled_from(LINES), min_size=1, max_size=5))
        out.append(draw(BREAKS).join(parts))
    return out


@example(GROWTH_CASES[0], [1, 3])
@example(GROWTH_CASES[1], [1, 2])
@example(GROWTH_CASES[2], [1, 3])
@example(GROWTH_CASES[3], [1, 2])
@example(GROWTH_CASES[4], [1, 3])
@given(events(), st.lists(st.integers(1, 24), min_size=1, max_size=3))
def test_a_grown_window_finds_what_a_whole_scan_finds(messages: list[str], cuts: list[int]) -> None:
    # GIVEN events of traceback lines and whole tracebacks, read as a window that grows at event
    # boundaries
    lines, bounds = _window(messages)
    # (from one event, as the windows of a delivery grow)
    sizes = sorted({bounds[0], len(lines)} | {bounds[min(c, len(bounds)) - 1] for c in cuts})
    # WHEN each window's scan goes on from the scan of the window before it
    scan = None
    for size in sizes:
        scan = scan_window(lines[:size], "line_events", bare_headers=True, prior=scan)
        # THEN every window finds what a scan from its start finds: the same tracebacks, field
        # for field, and the same line after each
        assert scan.found == scan_lines(lines[:size], "line_events", bare_headers=True)
    # AND the last window is the whole
    assert scan is not None and scan.end == len(lines)


@given(events(), st.sampled_from(["", "stream-1"]))
def test_a_delivery_finds_what_the_plain_windowing_finds(messages: list[str], log_stream: str) -> None:
    # GIVEN a delivery of such events, whole-event tracebacks among them
    ids = [str(n) for n in range(len(messages))]
    stamps = [1_795_000_000_000 + n for n in range(len(messages))]
    # WHEN read by the windowing, whose windows go on from sealed scans, and by the windowing
    # that scanned every window from its start (tests/property/detect_reference.py)
    found = _find(ids, stamps, messages, log_stream)
    plain = reference.find(ids, stamps, messages, log_stream)
    # THEN the tracebacks are the same, field for field, and so are their fingerprints
    assert found == plain
    assert [fingerprint(tb) for tb in found] == [fingerprint(tb) for tb in plain]
