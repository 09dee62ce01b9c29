"""Names used in a Python 2 file (``localize._parse_partly``): a file ``ast`` cannot parse whole is
read by its top-level statements that parse alone, so the raising line's names resolve through its
imports as in any file."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.localize import _parse_partly, localize
from chalicelib.core.models import Frame, RaisedException

# IPython 0.13's py3compat.py (shape): an ``exec`` statement makes the whole file Python 2 only
PY3COMPAT = """# coding: utf-8
\"\"\"Compatibility tricks for Python 3.\"\"\"
import sys

from .encoding import DEFAULT_ENCODING


def decode(s, encoding=None):
    encoding = encoding or DEFAULT_ENCODING
    return s.decode(encoding, "replace")


def execfile(fname, glob=None):
    exec compile(open(fname).read(), fname, 'exec') in glob
"""
ENCODING = """import sys


def getdefaultencoding():
    enc = sys.stdin.encoding
    return enc or sys.getdefaultencoding()

DEFAULT_ENCODING = getdefaultencoding()
"""


def test_a_python2_files_raising_line_resolves_its_names_through_the_imports() -> None:
    # GIVEN the raising line in a file with a Python 2 statement elsewhere
    repo = {"IPython/utils/py3compat.py": PY3COMPAT, "IPython/utils/encoding.py": ENCODING}
    frame = Frame(
        "c:\\\\dev\\\\ipython\\\\IPython\\\\utils\\\\py3compat.py", 10, "decode", 'return s.decode(encoding, "replace")'
    )
    exc = RaisedException("LookupError", "unknown encoding: cp0", (frame,))
    # WHEN
    found = localize((exc,), repo, repo.get, retrieve=False)
    # THEN the constant the local falls back to, and the function computing it, are reached
    names = {(d.name, d.path) for d in found.definitions}
    assert ("DEFAULT_ENCODING", "IPython/utils/encoding.py") in names
    assert ("getdefaultencoding", "IPython/utils/encoding.py") in names


def test_the_statements_that_do_not_parse_are_left_out_at_their_line_numbers() -> None:
    tree = _parse_partly(PY3COMPAT)
    assert tree is not None
    assert [getattr(n, "name", None) or type(n).__name__ for n in tree.body] == [
        "Expr", "Import", "ImportFrom", "decode",
    ]  # fmt: skip
    assert [n.lineno for n in tree.body] == [2, 3, 5, 8]


@given(st.lists(st.sampled_from(["print 'x'", "y = 1", "def f():\n    return 2", "exec 'z'"]), max_size=8))
def test_only_statements_that_parse_alone_are_kept(statements: list[str]) -> None:
    text = "\n".join(statements)
    tree = _parse_partly(text)
    kept = [s for s in statements if not s.startswith(("print", "exec"))]
    assert (tree is None) == (not kept)
    if tree is not None:
        assert len(tree.body) == len(kept)
