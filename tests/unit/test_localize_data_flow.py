"""Data flow from the raising line back to where the bad value was made, in another module
(``localize.find_definitions``, ``_Resolver.member``, ``misfit_call_definitions``): the locals
and ``self`` attributes the raising line reads, followed back through the assignments above it
to the calls that made them; members inherited from a base class in another module; the base
constructor a misfit ``__init__`` delegates to."""

from __future__ import annotations

from chalicelib.core.localize import localize
from chalicelib.core.models import Frame, RaisedException

# spyder (shape): the occurrences list is filled from a word an inherited method returned
BASE = '''import re


class TextEditBaseWidget(object):
    def get_current_word(self):
        """Return current word, i.e. word at cursor position"""
        cursor = self.textCursor()
        text = unicode(cursor.selectedText())
        match = re.findall(r'([a-zA-Z_]+[0-9a-zA-Z_]*)', text)
        if match:
            return match[0]

    def has_selected_text(self):
        return bool(self.textCursor().selectedText())

    def unrelated(self):
        return None
'''
EDITOR = """from spyderlib.widgets.sourcecode.base import TextEditBaseWidget


class CodeEditor(TextEditBaseWidget):
    def __init__(self):
        self.occurences = []

    def __find_first(self, text):
        return self.document().find(text)

    def __mark_occurences(self):
        if self.has_selected_text():
            return
        text = self.get_current_word()
        cursor = self.__find_first(text)
        self.occurences = []
        while cursor:
            self.occurences.append(cursor.blockNumber())
            cursor = None
        self.unrelated()
        self.occurences.pop(-1)
"""


def _pop_trace() -> RaisedException:
    return RaisedException(
        "IndexError",
        "pop from empty list",
        (
            Frame(
                "/var/task/spyderlib/widgets/sourcecode/codeeditor.py",
                20,
                "__mark_occurences",
                "self.occurences.pop(-1)",
            ),
        ),
    )


def test_the_inherited_method_that_made_the_value_is_reached_through_the_locals() -> None:
    # GIVEN a raising line popping a list the function filled from a word an inherited method returned
    repo = {
        "spyderlib/widgets/sourcecode/base.py": BASE,
        "spyderlib/widgets/sourcecode/codeeditor.py": EDITOR,
    }
    # WHEN
    found = localize((_pop_trace(),), repo, repo.get, retrieve=False)
    # THEN the base class's method in the other module is a definition, and so is the private
    # helper between them; what only decides a branch or is called for its effect is not
    names = {(d.name, d.path) for d in found.definitions}
    assert ("get_current_word", "spyderlib/widgets/sourcecode/base.py") in names
    assert ("__find_first", "spyderlib/widgets/sourcecode/codeeditor.py") in names
    assert not {"has_selected_text", "unrelated"} & {d.name for d in found.definitions}


def test_a_line_reading_no_value_made_above_it_adds_nothing() -> None:
    editor = EDITOR.replace("self.occurences.pop(-1)", "self.unrelated().pop(-1)")
    repo = {"spyderlib/widgets/sourcecode/base.py": BASE, "spyderlib/widgets/sourcecode/codeeditor.py": editor}
    found = localize((_pop_trace(),), repo, repo.get, retrieve=False)
    assert all(d.name != "get_current_word" for d in found.definitions)


# a helper in another module, two assignments above the raising line
PARSE = """def split_header(line):
    return line.split(":")
"""
READER = """from pkg.parse import split_header


def read(line):
    parts = split_header(line)
    name = parts[0]
    value = name.strip()
    return value[10]
"""


def test_a_helper_two_assignments_back_is_reached() -> None:
    repo = {"pkg/parse.py": PARSE, "pkg/reader.py": READER}
    exc = RaisedException(
        "IndexError", "string index out of range", (Frame("/app/pkg/reader.py", 8, "read", "return value[10]"),)
    )
    found = localize((exc,), repo, repo.get, retrieve=False)
    assert ("split_header", "pkg/parse.py", 1) in {(d.name, d.path, d.start) for d in found.definitions}


# a class reading an attribute only its base class, in another module, assigns
CLIENT = """class BaseClient:
    def __init__(self, timeout=None):
        self.timeout = timeout
"""
FETCHER = """from pkg.client import BaseClient


class Fetcher(BaseClient):
    def fetch(self):
        return 2 * self.timeout
"""


# `self.timeout` read in pkg/fetcher.py's `fetch`, line 6, was None: the base class set it
TIMEOUT_NONE = RaisedException(
    "TypeError",
    "unsupported operand type(s) for *: 'int' and 'NoneType'",
    (Frame("/app/pkg/fetcher.py", 6, "fetch", "return 2 * self.timeout"),),
)


def test_an_attribute_the_base_class_assigns_is_reached() -> None:
    repo = {"pkg/client.py": CLIENT, "pkg/fetcher.py": FETCHER}
    found = localize((TIMEOUT_NONE,), repo, repo.get, retrieve=False)
    assert ("pkg/client.py", 3) in {(d.path, d.start) for d in found.definitions}


# tornado (shape): a subclass's constructor passes on to the base's, whose arguments pickling replays
HTTPCLIENT = """class HTTPClientError(Exception):
    def __init__(self, code, message=None, response=None):
        self.code = code
        self.message = message
        super().__init__(code, message, response)


HTTPError = HTTPClientError
"""
SIMPLE = """from tornado.httpclient import HTTPError


class HTTPTimeoutError(HTTPError):
    def __init__(self, message):
        super().__init__(599, message=message)


class Other(object):
    def __init__(self, message):
        self.message = message
"""


def _misfit(repo: dict[str, str]) -> set[tuple[str, int]]:
    exc = RaisedException(
        "TypeError",
        "HTTPTimeoutError.__init__() takes 2 positional arguments but 4 were given",
        (Frame("<stdin>", 1, "<module>", ""),),
    )
    return {(d.path, d.start) for d in localize((exc,), repo, repo.get, retrieve=False).definitions}


def test_the_base_constructor_a_misfit_init_delegates_to_is_reached_through_an_alias() -> None:
    found = _misfit({"tornado/httpclient.py": HTTPCLIENT, "tornado/simple_httpclient.py": SIMPLE})
    assert ("tornado/simple_httpclient.py", 5) in found
    assert ("tornado/httpclient.py", 2) in found


def test_a_constructor_that_does_not_delegate_adds_no_base() -> None:
    simple = SIMPLE.replace("super().__init__(599, message=message)", "self.message = message")
    found = _misfit({"tornado/httpclient.py": HTTPCLIENT, "tornado/simple_httpclient.py": simple})
    assert ("tornado/simple_httpclient.py", 5) in found
    assert all(path != "tornado/httpclient.py" for path, _ in found)


# mitmproxy (shape): beyond the first assignment, only the call that made the value is followed
TLS = """DEFAULT_CIPHERS = ("ECDHE",)


def create_context(cipher_list):
    return Context(cipher_list)


def Context(cipher_list):
    return cipher_list
"""
TLSCONFIG = """from pkg import tls


def start(data):
    ctx = tls.create_context(cipher_list=tls.DEFAULT_CIPHERS)
    data.conn = Connection(ctx)
    data.conn.use_privatekey(data.key)
"""


def test_beyond_the_first_assignment_only_the_call_that_made_the_value_is_followed() -> None:
    repo = {"pkg/tls.py": TLS, "pkg/tlsconfig.py": TLSCONFIG}
    exc = RaisedException(
        "Error",
        "key values mismatch",
        (Frame("/app/pkg/tlsconfig.py", 7, "start", "data.conn.use_privatekey(data.key)"),),
    )
    found = {(d.path, d.start) for d in localize((exc,), repo, repo.get, retrieve=False).definitions}
    assert ("pkg/tls.py", 4) in found  # create_context
    assert ("pkg/tls.py", 1) not in found  # the DEFAULT_CIPHERS constant only passed to it


def test_a_subclass_named_as_its_imported_base_reaches_the_base() -> None:
    # GIVEN `from pkg.client import Client` then `class Client(Client)`: the base is the import
    repo = {
        "pkg/client.py": "class Client:\n    def __init__(self):\n        self.timeout = None\n",
        "pkg/fetcher.py": (
            "from pkg.client import Client\n\n\nclass Client(Client):\n"
            "    def fetch(self):\n        return 2 * self.timeout\n"
        ),
    }
    # WHEN / THEN the base's assignment of the attribute is reached, not the subclass itself
    found = localize((TIMEOUT_NONE,), repo, repo.get, retrieve=False)
    assert ("pkg/client.py", 3) in {(d.path, d.start) for d in found.definitions}
