"""Structural candidates of the ranked search: importers, key declarations, literal templates, callers,
subclasses, registrations."""

from __future__ import annotations

import ast
import string
from typing import TYPE_CHECKING

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.core.context import SEARCH_NOTE, select_context
from chalicelib.core.localize import localize
from chalicelib.core.log_files import read_tracebacks
from chalicelib.core.retrieve import Query, SearchLimits, build_query, search
from chalicelib.core.structure import (
    KINDS,
    Traced,
    candidates,
    constant_text,
    meaningful,
    template_matches,
    template_pieces,
)

if TYPE_CHECKING:
    from pathlib import Path

ALL = SearchLimits(structural=KINDS, min_share=0.0)


def _write(root: Path, files: dict[str, str]) -> dict[str, str]:
    """A small repository on disk, read back as the search reads one (paths relative to ``root``)."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.py")}


def _trees(repo: dict[str, str]) -> dict[str, ast.Module]:
    return {path: ast.parse(text) for path, text in repo.items()}


def _pieces(source: str) -> list[str | None] | None:
    return template_pieces(ast.parse(source, mode="eval").body)


# --- templates -----------------------------------------------------------------------------------


def test_placeholders_of_every_format_become_wildcards() -> None:
    assert _pieces("'no %s in %(where)r, 100%%'") == ["no ", None, " in ", None, ", 100%"]
    assert _pieces("'spider {} not in {0!r:>4} {{x}}'") == ["spider ", None, " not in ", None, " {x}"]
    assert _pieces("f'spider {name} not found'") == ["spider ", None, " not found"]
    assert _pieces("name") is None


def test_a_template_needs_enough_constant_text() -> None:
    assert not meaningful(["%s: ", None])
    assert not meaningful(["timeout", None])  # one word
    assert meaningful(["Spider not found: ", None])


@given(
    st.lists(st.text(alphabet=string.ascii_letters + " :.,'", max_size=12), min_size=1, max_size=4),
    st.lists(st.text(max_size=20), min_size=4, max_size=4),
    st.sampled_from(["%s", "{}", "{0!r}", "%(name)s", "%-8.3f"]),
)
def test_a_message_formatted_from_a_template_always_matches_it(
    constants: list[str], values: list[str], placeholder: str
) -> None:
    # GIVEN a template: constant parts joined by placeholders (literal % and braces escaped)
    escaped = [c.replace("%", "%%").replace("{", "{{").replace("}", "}}") for c in constants]
    template = placeholder.join(escaped)
    # WHEN it is formatted with arbitrary values (what the placeholder printed is arbitrary text)
    message = "".join(c + (values[i] if i < len(constants) - 1 else "") for i, c in enumerate(constants))
    pieces = _pieces(repr(template))
    assert pieces is not None
    assume(constant_text(pieces))  # a template of placeholders only is never compared
    # THEN the template's pieces match the message
    assert template_matches(pieces, message)


def test_a_template_does_not_match_a_message_missing_its_text() -> None:
    pieces = _pieces("'Spider not found: %s'")
    assert pieces is not None
    assert template_matches(pieces, "KeyError: 'Spider not found: fb_spider'")
    assert not template_matches(pieces, "Spider missing: fb_spider")


def test_the_literal_that_wrote_the_message_is_found_a_raise_site_first(tmp_path: Path) -> None:
    # GIVEN a REPL reproduction: no repository frame, a message one module writes and another logs
    repo = _write(tmp_path, {
        "app/spiders.py": "def create(name):\n    raise KeyError('Spider not found: %s' % name)\n",
        "app/log.py": "def report(name):\n    print(f'Spider not found: {name}')\n",
        "app/other.py": "def f():\n    '''Spider not found: docstrings never count.'''\n",
    })  # fmt: skip
    # WHEN
    found = candidates(["'Spider not found: fb_spider'"], [], (), _trees(repo), kinds={"template"})
    # THEN both literals are candidates, the raise site first; the docstring is none
    assert [(c.path, c.start, c.end, c.kind) for c in found] == [
        ("app/spiders.py", 1, 2, "template"),
        ("app/log.py", 1, 2, "template"),
    ]


# --- importers of a name that cannot be imported ------------------------------------------------

EXAMPLE = "import sys\n\nfrom rq import Connection, Queue\n\nq = Queue()\n"


def test_other_files_importing_a_name_that_cannot_be_imported_are_candidates(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "examples/run_example.py": EXAMPLE,
        "examples/run_worker.py": "import os\nfrom rq import Connection, Queue, Worker\n\nw = Worker()\n",
        "rq/__init__.py": "from .queue import Queue\nfrom .connections import Connection as Conn\n",
        "other/redis.py": "from redis import Connection\n",  # another module's Connection
    })  # fmt: skip
    traced = [Traced("examples/run_example.py", 3, "<module>")]
    message = "cannot import name 'Connection' from 'rq' (/tmp/rq/rq/__init__.py). Did you mean: 'connections'?"
    # WHEN
    found = candidates([message], traced, (), _trees(repo), kinds={"importer"})
    # THEN the other example importing it from rq, with the lines around its import
    assert [(c.path, c.start, c.end, c.kind) for c in found] == [("examples/run_worker.py", 1, 4, "importer")]


def test_without_the_module_in_the_message_the_traced_files_own_import_names_it(tmp_path: Path) -> None:
    # Python 2 says only "cannot import name chunks"
    repo = _write(tmp_path, {
        "pkg/network/hoster.py": "from pkg.utils.convert import chunks as _chunks\nchunks = _chunks\n",
        "pkg/network/crypter.py": "from ..utils.convert import chunks\n",
        "pkg/other.py": "from pkg.text import chunks\n",
    })  # fmt: skip
    traced = [Traced("pkg/network/hoster.py", 1, "<module>")]
    found = candidates(["cannot import name chunks"], traced, (), _trees(repo), kinds={"importer"})
    assert [(c.path, c.start, c.end) for c in found] == [("pkg/network/crypter.py", 1, 1)]


def test_a_circular_imports_message_names_its_module_too(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "pkg/views.py": "from pkg.models import User\n",
        "pkg/admin.py": "from .models import User\n",
        "other/admin.py": "from .models import User\n",  # other.models: another module
    })  # fmt: skip
    traced = [Traced("pkg/views.py", 1, "<module>")]
    message = (
        "cannot import name 'User' from partially initialized module 'pkg.models' "
        "(most likely due to a circular import)"
    )
    found = candidates([message], traced, (), _trees(repo), kinds={"importer"})
    assert [c.path for c in found] == ["pkg/admin.py"]


def test_a_name_many_files_import_tells_nothing(tmp_path: Path) -> None:
    files = {f"app/m{i}.py": "from app.models import User\n" for i in range(4)}
    repo = _write(tmp_path, {**files, "app/views.py": "from app.models import User\n"})
    traced = [Traced("app/views.py", 1, "<module>")]
    message = "cannot import name 'User' from 'app.models'"
    assert candidates([message], traced, (), _trees(repo), kinds={"importer"}) == []


# --- the declaration of a key the raising line reads --------------------------------------------

OPTIONS = (
    "class CoverOptionsPage(OptionsPage):\n"
    "    options = [\n"
    '        config.BoolOption("setting", "caa_approved_only", False),\n'
    '        config.TextOption("setting", "caa_image_types", "front"),\n'
    "    ]\n"
    "\n"
    "    def load(self):\n"
    '        self.types = config.setting["caa_image_types"].split()\n'
    "\n"
    "    def save(self):\n"
    '        config.setting["caa_image_types"] = " ".join(self.types)\n'
)
COVERART = 'def coverart():\n    types = map(str.lower,\n        config.setting["caa_image_types"].split())\n'
COVERART_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "./picard/coverart.py", line 3, in coverart\n'
    '    config.setting["caa_image_types"].split())\n'
    "TypeError: descriptor 'lower' requires a 'unicode' object but received a 'str'\n"
)


def _keys(raising_line: str, message: str) -> tuple[str, ...]:
    """The query's keys for a one-frame KeyError trace."""
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/run.py", line 9, in run\n'
        f"    {raising_line}\n"
        f"KeyError: {message}\n"
    )
    [tb] = read_tracebacks(trace.encode())
    return build_query(tb.exceptions).keys


def test_the_keys_a_raising_line_reads_and_a_key_errors_key_are_in_the_query() -> None:
    [tb] = read_tracebacks(COVERART_TRACE.encode())
    assert build_query(tb.exceptions).keys == ("caa_image_types",)
    assert _keys("if data.get('Std') == tzwin and rows[0]:", "'TimeZoneKeyName'") == ("Std", "TimeZoneKeyName")


def test_a_list_display_is_no_key_and_python_2_unicode_keys_are() -> None:
    keys = _keys('check_call(["git", "clone", url]) or rows[u"branch_name"]', "u'remote_name'")
    assert keys == ("branch_name", "remote_name")


def test_where_a_key_is_declared_with_its_value_comes_before_where_it_is_stored(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "picard/ui/options/cover.py": OPTIONS,
        "picard/coverart.py": COVERART,
    })  # fmt: skip
    # WHEN
    found = candidates([], [], (), _trees(repo), kinds={"key"}, keys=["caa_image_types"])
    # THEN the option declaring it (its default), then the store; the reads are no declaration
    assert [(c.path, c.start, c.end, c.name) for c in found] == [
        ("picard/ui/options/cover.py", 1, 11, "declares 'caa_image_types'"),
        ("picard/ui/options/cover.py", 10, 11, "save"),
    ]


def test_a_key_many_files_declare_tells_nothing(tmp_path: Path) -> None:
    files = {f"app/m{i}.py": f"ROW_{i} = {{'name': {i}}}\n" for i in range(4)}
    repo = _write(tmp_path, files)
    assert candidates([], [], (), _trees(repo), kinds={"key"}, keys=["name"]) == []


def test_localize_shows_where_the_key_the_raising_line_reads_is_declared() -> None:
    repo = {
        "picard/coverart.py": COVERART,
        "picard/ui/options/cover.py": OPTIONS,
    }
    [tb] = read_tracebacks(COVERART_TRACE.encode())
    found = localize(tb.exceptions, repo, repo.get)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=1, definitions=found.definitions)
    assert ctx.covers("picard/ui/options/cover.py", 4)  # the TextOption with its default


# --- callers, subclasses, registrations ---------------------------------------------------------


def test_callers_of_a_specific_traced_function_in_other_files(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "app/core.py": "def compute_total(items):\n    return sum(items)\n\ndef get(x):\n    return x\n",
        "app/views.py": "from app.core import compute_total\n\ndef page(req):\n    return compute_total(req.items)\n",
        "app/api.py": "def handler(e):\n    return get(e)\n",
    })  # fmt: skip
    traced = [Traced("app/core.py", 2, "compute_total"), Traced("app/core.py", 5, "get")]
    # WHEN
    found = candidates([], traced, (), _trees(repo), kinds={"caller"})
    # THEN the caller of compute_total is found; `get` is too common to follow
    assert [(c.path, c.start, c.end, c.name) for c in found] == [("app/views.py", 3, 4, "page")]


def test_a_subclass_in_another_file_brings_its_override_of_the_traced_method(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "app/base.py": "class Exporter:\n    def export(self, rows):\n        return rows[0]\n",
        "app/csv_export.py": (
            "from app.base import Exporter\n\nclass CsvExporter(Exporter):\n"
            "    def header(self):\n        return 'h'\n\n    def export(self, rows):\n        return rows[1]\n"
        ),
        "app/noop.py": "from app import base\n\nclass Noop(base.Exporter):\n    def header(self):\n        return ''\n",
    })  # fmt: skip
    # WHEN the trace ran Exporter.export
    found = candidates([], [Traced("app/base.py", 3, "export")], (), _trees(repo), kinds={"subclass"})
    # THEN the override in the subclass, not a subclass that does not override it
    assert [(c.path, c.start, c.end, c.name) for c in found] == [("app/csv_export.py", 7, 8, "CsvExporter.export")]


def test_a_module_registering_a_transform_for_the_traced_class_brings_its_callbacks(tmp_path: Path) -> None:
    # GIVEN a plugin module registering a transform for the class whose method raised
    repo = _write(tmp_path, {
        "lib/nodes.py": "class ClassDef:\n    def getattr(self, name):\n        raise KeyError(name)\n",
        "lib/brain/brain_attrs.py": (
            "from lib import nodes\nfrom lib.manager import MANAGER\n\n"
            "def looks_like_attrs(node):\n    return True\n\n"
            "def attrs_transform(node):\n    node.locals['x'] = []\n\n"
            "MANAGER.register_transform(nodes.ClassDef, attrs_transform, looks_like_attrs)\n"
        ),
        "lib/brain/brain_other.py": "from lib import nodes\n\ndef other(node):\n    return node\n",
        "lib/table.py": "from lib.nodes import ClassDef\n\nKINDS = {'class': ClassDef}\n",
        "lib/brain/brain_deco.py": "from lib import nodes\n\n@register_inference(nodes.ClassDef)\n"
                                   "def infer_class(node):\n    return node\n",
        "lib/plugins.py": "from lib import nodes\n\nregister(nodes.ClassDef)\n",
    })  # fmt: skip
    trees = _trees(repo)
    traced = [Traced("lib/nodes.py", 3, "getattr")]
    # WHEN
    found = candidates([], traced, (), trees, kinds={"registration"})
    # THEN the registered callbacks the plugin defines and the decorated function; a registering
    # statement alone is none, and a dict mapping counts only with the mapping kind
    assert {(c.path, c.start, c.end) for c in found} == {
        ("lib/brain/brain_attrs.py", 4, 5),
        ("lib/brain/brain_attrs.py", 7, 8),
        ("lib/brain/brain_deco.py", 3, 5),
    }
    mapped = candidates([], traced, (), trees, kinds={"registration", "mapping"})
    assert ("lib/table.py", 3, 3) in {(c.path, c.start, c.end) for c in mapped}


def test_a_file_registering_its_own_class_is_no_candidate(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "app/plugin.py": "class Checker:\n    def check(self):\n        return 1\n\ndef register(linter):\n"
                         "    linter.register_checker(Checker(linter))\n",
        "app/run.py": "from app.plugin import Checker\n\ndef main():\n    return Checker().check()\n",
    })  # fmt: skip
    found = candidates([], [Traced("app/run.py", 4, "main")], {"Checker"}, _trees(repo), kinds={"registration"})
    assert found == []


# --- joined with the lexical ranking ------------------------------------------------------------


def test_structural_hits_come_first_within_the_caps_and_skip_what_is_shown(tmp_path: Path) -> None:
    # GIVEN a repository where the words point at one file and a registration at another
    repo = _write(tmp_path, {
        "lib/nodes.py": "class ClassDef:\n    def getattr(self, name):\n        raise KeyError(name)\n",
        "lib/brain_x.py": "from lib import nodes\n\ndef transform(node):\n    return node\n\n"
                          "register_transform(nodes.ClassDef, transform)\n",
        "lib/attrs.py": "def annotation_attrs(node):\n    return 'annotation attrs'\n",
    })  # fmt: skip
    query = Query({"annotation": 2.0, "attrs": 2.0}, frozenset())
    traced = [Traced("lib/nodes.py", 3, "getattr")]
    # WHEN
    hits = search(query, repo, repo.get, exclude=[("lib/nodes.py", 3, 3)], limits=ALL, traced=traced)
    # THEN the registered callback first, then the lexical hit; each kind named
    assert [(h.path, h.start, h.kind) for h in hits] == [
        ("lib/brain_x.py", 3, "registration"),
        ("lib/attrs.py", 1, "lexical"),
    ]
    # AND with the structure off, or the callback already shown, only the lexical hit remains
    off = SearchLimits(structural=frozenset(), min_share=0.0)
    assert [h.kind for h in search(query, repo, repo.get, limits=off, traced=traced)] == ["lexical"]
    shown = [("lib/nodes.py", 3, 3), ("lib/brain_x.py", 3, 4)]
    assert [h.kind for h in search(query, repo, repo.get, exclude=shown, limits=ALL, traced=traced)] == ["lexical"]


def test_the_total_cap_holds_structural_and_lexical_hits_together(tmp_path: Path) -> None:
    files = {"lib/nodes.py": "class ClassDef:\n    def getattr(self, name):\n        raise KeyError(name)\n"}
    for i in range(4):
        files[f"lib/brain_{i}.py"] = f"def cb_{i}(node):\n    return node\n\nregister(ClassDef, cb_{i})\n"
        files[f"lib/word_{i}.py"] = f"def needle_{i}():\n    return 'needle'\n"
    repo = _write(tmp_path, files)
    limits = SearchLimits(structural=KINDS, min_share=0.0, max_hits=2, max_structural=2, max_total=3)
    hits = search(Query({"needle": 1.0}, frozenset()), repo, repo.get, limits=limits,
                  traced=[Traced("lib/nodes.py", 3, "getattr")])  # fmt: skip
    assert [h.kind for h in hits] == ["registration", "registration", "lexical"]


def test_localize_shows_the_plugin_registered_for_the_traced_class_as_found_by_search() -> None:
    # GIVEN a crash in a method of ClassDef, and a plugin module registering a transform for it
    repo = {
        "lib/nodes.py": "class ClassDef:\n    def getattr(self, name):\n        raise KeyError(name)\n",
        "lib/brain_attrs.py": (
            "from lib import nodes\n\ndef attrs_transform(node):\n    node.locals['x'] = []\n\n"
            "MANAGER.register_transform(nodes.ClassDef, attrs_transform)\n"
        ),
    }
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/lib/nodes.py", line 3, in getattr\n'
        "    raise KeyError(name)\n"
        "KeyError: 'bar'\n"
    )
    [tb] = read_tracebacks(trace.encode())
    # WHEN
    found = localize(tb.exceptions, repo, repo.get)
    ctx = select_context(found.located, repo.get, 6_000, whole_file_lines=1, definitions=found.definitions)
    # THEN the registered transform is shown, marked as found by search
    [snippet] = [s for s in ctx.snippets if s.path == "lib/brain_attrs.py"]
    assert (snippet.start, snippet.end, snippet.found_by) == (3, 4, "search")
    assert SEARCH_NOTE in snippet.render()
