"""Tracebacks as IPython and Jupyter print them, pasted into an issue or a commit message: read
back into the same frames CPython's form gives, and localized like them."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.ipython_tb import find_ipython
from chalicelib.core.localize import read_pasted
from tests.cli import run_cli

# astropy's commit bb0e1c5 ("Fix failure when creating votables"), as its author pasted it:
# IPython 1.x, Python 2, an egg installed under site-packages, printed as .pyc.
ASTROPY = """fails with

```
ERROR: KeyError: 'unit_format' [astropy.io.votable.tree]
---------------------------------------------------------------------------
KeyError                                  Traceback (most recent call last)
<ipython-input-28-1bdee196c715> in <module>()
----> 1 table.fields.extend([Field(votable, name='XXX', datatype="float", unit = "mag")])

/d/lib/python2.7/site-packages/astropy-0.3.dev4321-py2.7.egg/astropy/io/votable/tree.pyc in unit(self, unit)
   1323                           self._config, self._pos)
   1324
-> 1325         format = _get_unit_format(self._config)
   1326         if format != default_format:

/d/lib/python2.7/site-packages/astropy-0.3.dev4321-py2.7.egg/astropy/io/votable/tree.pyc in _get_unit_format(config)
    180     Get the unit format based on the configuration.
    181     \"\"\"
--> 182     if config['unit_format'] is None:
    183         format = _get_default_unit_format(config)
    184     else:

KeyError: 'unit_format'
```

There is any easy fix for this.
"""

# IPython 8 on Python 3.11, colours kept, a chain whose cause failed in the repository's code.
RED, GREEN, CYAN, BLUE, OFF = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0;36m", "\x1b[0;34m", "\x1b[0m"
KW, NAME, END = "\x1b[38;5;28;01m", "\x1b[38;5;21m", "\x1b[39;00m"
JUPYTER = (
    f"{RED}---------------------------------------------------------------------------{OFF}\n"
    f"{RED}KeyError{OFF}                                  Traceback (most recent call last)\n"
    f"File {GREEN}~/src/shop/shop/cart.py:5{OFF}, in {CYAN}Cart.price{BLUE}(self, sku){OFF}\n"
    f"\x1b[1;32m      4{OFF} {KW}def{END} {NAME}price{END}(self, sku):\n"
    f"{GREEN}----> 5{OFF}     {KW}return{END} self\x1b[38;5;241m.{END}prices[sku]\n"
    "\n"
    f"{RED}KeyError{OFF}: 'B-2'\n"
    "\n"
    "The above exception was the direct cause of the following exception:\n"
    "\n"
    f"{RED}---------------------------------------------------------------------------{OFF}\n"
    f"{RED}LookupError{OFF}                               Traceback (most recent call last)\n"
    f"Cell {GREEN}In[3], line 1{OFF}\n"
    f"{GREEN}----> 1{OFF} cart.total()\n"
    "\n"
    f"File {GREEN}~/src/shop/shop/cart.py:11{OFF}, in {CYAN}Cart.total{BLUE}(self){OFF}\n"
    f"{GREEN}----> 11{OFF}     {KW}raise{END} LookupError(sku) {KW}from{END} err\n"
    "\n"
    f"{RED}LookupError{OFF}: B-2\n"
)

CART = (
    "class Cart:\n"
    "    prices = {}\n\n"
    "    def price(self, sku):\n"
    "        return self.prices[sku]\n\n"
    "    def total(self):\n"
    "        try:\n"
    "            return sum(self.price(s) for s in self.skus)\n"
    "        except KeyError as err:\n"
    "            raise LookupError(sku) from err\n"
)


def test_an_ipython_traceback_pasted_in_a_commit_message_is_read_frame_by_frame() -> None:
    # GIVEN astropy's pasted IPython traceback, WHEN it is read as a pasted text
    [tb] = read_pasted(ASTROPY.encode())
    # THEN its one exception has the notebook cell's frame and the library's two, at the arrows
    [exc] = tb.exceptions
    assert (exc.type, exc.message) == ("KeyError", "'unit_format'")
    assert [(f.line, f.function, f.source) for f in exc.frames] == [
        (1, "<module>", """table.fields.extend([Field(votable, name='XXX', datatype="float", unit = "mag")])"""),
        (1325, "unit", "format = _get_unit_format(self._config)"),
        (182, "_get_unit_format", "if config['unit_format'] is None:"),
    ]
    assert exc.frames[2].file.endswith("astropy-0.3.dev4321-py2.7.egg/astropy/io/votable/tree.pyc")


def test_a_jupyter_chain_in_colour_is_read_as_cpythons_chain() -> None:
    # GIVEN IPython 8's colour output of an exception raised from another
    # WHEN it is read
    [tb] = find_ipython(JUPYTER)
    # THEN the cause comes first, linked by "cause", then the final exception; qualified names are
    # read as CPython prints them (the function's own name)
    cause, final = tb.exceptions
    assert (cause.type, cause.message, cause.link) == ("KeyError", "'B-2'", "cause")
    assert [(f.file, f.line, f.function, f.source) for f in cause.frames] == [
        ("~/src/shop/shop/cart.py", 5, "price", "return self.prices[sku]")
    ]
    assert (final.type, final.message, final.link) == ("LookupError", "B-2", None)
    assert [(f.line, f.function) for f in final.frames] == [(1, "<module>"), (11, "total")]


def test_the_localize_command_locates_a_pasted_jupyter_traceback(tmp_path) -> None:  # noqa: ANN001
    # GIVEN the repository the notebook ran and the pasted output
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "cart.py").write_text(CART)
    trace = tmp_path / "issue.txt"
    trace.write_text("Running the notebook gives:\n\n" + JUPYTER)
    # WHEN it is localized
    result = run_cli("localize", str(trace), "--repo", str(tmp_path), "--json")
    # THEN the repository's frames are located: the final exception's raise, then the cause's line
    assert result.returncode == 0, result.stderr
    located = json.loads(result.stdout)["located"]
    assert [(loc["path"], loc["line"]) for loc in located] == [("shop/cart.py", 11), ("shop/cart.py", 5)]


def test_a_function_a_cell_defined_and_a_long_type_name_are_read() -> None:
    # GIVEN IPython 8.12's output for a function defined in a cell, called through the
    # repository's apply(), raising a type whose name is longer than IPython's column
    text = (
        "---------------------------------------------------------------------------\n"
        "ResourceNotFoundExceptionWithAVeryLongNameTraceback (most recent call last)\n"
        "Cell In[2], line 1\n"
        "----> 1 apply(f, {})\n"
        "\n"
        "File /src/pkg/frame.py:2, in apply(func, value)\n"
        "----> 2     result = func(value)\n"
        "\n"
        "Cell In[1], line 3, in f(x)\n"
        "----> 3     return x['missing']\n"
        "\n"
        "ResourceNotFoundExceptionWithAVeryLongName: 'missing'\n"
    )
    # WHEN read
    [tb] = find_ipython(text)
    # THEN each frame keeps its own line (the cell's frame does not overwrite the repository's)
    [exc] = tb.exceptions
    assert exc.type == "ResourceNotFoundExceptionWithAVeryLongName"
    assert [(f.file, f.line, f.function, f.source) for f in exc.frames] == [
        ("<ipython-input>", 1, "<module>", "apply(f, {})"),
        ("/src/pkg/frame.py", 2, "apply", "result = func(value)"),
        ("<ipython-input>", 3, "f", "return x['missing']"),
    ]


def test_a_cpython_traceback_is_not_read_again_in_ipythons_form() -> None:
    # GIVEN CPython's own form, WHEN read as a pasted text, THEN its reader's frames are kept
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/shop/cart.py", line 4, in price\n'
        "    return self.prices[sku]\n"
        "KeyError: 'B-2'\n"
    )
    [tb] = read_pasted(text.encode())
    assert tb.form != "ipython"
    assert find_ipython(text) == []


_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True)
_SOURCES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}(\.[a-z_]{1,6})?\([a-z0-9_, ]{0,12}\)", fullmatch=True)
_FRAMES = st.lists(
    st.tuples(
        st.builds(lambda d, m: f"/home/u/{d}/{m}.py", _NAMES, _NAMES),
        st.integers(1, 99_999),
        _NAMES,
        _SOURCES,
        st.integers(0, 3),  # context lines printed before the arrow
    ),
    min_size=1,
    max_size=6,
)


def _render(frames: list[tuple[str, int, str, str, int]], etype: str, message: str, new: bool) -> str:
    out = ["-" * 75, f"{etype:<42}Traceback (most recent call last)"]
    for file, line, function, source, before in frames:
        out.append(f"File {file}:{line}, in Cls.{function}(self)" if new else f"{file} in {function}(self, x)")
        out += [f"{n:>7} x = {n}" for n in range(max(1, line - before), line)]
        arrow = f"--> {line}" if new else f"{'-' * max(1, 6 - len(str(line)))}> {line}"
        out += [f"{arrow} {source}", ""]
    return "\n".join([*out, f"{etype}: {message}", ""])


@given(
    frames=_FRAMES,
    etype=st.sampled_from(["KeyError", "ValueError", "pkg.errors.ConfigError"]),
    message=st.from_regex(r"[A-Za-z0-9 ':]{0,30}", fullmatch=True),
    new=st.booleans(),
    indent=st.sampled_from(["", "    "]),
)
def test_any_ipython_traceback_reads_back_its_frames(
    frames: list[tuple[str, int, str, str, int]], etype: str, message: str, new: bool, indent: str
) -> None:
    # GIVEN any frames printed in IPython 7's or 8's form, maybe indented as a block
    text = "\n".join(indent + line if line else "" for line in _render(frames, etype, message, new).splitlines())
    # WHEN read back
    [tb] = find_ipython("In [4]: run()\n" + text)
    # THEN the exception and every frame are what was printed
    [exc] = tb.exceptions
    assert (exc.type, exc.message) == (etype, message.strip())
    assert [(f.file, f.line, f.function, f.source) for f in exc.frames] == [
        (file, line, function, source.strip()) for file, line, function, source, _ in frames
    ]
