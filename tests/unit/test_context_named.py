"""The file named after the failing library in the context: found by search, shown within the
search's share whatever the traced files' size, the other finds kept under their ceiling."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core.context import SEARCH_CEILING, estimate_tokens, select_context
from chalicelib.core.localize import localize
from chalicelib.core.tracebacks import find_in_text

if TYPE_CHECKING:
    from chalicelib.core.models import RaisedException

HOOK = "hiddenimports = ['lxml._elementpath', 'gzip']\n"


def _loader(filler: int) -> str:
    """The repository's import loader, then ``filler`` lines of other functions."""
    head = "def load_module(name):\n    return exec_module(name)\n"
    return head + "".join(f"\n\ndef other_{i}(x):\n    return x + {i}\n" for i in range(filler // 4))


TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/var/task/app/loader.py", line 2, in load_module\n'
    "    return exec_module(name)\n"
    '  File "src/lxml/serializer.pxi", line 625, in init lxml.etree\n'
    "ImportError: No module named contextlib\n"
)


def _chain(text: str) -> tuple[RaisedException, ...]:
    return find_in_text(text)[0].exceptions


@settings(max_examples=20, deadline=None)
@given(filler=st.integers(0, 1_200))
def test_the_hook_of_the_failing_library_is_shown_and_the_other_finds_stay_under_their_ceiling(filler: int) -> None:
    # GIVEN a frozen app's import failing in lxml.etree, a hook per library, and a function the
    # message's words would find
    repo = {
        "app/loader.py": _loader(filler),
        "app/hooks/hook-lxml.etree.py": HOOK,
        "app/hooks/hook-django.py": "hiddenimports = ['django.core']\n",
        "app/compat.py": "def contextlib_exec_module_fallback(name):\n    return name\n",
    }
    # WHEN
    found = localize(_chain(TRACE), repo, repo.get)
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
    alone = select_context(
        found.located, repo.get, 6_000, definitions=[d for d in found.definitions if d.found_by == "trace"]
    )
    # THEN lxml.etree's hook is shown, found by search, whatever the loader's size; no other hook is
    searched = {s.path: s for s in ctx.snippets if s.found_by == "search"}
    assert "app/hooks/hook-lxml.etree.py" in searched
    assert "app/hooks/hook-django.py" not in searched
    named = estimate_tokens(searched["app/hooks/hook-lxml.etree.py"].render())
    assert sum(estimate_tokens(s.render()) for s in searched.values()) <= 6_000 // 4
    # and the other finds never take a context the trace left under the ceiling across it
    whole = select_context(found.located, repo.get, 10**6, whole_file_lines=10**6).tokens
    if alone.tokens + named < SEARCH_CEILING * whole:
        assert ctx.tokens <= SEARCH_CEILING * whole
