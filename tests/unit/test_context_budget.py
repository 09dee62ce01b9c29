"""Context selection: the budget goes to raising functions first, then definitions, then callers."""

from __future__ import annotations

from chalicelib.core.context import select_context, shown_section
from chalicelib.core.localize import Definition, Located
from chalicelib.core.models import Frame


def big_module(name: str, functions: int = 12, body: int = 12) -> str:
    """A module of ``functions`` functions of ``body`` lines each (too long to be shown whole)."""
    out = [f'"""{name}."""', ""]
    for f in range(functions):
        out += ["", f"def f{f}(x):"] + [f"    x = x + {k}  # step {k} of f{f}" for k in range(body)] + ["    return x"]
    return "\n".join(out) + "\n"


FILES = {"app/a.py": big_module("a"), "app/b.py": big_module("b"), "app/c.py": big_module("c")}


def line_of(path: str, text: str) -> int:
    return next(n for n, ln in enumerate(FILES[path].splitlines(), 1) if ln.strip().startswith(text))


def at(path: str, function: str, text: str, evidence: str = "raising") -> Located:
    n = line_of(path, text)
    return Located(Frame(f"/var/task/{path}", n, function, text), path, n, evidence)  # type: ignore[arg-type]


def function_range(path: str, name: str) -> tuple[int, int]:
    start = line_of(path, f"def {name}(")
    return start, start + 13


def test_the_raising_function_is_shown_whole_before_any_caller_window() -> None:
    # GIVEN a raising frame in f5 of a.py and a caller in f2 of b.py
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    caller = at("app/b.py", "f2", "x = x + 3  # step 3 of f2", "caller")
    # WHEN the budget fits the raising function but not more
    budget = select_context([raising], FILES.get).tokens + 20
    ctx = select_context([raising, caller], FILES.get, budget_tokens=budget)
    # THEN the whole raising function, no caller
    start, end = function_range("app/a.py", "f5")
    assert all(ctx.covers("app/a.py", n) for n in range(start, end + 1))
    assert not any(s.path == "app/b.py" for s in ctx.snippets)
    assert ctx.tokens <= budget


def test_the_first_raising_window_is_kept_whatever_the_budget() -> None:
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    ctx = select_context([raising], FILES.get, budget_tokens=1)
    assert ctx.covers("app/a.py", raising.line)
    assert ">>" in ctx.render()


def test_the_cause_comes_before_the_callers_and_definitions_before_caller_windows() -> None:
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    cause = at("app/c.py", "f7", "x = x + 2  # step 2 of f7", "cause")
    caller = at("app/b.py", "f2", "x = x + 3  # step 3 of f2", "caller")
    start, end = function_range("app/b.py", "f9")
    definition = Definition("f9", "app/b.py", start, end, "app/a.py")
    # WHEN the budget fits both raising functions and the definition, not the caller
    ctx = select_context([raising, cause, caller], FILES.get, budget_tokens=800, definitions=[definition])
    # THEN
    assert ctx.covers("app/c.py", cause.line)
    assert all(ctx.covers("app/b.py", n) for n in range(start, end + 1))
    assert ctx.tokens <= 800
    # and with room for everything, the caller's window and function come too
    roomy = select_context([raising, cause, caller], FILES.get, budget_tokens=50_000, definitions=[definition])
    assert all(roomy.covers("app/b.py", n) for n in range(*function_range("app/b.py", "f2")))


def test_the_marked_line_is_the_refound_line_not_the_logged_one() -> None:
    n = line_of("app/a.py", "x = x + 11  # step 11 of f5")
    loc = Located(Frame("/var/task/app/a.py", 3, "f5", "x = x + 11  # step 11 of f5"), "app/a.py", n, "raising")
    rendered = select_context([loc], FILES.get).render()
    assert f">>{n:>5} |     x = x + 11  # step 11 of f5" in rendered


def test_a_small_file_is_shown_whole_and_extra_files_come_last() -> None:
    files = {**FILES, "app/small.py": "def g():\n    return 1 / 0\n", "Makefile": "test:\n\tpytest\n"}
    loc = Located(Frame("/var/task/app/small.py", 2, "g", "return 1 / 0"), "app/small.py", 2, "raising")
    ctx = select_context([loc], files.get, extra=["Makefile"])
    assert ctx.shown == (("app/small.py", 1, 2), ("Makefile", 1, 2))
    assert "(whole file)" in ctx.render()


def test_what_was_shown_is_reported_for_the_pr() -> None:
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    ctx = select_context([raising], FILES.get)
    start, end = function_range("app/a.py", "f5")
    assert ctx.shown == (("app/a.py", start, end),)
    assert shown_section(ctx) == f"\n\n## Code shown to the model\n- `app/a.py: {start}-{end}`"


def test_the_raising_files_imports_are_shown_so_a_fix_can_add_one() -> None:
    # GIVEN a long module whose raising function is far below its imports
    text = '"""m."""\n\nimport os\nfrom json import loads\n\n' + big_module("m").split('"""m."""', 1)[1]
    files = {"app/m.py": text}
    n = next(i for i, ln in enumerate(text.splitlines(), 1) if "step 4 of f9" in ln)
    loc = Located(Frame("/var/task/app/m.py", n, "f9", ""), "app/m.py", n, "raising")
    # WHEN
    ctx = select_context([loc], files.get)
    # THEN lines 3-4 (the imports) are shown beside the raising function
    assert ctx.covers("app/m.py", 3) and ctx.covers("app/m.py", 4) and not ctx.covers("app/m.py", 20)


def test_a_callers_window_is_half_the_raising_window() -> None:
    # GIVEN a raising frame in a.py and a caller in the middle of a 42-line function of b.py
    files = {**FILES, "app/b.py": big_module("b", body=40)}
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    n = next(i for i, ln in enumerate(files["app/b.py"].splitlines(), 1) if "step 20 of f6" in ln)
    caller = Located(Frame("/var/task/app/b.py", n, "f6", ""), "app/b.py", n, "caller")
    alone = select_context([raising], files.get, budget_tokens=50_000)
    # WHEN the budget holds the raising function and about ten more lines
    ctx = select_context([raising, caller], files.get, budget_tokens=alone.tokens + 150, window=8)
    # THEN the caller's line is shown with 4 lines either side (a window of 8 would not fit)
    assert all(ctx.covers("app/b.py", k) for k in range(n - 4, n + 5))
    assert not ctx.covers("app/b.py", n - 5) and not ctx.covers("app/b.py", n + 5)


def test_the_imports_of_a_callers_file_are_shown_when_the_context_is_small() -> None:
    # GIVEN a caller in a long module whose imports sit far above the calling function
    text = '"""m."""\n\nimport os\nfrom json import loads\n\n' + big_module("m").split('"""m."""', 1)[1]
    files = {**FILES, "app/m.py": text}
    n = next(i for i, ln in enumerate(text.splitlines(), 1) if "step 4 of f9" in ln)
    caller = Located(Frame("/var/task/app/m.py", n, "f9", ""), "app/m.py", n, "caller")
    raising = at("app/a.py", "f5", "x = x + 11  # step 11 of f5")
    # WHEN the context is well under its share of the traced files
    ctx = select_context([raising, caller], files.get)
    # THEN the caller's file shows its imports too: a fix there may need one
    assert ctx.covers("app/m.py", 3) and ctx.covers("app/m.py", 4) and ctx.covers("app/m.py", n)
    # and with a budget the calling function just fills, the imports are not forced in
    tight = select_context([raising, caller], files.get, budget_tokens=ctx.tokens - 20)
    assert not tight.covers("app/m.py", 3)
