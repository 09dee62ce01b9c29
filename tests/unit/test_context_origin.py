"""Functions of a traced file no frame runs: the function around a nested raising function, and
the function that wrote the attribute the raising line reads (``core/related.py``)."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import related
from chalicelib.core.context import WRITER_SHARE, estimate_tokens, select_context
from chalicelib.core.localize import localize, rejoin
from chalicelib.core.tracebacks import find_in_text

# A checker whose load handler stores a bool in `.used` that the store handler indexes.
CHECKER = '''"""Checker."""


class Binding:
    def __init__(self, name):
        self.name = name
        self.used = False


class Checker:
    def __init__(self):
        self.scope = {}

    def report(self, message):
        print(message)

    def handle_load(self, name):
        binding = self.scope.get(name)
        if binding is not None:
            binding.used = True

    def handle_store(self, name):
        used = name in self.scope and self.scope[name].used
        if used and used[0] is self.scope:
            self.report("reassigned")

    def handle_delete(self, name):
        self.scope.pop(name, None)

    def render(self, lines):
        return "\\n".join(lines)
'''
# The rest of a real checker: the writer is a small share of the traced file.
REST = "\n\nclass Other:\n" + "".join(
    f"    def visit_{i}(self, node):\n        return node.child_{i}\n\n" for i in range(40)
)
RAISING = CHECKER.splitlines().index("        if used and used[0] is self.scope:") + 1

# A decorator whose wrapper raises: the outer function decides what the wrapper is given.
WRAPPED = '''"""Sockets."""


def write_message(sock, message):
    fut = sock.write(message)

    async def wrapper():
        try:
            await fut
        except OSError:
            raise ClosedError()

    return wrapper()


class ClosedError(Exception):
    pass


def unrelated(a, b):
    return a + b
'''
WRAPPER_RAISE = WRAPPED.splitlines().index("            raise ClosedError()") + 1


def chain(text: str):  # noqa: ANN201 - the chain's exceptions
    [tb] = rejoin(find_in_text(text))
    return tb.exceptions


def lines_of(source: str, text: str) -> int:
    return source.splitlines().index(text) + 1


def test_the_writer_of_an_attribute_read_through_a_local_is_found() -> None:
    # GIVEN `used = ... self.scope[name].used` then `used[0]` on the raising line
    tree = ast.parse(CHECKER)
    # WHEN
    found = related.writers(tree, RAISING)
    # THEN the nearest method of the class that assigns `.used` (the load handler), not the
    # Binding constructor of another class, nor the raising method itself
    start = lines_of(CHECKER, "    def handle_load(self, name):")
    assert found == [(start, start + 3)]


def test_an_attribute_only_called_as_a_method_has_no_writer() -> None:
    # GIVEN a raising line that only calls methods (`self.report(...)`), nothing stored is read
    line = lines_of(CHECKER, '            self.report("reassigned")')
    source = CHECKER.replace("        self.scope = {}\n", "        self.report = print\n")
    # WHEN / THEN the assignment of `self.report` in __init__ is not taken for the bad value's origin
    assert related.writers(ast.parse(source), line) == []


def test_a_line_outside_any_function_has_no_writer_and_no_outer_function() -> None:
    tree = ast.parse(CHECKER)
    assert related.writers(tree, 1) == []
    assert related.outer(tree, 1) == []


def test_the_function_around_a_raising_closure_is_its_outer_function() -> None:
    # GIVEN a wrapper defined inside write_message
    tree = ast.parse(WRAPPED)
    # WHEN / THEN write_message whole; a top-level function has no outer function
    start = lines_of(WRAPPED, "def write_message(sock, message):")
    assert related.outer(tree, WRAPPER_RAISE) == [(start, lines_of(WRAPPED, "    return wrapper()"))]
    assert related.outer(tree, lines_of(WRAPPED, "    return a + b")) == []


def test_a_method_is_not_the_outer_function_of_its_class() -> None:
    # GIVEN a method (its parent is a class, not a function)
    tree = ast.parse(CHECKER)
    # WHEN / THEN no outer function
    assert related.outer(tree, RAISING) == []


def test_a_long_outer_function_is_not_shown() -> None:
    # GIVEN an outer function longer than MAX_OUTER_LINES
    body = "".join(f"    x{i} = {i}\n" for i in range(related.MAX_OUTER_LINES))
    source = "def outer():\n" + body + "    def inner():\n        raise ValueError(x0)\n    return inner\n"
    line = lines_of(source, "        raise ValueError(x0)")
    # WHEN / THEN nothing (its head says little; the window already has the closure)
    assert related.outer(ast.parse(source), line) == []


def test_select_context_shows_the_closure_outer_function_and_the_writer() -> None:
    # GIVEN traces raising in a closure and in the store handler, files too long to show whole
    wrapped_trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/pkg/sockets.py", line {WRAPPER_RAISE}, in wrapper\n'
        "    raise ClosedError()\n"
        "pkg.sockets.ClosedError\n"
    )
    checker_trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/pkg/checker.py", line {RAISING}, in handle_store\n'
        "    if used and used[0] is self.scope:\n"
        "TypeError: 'bool' object is not subscriptable\n"
    )
    repo = {"pkg/__init__.py": "", "pkg/sockets.py": WRAPPED, "pkg/checker.py": CHECKER + REST}
    # WHEN
    contexts = {}
    for path, trace in (("pkg/sockets.py", wrapped_trace), ("pkg/checker.py", checker_trace)):
        found = localize(chain(trace), repo, repo.get, retrieve=False)
        contexts[path] = select_context(found.located, repo.get, 6_000, whole_file_lines=5)
    # THEN the outer function is shown whole, the unrelated function is not
    sockets = contexts["pkg/sockets.py"]
    assert all(sockets.covers("pkg/sockets.py", n) for n in range(4, 14))
    assert not sockets.covers("pkg/sockets.py", lines_of(WRAPPED, "    return a + b"))
    # AND the load handler that stored the bool is shown whole, the unrelated render is not
    checker = contexts["pkg/checker.py"]
    load = lines_of(CHECKER, "    def handle_load(self, name):")
    assert all(checker.covers("pkg/checker.py", n) for n in range(load, load + 4))
    assert not checker.covers("pkg/checker.py", lines_of(CHECKER, "    def render(self, lines):"))


def test_the_writer_is_left_out_when_it_would_pass_the_share_of_the_traced_files() -> None:
    # GIVEN the store handler raising in a small file: the raising function, its window and the
    # imports are already more than WRITER_SHARE of the whole file
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/pkg/checker.py", line {RAISING}, in handle_store\n'
        "    if used and used[0] is self.scope:\n"
        "TypeError: 'bool' object is not subscriptable\n"
    )
    repo = {"pkg/__init__.py": "", "pkg/checker.py": CHECKER}
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    # WHEN
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5)
    # THEN the writer is not shown (the same file with the rest of the checker shows it, above)
    whole = estimate_tokens(CHECKER)
    assert ctx.tokens > WRITER_SHARE * whole
    assert not ctx.covers("pkg/checker.py", lines_of(CHECKER, "    def handle_load(self, name):"))


NAMES = st.sampled_from(["a", "b", "used", "table", "scope"])


@st.composite
def classes(draw: st.DrawFn) -> str:
    """A class of methods, each assigning or reading attributes, some with closures."""
    methods = []
    for i in range(draw(st.integers(1, 6))):
        body = []
        for _ in range(draw(st.integers(1, 4))):
            attr, other = draw(NAMES), draw(NAMES)
            body.append(
                draw(
                    st.sampled_from(
                        [
                            f"        self.{attr} = {other!r}",
                            f"        x = self.{attr}.{other}",
                            f"        self.{attr}[{other!r}] = 1",
                            f"        return self.{attr}[0]",
                            f"        def inner():\n            return self.{attr}.{other}",
                        ]
                    )
                )
            )
        methods.append(f"    def m{i}(self):\n" + "\n".join(body))
    return "class C:\n" + "\n\n".join(methods) + "\n"


@settings(max_examples=60, deadline=None)
@given(classes(), st.data())
def test_found_ranges_are_inside_the_file_and_never_hold_the_raising_line(source: str, data: st.DataObject) -> None:
    # GIVEN any class and any line of it (property)
    total = len(source.splitlines())
    line = data.draw(st.integers(1, total))
    tree = ast.parse(source)
    # WHEN
    found = related.writers(tree, line) + related.outer(tree, line)
    # THEN every range is within the file, well-ordered, bounded in number
    assert len(found) <= related.MAX_WRITERS + 1
    assert all(1 <= s <= e <= total for s, e in found)
    # AND no writer is the raising function (or a function around it)
    assert all(not s <= line <= e for s, e in related.writers(tree, line))


@settings(max_examples=40, deadline=None)
@given(classes(), st.data(), st.integers(300, 3_000))
def test_the_context_never_exceeds_the_budget_beyond_its_first_window(
    source: str, data: st.DataObject, budget: int
) -> None:
    # GIVEN any class, a raising line in it and any budget (property)
    line = data.draw(st.integers(1, len(source.splitlines())))
    text = source.splitlines()[line - 1].strip() or "pass"
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/pkg/mod.py", line {line}, in m0\n'
        f"    {text}\n"
        "TypeError: boom\n"
    )
    repo = {"pkg/mod.py": source}
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    # WHEN
    ctx = select_context(found.located, repo.get, budget, whole_file_lines=5)
    first = select_context(found.located, repo.get, 1, whole_file_lines=5)
    # THEN the budget holds (the first window is kept whatever the budget)
    assert ctx.tokens <= max(budget, first.tokens)
