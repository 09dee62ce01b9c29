"""Properties of the rule mapping a test file to the module it tests (``core/under_test.py``): the
answer is a non-test module of the repository named after the test, it does not depend on the
order the repository lists its files in, and two equally near candidates give no answer."""

from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.under_test import is_test_file, module_tested_by, name_tested_by

DIRS = st.sampled_from(["pkg", "sub", "tests", "test", "src", "names", "conch", "ssh", "testing"])
NAMES = st.sampled_from(["tap", "utils", "transport", "test_tap", "tap_test", "_tap", "conftest", "core"])
FILES = st.builds(lambda dirs, name: "/".join([*dirs, f"{name}.py"]), st.lists(DIRS, min_size=0, max_size=3), NAMES)
TESTS = st.builds(
    lambda prefix, dirs, name, style: "/".join([*prefix, *dirs, f"test_{name}.py" if style else f"{name}_test.py"]),
    st.lists(st.sampled_from(["var", "task", "srv", "Twisted"]), max_size=2),
    st.lists(DIRS, min_size=0, max_size=3),
    st.sampled_from(["tap", "utils", "transport", "core"]),
    st.booleans(),
)


@given(TESTS, st.lists(FILES, max_size=12, unique=True))
def test_the_answer_is_a_non_test_module_of_the_repository_named_after_the_test(test: str, paths: list[str]) -> None:
    # GIVEN any repository and any test path (in it or only logged)
    # WHEN
    found = module_tested_by(test, paths)
    # THEN: never a test file, always a listed file named after the test (public or private)
    if found is not None:
        name = name_tested_by(test)
        assert found in paths
        assert not is_test_file(found)
        assert posixpath.basename(found) in (f"{name}.py", f"_{name}.py")


@given(TESTS, st.lists(FILES, max_size=12, unique=True), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order_of_the_files(test: str, paths: list[str], rnd) -> None:  # noqa: ANN001
    # GIVEN the same repository listed in another order
    shuffled = list(paths)
    rnd.shuffle(shuffled)
    # WHEN / THEN
    assert module_tested_by(test, paths) == module_tested_by(test, shuffled)


@given(
    st.sampled_from(["tap", "utils", "transport"]),
    st.lists(DIRS.filter(lambda d: d not in ("tests", "test", "testing")), min_size=1, max_size=2, unique=True),
    st.lists(st.sampled_from(["other", "more"]), min_size=2, max_size=2, unique=True),
)
def test_two_equally_near_candidates_give_no_module(name: str, test_dirs: list[str], homes: list[str]) -> None:
    # GIVEN two copies of the module in unrelated trees, none beside the test nor at the root
    paths = [f"{home}/{name}.py" for home in homes]
    test = "/".join(["elsewhere", *test_dirs, "tests", f"test_{name}.py"])
    # WHEN / THEN: ambiguous, no guess
    assert module_tested_by(test, paths) is None
    # AND one copy alone is the answer
    assert module_tested_by(test, paths[:1]) == paths[0]
