"""Properties of search/replace edits."""

from __future__ import annotations

import string

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.core.edits import EditError, apply_edit
from chalicelib.core.models import Edit

LINE = st.text(alphabet=string.ascii_letters + string.digits + " =()+-_:", min_size=1, max_size=30)
FILE = st.lists(LINE, min_size=1, max_size=30).map(lambda ls: "\n".join(ls) + "\n")


@given(FILE, st.data(), LINE)
def test_apply_then_reverse_restores_the_file(text: str, data, replacement: str) -> None:
    lines = text.splitlines(keepends=True)
    start = data.draw(st.integers(0, len(lines) - 1))
    end = data.draw(st.integers(start + 1, len(lines)))
    search = "".join(lines[start:end])
    assume(text.count(search) == 1)
    replace = replacement + "\n"
    assume(search.strip() and replace.strip())
    edited = apply_edit(text, Edit("f.py", search, replace))
    assume(edited.count(replace) == 1)
    assert apply_edit(edited, Edit("f.py", replace, search)) == text


@given(LINE, st.integers(2, 4))
def test_ambiguous_search_is_always_refused(line: str, copies: int) -> None:
    assume(line.strip())
    text = (line + "\n") * copies
    try:
        apply_edit(text, Edit("f.py", line, "other"))
    except EditError as exc:
        assert "occurs" in str(exc) or "matches" in str(exc)
    else:
        raise AssertionError("an ambiguous edit was applied")
