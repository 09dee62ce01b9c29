"""Properties of core/overlap.py (the duplicate-PR decision: a wrong "no overlap" opens a second PR
for the same lines, a wrong "overlap" silences a real fix)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.overlap import changed_ranges, decode, describe, encode, overlaps

lines = st.lists(st.sampled_from(["a = 1", "b = 2", "return a", "if x:", "    pass", ""]), min_size=1, max_size=30)


@st.composite
def edited(draw, base: list[str]) -> tuple[list[str], int, int]:
    """``base`` with lines [i, j) replaced by 1-3 new lines; returns (new, i, j)."""
    i = draw(st.integers(0, len(base)))
    j = draw(st.integers(i, min(len(base), i + 3)))
    new = draw(st.lists(st.sampled_from(["c = 3", "raise X", "d = 4"]), min_size=1, max_size=3))
    return [*base[:i], *new, *base[j:]], i, j


def text(ls: list[str]) -> str:
    return "\n".join(ls) + "\n"


@given(lines)
def test_no_change_has_no_ranges(base) -> None:
    assert changed_ranges({"a.py": text(base)}, {"a.py": text(base)}) == {}


@given(lines, st.data())
def test_ranges_lie_in_the_base_and_a_change_overlaps_itself(base, data) -> None:
    new, _, _ = data.draw(edited(base))
    ranges = changed_ranges({"a.py": text(base)}, {"a.py": text(new)})
    if text(new) == text(base):
        return
    assert ranges and all(0.5 <= s <= e <= len(base) + 0.5 for s, e in ranges["a.py"])
    assert overlaps(ranges, ranges) == ["a.py"]
    assert decode(encode(ranges)) == ranges
    assert "a.py:" in describe(ranges)


@given(lines, st.data())
def test_overlap_is_symmetric(base, data) -> None:
    one, _, _ = data.draw(edited(base))
    two, _, _ = data.draw(edited(base))
    a = changed_ranges({"a.py": text(base)}, {"a.py": text(one)})
    b = changed_ranges({"a.py": text(base)}, {"a.py": text(two)})
    assert overlaps(a, b) == overlaps(b, a)


@given(
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=12, max_size=30).map(
        lambda ls: [f"{v}{n}" for n, v in enumerate(ls)]
    )
)
def test_changes_far_apart_do_not_overlap_and_other_files_never_do(base) -> None:
    top = [*base[:1], "new", *base[2:]]
    bottom = [*base[:-2], "new", *base[-1:]]
    a = changed_ranges({"a.py": text(base)}, {"a.py": text(top)})
    b = changed_ranges({"a.py": text(base)}, {"a.py": text(bottom)})
    assert overlaps(a, b) == []
    assert overlaps(a, {"b.py": a["a.py"]}) == []


@given(st.text(max_size=50))
def test_decode_never_raises(junk) -> None:
    assert isinstance(decode(junk), dict)


def test_decode_skips_damaged_entries() -> None:
    assert decode('{"a.py": [[1, "x"]], "b.py": [[2, 3]], "c": 4}') == {"b.py": [(2, 3)]}


def test_an_insertion_beside_a_changed_line_is_not_the_same_lines() -> None:
    base = "def f(code):\n    x = 1\n    return D[code]\n"
    guard = changed_ranges(
        {"a.py": base}, {"a.py": base.replace("    return", "    if not code:\n        return 0\n    return")}
    )
    other = changed_ranges({"a.py": base}, {"a.py": base.replace("D[code]", "D.get(code)")})
    inside = changed_ranges({"a.py": base}, {"a.py": base.replace("    x = 1\n    return D[code]\n", "    return 0\n")})
    assert guard == {"a.py": [(2.5, 2.5)]} and other == {"a.py": [(3, 3)]}
    assert overlaps(guard, other) == [] and overlaps(guard, inside) == ["a.py"]
    assert describe(guard) == "a.py:after 2" and describe(inside) == "a.py:2-3"
