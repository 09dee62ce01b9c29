"""Properties of search/replace edits."""

from __future__ import annotations

import string

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.core.edits import EditError, apply_edit, apply_edits
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


@given(FILE, st.data(), LINE, st.lists(st.booleans(), min_size=30, max_size=30))
def test_line_endings_are_kept_and_the_diff_is_the_real_change(text: str, data, replacement: str, crlf) -> None:
    # GIVEN a file whose lines end in CRLF or LF, as drawn (all CRLF in the first example)
    lines = text.splitlines()
    raw = "".join(line + ("\r\n" if crlf[n] else "\n") for n, line in enumerate(lines))
    target = data.draw(st.integers(0, len(lines) - 1))
    assume(text.count(lines[target]) == 1 and lines[target].strip() and replacement.strip())
    assume(replacement != lines[target] and "\r" not in replacement)
    # WHEN one line is replaced
    result = apply_edits({"f.txt": raw}, [Edit("f.txt", lines[target], replacement)])
    after = result.files["f.txt"]
    # THEN the content is the edit's, the diff is one line out and one in, and a file with one
    # line ending style keeps it everywhere
    assert after.replace("\r\n", "\n") == text.replace(lines[target], replacement, 1)
    assert (result.lines_added, result.lines_removed) == (1, 1)
    assert len(after.split("\n")) == len(raw.split("\n"))
    if all(crlf[: len(lines)]):
        assert after == text.replace(lines[target], replacement, 1).replace("\n", "\r\n")
