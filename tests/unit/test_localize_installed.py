"""A reporter's trace runs the repository's own package installed as a library
(``…/site-packages/sympy/core/basic.py`` when the repository is sympy): those frames are the
repository's code, located like in-app ones, while a library that only shares a file name with the
repository stays a library."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.localize import RepoIndex, locate
from chalicelib.core.tracebacks import find_in_text

BASIC = "class Basic:\n    def subs(self, *args):\n        sequence = args[0]\n        return sequence.items()\n"
REPO = {"sympy/__init__.py": "", "sympy/core/basic.py": BASIC, "bin/isympy.py": "import sympy\n"}
INSTALLS = (
    "/usr/lib/python3.8/site-packages/",
    "/home/u/.venv/lib/python3.12/site-packages/",
    "/usr/lib/python3/dist-packages/",
    "C:\\Python27\\Lib\\site-packages\\",
    "/Users/u/envs/x/lib/python3.3/site-packages/sympy-1.0.dev-py3.3.egg/",
)


def _trace(prefix: str, printed: str = "return sequence.items()", function: str = "subs") -> str:
    sep = "\\" if "\\" in prefix else "/"
    return (
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 1, in <module>\n'
        f'  File "{prefix}sympy{sep}core{sep}basic.py", line 4, in {function}\n'
        f"    {printed}\n"
        "AttributeError: 'list' object has no attribute 'items'\n"
    )


def _located(trace: str, repo: dict[str, str]) -> list[tuple[str, int, str]]:
    [tb] = find_in_text(trace)
    return [(loc.path, loc.current_line, loc.evidence) for loc in locate(tb.exceptions, RepoIndex(repo), repo.get)]


@given(st.sampled_from(INSTALLS))
def test_a_frame_of_the_repositorys_own_package_installed_is_located_as_its_code(prefix: str) -> None:
    # GIVEN a trace pasted from a machine where the repository's package is installed
    # WHEN it is located in the repository
    located = _located(_trace(prefix), REPO)
    # THEN the installed frame is the repository's raising frame, at the printed line
    assert located == [("sympy/core/basic.py", 4, "raising")]


@given(st.sampled_from(INSTALLS), st.sampled_from(["x = compat.items(sequence)", "import cookies"]))
def test_an_installed_frame_whose_line_and_function_the_file_lacks_is_a_library(prefix: str, printed: str) -> None:
    # GIVEN the same installed path, but a printed line the file does not hold, in a function it does
    # not define: another project's package of the same name
    located = _located(_trace(prefix, printed, function="convert"), REPO)
    # THEN nothing is located
    assert located == []


def test_an_install_that_rewrote_the_line_is_still_the_repositorys_when_it_defines_the_function() -> None:
    # GIVEN a Python 3 install converted by 2to3: the printed line reads http.cookies where the
    # repository has Cookie, in a function the repository's file defines
    handlers = "import Cookie\n\n\ndef inject(self, msg):\n    self._cookies = Cookie.SimpleCookie(msg)\n"
    repo = {"IPython/notebook/handlers.py": handlers, "IPython/__init__.py": ""}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/u/lib/python3.3/site-packages/ipython-0.14-py3.3.egg/IPython/notebook/handlers.py", '
        "line 5, in inject\n"
        "    self._cookies = http.cookies.SimpleCookie(msg)\n"
        '  File "/usr/lib/python3.3/http/cookies.py", line 524, in load\n'
        "    for key, value in rawdata.items():\n"
        "AttributeError: 'bytes' object has no attribute 'items'\n"
    )
    # WHEN / THEN the repository's function is the raising frame (the standard library's is not)
    assert _located(trace, repo) == [("IPython/notebook/handlers.py", 5, "raising")]


def test_the_standard_library_a_copied_framework_file_and_a_renamed_package_stay_libraries() -> None:
    # GIVEN a repository whose files share a suffix, a function or a line with library frames:
    # a transport/socket.py raising like the standard library's socket.py, a json package
    # defining loads, a decorator copied from Django, a package since renamed
    repo = {
        "chat/transport/socket.py": "def create_connection(address):\n    err = None\n    raise err\n",
        "app/json/__init__.py": "def loads(s):\n    return decode(s)\n",
        "shop/auth/decorators.py": (
            "def login_required(view_func):\n"
            "    def _wrapper_view(request, *args, **kwargs):\n"
            "        return view_func(request, *args, **kwargs)\n"
            "    return _wrapper_view\n"
        ),
        "worker/buildbot_worker/commands/transfer.py": (
            "class Upload:\n    def finished(self, res):\n        os.remove(self.tarname)\n"
        ),
    }
    frames = [
        ("/usr/lib/python3.10/socket.py", 845, "create_connection", "raise err"),
        ("/usr/lib/python3.11/json/__init__.py", 346, "loads", "return _default_decoder.decode(s)"),
        ("/srv/venv/lib/python3.12/site-packages/django/contrib/auth/decorators.py", 23, "_wrapper_view",
         "return view_func(request, *args, **kwargs)"),
        ("c:\\Python27\\lib\\site-packages\\buildslave\\commands\\transfer.py", 248, "finished",
         "os.remove(self.tarname)"),
    ]  # fmt: skip
    for file, line, function, printed in frames:
        trace = (
            "Traceback (most recent call last):\n"
            f'  File "{file}", line {line}, in {function}\n'
            f"    {printed}\n"
            "OSError: failed\n"
        )
        # WHEN / THEN none is the repository's: the path after the package root is not the
        # file's whole path (a standard library path has no package root at all)
        assert _located(trace, repo) == [], file


@given(printed=st.sampled_from(["return x", "raise", "x = y"]), prefix=st.sampled_from(INSTALLS[:3]))
def test_a_lone_installed_module_needs_a_specific_line(printed: str, prefix: str) -> None:
    # GIVEN the repository's single-module package (six.py), a plain printed line it holds
    repo = {"six.py": f"def f(x, y):\n    {printed}\n\n\ndef g(m):\n    return m.group(1)[0]\n"}

    def trace(line: int, code: str) -> str:
        return f'Traceback (most recent call last):\n  File "{prefix}six.py", line {line}, in f\n    {code}\nE: x\n'

    # WHEN / THEN a plain line names too little; a specific one (a call, an index) maps, as does
    # an import (black's single module failing to import its version)
    assert _located(trace(2, printed), repo) == []
    assert _located(trace(6, "return m.group(1)[0]"), repo) == [("six.py", 6, "raising")]
    repo["six.py"] += "from _six_version import version as __version__\n"
    assert _located(trace(7, "from _six_version import version as __version__"), repo) == [("six.py", 7, "raising")]


@given(
    prefix=st.sampled_from(INSTALLS),
    package=st.sampled_from(["django", "flask", "requests"]),
    printed=st.sampled_from(["return response", "response = self.get_response(request)", "raise"]),
)
def test_a_library_sharing_only_a_file_name_with_the_repository_stays_a_library(
    prefix: str, package: str, printed: str
) -> None:
    # GIVEN an application repository with core/handlers.py, and a trace through an installed
    # framework's core/handlers/base.py and utils.py, whose lines the application does not hold
    repo = {"shop/core/base.py": "def get(request):\n    return render(request)\n", "shop/utils.py": "X = 1\n"}
    trace = (
        "Traceback (most recent call last):\n"
        f'  File "{prefix}{package}/core/base.py", line 2, in get\n'
        f"    {printed}\n"
        f'  File "{prefix}{package}/utils.py", line 9, in helper\n'
        "    raise\n"
        "RuntimeError: boom\n"
    ).replace("/", "\\" if "\\" in prefix else "/")
    # WHEN / THEN no frame is the application's (its get() holds none of the printed lines, and
    # a lone module name with a different package is never enough)
    assert _located(trace, repo) == []


@given(st.sampled_from(INSTALLS[:3]))
def test_a_source_layout_maps_and_a_subpackage_of_the_repositorys_package_does_not(prefix: str) -> None:
    # GIVEN the repository's package under src/ (a folder, not a package)
    src = {"src/sympy/__init__.py": "", "src/sympy/core/basic.py": BASIC}
    # WHEN / THEN the installed sympy/core/basic.py is src/sympy/core/basic.py
    assert _located(_trace(prefix), src) == [("src/sympy/core/basic.py", 4, "raising")]
    # AND an installed top-level package core/ is not the repository's sympy/core/ (sympy is a
    # package: its core is sympy.core, another project's is core)
    other = _trace(prefix).replace(f"{prefix}sympy/core/", f"{prefix}core/")
    assert _located(other, REPO) == []
