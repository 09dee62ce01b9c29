"""The ranked search (BM25 over identifiers): the query from a trace, the words, the ranking."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.models import Frame, RaisedException
from chalicelib.core.retrieve import Query, SearchLimits, build_query, search, words


def test_identifiers_split_into_their_words() -> None:
    assert words("visit_tryStar") == ["visit_trystar", "visit", "try", "star"]
    assert words("AsStringVisitor") == ["asstringvisitor", "as", "string", "visitor"]
    assert words("_private") == ["private"]


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True))
def test_words_are_lower_case_and_the_whole_identifier_comes_first(identifier: str) -> None:
    found = words(identifier)
    assert all(w == w.lower() and w for w in found)
    if identifier.strip("_"):
        assert found[0] == identifier.lower().strip("_")


def test_the_query_holds_quoted_names_custom_types_and_the_frames_words() -> None:
    # GIVEN a custom exception quoting a name, raised in a library frame
    exc = RaisedException(
        "app.errors.UnknownBackend",
        "No event loop integration for 'qt6'; valid: 'tk', 'gtk3'",
        (Frame("/opt/lib/loops.py", 9, "enable_gui_loop", "raise UnknownBackend(gui)"),),
    )
    # WHEN
    query = build_query((exc,))
    # THEN the type and the quoted identifiers are exact names; the frame's words weigh
    assert {"UnknownBackend", "qt6", "gtk3"} <= query.names
    assert query.terms["enable"] > 0 and query.terms["gui"] > 0
    assert "self" not in query.terms and "raise" not in query.terms


def test_bm25_ranks_the_definition_that_uses_the_rare_words_first() -> None:
    # GIVEN three files, one defining the quoted name
    repo = {
        "a.py": "def enable_gui(gui):\n    return LOOPS[gui]\n",
        "b.py": "def disable(x):\n    return x\n",
        "c.py": "LOOPS = {'tk': 1, 'gtk3': 2}\n",
    }
    query = Query({"loops": 2.0, "gtk3": 3.0, "enable": 1.0}, frozenset({"LOOPS"}))
    # WHEN
    hits = search(query, repo, repo.get, limits=SearchLimits(max_hits=2, min_share=0.0))
    # THEN the table named by the query and quoting gtk3 comes first, the unrelated file never
    assert [h.path for h in hits] == ["c.py", "a.py"]
    assert hits[0].score >= hits[1].score


def test_what_is_already_shown_is_left_out_and_files_beyond_the_bound_are_not_read() -> None:
    repo = {f"m{i:03}.py": f"def target_{i}():\n    return 'needle'\n" for i in range(10)}
    read: list[str] = []

    def reader(path: str) -> str | None:
        read.append(path)
        return repo.get(path)

    query = Query({"needle": 1.0}, frozenset())
    # WHEN
    hits = search(query, repo, reader, exclude=[("m000.py", 2, 2)], limits=SearchLimits(max_files=3, min_share=0.0))
    # THEN
    assert len(read) == 3
    assert "m000.py" not in {h.path for h in hits}
    assert {h.path for h in hits} <= {"m001.py", "m002.py"}


def test_an_empty_query_finds_nothing() -> None:
    assert search(Query({}, frozenset()), {"a.py": "def f():\n    pass\n"}, {"a.py": "def f():\n    pass\n"}.get) == []


def test_a_bounded_search_reads_the_traced_files_folders_first() -> None:
    # GIVEN many files sorted before the traced folder, and a bound of two files
    repo = {f"aaa/m{i:02}.py": "def other():\n    return 1\n" for i in range(20)}
    repo |= {"app/main.py": "def run():\n    return 1\n", "app/needle.py": "def find_needle():\n    return 'needle'\n"}
    read: list[str] = []

    def reader(path: str) -> str | None:
        read.append(path)
        return repo.get(path)

    # WHEN the search runs beside a traced app/main.py
    hits = search(Query({"needle": 1.0}, frozenset()), repo, reader, exclude=[("app/main.py", 1, 2)],
                  limits=SearchLimits(max_files=2, min_share=0.0))  # fmt: skip
    # THEN it read the traced folder, not the first files of the alphabet, and found the definition
    assert set(read) == {"app/main.py", "app/needle.py"}
    assert [h.path for h in hits] == ["app/needle.py"]


def test_test_files_are_neither_read_nor_found_and_take_no_place_under_the_bound() -> None:
    # GIVEN a repository whose tests, first in the alphabet, call the needle by name (gap: the
    # bench's snapshots held no tests until `--with-tests`; a real checkout has them)
    repo = {f"master/test/test_m{i:02}.py": "def test_needle():\n    find_needle()\n" for i in range(5)}
    repo |= {"master/conftest.py": "def needle_fixture():\n    return 'needle'\n"}
    repo |= {"worker/needle.py": "def find_needle():\n    return 'needle'\n"}
    read: list[str] = []

    def reader(path: str) -> str | None:
        read.append(path)
        return repo.get(path)

    # WHEN the search may read one file
    hits = search(Query({"needle": 1.0}, frozenset()), repo, reader, limits=SearchLimits(max_files=1, min_share=0.0))
    # THEN it read the code, not a test, and found its definition
    assert read == ["worker/needle.py"]
    assert [h.path for h in hits] == ["worker/needle.py"]
