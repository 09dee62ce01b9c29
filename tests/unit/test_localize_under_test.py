"""The module under test: a trace running through a test (``twisted/names/test/test_tap.py``) brings
the module the test is named after, found next to the test's package, and of it what the test's
printed line names, the constants a dynamic ``getattr`` reads, and the module's head."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.context import select_context
from chalicelib.core.localize import localize
from chalicelib.core.tracebacks import find_in_text
from chalicelib.core.under_test import (
    is_test_file,
    listed_tests,
    module_tested_by,
    name_tested_by,
    shown,
    similarity,
)

TAP = (
    '"""Domain Name Server"""\n'
    "\n"
    "import os\n"
    "from twisted.names import client, cache\n"
    "\n"
    "\n"
    "class Options(object):\n"
    "    zones = None\n"
    "\n"
    "    def postOptions(self):\n"
    "        self.zones = []\n"
    "\n"
    "\n"
    "def _buildResolvers(config):\n"
    "    ca, cl = [], []\n"
    "    if config['recursive']:\n"
    "        cl.append(client.createResolver(resolvconf=config['resolv-conf']))\n"
    "    return ca, cl\n"
    "\n"
    "\n"
    "def makeService(config):\n"
    "    ca, cl = _buildResolvers(config)\n"
    "    return ca + cl\n"
)

# Python 2 code, as old Twisted is: `ast` cannot parse it (a long literal, a print statement).
FILETRANSFER = (
    "import struct\n"
    "\n"
    "class FileTransferBase:\n"
    "    def sendPacket(self, kind, data):\n"
    "        print 'sending', kind\n"
    "\n"
    "FXP_INIT = 1\n"
    "FXP_VERSION = 2\n"
    "# attributes\n"
    "FILEXFER_ATTR_SIZE = 0x00000001\n"
    "FILEXFER_ATTR_EXTENDED = 0x80000000L\n"
    "\n"
    "g = globals()\n"
)

TRANSPORT = (
    "# -*- test-case-name: twisted.conch.test.test_transport -*-\n"
    "import struct\n"
    "\n"
    "def _getRandomNumber(random, bits):\n"
    "    return random(bits / 8)\n"
    "\n"
    "def _generateX(random, bits):\n"
    "    return _getRandomNumber(random, bits)\n"
    "\n"
    "class SSHTransportBase:\n"
    "    def dataReceived(self, data):\n"
    "        pass\n"
)


ROOT = "class Resolver:\n    def __getattr__(self, name):\n        raise AttributeError(name)\n"


def _trace(*frames: tuple[str, int, str, str], error: str) -> str:
    body = "".join(f'  File "{path}", line {line}, in {fn}\n    {src}\n' for path, line, fn, src in frames)
    return f"Traceback (most recent call last):\n{body}{error}\n"


def test_a_test_file_is_named_after_the_module_it_tests() -> None:
    # GIVEN the two conventions (a `test_` prefix, a `_test` suffix) and files following neither
    # WHEN / THEN
    assert name_tested_by("twisted/names/test/test_tap.py") == "tap"
    assert name_tested_by("pkg/tap_test.py") == "tap"
    assert name_tested_by(r"c:\bot\Twisted\twisted\names\test\test_tap.py") == "tap"
    assert name_tested_by("pkg/tap.py") is None
    assert name_tested_by("tests/test_.py") is None
    assert name_tested_by("tests/conftest.py") is None
    assert is_test_file("tests/helpers.py") and is_test_file("pkg/test_tap.py") and not is_test_file("pkg/tap.py")


def test_the_module_is_looked_for_in_the_tests_package_first_then_the_package_tree() -> None:
    # GIVEN two tap.py modules, one in the package the test directory belongs to, and a
    # filetransfer.py under the test's package tree only (another copy outside that tree)
    paths = [
        "twisted/names/tap.py",
        "twisted/conch/tap.py",
        "twisted/conch/ssh/filetransfer.py",
        "other/filetransfer.py",
        "twisted/names/test/test_tap.py",
    ]
    # WHEN / THEN: the test directory's parent first, whether the test file is in the repository
    # or only in the logged path (a deployment, a CI worker's checkout)
    assert module_tested_by("twisted/names/test/test_tap.py", paths) == "twisted/names/tap.py"
    assert module_tested_by(r"c:\bot\Twisted\twisted\names\test\test_tap.py", paths) == "twisted/names/tap.py"
    assert module_tested_by("/srv/slave/Twisted/twisted/conch/test/test_tap.py", paths) == "twisted/conch/tap.py"
    # the one filetransfer.py of the test's package tree, although the repository has two
    assert (
        module_tested_by("/srv/Twisted/twisted/conch/test/test_filetransfer.py", paths)
        == "twisted/conch/ssh/filetransfer.py"
    )


def test_the_repositorys_one_module_of_that_name_else_none() -> None:
    # GIVEN a root tests/ directory holding a helper named like the module, and the package in src/
    paths = ["tests/utils.py", "src/click/utils.py", "src/click/core.py", "a/parser.py", "b/parser.py"]
    # WHEN / THEN: the helper is a test file, never the answer; the one utils.py is
    assert module_tested_by("/var/task/tests/test_utils.py", paths) == "src/click/utils.py"
    # two parser.py with none nearer the test: ambiguous, no module
    assert module_tested_by("/var/task/tests/test_parser.py", paths) is None
    # a private implementation module when no public one exists
    assert module_tested_by("twisted/test/test_sslverify.py", ["twisted/internet/_sslverify.py"]) == (
        "twisted/internet/_sslverify.py"
    )
    assert module_tested_by("tests/test_nothing.py", paths) is None


def test_the_printed_lines_module_attribute_brings_its_definition_and_those_most_like_it() -> None:
    # GIVEN a test line calling a function of the module under test
    # WHEN
    found = shown(
        "twisted/conch/ssh/transport.py",
        "transport._generateX(random, 8),",
        {"twisted/conch/ssh/transport.py": TRANSPORT}.get,
    )
    # THEN: the named function first, the module's head next, the look-alike last
    assert [(s.name, s.start, s.end, s.kind) for s in found] == [
        ("_generateX", 7, 8, "named"),
        ("head", 1, 2, "head"),
        ("_getRandomNumber", 4, 5, "named"),
    ]
    assert similarity("resolvers", "_buildResolvers") > 0
    assert similarity("x", "_generateX") == 0  # a one-letter word says nothing


def test_a_dynamic_getattr_of_the_module_reads_its_constants_even_in_python_2_code() -> None:
    # GIVEN a test comparing the module's constants by computed names, and a Python 2 module
    # WHEN
    found = shown("ft.py", "self.assertEqual(v, getattr(filetransfer, k))", {"ft.py": FILETRANSFER}.get)
    found_ft = shown(
        "filetransfer.py", "self.assertEqual(v, getattr(filetransfer, k))", {"filetransfer.py": FILETRANSFER}.get
    )
    # THEN: the run of upper-case constants (a comment inside it), then the head; the module is
    # matched by its own name only
    assert [(s.kind, s.start, s.end) for s in found_ft] == [("constants", 7, 11), ("head", 1, 1)]
    assert [s.kind for s in found] == ["head"]


def test_a_trace_through_a_test_shows_the_module_under_test_within_its_share() -> None:
    # GIVEN a snapshot without tests: the test frame maps to nothing, the library frame does
    repo = {
        "twisted/names/tap.py": TAP,
        "twisted/names/root.py": ROOT,
    }
    text = _trace(
        (
            "/srv/Twisted/twisted/names/test/test_tap.py",
            94,
            "test_recursiveConfiguration",
            "x.resolvers[-1]._parseCall.cancel()",
        ),
        ("/srv/Twisted/twisted/names/root.py", 3, "__getattr__", "raise AttributeError(name)"),
        error="AttributeError: _parseCall",
    )
    [tb] = find_in_text(text)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions, whole_file_lines=5)
    # THEN: the module's head, and the function most like the line's `resolvers`, from the trace
    tested = [(d.name, d.start, d.end, d.found_by) for d in found.definitions if d.under_test]
    assert tested == [("head", 1, 4, "trace"), ("_buildResolvers", 14, 18, "trace")]
    assert ctx.covers("twisted/names/tap.py", 16) and ctx.covers("twisted/names/tap.py", 4)
    assert all(s.found_by == "trace" for s in ctx.snippets)
    assert "twisted/names/tap.py" in found.editable
    # AND within its share of a small budget (UNDER_TEST_SHARE of 600: the head, about 48 tokens,
    # fits, not the look-alike too), the surer part first
    small = select_context(found.located, repo.get, 600, definitions=found.definitions, whole_file_lines=5)
    assert small.covers("twisted/names/tap.py", 2) and not small.covers("twisted/names/tap.py", 16)


def test_a_module_already_traced_or_a_test_in_the_repository_is_handled() -> None:
    # GIVEN the test file in the repository (it maps), its module traced in one trace and not in
    # the other
    repo = {
        "pkg/tap.py": TAP,
        "pkg/tests/test_tap.py": "from pkg import tap\n\ndef test_it():\n    tap.makeService({})\n",
    }
    through = _trace(
        ("/app/pkg/tests/test_tap.py", 4, "test_it", "tap.makeService({})"),
        ("/app/pkg/tap.py", 22, "makeService", "ca, cl = _buildResolvers(config)"),
        error="KeyError: 'recursive'",
    )
    own = _trace(("/app/pkg/tests/test_tap.py", 4, "test_it", "tap.makeService({})"), error="NameError: name 'x'")
    # WHEN
    traced = localize(find_in_text(through)[0].exceptions, repo, repo.get, retrieve=False)
    alone = localize(find_in_text(own)[0].exceptions, repo, repo.get, retrieve=False)
    # THEN: a traced module adds nothing; otherwise the named function, which the test's import
    # already resolves, is kept once, and the module's head comes from the step
    assert not any(d.under_test for d in traced.definitions)
    assert [loc.path for loc in alone.located] == ["pkg/tests/test_tap.py"]
    assert [(d.name, d.path, d.under_test) for d in alone.definitions] == [
        ("makeService", "pkg/tap.py", False),
        ("head", "pkg/tap.py", True),
    ]


def test_a_decorated_definition_starts_at_its_decorator_and_unreadable_text_shows_nothing() -> None:
    # GIVEN a module whose named function is decorated, and a module tokenize cannot read
    source = "import functools\n\n\n@functools.cache\nasync def fetch(url):\n    return url\n"
    broken = 'x = """never closed\n'
    # WHEN
    found = shown("m.py", "m.fetch('u')", {"m.py": source}.get)
    nothing = shown("m.py", "m.fetch('u')", {"m.py": broken}.get)
    # THEN
    assert [(s.name, s.start, s.end) for s in found] == [("fetch", 4, 6), ("head", 1, 1)]
    assert nothing == []


def test_a_look_alike_is_never_taken_for_the_name_and_a_top_level_try_is_no_definition() -> None:
    # GIVEN a module with a long look-alike of the name the test's line calls, and a top-level
    # `try:` whose keyword shares a prefix with a word of the line
    module = (
        "import os\n"
        "try:\n"
        "    import ssl\n"
        "except ImportError:\n"
        "    ssl = None\n"
        "\n"
        "def _generateY(random, bits):\n"
        "    return random(bits)\n"
    )
    read = {"pkg/transport.py": module}.get
    # WHEN
    found = shown("pkg/transport.py", "transport._generateX(random, 8)  # trying", read)
    # THEN the head comes before the look-alike (a guess), and no range is named "try"
    assert [(s.name, s.kind) for s in found] == [("head", "head"), ("_generateY", "named")]


def test_the_test_files_are_read_from_the_listing_and_library_code_in_a_test_directory_is_code() -> None:
    listing = [
        "django/test/client.py",  # a package named test, holding no test's file: code
        "django/test/utils.py",
        "numpy/testing/_private/utils.py",  # its own tests are in an inner test directory
        "numpy/testing/tests/test_utils.py",
        "numpy/testing/tests/helpers.py",
        "tests/integration/helpers.py",  # beside a test deeper in the tree
        "tests/integration/test_api.py",
        "pkg/test_shape.py",  # a test's name wherever it is
        "pkg/conftest.py",
        "pkg/core.py",
    ]
    assert listed_tests(listing) == {
        "numpy/testing/tests/test_utils.py",
        "numpy/testing/tests/helpers.py",
        "tests/integration/helpers.py",
        "tests/integration/test_api.py",
        "pkg/test_shape.py",
        "pkg/conftest.py",
    }


_PART = st.sampled_from(["pkg", "tests", "test", "testing", "sub", "util", "core"])
_NAME = st.sampled_from(["test_a.py", "a_test.py", "conftest.py", "mod.py", "util.py", "__init__.py"])


@given(st.lists(st.tuples(st.lists(_PART, max_size=4), _NAME), max_size=12))
def test_a_test_file_read_from_the_listing_is_always_one_by_its_path(files: list[tuple[list[str], str]]) -> None:
    # the listing only narrows the path rule: what it calls a test, the path alone does too
    listing = ["/".join([*parts, name]) for parts, name in files]
    found = listed_tests(listing)
    assert found <= set(listing)
    assert all(is_test_file(p) for p in found)
    assert all(p in found for p in listing if p.rsplit("/", 1)[-1] in ("test_a.py", "a_test.py", "conftest.py"))


def test_tests_named_in_the_plural_are_tests_and_name_their_module() -> None:
    # pywikibot's tests/api_tests.py tests api; a Django app's tests.py is its tests
    assert name_tested_by("tests/api_tests.py") == "api"
    assert listed_tests(["tests/api_tests.py", "tests/utils.py", "shop/tests.py", "shop/views.py"]) == {
        "tests/api_tests.py",
        "tests/utils.py",
        "shop/tests.py",
    }
