"""Modules a message names (``core/named_modules.py``): the repository module a message names by a
dotted name, and where the packaging files declare a module the message cannot import; and how the
ranked search shows them (``core/retrieve.py``, kind ``named``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.models import Frame, RaisedException
from chalicelib.core.named_modules import declared, missing_modules, module_named, requirements_list
from chalicelib.core.retrieve import SearchLimits, build_query, search

# sqlalchemy's dialects package (shape of 2.0): the registry the plugin loader reads
DIALECTS = '''"""Dialects."""
from .. import util

__all__ = ("mssql", "mysql", "oracle", "postgresql", "sqlite")


def _auto_fn(name):
    """default dialect importer."""
    if "." in name:
        dialect, driver = name.split(".")
    else:
        dialect = name
        driver = "base"

    try:
        module = __import__("sqlalchemy.dialects.%s" % (dialect,)).dialects
        module = getattr(module, dialect)
    except ImportError:
        return None
    return module.dialect


registry = util.PluginLoader("sqlalchemy.dialects", auto_fn=_auto_fn)
'''
LANGHELPERS = """class PluginLoader:
    def __init__(self, group, auto_fn=None):
        self.group = group
        self.impls = {}
        self.auto_fn = auto_fn

    def load(self, name):
        if name in self.impls:
            return self.impls[name]()
        raise NoSuchModuleError("Can't load plugin: %s:%s" % (self.group, name))
"""
# flask's setup.py (shape of 1.1): a setup() call longer than the statement shown whole
FLASK_SETUP = (
    "import io\nfrom setuptools import setup\n\nsetup(\n    name='Flask',\n"
    + "".join(f"    option_{i}={i},\n" for i in range(60))
    + "    install_requires=[\n        'Werkzeug>=0.15',\n        'Jinja2>=2.10.1',\n    ],\n)\n"
)
BLACK_SETUP = """from setuptools import setup

setup(
    name="black",
    use_scm_version={
        "write_to": "_black_version.py",
    },
    py_modules=["black", "blackd", "_version"],
    install_requires=["click>=6.5", "attrs>=18.1.0"],
)
"""


def _error(kind: str, message: str, frames: tuple[Frame, ...] = ()) -> RaisedException:
    return RaisedException(kind, message, frames)


def test_a_dotted_name_in_the_message_names_the_one_repository_module_it_is() -> None:
    paths = ["lib/sqlalchemy/dialects/__init__.py", "lib/sqlalchemy/util/langhelpers.py", "setup.py"]
    found = module_named(["Can't load plugin: sqlalchemy.dialects:postgres"], paths, traced=())
    assert [(f.path, f.module) for f in found] == [("lib/sqlalchemy/dialects/__init__.py", "sqlalchemy.dialects")]
    # a traced module, a standard one, a call and a path name none
    assert module_named(["Can't load plugin: sqlalchemy.dialects:postgres"], paths, traced=paths) == []
    assert module_named(["os.path is not a package; self.group.x() failed in /a/sqlalchemy.dialects"], paths, ()) == []


def test_a_dotted_name_two_files_can_be_or_a_test_names_no_module() -> None:
    paths = ["a/pkg/mod.py", "b/pkg/mod/__init__.py", "tests/pkg/tool.py"]
    assert module_named(["cannot import name 'x' from 'pkg.mod'"], paths, ()) == []
    assert module_named(["failed in pkg.tool"], paths, ()) == []


def test_a_module_the_message_cannot_import_is_missing_only_when_the_repository_lacks_it() -> None:
    paths = ["src/flask/__init__.py", "src/flask/helpers.py", "setup.py"]
    messages = [
        "cannot import name 'secure_filename' from 'werkzeug' (/usr/lib/python3.7/site-packages/werkzeug/__init__.py)",
        "No module named 'flask.missing'",  # under the repository's own package: the import's own bug
        "No module named '_ssl'",  # the standard library's
        "No module named 'flask.helpers'",  # the repository holds it
    ]
    assert missing_modules(messages, paths) == ["werkzeug"]


def test_a_long_setup_call_shows_the_window_around_the_requirement_naming_the_dependency() -> None:
    repo = {"setup.py": FLASK_SETUP, "docs/setup.py": "x = 'werkzeug'\n"}
    [found] = declared(["werkzeug"], repo, repo.get)
    line = FLASK_SETUP.splitlines().index("        'Werkzeug>=0.15',") + 1
    last = len(FLASK_SETUP.splitlines())
    assert (found.path, found.start, found.end, found.module) == ("setup.py", line - 8, min(line + 8, last), "werkzeug")


def test_a_short_setup_call_naming_a_generated_module_is_shown_whole() -> None:
    repo = {"setup.py": BLACK_SETUP, "black.py": "from _black_version import version\n"}
    [found] = declared(missing_modules(["No module named '_black_version'"], repo), repo, repo.get)
    assert (found.path, found.start, found.end) == ("setup.py", 3, 10)


def test_a_requirements_file_shows_a_window_and_a_word_inside_another_name_does_not_count() -> None:
    repo = {"requirements.txt": "flask-admin==1.5\nwerkzeug-utils\n# werkzeug\nWerkzeug<1.0\n"}
    [found] = declared(["werkzeug"], repo, repo.get)
    assert (found.path, found.start, found.end) == ("requirements.txt", 1, 4)
    assert declared(["flask_admin.model"], repo, repo.get)[0].start == 1  # ``flask-admin`` spelled with ``-``
    assert declared(["jinja2"], repo, repo.get) == []


def test_the_search_shows_the_declaration_of_a_dependency_that_cannot_be_imported_first() -> None:
    # GIVEN another project's frames (flask_admin) failing to import from werkzeug
    exc = _error(
        "ImportError",
        "cannot import name 'secure_filename' from 'werkzeug' (/usr/lib/python3.7/site-packages/werkzeug/__init__.py)",
        (Frame("/var/task/flask_admin/model/base.py", 8, "<module>", "from werkzeug import secure_filename"),),
    )
    repo = {
        "setup.py": FLASK_SETUP,
        "src/flask/__init__.py": "from .helpers import send_file\n",
        "src/flask/helpers.py": "def secure_filename(name):\n    return name\n",
    }
    # WHEN
    hits = search(build_query((exc,)), repo, repo.get, limits=SearchLimits(max_hits=1))
    # THEN setup.py's requirement comes first, as a named hit
    assert (hits[0].path, hits[0].kind, hits[0].name) == ("setup.py", "named", "werkzeug")


def test_the_search_shows_the_package_a_loader_message_names_by_its_best_definition() -> None:
    # GIVEN the plugin loader raising with the registry's group in its message
    exc = _error(
        "sqlalchemy.exc.NoSuchModuleError",
        "Can't load plugin: sqlalchemy.dialects:postgres",
        (Frame("/var/task/sqlalchemy/util/langhelpers.py", 10, "load", "raise NoSuchModuleError("),),
    )
    repo = {
        "lib/sqlalchemy/dialects/__init__.py": DIALECTS + "\n" * 40,  # over the whole-file bound
        "lib/sqlalchemy/util/langhelpers.py": LANGHELPERS,
    }
    # WHEN the langhelpers frame is traced
    hits = search(
        build_query((exc,)), repo, repo.get, exclude=[("lib/sqlalchemy/util/langhelpers.py", 10, 10)],
        limits=SearchLimits(max_hits=0),
    )  # fmt: skip
    # THEN the package's definition the ranking scores best is shown
    assert [(h.path, h.kind) for h in hits] == [("lib/sqlalchemy/dialects/__init__.py", "named")]
    assert hits[0].name in {"_auto_fn", "registry"}


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{2,8}(?:[-_][A-Za-z0-9]{1,6}){0,2}", fullmatch=True))
def test_a_requirement_is_found_by_its_name_whatever_its_case_and_separators(name: str) -> None:
    # GIVEN a requirement spelled with ``-`` where the import has ``_``, in another case
    spelled = name.replace("_", "-").upper()
    repo = {"requirements.txt": f"other-thing\n{spelled}>=1.0\n"}
    module = name.replace("-", "_").lower()
    # WHEN / THEN its line is found, and a longer name sharing the prefix is not
    assert [f.module for f in declared([module], repo, repo.get)] == [module]
    longer = {"requirements.txt": f"{spelled}X>=1\n{spelled}-extra\n"}
    assert declared([module], longer, longer.get) == []


def test_a_setting_whose_key_is_the_module_name_is_no_declaration() -> None:
    # GIVEN "No module named 'config'" (the app's own module left out of the package) and a
    # pyproject.toml whose black settings have a key of that name
    files = {
        "pyproject.toml": '[tool.black]\nconfig = "black.toml"\n\n[tool.poetry.dependencies]\nwerkzeug = "^2.0"\n',
        "app/main.py": "import config\n",
    }
    # WHEN / THEN the setting is not where the module is declared; a dependency table's key is
    assert declared(["config"], list(files), files.get) == []
    [found] = declared(["werkzeug"], list(files), files.get)
    assert (found.path, found.module) == ("pyproject.toml", "werkzeug")


def test_the_modules_a_message_names_are_looked_up_only_up_to_the_limit() -> None:
    # GIVEN a message naming three repository modules, first the one named first
    paths = ["pkg/alpha.py", "pkg/beta.py", "pkg/gamma/__init__.py", "pkg/__init__.py"]
    message = "cannot load pkg.beta, then pkg.alpha and pkg.gamma (also pkg.beta again)"
    # WHEN / THEN in the message's order, distinct, at most the limit
    assert [f.path for f in module_named([message], paths, set(), limit=2)] == ["pkg/beta.py", "pkg/alpha.py"]
    assert [f.module for f in module_named([message], paths, set(), limit=5)] == ["pkg.beta", "pkg.alpha", "pkg.gamma"]


def test_a_called_dotted_name_is_no_module_but_one_ending_a_sentence_is() -> None:
    paths = ["pkg/alpha.py", "pkg/__init__.py"]
    assert module_named(["failed in pkg.alpha.run(3)"], paths, set()) == []
    assert [f.module for f in module_named(["failed to load pkg.alpha."], paths, set())] == ["pkg.alpha"]


def test_a_packaging_file_over_the_size_limit_is_not_read() -> None:
    huge = "werkzeug>=2\n" + "# padding\n" * 40_000
    assert declared(["werkzeug"], ["requirements.txt"], {"requirements.txt": huge}.get) == []
    assert declared(["werkzeug"], ["requirements.txt"], {"requirements.txt": "werkzeug>=2\n"}.get) != []


def test_a_dependency_no_file_names_gets_the_list_its_requirement_would_join() -> None:
    # GIVEN a library's own dependency (``packaging``, imported by ``pkg_resources``) that no
    # packaging file names, and a long setup() call with its requirements
    repo = {"setup.py": FLASK_SETUP, "requirements.txt": "# pinned\n\nclick==8.0\n"}
    assert declared(["packaging"], repo, repo.get) == []
    # WHEN
    [found] = requirements_list(["packaging"], repo, repo.get)
    # THEN setup.py's ``install_requires`` (the shallowest, setup.py first) is shown, as a window
    line = FLASK_SETUP.splitlines().index("    install_requires=[") + 1
    last = len(FLASK_SETUP.splitlines())
    assert (found.path, found.start, found.end, found.module) == (
        "setup.py",
        line - 8,
        min(line + 8, last),
        "packaging",
    )


def test_a_requirements_file_alone_shows_its_first_requirement_and_nothing_lists_none() -> None:
    repo = {"requirements.txt": "# pinned\n\nclick==8.0\nattrs\n", "pyproject.toml": "[tool.black]\nline-length = 99\n"}
    [found] = requirements_list(["packaging"], repo, repo.get)
    assert (found.path, found.start, found.end) == ("requirements.txt", 1, 4)
    assert requirements_list(["packaging"], {"app/main.py": "import packaging\n"}, {}.get) == []
    assert requirements_list([], repo, repo.get) == []


def test_pep_621_and_poetry_dependency_tables_are_lists_of_requirements() -> None:
    pep621 = '[project]\nname = "x"\ndependencies = [\n  "click",\n]\n'
    poetry = '[tool.poetry]\nname = "x"\n\n[tool.poetry.dependencies]\npython = "^3.9"\n'
    assert requirements_list(["packaging"], {"pyproject.toml": pep621}, {"pyproject.toml": pep621}.get)[0].start == 1
    [found] = requirements_list(["packaging"], {"pyproject.toml": poetry}, {"pyproject.toml": poetry}.get)
    assert (found.start, found.end) == (1, 5)


def test_the_search_shows_the_requirements_for_a_library_dependency_that_is_missing() -> None:
    # GIVEN the repository's import chain failing inside an installed library on its own import
    exc = _error(
        "ModuleNotFoundError",
        "No module named 'packaging'",
        (
            Frame("/var/task/piptools/cache.py", 9, "<module>", "from pkg_resources import Requirement"),
            Frame("/var/task/pkg_resources/__init__.py", 70, "<module>", "import packaging.version"),
        ),
    )
    repo = {"setup.py": FLASK_SETUP, "piptools/cache.py": "from pkg_resources import Requirement\n"}
    # WHEN
    hits = search(build_query((exc,)), repo, repo.get, limits=SearchLimits(max_hits=1))
    # THEN setup.py's requirements come first, as a named hit
    assert (hits[0].path, hits[0].kind, hits[0].name) == ("setup.py", "named", "packaging")


def test_a_user_script_importing_an_undeclared_module_gets_no_requirements_list() -> None:
    # GIVEN the failing import in the reporter's own script (no install root, not the repository's)
    exc = _error(
        "ImportError",
        "No module named whatisthisidonteven",
        (
            Frame("c:\\dev\\flask\\flask\\cli.py", 91, "locate_app", "__import__(module)"),
            Frame("C:\\dev\\tmp\\error.py", 1, "<module>", "import whatisthisidonteven"),
        ),
    )
    repo = {"setup.py": FLASK_SETUP, "flask/cli.py": "def locate_app(module):\n    __import__(module)\n"}
    # WHEN / THEN no setup.py hit: the module is the script's, no dependency of the repository
    query = build_query((exc,))
    assert not query.raised_in_code
    assert all(h.path != "setup.py" for h in search(query, repo, repo.get, limits=SearchLimits(max_hits=1)))


def test_the_packages_own_declaration_comes_before_requirements_files_and_options_are_skipped() -> None:
    # GIVEN setup.cfg's requirements beside a documentation requirements file, then the main
    # requirements file starting with an option line
    both = {"setup.cfg": "[options]\ninstall_requires =\n    click\n", "requirements-docs.txt": "sphinx\n"}
    files = {"requirements-docs.txt": "sphinx\n", "requirements.txt": "-r base.txt\nflask\n"}
    # WHEN / THEN setup.cfg's list wins; without it, requirements.txt's first requirement (not its option)
    assert [f.path for f in requirements_list(["packaging"], both, both.get)] == ["setup.cfg"]
    [found] = requirements_list(["packaging"], files, files.get)
    assert (found.path, found.start, found.end) == ("requirements.txt", 1, 2)


def test_a_module_importlib_failed_to_import_for_the_repositorys_code_is_raised_in_code() -> None:
    # GIVEN a plugin loader's `importlib.import_module`: importlib's own frames are innermost
    frames = (
        Frame("/var/task/app/plugins.py", 3, "load", "importlib.import_module(name)"),
        Frame("/usr/lib/python3.11/importlib/__init__.py", 126, "import_module", "return _bootstrap._gcd_import()"),
        Frame("<frozen importlib._bootstrap>", 1140, "_find_and_load_unlocked", ""),
    )
    # WHEN / THEN the import ran for the repository's code
    assert build_query((_error("ModuleNotFoundError", "No module named 'foo'", frames),)).raised_in_code
