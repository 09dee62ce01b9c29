"""Properties of the CODEOWNERS reader.

- it never raises, whatever the text (a repository's file is input we do not control);
- a catch-all ``* @x`` added at the end makes @x the only owner of every path;
- the owners of a path are those of the LAST line matching it: moving a line that does not match
  the path changes nothing, and of two matching lines the later one wins;
- the segment matcher agrees with an independent regular-expression translation of the same rules
  on small patterns and paths (the regex is fine there; the matcher exists for large ones).
"""

from __future__ import annotations

import itertools
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.core.codeowners import compile_pattern, parse

SEGMENTS = st.sampled_from(["a", "b", "ab", "*", "**", "a*", "*b", "?", "a?", "b\\*"])
NAMES = ["a", "b", "ab", "ba", "aa", "b*"]
COMPONENTS = st.sampled_from(NAMES)
OWNERS = st.sampled_from(["@alice", "@bob", "@acme/ops", "carol@example.com", "@Dave-1"])


@st.composite
def patterns(draw: st.DrawFn) -> str:
    body = "/".join(draw(st.lists(SEGMENTS, min_size=1, max_size=3)))
    return ("/" if draw(st.booleans()) else "") + body + ("/" if draw(st.booleans()) else "")


paths = st.lists(COMPONENTS, min_size=1, max_size=4).map("/".join)
lines = st.tuples(patterns(), st.lists(OWNERS, max_size=3))


def render(rules: list[tuple[str, list[str]]]) -> str:
    return "".join(f"{pattern} {' '.join(owners)}\n" for pattern, owners in rules)


@given(st.text())
def test_parsing_arbitrary_text_never_raises(text: str) -> None:
    parsed = parse(text)
    for rule in parsed.rules:
        rule.pattern.matches("a/b.py")


@given(st.lists(st.text(alphabet="ab*?/\\!#[] @.\t-", max_size=30), max_size=8), paths)
def test_parsing_codeowners_like_lines_never_raises(raw: list[str], path: str) -> None:
    parsed = parse("\n".join(raw))
    parsed.owners_for(path)
    assert len(parsed.rules) + len(parsed.errors) <= len(raw)


@given(st.lists(lines, max_size=6), paths)
def test_a_final_catch_all_owns_everything(rules: list[tuple[str, list[str]]], path: str) -> None:
    assert parse(render(rules) + "* @x\n").owners_for(path) == ("@x",)


@given(st.lists(lines, max_size=6), paths)
def test_the_owners_are_those_of_the_last_matching_line(rules: list[tuple[str, list[str]]], path: str) -> None:
    matching = [owners for pattern, owners in rules if compile_pattern(pattern).matches(path)]
    assert parse(render(rules)).owners_for(path) == (tuple(matching[-1]) if matching else ())


@given(st.lists(lines, min_size=2, max_size=6), paths, st.data())
def test_moving_a_line_that_does_not_match_changes_nothing(rules, path, data) -> None:
    misses = [i for i, (pattern, _) in enumerate(rules) if not compile_pattern(pattern).matches(path)]
    assume(misses)
    line = rules.pop(data.draw(st.sampled_from(misses)))
    before = parse(render(rules)).owners_for(path)
    rules.insert(data.draw(st.integers(0, len(rules))), line)
    assert parse(render(rules)).owners_for(path) == before


ALL_PATHS = ["/".join(p) for n in (1, 2, 3) for p in itertools.product(NAMES, repeat=n)]


@given(patterns(), patterns(), st.data())
def test_of_two_matching_lines_the_later_wins(first: str, second: str, data: st.DataObject) -> None:
    a, b = compile_pattern(first), compile_pattern(second)
    both = [p for p in ALL_PATHS if a.matches(p) and b.matches(p)]
    assume(both)
    path = data.draw(st.sampled_from(both))
    assert parse(f"{first} @one\n{second} @two\n").owners_for(path) == ("@two",)
    assert parse(f"{second} @two\n{first} @one\n").owners_for(path) == ("@one",)


def reference(pattern: str) -> re.Pattern[str]:
    """The same rules (module docstring of core/codeowners.py) as one regular expression."""
    directory = pattern.endswith("/")
    body = pattern.strip("/") if directory else pattern.lstrip("/")
    anchored = pattern.startswith("/") or "/" in body
    segs = body.split("/")
    if not anchored and segs[0] != "**":
        segs.insert(0, "**")

    def glob(seg: str) -> str:
        out, i = "", 0
        while i < len(seg):
            ch = seg[i]
            if ch == "\\":
                out += re.escape(seg[i + 1])
                i += 2
                continue
            out += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
            i += 1
        return out

    if directory or segs[-1] == "**":
        if segs[-1] == "**":
            segs.pop()
        suffix = "[^/]+(?:/.*)?"
    elif segs[-1] == "*":
        suffix = None
    else:
        suffix = "(?:/.*)?"
    regex = ""
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == "**":
            regex += "(?:[^/]+/)*"
        else:
            regex += glob(seg) + ("" if last and suffix != "[^/]+(?:/.*)?" else "/")
    if suffix == "[^/]+(?:/.*)?":
        regex += suffix
    elif suffix:
        regex += suffix
    return re.compile(regex)


@given(patterns(), paths)
def test_the_matcher_agrees_with_a_regex_translation(pattern: str, path: str) -> None:
    assert compile_pattern(pattern).matches(path) == bool(reference(pattern).fullmatch(path))
