"""The runbooks, discovered: every module of core/runbooks/ that declares a ``RUNBOOK``.

No list to keep: a new runbook is a new module (cfn-lint finds its rules the same way). Two modules
declaring the same name raise ``DuplicateRunbookError``. Discovery runs once, at first use.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.core.runbooks.declare import DuplicateRunbookError, EventSource, Runbook
from chalicelib.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

PACKAGE = "chalicelib.core.runbooks"


def collect(modules: Iterable[object]) -> dict[str, Runbook]:
    """{name: declaration} of the modules that declare a ``RUNBOOK``, by name; raises on a duplicate."""
    found: dict[str, Runbook] = {}
    where: dict[str, str] = {}
    for module in modules:
        runbook = getattr(module, "RUNBOOK", None)
        if not isinstance(runbook, Runbook):
            continue
        origin = getattr(module, "__name__", repr(module))
        if runbook.name in found:
            raise DuplicateRunbookError(f"runbook {runbook.name!r} is declared by {where[runbook.name]} and {origin}")
        found[runbook.name], where[runbook.name] = runbook, origin
    return dict(sorted(found.items()))


@functools.cache
def runbooks() -> Mapping[str, Runbook]:
    """Every runbook declared in core/runbooks/, by name (sorted)."""
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.ispkg)
    return collect(importlib.import_module(f"{PACKAGE}.{name}") for name in names)


def collect_events(declared: Iterable[Runbook]) -> dict[str, EventSource]:
    """{name: source} of the event sources the runbooks declare; two different declarations of one name raise."""
    found: dict[str, EventSource] = {}
    for runbook in declared:
        for source in runbook.events:
            if found.setdefault(source.name, source) != source:
                raise ConfigError(f"event source {source.name!r} is declared differently by {runbook.name}")
    return dict(sorted(found.items()))


@functools.cache
def event_sources() -> Mapping[str, EventSource]:
    """Every event source the runbooks declare, by name (sorted)."""
    return collect_events(runbooks().values())


def event_pattern() -> dict[str, object]:
    """The event remediator's EventBridge pattern: one declared source as its own pattern, several
    under ``$or`` (each keeps its own detail filter); a pattern that matches nothing when none is declared.

    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html#eb-filtering-complex-example-or
    """
    patterns = [s.pattern() for s in event_sources().values()]
    if not patterns:
        return {"source": ["selfheal.none"]}
    return patterns[0] if len(patterns) == 1 else {"$or": patterns}
