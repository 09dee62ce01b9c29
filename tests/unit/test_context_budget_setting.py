"""The context budget is a setting: SSM parameter ``context_tokens`` → FixConfig → FixSettings."""

from __future__ import annotations

import configure
import pytest

from chalicelib.adapters.parameters import FixConfig
from chalicelib.errors import ConfigError


def test_the_parameter_sets_the_budget_and_defaults_to_6000() -> None:
    assert FixConfig.from_parameters({"context_tokens": "12000"}).context_tokens == 12_000
    assert FixConfig.from_parameters({}).context_tokens == 6_000


def test_a_budget_that_is_not_a_number_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="context_tokens"):
        FixConfig.from_parameters({"context_tokens": "lots"})


@pytest.mark.parametrize("value", ["100", "-5", "1e4", "999999"])
def test_configure_refuses_a_budget_out_of_range(value: str) -> None:
    with pytest.raises(configure.ConfigureError, match="context_tokens"):
        configure.validate({"context_tokens": value})


def test_configure_accepts_a_budget_in_range() -> None:
    assert configure.validate({"context_tokens": "8000"}) == {"context_tokens": "8000"}


def test_the_composition_root_passes_the_budget_to_the_fixer(tmp_path) -> None:
    # GIVEN a configuration with a local repository, recorded answers and a budget
    from chalicelib.runtime import build_fixer

    replay = tmp_path / "answers.json"
    replay.write_text("[]")
    config = FixConfig(repo_url=str(tmp_path), model_id=f"replay:{replay}", context_tokens=9_000)
    # WHEN / THEN
    fixer = build_fixer(config, aws=None, announce=lambda s: None)  # type: ignore[arg-type]
    assert fixer._settings.context_tokens == 9_000  # noqa: SLF001 - the setting's only observable place
