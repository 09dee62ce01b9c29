"""A handler is declared once, in app.py: the package step reads the functions, their rules and
schedules from the Chalice app object (scripts/app_handlers.py), names each function and role in
the generated Terraform (local.functions, local.function_roles), and Chalice's stage defaults give
a new function its memory, timeout and concurrency. The one hand-written line a new handler needs is
its concerns in terraform/iam.tf; forgetting it fails here."""

from __future__ import annotations

import json

import package
from app_handlers import API_HANDLER, declared, declared_app, function_locals, handlers_of
from chalice import Chalice
from chalice.config import Config

from chalicelib import sources
from tests.conftest import ROOT
from tests.iam_layout import role_concerns

CONFIG = json.loads((ROOT / "chalice_app" / ".chalice" / "config.json").read_text())


def test_the_functions_rules_and_schedules_are_read_from_app_py() -> None:
    """Every handler app.py declares is a function (its routes one, api_handler), with the rule its
    decorator says; a new handler extends these without an edit here."""
    handlers = declared()
    app = declared_app()
    views = {route.view_name for path in app.routes.values() for route in path.values()}
    assert set(handlers.functions) == (set(app.handler_map) - views) | {API_HANDLER}
    schedules = {
        "remediation_verifier": sources.VERIFY_SCHEDULE,
        "budget_sweeper": sources.SWEEP_SCHEDULE,
        "heal_checker": sources.HEAL_SCHEDULE,
    }
    patterns = {
        "alarm_remediator": sources.ALARM_PATTERN,
        "finding_remediator": sources.FINDING_PATTERN,
        "health_remediator": sources.HEALTH_PATTERN,
        "event_remediator": sources.EVENT_PATTERN,
    }
    assert {name: handlers.schedules.get(name) for name in schedules} == schedules
    assert {name: handlers.patterns.get(name) for name in patterns} == patterns
    assert {"log_processor", "stream_processor", "fixer"} <= set(handlers.functions) - set(handlers.rules)
    # what the package step checks Chalice's output against and rewrites
    assert package.FUNCTIONS == handlers.functions
    assert set(package.EVENT_RULES) == {*handlers.schedules, *handlers.patterns}
    assert set(package.RULE_PATTERNS) <= set(handlers.patterns)  # the rules Terraform variables narrow


def test_every_handler_of_app_py_has_its_concerns_line_in_iam_tf() -> None:
    """terraform/iam.tf local.role_concerns: the concerns each function's role is granted. A handler
    without a line would deploy with its logs only and fail on its first AWS call."""
    declared_functions = set(declared().functions)
    listed = set(role_concerns())
    assert declared_functions - listed == set(), "add a line to local.role_concerns in terraform/iam.tf"
    assert listed - declared_functions == set(), "local.role_concerns lists a function app.py no longer declares"


def test_a_new_handler_is_named_and_given_a_role_without_a_registration() -> None:
    """A throwaway app with the kinds of handler app.py uses: each is found, named, and the concerns
    check above would name the one that lacks its line."""
    app = Chalice(app_name="scratch")

    @app.schedule("rate(1 day)", name="nightly_report")
    def nightly_report(event: object) -> None:
        """A scheduled handler."""

    @app.on_cw_event({"source": ["aws.backup"]}, name="backup_watcher")
    def backup_watcher(event: object) -> None:
        """An EventBridge pattern handler."""

    @app.route("/ping")
    def ping() -> dict:
        """A route: served by Chalice's one API handler."""
        return {}

    handlers = handlers_of(app)
    assert handlers.functions == ("nightly_report", "backup_watcher", API_HANDLER)
    assert handlers.rules == ("nightly_report", "backup_watcher")
    assert dict(handlers.schedules) == {"nightly_report": "rate(1 day)"}
    assert dict(handlers.patterns) == {"backup_watcher": {"source": ["aws.backup"]}}
    names = function_locals(handlers.functions)
    assert names["functions"]["nightly_report"] == "${var.name_prefix}-${var.stage}-nightly_report"
    assert names["function_roles"]["backup_watcher"] == "${aws_iam_role.backup_watcher_role}"
    assert set(handlers.functions) - set(role_concerns()) == {"nightly_report", "backup_watcher"}


def test_a_handler_without_its_own_settings_gets_the_stage_defaults() -> None:
    """config.json's stage-level settings are Chalice's defaults for every function: a new handler
    deploys with a memory size, a timeout and a reserved concurrency (checkov CKV_AWS_115) unlisted."""
    new = Config(chalice_stage="dev", function_name="nightly_report", config_from_disk=CONFIG)
    assert (new.lambda_memory_size, new.lambda_timeout, new.reserved_concurrency) == (256, 60, 1)
    fixer = Config(chalice_stage="dev", function_name="fixer", config_from_disk=CONFIG)
    assert (fixer.lambda_memory_size, fixer.lambda_timeout, fixer.reserved_concurrency) == (1024, 600, 2)


def test_the_generated_names_are_one_per_function() -> None:
    names = function_locals(package.FUNCTIONS)
    assert set(names["functions"]) == set(names["function_roles"]) == set(package.FUNCTIONS)
    assert len(set(names["functions"].values())) == len(package.FUNCTIONS)
