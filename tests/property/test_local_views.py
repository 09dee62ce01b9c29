"""Properties of the local run's event times and of the status views' text cutting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

NOW = 1_796_000_000_000
DAY = 86_400_000

words = st.lists(st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12), max_size=30)


@given(words, st.integers(min_value=2, max_value=80))
def test_a_reason_is_cut_at_a_word_with_an_ellipsis(parts: list[str], width: int) -> None:
    from status_view import clip_words

    text = " ".join(parts)
    clipped = clip_words(text, width)
    assert len(clipped) <= width
    if len(text) <= width:
        assert clipped == text
        return
    assert clipped.endswith("…")
    kept = clipped[:-1].split()
    # every word kept is whole, except a single word longer than the width (cut, nothing else fits)
    if len(kept) > 1 or (kept and kept[0] in parts):
        assert all(word in parts for word in kept)
        assert text.startswith(" ".join(kept))


times = st.lists(st.one_of(st.none(), st.integers(min_value=NOW - 40 * DAY, max_value=NOW + DAY)), max_size=60)


@given(times)
def test_event_times_increase_and_are_accepted_by_cloudwatch(given_times: list[int | None]) -> None:
    from local_stack import OLDEST_ACCEPTED_MS, event_times

    stamps, shift = event_times(len(given_times), given_times, NOW)
    assert len(stamps) == len(given_times)
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    if stamps:
        assert stamps[-1] <= NOW
        recent = [t for t in given_times if t is not None]
        if shift == 0 or not recent:
            assert stamps[0] >= NOW - OLDEST_ACCEPTED_MS - len(stamps)


@given(st.lists(st.integers(min_value=NOW - 10 * DAY, max_value=NOW - DAY), min_size=1, max_size=40))
def test_recent_ordered_log_times_are_kept_as_they_are(raw: list[int]) -> None:
    from local_stack import event_times

    ordered = sorted(set(raw))
    stamps, shift = event_times(len(ordered), ordered, NOW)
    assert (stamps, shift) == (ordered, 0)


def test_log_times_read_the_forms_services_print_and_carry_them_over_frames() -> None:
    from local_mode import log_times

    lines = [
        "Traceback before any time",
        "2026-12-01 10:00:00,125 ERROR shop request failed",  # logging.basicConfig
        '  File "/var/task/shop/pricing.py", line 10, in discount_percent',
        "[ERROR]\t2026-12-01T10:00:05.250Z\t8f5a0c1e-1111-2222\tKeyError: 'x'",  # the Lambda runtime
        '{"level":"ERROR","timestamp":"2026-12-01 11:00:00,000+0100","message":"boom"}',  # Powertools
    ]
    base = 1_796_119_200_000  # 2026-12-01 10:00:00 UTC
    assert log_times(lines) == [None, base + 125, base + 125, base + 5_250, base]


def test_since_reads_durations_and_dates() -> None:
    import pytest
    from status_view import since_ms

    assert since_ms("2d", NOW) == NOW - 2 * DAY
    assert since_ms("30m", NOW) == NOW - 30 * 60_000
    assert since_ms("2026-12-01", NOW) == 1_796_119_200_000 - 10 * 3_600_000
    with pytest.raises(ValueError, match="30m, 6h, 2d, 1w"):
        since_ms("yesterday", NOW)
