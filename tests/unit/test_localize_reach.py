"""Localization reaching what a careful reader of the trace opens: the repository's innermost frame
when a library deployed beside the code raised, the name the printed line passes, what a local was
computed from, the functions using a failing import, copies of the raising statement, the handlers
around callers' lines, and frame headers a console wrapped at its width."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.context import Context, select_context
from chalicelib.core.localize import RepoIndex, localize, locate, read_pasted, unwrap
from chalicelib.core.tracebacks import find_in_text
from tests.cli import run_cli

SETUP = (
    "import os\n"
    "\n"
    "REQUIRES = ['msgpack>=0.4.6', ]\n" + "\n".join(f"OPTION_{i} = {i}" for i in range(40)) + "\n\n"
    "setup(\n"
    "    name='pkg',\n"
    "    a=OPTION_1,\n"
    "    b=OPTION_2,\n"
    "    c=OPTION_3,\n"
    "    d=OPTION_4,\n"
    "    e=OPTION_5,\n"
    "    f=OPTION_6,\n"
    "    g=OPTION_7,\n"
    "    h=OPTION_8,\n"
    "    install_requires=REQUIRES,\n"
    ")\n"
)


def _context_of(trace: str, repo: dict[str, str]) -> Context:
    """What the model is shown for ``trace`` in ``repo`` (no search; files over 5 lines in part)."""
    [tb] = find_in_text(trace)
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    return select_context(found.located, repo.get, 6_000, whole_file_lines=5)


def _line_of(source: str, text: str) -> int:
    return source.splitlines().index(text) + 1


def _library_trace(line: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "setup.py", line {line}, in <module>\n'
        "    install_requires=REQUIRES,\n"
        '  File "/var/task/setuptools_scm/version.py", line 85, in meta\n'
        "    assert tag is not None, 'cant parse version %s' % tag\n"
        "AssertionError: cant parse version None\n"
    )


def test_when_a_library_beside_the_code_raised_the_repositorys_innermost_frame_is_the_raising_one() -> None:
    # GIVEN a crash inside an installed library deployed under /var/task (not in the repository),
    # called from the repository's setup.py with a value a module-level constant holds
    repo = {"setup.py": SETUP, "pkg/__init__.py": ""}
    line = _line_of(SETUP, "    install_requires=REQUIRES,")
    [tb] = find_in_text(_library_trace(line))
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions, whole_file_lines=5)
    # THEN setup.py's frame raises, and the constant its printed line passes is shown, though the
    # call uses more names than the definitions' cap and that one comes last in it
    assert [(loc.path, loc.evidence) for loc in found.located] == [("setup.py", "raising")]
    assert ("REQUIRES", "setup.py") in {(d.name, d.path) for d in found.definitions}
    assert ctx.covers("setup.py", _line_of(SETUP, "REQUIRES = ['msgpack>=0.4.6', ]"))


def test_a_library_frame_that_maps_to_a_repository_file_still_raises() -> None:
    # GIVEN the same trace, with the library's file in the repository (vendored)
    repo = {
        "setup.py": SETUP,
        "setuptools_scm/version.py": "\n" * 84 + "assert tag is not None, 'cant parse version %s' % tag\n",
    }
    line = _line_of(SETUP, "    install_requires=REQUIRES,")
    [tb] = find_in_text(_library_trace(line))
    # WHEN
    located = locate(tb.exceptions, RepoIndex(repo), repo.get)
    # THEN the library's frame is the raising one, the caller after it (nothing skipped)
    assert [(loc.path, loc.evidence) for loc in located] == [
        ("setuptools_scm/version.py", "raising"),
        ("setup.py", "caller"),
    ]


def test_the_functions_using_a_failing_import_are_shown_beside_it() -> None:
    # GIVEN a module whose guarded import fails on this platform, and a function far below that
    # tests for the imported name (where the fix must guard too)
    filler = "\n".join(f"def helper_{i}():\n    return {i}\n" for i in range(15))
    source = (
        "try:\n"
        "    import distutils.msvc9compiler\n"
        "except ImportError:\n"
        "    pass\n"
        "\n"
        f"{filler}\n"
        "def patch_for_compiler():\n"
        "    if 'distutils' not in globals():\n"
        "        return\n"
        "    distutils.msvc9compiler.find = None\n"
        "\n"
        "def unrelated():\n"
        "    return 2\n"
    )
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/tools/msvc.py", line 2, in <module>\n'
        "    import distutils.msvc9compiler\n"
        '  File "/usr/lib/python3.12/distutils/msvc9compiler.py", line 306, in <module>\n'
        '    raise DistutilsPlatformError("VC is not supported")\n'
        "distutils.errors.DistutilsPlatformError: VC 6.0 is not supported by this module\n"
    )
    repo = {"tools/msvc.py": source}
    # WHEN
    ctx = _context_of(trace, repo)
    # THEN the function testing for the import is shown whole, an unrelated one is not
    start = _line_of(source, "def patch_for_compiler():")
    assert all(ctx.covers("tools/msvc.py", n) for n in range(start, start + 4))
    assert not ctx.covers("tools/msvc.py", _line_of(source, "def unrelated():"))


def test_a_failing_imports_uses_at_module_level_are_shown_beside_it() -> None:
    # GIVEN a script whose import fails when run from the source tree, the imported name used far
    # below in its `if __name__ == "__main__":` block (where the fix moves the import)
    filler = "\n".join(f"    option_{i} = {i}" for i in range(40))
    source = (
        "import argparse\n"
        "from errbot.utils import PidFile\n"
        "\n"
        "def unrelated():\n"
        "    return 2\n"
        "\n"
        'if __name__ == "__main__":\n'
        f"{filler}\n"
        "    pidfile = PidFile(option_1)\n"
        "    pidfile.write()\n"
    )
    trace = (
        "Traceback (most recent call last):\n"
        '  File "./scripts/err.py", line 2, in <module>\n'
        "    from errbot.utils import PidFile\n"
        "ImportError: No module named errbot.utils\n"
    )
    repo = {"scripts/err.py": source}
    # WHEN
    ctx = _context_of(trace, repo)
    # THEN the lines around its use are shown; the middle of the block is not
    use = _line_of(source, "    pidfile = PidFile(option_1)")
    assert all(ctx.covers("scripts/err.py", n) for n in range(use - 1, use + 2))
    assert not ctx.covers("scripts/err.py", _line_of(source, "    option_20 = 20"))


WRAPPED = (
    "Traceback (most recent call last):\n"
    '  File "/var/task/babel/localtime/__init__.py", line 74, in\n'
    "<module>\n"
    "    LOCALTZ = get_localzone()\n"
    '  File "/var/task/babel/localtime/_win32.py", line 97, in _g\n'
    "et_localzone\n"
    "    return pytz.timezone(get_localzone_name())\n"
    '  File "/var/task/babel/localtime/_wi\n'
    'n32.py", line 70, in get_localzone_name\n'
    "    if data['Std'] == tzwin:\n"
    "KeyError: 'Std'\n"
)


def test_frame_headers_a_console_wrapped_are_joined_before_reading() -> None:
    # GIVEN a trace pasted from an 80-column console: a function name and a path cut at the width
    # WHEN
    [tb] = read_pasted(WRAPPED.encode())
    # THEN every frame is read, with its whole function name and path, and the exception too
    assert [(f.file, f.function) for f in tb.final.frames] == [
        ("/var/task/babel/localtime/__init__.py", "<module>"),
        ("/var/task/babel/localtime/_win32.py", "_get_localzone"),
        ("/var/task/babel/localtime/_win32.py", "get_localzone_name"),
    ]
    assert (tb.final.type, tb.final.message) == ("KeyError", "'Std'")


def test_a_trace_nothing_wrapped_reads_as_before() -> None:
    # GIVEN a plain trace and log lines that look like a header's end (a bare word at column 0)
    text = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/a.py", line 3, in handler\n'
        "    return d[k]\n"
        "KeyError: 'k'\n"
        "END\n"
    )
    # WHEN / THEN unwrapping changes nothing, and reading the pasted text gives the reader's answer
    assert unwrap(text) == text
    assert read_pasted(text.encode()) == find_in_text(text)


@given(
    st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,14}", fullmatch=True), min_size=1, max_size=5),
    st.data(),
)
def test_a_header_wrapped_anywhere_in_its_function_name_reads_like_the_whole_one(
    functions: list[str], data: st.DataObject
) -> None:
    # GIVEN a trace, and the same trace with one frame header cut inside (or just before) its
    # function name (property: any frame, any cut)
    frames = [
        f'  File "/var/task/app/m{i}.py", line {i + 1}, in {name}\n    call_{i}()\n' for i, name in enumerate(functions)
    ]
    whole = "Traceback (most recent call last):\n" + "".join(frames) + "ValueError: bad\n"
    which = data.draw(st.integers(0, len(functions) - 1))
    name = functions[which]
    cut = data.draw(st.integers(0, len(name) - 1))
    head = f'  File "/var/task/app/m{which}.py", line {which + 1}, in'
    wrapped_header = (f"{head} {name[:cut]}\n{name[cut:]}" if cut else f"{head}\n{name}") + "\n"
    wrapped = whole.replace(f"{head} {name}\n", wrapped_header, 1)
    # WHEN
    [tb] = read_pasted(wrapped.encode())
    # THEN the frames read are the unwrapped trace's
    assert unwrap(wrapped) == whole
    assert [f.function for f in tb.final.frames] == functions


def test_a_copy_of_the_raising_statement_elsewhere_in_the_file_is_shown_with_its_function() -> None:
    # GIVEN the raising statement copied into a sibling method far below, and a plain line
    # (`return None`) repeated too
    filler = "\n".join(f"    def helper_{i}(self):\n        return None\n" for i in range(20))
    source = (
        "class Client:\n"
        "    def flush_notifications(self, msg):\n"
        "        raise Exception('Unhandled message type: %s' % msg.msg_type)\n"
        "\n"
        f"{filler}\n"
        "    def flush_results(self, msg):\n"
        "        handler = None\n"
        "        raise Exception('Unhandled message type: %s' % msg.msg_type)\n"
    )
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/client.py", line 3, in flush_notifications\n'
        "    raise Exception('Unhandled message type: %s' % msg.msg_type)\n"
        "AttributeError: 'dict' object has no attribute 'msg_type'\n"
    )
    repo = {"app/client.py": source}
    # WHEN
    ctx = _context_of(trace, repo)
    # THEN the copy's whole method is shown, the helpers between are not
    start = _line_of(source, "    def flush_results(self, msg):")
    assert all(ctx.covers("app/client.py", n) for n in range(start, start + 3))
    assert not ctx.covers("app/client.py", _line_of(source, "    def helper_10(self):"))


def test_the_names_a_raising_lines_local_was_computed_from_are_followed_one_step_back() -> None:
    # GIVEN a raising line using a local set from a constant of another module, itself computed
    # by a function of that module (where the fix belongs)
    encoding = (
        "import locale\n"
        "\n"
        "\n"
        "def default_encoding():\n"
        "    return locale.getpreferredencoding() or 'cp0'\n"
        "\n"
        "\n"
        "DEFAULT_ENCODING = default_encoding()\n"
    )
    compat = (
        "from app.encoding import DEFAULT_ENCODING\n"
        "\n"
        "\n"
        "def decode(s, encoding=None):\n"
        "    encoding = encoding or DEFAULT_ENCODING\n"
        "    return s.decode(encoding, 'replace')\n"
    )
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/compat.py", line 6, in decode\n'
        "    return s.decode(encoding, 'replace')\n"
        "LookupError: unknown encoding: cp0\n"
    )
    repo = {"app/__init__.py": "", "app/encoding.py": encoding, "app/compat.py": compat}
    [tb] = find_in_text(trace)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    # THEN the constant and the function computing it are definitions a fix may edit
    assert {(d.name, d.path, d.start) for d in found.definitions} >= {
        ("DEFAULT_ENCODING", "app/encoding.py", 8),
        ("default_encoding", "app/encoding.py", 4),
    }


def test_a_parameters_default_is_followed_when_the_raising_line_uses_the_parameter() -> None:
    # GIVEN a parameter whose default is a module table, indexed on the raising line
    source = "ROUTES = {'a': 1}\n\n\ndef route(key, table=ROUTES):\n    return table[key]\n"
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/routes.py", line 5, in route\n'
        "    return table[key]\n"
        "KeyError: 'b'\n"
    )
    repo = {"app/routes.py": source}
    [tb] = find_in_text(trace)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    # THEN the table is a definition (a fix adds the key there)
    assert ("ROUTES", "app/routes.py", 1) in {(d.name, d.path, d.start) for d in found.definitions}


def test_the_handlers_a_callers_line_sits_in_are_shown_inner_and_outer() -> None:
    # GIVEN a module-level import of the package, inside a try/finally inside a try whose
    # `except ImportError` did not catch what the package raised on import
    filler = "\n".join(f"        step_{i} = {i}" for i in range(12))
    setup = (
        "import sys\n"
        "\n"
        "try:\n"
        "    orig_path = sys.path[:]\n"
        "    try:\n"
        "        import pkg.app\n"
        f"{filler}\n"
        "    except OSError:\n"
        "        print('no old version')\n"
        "    finally:\n"
        "        sys.path[:] = orig_path\n"
        "except ImportError:\n"
        "    pass\n"
        "\n" + "\n".join(f"OPTION_{i} = {i}" for i in range(30)) + "\n"
    )
    package = "\n" * 5 + "def boot():\n    return {}.iteritems()\n\n\nboot()\n"
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/build/pkg/setup.py", line 6, in <module>\n'
        "    import pkg.app\n"
        '  File "pkg/app.py", line 10, in <module>\n'
        "    boot()\n"
        '  File "pkg/app.py", line 7, in boot\n'
        "    return {}.iteritems()\n"
        "AttributeError: 'dict' object has no attribute 'iteritems'\n"
    )
    repo = {"setup.py": setup, "pkg/__init__.py": "", "pkg/app.py": package}
    # WHEN
    ctx = _context_of(trace, repo)
    # THEN both handlers around the caller's line are shown, though its ±8 window reaches neither
    inner = _line_of(setup, "    except OSError:")
    outer = _line_of(setup, "except ImportError:")
    assert inner - 6 > 8
    assert ctx.covers("setup.py", inner)
    assert ctx.covers("setup.py", outer)
    assert ctx.covers("setup.py", outer + 1)


def test_selfheal_localize_reads_a_trace_a_console_wrapped(tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    # GIVEN a repository and a pasted trace whose raising frame's header was cut at 80 columns
    (tmp_path / "repo" / "app").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "tz.py").write_text(
        "def get_localzone_name(data):\n    if data['Std'] == 'x':\n        return 1\n"
    )
    trace = tmp_path / "trace.log"
    trace.write_text(
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/tz.py", line 2, in get_loc\n'
        "alzone_name\n"
        "    if data['Std'] == 'x':\n"
        "KeyError: 'Std'\n"
    )
    # WHEN
    result = run_cli("localize", str(trace), "--repo", str(tmp_path / "repo"), "--json")
    # THEN the frame is located with its whole function name
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["located"] == [{"path": "app/tz.py", "line": 2, "function": "get_localzone_name"}]


def test_a_vendored_copy_in_the_repository_is_not_the_raising_frame_the_projects_own_call_is() -> None:
    # GIVEN a crash inside a library's copy kept in the repository (pip's vendored packaging),
    # reached from the project's own install routine
    repo = {
        "pkg/routines/install.py": (
            "def batch_install(dep):\n    if dep.markers and not dep.markers.evaluate():\n        return\n"
        ),
        "pkg/patched/pip/_vendor/packaging/markers.py": "def evaluate(env, key):\n    return env[key]\n",
    }
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/home/runner/work/pkg/pkg/routines/install.py", line 2, in batch_install\n'
        "    if dep.markers and not dep.markers.evaluate():\n"
        '  File "/home/runner/work/pkg/pkg/patched/pip/_vendor/packaging/markers.py", line 2, in evaluate\n'
        "    return env[key]\n"
        "KeyError: 'dependency_groups'\n"
    )
    [tb] = find_in_text(trace)
    # WHEN
    located = locate(tb.exceptions, RepoIndex(repo), repo.get)
    # THEN the project's own call is the raising frame; the copy's frame is still located, after it
    assert [(loc.path, loc.evidence) for loc in located] == [
        ("pkg/routines/install.py", "raising"),
        ("pkg/patched/pip/_vendor/packaging/markers.py", "caller"),
    ]


def test_a_frame_whose_path_maps_to_nothing_is_mapped_by_the_lines_it_ran() -> None:
    # GIVEN a script run through a symlink (~/bin/convert for the repository's convert.py): its
    # path shares no file name with the repository, its printed lines are convert.py's
    convert = (
        "import io\n\n\n"
        "def stylesheet(fname):\n"
        "    with io.open(fname, encoding='utf-8') as f:\n"
        "        return f.read()\n\n\n"
        "def main(args):\n"
        "    return stylesheet(args.infile[0])\n"
    )
    other = "def render(args):\n    return stylesheet(args.infile[0])\n"  # one of the lines, not both
    repo = {"convert.py": convert, "tools/render.py": other}
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/home/pi/bin/convert", line 10, in main\n'
        "    return stylesheet(args.infile[0])\n"
        '  File "/home/pi/bin/convert", line 5, in stylesheet\n'
        "    with io.open(fname, encoding='utf-8') as f:\n"
        "FileNotFoundError: [Errno 2] No such file or directory: '/home/pi/bin/css/style.css'\n"
    )
    [tb] = find_in_text(trace)
    # WHEN
    located = locate(tb.exceptions, RepoIndex(repo), repo.get)
    # THEN both frames run convert.py, the file holding both lines (render.py holds only one)
    assert [(loc.path, loc.current_line) for loc in located] == [("convert.py", 5), ("convert.py", 10)]
    # AND a line two files hold alike maps to neither
    tie = {"convert.py": convert, "tools/copy.py": convert}
    assert locate(tb.exceptions, RepoIndex(tie), tie.get) == []
