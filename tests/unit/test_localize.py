"""Localization: the whole chain ranked by evidence, stale lines re-found, definitions beyond the trace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.localize import (
    Limits,
    RepoIndex,
    find_definitions,
    group_chain,
    localize,
    locate,
    primary,
    read_pasted,
    refind_line,
)
from chalicelib.core.models import ErrorGroup, Frame, RaisedException, Status
from chalicelib.core.tracebacks import find_in_text

PRICING = '''"""Prices."""

DISCOUNTS = {"SPRING": 10}


def discount_percent(code):
    return DISCOUNTS[code.upper()]


class Basket:
    LIMIT = 10

    def total(self, items):
        return self.checked(items) + Rounding.apply(len(items))

    def checked(self, items):
        if len(items) > self.LIMIT:
            raise ValueError("too many")
        return sum(items)
'''
ORDERS = '''"""Orders."""

from shop import pricing
from shop.rounding import Rounding as R
from .codes import normalize


def order_total(order):
    code = normalize(order.get("discount"))
    percent = pricing.discount_percent(code)
    return R.apply(percent)


def handle(event):
    try:
        return order_total(event["order"])
    except AttributeError as exc:
        raise RuntimeError("cannot price the order") from exc
'''
ROUNDING = """class Rounding:
    @staticmethod
    def apply(value):
        return round(value, 2)
"""
CODES = """def normalize(code):
    return code
"""
REPO = {
    "shop/__init__.py": "",
    "shop/pricing.py": PRICING,
    "shop/orders.py": ORDERS,
    "shop/rounding.py": ROUNDING,
    "shop/codes.py": CODES,
    "handler.py": "from shop import orders\n\n\ndef lambda_handler(event, context):\n    return orders.handle(event)\n",
}

CHAINED = """\
Traceback (most recent call last):
  File "/var/task/shop/orders.py", line 16, in handle
    return order_total(event["order"])
  File "/var/task/shop/orders.py", line 10, in order_total
    percent = pricing.discount_percent(code)
  File "/var/task/shop/pricing.py", line 7, in discount_percent
    return DISCOUNTS[code.upper()]
AttributeError: 'NoneType' object has no attribute 'upper'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/var/task/handler.py", line 5, in lambda_handler
    return orders.handle(event)
  File "/var/task/shop/orders.py", line 18, in handle
    raise RuntimeError("cannot price the order") from exc
RuntimeError: cannot price the order
"""


def chain_of(text: str) -> tuple[RaisedException, ...]:
    [tb] = find_in_text(text)
    return tb.exceptions


def test_every_exception_of_the_chain_is_located_raising_frame_then_cause_then_callers() -> None:
    # GIVEN a RuntimeError raised while handling the AttributeError that holds the bug
    # WHEN
    located = locate(chain_of(CHAINED), RepoIndex(REPO), REPO.get)
    # THEN the final raising frame, the cause's raising frame, then callers innermost first
    assert [(loc.path, loc.line, loc.evidence) for loc in located] == [
        ("shop/orders.py", 18, "raising"),
        ("shop/pricing.py", 7, "cause"),
        ("handler.py", 5, "caller"),
        ("shop/orders.py", 10, "caller"),
        ("shop/orders.py", 16, "caller"),
    ]


def test_the_final_exception_alone_still_locates_its_frames_innermost_first() -> None:
    frames = chain_of(CHAINED)[0].frames
    located = locate(frames, RepoIndex(REPO), REPO.get)
    assert [loc.line for loc in located] == [7, 10, 16]
    assert located[0].evidence == "raising"


def test_a_frame_seen_in_the_cause_and_the_final_exception_counts_once() -> None:
    # GIVEN two exceptions that share their caller frame
    shared = Frame("/var/task/handler.py", 5, "lambda_handler", "return orders.handle(event)")
    cause = RaisedException("KeyError", "x", (shared, Frame("/var/task/shop/codes.py", 2, "normalize", "return code")))
    final = RaisedException("ValueError", "y", (shared,))
    # WHEN
    located = locate((cause, final), RepoIndex(REPO), REPO.get)
    # THEN the shared frame is the final exception's raising frame, once
    assert [(loc.path, loc.evidence) for loc in located] == [("handler.py", "raising"), ("shop/codes.py", "cause")]


def test_a_moved_raising_line_is_refound_by_its_source_text() -> None:
    # GIVEN 80 lines added above the raising function since the trace was logged
    helpers = "".join(f"def h{i}(x):\n    return x + {i}\n\n\n" for i in range(20))
    moved = PRICING.replace("DISCOUNTS = {", helpers + "DISCOUNTS = {")
    frame = Frame("/var/task/shop/pricing.py", 7, "discount_percent", "return DISCOUNTS[code.upper()]")
    # WHEN
    line = refind_line(moved, frame)
    # THEN
    assert moved.splitlines()[line - 1].strip() == "return DISCOUNTS[code.upper()]"
    assert line == 87


def test_an_edited_raising_line_is_refound_by_its_function_name() -> None:
    # GIVEN the raising line was rewritten and the function moved down
    moved = "\n" * 30 + PRICING.replace("return DISCOUNTS[code.upper()]", "return DISCOUNTS.get(code)")
    frame = Frame("/var/task/shop/pricing.py", 7, "discount_percent", "return DISCOUNTS[code.upper()]")
    # WHEN / THEN the function's first line
    assert moved.splitlines()[refind_line(moved, frame) - 1] == "def discount_percent(code):"


def test_a_line_that_still_holds_its_source_is_kept_even_when_the_text_repeats() -> None:
    text = "def a():\n    return x\n\n\ndef b():\n    return x\n"
    assert refind_line(text, Frame("f.py", 6, "b", "return x")) == 6
    # moved by 3 lines: the copy inside the frame's function wins over the nearer one
    assert refind_line("\n\n\n" + text, Frame("f.py", 6, "b", "return x")) == 9
    assert refind_line("\n\n\n\n" + text, Frame("f.py", 2, "b", "return x")) == 10


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=5))
def test_the_raising_line_is_refound_whatever_was_inserted_above_it(above: int, below: int) -> None:
    # GIVEN the file today: lines inserted above and below the raising function
    text = "".join(f"X{i} = {i}\n" for i in range(above)) + PRICING + "".join(f"Y{i} = 1\n" for i in range(below))
    frame = Frame("/var/task/shop/pricing.py", 7, "discount_percent", "    return DISCOUNTS[code.upper()]")
    # WHEN / THEN
    assert refind_line(text, frame) == 7 + above


def test_two_files_sharing_a_path_suffix_are_told_apart_by_source_even_after_a_move() -> None:
    repo = {"a/handlers.py": "\n" * 40 + "def f():\n    return 1 / 0\n", "b/handlers.py": "def f():\n    return 2\n"}
    frame = Frame("/srv/handlers.py", 2, "f", "return 1 / 0")
    [loc] = locate([frame], RepoIndex(repo), repo.get)
    assert (loc.path, loc.line) == ("a/handlers.py", 42)


def test_a_compiled_modules_frame_is_located_in_its_source() -> None:
    # a frozen Windows build prints its modules' .pyo files, with the source's line numbers
    repo = {"picard/metadata.py": "def save(path):\n    os.makedirs(path)\n", "picard/file.py": "x = 1\n"}
    frame = Frame("picard\\metadata.pyo", 2, "save")
    [loc] = locate([frame], RepoIndex(repo), repo.get)
    assert (loc.path, loc.line) == ("picard/metadata.py", 2)
    assert RepoIndex(repo).candidates("/usr/lib/app/picard/file.pyc") == ["picard/file.py"]
    assert RepoIndex(repo).candidates("/srv/picard/__pycache__/file.cpython-311.pyc") == ["picard/file.py"]


def test_definitions_used_on_the_raising_lines_are_found_through_imports_and_self() -> None:
    # GIVEN the final exception raised in order_total (uses normalize, pricing.discount_percent, R.apply)
    frames = (Frame("/var/task/shop/orders.py", 10, "order_total", "percent = pricing.discount_percent(code)"),)
    located = locate(frames, RepoIndex(REPO), REPO.get)
    # WHEN
    found = {(d.name, d.path) for d in find_definitions(located, RepoIndex(REPO), REPO.get)}
    # THEN the callee in another module, through `from shop import pricing`
    assert ("discount_percent", "shop/pricing.py") in found
    # and, for a method: self.checked, the class constant via self, and a class found by search
    frames = (Frame("/var/task/shop/pricing.py", 14, "total", ""),)
    located = locate(frames, RepoIndex(REPO), REPO.get)
    found = {(d.name, d.path, d.start) for d in find_definitions(located, RepoIndex(REPO), REPO.get)}
    assert ("checked", "shop/pricing.py", 16) in found
    assert ("Rounding", "shop/rounding.py", 1) in found


def test_relative_imports_aliases_and_module_constants_resolve() -> None:
    frames = (
        Frame("/var/task/shop/orders.py", 9, "order_total", 'code = normalize(order.get("discount"))'),
        Frame("/var/task/shop/orders.py", 11, "order_total", "return R.apply(percent)"),
        Frame("/var/task/shop/pricing.py", 7, "discount_percent", "return DISCOUNTS[code.upper()]"),
    )
    exceptions = tuple(RaisedException("E", "", (f,)) for f in frames)
    found = localize(exceptions, REPO, REPO.get)
    names = {(d.name, d.path) for d in found.definitions}
    assert {("normalize", "shop/codes.py"), ("Rounding", "shop/rounding.py"), ("DISCOUNTS", "shop/pricing.py")} <= names
    assert ("apply", "shop/rounding.py") in names  # the member called on the imported class
    # their files become editable beside the traced ones
    assert {"shop/codes.py", "shop/rounding.py"} <= set(found.editable)


def test_the_repository_search_is_bounded_by_the_file_cap() -> None:
    # GIVEN a name defined in no imported module, only somewhere in the repository
    repo = {
        "app/main.py": "def run():\n    return helper_far_away()\n",
        "lib/far.py": "def helper_far_away():\n    return 1\n",
    }
    located = locate((Frame("/var/task/app/main.py", 2, "run", "return helper_far_away()"),), RepoIndex(repo), repo.get)
    # WHEN / THEN found by the search, and not when the cap allows no file
    assert [d.path for d in find_definitions(located, RepoIndex(repo), repo.get)] == ["lib/far.py"]
    assert find_definitions(located, RepoIndex(repo), repo.get, Limits(max_scan_files=0)) == []


def test_the_bounded_search_reads_the_projects_own_modules_before_a_vendored_copy() -> None:
    # GIVEN a project vendoring a patched library whose files sort before the project's own module
    repo = {
        "pkg/utils/resolver.py": "def create(project):\n    return project.get_default_index()['name']\n",
        "pkg/project.py": "class Project:\n    def get_default_index(self):\n        return {'url': 'x'}\n",
    }
    repo |= {f"pkg/patched/pip/_internal/mod_{i:03}.py": f"def f{i}():\n    return {i}\n" for i in range(30)}
    repo = dict(sorted(repo.items()))  # listed as a walk of the work tree lists them
    frame = Frame("/var/task/pkg/utils/resolver.py", 2, "create", "return project.get_default_index()['name']")
    located = locate((frame,), RepoIndex(repo), repo.get)
    # WHEN the cap reads fewer files than the vendored copy holds
    found = find_definitions(located, RepoIndex(repo), repo.get, Limits(max_scan_files=10))
    # THEN the method called on the unknown object is still found in the project's own module
    assert [(d.name, d.path) for d in found] == [("get_default_index", "pkg/project.py")]


def test_an_ambiguous_name_is_not_guessed() -> None:
    repo = {
        "app/main.py": "def run():\n    return helper()\n",
        "a/x.py": "def helper():\n    return 1\n",
        "b/y.py": "def helper():\n    return 2\n",
    }
    located = locate((Frame("/var/task/app/main.py", 2, "run", "return helper()"),), RepoIndex(repo), repo.get)
    assert find_definitions(located, RepoIndex(repo), repo.get) == []


def test_allowed_paths_that_exist_are_editable_and_missing_ones_are_not() -> None:
    found = localize(chain_of(CHAINED), REPO, REPO.get, extra=("./shop/rounding.py", "Makefile", "../x.py"))
    assert found.extra == ("shop/rounding.py",)
    assert "shop/rounding.py" in found.editable and "Makefile" not in found.editable


def test_the_group_chain_is_read_back_from_its_sample_or_falls_back_to_its_frames() -> None:
    frames = chain_of(CHAINED)[-1].frames
    group = ErrorGroup("f" * 32, Status.FIXING, "RuntimeError", "cannot price", frames, sample=CHAINED)
    assert [e.type for e in group_chain(group)] == ["AttributeError", "RuntimeError"]
    bare = ErrorGroup("f" * 32, Status.FIXING, "RuntimeError", "cannot price", frames, sample="no trace here")
    [only] = group_chain(bare)
    assert only.frames == frames


CONSOLE = """>>> discount_percent(None)
Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
  File "/usr/lib/python3.12/site-packages/otherlib/api.py", line 4, in call
    return fn()
AttributeError: 'NoneType' object has no attribute 'upper'
"""


def test_a_report_is_localized_by_its_first_traceback_through_the_repository() -> None:
    # GIVEN a report pasting a console failure (no repository frame), then the service's trace
    found = read_pasted((CONSOLE + "\nIn the service:\n\n" + CHAINED).encode())
    assert len(found) == 2
    # WHEN / THEN the second is chosen; alone, or with no repository frame anywhere, the first
    assert primary(found, list(REPO), REPO.get) is found[1]
    assert primary(found[:1], list(REPO), REPO.get) is found[0]
    console_only = read_pasted((CONSOLE + "\nagain:\n\n" + CONSOLE).encode())
    assert primary(console_only, list(REPO), REPO.get) is console_only[0]
    assert primary([], list(REPO), REPO.get) is None


def test_a_tests_double_of_a_name_does_not_make_the_codes_definition_ambiguous() -> None:
    # GIVEN a test defining its own Basket beside the code's (gap: the bench's snapshots held no
    # tests until `--with-tests`; a checkout does)
    repo = dict(REPO) | {"tests/test_pricing.py": "class Basket:\n    LIMIT = 1\n\n\ndef test_total():\n    pass\n"}
    repo["shop/orders.py"] = ORDERS.replace("return R.apply(percent)", "return Basket().total([percent])")
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/shop/orders.py", line 11, in order_total\n'
        "    return Basket().total([percent])\n"
        "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'\n"
    )
    # WHEN
    found = localize(find_in_text(trace)[0].exceptions, list(repo), repo.get, retrieve=False)
    # THEN the code's Basket is the definition, as with no test in the repository
    assert ("shop/pricing.py", "Basket") in {(d.path, d.name) for d in found.definitions}
    assert all(not d.path.startswith("tests/") for d in found.definitions)


def test_a_report_prefers_a_traceback_through_the_code_to_one_through_its_tests_only() -> None:
    repo = dict(REPO) | {"tests/test_pricing.py": "def test_total():\n    assert total() == 3\n"}
    in_test = (
        "Traceback (most recent call last):\n"
        '  File "/ci/tests/test_pricing.py", line 2, in test_total\n'
        "    assert total() == 3\n"
        "AssertionError\n"
    )
    found = read_pasted((in_test + "\nand in the service:\n\n" + CHAINED).encode())
    assert primary(found, list(repo), repo.get) is found[1]
    alone = read_pasted((in_test + "\nagain:\n\n" + CONSOLE).encode())
    assert primary(alone, list(repo), repo.get) is alone[0]  # through a test, before a console's
