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

from chalicelib.core.runbooks.declare import DuplicateRunbookError, Runbook

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
