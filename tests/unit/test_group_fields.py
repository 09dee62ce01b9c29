"""The fields a new error group stores: redacted and bounded, whatever the log held (audit A20, B3)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core import group_fields as gf
from chalicelib.core.models import Frame, Observation, RaisedException, Traceback

MAX_ITEM = 400 * 1024


def observation(message: str, frames: list[Frame], notes: tuple[str, ...] = ()) -> Observation:
    text = "Traceback (most recent call last):\n" + "".join(
        f'  File "{f.file}", line {f.line}, in {f.function}\n    {f.source}\n' for f in frames
    )
    tb = Traceback(
        (RaisedException("ValueError", message, tuple(frames), notes),), text + f"ValueError: {message}", "text"
    )
    return Observation("0" * 32, tb, 1, 1, 1, "/aws/lambda/shop")


def stored_bytes(fields: gf.NewGroupFields) -> int:
    """Roughly what the item's attributes weigh (UTF-8 of names and values)."""
    frames = [
        {"file": f.file, "line": f.line or 0, "function": f.function or "", "source": f.source} for f in fields.frames
    ]
    doc = {
        "exception_type": fields.exception_type,
        "message": fields.message,
        "frames": frames,
        "sample": fields.sample,
        "raw_fingerprint": fields.raw_fingerprint,
    }
    return len(json.dumps(doc, ensure_ascii=False).encode())


def assert_bounded(fields: gf.NewGroupFields) -> None:
    assert len(fields.message.encode()) <= gf.MESSAGE_BYTES
    assert len(fields.sample.encode()) <= gf.SAMPLE_BYTES
    assert len(fields.exception_type.encode()) <= gf.TYPE_BYTES
    assert len(fields.frames) <= gf.HEAD_FRAMES + gf.TAIL_FRAMES
    for f in fields.frames:
        assert len(f.file.encode()) <= gf.FILE_BYTES
        assert len((f.function or "").encode()) <= gf.FUNCTION_BYTES
        assert len(f.source.encode()) <= gf.SOURCE_BYTES


def test_an_oversized_traceback_yields_fields_far_under_the_item_limit() -> None:
    # GIVEN the audit's A20 trace: a 250 KB message, 2,500 frames, and long multi-byte strings
    frames = [Frame(f"/var/task/shop/{'é' * 900}{i}.py", i + 1, "f" * 900 + str(i), "x" * 5000) for i in range(2_500)]
    obs = observation("rejected body: " + "A" * 250_000, frames, notes=("note " * 20_000,))
    # WHEN
    fields = gf.new_group_fields(obs)
    # THEN every field is bounded in bytes, the innermost frames are kept, and the item is small
    assert_bounded(fields)
    assert fields.frames[-1].line == 2_500 and fields.frames[0].line == 1
    assert fields.message.endswith(gf.CLIPPED)
    assert stored_bytes(fields) < 120 * 1024 < MAX_ITEM


@given(
    message=st.text(max_size=3_000),
    parts=st.lists(st.tuples(st.text(max_size=700), st.text(max_size=400), st.text(max_size=700)), max_size=80),
)
def test_fields_are_bounded_for_any_text(message: str, parts: list[tuple[str, str, str]]) -> None:
    frames = [Frame(file, n, function, source) for n, (file, function, source) in enumerate(parts)]
    assert_bounded(gf.new_group_fields(observation(message * 3, frames)))


def test_frame_paths_and_function_names_are_redacted() -> None:
    frames = [Frame("/Users/jane.doe@example.com/venv/app.py", 3, "login_jane.doe@example.com", "token = 'x'")]
    fields = gf.new_group_fields(observation("boom", frames))
    [frame] = fields.frames
    assert "jane.doe@example.com" not in frame.file + (frame.function or "")
    assert "<redacted" in frame.file


def test_clip_never_splits_a_character_and_says_it_cut() -> None:
    clipped = gf.clip("é" * 100, 51)
    assert len(clipped.encode()) <= 51 and clipped.endswith(gf.CLIPPED)
    clipped.encode("utf-8", "strict")
    assert gf.clip("short", 51) == "short"


def test_a_stored_reason_is_redacted_and_bounded() -> None:
    reason = gf.bounded_reason("the model proposed no edit: ghp_" + "R" * 36 + " " + "y" * 10_000)
    assert "ghp_" + "R" * 36 not in reason and len(reason.encode()) <= gf.REASON_BYTES


def test_a_delivery_token_is_the_same_on_a_retry_and_differs_between_deliveries() -> None:
    one = gf.batch_token("/aws/lambda/shop", "s", ["1", "2"], 1_795_000_000_000)
    assert one == gf.batch_token("/aws/lambda/shop", "s", ["1", "2"], 1_795_000_000_000)
    assert one != gf.batch_token("/aws/lambda/shop", "s", ["1", "3"], 1_795_000_000_000)
    assert gf.token_time(one) == 1_795_000_000_000  # the time prefix the store trims by
    assert len(one) == 17  # a group item keeps 32 of them, and every occurrence rewrites it
    assert gf.token_time(f"{1_795_000_000_000:x}.0123456789ab") == 1_795_000_000_000  # tokens stored before
