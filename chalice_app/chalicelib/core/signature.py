"""The function a call did not fit: ``_disconnected() takes exactly 1 argument (0 given)``.

A ``TypeError`` about a call's arguments names the function whose signature the call missed.
The raising line shows the call; the fix is as often in the definition (a parameter the callers
now pass, a callback's arity), so a careful engineer opens it. The name alone is weak (many
``__init__``), so the message is read for what it says about the definition:

- ``takes N positional arguments but M were given`` (and Python 2's ``takes exactly N arguments
  (M given)``, ``at most``, ``at least``, ``from A to B``): a definition with that many
  positional parameters and no ``*args``;
- ``got an unexpected keyword argument 'k'``: one without ``k`` and without ``**kwargs``;
- ``missing N required positional arguments: 'a' and 'b'``: one requiring those parameters;
- ``got multiple values for argument 'k'``: one with a positional ``k``.

Definitions that fit are ranked: first those in a file where another definition of the same
name takes the parameter the message names (the sibling implementations of one interface: the
fallback ``InotifyReloader.__init__`` beside the real one that accepts ``extra_files``), then
those in a traced file, then nearest a traced file's directory. A qualified name
(``HTTPTimeoutError.__init__``, Python 3.10+) names the class. A name too common to go by (more
than ``MAX_LOOSE`` definitions fit, or a method of built-in types such as ``join``) gives only
sibling-tied definitions.

Pure: files reach it as parsed trees through a callable.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

MAX_SHOWN = 2  # definitions shown for one message
MAX_AROUND = 60  # a nested definition shows the function around it when that is this short
MAX_LOOSE = 6  # fitting definitions beyond which, with no tie to the trace, the name says nothing

_CALL = re.compile(r"^(?P<owner>(?:[\w<>]++\.)*+)(?P<name>\w++)\(\) (?P<rest>.++)$")
_TAKES = re.compile(
    r"takes (?:(?P<exactly>exactly|at most|at least) )?+(?:from (?P<low>\d++) to )?+(?P<n>\d++|no) "
    r"(?:positional )?+arguments?+\b"
)
_QUOTED = re.compile(r"'(\w++)'")


@dataclass(frozen=True)
class Misfit:
    """What a call's ``TypeError`` says about the definition it did not fit."""

    name: str
    owner: str = ""  # the class a qualified name gives (``HTTPTimeoutError``), else ""
    positional: int | None = None  # "takes N": the definition's positional parameters
    low: int | None = None  # "takes from A to B": its required positional parameters
    bound: str = ""  # "exactly", "at most", "at least" (Python 2), "" (Python 3)
    lacks: str = ""  # "unexpected keyword argument 'k'": the parameter it does not have
    requires: tuple[str, ...] = ()  # "missing … 'a' and 'b'": parameters it requires
    has: str = ""  # "multiple values for argument 'k'": a positional parameter it has


def read_misfit(message: str) -> Misfit | None:
    """The call-signature ``TypeError`` message read, or None for any other message."""
    m = _CALL.match(message.strip())
    if m is None:
        return None
    owner = m["owner"].rstrip(".").rsplit(".", 1)[-1]
    owner = owner if owner.isidentifier() else ""
    name, rest = m["name"], m["rest"]
    if rest.startswith("got an unexpected keyword argument"):
        quoted = _QUOTED.findall(rest)
        return Misfit(name, owner, lacks=quoted[0]) if quoted else None
    if rest.startswith("got multiple values for"):
        quoted = _QUOTED.findall(rest)
        return Misfit(name, owner, has=quoted[0]) if quoted else None
    if rest.startswith("missing "):
        quoted = tuple(_QUOTED.findall(rest))
        return Misfit(name, owner, requires=quoted) if quoted else None
    takes = _TAKES.match(rest)
    if takes is not None:
        n = 0 if takes["n"] == "no" else int(takes["n"])
        low = int(takes["low"]) if takes["low"] else None
        return Misfit(name, owner, positional=n, low=low, bound=takes["exactly"] or "")
    return None


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[list[str], int, set[str], bool, bool]:
    """(positional names, required positional count, required keyword-only names, *args, **kwargs)."""
    a = fn.args
    positional = [p.arg for p in [*a.posonlyargs, *a.args]]
    required = len(positional) - len(a.defaults)
    kw_required = {p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is None}
    return positional, required, kw_required, a.vararg is not None, a.kwarg is not None


def fits(fn: ast.FunctionDef | ast.AsyncFunctionDef, misfit: Misfit) -> bool:
    """Whether ``fn`` is a definition the message can be about."""
    positional, required, kw_required, varargs, kwargs = _params(fn)
    if misfit.lacks:
        names = set(positional[len(fn.args.posonlyargs) :]) | {p.arg for p in fn.args.kwonlyargs}
        return misfit.lacks not in names and not kwargs
    if misfit.has:
        return misfit.has in positional
    if misfit.requires:
        return set(misfit.requires) <= set(positional[:required]) | kw_required
    if misfit.positional is None:
        return False
    if misfit.bound == "at least":  # Python 2 says "at least" of a function taking *args
        return required == misfit.positional
    if varargs:
        return False
    if misfit.bound == "at most":
        return len(positional) == misfit.positional
    if misfit.low is not None:
        return required == misfit.low and len(positional) == misfit.positional
    return len(positional) == misfit.positional


@dataclass(frozen=True)
class Found:
    """A definition the call's message is about."""

    name: str
    path: str
    start: int
    end: int


_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _definitions(tree: ast.Module, name: str, owner: str) -> Iterable[tuple[_Function, _Function | None]]:
    """Functions named ``name`` at any depth (nested callbacks too), inside class ``owner`` when
    given, each with the function it is nested in (None at module or class level)."""
    stack: list[tuple[ast.AST, _Function | None]] = [(tree, None)]
    while stack:
        node, around = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                in_owner = not owner or (isinstance(node, ast.ClassDef) and node.name == owner)
                if child.name == name and in_owner:
                    yield child, around
                stack.append((child, child))
            else:
                stack.append((child, around))


def _span(fn: _Function, around: _Function | None) -> tuple[int, int]:
    """A definition's lines with its decorators; a nested one's (a callback) is the function it
    is defined and handed on in, when that is ``MAX_AROUND`` lines or fewer."""
    shown = fn if around is None or (around.end_lineno or around.lineno) - around.lineno >= MAX_AROUND else around
    start = min([shown.lineno, *(d.lineno for d in shown.decorator_list)])
    return start, shown.end_lineno or shown.lineno


def _nearness(path: str, traced: Sequence[str]) -> int:
    """Directory components ``path`` shares with the nearest traced file."""
    here = [p for p in posixpath.dirname(path).split("/") if p]
    best = 0
    for other in traced:
        there = [p for p in posixpath.dirname(other).split("/") if p]
        best = max(best, len(posixpath.commonprefix([here, there])))
    return best


def misfit_definitions(
    message: str,
    traced: Sequence[str],
    paths: Sequence[str],
    tree_of: Callable[[str], ast.Module | None],
    common_names: frozenset[str] = frozenset(),
) -> list[Found]:
    """The definitions (at most ``MAX_SHOWN``) a call-signature ``TypeError`` is about, best first.

    ``traced`` are the trace's repository files, best evidence first; ``paths`` the Python files
    that may be parsed (already bounded by the caller); ``common_names`` names so common (methods
    of built-in types: ``join``, ``get``) that only a sibling-tied or qualified definition counts."""
    misfit = read_misfit(message)
    if misfit is None:
        return []
    traced_set = set(traced)
    # (in no traced file, no sibling takes the call, farther, path, line) per fitting definition
    ranked: list[tuple[tuple[bool, bool, int, str, int], Found]] = []
    for path in dict.fromkeys([*traced, *paths]):
        tree = tree_of(path)
        if tree is None:
            continue
        named = list(_definitions(tree, misfit.name, misfit.owner))
        fitting = [(fn, around) for fn, around in named if fits(fn, misfit)]
        # a parameter the message names, taken by another definition of the name in this file
        sibling = bool(misfit.lacks or misfit.has or misfit.requires) and len(fitting) < len(named)
        for fn, around in fitting:
            start, end = _span(fn, around)
            key = (not sibling, path not in traced_set, -_nearness(path, traced), path, start)
            ranked.append((key, Found(misfit.name, path, start, end)))
    ranked.sort(key=lambda r: r[0])
    if not misfit.owner and (misfit.name in common_names or len(ranked) > MAX_LOOSE):
        # a name too common to go by (``__init__``, ``get``): only definitions a sibling ties to the call
        ranked = [r for r in ranked if not r[0][0]]
    return [found for _, found in ranked[:MAX_SHOWN]]
