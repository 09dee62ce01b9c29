"""The function a call did not fit: a call-signature ``TypeError`` read for what it says about the
definition (its arity, a keyword it lacks, parameters it requires), and that definition shown."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.context import select_context
from chalicelib.core.localize import localize
from chalicelib.core.signature import fits, read_misfit
from chalicelib.core.tracebacks import find_in_text

# --- reading the message ---------------------------------------------------------------------------

# Python 2 messages as pasted in real tracebacks (Buildbot, Twisted commit messages)
PYTHON2 = [
    ("_disconnected() takes exactly 1 argument (0 given)", {"positional": 1, "bound": "exactly"}),
    ("sort() takes at most 2 arguments (3 given)", {"positional": 2, "bound": "at most"}),
    ("f() takes at least 2 arguments (1 given)", {"positional": 2, "bound": "at least"}),
    ("f() got multiple values for keyword argument 'x'", {"has": "x"}),
]


@pytest.mark.parametrize(("message", "said"), PYTHON2)
def test_python2_call_messages_are_read(message: str, said: dict[str, object]) -> None:
    misfit = read_misfit(message)
    assert misfit is not None
    for key, value in said.items():
        assert getattr(misfit, key) == value


def test_a_qualified_name_gives_the_class_and_other_type_errors_give_nothing() -> None:
    misfit = read_misfit("HTTPTimeoutError.__init__() takes 2 positional arguments but 4 were given")
    assert misfit is not None
    assert (misfit.owner, misfit.name, misfit.positional) == ("HTTPTimeoutError", "__init__", 2)
    assert read_misfit("unsupported operand type(s) for +: 'int' and 'str'") is None
    assert read_misfit("'NoneType' object is not subscriptable") is None


SIGNATURE = st.builds(
    lambda n, d, kwonly, star, starstar: (n, min(d, n), kwonly, star, starstar),
    st.integers(0, 4),
    st.integers(0, 4),
    st.lists(st.sampled_from(["k1", "k2"]), unique=True, max_size=2),
    st.booleans(),
    st.booleans(),
)
CALL = st.tuples(st.integers(0, 6), st.lists(st.sampled_from(["p0", "p1", "k1", "k2", "zz"]), unique=True))


def _def_source(n: int, defaults: int, kwonly: list[str], star: bool, starstar: bool) -> str:
    params = [f"p{i}" if i < n - defaults else f"p{i}=None" for i in range(n)]
    if star:
        params.append("*args")
    elif kwonly:
        params.append("*")
    params += [f"{k}=None" if k == "k2" else k for k in kwonly]
    if starstar:
        params.append("**kwargs")
    return f"def f({', '.join(params)}):\n    return None\n"


@given(SIGNATURE, CALL)
def test_the_definition_a_real_call_failed_on_always_fits_the_message(signature, call) -> None:  # noqa: ANN001
    """CPython's own message for a call that does not fit ``f`` is read, and ``f`` fits what it
    says: the step never rules out the definition that raised."""
    source = _def_source(*signature)
    namespace: dict[str, object] = {}
    exec(compile(source, "<sig>", "exec"), namespace)  # noqa: S102 - a generated signature, no input
    positional, keywords = call
    try:
        namespace["f"](*range(positional), **dict.fromkeys(keywords))  # type: ignore[operator]
    except TypeError as exc:
        message = str(exc)
    else:
        return
    misfit = read_misfit(message)
    if "positional-only" in message:  # a form the step does not read: nothing is claimed
        return
    assert misfit is not None, message
    fn = ast.parse(source).body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert fits(fn, misfit), (source, message)


# --- showing the definition ------------------------------------------------------------------------

RELOADER = """\
class Reloader:
    def __init__(self, extra_files=None, interval=1, callback=None):
        self._extra_files = set(extra_files or ())
        self._interval = interval
        self._callback = callback


class InotifyReloader:
    def __init__(self, callback=None):
        raise ImportError("You must have the inotify module installed")


reloader_engines = {"poll": Reloader, "inotify": InotifyReloader}
"""

WORKER = """\
class Worker:
    def __init__(self, cfg):
        self.cfg = cfg

    def init_process(self):
        reloader_cls = self.cfg.reloader_class
        self.reloader = reloader_cls(extra_files=self.cfg.reload_extra_files, callback=self.changed)

    def changed(self, fname):
        return fname
"""

WORKER_TRACE = """\
Traceback (most recent call last):
  File "/var/task/app/worker.py", line 7, in init_process
    self.reloader = reloader_cls(extra_files=self.cfg.reload_extra_files, callback=self.changed)
TypeError: __init__() got an unexpected keyword argument 'extra_files'
"""


def _repo_with_many_constructors() -> dict[str, str]:
    repo = {"app/reloader.py": RELOADER, "app/worker.py": WORKER, "app/__init__.py": ""}
    for i in range(10):  # constructors lacking extra_files everywhere: the name alone says nothing
        repo[f"app/model_{i}.py"] = f"class Model{i}:\n    def __init__(self, name):\n        self.name = name\n"
    return repo


def test_the_constructor_beside_a_sibling_that_takes_the_keyword_is_shown() -> None:
    # GIVEN a constructor, known to the raising line only through configuration, called with a
    # keyword only one of two sibling implementations accepts
    repo = _repo_with_many_constructors()
    [tb] = find_in_text(WORKER_TRACE)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    ctx = select_context(found.located, repo.get, 6_000, definitions=found.definitions, whole_file_lines=5)
    # THEN the fallback's __init__ (lines 9-10), which lacks extra_files, is shown; no unrelated model's
    assert any(p == "app/reloader.py" and s <= 9 and e >= 10 for p, s, e in ctx.shown)
    assert not any(p.startswith("app/model_") for p, _, _ in ctx.shown)


def test_a_common_name_with_nothing_tying_it_to_the_call_shows_nothing() -> None:
    # GIVEN `__init__() takes 2 positional arguments`: ten constructors of two parameters fit it
    repo = _repo_with_many_constructors()
    trace = WORKER_TRACE.replace(
        "TypeError: __init__() got an unexpected keyword argument 'extra_files'",
        "TypeError: __init__() takes 2 positional arguments but 3 were given",
    )
    [tb] = find_in_text(trace)
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    # THEN no constructor is guessed
    assert not any(d.path.startswith("app/model_") for d in found.definitions)


SLAVE = """\
class AbstractBuildSlave:
    def attached(self, conn):
        self.conn = conn

        def _disconnected(rref):
            self.conn = None

        conn.notifyOnDisconnect(_disconnected)
        return conn
"""

SUBSCRIPTION = """\
class SubscriptionPoint:
    def __init__(self):
        self._subscriptions = []

    def deliver(self, *args, **kwargs):
        for sub in list(self._subscriptions):
            sub.callback(*args, **kwargs)
"""

SLAVE_TRACE = """\
Traceback (most recent call last):
  File "/srv/master/buildbot/util/subscription.py", line 7, in deliver
    sub.callback(*args, **kwargs)
exceptions.TypeError: _disconnected() takes exactly 1 argument (0 given)
"""


def test_a_nested_callback_is_shown_with_the_method_that_hands_it_on() -> None:
    # GIVEN a callback of one parameter, defined inside the method that registers it, called with none
    repo = {"master/buildbot/buildslave/base.py": SLAVE, "master/buildbot/util/subscription.py": SUBSCRIPTION}
    [tb] = find_in_text(SLAVE_TRACE)
    # WHEN
    found = localize(tb.exceptions, repo, repo.get, retrieve=False)
    # THEN the registering method (lines 2-9) is among the definitions reached from the trace
    assert [(d.path, d.start, d.end, d.found_by) for d in found.definitions] == [
        ("master/buildbot/buildslave/base.py", 2, 9, "trace")
    ]


def test_python2_at_least_is_said_of_a_function_taking_star_args() -> None:
    [fn] = ast.parse("def f(a, b, *rest):\n    return a\n").body
    misfit = read_misfit("f() takes at least 2 arguments (1 given)")
    assert isinstance(fn, ast.FunctionDef)
    assert misfit is not None
    assert fits(fn, misfit)


def test_only_a_type_error_names_a_call_and_many_look_alike_definitions_give_none() -> None:
    # GIVEN eight handlers of the same arity in eight modules, none tied to the call by a sibling
    repo = {
        f"app/handlers_{i}.py": f"class H{i}:\n    def handle_event(self, event):\n        return event\n"
        for i in range(8)
    }
    repo["app/loop.py"] = "def run(handler, a, b):\n    return handler.handle_event(a, b)\n"
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/var/task/app/loop.py", line 2, in run\n'
        "    return handler.handle_event(a, b)\n"
        "{}\n"
    )
    message = "handle_event() takes 2 positional arguments but 3 were given"

    def handlers(files: dict[str, str], last: str) -> int:
        [tb] = find_in_text(trace.format(last))
        found = localize(tb.exceptions, files, files.get, retrieve=False)
        return len([d for d in found.definitions if d.path.startswith("app/handlers_")])

    # THEN with eight, none is guessed: too many fit and nothing ties one of them to the call
    assert handlers(repo, f"TypeError: {message}") == 0
    # AND with three, the call's message is enough to show two; the same words in a ValueError are
    # no call's misfit at all
    few = {k: v for k, v in repo.items() if not k.startswith("app/handlers_") or k[-4] in "012"}
    assert handlers(few, f"TypeError: {message}") == 2
    assert handlers(few, f"ValueError: {message}") == 0
