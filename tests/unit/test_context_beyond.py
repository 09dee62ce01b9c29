"""Context beyond the traced function: the missing name, tables, try/except, siblings, overrides,
long functions, pasted traces split by a note, and the ranked search of the repository."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.context import (
    CALLERS_CEILING,
    FURTHER_CEILING,
    SEARCH_CEILING,
    SEARCH_FIRST,
    SEARCH_NOTE,
    estimate_tokens,
    indented_range,
    select_context,
)
from chalicelib.core.localize import Definition, Limits, Located, localize, rejoin
from chalicelib.core.models import Frame
from chalicelib.core.tracebacks import find_in_text

if TYPE_CHECKING:
    from chalicelib.core.context import Context
    from chalicelib.core.models import RaisedException

NODES = '''"""Nodes."""


class Node:
    def accept(self, visitor):
        func = getattr(visitor, "visit_" + self.__class__.__name__.lower())
        return func(self)


class TryStar(Node):
    pass
'''
PRINTER = '''"""Printer."""


class Printer:
    """Renders nodes as text."""

    def __init__(self, indent):
        self.indent = indent

    def __call__(self, node):
        return node.accept(self)

    def visit_assign(self, node):
        return "a = b"

    def visit_tryexcept(self, node):
        return "try: ... except: ..."

    def visit_tryfinally(self, node):
        return "try: ... finally: ..."

    def visit_while(self, node):
        return "while x: ..."
'''
MISSING_TRACE = """\
Traceback (most recent call last):
  File "/var/task/pkg/printer.py", line 11, in __call__
    return node.accept(self)
  File "/var/task/pkg/nodes.py", line 7, in accept
    func = getattr(visitor, "visit_" + self.__class__.__name__.lower())
AttributeError: 'Printer' object has no attribute 'visit_trystar'
"""


def chain(text: str) -> tuple[RaisedException, ...]:
    [tb] = rejoin(find_in_text(text))
    return tb.exceptions


def shown(ctx, path: str, line: int) -> bool:  # noqa: ANN001 - a Context
    return ctx.covers(path, line)


def test_a_missing_attribute_shows_the_class_its_constructor_and_the_siblings_where_it_belongs() -> None:
    # GIVEN a visitor lookup failing on the printer, which is only a caller in the trace
    repo = {"pkg/__init__.py": "", "pkg/nodes.py": NODES, "pkg/printer.py": PRINTER}
    # WHEN
    found = localize(chain(MISSING_TRACE), repo, repo.get, retrieve=False)
    # THEN the class head, __init__ and the visit_try* siblings are definitions reached from the trace
    names = [d.name for d in found.definitions]
    assert names[:4] == ["Printer", "__init__", "visit_tryexcept", "visit_tryfinally"]
    assert all(d.found_by == "trace" and d.path == "pkg/printer.py" for d in found.definitions[:4])
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5, definitions=found.definitions)
    lines = PRINTER.splitlines()
    assert shown(ctx, "pkg/printer.py", lines.index("    def visit_tryexcept(self, node):") + 1)
    assert shown(ctx, "pkg/printer.py", lines.index("    def __init__(self, indent):") + 1)
    assert not shown(ctx, "pkg/printer.py", lines.index("    def visit_while(self, node):") + 1)


def test_a_module_missing_a_name_shows_the_module_definitions_like_it() -> None:
    # GIVEN a call of a helper the module never had
    util = (
        "def read_config(path):\n    return {}\n\n\n"
        "def read_configs(paths):\n    return []\n\n\n"
        "def other():\n    pass\n"
    )
    app = "from pkg import util\n\n\ndef main():\n    return util.read_config_file('x')\n"
    repo = {"pkg/__init__.py": "", "pkg/util.py": util, "pkg/app.py": app}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/pkg/app.py", line 5, in main\n'
        "    return util.read_config_file('x')\n"
        "AttributeError: module 'pkg.util' has no attribute 'read_config_file'\n"
    )
    # WHEN
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    # THEN its siblings sharing the name's words are shown, the unrelated one is not
    names = {d.name for d in found.definitions if d.path == "pkg/util.py"}
    assert {"read_config", "read_configs"} <= names
    assert "other" not in names


def test_a_key_error_on_a_self_table_shows_where_the_table_is_filled() -> None:
    # GIVEN a dispatch table filled in __init__, far from the raising method
    filler = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(30))
    source = (
        "class Dispatcher:\n"
        "    def __init__(self):\n"
        "        self._handlers = {\n"
        '            "create": self.m1,\n'
        "        }\n\n" + filler + "    def dispatch(self, kind):\n"
        "        return self._handlers[kind]()\n"
    )
    line = source.splitlines().index("        return self._handlers[kind]()") + 1
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/app/dispatch.py", line {line}, in dispatch\n'
        "    return self._handlers[kind]()\n"
        "KeyError: 'delete'\n"
    )
    repo = {"app/dispatch.py": source}
    # WHEN
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5, definitions=found.definitions)
    # THEN the assignment of self._handlers is a definition and is shown
    assert any(d.name == "_handlers" and d.start == 3 and d.end == 5 for d in found.definitions)
    assert all(shown(ctx, "app/dispatch.py", n) for n in range(3, 6))


def test_the_except_import_error_clause_around_a_raising_import_is_shown() -> None:
    # GIVEN a module-level import whose fallback is far below it
    body = "\n".join(f"    CONSTANT_{i} = {i}" for i in range(20))
    source = f"try:\n    from fastjson import loads\n{body}\nexcept ImportError:\n    from json import loads\n"
    source = "\n" * 30 + source + "\n" * 30 + "def f():\n    return 1\n"
    line = source.splitlines().index("    from fastjson import loads") + 1
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/app/codec.py", line {line}, in <module>\n'
        "    from fastjson import loads\n"
        "ImportError: cannot import name 'loads' from 'fastjson'\n"
    )
    repo = {"app/codec.py": source}
    # WHEN
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5)
    # THEN the handler's lines are shown, though the ±8 window does not reach them
    handler = source.splitlines().index("except ImportError:") + 1
    assert handler - line > 8
    assert shown(ctx, "app/codec.py", handler)
    assert shown(ctx, "app/codec.py", handler + 1)


def test_a_sibling_passing_the_bad_value_and_a_subclass_override_are_shown() -> None:
    # GIVEN a method that raises, an override of it in a subclass, and a call of it elsewhere in the file
    pad = "".join(f"def pad{i}():\n    return {i}\n\n\n" for i in range(12))
    source = (
        "class Base:\n"
        "    def parse(self, text):\n"
        "        return int(text)\n\n\n" + pad + "class Strict(Base):\n"
        "    def parse(self, text):\n"
        "        return int(text.strip())\n\n\n" + pad + "def load(raw):\n"
        "    return Base().parse(raw.get('n'))\n"
    )
    lines = source.splitlines()
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/parse.py", line 3, in parse\n'
        "    return int(text)\n"
        "TypeError: int() argument must be a string, not 'NoneType'\n"
    )
    repo = {"app/parse.py": source}
    # WHEN
    found = localize(chain(trace), repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5)
    # THEN the override and the sibling's call are shown, the padding between is not
    assert shown(ctx, "app/parse.py", lines.index("        return int(text.strip())") + 1)
    assert shown(ctx, "app/parse.py", lines.index("    return Base().parse(raw.get('n'))") + 1)
    assert not shown(ctx, "app/parse.py", lines.index("def pad5():") + 1)


def long_function(n: int) -> str:
    body = "".join(f"    step_{i} = compute({i})\n" for i in range(n))
    return "def compute(x):\n    return x\n\n\ndef process(data):\n" + body + "    return data['missing']\n"


def test_a_long_function_whose_line_moved_is_shown_as_far_as_the_budget_goes() -> None:
    # GIVEN a 200-line function whose printed line is gone from today's file
    source = long_function(200)
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/long.py", line 120, in process\n'
        "    value = data['gone']\n"
        "KeyError: 'gone'\n"
    )
    repo = {"app/long.py": source}
    located = localize(chain(trace), repo, repo.get, retrieve=False).located
    # WHEN the budget holds the whole function, and when it does not
    roomy = select_context(located, repo.get, 6_000)
    tight = select_context(located, repo.get, 1_200)
    # THEN the roomy context shows it all; the tight one a window wider than the ±8 lines, within budget
    assert all(shown(roomy, "app/long.py", n) for n in range(5, 207))
    assert tight.tokens <= 1_200
    assert sum(s.end - s.start + 1 for s in tight.snippets) > 2 * 8 + 1 + 3


def test_a_reporters_line_inside_the_frames_does_not_lose_the_outer_frames() -> None:
    # GIVEN a pasted trace with a note between two frames
    text = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/a.py", line 3, in outer\n'
        "    inner(x)\n"
        ">>> the reporter's note\n"
        '  File "/var/task/app/b.py", line 7, in inner\n'
        "    return d[k]\n"
        "KeyError: 'k'\n"
    )
    # WHEN
    [tb] = rejoin(find_in_text(text))
    # THEN one traceback with both frames and the exception
    assert [f.function for f in tb.final.frames] == ["outer", "inner"]
    assert (tb.final.type, tb.final.message) == ("KeyError", "'k'")


@given(
    st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta"]), min_size=2, max_size=6),
    st.data(),
)
def test_a_note_anywhere_between_frames_is_rejoined(functions: list[str], data: st.DataObject) -> None:
    # GIVEN a trace of N frames with a reporter's line after frame `cut` (property: any cut, any note)
    cut = data.draw(st.integers(1, len(functions) - 1))
    note = data.draw(st.sampled_from([">>> f()", "...", "(and more)"]))
    frames = [
        f'  File "/var/task/app/m{i}.py", line {i + 1}, in {name}\n    call_{i}()\n' for i, name in enumerate(functions)
    ]
    text = "Traceback (most recent call last):\n" + "".join(frames[:cut]) + note + "\n" + "".join(frames[cut:])
    text += "ValueError: bad\n"
    # WHEN
    found = rejoin(find_in_text(text))
    # THEN every frame is in the final exception, in order
    assert [f.function for f in found[-1].final.frames] == functions


def test_a_file_ast_cannot_parse_gets_its_def_block_by_indentation() -> None:
    # GIVEN Python 2 code (a print statement)
    lines = [
        "import sys",
        "",
        "def show(x):",
        "    if x:",
        "        print x",
        "    return x",
        "",
        "def other():",
        "    pass",
    ]
    # WHEN / THEN the block of `show` around line 5
    assert indented_range(lines, 5) == (3, 6)
    assert indented_range(lines, 1) is None


@given(
    st.lists(st.sampled_from(["def f():", "    x = 1", "", "class C:", "    def m(self):", "        y"]), max_size=30),
    st.integers(1, 30),
)
def test_the_indentation_block_always_holds_the_line(lines: list[str], line: int) -> None:
    found = indented_range(lines, line)
    assert found is None or found[0] <= line <= found[1] <= len(lines)


SETTINGS = '''"""Settings registered at import."""

HANDLERS = {}


def register_handler(kind, handler):
    HANDLERS[kind] = handler


def unicode_normalizer(text):
    return text.encode("ascii")
'''
UNRELATED = """def add(a, b):
    return a + b


def multiply(a, b):
    return a * b
"""


def test_the_search_finds_the_definition_a_message_names_outside_the_trace() -> None:
    # GIVEN a crash in code the repository does not hold, naming a function the repository defines
    repo = {"app/settings.py": SETTINGS, "app/maths.py": UNRELATED, "app/main.py": "def run():\n    return 1\n"}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return 1\n"
        "AttributeError: 'bytes' object has no attribute 'encode' (in 'unicode_normalizer')\n"
    )
    # WHEN
    found = localize(chain(trace), repo, repo.get)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=3, definitions=found.definitions)
    # THEN the named function is a definition found by search, shown and marked so
    [hit] = [d for d in found.definitions if d.found_by == "search" and d.name == "unicode_normalizer"]
    assert hit.path == "app/settings.py"
    assert "app/maths.py" not in {d.path for d in found.definitions}
    [snippet] = [s for s in ctx.snippets if s.path == "app/settings.py"]
    assert snippet.found_by == "search"
    assert SEARCH_NOTE in snippet.render()
    assert all(s.found_by == "trace" for s in ctx.snippets if s.path == "app/main.py")


def test_a_secret_in_code_the_search_found_is_redacted_before_the_model_sees_it() -> None:
    # GIVEN the named function's module also holds a live key (no frame points at that file)
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    settings = SETTINGS.replace("HANDLERS = {}", f'STRIPE_KEY = "{key}"\nHANDLERS = {{}}')
    repo = {"app/settings.py": settings, "app/main.py": "def run():\n    return 1\n"}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return 1\n"
        "AttributeError: 'bytes' object has no attribute 'encode' (in 'unicode_normalizer')\n"
    )
    found = localize(chain(trace), repo, repo.get)
    # WHEN its context is chosen with a budget that shows the module
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=40, definitions=found.definitions)
    # THEN what the search found is shown, and the key is not
    rendered = "\n".join(s.render() for s in ctx.snippets if s.found_by == "search")
    assert "unicode_normalizer" in rendered and key not in rendered


def test_the_search_spends_a_quarter_of_the_budget_at_most_and_can_be_turned_off() -> None:
    # GIVEN a named function of 300 lines
    big = "def unicode_normalizer(text):\n" + "".join(f"    v{i} = text[{i}]\n" for i in range(300))
    repo = {"app/big.py": big, "app/main.py": "def run():\n    return 1\n"}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return 1\n"
        "NameError: name 'unicode_normalizer' is not defined\n"
    )
    # WHEN
    found = localize(chain(trace), repo, repo.get)
    ctx = select_context(found.located, repo.get, 2_000, definitions=found.definitions)
    small = select_context(found.located, repo.get, 800, definitions=found.definitions)
    off = localize(chain(trace), repo, repo.get, retrieve=False)
    # THEN its head is shown within the share, and without the search nothing beyond the trace is
    searched = [s for s in ctx.snippets if s.found_by == "search"]
    assert searched and sum(estimate_tokens(s.render()) for s in searched) <= 2_000 // 4
    assert sum(s.end - s.start + 1 for s in searched) <= 40
    # a head bigger than the quarter of a small budget is left out, not cut
    assert not [s for s in small.snippets if s.found_by == "search"]
    assert not [d for d in off.definitions if d.found_by == "search"]


def test_the_search_prefers_the_repositorys_own_code_to_vendored_code() -> None:
    # GIVEN the same definition in the application and in a vendored copy
    repo = {
        "app/_vendor/lib/normalize.py": SETTINGS,
        "app/core/normalize.py": SETTINGS,
        "app/main.py": "def run():\n    return 1\n",
    }
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return 1\n"
        "KeyError: 'register_handler'\n"
    )
    # WHEN
    found = localize(chain(trace), repo, repo.get, limits=Limits(search_hits=1))
    # THEN the application's own copy ranks first
    assert [d.path for d in found.definitions if d.found_by == "search"] == ["app/core/normalize.py"]


def test_the_pr_section_says_which_code_was_found_by_search() -> None:
    # GIVEN a context holding a traced file and a searched one
    repo = {"app/settings.py": SETTINGS, "app/main.py": "def run():\n    return 1\n"}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return 1\n"
        "AttributeError: no attribute 'encode' (in 'unicode_normalizer')\n"
    )
    found = localize(chain(trace), repo, repo.get)
    # WHEN
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=3, definitions=found.definitions)
    # THEN
    assert "app/settings.py: 10-11 (found by search)" in ctx.describe()
    assert "app/main.py: whole file" in ctx.describe()


def _long_module(filler: int) -> str:
    """A traced module: the crashing ``run`` first, then ``filler`` lines of other functions."""
    head = "def run(text):\n    return len(text) + 1\n"
    body = "".join(f"\n\ndef other_{i}(x):\n    return x + {i}\n" for i in range(filler // 4))
    return head + body


@given(filler=st.integers(0, 600), length=st.integers(1, 40))
def test_the_search_never_takes_the_context_across_its_ceiling_of_the_traced_files(filler: int, length: int) -> None:
    # GIVEN a crash in a traced module of any size, naming a function only the search finds
    found_def = "def unicode_normalizer(text):\n" + "".join(f"    v{i} = text[{i}]\n" for i in range(length))
    repo = {"app/main.py": _long_module(filler), "app/text.py": found_def}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/main.py", line 2, in run\n'
        "    return len(text) + 1\n"
        "AttributeError: 'bytes' object has no attribute 'encode' (in 'unicode_normalizer')\n"
    )
    found = localize(chain(trace), repo, repo.get)
    # WHEN the context is chosen with and without what the search found
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
    alone = select_context(
        found.located, repo.get, 6_000, definitions=[d for d in found.definitions if d.found_by == "trace"]
    )
    # THEN the search stays within its quarter of the budget, and a context the trace left under
    # SEARCH_CEILING of the traced file stays under it
    whole = select_context(found.located, repo.get, 10**6, whole_file_lines=10**6).tokens  # the file, as shown
    searched = sum(estimate_tokens(s.render()) for s in ctx.snippets if s.found_by == "search")
    assert searched <= 6_000 // 4
    if alone.tokens < SEARCH_CEILING * whole:
        assert ctx.tokens <= SEARCH_CEILING * whole
    else:  # the trace alone took it over (a small file, shown whole): the share alone applies
        assert searched > 0


NORMALIZER_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/var/task/app/main.py", line 2, in run\n'
    "    return len(text) + 1\n"
    "AttributeError: 'bytes' object has no attribute 'encode' (in 'unicode_normalizer')\n"
)


def _normalizers(count: int) -> dict[str, str]:
    """``count`` modules each defining a function the message's words rank: only the search finds them."""
    return {f"app/norm{i}.py": f"def unicode_normalizer_{i}(text):\n    return text.encode()\n" for i in range(count)}


def test_the_further_search_hits_are_shown_only_under_the_ceiling() -> None:
    # GIVEN five functions the search ranks, beside a long traced module and beside a short one
    long_repo = {"app/main.py": _long_module(800), **_normalizers(5)}
    short_repo = {"app/main.py": _long_module(0), **_normalizers(5)}
    # WHEN their contexts are chosen
    contexts = []
    for repo in (long_repo, short_repo):
        found = localize(chain(NORMALIZER_TRACE), repo, repo.get)
        contexts.append(select_context(found.located, repo.get, 6_000, definitions=found.definitions))
    long_ctx, short_ctx = contexts
    # THEN the long module leaves room for the four best hits; the short one, shown whole, is
    # already over the ceiling and gets the first hits only
    assert len([s for s in long_ctx.snippets if s.found_by == "search"]) == Limits().search_hits == 4
    assert len([s for s in short_ctx.snippets if s.found_by == "search"]) == SEARCH_FIRST


def _trace_lines(ctx: Context) -> set[tuple[str, int]]:
    return {(s.path, n) for s in ctx.snippets if s.found_by == "trace" for n in range(s.start, s.end + 1)}


@given(filler=st.integers(0, 600), count=st.integers(0, 6), inside=st.integers(0, 3), budget=st.integers(500, 8_000))
def test_the_further_search_hits_take_no_room_from_the_trace_nor_cross_the_ceiling(
    filler: int, count: int, inside: int, budget: int
) -> None:
    # GIVEN a traced module of any size and any number of functions only the search finds, in
    # other modules and in the traced one (right under the crashing function, or further down)
    own = "".join(f"\n\ndef unicode_normalizer_own{i}(text):\n    return text.encode()\n" for i in range(inside))
    repo = {"app/main.py": _long_module(filler) + own, **_normalizers(count)}
    found = localize(chain(NORMALIZER_TRACE), repo, repo.get)
    first = localize(chain(NORMALIZER_TRACE), repo, repo.get, limits=Limits(search_hits=SEARCH_FIRST))
    # WHEN the context is chosen with every hit, and with the first ones only
    ctx = select_context(found.located, repo.get, budget, definitions=found.definitions)
    before = select_context(first.located, repo.get, budget, definitions=first.definitions)
    # THEN every line the trace showed is still shown, and the further hits stay under their
    # ceiling: a context the first hits left over it gets nothing more
    assert _trace_lines(before) <= _trace_lines(ctx)
    whole = select_context(found.located, repo.get, 10**6, whole_file_lines=10**6).tokens
    if before.tokens <= FURTHER_CEILING * whole:
        assert ctx.tokens <= FURTHER_CEILING * whole
    else:
        assert ctx.tokens == before.tokens
    assert ctx.tokens <= budget or ctx.tokens == before.tokens


def test_callers_whole_functions_never_take_the_context_across_their_ceiling() -> None:
    # GIVEN a deep stack: each of 6 modules' long function calls the next, the last one raises
    def module(n: int) -> str:
        call = f"    return step{n + 1}(x)\n" if n < 5 else "    return x[1]\n"
        filler = "".join(f"    y{i} = x + {i}\n" for i in range(30))
        return f"def step{n}(x):\n{filler}{call}" + "".join(f"\n\ndef other{i}(x):\n    return x\n" for i in range(40))

    repo = {f"app/m{n}.py": module(n) for n in range(6)}
    frames = "".join(
        f'  File "/var/task/app/m{n}.py", line 32, in step{n}\n'
        + (f"    return step{n + 1}(x)\n" if n < 5 else "    return x[1]\n")
        for n in range(6)
    )
    trace = "Traceback (most recent call last):\n" + frames + "IndexError: list index out of range\n"
    found = localize(chain(trace), repo, repo.get)
    # WHEN the context is chosen with a budget that would hold every caller's function
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
    # THEN the raising function is whole, the callers' lines are shown, and the callers' whole
    # functions stop where the context would cross CALLERS_CEILING of the traced files
    whole = select_context(found.located, repo.get, 10**6, whole_file_lines=10**6).tokens
    assert ctx.covers("app/m5.py", 1) and ctx.covers("app/m5.py", 32)
    assert all(ctx.covers(f"app/m{n}.py", 32) for n in range(5))
    assert ctx.tokens <= CALLERS_CEILING * whole
    assert not all(ctx.covers(f"app/m{n}.py", 1) for n in range(5))


def test_a_searched_secret_merged_into_a_traced_range_is_still_redacted() -> None:
    # GIVEN a traced module whose imports (shown for the trace) sit just above a key the search
    # found (the ranges are merged into one snippet), and a raising function far below
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    text = f'import os\nimport json\n\nSTRIPE_KEY = "{key}"\nTIMEOUT = 3\n\n\n' + "".join(
        f"def f{i}(x):\n" + "".join(f"    x = x + {k}\n" for k in range(12)) + "    return x\n\n\n" for i in range(40)
    )
    repo = {"app/settings.py": text}
    n = next(i for i, line in enumerate(text.splitlines(), 1) if line == "def f6(x):") + 3
    loc = Located(Frame("/var/task/app/settings.py", n, "f6", "x = x + 2"), "app/settings.py", n, "raising")
    searched = Definition(name="STRIPE_KEY", path="app/settings.py", start=4, end=5, used_in="", found_by="search")
    # WHEN
    ctx = select_context([loc], repo.get, 6_000, definitions=[searched])
    # THEN the key's line is shown (merged with the imports) but redacted; the traced code is not
    assert ctx.covers("app/settings.py", 1) and ctx.covers("app/settings.py", 4)
    rendered = ctx.render()
    assert key not in rendered and "STRIPE_KEY" in rendered and "x = x + 2" in rendered


def test_a_trace_through_a_test_only_gives_the_search_its_share_as_a_trace_reaching_no_code() -> None:
    # GIVEN the same long module raising, once as a test's file (an assertion in the test), once as
    # the code's; the message names a long function only the search finds (gap: the bench's
    # snapshots held no test files until `--with-tests`, so a test frame never mapped)
    found_def = "def unicode_normalizer(text):\n" + "".join(f"    v{i} = text[{i}]\n" for i in range(40))
    shown = {}
    for path in ("tests/test_main.py", "app/main.py"):
        repo = {path: _long_module(100), "app/text.py": found_def}
        found = localize(chain(NORMALIZER_TRACE.replace("app/main.py", path)), repo, repo.get)
        # WHEN
        ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
        shown[path] = {s.path for s in ctx.snippets if s.found_by == "search"}
    # THEN the test's file is not the code under repair: its size sets no ceiling, and the found
    # function is shown; the code's own long file keeps the search under its ceiling
    assert shown == {"tests/test_main.py": {"app/text.py"}, "app/main.py": set()}
