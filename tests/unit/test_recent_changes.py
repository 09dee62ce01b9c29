"""What the latest commits changed: read from real git differences, ranked by the search, read by
`selfheal localize` in a git work tree (the adapters: tests/integration/test_recent_changes_adapters.py)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import git
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.changes import MAX_CHANGED_FILES, Changed, changed_ranges
from chalicelib.core.retrieve import Query, SearchLimits, search
from tests.cli import run_cli


def _commit(repo: git.Repo, files: dict[str, str | None], message: str) -> None:
    root = Path(str(repo.working_tree_dir))
    for path, text in files.items():
        if text is None:
            repo.index.remove([path], working_tree=True)
            continue
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
        repo.index.add([path])
    repo.index.commit(message, author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com"))


def test_a_real_difference_gives_the_new_sides_lines_of_python_files_only(tmp_path: Path) -> None:
    # GIVEN a commit that edits a line, adds two, deletes one, deletes a file, adds one, edits a text file
    with git.Repo.init(tmp_path / "w", initial_branch="main") as repo:
        _commit(repo, {"a.py": "1\n2\n3\n4\n5\n6\n", "gone.py": "x\n", "notes.txt": "a\n"}, "one")
        edits = {"a.py": "1\nTWO\n3\n3b\n3c\n5\n6\n", "gone.py": None, "new.py": "n\n", "notes.txt": "b\n"}
        _commit(repo, edits, "two")
        # WHEN
        diff = repo.git.diff("-U0", "--src-prefix=a/", "--dst-prefix=b/", "HEAD~1", "HEAD")
    found = changed_ranges(diff)
    # THEN line 2 changed, 4-5 added where 4 went; new.py whole; neither the deleted file nor the text
    assert found == [Changed("a.py", 2, 2), Changed("a.py", 4, 5), Changed("new.py", 1, 1)]


def test_a_pure_deletion_marks_the_line_it_follows() -> None:
    diff = "+++ b/m.py\n@@ -4,2 +3,0 @@\n-four\n-five\n"
    assert changed_ranges(diff) == [Changed("m.py", 3, 3)]


def test_a_difference_over_too_many_files_says_nothing() -> None:
    one = "+++ b/m{}.py\n@@ -1 +1 @@\n-old\n+new\n"
    assert len(changed_ranges("".join(one.format(i) for i in range(MAX_CHANGED_FILES)))) == MAX_CHANGED_FILES
    assert changed_ranges("".join(one.format(i) for i in range(MAX_CHANGED_FILES + 1))) == []


# lines a parser could mistake: a file header's prefix, a form feed Python's splitlines splits at
_LINES = st.lists(st.sampled_from(["a", "b", "c", "++ x", "-- y", "f\x0cg", "\\ n"]), max_size=25)


@given(_LINES, _LINES, st.integers(0, 3))
def test_the_ranges_are_exactly_the_added_lines_and_the_deletion_points(
    old: list[str], new: list[str], context: int
) -> None:
    # GIVEN any edit of a file, as a unified difference with any context
    diff = "\n".join(difflib.unified_diff(old, new, "a/m.py", "b/m.py", n=context, lineterm=""))
    # WHEN
    found = changed_ranges(diff)
    # THEN the lines covered are the new side's added lines and the lines deletions follow
    added, points = set(), set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            added.update(range(j1 + 1, j2 + 1))
        if tag == "delete":
            points.add(max(1, j1))
    assert all(c.path == "m.py" and 1 <= c.start <= c.end for c in found)
    assert {n for c in found for n in range(c.start, c.end + 1)} == added | points


def test_the_search_ranks_a_changed_definition_first_among_those_sharing_the_traces_words() -> None:
    # GIVEN three definitions the query matches equally (ties go by path), the last one changed
    # lately, and a changed definition sharing no word with the trace
    repo = {
        f"shop/{name}.py": f"def apply_{name}(order):\n    order.discount = order.total * RATE\n"
        for name in ("coupon", "promo", "voucher")
    }
    repo["shop/misc.py"] = "def unrelated():\n    return 1\n"
    query = Query({"order": 1.0, "discount": 2.0, "total": 1.0}, frozenset())
    changed = [Changed("shop/voucher.py", 2, 2), Changed("shop/misc.py", 2, 2)]
    limits = SearchLimits(max_hits=2, min_share=0.0)
    # WHEN / THEN without the history the first two by path; with it the changed one first
    assert [h.name for h in search(query, repo, repo.get, (), limits)] == ["apply_coupon", "apply_promo"]
    hits = search(query, repo, repo.get, (), limits, changed=changed)
    assert [h.name for h in hits] == ["apply_voucher", "apply_coupon"]
    assert hits[0].score == 1.5 * hits[1].score  # recent_boost
    # AND a changed definition that shares no word with the trace is never shown for having changed
    assert all(h.path != "shop/misc.py" for h in hits)


def test_localize_in_a_git_work_tree_ranks_the_recently_changed_function_first(tmp_path: Path) -> None:
    # GIVEN a work tree whose last commit changed how a voucher sets an order's discount, in a module
    # no frame runs and no raising line names, beside four look-alikes the search ranks as high
    repo = git.Repo.init(tmp_path / "app", initial_branch="main")
    RATE = "offer.rate if order.total else 0"  # noqa: N806 - the look-alikes' one statement
    others = "".join(f"\n\ndef step_{i}(basket):\n    basket.append({i})\n    return basket\n" for i in range(60))
    files = {
        "shop/__init__.py": "",
        "shop/handler.py": "def checkout(order):\n    return order.total * (1 - order.discount)\n" + others,
        **{
            f"shop/{name}.py": f"def {name}_discount(order, offer):\n    order.discount = {RATE}\n"
            for name in ("bundle", "coupon", "gift", "promo", "voucher")
        },
    }
    with repo:
        _commit(repo, files, "first")
        _commit(repo, {"shop/voucher.py": files["shop/voucher.py"].replace("offer.rate", "offer.get('rate')")}, "rates")
    trace = tmp_path / "trace.log"
    trace.write_text(
        "Traceback (most recent call last):\n"
        '  File "/var/task/shop/handler.py", line 2, in checkout\n'
        "    return order.total * (1 - order.discount)\n"
        "TypeError: unsupported operand type(s) for -: 'int' and 'NoneType'\n"
    )
    plain = tmp_path / "plain"  # the same files without their history
    for path in files:
        (plain / path).parent.mkdir(parents=True, exist_ok=True)
        (plain / path).write_text((tmp_path / "app" / path).read_text())

    def searched(root: Path) -> list[str]:
        result = run_cli("localize", str(trace), "--repo", str(root), "--json")
        assert result.returncode == 0, result.stderr
        return [c["path"] for c in json.loads(result.stdout)["context"] if c["found_by"] == "search"]

    # WHEN / THEN the changed voucher module is shown, found by search, only where the history is
    assert "shop/voucher.py" in searched(tmp_path / "app")
    assert "shop/voucher.py" not in searched(plain)
    # AND an edit not yet committed counts as a change too (the work tree is what is read)
    promo = tmp_path / "app" / "shop" / "promo.py"
    promo.write_text(promo.read_text().replace("offer.rate", "offer.rate or 0"))
    assert "shop/promo.py" in searched(tmp_path / "app")
