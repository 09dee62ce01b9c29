"""The Lambda functions app.py declares, read from its Chalice app object: what the package step
derives instead of listing by hand.

Importing app.py builds nothing (tests/unit/test_cold_start.py), so reading its decorators is cheap.
Chalice keeps them on the app object: ``pure_lambda_functions`` (``@app.lambda_function``, and the
log processor's ``on_cw_logs``), ``event_sources`` (``@app.schedule``, ``@app.on_cw_event``,
``@app.on_sqs_message``, ``@app.on_dynamodb_record``, ...) and ``routes`` (every ``@app.route`` is
served by one function Chalice names ``api_handler``). ``chalice package`` generates one function,
one role (``<name>_role``) and, for a schedule or an EventBridge pattern, one rule (``<name>-event``)
for each: the same names this module returns.

What stays written by hand for a new handler: the concerns its role is granted (one line in
terraform/iam.tf ``local.role_concerns``; tests/unit/test_package_handlers.py fails until it is there).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "chalice_app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

# Chalice's name for the one function that serves every @app.route (the REST API's handler).
API_HANDLER = "api_handler"


@dataclass(frozen=True)
class Handlers:
    """The functions ``chalice package`` generates for an app, by the names it gives them."""

    functions: tuple[str, ...]  # every Lambda function, in app.py's order (the API's handler last)
    schedules: Mapping[str, str]  # function → its rule's schedule expression
    patterns: Mapping[str, dict[str, Any]]  # function → its rule's EventBridge pattern

    @property
    def rules(self) -> tuple[str, ...]:
        """The functions Chalice gives an EventBridge rule (a pattern or a schedule)."""
        return tuple(f for f in self.functions if f in self.schedules or f in self.patterns)


def handlers_of(app: Any) -> Handlers:
    """The functions of a Chalice app object (``chalice.Chalice``)."""
    functions: list[str] = [f.name for f in app.pure_lambda_functions]
    schedules: dict[str, str] = {}
    patterns: dict[str, dict[str, Any]] = {}
    for source in app.event_sources:
        functions.append(source.name)
        if getattr(source, "schedule_expression", None) is not None:
            expression = source.schedule_expression
            schedules[source.name] = expression if isinstance(expression, str) else expression.to_string()
        elif getattr(source, "event_pattern", None) is not None:
            patterns[source.name] = source.event_pattern
    if app.routes:
        functions.append(API_HANDLER)
    if len(functions) != len(set(functions)):
        raise ValueError(f"two handlers share a function name: {sorted(functions)}")
    return Handlers(tuple(functions), MappingProxyType(schedules), MappingProxyType(patterns))


@cache
def declared_app() -> Any:
    """The Chalice app of chalice_app/app.py (imported once, under a name of its own)."""
    spec = importlib.util.spec_from_file_location("selfheal_app_handlers", APP / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def declared() -> Handlers:
    """The functions chalice_app/app.py declares."""
    return handlers_of(declared_app())


def function_locals(functions: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Terraform locals (JSON syntax) naming each function and its role: ``local.functions`` (name →
    ``<prefix>-<stage>-<name>``, the deployed function, role and rule name) and ``local.function_roles``
    (name → the generated ``aws_iam_role.<name>_role``, for the per-concern policies of iam.tf)."""
    return {
        "functions": {name: f"${{var.name_prefix}}-${{var.stage}}-{name}" for name in functions},
        "function_roles": {name: f"${{aws_iam_role.{name}_role}}" for name in functions},
    }
