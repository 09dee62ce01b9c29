"""`selfheal configure` / `delete-parameters` against a moto server."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest

from chalicelib.adapters.parameters import FixConfig, load_parameters
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
TOKEN = "ghp_" + "A1b2" * 9


def cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "scripts" / "selfheal.py"), *args]
    command += ["--endpoint-url", endpoint, "--region", "us-east-1"]
    return subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def test_configure_stores_secure_strings_idempotently_and_uninstall_removes_them(moto_endpoint) -> None:
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    key = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    args = ["configure", "--non-interactive", "--prefix", "/sh-test/", "--kms-key-id", key, "--repo-url", "acme/shop"]
    args += [
        "--model-id",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "--github-token",
        TOKEN,
        "--labels",
        "selfheal,bot",
    ]
    first = cli(moto_endpoint, *args)
    assert first.returncode == 0, first.stderr
    assert TOKEN not in first.stdout + first.stderr  # never printed
    again = cli(moto_endpoint, *args)
    assert again.returncode == 0, again.stderr
    params = ssm.get_parameters_by_path(Path="/sh-test", Recursive=True, WithDecryption=True)["Parameters"]
    assert {p["Name"] for p in params} == {
        "/sh-test/repo_url",
        "/sh-test/model_id",
        "/sh-test/github_token",
        "/sh-test/labels",
    }
    assert {p["Type"] for p in params} == {"SecureString"}
    config = FixConfig.from_parameters(load_parameters(ssm, "/sh-test/"))
    assert (config.repo_url, config.github_token, config.labels) == ("acme/shop", TOKEN, ("selfheal", "bot"))
    removed = cli(moto_endpoint, "delete-parameters", "--prefix", "/sh-test/")
    assert removed.returncode == 0 and "deleted 4" in removed.stdout
    assert ssm.get_parameters_by_path(Path="/sh-test", Recursive=True)["Parameters"] == []


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--repo-url", "not a repo", "--model-id", "anthropic.claude-v2"], "is not owner/name"),
        (["--repo-url", "acme/shop", "--model-id", "anthropic.claude-v2", "--github-token", "nope"], "GitHub token"),
        (["--repo-url", "acme/shop", "--model-id", "no spaces allowed"], "model_id"),
        (["--model-id", "anthropic.claude-v2"], "repo_url is required"),
    ],
)
def test_invalid_input_is_refused_and_nothing_stored(moto_endpoint, flags, says) -> None:
    run = cli(moto_endpoint, "configure", "--non-interactive", "--prefix", "/sh-bad/", *flags)
    assert run.returncode == 2 and says in run.stderr
    ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert ssm.get_parameters_by_path(Path="/sh-bad", Recursive=True)["Parameters"] == []
