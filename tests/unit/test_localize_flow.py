"""What a reader of the trace opens that lies past the frames' own lines: frame headers a reporter
pasted at column 0 or after a line of prose (``unwrap``), the imports of a module a ``NameError``
says lacks a name (``undefined_name_definitions``), and where the bad value was made across a call
(``flow_definitions``): inside the long function that returned it, or in the caller's class that
set the attribute it passed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.context import select_context
from chalicelib.core.localize import localize, read_pasted, unwrap
from chalicelib.core.models import Frame, RaisedException

# --- frame headers pasted at column 0, or after prose ----------------------------------------------

# fabric (shape): a Windows console wrapped the header after "in", the reporter pasted it unindented
COLUMN_0 = (
    "Fix for TypeError - convert prompt from unicode to ascii\n"
    "\n"
    'File "/var/task/fabric/network.py", line 488, in\n'
    "prompt_for_password\n"
    "new_password = getpass.getpass(password_prompt, stream)\n"
    'File "C:\\Python27\\Lib\\getpass.py", line 95, in win_getpass\n'
    "msvcrt.putch(c)\n"
    "TypeError: must be char, not unicode\n"
)


def test_a_header_wrapped_at_column_0_is_joined() -> None:
    # GIVEN a trace pasted without its indentation, one header cut after "in"
    # WHEN
    [tb] = read_pasted(COLUMN_0.encode())
    # THEN the repository's frame is read with its function, before the library's
    assert [(f.file, f.line, f.function) for f in tb.final.frames] == [
        ("/var/task/fabric/network.py", 488, "prompt_for_password"),
        ("C:\\Python27\\Lib\\getpass.py", 95, "win_getpass"),
    ]


# pyinstaller (shape): the first header follows the commit message's words on the same line
PROSE = (
    "NameError: name 'sys' is not defined\n"
    "\n"
    'Fixes this error: File "/var/task/PyInstaller/building/build_main.py", line 701, in build\n'
    "    exec(text, spec_namespace)\n"
    '  File "<string>", line 12, in <module>\n'
    "NameError: name 'sys' is not defined\n"
)


def test_a_header_after_prose_on_its_line_is_read_as_a_frame() -> None:
    [tb] = read_pasted(PROSE.encode())
    assert [(f.file, f.function) for f in tb.final.frames] == [
        ("/var/task/PyInstaller/building/build_main.py", "build"),
        ("<string>", "<module>"),
    ]
    assert tb.final.frames[0].source == "exec(text, spec_namespace)"


@given(st.from_regex(r"[A-Za-z]+ [A-Za-z ,]{0,40}[a-z]:", fullmatch=True))
def test_any_prose_before_a_header_is_split_from_it(prose: str) -> None:
    # GIVEN any words (two or more: `Error: File …` is an exception line quoting a header) ending
    # in a colon, then a whole frame header one space after them (property)
    header = 'File "/var/task/app/m.py", line 3, in handler'
    text = f"{prose} {header}\n    return d[k]\nKeyError: 'k'\n"
    # WHEN / THEN the prose keeps its line and the header gets its own
    assert unwrap(text).split("\n")[:2] == [prose, f"  {header}"]
    [tb] = read_pasted(text.encode())
    assert [(f.file, f.line, f.function) for f in tb.final.frames] == [("/var/task/app/m.py", 3, "handler")]


def test_a_header_alone_or_a_quoted_one_is_left_as_it_is() -> None:
    # GIVEN an indented header on its own line, prose quoting a header that is not whole, an
    # exception line whose message quotes a whole one, and a log prefix the reader strips
    text = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/m.py", line 3, in handler\n'
        "    return d[k]\n"
        "KeyError: 'k'\n"
        'see File "/var/task/app/m.py", line 3 for the lookup\n'
        'RuntimeError: worker failed at File "/var/task/app/w.py", line 7, in run\n'
        '[ERROR]   File "/var/task/app/w.py", line 7, in run\n'
    )
    # WHEN / THEN nothing is split
    assert unwrap(text) == text


def test_a_whole_header_at_column_0_keeps_its_one_word_source() -> None:
    # GIVEN an unindented paste whose frame runs a bare `raise`
    text = (
        'Traceback (most recent call last):\nFile "/var/task/app/x.py", line 3, in handler\nraise\nRuntimeError: boom\n'
    )
    # WHEN / THEN the source is not taken for the rest of the function's name
    assert unwrap(text) == text
    [tb] = read_pasted(text.encode())
    assert [(f.function, f.source) for f in tb.final.frames] == [("handler", "raise")]


# --- a NameError: the module's imports ---------------------------------------------------------------

# bpython (shape): 46 lines of imports (more than the context's own import step shows), one of them
# under an `if`, then the code that uses a name none of them binds
CLI = (
    '"""The curses front end."""\n'
    "from __future__ import division\n"
    "\n" + "".join(f"import mod_{i}\n" for i in range(20)) + "if platform.system() != 'Windows':\n"
    "    import termios\n"
    "\n" + "".join(f"from .part_{i} import name_{i}\n" for i in range(20)) + "from . import repl\n"
    "\n"
    "stdscr = None\n"
    "\n"
    "\n"
    "def main_curses(interpreter, args):\n"
    "    bpython.args.exec_code(interpreter, args)\n"
)
CALL_LINE = CLI.split("\n").index("    bpython.args.exec_code(interpreter, args)") + 1


def _name_error(file: str, line: int, function: str, source: str, name: str) -> RaisedException:
    return RaisedException("NameError", f"name '{name}' is not defined", (Frame(file, line, function, source),))


def test_a_name_error_shows_every_import_of_the_raising_module() -> None:
    # GIVEN a NameError raised in the repository's module
    repo = {"bpython/cli.py": CLI}
    exc = _name_error("/var/task/bpython/cli.py", CALL_LINE, "main_curses", "bpython.args.exec_code()", "bpython")
    # WHEN
    found = localize((exc,), repo, repo.get, retrieve=False)
    context = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
    # THEN its imports, from the first to the last before the code, are a definition, and shown
    first = CLI.split("\n").index("from __future__ import division") + 1
    last = CLI.split("\n").index("from . import repl") + 1
    assert ("bpython", "bpython/cli.py", first, last) in {(d.name, d.path, d.start, d.end) for d in found.definitions}
    assert all(context.covers("bpython/cli.py", n) for n in range(first, last + 1))


def test_a_name_error_raised_outside_the_repository_adds_no_imports() -> None:
    # GIVEN the NameError raised in an exec'd string the repository's frame ran
    repo = {"bpython/cli.py": CLI}
    exc = RaisedException(
        "NameError",
        "name 'sys' is not defined",
        (
            Frame("/var/task/bpython/cli.py", CALL_LINE, "main_curses", "bpython.args.exec_code()"),
            Frame("<string>", 12, "<module>", ""),
        ),
    )
    # WHEN / THEN the imports of the module that ran it are no definition: the name is missing elsewhere
    found = localize((exc,), repo, repo.get, retrieve=False)
    assert all(d.name != "sys" for d in found.definitions)


def test_another_error_or_a_module_without_imports_adds_none() -> None:
    repo = {"bpython/cli.py": CLI, "app/plain.py": "def f():\n    return x\n"}
    frame = Frame("/var/task/bpython/cli.py", CALL_LINE, "main_curses")
    other = RaisedException("AttributeError", "'X' object has no attribute 'y'", (frame,))
    plain = _name_error("/var/task/app/plain.py", 2, "f", "return x", "x")
    for exc, name in ((other, "y"), (plain, "x")):
        found = localize((exc,), repo, repo.get, retrieve=False)
        assert all(d.name != name for d in found.definitions)


# --- the bad value across a call -------------------------------------------------------------------

# WeasyPrint (shape): the raising function checks what a long function of another module returned;
# the fix is the last assignment of the name the caller bound the result to
FILLER = "".join(f"    step_{i} = compute({i})\n" for i in range(160))
TEXT = (
    "def split_first_line(text, width):\n"
    "    resume_at = None\n"
    "    if not text:\n"
    "        return None, 0, None\n" + FILLER + "    if width < 0:\n"
    "        resume_at = width_index(text)\n"
    "        first = next(lines, None)\n"
    "    return first_line_metrics(first, text, resume_at)\n"
)
INLINES = (
    "from weasy.text import split_first_line\n"
    "\n"
    "\n"
    "def split_text_box(text, width):\n"
    "    layout, length, resume_at = split_first_line(text, width)\n"
    "    between = text[length:resume_at]\n"
    "    assert between in ('\\n',), between\n"
)


def test_the_names_a_long_function_returns_are_shown_where_it_assigns_them() -> None:
    # GIVEN an assertion on a value computed from what a 170-line function returned
    repo = {"weasy/text.py": TEXT, "weasy/inlines.py": INLINES}
    exc = RaisedException(
        "AssertionError", "'1,'", (Frame("/var/task/weasy/inlines.py", 7, "split_text_box", "assert between"),)
    )
    # WHEN
    found = localize((exc,), repo, repo.get, retrieve=False)
    context = select_context(found.located, repo.get, 6_000, definitions=found.definitions)
    # THEN the function's last assignments of `resume_at` and its returns are shown, not its body
    lines = TEXT.split("\n")
    fix = lines.index("        resume_at = width_index(text)") + 1
    assert context.covers("weasy/text.py", fix)
    assert context.covers("weasy/text.py", lines.index("    return first_line_metrics(first, text, resume_at)") + 1)
    assert context.covers("weasy/text.py", lines.index("        return None, 0, None") + 1)
    assert not context.covers("weasy/text.py", lines.index("    step_80 = compute(80)") + 1)


def test_a_short_function_that_returned_the_value_adds_no_windows() -> None:
    # GIVEN the same caller, and a function short enough to be shown whole
    short = "def split_first_line(text, width):\n    resume_at = width\n    return None, 0, resume_at\n"
    repo = {"weasy/text.py": short, "weasy/inlines.py": INLINES}
    exc = RaisedException("AssertionError", "", (Frame("/var/task/weasy/inlines.py", 7, "split_text_box"),))
    # WHEN / THEN it is one definition, whole
    found = localize((exc,), repo, repo.get, retrieve=False)
    assert [(d.start, d.end) for d in found.definitions if d.path == "weasy/text.py"] == [(1, 3)]


# luigi (shape): the library failed on a path the raising method received; the caller passed
# `self.download_file_location`, set in the constructor from the blob's whole name
AZURE = '''import os
import tempfile


class AzureBlobClient:
    def download_as_file(self, container, blob, location):
        """Download a blob to a local file."""
        return self.connection.get_blob_to_path(container, blob, location)


class ReadableAzureBlobFile:
    def __init__(self, container, blob, client):
        self.container = container
        self.blob = blob
        self.client = client
        self.closed = False
        tmp_dir = tempfile.mkdtemp()
        self.download_file_location = os.path.join(tmp_dir, blob)

    def read(self):
        return self.closed

    def __enter__(self):
        self.client.download_as_file(self.container, self.blob, self.download_file_location)
        return self
'''


def _azure_trace() -> RaisedException:
    return RaisedException(
        "FileNotFoundError",
        "[Errno 2] No such file or directory: '/tmp/x/path/to/movie.txt'",
        (
            Frame("/var/task/luigi/contrib/azureblob.py", 24, "__enter__", "self.client.download_as_file(...)"),
            Frame("/var/task/luigi/contrib/azureblob.py", 8, "download_as_file", "return self.connection.get_blob"),
            Frame("/var/task/azure/storage/blob/baseblobservice.py", 1765, "get_blob_to_path", "with open(p) as s:"),
        ),
    )


def test_the_attribute_a_caller_passed_for_a_parameter_is_shown_where_it_is_set() -> None:
    # GIVEN the raising method passing its parameters on, its caller passing `self.<attr>` for them
    repo = {"luigi/contrib/azureblob.py": AZURE}
    # WHEN
    found = localize((_azure_trace(),), repo, repo.get, retrieve=False)
    # THEN the constructor's statements setting those attributes are definitions; what the caller
    # did not pass (`self.closed`) is not
    lines = AZURE.split("\n")
    at = {d.name: d.start for d in found.definitions}
    setting = "        self.download_file_location = os.path.join(tmp_dir, blob)"
    assert at["download_file_location"] == lines.index(setting) + 1
    assert at["container"] == lines.index("        self.container = container") + 1
    assert "closed" not in at


def test_a_parameter_reassigned_before_the_raising_line_is_not_followed_to_the_caller() -> None:
    # GIVEN the raising method replacing the location it received before using it
    azure = AZURE.replace(
        '        """Download a blob to a local file."""\n',
        "        location = os.path.basename(location)\n",
    )
    repo = {"luigi/contrib/azureblob.py": azure}
    # WHEN / THEN the caller's attribute for it is not a definition (the others still are)
    found = localize((_azure_trace(),), repo, repo.get, retrieve=False)
    names = {d.name for d in found.definitions}
    assert "download_file_location" not in names
    assert "container" in names


def test_a_value_made_by_a_local_callable_is_not_followed() -> None:
    # GIVEN the value the raising line reads made by calling a local variable (a callback)
    source = "def run(make, text):\n    split = make\n    first, rest = split(text)\n    return rest[3]\n"
    repo = {"app/run.py": source}
    exc = RaisedException("IndexError", "list index out of range", (Frame("/var/task/app/run.py", 4, "run"),))
    # WHEN / THEN localization goes on, with nothing to follow the value into
    found = localize((exc,), repo, repo.get, retrieve=False)
    assert [loc.path for loc in found.located] == ["app/run.py"]
    assert found.definitions == ()


def _azure_called_as(call: str, above: str = "") -> set[str]:
    """The attributes followed to the constructor when ``__enter__`` calls ``download_as_file``
    as ``call`` (and the raising method runs ``above`` first)."""
    azure = AZURE.replace(
        "        self.client.download_as_file(self.container, self.blob, self.download_file_location)\n",
        f"        {call}\n",
    ).replace('        """Download a blob to a local file."""\n', f"        {above or 'pass'}\n")
    repo = {"luigi/contrib/azureblob.py": azure}
    found = localize((_azure_trace(),), repo, repo.get, retrieve=False)
    return {d.name for d in found.definitions} & {"container", "blob", "download_file_location", "closed"}


def test_arguments_map_to_parameters_by_position_keyword_and_unbound_calls() -> None:
    # an unbound call names `self` itself: the positions are not shifted
    assert _azure_called_as("AzureBlobClient.download_as_file(self, self.closed, self.blob, self.container)") == {
        "closed",
        "blob",
        "container",
    }
    # keywords map by name; after *args no position is known
    assert _azure_called_as("self.client.download_as_file(*self.blob, location=self.container)") == {"container"}
    # a subscript's index is no binding: `d[location] = 1` leaves the parameter as received
    assert "download_file_location" in _azure_called_as(
        "self.client.download_as_file(self.container, self.blob, self.download_file_location)",
        above="seen = {}; seen[location] = 1",
    )
