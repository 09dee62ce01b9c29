"""The failing library and the repository's files named after it (``core/libraries.py``), and how
the ranked search shows them (``core/retrieve.py``, kind ``named``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.libraries import failing_modules, frame_module, is_own_copy, message_modules, named_after
from chalicelib.core.models import Frame, RaisedException
from chalicelib.core.retrieve import SearchLimits, build_query, search

HOOK = '''"""Hook for cryptography."""
hiddenimports = ['cryptography.hazmat.bindings.openssl']


def hook(mod):
    return mod
'''


def test_a_library_frame_names_its_module_after_the_install_root() -> None:
    assert frame_module(Frame("/usr/lib/python3/site-packages/lxml/etree.py", 3, "f")) == "lxml.etree"
    assert frame_module(Frame("/var/task/lxml\\isoschematron\\__init__.py", 7, "<module>")) == "lxml.isoschematron"
    assert frame_module(Frame("/usr/lib/python3.11/json/decoder.py", 1, "decode")) == "json.decoder"
    assert frame_module(Frame("/x/app-1.0-py3.5.egg\\app\\plugins\\zdf.py", 9, "f")) == "app.plugins.zdf"


def test_a_frozen_archive_and_a_cython_init_frame_name_the_module_they_run() -> None:
    frozen = Frame("build\\x86\\obj\\out00-PYZ.pyz\\cryptography.hazmat.primitives.padding", 74, "<module>")
    assert frame_module(frozen) == "cryptography.hazmat.primitives.padding"
    assert frame_module(Frame("src\\lxml\\serializer.pxi", 625, "init lxml.etree")) == "lxml.etree"


def test_a_path_without_an_install_root_names_no_module() -> None:
    assert frame_module(Frame("c:\\users\\me\\tmp\\test_lxml.py", 5, "<module>")) is None
    assert frame_module(Frame("<stdin>", 1, "<module>")) is None


def test_messages_name_the_missing_module_and_the_one_an_import_failed_from() -> None:
    assert message_modules("No module named contextlib") == ["contextlib"]
    assert message_modules("No module named 'pkg.sub'") == ["pkg.sub"]
    assert message_modules("cannot import name 'x' from 'attr._make' (/v/attr/_make.py)") == ["attr._make"]
    assert message_modules("module 'os' has no attribute 'getcwdu'") == ["os"]
    assert message_modules("list index out of range") == []


def test_the_failing_modules_are_the_innermost_unmapped_frames_then_the_messages_modules() -> None:
    # GIVEN a frozen app's import: the repository's loader frame, then lxml's own frames
    loader = Frame("C:\\p\\PyInstaller\\loader\\pyimod03_importers.py", 389, "load_module")
    exc = RaisedException(
        "ImportError",
        "No module named contextlib",
        (
            Frame("/var/task/lxml\\isoschematron\\__init__.py", 7, "<module>"),
            loader,
            Frame("src\\lxml\\serializer.pxi", 625, "init lxml.etree"),
        ),
    )
    # WHEN the loader frame maps to a repository file
    modules = failing_modules((exc,), {loader})
    # THEN lxml.etree failed (the frame before the loader is its caller); contextlib, the module
    # the message names, is the standard library's: no file of the repository is about it
    assert modules == ("lxml.etree",)


def test_a_reproductions_test_module_and_the_standard_library_are_no_failing_library() -> None:
    # GIVEN a regression test's frame (deployed beside the code, mapped to nothing) calling
    # simplejson, which calls the standard json
    exc = RaisedException(
        "ValueError",
        "No module named 'asyncio.subprocess'",
        (
            Frame("/var/task/tests/brain/test_attr.py", 228, "test_attrs"),
            Frame("/var/task/simplejson/decoder.py", 3, "decode"),
            Frame("/usr/lib/python3.11/json/decoder.py", 3, "decode"),
        ),
    )
    # THEN simplejson failed; neither the test nor a standard module is a library a file of the
    # repository is named after
    assert failing_modules((exc,), set()) == ("simplejson.decoder",)


def test_a_file_named_after_the_module_or_a_package_above_it_is_found_the_more_specific_first() -> None:
    paths = [
        "PyInstaller/hooks/hook-lxml.objectify.py",
        "PyInstaller/hooks/hook-lxml.py",
        "PyInstaller/hooks/hook-lxml.etree.py",
        "PyInstaller/hooks/hook-cryptography.py",
        "PyInstaller/hooks/hook-cffi.py",
    ]
    found = named_after(("lxml.etree", "cryptography.hazmat.primitives.padding"), paths)
    # THEN the sibling module's hook is never taken; the module's own before its package's
    assert [n.path for n in found] == [
        "PyInstaller/hooks/hook-lxml.etree.py",
        "PyInstaller/hooks/hook-lxml.py",
        "PyInstaller/hooks/hook-cryptography.py",
    ]
    assert [n.rank for n in found] == [0, 0, 1]


def test_the_librarys_own_copy_tests_and_examples_are_not_files_about_it() -> None:
    paths = [
        "pkg/_vendor/six.py",
        "lxml/etree.py",
        "vendored/lxml/etree.py",
        "tests/test_six.py",
        "examples/example_six_reloader.py",
        "docs/six_theme.py",
        "pkg/compat/six.py",
    ]
    assert [n.path for n in named_after(("six", "lxml.etree"), paths)] == ["pkg/compat/six.py"]


def test_the_failing_librarys_module_words_join_the_query() -> None:
    # GIVEN a Sphinx extension failing on the project's configuration
    exc = RaisedException(
        "TypeError",
        "not all arguments converted during string formatting",
        (Frame("/var/task/sphinx/ext/extlinks.py", 103, "role", "title = caption % part"),),
    )
    # WHEN
    query = build_query((exc,))
    # THEN the module's words weigh as the message's: the project's ``extlinks`` dict can be found
    assert query.libraries == ("sphinx.ext.extlinks",)
    assert query.terms["extlinks"] == 1.0 and query.terms["sphinx"] == 1.0


@given(
    module=st.from_regex(r"[a-z][a-z0-9]{2,8}(\.[a-z][a-z0-9]{2,8}){0,2}", fullmatch=True),
    prefix=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), max_size=3),
    vendor=st.sampled_from(["_vendor", "vendor", "third_party", "site-packages", ""]),
    stem=st.sampled_from(["{m}", "{top}", "hook-{m}", "brain_{top}", "__init__"]),
)
def test_a_file_inside_the_librarys_own_tree_is_never_taken_as_the_file_about_it(
    module: str, prefix: list[str], vendor: str, stem: str
) -> None:
    # GIVEN a path inside the library's own package (vendored or not), its name any variant
    top = module.split(".", 1)[0]
    folders = [*prefix, *([vendor] if vendor else []), top, *module.split(".")[1:-1]]
    path = "/".join([*folders, stem.format(m=module, top=top) + ".py"])
    # THEN it is the library's copy, and never found as the repository's file about the library
    assert is_own_copy(path, module)
    assert named_after((module,), [path]) == []


def _frozen_trace() -> RaisedException:
    return RaisedException(
        "IOError",
        "[Errno 2] No such file or directory: '_Cryptography_cffi_8f86901c.c'",
        (
            Frame("build\\out00-PYZ.pyz\\cryptography.hazmat.primitives.padding", 74, "<module>"),
            Frame("build\\out00-PYZ.pyz\\cffi.verifier", 125, "_write_source"),
        ),
    )


def test_the_search_shows_a_short_file_named_after_the_failing_library_whole_and_first() -> None:
    # GIVEN a plugin-style repository with a hook per library, and a frozen app's trace
    repo = {
        "PyInstaller/hooks/hook-cryptography.py": HOOK,
        "PyInstaller/hooks/hook-django.py": "hiddenimports = ['django.core']\n",
        "PyInstaller/building/api.py": "def write_source(path):\n    return open(path)\n",
    }
    query = build_query((_frozen_trace(),))
    # WHEN
    hits = search(query, repo, repo.get)
    # THEN the hook of the failing library comes first, whole; no other hook is taken
    assert query.libraries == ("cffi.verifier", "cryptography.hazmat.primitives.padding")
    assert (hits[0].path, hits[0].start, hits[0].end, hits[0].kind) == (
        "PyInstaller/hooks/hook-cryptography.py", 1, 6, "named",
    )  # fmt: skip
    assert all(h.path != "PyInstaller/hooks/hook-django.py" for h in hits)


def test_a_long_named_file_gives_its_best_definition_and_a_traced_one_nothing() -> None:
    body = "\n".join(f"def helper_{i}():\n    return {i}\n" for i in range(40))
    repo = {"pkg/compat/cffi.py": body + "\ndef write_source(tmp):\n    return tmp\n"}
    query = build_query((_frozen_trace(),))
    hits = search(query, repo, repo.get, limits=SearchLimits(max_hits=0))
    assert [(h.path, h.name, h.kind) for h in hits] == [("pkg/compat/cffi.py", "write_source", "named")]
    # a file the trace already shows a line of is not shown again as the file about the library
    assert search(query, repo, repo.get, exclude=[("pkg/compat/cffi.py", 3, 3)], limits=SearchLimits(max_hits=0)) == []
