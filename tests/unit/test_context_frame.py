"""The function a frame runs, when the file moved on since the trace was logged: re-found by its
name in a file ``ast`` cannot parse, and shown by its name when the logged line now falls in a
nested ``def``; the writer of the value the raising line reads, shown before the search; and the
names the handlers around the raising line test, followed to their definitions."""

from __future__ import annotations

from chalicelib.core.context import SEARCH_NOTE, imports_by_lines, select_context
from chalicelib.core.localize import Definition, Located, localize, refind_line
from chalicelib.core.models import Frame
from chalicelib.core.tracebacks import find_in_text

# Python 2 code (a print statement): `ast` cannot parse it, so functions are found by indentation.
HANDLERS = '''"""Handlers (Python 2)."""
import Cookie
import logging


class ZMQHandler(object):

    def get_current_user(self):
        user_id = self.get_secure_cookie("user")
        if user_id == '' or user_id is None:
            user_id = 'anonymous'
        return user_id

    def _inject_cookie_message(self, msg):
        """Inject the first message, which is the document cookie."""
        if isinstance(msg, unicode):
            msg = msg.encode('utf8', 'replace')
        try:
            self.request._cookies = Cookie.SimpleCookie(msg)
        except:
            logging.warn("couldn't parse cookie string: %s", msg)

    def on_first_message(self, msg):
        self._inject_cookie_message(msg)
        if self.get_current_user() is None:
            print "unauthenticated"
        self.on_message = self.save_on_message
'''


def line_of(source: str, text: str) -> int:
    return source.splitlines().index(text) + 1


def test_a_stale_line_of_a_file_ast_cannot_parse_is_refound_in_the_function_of_the_frames_name() -> None:
    # GIVEN a trace logged on a later version: its printed line is gone and its logged number
    # now falls in another method of a Python 2 file
    logged = line_of(HANDLERS, "        if self.get_current_user() is None:")
    frame = Frame(
        "/var/task/notebook/handlers.py",
        logged,
        "_inject_cookie_message",
        "self.request._cookies = http.cookies.SimpleCookie(msg)",
    )
    # WHEN
    line = refind_line(HANDLERS, frame)
    # THEN the first line of the method the frame names, found by its `def` and indentation
    assert line == line_of(HANDLERS, "    def _inject_cookie_message(self, msg):")


def test_the_frames_method_of_an_unparsable_file_is_shown_not_the_one_the_logged_number_falls_in() -> None:
    # GIVEN the frame re-found as above
    logged = line_of(HANDLERS, "        if self.get_current_user() is None:")
    frame = Frame("/var/task/notebook/handlers.py", logged, "_inject_cookie_message", "x = http.cookies.parse(msg)")
    loc = Located(frame, "notebook/handlers.py", refind_line(HANDLERS, frame))
    # WHEN
    ctx = select_context([loc], {"notebook/handlers.py": HANDLERS}.get, 6_000, whole_file_lines=5)
    # THEN the whole method the frame ran, where the cookie is parsed
    start = line_of(HANDLERS, "    def _inject_cookie_message(self, msg):")
    end = line_of(HANDLERS, """            logging.warn("couldn't parse cookie string: %s", msg)""")
    assert all(ctx.covers("notebook/handlers.py", n) for n in range(start, end + 1))
    # AND its imports, found by their lines, where a fix adds one
    assert ctx.covers("notebook/handlers.py", 2)
    assert ctx.covers("notebook/handlers.py", 3)


def test_the_imports_of_a_file_ast_cannot_parse_are_read_by_lines() -> None:
    # GIVEN Python 2 modules: a docstring, comments, imports (one continued), a guarded import
    guarded = (
        '"""Runtime.\n\nPlatform checks.\n"""\n# Copyright\n\nimport os\nfrom sys import (argv,\n    path)\n\n'
        "try:\n    import win32api\nexcept ImportError:\n    win32api = None\n"
        "from twisted.python import log\n\nVERSION = 0x0200L\nimport late\n"
    )
    plain = "def f():\n    print 'x'\n"
    # WHEN / THEN from the first import to the last one before other code (the `try:`)
    assert imports_by_lines(guarded.splitlines()) == [(7, 9)]
    assert imports_by_lines(plain.splitlines()) == []


# A caller whose logged line now falls inside a small closure it defines (the file moved on).
BUILD = '''"""Build."""
import os


def find_binary_dependencies(binaries, packages):
    extra_libdirs = []
    added = []
    original = os.add_dll_directory

    def _hook(path):
        added.append(path)
        return original(path)

    os.add_dll_directory = _hook
    for package in packages:
        try:
            __import__(package)
        except Exception:
            pass
    extra_libdirs += added
    os.add_dll_directory = original
    return [b for b in binaries if os.path.dirname(b) in extra_libdirs]


def unrelated(a, b):
    total = a + b
    total = total * 2
    total = total - 1
    return total
'''
RAISE = '''"""Child process."""


def call(function, *args):
    result = function(*args)
    if result is None:
        raise RuntimeError("child process died")
    return result
'''


def test_a_callers_line_moved_into_a_nested_def_shows_the_function_the_frame_names() -> None:
    # GIVEN the caller frame `find_binary_dependencies` logged at a line now inside its closure
    # `_hook`, its printed line (`child.call(import_library, package)`) gone from the file
    moved = line_of(BUILD, "        return original(path)")
    caller = Located(
        Frame("/var/task/pkg/build.py", moved, "find_binary_dependencies", "child.call(import_library, package)"),
        "pkg/build.py",
        moved,
        "caller",
    )
    raising_line = line_of(RAISE, '        raise RuntimeError("child process died")')
    raising = Located(
        Frame("/var/task/pkg/child.py", raising_line, "call", 'raise RuntimeError("child process died")'),
        "pkg/child.py",
        raising_line,
    )
    repo = {"pkg/build.py": BUILD, "pkg/child.py": RAISE}
    # WHEN
    ctx = select_context([raising, caller], repo.get, 6_000, whole_file_lines=5)
    # THEN the whole function the frame ran, not only the closure the number now falls in
    start = line_of(BUILD, "def find_binary_dependencies(binaries, packages):")
    end = line_of(BUILD, "    return [b for b in binaries if os.path.dirname(b) in extra_libdirs]")
    assert all(ctx.covers("pkg/build.py", n) for n in range(start, end + 1))
    assert not ctx.covers("pkg/build.py", line_of(BUILD, "    total = total * 2"))


def test_a_frame_in_its_own_nested_def_shows_that_def_not_the_outer_function() -> None:
    # GIVEN a frame that names the closure itself (the line did not move)
    line = line_of(BUILD, "        return original(path)")
    loc = Located(Frame("/var/task/pkg/build.py", line, "_hook", "return original(path)"), "pkg/build.py", line)
    # WHEN
    ctx = select_context([loc], {"pkg/build.py": BUILD}.get, 6_000, whole_file_lines=5)
    # THEN the closure and its outer function (step 2), never the unrelated function
    assert ctx.covers("pkg/build.py", line_of(BUILD, "        added.append(path)"))
    assert not ctx.covers("pkg/build.py", line_of(BUILD, "    total = total * 2"))


# A transfer command: `start` stores the archive name that `finished` removes.
TRANSFER = '''"""Transfer."""
import os
import tempfile


class DirectoryUpload:
    def start(self):
        fd, self.tarname = tempfile.mkstemp()
        fileobj = os.fdopen(fd, "wb")
        fileobj.write(b"archive")
        fileobj.close()
        self.fp = open(self.tarname, "rb")
        return self.fp

    def finished(self, res):
        self.fp.close()
        self.fp = None
        os.remove(self.tarname)
        return res
''' + "".join(f"\n\ndef helper_{i}(value):\n    value = value + {i}\n    return value * {i}\n" for i in range(30))
SEARCHED = "".join(
    f"def found_{i}(x):\n" + "".join(f"    x = x + {k}\n" for k in range(8)) + "    return x\n\n" for i in range(4)
)


def test_the_writer_of_the_raising_value_comes_before_the_definitions_found_by_search() -> None:
    # GIVEN `os.remove(self.tarname)` raising, and search hits that would fill the room left
    # under the traced files' share
    line = line_of(TRANSFER, "        os.remove(self.tarname)")
    loc = Located(
        Frame("/var/task/pkg/transfer.py", line, "finished", "os.remove(self.tarname)"), "pkg/transfer.py", line
    )
    found = [Definition(f"found_{i}", "pkg/other.py", 1 + 11 * i, 10 + 11 * i, "", "search") for i in range(4)]
    repo = {"pkg/transfer.py": TRANSFER, "pkg/other.py": SEARCHED}
    # WHEN
    ctx = select_context([loc], repo.get, 6_000, whole_file_lines=5, definitions=found)
    # THEN `start`, which stored the name, is shown whole: trace evidence before search
    start = line_of(TRANSFER, "    def start(self):")
    assert all(ctx.covers("pkg/transfer.py", n) for n in range(start, start + 7))
    # AND with nothing to write the value (a plain local), the same search hits are shown there
    plain = TRANSFER.replace("os.remove(self.tarname)", "os.remove(tarname)")
    loc = Located(Frame("/var/task/pkg/transfer.py", line, "finished", "os.remove(tarname)"), "pkg/transfer.py", line)
    ctx = select_context([loc], {**repo, "pkg/transfer.py": plain}.get, 6_000, whole_file_lines=5, definitions=found)
    assert SEARCH_NOTE in ctx.render()


# A stream whose handler retries on the errnos of a module constant: EINTR is missing from it.
IOSTREAM = '''"""Streams."""
import errno
import os

_ERRNO_WOULDBLOCK = (errno.EWOULDBLOCK, errno.EAGAIN)
_UNRELATED = (1, 2, 3)


def errno_from_exception(e):
    return e.args[0] if e.args else None


class PipeStream:
    def read_from_fd(self):
        try:
            chunk = os.read(self.fd, self.read_chunk_size)
        except (IOError, OSError) as e:
            if errno_from_exception(e) in _ERRNO_WOULDBLOCK:
                return None
            raise
        return chunk
'''


def test_the_names_the_handlers_around_the_raising_line_test_are_followed_to_their_definitions() -> None:
    # GIVEN `os.read` raising InterruptedError through a handler that tests a module constant
    line = line_of(IOSTREAM, "            chunk = os.read(self.fd, self.read_chunk_size)")
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "/var/task/pkg/iostream.py", line {line}, in read_from_fd\n'
        "    chunk = os.read(self.fd, self.read_chunk_size)\n"
        "InterruptedError: [Errno 4] Interrupted system call\n"
    )
    repo = {"pkg/__init__.py": "", "pkg/iostream.py": IOSTREAM}
    [tb] = find_in_text(trace)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    # THEN the constant the handler tests and the function it calls, not the unrelated constant
    names = {d.name for d in found.definitions}
    assert {"_ERRNO_WOULDBLOCK", "errno_from_exception"} <= names
    assert "_UNRELATED" not in names
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=5, definitions=found.definitions)
    assert ctx.covers("pkg/iostream.py", line_of(IOSTREAM, "_ERRNO_WOULDBLOCK = (errno.EWOULDBLOCK, errno.EAGAIN)"))


def test_a_parenthesised_import_is_read_to_its_closing_parenthesis() -> None:
    # a name list whose last name has no comma, a comment inside, then another import
    lines = ["from x import (", "    a,", "    b  # the last one (no comma)", ")", "import y", "print 'x'"]
    assert imports_by_lines(lines) == [(1, 5)]
    assert imports_by_lines(["import a, \\", "    b", "import c", "x = 1"]) == [(1, 3)]
