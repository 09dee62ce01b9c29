"""A fix's lease outlives the fixer and ends before SQS hands its job out again (audit D3)."""

from __future__ import annotations

import json
import re

import package
import pytest

from chalicelib.adapters.settings import LEASE_MARGIN_SECONDS, Settings, parameter_prefix_problem
from chalicelib.errors import ConfigError
from tests.conftest import ROOT


def terraform_default(name: str) -> int:
    text = (ROOT / "terraform" / "variables.tf").read_text()
    block = re.search(rf'variable "{name}" {{(.*?)\n}}', text, re.S)
    assert block, name
    return int(re.search(r"default\s*=\s*(\d+)", block.group(1)).group(1))


def test_defaults_give_a_running_fix_its_group_and_a_dead_ones_job_a_reclaim() -> None:
    config = json.loads((ROOT / "chalice_app" / ".chalice" / "config.json").read_text())
    fixer_timeout = config["stages"]["dev"]["lambda_functions"]["fixer"]["lambda_timeout"]
    defaults = Settings()
    lease, visibility = terraform_default("fix_lease_seconds"), terraform_default("fix_queue_visibility_seconds")
    assert (lease, visibility) == (defaults.lease_seconds, defaults.queue_visibility_seconds)
    assert fixer_timeout < lease <= visibility - LEASE_MARGIN_SECONDS
    package.check_timing(config)  # what `selfheal package` checks before it packages


def test_a_lease_that_does_not_end_before_the_visibility_timeout_is_refused_at_cold_start() -> None:
    env = {"SELFHEAL_LEASE_SECONDS": "900", "SELFHEAL_QUEUE_VISIBILITY_SECONDS": "900"}
    with pytest.raises(ConfigError, match="must end at least 60 s before"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "SELFHEAL_LEASE_SECONDS": "840"}).lease_seconds == 840


def test_packaging_refuses_a_fixer_timeout_the_lease_does_not_outlive() -> None:
    config = {"stages": {"dev": {"lambda_functions": {"fixer": {"lambda_timeout": 700}}}}}
    with pytest.raises(package.PackageError, match="timeout < lease"):
        package.check_timing(config)


@pytest.mark.parametrize("prefix", ["", "/", "//", "selfheal", "/selfheal", "selfheal/", "/aws/x/", "/a b/"])
def test_a_parameter_prefix_not_shaped_like_a_path_is_refused(prefix: str) -> None:
    assert parameter_prefix_problem(prefix)  # what configure and delete-parameters check too
    if prefix:  # an empty variable means "the default"
        with pytest.raises(ConfigError, match="SELFHEAL_PARAMETER_PREFIX"):
            Settings.from_env({"SELFHEAL_PARAMETER_PREFIX": prefix})
    assert Settings.from_env({"SELFHEAL_PARAMETER_PREFIX": "/team/selfheal/"}).parameter_prefix == "/team/selfheal/"


def test_the_stream_filter_lets_through_new_groups_and_re_opens_only() -> None:
    # A re-open may come from every re-openable status and from FIXING whose lease expired (retry).
    # REJECTED and REGRESSED re-open through /selfheal retry or `selfheal retry` (issue 12).
    # CI_FAILED re-opens through `selfheal retry` (CI as the judge: the checks stayed red).
    assert set(package.REOPENED_FROM) == {
        "FAILED", "SKIPPED", "PR_OPENED", "FIXING", "REJECTED", "REGRESSED", "CI_FAILED",
    }  # fmt: skip
    # A merged (or healed) fix that regressed is a job too.
    assert set(package.REGRESSES_FROM) == {"MERGED", "HEALED"}
