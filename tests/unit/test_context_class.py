"""Code of a traced file around the traced methods and calls: the attribute statements of a traced
method's class, and the module-level statement binding a called name to the function that ran
(``core/related.py``, context steps of ``core/context.py``)."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.core import related
from chalicelib.core.context import select_context
from chalicelib.core.localize import localize, rejoin
from chalicelib.core.tracebacks import find_in_text

# A hoster plugin: the base class's parser reads the patterns the subclass declares.
BASE = '''"""Simple hoster."""
import re


class PluginParseError(Exception):
    pass


class SimpleHoster:
    FILE_NAME_PATTERN = None

    def process(self, pyfile):
        self.getFileInfo()

    def getFileInfo(self):
        found = re.search(self.FILE_NAME_PATTERN, self.html)
        if found is None:
            self.parseError("File info")
        return found

    def parseError(self, msg):
        raise PluginParseError(msg)
'''

PLUGIN = '''"""A hoster."""
from plugins.internal.SimpleHoster import SimpleHoster


class LoadTo(SimpleHoster):
    __name__ = "LoadTo"
    __version__ = "0.15"

    FILE_NAME_PATTERN = r"<head><title>(?P<N>.+) // Load.to</title>"
    FILE_SIZE_PATTERN = r"Size: (?P<S>.*)"

    def setup(self):
        self.multiDL = True

    def process(self, pyfile):
        self.html = self.load(pyfile.url)
        self.getFileInfo()
        self.download(self.html)

    def download(self, html):
        return html


def create_getInfo(plugin):
    return plugin
'''

# A vendored module choosing an implementation at import time.
APPDIRS = '''"""Application directories."""
import os
import sys


def user_data_dir(appname):
    const = "CSIDL_LOCAL_APPDATA"
    path = os.path.join(_get_win_folder(const), appname)
    return path


def _get_win_folder_with_pywin32(csidl_name):
    from win32com.shell import shellcon, shell
    return shell.SHGetFolderPath(0, getattr(shellcon, csidl_name), 0, 0)


def _get_win_folder_with_ctypes(csidl_name):
    import ctypes
    return ctypes.windll.shell32


if sys.platform == "win32":
    try:
        import win32com.shell
        _get_win_folder = _get_win_folder_with_pywin32
    except ImportError:
        _get_win_folder = _get_win_folder_with_ctypes


def unrelated():
    return 1
'''


def lines_of(source: str, text: str) -> int:
    return source.splitlines().index(text) + 1


def trace(*frames: tuple[str, str, str, str]) -> str:
    """A traceback's text through ``frames`` (path, its source, the printed line, the function)."""
    lines = ["Traceback (most recent call last):"]
    for path, source, text, function in frames:
        lines += [f'  File "/var/task/{path}", line {lines_of(source, text)}, in {function}', "    " + text.strip()]
    return "\n".join(lines) + "\n"


def chain(text: str):  # noqa: ANN201 - the chain's exceptions
    [tb] = rejoin(find_in_text(text))
    return tb.exceptions


def test_the_attributes_of_the_traced_method_class_are_found_with_its_class_line() -> None:
    # GIVEN LoadTo.process, whose base class's parser reads the patterns LoadTo declares
    tree = ast.parse(PLUGIN)
    line = lines_of(PLUGIN, "        self.getFileInfo()")
    # WHEN
    found = related.class_attributes(tree, line)
    # THEN the class line and every attribute statement, not the methods
    head = lines_of(PLUGIN, "class LoadTo(SimpleHoster):")
    assert found == [(n, n) for n in (head, head + 1, head + 2, head + 4, head + 5)]
    assert not any(s <= lines_of(PLUGIN, "    def setup(self):") <= e for s, e in found)


def test_the_attributes_the_method_reads_come_first_when_the_class_has_more_than_fit() -> None:
    # GIVEN a limit of three lines: the class line and two statements
    line = lines_of(BASE, '            self.parseError("File info")')
    source = BASE.replace("    FILE_NAME_PATTERN = None\n", "    A = 1\n    B = 2\n    FILE_NAME_PATTERN = None\n")
    line += 2
    # WHEN
    found = related.class_attributes(ast.parse(source), line, limit=3)
    # THEN the pattern getFileInfo reads through self first, then the first in the class's order
    assert found == [
        (lines_of(source, "class SimpleHoster:"),) * 2,
        (lines_of(source, "    A = 1"),) * 2,
        (lines_of(source, "    FILE_NAME_PATTERN = None"),) * 2,
    ]


def test_a_function_outside_a_class_or_a_class_without_attributes_gives_nothing() -> None:
    tree = ast.parse(PLUGIN)
    assert related.class_attributes(tree, lines_of(PLUGIN, "    return plugin")) == []
    bare = "class Bare:\n    '''Doc.'''\n\n    def run(self):\n        return self.x\n"
    assert related.class_attributes(ast.parse(bare), 5) == []


@st.composite
def plugin_classes(draw: st.DrawFn) -> str:
    """A class of attribute statements (some spanning lines) and methods, in any order."""
    body = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["attr", "long", "ann", "method"]))
        if kind == "attr":
            body.append(f"    A{i} = {i}\n")
        elif kind == "long":
            body.append(f"    L{i} = (\n        {i},\n        {i + 1},\n    )\n")
        elif kind == "ann":
            body.append(f"    F{i}: int = {i}\n")
        else:
            body.append(f"    def m{i}(self):\n        return self.A{i}\n")
    return "class C:\n" + "".join(body) + "    def run(self):\n        return self.A0\n"


@settings(max_examples=60, deadline=None)
@given(plugin_classes(), st.integers(2, 12))
def test_class_attributes_are_inside_the_class_outside_its_methods_within_the_limit(source: str, limit: int) -> None:
    # GIVEN any class and its `run` method's line
    tree = ast.parse(source)
    [klass] = tree.body
    methods = [(m.lineno, m.end_lineno) for m in klass.body if isinstance(m, ast.FunctionDef)]
    line = lines_of(source, "        return self.A0")
    # WHEN
    found = related.class_attributes(tree, line, limit=limit)
    # THEN within the limit, inside the class, never a method's line, each a whole statement
    assert sum(e - s + 1 for s, e in found) <= limit
    starts = {s.lineno: s.end_lineno for s in klass.body if not isinstance(s, ast.FunctionDef)}
    for s, e in found:
        assert klass.lineno <= s <= e <= klass.end_lineno
        assert not any(ms <= s <= me for ms, me in methods)
        assert s == klass.lineno or starts[s] == e


def test_the_binding_of_a_called_name_to_the_function_that_ran_is_its_top_level_block() -> None:
    # GIVEN a caller's line calling _get_win_folder, and the frame it ran: the pywin32 variant
    tree = ast.parse(APPDIRS)
    # WHEN
    found = related.bindings(tree, {"join", "_get_win_folder"}, {"user_data_dir", "_get_win_folder_with_pywin32"})
    # THEN the whole `if sys.platform …: try: … except ImportError:` statement
    start = lines_of(APPDIRS, 'if sys.platform == "win32":')
    assert found == [(start, lines_of(APPDIRS, "        _get_win_folder = _get_win_folder_with_ctypes"))]


def test_a_long_top_level_block_shows_the_innermost_short_block_holding_the_binding() -> None:
    # GIVEN the same choice under a top-level `if` longer than MAX_BINDING_LINES
    filler = "".join(f"    X{i} = {i}\n" for i in range(related.MAX_BINDING_LINES))
    source = APPDIRS.replace('if sys.platform == "win32":\n', 'if sys.platform == "win32":\n' + filler)
    # WHEN
    found = related.bindings(ast.parse(source), {"_get_win_folder"}, {"_get_win_folder_with_pywin32"})
    # THEN the `try` statement alone
    assert found == [
        (lines_of(source, "    try:"), lines_of(source, "        _get_win_folder = _get_win_folder_with_ctypes"))
    ]


def test_no_binding_when_the_called_name_is_the_function_that_ran_or_binds_another() -> None:
    tree = ast.parse(APPDIRS)
    # the called function is the one that ran: no indirection to show
    assert related.bindings(tree, {"_get_win_folder_with_pywin32"}, {"_get_win_folder_with_pywin32"}) == []
    # the name is bound, but to a function no frame ran
    assert related.bindings(tree, {"_get_win_folder"}, {"user_data_dir"}) == []


def test_select_context_shows_the_subclass_attributes_and_the_binding() -> None:
    # GIVEN a parse error raised in the base class for LoadTo, and the appdirs import failure
    plugin_trace = (
        trace(
            ("plugins/hoster/LoadTo.py", PLUGIN, "        self.getFileInfo()", "process"),
            ("plugins/internal/SimpleHoster.py", BASE, '            self.parseError("File info")', "getFileInfo"),
            ("plugins/internal/SimpleHoster.py", BASE, "        raise PluginParseError(msg)", "parseError"),
        )
        + "plugins.internal.SimpleHoster.PluginParseError: File info\n"
    )
    vendored_path = "conda/_vendor/appdirs.py"
    appdirs_trace = (
        trace(
            (vendored_path, APPDIRS, "    path = os.path.join(_get_win_folder(const), appname)", "user_data_dir"),
            (vendored_path, APPDIRS, "    from win32com.shell import shellcon, shell", "_get_win_folder_with_pywin32"),
        )
        + "ImportError: DLL load failed\n"
    )
    plugins = {"plugins/internal/SimpleHoster.py": BASE, "plugins/hoster/LoadTo.py": PLUGIN}
    vendored = {"conda/_vendor/appdirs.py": APPDIRS}
    # WHEN (files too long to be shown whole)
    shown = {}
    for name, repo, text in (("plugin", plugins, plugin_trace), ("appdirs", vendored, appdirs_trace)):
        found = localize(chain(text), list(repo), repo.get, retrieve=False)
        shown[name] = select_context(found.located, repo.get, 6_000, whole_file_lines=5)
    # THEN the patterns LoadTo declares are shown (its process calls self.getFileInfo, which the
    # next frame runs in the base class's module), its unrelated method is not
    plugin = shown["plugin"]
    for text in ('    __version__ = "0.15"', '    FILE_NAME_PATTERN = r"<head><title>(?P<N>.+) // Load.to</title>"'):
        assert plugin.covers("plugins/hoster/LoadTo.py", lines_of(PLUGIN, text))
    assert not plugin.covers("plugins/hoster/LoadTo.py", lines_of(PLUGIN, "        self.multiDL = True"))
    # AND not the base class's: its parser calls parseError in its own file, no subclass reached it
    assert not plugin.covers("plugins/internal/SimpleHoster.py", lines_of(BASE, "    FILE_NAME_PATTERN = None"))
    # AND the block choosing the pywin32 variant is shown, the unrelated function is not
    appdirs = shown["appdirs"]
    path = "conda/_vendor/appdirs.py"
    assert appdirs.covers(path, lines_of(APPDIRS, "        import win32com.shell"))
    assert appdirs.covers(path, lines_of(APPDIRS, "        _get_win_folder = _get_win_folder_with_ctypes"))
    assert not appdirs.covers(path, lines_of(APPDIRS, "    return 1"))
