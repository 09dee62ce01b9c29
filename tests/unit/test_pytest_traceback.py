"""pytest's report of a failing test, pasted into an issue or a commit message: read back into the
frames CPython's form gives, and localized like them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.localize import read_pasted
from chalicelib.core.pytest_tb import find_pytest
from tests.cli import run_cli

# pytest's commit 944bb1e ("main: `args` must be a list, not tuple"), as its author pasted it:
# --tb=auto (short entries, then the last one long, its location line naming the exception).
AUTO = """Passing in a tuple crashes in `_prepareconfig`:

        def test_invoke_with_tuple(self):
    >       pytest.main(("-h",))

    src/_pytest/config/__init__.py:82: in main
        config = _prepareconfig(args, plugins)
    src/_pytest/config/__init__.py:229: in _prepareconfig
        return pluginmanager.hook.pytest_cmdline_parse(
    …
    src/_pytest/config/__init__.py:1017: in parse
        self._preparse(args, addopts=addopts)
    _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _

        def _preparse(self, args: List[str], addopts: bool = True) -> None:
            …
            if addopts:
                ini_addopts = self.getini("addopts")
                if ini_addopts:
    >               args[:] = self._validate_args(ini_addopts, "via addopts config") + args
    E               TypeError: can only concatenate list (not "tuple") to list

    addopts    = True
    args       = ('-h',)

    src/_pytest/config/__init__.py:956: TypeError: can only concatenate list (not "tuple") to list

Might be worth handling.
"""

# docker-py's commit 49479ba: --tb=short, an exception raised while handling another.
CHAINED = """    ==================================== ERRORS ====================================
    _________ ERROR at setup of BuildTest.test_build_container_with_target _________
    /usr/local/lib/python3.12/site-packages/urllib3/connectionpool.py:464: in _make_request
        self._validate_conn(conn)
    /usr/local/lib/python3.12/ssl.py:1319: in do_handshake
        self._sslobj.do_handshake()
    E   ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed

    During handling of the above exception, another exception occurred:
    /usr/local/lib/python3.12/site-packages/urllib3/connectionpool.py:488: in _make_request
        raise new_e
    E   urllib3.exceptions.SSLError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed
    =========================== short test summary info ============================
"""


def test_pytests_auto_report_is_read_short_and_long_entries_alike() -> None:
    # GIVEN pytest's own pasted report, WHEN it is read as a pasted text
    [tb] = read_pasted(AUTO.encode())
    # THEN the short entries and the long last one are the frames, outermost first; the test's
    # listing, whose location the reporter cut, is left out
    [exc] = tb.exceptions
    assert tb.form == "pytest"
    assert (exc.type, exc.message) == ("TypeError", 'can only concatenate list (not "tuple") to list')
    assert [(f.file, f.line, f.function) for f in exc.frames] == [
        ("src/_pytest/config/__init__.py", 82, "main"),
        ("src/_pytest/config/__init__.py", 229, "_prepareconfig"),
        ("src/_pytest/config/__init__.py", 1017, "parse"),
        ("src/_pytest/config/__init__.py", 956, "_preparse"),
    ]
    assert exc.frames[-1].source == 'args[:] = self._validate_args(ini_addopts, "via addopts config") + args'


def test_a_chained_short_report_is_read_as_cpythons_chain() -> None:
    # GIVEN a short report of an exception raised while handling another, WHEN read
    [tb] = find_pytest(CHAINED)
    # THEN the first is the context of the second, each with its frames and E line
    first, final = tb.exceptions
    assert (first.type, first.link) == ("ssl.SSLCertVerificationError", "context")
    assert [f.line for f in first.frames] == [464, 1319]
    assert (final.type, final.link) == ("urllib3.exceptions.SSLError", None)
    assert [(f.line, f.source) for f in final.frames] == [(488, "raise new_e")]


def test_the_localize_command_locates_a_pasted_pytest_report(tmp_path) -> None:  # noqa: ANN001
    # GIVEN the repository and a failing test's short report
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "cart.py").write_text("def price(prices, sku):\n    return prices[sku]\n")
    report = tmp_path / "report.txt"
    report.write_text(
        "____________________________ test_price ____________________________\n"
        "tests/test_cart.py:7: in test_price\n"
        "    assert price({}, 'B-2') == 3\n"
        "shop/cart.py:2: in price\n"
        "    return prices[sku]\n"
        "E   KeyError: 'B-2'\n"
    )
    # WHEN it is localized
    result = run_cli("localize", str(report), "--repo", str(tmp_path), "--json")
    # THEN the repository's raising line is located
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["located"] == [{"path": "shop/cart.py", "line": 2, "function": "price"}]


def test_a_long_entrys_function_is_the_def_around_the_marked_line_not_a_nested_one() -> None:
    # GIVEN a long entry whose function defines a helper above the failing line
    text = (
        "________________________________ test_m ________________________________\n"
        "\n"
        "    def outer(x):\n"
        "        def inner(y):\n"
        "            return y * 2\n"
        "        total = inner(x)\n"
        ">       return build(total)\n"
        "E       KeyError: 3\n"
        "\n"
        "pkg/m.py:9: KeyError\n"
    )
    # WHEN / THEN the frame runs outer, the def left of the marked code
    [tb] = find_pytest(text)
    assert [(f.file, f.line, f.function) for f in tb.exceptions[0].frames] == [("pkg/m.py", 9, "outer")]


def test_prose_and_cpythons_own_form_are_not_read_as_a_report() -> None:
    # GIVEN a commit message naming a file and line in prose, and CPython's form
    prose = "The check in setup.py:12: is wrong; see docs/conf.py:3.\nE   it raised nothing\n"
    cpython = 'Traceback (most recent call last):\n  File "a.py", line 2, in f\n    g()\nKeyError: 1\n'
    # WHEN / THEN the prose gives no traceback, and CPython's form keeps its own reader
    assert find_pytest(prose) == []
    [tb] = read_pasted(cpython.encode())
    assert tb.form != "pytest"


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
_CODE = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z_]{1,6})?\([a-z0-9_, ]{0,12}\)", fullmatch=True)
_ENTRIES = st.lists(
    st.tuples(st.builds(lambda d, m: f"{d}/{m}.py", _NAMES, _NAMES), st.integers(1, 99_999), _NAMES, _CODE),
    min_size=1,
    max_size=6,
)


@given(
    entries=_ENTRIES,
    long_last=st.booleans(),
    etype=st.sampled_from(["KeyError", "ValueError", "pkg.errors.ConfigError"]),
    message=st.from_regex(r"[A-Za-z0-9 ']{0,30}", fullmatch=True),
    indent=st.sampled_from(["", "    "]),
)
def test_any_report_reads_back_its_frames(
    entries: list[tuple[str, int, str, str]], long_last: bool, etype: str, message: str, indent: str
) -> None:
    # GIVEN any frames printed as pytest's short entries, the last maybe long (--tb=auto)
    out = [f"{'_' * 20} test_it {'_' * 20}"]
    for n, (file, line, function, code) in enumerate(entries):
        if long_last and n == len(entries) - 1:
            out += [
                "_ _ _ _ _ _ _ _ _ _",
                "",
                f"    def {function}(x):",
                f">       {code}",
                f"E       {etype}: {message}",
            ]
            out += ["", f"{file}:{line}: {etype}"]
        else:
            out += [f"{file}:{line}: in {function}", f"    {code}"]
    if not long_last:
        out.append(f"E   {etype}: {message}")
    text = "\n".join(indent + line if line else "" for line in out)
    # WHEN read back
    [tb] = find_pytest("The run failed:\n\n" + text + "\n")
    # THEN the exception and every frame are what was printed
    [exc] = tb.exceptions
    assert (exc.type, exc.message) == (etype, message.strip())
    assert [(f.file, f.line, f.function, f.source) for f in exc.frames] == list(entries)
